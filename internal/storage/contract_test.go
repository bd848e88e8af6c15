package storage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"
)

// testStoreContract runs the behaviour every Store must share. newStore must
// return an empty store that lives for the duration of the (sub)test.
func testStoreContract(t *testing.T, newStore func(t *testing.T) Store) {
	ctx := context.Background()

	t.Run("RoundTrip", func(t *testing.T) {
		s := newStore(t)
		data := []byte("hello, 考务")
		before := time.Now().Add(-time.Minute)
		info, err := s.Put(ctx, "photos/1/front.jpg", bytes.NewReader(data), int64(len(data)), "image/jpeg")
		if err != nil {
			t.Fatal(err)
		}
		want := ObjectInfo{Key: "photos/1/front.jpg", Size: int64(len(data)), ContentType: "image/jpeg", SHA256: sha256Hex(data)}
		checkInfo(t, "Put", info, want, before)

		st, err := s.Stat(ctx, "photos/1/front.jpg")
		if err != nil {
			t.Fatal(err)
		}
		checkInfo(t, "Stat", st, want, before)

		got, gi := getAll(t, s, "photos/1/front.jpg")
		if !bytes.Equal(got, data) {
			t.Fatalf("Get content = %q, want %q", got, data)
		}
		checkInfo(t, "Get", gi, want, before)
	})

	t.Run("EmptyObjectAndDefaultContentType", func(t *testing.T) {
		s := newStore(t)
		info, err := s.Put(ctx, "empty", strings.NewReader(""), 0, "")
		if err != nil {
			t.Fatal(err)
		}
		want := ObjectInfo{Key: "empty", Size: 0, ContentType: "application/octet-stream", SHA256: sha256Hex(nil)}
		checkInfo(t, "Put", info, want, time.Time{})
		got, gi := getAll(t, s, "empty")
		if len(got) != 0 {
			t.Fatalf("Get content = %q, want empty", got)
		}
		checkInfo(t, "Get", gi, want, time.Time{})
	})

	t.Run("Overwrite", func(t *testing.T) {
		s := newStore(t)
		if _, err := s.Put(ctx, "doc.pdf", strings.NewReader("version one, longer"), -1, "text/plain"); err != nil {
			t.Fatal(err)
		}
		v2 := []byte("%PDF-v2")
		if _, err := s.Put(ctx, "doc.pdf", bytes.NewReader(v2), int64(len(v2)), "application/pdf"); err != nil {
			t.Fatal(err)
		}
		got, info := getAll(t, s, "doc.pdf")
		if !bytes.Equal(got, v2) {
			t.Fatalf("content after overwrite = %q, want %q", got, v2)
		}
		checkInfo(t, "Get", info, ObjectInfo{Key: "doc.pdf", Size: int64(len(v2)), ContentType: "application/pdf", SHA256: sha256Hex(v2)}, time.Time{})
	})

	t.Run("NotFound", func(t *testing.T) {
		s := newStore(t)
		if rc, _, err := s.Get(ctx, "missing/x.jpg"); !errors.Is(err, ErrNotFound) {
			if rc != nil {
				rc.Close()
			}
			t.Errorf("Get missing: err = %v, want ErrNotFound", err)
		}
		if _, err := s.Stat(ctx, "missing/x.jpg"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Stat missing: err = %v, want ErrNotFound", err)
		}
		if err := s.Delete(ctx, "missing/x.jpg"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Delete missing: err = %v, want ErrNotFound", err)
		}
	})

	t.Run("PrefixIsNotAnObject", func(t *testing.T) {
		s := newStore(t)
		put(t, s, "dir/child.txt", "x")
		if _, err := s.Stat(ctx, "dir"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Stat of a key prefix: err = %v, want ErrNotFound", err)
		}
		if err := s.Delete(ctx, "dir"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Delete of a key prefix: err = %v, want ErrNotFound", err)
		}
		if _, err := s.Stat(ctx, "dir/child.txt/deeper"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Stat below an object: err = %v, want ErrNotFound", err)
		}
	})

	t.Run("Delete", func(t *testing.T) {
		s := newStore(t)
		put(t, s, "a/b/c.txt", "bye")
		put(t, s, "a/keep.txt", "stay")
		if err := s.Delete(ctx, "a/b/c.txt"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Stat(ctx, "a/b/c.txt"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Stat after Delete: err = %v, want ErrNotFound", err)
		}
		if err := s.Delete(ctx, "a/b/c.txt"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("second Delete: err = %v, want ErrNotFound", err)
		}
		if _, err := s.Stat(ctx, "a/keep.txt"); err != nil {
			t.Fatalf("sibling gone after Delete: %v", err)
		}
		// The former prefix can now be an object itself, as on S3.
		put(t, s, "a/b", "now a file")
		if got, _ := getAll(t, s, "a/b"); string(got) != "now a file" {
			t.Fatalf("a/b = %q", got)
		}
	})

	t.Run("InvalidKeys", func(t *testing.T) {
		s := newStore(t)
		for _, key := range invalidKeys() {
			if _, err := s.Put(ctx, key, strings.NewReader("x"), 1, ""); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("Put(%.40q): err = %v, want ErrInvalidKey", key, err)
			}
			if rc, _, err := s.Get(ctx, key); !errors.Is(err, ErrInvalidKey) {
				if rc != nil {
					rc.Close()
				}
				t.Errorf("Get(%.40q): err = %v, want ErrInvalidKey", key, err)
			}
			if _, err := s.Stat(ctx, key); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("Stat(%.40q): err = %v, want ErrInvalidKey", key, err)
			}
			if err := s.Delete(ctx, key); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("Delete(%.40q): err = %v, want ErrInvalidKey", key, err)
			}
		}
	})

	t.Run("LongestKey", func(t *testing.T) {
		s := newStore(t)
		// 512 bytes in short segments (a single 512-byte file name would
		// exceed NAME_MAX on most filesystems).
		key := strings.Repeat(strings.Repeat("k", 63)+"/", 8)[:MaxKeyLen-1] + "z"
		if len(key) != MaxKeyLen {
			t.Fatalf("test key is %d bytes", len(key))
		}
		put(t, s, key, "deep")
		if got, _ := getAll(t, s, key); string(got) != "deep" {
			t.Fatalf("got %q", got)
		}
	})

	t.Run("InvalidContentType", func(t *testing.T) {
		s := newStore(t)
		if _, err := s.Put(ctx, "x", strings.NewReader("x"), 1, "text/html\r\nSet-Cookie: a=b"); err == nil {
			t.Fatal("Put accepted a content type with CRLF")
		}
	})

	t.Run("SizeMismatch", func(t *testing.T) {
		s := newStore(t)
		if _, err := s.Put(ctx, "short", strings.NewReader("12345"), 10, ""); err == nil {
			t.Error("Put with a short reader succeeded")
		}
		if _, err := s.Put(ctx, "long", strings.NewReader("12345"), 3, ""); err == nil {
			t.Error("Put with a long reader succeeded")
		}
		for _, key := range []string{"short", "long"} {
			if _, err := s.Stat(ctx, key); !errors.Is(err, ErrNotFound) {
				t.Errorf("Stat(%s) after failed Put: err = %v, want ErrNotFound", key, err)
			}
		}
	})

	t.Run("InMemoryBuffer", func(t *testing.T) {
		// Bytes already in memory (a bytes.Buffer) may be stored without a
		// copy, but only when they are exactly the declared size.
		s := newStore(t)
		data := []byte("snapshot bytes")
		info, err := s.Put(ctx, "buf/exact", bytes.NewBuffer(data), int64(len(data)), "image/jpeg")
		if err != nil || info.SHA256 != sha256Hex(data) || info.Size != int64(len(data)) {
			t.Fatalf("Put from a buffer: %+v %v", info, err)
		}
		if got, _ := getAll(t, s, "buf/exact"); !bytes.Equal(got, data) {
			t.Fatalf("Get content = %q, want %q", got, data)
		}
		for key, size := range map[string]int64{"buf/short": 20, "buf/long": 5} {
			if _, err := s.Put(ctx, key, bytes.NewBuffer(data), size, ""); err == nil {
				t.Errorf("Put of %d buffered bytes declared as %d succeeded", len(data), size)
			}
			if _, err := s.Stat(ctx, key); !errors.Is(err, ErrNotFound) {
				t.Errorf("Stat(%s) after failed Put: err = %v, want ErrNotFound", key, err)
			}
		}
	})

	t.Run("FailedPutKeepsOldObject", func(t *testing.T) {
		s := newStore(t)
		put(t, s, "keep.bin", "original")
		boom := errors.New("boom")
		r := io.MultiReader(strings.NewReader("partial data"), errReader{boom})
		if _, err := s.Put(ctx, "keep.bin", r, -1, ""); err == nil {
			t.Fatal("Put with a failing reader succeeded")
		}
		if got, info := getAll(t, s, "keep.bin"); string(got) != "original" || info.SHA256 != sha256Hex([]byte("original")) {
			t.Fatalf("after failed overwrite: %q sha %s", got, info.SHA256)
		}
	})

	t.Run("CancelledContext", func(t *testing.T) {
		s := newStore(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := s.Put(cctx, "cancelled", strings.NewReader("x"), 1, ""); err == nil {
			t.Fatal("Put with a cancelled context succeeded")
		}
		if _, err := s.Stat(ctx, "cancelled"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Stat after cancelled Put: err = %v, want ErrNotFound", err)
		}
	})

	t.Run("ConcurrentPuts", func(t *testing.T) {
		s := newStore(t)
		const n = 16
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Go(func() {
				data := bytes.Repeat([]byte{byte('a' + i)}, 1000+i*37)
				key := fmt.Sprintf("conc/%02d/obj.bin", i%4) + fmt.Sprint(i)
				info, err := s.Put(ctx, key, bytes.NewReader(data), int64(len(data)), "application/octet-stream")
				if err == nil && info.SHA256 != sha256Hex(data) {
					err = fmt.Errorf("%s: sha %s, want %s", key, info.SHA256, sha256Hex(data))
				}
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
		for i := range n {
			key := fmt.Sprintf("conc/%02d/obj.bin", i%4) + fmt.Sprint(i)
			got, _ := getAll(t, s, key)
			if want := bytes.Repeat([]byte{byte('a' + i)}, 1000+i*37); !bytes.Equal(got, want) {
				t.Errorf("%s: wrong content (%d bytes)", key, len(got))
			}
		}
	})

	t.Run("LargeStreamed", func(t *testing.T) {
		s := newStore(t)
		const size = 5 << 20
		for _, declared := range []int64{size, -1} {
			key := fmt.Sprintf("large/%d.bin", declared)
			want := sha256.New()
			// A generated, non-seekable stream: nothing can cheat by re-reading.
			src := io.TeeReader(io.LimitReader(rand.NewChaCha8([32]byte{1}), size), want)
			info, err := s.Put(ctx, key, src, declared, "application/pdf")
			if err != nil {
				t.Fatalf("Put(size=%d): %v", declared, err)
			}
			wantSum := hex.EncodeToString(want.Sum(nil))
			if info.Size != size || info.SHA256 != wantSum {
				t.Fatalf("Put(size=%d) = size %d sha %s, want %d %s", declared, info.Size, info.SHA256, size, wantSum)
			}
			rc, gi, err := s.Get(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			h := sha256.New()
			n, err := io.Copy(h, rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			if n != size || hex.EncodeToString(h.Sum(nil)) != wantSum || gi.SHA256 != wantSum || gi.Size != size {
				t.Fatalf("Get(size=%d): %d bytes, content sha %x, info %+v", declared, n, h.Sum(nil), gi)
			}
		}
	})

	t.Run("Ping", func(t *testing.T) {
		if err := newStore(t).Ping(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

func invalidKeys() []string {
	return []string{
		"", "../x", "/abs", "a//b", "a/./b", "a/../b", ".", "..", "a/", "a/..",
		"a b", "a\\b", "a~b", "ünï", "a\x00b", "x?y",
		strings.Repeat("a", MaxKeyLen+1),
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func put(t *testing.T, s Store, key, data string) {
	t.Helper()
	if _, err := s.Put(context.Background(), key, strings.NewReader(data), int64(len(data)), "text/plain"); err != nil {
		t.Fatalf("Put(%s): %v", key, err)
	}
}

func getAll(t *testing.T, s Store, key string) ([]byte, ObjectInfo) {
	t.Helper()
	rc, info, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get(%s): %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("Get(%s): read: %v", key, err)
	}
	return b, info
}

// checkInfo compares everything but ModTime, which must be set and (when
// notBefore is non-zero) recent.
func checkInfo(t *testing.T, op string, got, want ObjectInfo, notBefore time.Time) {
	t.Helper()
	mt := got.ModTime
	got.ModTime = time.Time{}
	if got != want {
		t.Errorf("%s info = %+v, want %+v", op, got, want)
	}
	if mt.IsZero() || (!notBefore.IsZero() && mt.Before(notBefore)) {
		t.Errorf("%s ModTime = %v, want a recent time", op, mt)
	}
}
