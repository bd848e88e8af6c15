package storage

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

var (
	// ErrBadSignature is returned by Verify for a missing, malformed or wrong
	// signature.
	ErrBadSignature = errors.New("storage: bad signature")
	// ErrExpired is returned by Verify for a correctly signed but expired URL.
	ErrExpired = errors.New("storage: signed URL expired")
)

// MinSecretLen is the shortest secret NewSigner accepts (the HMAC-SHA256
// output size, as RFC 2104 recommends).
const MinSecretLen = 32

// sigDomain separates these MACs from any other use of the same secret.
const sigDomain = "kaowu/storage/url/v1"

// Signer issues and checks short-lived download URLs.
type Signer struct {
	secret []byte
}

// NewSigner returns a Signer using secret, which must be at least
// MinSecretLen bytes. It panics otherwise: a short key would make every
// download link forgeable, and that is a configuration bug to catch at start.
func NewSigner(secret []byte) *Signer {
	if len(secret) < MinSecretLen {
		panic("storage: NewSigner: secret shorter than " + strconv.Itoa(MinSecretLen) + " bytes")
	}
	return &Signer{secret: append([]byte(nil), secret...)}
}

// URL returns prefix+key+"?exp=<unix>&sig=<base64url HMAC-SHA256>", valid
// until now+ttl. Keys that pass ValidKey need no escaping.
func (s *Signer) URL(prefix, key string, ttl time.Duration, now time.Time) string {
	exp := strconv.FormatInt(now.Add(ttl).Unix(), 10)
	return prefix + key + "?exp=" + exp + "&sig=" + base64.RawURLEncoding.EncodeToString(s.mac(key, exp))
}

// Verify checks sig over key and exp in constant time, then that exp (unix
// seconds) is after now. Expiry is only reported for genuine signatures.
func (s *Signer) Verify(key, exp, sig string, now time.Time) error {
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || len(got) != sha256.Size {
		return ErrBadSignature
	}
	if !hmac.Equal(got, s.mac(key, exp)) {
		return ErrBadSignature
	}
	e, err := strconv.ParseInt(exp, 10, 64)
	if err != nil {
		return ErrBadSignature
	}
	if now.Unix() >= e {
		return ErrExpired
	}
	return nil
}

// mac is HMAC-SHA256(domain 0 key 0 exp). The NUL separators (which cannot
// occur in a key or a number) stop a forger from shifting digits between key
// and exp: with plain key+exp, a link for "a/b1" expiring at 1700000000 would
// also be a valid link for "a/b" expiring at 11700000000.
func (s *Signer) mac(key, exp string) []byte {
	m := hmac.New(sha256.New, s.secret)
	io.WriteString(m, sigDomain)
	m.Write([]byte{0})
	io.WriteString(m, key)
	m.Write([]byte{0})
	io.WriteString(m, exp)
	return m.Sum(nil)
}

// Handler serves GET and HEAD for prefix+key?exp=..&sig=.. as produced by
// signer.URL. prefix is matched against r.URL.Path, so when URL was given an
// absolute prefix ("https://host/files/") pass only its path ("/files/").
//
// Responses: 403 for a bad or expired signature (checked before the store is
// touched, so unsigned requests learn nothing), 404 for a missing object,
// otherwise 200 with the body streamed from the store.
func Handler(store Store, signer *Signer, prefix string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			httpError(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		key, ok := strings.CutPrefix(r.URL.Path, prefix)
		if !ok {
			httpError(w, "not found", http.StatusNotFound)
			return
		}
		q := r.URL.Query()
		now := time.Now()
		switch err := signer.Verify(key, q.Get("exp"), q.Get("sig"), now); {
		case errors.Is(err, ErrExpired):
			httpError(w, "link expired", http.StatusForbidden)
			return
		case err != nil:
			httpError(w, "invalid signature", http.StatusForbidden)
			return
		}
		exp, _ := strconv.ParseInt(q.Get("exp"), 10, 64) // validated by Verify

		var (
			info ObjectInfo
			body io.ReadCloser
			err  error
		)
		if r.Method == http.MethodHead {
			info, err = store.Stat(r.Context(), key)
		} else {
			body, info, err = store.Get(r.Context(), key)
		}
		switch {
		case errors.Is(err, ErrNotFound) || errors.Is(err, ErrInvalidKey):
			httpError(w, "not found", http.StatusNotFound)
			return
		case err != nil:
			httpError(w, "storage error", http.StatusInternalServerError)
			return
		}
		if body != nil {
			defer body.Close()
		}

		h := w.Header()
		h.Set("Content-Type", info.ContentType)
		if info.Size >= 0 {
			h.Set("Content-Length", strconv.FormatInt(info.Size, 10))
		}
		// Never cache beyond the link's own lifetime, and only in the browser.
		h.Set("Cache-Control", "private, max-age="+strconv.FormatInt(max(exp-now.Unix(), 0), 10))
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Disposition", "inline")
		if mediaType(info.ContentType) != "application/pdf" {
			// Objects are served from our own origin: if an HTML or SVG
			// object ever slips in, sandboxing keeps its scripts from running
			// with our cookies. Images render normally; PDFs are exempt
			// because Chrome refuses to display sandboxed PDFs.
			h.Set("Content-Security-Policy", "sandbox")
		}
		w.WriteHeader(http.StatusOK)
		if body != nil {
			// A failure mid-body leaves the response shorter than
			// Content-Length, so the client sees a truncated transfer.
			io.Copy(w, body)
		}
	})
}

// httpError writes a short plain-text error that no cache may keep.
func httpError(w http.ResponseWriter, msg string, code int) {
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, msg, code)
}

// mediaType returns ct without parameters, lowercased.
func mediaType(ct string) string {
	mt, _, _ := strings.Cut(ct, ";")
	return strings.ToLower(strings.TrimSpace(mt))
}
