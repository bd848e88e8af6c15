package storage

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

var (
	testSecret  = []byte("0123456789abcdef0123456789abcdef")
	otherSecret = []byte("fedcba9876543210fedcba9876543210")
)

// splitSigned parses a URL from Signer.URL back into key, exp and sig.
func splitSigned(t *testing.T, prefix, u string) (key, exp, sig string) {
	t.Helper()
	rest, ok := strings.CutPrefix(u, prefix)
	if !ok {
		t.Fatalf("URL %q lacks prefix %q", u, prefix)
	}
	key, rawQuery, _ := strings.Cut(rest, "?")
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		t.Fatal(err)
	}
	return key, q.Get("exp"), q.Get("sig")
}

func TestSigner(t *testing.T) {
	now := time.Unix(1_750_000_000, 0)
	s := NewSigner(testSecret)
	u := s.URL("/files/", "photos/1/front.jpg", 10*time.Minute, now)
	key, exp, sig := splitSigned(t, "/files/", u)
	if key != "photos/1/front.jpg" || exp != strconv.FormatInt(now.Unix()+600, 10) || sig == "" {
		t.Fatalf("URL = %q", u)
	}
	if strings.ContainsAny(sig, "+/=") {
		t.Fatalf("sig %q is not unpadded base64url", sig)
	}

	tests := []struct {
		name          string
		signer        *Signer
		key, exp, sig string
		now           time.Time
		want          error
	}{
		{"valid", s, key, exp, sig, now, nil},
		{"valid until the last second", s, key, exp, sig, now.Add(599 * time.Second), nil},
		{"expired", s, key, exp, sig, now.Add(600 * time.Second), ErrExpired},
		{"long expired", s, key, exp, sig, now.Add(24 * time.Hour), ErrExpired},
		{"tampered key", s, "photos/2/front.jpg", exp, sig, now, ErrBadSignature},
		{"tampered exp", s, key, strconv.FormatInt(now.Unix()+86400, 10), sig, now, ErrBadSignature},
		{"wrong secret", NewSigner(otherSecret), key, exp, sig, now, ErrBadSignature},
		{"empty sig", s, key, exp, "", now, ErrBadSignature},
		{"empty exp", s, key, "", sig, now, ErrBadSignature},
		{"garbage sig", s, key, exp, "!!!not-base64!!!", now, ErrBadSignature},
		{"truncated sig", s, key, exp, sig[:20], now, ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.signer.Verify(tt.key, tt.exp, tt.sig, tt.now); !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

// Shifting digits between key and exp must not yield another valid link.
func TestSignerBoundaryShift(t *testing.T) {
	now := time.Unix(1_750_000_000, 0)
	s := NewSigner(testSecret)
	key, exp, sig := splitSigned(t, "/f/", s.URL("/f/", "a/b1", time.Hour, now))
	if err := s.Verify(key[:len(key)-1], "1"+exp, sig, now); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("boundary-shifted link verified: %v", err)
	}
}

func TestNewSignerRejectsShortSecret(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("NewSigner accepted a short secret")
		}
	}()
	NewSigner([]byte("short"))
}

func TestHandler(t *testing.T) {
	ctx := context.Background()
	store, err := NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("%PDF-1.7 certificate")
	if _, err := store.Put(ctx, "certs/2025/c1.pdf", bytes.NewReader(data), int64(len(data)), "application/pdf"); err != nil {
		t.Fatal(err)
	}
	img := []byte("\x89PNG fake")
	if _, err := store.Put(ctx, "photos/p.png", bytes.NewReader(img), int64(len(img)), "image/png"); err != nil {
		t.Fatal(err)
	}
	signer := NewSigner(testSecret)
	srv := httptest.NewServer(Handler(store, signer, "/files/"))
	defer srv.Close()

	do := func(method, path string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, string(b)
	}
	now := time.Now()

	t.Run("OK", func(t *testing.T) {
		resp, body := do("GET", signer.URL("/files/", "certs/2025/c1.pdf", 5*time.Minute, now))
		if resp.StatusCode != 200 || body != string(data) {
			t.Fatalf("status %d body %q", resp.StatusCode, body)
		}
		want := map[string]string{
			"Content-Type":            "application/pdf",
			"Content-Length":          strconv.Itoa(len(data)),
			"X-Content-Type-Options":  "nosniff",
			"Content-Disposition":     "inline",
			"Content-Security-Policy": "", // PDFs are exempt from the sandbox
		}
		for h, v := range want {
			if got := resp.Header.Get(h); got != v {
				t.Errorf("%s = %q, want %q", h, got, v)
			}
		}
		cc := resp.Header.Get("Cache-Control")
		age, ok := strings.CutPrefix(cc, "private, max-age=")
		if n, err := strconv.Atoi(age); !ok || err != nil || n < 295 || n > 300 {
			t.Errorf("Cache-Control = %q, want private, max-age≈300", cc)
		}
	})

	t.Run("SandboxedNonPDF", func(t *testing.T) {
		resp, body := do("GET", signer.URL("/files/", "photos/p.png", time.Minute, now))
		if resp.StatusCode != 200 || body != string(img) || resp.Header.Get("Content-Type") != "image/png" {
			t.Fatalf("status %d type %q body %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		if got := resp.Header.Get("Content-Security-Policy"); got != "sandbox" {
			t.Fatalf("Content-Security-Policy = %q, want sandbox", got)
		}
	})

	t.Run("HEAD", func(t *testing.T) {
		resp, body := do("HEAD", signer.URL("/files/", "certs/2025/c1.pdf", time.Minute, now))
		if resp.StatusCode != 200 || body != "" {
			t.Fatalf("status %d body %q", resp.StatusCode, body)
		}
		if resp.ContentLength != int64(len(data)) || resp.Header.Get("Content-Type") != "application/pdf" {
			t.Fatalf("Content-Length %d, Content-Type %q", resp.ContentLength, resp.Header.Get("Content-Type"))
		}
	})

	t.Run("Expired", func(t *testing.T) {
		resp, body := do("GET", signer.URL("/files/", "certs/2025/c1.pdf", time.Minute, now.Add(-2*time.Minute)))
		if resp.StatusCode != 403 || !strings.Contains(body, "expired") {
			t.Fatalf("status %d body %q", resp.StatusCode, body)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
			t.Fatalf("Content-Type = %q", ct)
		}
		if strings.Contains(body, "PDF") {
			t.Fatal("object content leaked in an error")
		}
	})

	t.Run("BadSignature", func(t *testing.T) {
		u := signer.URL("/files/", "certs/2025/c1.pdf", time.Minute, now)
		for name, path := range map[string]string{
			"other key":    strings.Replace(u, "c1.pdf", "c2.pdf", 1),
			"wrong secret": NewSigner(otherSecret).URL("/files/", "certs/2025/c1.pdf", time.Minute, now),
			"unsigned":     "/files/certs/2025/c1.pdf",
		} {
			resp, body := do("GET", path)
			if resp.StatusCode != 403 || strings.Contains(body, "PDF") {
				t.Errorf("%s: status %d body %q", name, resp.StatusCode, body)
			}
		}
	})

	t.Run("Missing", func(t *testing.T) {
		resp, _ := do("GET", signer.URL("/files/", "certs/2025/none.pdf", time.Minute, now))
		if resp.StatusCode != 404 {
			t.Fatalf("status %d, want 404", resp.StatusCode)
		}
		resp, _ = do("HEAD", signer.URL("/files/", "certs/2025/none.pdf", time.Minute, now))
		if resp.StatusCode != 404 {
			t.Fatalf("HEAD status %d, want 404", resp.StatusCode)
		}
	})

	t.Run("OutsidePrefix", func(t *testing.T) {
		resp, _ := do("GET", signer.URL("/other/", "certs/2025/c1.pdf", time.Minute, now))
		if resp.StatusCode != 404 {
			t.Fatalf("status %d, want 404", resp.StatusCode)
		}
	})

	t.Run("MethodNotAllowed", func(t *testing.T) {
		resp, _ := do("DELETE", signer.URL("/files/", "certs/2025/c1.pdf", time.Minute, now))
		if resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET, HEAD" {
			t.Fatalf("status %d Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
		}
		if _, err := store.Stat(ctx, "certs/2025/c1.pdf"); err != nil {
			t.Fatal(err)
		}
	})
}
