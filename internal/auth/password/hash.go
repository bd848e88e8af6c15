package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are the argon2id cost parameters.
type Params struct {
	MemoryKiB uint32
	Time      uint32 // passes over memory
	Threads   uint8
}

// DefaultParams are the production parameters: 64 MiB, 2 passes, 2 lanes.
func DefaultParams() Params { return Params{MemoryKiB: 64 * 1024, Time: 2, Threads: 2} }

// FastParams are cheap parameters for tests and demo data. Never use them in
// production: they make offline guessing thousands of times cheaper.
func FastParams() Params { return Params{MemoryKiB: 1024, Time: 1, Threads: 1} }

// Bounds on accepted parameters. Verify takes the parameters from the stored
// hash, so without an upper bound a corrupted or planted hash could make one
// verification allocate terabytes.
const (
	maxMemoryKiB = 1 << 20 // 1 GiB
	maxTime      = 64
)

const (
	saltLen = 16
	keyLen  = 32

	// Accepted ranges when decoding hashes made elsewhere.
	minSaltLen, maxSaltLen = 8, 64
	minKeyLen, maxKeyLen   = 16, 128

	// DefaultMaxConcurrent is used when NewHasher gets maxConcurrent <= 0.
	DefaultMaxConcurrent = 4
)

// Validate reports whether p is usable.
func (p Params) Validate() error {
	switch {
	case p.Time < 1 || p.Time > maxTime:
		return fmt.Errorf("password: time %d out of range 1..%d", p.Time, maxTime)
	case p.Threads < 1:
		return errors.New("password: threads must be at least 1")
	case p.MemoryKiB < 8*uint32(p.Threads) || p.MemoryKiB > maxMemoryKiB:
		return fmt.Errorf("password: memory %d KiB out of range %d..%d", p.MemoryKiB, 8*uint32(p.Threads), maxMemoryKiB)
	}
	return nil
}

// ErrMalformedHash wraps every failure to decode a stored hash.
var ErrMalformedHash = errors.New("password: malformed hash")

// Hasher hashes and verifies passwords. Each derivation holds MemoryKiB of
// memory, so at most maxConcurrent run at once; the rest wait (respecting
// their context) instead of letting a login storm exhaust memory.
type Hasher struct {
	params Params
	sem    chan struct{}
}

// NewHasher returns a Hasher using p for new hashes. maxConcurrent <= 0 means
// DefaultMaxConcurrent. It panics if p is invalid: that is a configuration
// error that should stop startup.
func NewHasher(p Params, maxConcurrent int) *Hasher {
	if err := p.Validate(); err != nil {
		panic(err)
	}
	if maxConcurrent <= 0 {
		maxConcurrent = DefaultMaxConcurrent
	}
	return &Hasher{params: p, sem: make(chan struct{}, maxConcurrent)}
}

// Params returns the parameters used for new hashes.
func (h *Hasher) Params() Params { return h.params }

// derive runs argon2id once a concurrency slot is free.
func (h *Hasher) derive(ctx context.Context, pw string, salt []byte, p Params, n uint32) ([]byte, error) {
	// Checked first because select picks randomly when both cases are ready.
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	select {
	case h.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-h.sem }()
	return argon2.IDKey([]byte(pw), salt, p.Time, p.MemoryKiB, p.Threads, n), nil
}

// Hash returns a PHC-format encoding of pw under a fresh random salt:
// $argon2id$v=19$m=65536,t=2,p=2$<salt>$<key>.
func (h *Hasher) Hash(ctx context.Context, pw string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key, err := h.derive(ctx, pw, salt, h.params, keyLen)
	if err != nil {
		return "", err
	}
	return encode(h.params, salt, key), nil
}

// Verify reports whether pw matches encoded, using the parameters recorded
// in encoded so hashes made under older parameters still verify. A wrong
// password is (false, nil); a malformed hash wraps ErrMalformedHash.
func (h *Hasher) Verify(ctx context.Context, pw, encoded string) (bool, error) {
	d, err := decode(encoded)
	if err != nil {
		return false, err
	}
	key, err := h.derive(ctx, pw, d.salt, d.params, uint32(len(d.key)))
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(key, d.key) == 1, nil
}

// dummySalt is fixed: the result is discarded, only the cost matters.
var dummySalt = make([]byte, saltLen)

// VerifyDummy does the work of a verification against the current parameters
// and throws it away. Call it when the account does not exist so that the
// response takes as long as for a real account (no timing-based account
// enumeration). It returns only a context error.
func (h *Hasher) VerifyDummy(ctx context.Context) error {
	key, err := h.derive(ctx, "dummy password", dummySalt, h.params, keyLen)
	if err != nil {
		return err
	}
	_ = subtle.ConstantTimeCompare(key, make([]byte, len(key))) // mirror Verify's compare
	return nil
}

// NeedsRehash reports whether encoded was made with different parameters (or
// salt/key sizes) than h uses now, or cannot be decoded. Callers rehash after
// a successful login.
func (h *Hasher) NeedsRehash(encoded string) bool {
	d, err := decode(encoded)
	if err != nil {
		return true
	}
	return d.params != h.params || len(d.salt) != saltLen || len(d.key) != keyLen
}

// DecodeParams returns the parameters recorded in an encoded hash.
func DecodeParams(encoded string) (Params, error) {
	d, err := decode(encoded)
	return d.params, err
}

var b64 = base64.RawStdEncoding.Strict()

func encode(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.MemoryKiB, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

type decoded struct {
	params    Params
	salt, key []byte
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformedHash}, args...)...)
}

func decode(encoded string) (decoded, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" {
		return decoded{}, malformed("want 5 '$'-separated fields")
	}
	if parts[1] != "argon2id" {
		return decoded{}, malformed("algorithm %q is not argon2id", parts[1])
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return decoded{}, malformed("unsupported version %q", parts[2])
	}
	p, err := parseParams(parts[3])
	if err != nil {
		return decoded{}, err
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil || len(salt) < minSaltLen || len(salt) > maxSaltLen {
		return decoded{}, malformed("bad salt")
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil || len(key) < minKeyLen || len(key) > maxKeyLen {
		return decoded{}, malformed("bad key")
	}
	return decoded{params: p, salt: salt, key: key}, nil
}

// parseParams reads exactly "m=<uint>,t=<uint>,p=<uint>" in that order.
func parseParams(s string) (Params, error) {
	fields := strings.Split(s, ",")
	if len(fields) != 3 {
		return Params{}, malformed("bad parameters %q", s)
	}
	var vals [3]uint64
	for i, name := range []string{"m=", "t=", "p="} {
		v, ok := strings.CutPrefix(fields[i], name)
		bits := 32
		if name == "p=" {
			bits = 8
		}
		n, err := strconv.ParseUint(v, 10, bits)
		if !ok || err != nil {
			return Params{}, malformed("bad parameters %q", s)
		}
		vals[i] = n
	}
	p := Params{MemoryKiB: uint32(vals[0]), Time: uint32(vals[1]), Threads: uint8(vals[2])}
	if err := p.Validate(); err != nil {
		return Params{}, malformed("%v", err)
	}
	return p, nil
}
