// Package sign makes and checks the signed payload in a certificate's QR
// code, offline: nothing here touches the database, so `kaowu verify-cert`
// and any third party holding the published public keys can check a
// certificate without asking the server.
//
// # Payload (version 1)
//
// A compact binary record, base64url-encoded without padding:
//
//	byte     version (1)
//	byte+n   key id (length, then ASCII [A-Za-z0-9._-], 1–16 bytes)
//	byte+n   certificate number (length, then bytes, 1–32)
//	8 bytes  holder-name hash: SHA-256("kaowu-cert-name\x00" + number + "\x00" + name)[:8]
//	byte+n   subject code (length, then bytes, 1–32)
//	uvarint  valid-from, days since 1970-01-01 in China time (UTC+8)
//	uvarint  valid-until (exclusive), days likewise
//	uvarint  revision of the certificate when signed
//	64 bytes Ed25519 signature over every byte before it
//
// The name is only hashed (salted with the number, so hashes do not link
// certificates): the page checks a name the user types against it. A QR
// holds <public URL>/verify/<payload>; Extract accepts either form.
//
// # Keys
//
// A Keyring holds signing keys (Ed25519 seeds; the first is active) and
// verify-only public keys. Rotating adds a new active key and keeps the old
// one for verification, so certificates signed before stay verifiable.
package sign

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
)

// Version is the payload version this package writes.
const Version = 1

// DevKeyID names the development key derived from KAOWU_SECRET.
const DevKeyID = "dev"

// MaxCodeLen bounds what is decoded: a real payload is about 150 characters.
const MaxCodeLen = 1024

// Errors of VerifyOffline; test with errors.Is.
var (
	ErrMalformed    = errors.New("payload is malformed")
	ErrUnknownKey   = errors.New("payload is signed with an unknown key")
	ErrBadSignature = errors.New("signature does not match: forged or altered")
)

// ChinaTZ is the time zone validity days are counted in.
var ChinaTZ = time.FixedZone("CST", 8*3600)

const dayOffset = 8 * 3600 // seconds east of UTC

// Day is t's date in China time as days since 1970-01-01.
func Day(t time.Time) int {
	s := t.Unix() + dayOffset
	d := s / 86400
	if s < 0 && s%86400 != 0 {
		d--
	}
	return int(d)
}

// DayTime is 00:00 China time of day d.
func DayTime(d int) time.Time { return time.Unix(int64(d)*86400-dayOffset, 0).In(ChinaTZ) }

// Claims are the signed facts of a payload.
type Claims struct {
	Version     int
	KeyID       string
	Number      string
	NameHash    [8]byte
	SubjectCode string
	ValidFrom   int // day, see Day
	ValidUntil  int // day (exclusive)
	Revision    int
}

// ValidFromTime is the start of validity.
func (c Claims) ValidFromTime() time.Time { return DayTime(c.ValidFrom) }

// ValidUntilTime is the end of validity (exclusive).
func (c Claims) ValidUntilTime() time.Time { return DayTime(c.ValidUntil) }

// MatchesName reports whether name is the holder's name (spaces ignored).
func (c Claims) MatchesName(name string) bool {
	h := NameHash(c.Number, name)
	return subtle.ConstantTimeCompare(h[:], c.NameHash[:]) == 1
}

// NormalizeName drops every space, so "张 三" and " 张三 " are the same name.
func NormalizeName(name string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, name)
}

// NameHash is the holder-name hash of a payload.
func NameHash(number, name string) [8]byte {
	sum := sha256.Sum256([]byte("kaowu-cert-name\x00" + number + "\x00" + NormalizeName(name)))
	var h [8]byte
	copy(h[:], sum[:8])
	return h
}

// Key is one key of a keyring: a signing key has Private set.
type Key struct {
	ID      string
	Public  ed25519.PublicKey
	Private ed25519.PrivateKey
}

// Keyring is the set of keys the server signs with and verifies against.
type Keyring struct {
	keys   []Key
	active int // index of the signing key; -1 for a verify-only ring
}

// NewKeyring builds a ring; the first key with a private part is active.
func NewKeyring(keys ...Key) (*Keyring, error) {
	k := &Keyring{active: -1}
	seen := map[string]bool{}
	for _, key := range keys {
		if err := checkKeyID(key.ID); err != nil {
			return nil, err
		}
		if seen[key.ID] {
			return nil, fmt.Errorf("certificate key id %q appears twice", key.ID)
		}
		seen[key.ID] = true
		if len(key.Public) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("certificate key %q: public key must be %d bytes", key.ID, ed25519.PublicKeySize)
		}
		if key.Private != nil && k.active < 0 {
			k.active = len(k.keys)
		}
		k.keys = append(k.keys, key)
	}
	return k, nil
}

func checkKeyID(id string) error {
	if id == "" || len(id) > 16 {
		return fmt.Errorf("certificate key id %q must be 1–16 characters", id)
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("certificate key id %q may use only letters, digits, '.', '_' and '-'", id)
		}
	}
	return nil
}

// ParseKeys reads KAOWU_CERT_KEYS: entries separated by commas or white
// space, each "kid:base64(32-byte seed)" (a signing key) or
// "kid:pub:base64(32-byte public key)" (verify only). The first signing
// key is the active one.
func ParseKeys(spec string) (*Keyring, error) {
	var keys []Key
	for _, e := range strings.FieldsFunc(spec, func(r rune) bool { return r == ',' || unicode.IsSpace(r) }) {
		parts := strings.Split(e, ":")
		switch {
		case len(parts) == 2:
			seed, err := decodeB64(parts[1])
			if err != nil || len(seed) != ed25519.SeedSize {
				return nil, fmt.Errorf("certificate key %q: the seed must be %d bytes in base64", parts[0], ed25519.SeedSize)
			}
			priv := ed25519.NewKeyFromSeed(seed)
			keys = append(keys, Key{ID: parts[0], Public: priv.Public().(ed25519.PublicKey), Private: priv})
		case len(parts) == 3 && parts[1] == "pub":
			pub, err := decodeB64(parts[2])
			if err != nil || len(pub) != ed25519.PublicKeySize {
				return nil, fmt.Errorf("certificate key %q: the public key must be %d bytes in base64", parts[0], ed25519.PublicKeySize)
			}
			keys = append(keys, Key{ID: parts[0], Public: pub})
		default:
			return nil, fmt.Errorf("certificate key entry %q: want kid:base64seed or kid:pub:base64key", redactEntry(e))
		}
	}
	return NewKeyring(keys...)
}

// redactEntry keeps a bad entry's key id for the message, never its secret.
func redactEntry(e string) string {
	if i := strings.IndexByte(e, ':'); i >= 0 {
		return e[:i] + ":…"
	}
	if len(e) > 8 {
		return e[:4] + "…"
	}
	return e
}

func decodeB64(s string) ([]byte, error) {
	s = strings.TrimRight(strings.TrimSpace(s), "=")
	if b, err := base64.RawURLEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawStdEncoding.DecodeString(s)
}

// DevKeyring derives the development key "dev" from the server secret:
// stable across restarts and replicas sharing KAOWU_SECRET, and never to be
// used in production.
func DevKeyring(secret []byte) (*Keyring, error) {
	if len(secret) == 0 {
		return nil, errors.New("certificate dev key: no secret to derive it from")
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("kaowu/certificate/dev-signing-key/v1"))
	priv := ed25519.NewKeyFromSeed(m.Sum(nil))
	return NewKeyring(Key{ID: DevKeyID, Public: priv.Public().(ed25519.PublicKey), Private: priv})
}

// LoadKeyring is the server's ring from configuration: spec when set (it
// must hold a signing key), else in development the key derived from
// secret; production without keys is an error.
func LoadKeyring(spec string, production bool, secret []byte) (*Keyring, error) {
	if strings.TrimSpace(spec) == "" {
		if production {
			return nil, errors.New("KAOWU_CERT_KEYS is required in production (see docs/certificates.md)")
		}
		return DevKeyring(secret)
	}
	k, err := ParseKeys(spec)
	if err != nil {
		return nil, err
	}
	if k.active < 0 {
		return nil, errors.New("KAOWU_CERT_KEYS has no signing key (kid:base64seed)")
	}
	return k, nil
}

// ActiveID is the key id new payloads are signed with ("" when verify-only).
func (k *Keyring) ActiveID() string {
	if k == nil || k.active < 0 {
		return ""
	}
	return k.keys[k.active].ID
}

// Lookup returns the public key of kid.
func (k *Keyring) Lookup(kid string) (ed25519.PublicKey, bool) {
	if k == nil {
		return nil, false
	}
	for _, key := range k.keys {
		if key.ID == kid {
			return key.Public, true
		}
	}
	return nil, false
}

// PublicKey is one published key.
type PublicKey struct {
	KeyID     string `json:"kid"`
	PublicKey string `json:"publicKey"` // base64url, no padding
	Active    bool   `json:"active"`
}

// PublicKeySet is what the server publishes (keys.json): every key it
// verifies with, the active one marked.
type PublicKeySet struct {
	Algorithm string      `json:"algorithm"`
	Keys      []PublicKey `json:"keys"`
}

// PublicKeys returns the published key set.
func (k *Keyring) PublicKeys() PublicKeySet {
	set := PublicKeySet{Algorithm: "Ed25519", Keys: []PublicKey{}}
	if k == nil {
		return set
	}
	for i, key := range k.keys {
		set.Keys = append(set.Keys, PublicKey{
			KeyID: key.ID, PublicKey: base64.RawURLEncoding.EncodeToString(key.Public), Active: i == k.active,
		})
	}
	return set
}

// PublicKeysJSON is PublicKeys as indented JSON.
func (k *Keyring) PublicKeysJSON() ([]byte, error) {
	return json.MarshalIndent(k.PublicKeys(), "", "  ")
}

// ParsePublicKeys reads a published key set into a verify-only ring.
func ParsePublicKeys(data []byte) (*Keyring, error) {
	var set PublicKeySet
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("keys file is not a certificate key set: %w", err)
	}
	if set.Algorithm != "" && set.Algorithm != "Ed25519" {
		return nil, fmt.Errorf("keys file uses %q; only Ed25519 is supported", set.Algorithm)
	}
	keys := make([]Key, 0, len(set.Keys))
	for _, pk := range set.Keys {
		pub, err := decodeB64(pk.PublicKey)
		if err != nil || len(pub) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("keys file: key %q is not a %d-byte base64 public key", pk.KeyID, ed25519.PublicKeySize)
		}
		keys = append(keys, Key{ID: pk.KeyID, Public: pub})
	}
	return NewKeyring(keys...)
}

// ParseKeyFlag reads "kid=base64(public key)".
func ParseKeyFlag(s string) (Key, error) {
	kid, b64, ok := strings.Cut(s, "=")
	if !ok {
		return Key{}, fmt.Errorf("--key %q: want kid=base64publickey", s)
	}
	pub, err := decodeB64(b64)
	if err != nil || len(pub) != ed25519.PublicKeySize {
		return Key{}, fmt.Errorf("--key %s: the public key must be %d bytes in base64", kid, ed25519.PublicKeySize)
	}
	return Key{ID: kid, Public: pub}, checkKeyID(kid)
}

// Sign encodes c, signed with the active key (c.Version and c.KeyID are
// set here), as the base64url payload.
func (k *Keyring) Sign(c Claims) (string, error) {
	if k == nil || k.active < 0 {
		return "", errors.New("certificate: no signing key configured")
	}
	key := k.keys[k.active]
	c.Version, c.KeyID = Version, key.ID
	body, err := c.marshal()
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(append(body, ed25519.Sign(key.Private, body)...)), nil
}

func (c Claims) marshal() ([]byte, error) {
	for _, f := range []struct{ name, v string }{{"key id", c.KeyID}, {"number", c.Number}, {"subject code", c.SubjectCode}} {
		if f.v == "" || len(f.v) > 32 {
			return nil, fmt.Errorf("certificate payload: %s must be 1–32 bytes", f.name)
		}
	}
	if c.ValidFrom < 0 || c.ValidUntil < c.ValidFrom || c.Revision < 0 {
		return nil, errors.New("certificate payload: bad validity or revision")
	}
	b := []byte{byte(c.Version)}
	b = appendStr(b, c.KeyID)
	b = appendStr(b, c.Number)
	b = append(b, c.NameHash[:]...)
	b = appendStr(b, c.SubjectCode)
	b = binary.AppendUvarint(b, uint64(c.ValidFrom))
	b = binary.AppendUvarint(b, uint64(c.ValidUntil))
	b = binary.AppendUvarint(b, uint64(c.Revision))
	return b, nil
}

func appendStr(b []byte, s string) []byte { return append(append(b, byte(len(s))), s...) }

// Extract returns the payload of a QR's content: the part after "/verify/"
// of a URL (query and fragment dropped), or the text itself.
func Extract(code string) string {
	code = strings.TrimSpace(code)
	if i := strings.LastIndex(code, "/verify/"); i >= 0 {
		code = code[i+len("/verify/"):]
	}
	if i := strings.IndexAny(code, "?#"); i >= 0 {
		code = code[:i]
	}
	return strings.TrimRight(code, "/")
}

// Decode parses a payload (or a URL holding one) without checking its
// signature; it returns the claims, the signed bytes and the signature.
func Decode(code string) (Claims, []byte, []byte, error) {
	var c Claims
	p := Extract(code)
	if p == "" || len(p) > MaxCodeLen {
		return c, nil, nil, fmt.Errorf("%w: empty or too long", ErrMalformed)
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(p)
	if err != nil {
		return c, nil, nil, fmt.Errorf("%w: not base64url", ErrMalformed)
	}
	if len(raw) < 1+ed25519.SignatureSize {
		return c, nil, nil, fmt.Errorf("%w: too short", ErrMalformed)
	}
	body, sig := raw[:len(raw)-ed25519.SignatureSize], raw[len(raw)-ed25519.SignatureSize:]
	r := bytes.NewReader(body)
	v, _ := r.ReadByte()
	c.Version = int(v)
	if c.Version != Version {
		return c, nil, nil, fmt.Errorf("%w: unsupported version %d", ErrMalformed, c.Version)
	}
	str := func() (string, bool) {
		n, err := r.ReadByte()
		if err != nil || n == 0 || int(n) > r.Len() {
			return "", false
		}
		b := make([]byte, n)
		_, _ = r.Read(b)
		return string(b), true
	}
	num := func() (int, bool) {
		x, err := binary.ReadUvarint(r)
		if err != nil || x > 1<<31 {
			return 0, false
		}
		return int(x), true
	}
	var ok bool
	if c.KeyID, ok = str(); !ok || checkKeyID(c.KeyID) != nil {
		return c, nil, nil, fmt.Errorf("%w: bad key id", ErrMalformed)
	}
	if c.Number, ok = str(); !ok {
		return c, nil, nil, fmt.Errorf("%w: bad number", ErrMalformed)
	}
	if _, err := io.ReadFull(r, c.NameHash[:]); err != nil {
		return c, nil, nil, fmt.Errorf("%w: bad name hash", ErrMalformed)
	}
	if c.SubjectCode, ok = str(); !ok {
		return c, nil, nil, fmt.Errorf("%w: bad subject code", ErrMalformed)
	}
	var ok1, ok2, ok3 bool
	c.ValidFrom, ok1 = num()
	c.ValidUntil, ok2 = num()
	c.Revision, ok3 = num()
	if !ok1 || !ok2 || !ok3 || r.Len() != 0 {
		return c, nil, nil, fmt.Errorf("%w: bad validity, revision or trailing bytes", ErrMalformed)
	}
	return c, body, sig, nil
}

// VerifyOffline decodes a payload (or URL) and checks its signature against
// keys. Errors wrap ErrMalformed, ErrUnknownKey or ErrBadSignature; on
// ErrUnknownKey and ErrBadSignature the decoded (untrusted) claims are
// returned too, for messages.
func VerifyOffline(code string, keys *Keyring) (Claims, error) {
	c, body, sig, err := Decode(code)
	if err != nil {
		return Claims{}, err
	}
	pub, ok := keys.Lookup(c.KeyID)
	if !ok {
		return c, fmt.Errorf("%w %q", ErrUnknownKey, c.KeyID)
	}
	if !ed25519.Verify(pub, body, sig) {
		return c, ErrBadSignature
	}
	return c, nil
}
