package password

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestHashVerify(t *testing.T) {
	ctx := context.Background()
	h := NewHasher(FastParams(), 2)
	enc, err := h.Hash(ctx, "安全生产Kw7#pLx2")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=1024,t=1,p=1$") {
		t.Fatalf("encoding %q", enc)
	}
	parts := strings.Split(enc, "$")
	if len(parts[4]) != 22 || len(parts[5]) != 43 || strings.Contains(enc, "=$") {
		t.Errorf("salt/key not 16/32 bytes of unpadded base64: %q", enc)
	}
	if ok, err := h.Verify(ctx, "安全生产Kw7#pLx2", enc); !ok || err != nil {
		t.Errorf("right password: %v %v", ok, err)
	}
	for _, wrong := range []string{"", "安全生产Kw7#pLx", "安全生产kw7#pLx2", "安全生产Kw7#pLx2 "} {
		if ok, err := h.Verify(ctx, wrong, enc); ok || err != nil {
			t.Errorf("wrong password %q: %v %v", wrong, ok, err)
		}
	}
	enc2, _ := h.Hash(ctx, "安全生产Kw7#pLx2")
	if enc2 == enc {
		t.Error("same salt twice")
	}
}

func TestDefaultEncoding(t *testing.T) {
	if testing.Short() {
		t.Skip("64 MiB hash")
	}
	h := NewHasher(DefaultParams(), 0)
	enc, err := h.Hash(context.Background(), "default-params")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=65536,t=2,p=2$") {
		t.Errorf("encoding %q", enc)
	}
	if cap(h.sem) != DefaultMaxConcurrent {
		t.Errorf("default concurrency %d", cap(h.sem))
	}
}

// A hash from another implementation (argon2-cffi / the reference CLI
// format) with its own parameters must verify.
func TestVerifyOtherParams(t *testing.T) {
	ctx := context.Background()
	other := Params{MemoryKiB: 2048, Time: 3, Threads: 2}
	enc, err := NewHasher(other, 1).Hash(ctx, "pw-from-old-config")
	if err != nil {
		t.Fatal(err)
	}
	h := NewHasher(FastParams(), 1)
	if ok, err := h.Verify(ctx, "pw-from-old-config", enc); !ok || err != nil {
		t.Errorf("verify under other params: %v %v", ok, err)
	}
	if !h.NeedsRehash(enc) {
		t.Error("NeedsRehash should be true for other params")
	}
	got, err := DecodeParams(enc)
	if err != nil || got != other {
		t.Errorf("DecodeParams = %+v, %v; want %+v", got, err, other)
	}
}

func TestParamsRoundTrip(t *testing.T) {
	for _, p := range []Params{FastParams(), DefaultParams(), {MemoryKiB: 8, Time: 1, Threads: 1}, {MemoryKiB: 1 << 20, Time: 64, Threads: 255}} {
		enc := encode(p, make([]byte, saltLen), make([]byte, keyLen))
		got, err := DecodeParams(enc)
		if err != nil || got != p {
			t.Errorf("round trip %+v: got %+v, %v (%s)", p, got, err, enc)
		}
	}
}

func TestNeedsRehash(t *testing.T) {
	ctx := context.Background()
	h := NewHasher(FastParams(), 1)
	enc, _ := h.Hash(ctx, "something-long")
	if h.NeedsRehash(enc) {
		t.Error("fresh hash needs rehash")
	}
	if !NewHasher(Params{MemoryKiB: 1024, Time: 2, Threads: 1}, 1).NeedsRehash(enc) {
		t.Error("different time should need rehash")
	}
	if !h.NeedsRehash("garbage") {
		t.Error("malformed hash should need rehash")
	}
	shortSalt := encode(FastParams(), make([]byte, 8), make([]byte, keyLen))
	if !h.NeedsRehash(shortSalt) {
		t.Error("8-byte salt should need rehash")
	}
}

func TestMalformed(t *testing.T) {
	ctx := context.Background()
	h := NewHasher(FastParams(), 1)
	good, _ := h.Hash(ctx, "x")
	p := strings.Split(good, "$")
	salt, key := p[4], p[5]
	cases := []string{
		"",
		"$",
		"plaintext-password",
		good + "$",
		strings.TrimPrefix(good, "$"),
		"$argon2i$v=19$m=1024,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=16$m=1024,t=1,p=1$" + salt + "$" + key,
		"$argon2id$m=1024,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=1024,t=1$" + salt + "$" + key,
		"$argon2id$v=19$t=1,m=1024,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=1024,t=1,p=1,x=1$" + salt + "$" + key,
		"$argon2id$v=19$m=-1,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=1024,t=0,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=1024,t=1,p=0$" + salt + "$" + key,
		"$argon2id$v=19$m=1024,t=1,p=256$" + salt + "$" + key,
		"$argon2id$v=19$m=4294967295,t=1,p=1$" + salt + "$" + key, // would allocate 4 TiB
		"$argon2id$v=19$m=1024,t=1000000,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=7,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=1024,t=1,p=1$" + salt + "==$" + key,
		"$argon2id$v=19$m=1024,t=1,p=1$" + salt + "$" + key + "=",
		"$argon2id$v=19$m=1024,t=1,p=1$!!!!$" + key,
		"$argon2id$v=19$m=1024,t=1,p=1$$" + key,
		"$argon2id$v=19$m=1024,t=1,p=1$" + salt + "$",
		"$argon2id$v=19$m=1024,t=1,p=1$" + salt + "$AAAA",
		"$argon2id$v=19$m=1024,t=1,p=1$" + salt + "$" + strings.Repeat("A", 200),
	}
	for _, enc := range cases {
		ok, err := h.Verify(ctx, "x", enc)
		if ok || !errors.Is(err, ErrMalformedHash) {
			t.Errorf("Verify(%q) = %v, %v; want ErrMalformedHash", enc, ok, err)
		}
		if _, err := DecodeParams(enc); !errors.Is(err, ErrMalformedHash) {
			t.Errorf("DecodeParams(%q): %v", enc, err)
		}
	}
}

func TestNewHasherRejectsBadParams(t *testing.T) {
	for _, p := range []Params{{}, {MemoryKiB: 1024, Time: 1}, {MemoryKiB: 4, Time: 1, Threads: 1}, {MemoryKiB: 1 << 21, Time: 1, Threads: 1}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewHasher(%+v): want panic", p)
				}
			}()
			NewHasher(p, 1)
		}()
	}
}

// With the only slot taken, every operation waits and then gives up with the
// context's error.
func TestConcurrencyBound(t *testing.T) {
	h := NewHasher(FastParams(), 1)
	enc, err := h.Hash(context.Background(), "pw")
	if err != nil {
		t.Fatal(err)
	}
	h.sem <- struct{}{} // occupy the slot as a long-running hash would

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := h.Hash(ctx, "pw"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Hash while full: %v", err)
	}
	if ok, err := h.Verify(ctx, "pw", enc); ok || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Verify while full: %v %v", ok, err)
	}
	if err := h.VerifyDummy(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("VerifyDummy while full: %v", err)
	}

	// A waiter is released by cancellation, not only by a timeout.
	cctx, ccancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := h.Hash(cctx, "pw"); done <- err }()
	time.Sleep(10 * time.Millisecond)
	ccancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled waiter: %v", err)
	}

	// An already-cancelled context fails even when a slot is free.
	<-h.sem
	if _, err := h.Hash(cctx, "pw"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled ctx with free slot: %v", err)
	}

	// Once the slot frees up, a waiter proceeds.
	h.sem <- struct{}{}
	go func() { time.Sleep(20 * time.Millisecond); <-h.sem }()
	if ok, err := h.Verify(context.Background(), "pw", enc); !ok || err != nil {
		t.Errorf("Verify after release: %v %v", ok, err)
	}
	if len(h.sem) != 0 {
		t.Errorf("slots leaked: %d", len(h.sem))
	}
}

// Many concurrent callers never hold more than maxConcurrent slots.
func TestConcurrencyParallel(t *testing.T) {
	const limit = 3
	h := NewHasher(FastParams(), limit)
	enc, _ := h.Hash(context.Background(), "pw")
	var wg sync.WaitGroup
	stop := make(chan struct{})
	maxSeen := 0
	var mu sync.Mutex
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
				mu.Lock()
				maxSeen = max(maxSeen, len(h.sem))
				mu.Unlock()
			}
		}
	}()
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ok, err := h.Verify(context.Background(), "pw", enc); !ok || err != nil {
				t.Errorf("verify: %v %v", ok, err)
			}
			_ = h.VerifyDummy(context.Background())
		}()
	}
	wg.Wait()
	close(stop)
	mu.Lock()
	defer mu.Unlock()
	if maxSeen > limit {
		t.Errorf("saw %d concurrent derivations, limit %d", maxSeen, limit)
	}
	if len(h.sem) != 0 {
		t.Errorf("slots leaked: %d", len(h.sem))
	}
}

// VerifyDummy should cost about what a real verification costs: compare
// BenchmarkVerify and BenchmarkVerifyDummy (no timed assertion in unit tests).
func BenchmarkVerify(b *testing.B) {
	ctx := context.Background()
	h := NewHasher(DefaultParams(), 1)
	enc, _ := h.Hash(ctx, "pw")
	for b.Loop() {
		_, _ = h.Verify(ctx, "wrong", enc)
	}
}

func BenchmarkVerifyDummy(b *testing.B) {
	ctx := context.Background()
	h := NewHasher(DefaultParams(), 1)
	for b.Loop() {
		_ = h.VerifyDummy(ctx)
	}
}

func BenchmarkHash(b *testing.B) {
	h := NewHasher(DefaultParams(), 1)
	ctx := context.Background()
	for b.Loop() {
		if _, err := h.Hash(ctx, "benchmark-password"); err != nil {
			b.Fatal(err)
		}
	}
}
