// Package storage is the blob store for ID photos, documents, exam snapshots
// and PDFs.
//
// Two backends implement Store: Local (a directory tree, for development and
// single-node installs) and MinIO (any S3-compatible server). Both validate
// keys with ValidKey, record the SHA-256 of every object while streaming it
// in, and map missing objects to ErrNotFound.
//
// Browsers never talk to the backend directly: a Signer issues short-lived
// URLs and Handler serves them from our own origin, so both backends share
// one download path.
package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// ObjectInfo describes a stored object.
type ObjectInfo struct {
	Key         string
	Size        int64
	ContentType string
	SHA256      string // lowercase hex; empty only for objects not written by this package
	ModTime     time.Time
}

// Store is a flat key/value blob store.
type Store interface {
	// Put stores r under key (overwrites). It computes sha256 while streaming
	// and returns it. size may be -1 when unknown; otherwise r must yield
	// exactly size bytes. A failed Put leaves any previous object intact.
	Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) (ObjectInfo, error)
	// Get returns the object's content; the caller must close it.
	Get(ctx context.Context, key string) (io.ReadCloser, ObjectInfo, error)
	Stat(ctx context.Context, key string) (ObjectInfo, error)
	// Delete removes key; it returns ErrNotFound when there is nothing to delete.
	Delete(ctx context.Context, key string) error
	// Ping reports whether the backend is usable (for /readyz).
	Ping(ctx context.Context) error
}

var (
	// ErrNotFound is returned (wrapped) by Get, Stat and Delete for missing keys.
	ErrNotFound = errors.New("storage: object not found")
	// ErrInvalidKey is returned (wrapped) for keys that fail ValidKey.
	ErrInvalidKey = errors.New("storage: invalid key")
)

// MaxKeyLen is the longest key accepted, in bytes.
const MaxKeyLen = 512

// defaultContentType is recorded when Put is given an empty content type.
const defaultContentType = "application/octet-stream"

// maxContentTypeLen bounds the content type so it fits the local header and
// stays a sane HTTP header value.
const maxContentTypeLen = 255

// ValidKey reports whether key is acceptable to every backend: non-empty, at
// most MaxKeyLen bytes, '/'-separated segments of [A-Za-z0-9._-]+, no "." or
// ".." segment and no leading, trailing or doubled '/'. The restricted
// alphabet is what keeps Local inside its root and lets internal names (which
// contain '~') never collide with a key.
func ValidKey(key string) error {
	if key == "" {
		return fmt.Errorf("%w: empty", ErrInvalidKey)
	}
	if len(key) > MaxKeyLen {
		return fmt.Errorf("%w: longer than %d bytes", ErrInvalidKey, MaxKeyLen)
	}
	start := 0
	for i := 0; i <= len(key); i++ {
		if i < len(key) && key[i] != '/' {
			if !keyChar(key[i]) {
				return fmt.Errorf("%w: %q: byte %q not allowed", ErrInvalidKey, key, key[i])
			}
			continue
		}
		switch seg := key[start:i]; seg {
		case "":
			return fmt.Errorf("%w: %q: empty segment", ErrInvalidKey, key)
		case ".", "..":
			return fmt.Errorf("%w: %q: %q segment", ErrInvalidKey, key, seg)
		}
		start = i + 1
	}
	return nil
}

func keyChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '.' || c == '_' || c == '-'
}

// normalizeContentType defaults an empty type and rejects values that could
// not be served back safely as a header.
func normalizeContentType(ct string) (string, error) {
	if ct == "" {
		return defaultContentType, nil
	}
	if len(ct) > maxContentTypeLen {
		return "", fmt.Errorf("storage: content type longer than %d bytes", maxContentTypeLen)
	}
	for i := 0; i < len(ct); i++ {
		if ct[i] < 0x20 || ct[i] > 0x7e {
			return "", fmt.Errorf("storage: content type %q has a non-printable byte", ct)
		}
	}
	return ct, nil
}

// checkSize verifies that a reader declared to hold size bytes held exactly
// that many: n bytes were consumed, and r must now be at EOF.
func checkSize(r io.Reader, size, n int64) error {
	if size < 0 {
		return nil
	}
	if n != size {
		return fmt.Errorf("storage: read %d bytes, expected %d: %w", n, size, io.ErrUnexpectedEOF)
	}
	var one [1]byte
	switch _, err := io.ReadFull(r, one[:]); err {
	case io.EOF:
		return nil
	case nil:
		return fmt.Errorf("storage: reader has more than the declared %d bytes", size)
	default:
		return err
	}
}

// ctxReader stops a long copy once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// countingReader counts the bytes that pass through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
