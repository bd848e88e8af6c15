package sign_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"testing"

	"github.com/kaowu/kaowu/internal/certificate/sign"
)

// TestBrowserFixture pins the payload that web/test/offline.test.js checks
// with WebCrypto: the verification page's offline check and this package
// must read the same bytes. Changing the layout means updating both.
func TestBrowserFixture(t *testing.T) {
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32))
	k, err := sign.NewKeyring(sign.Key{ID: "k2026", Public: priv.Public().(ed25519.PublicKey), Private: priv})
	if err != nil {
		t.Fatal(err)
	}
	p, err := k.Sign(sign.Claims{Number: "KW-C2-2026-000042", SubjectCode: "C2", ValidFrom: 20000, ValidUntil: 21096, Revision: 1})
	if err != nil {
		t.Fatal(err)
	}
	const want = "AQVrMjAyNhFLVy1DMi0yMDI2LTAwMDA0MgAAAAAAAAAAAkMyoJwB6KQBAXshfYqXvlK51tT3xkWcpAg1oyrufK-fNR9X5KzIB7Fj_fmJvidRZLgMvQfo3bvuNhTp_VRxZJ5cfqM5s2E30g8"
	if p != want {
		t.Fatalf("payload changed:\n got %s\nwant %s (update web/test/offline.test.js too)", p, want)
	}
	if pub := base64.RawURLEncoding.EncodeToString(priv.Public().(ed25519.PublicKey)); pub != "6kpsY-KcUgq-9VB7Ey7F-ZVHdq6-vnuSQh7qaRRG0iw" {
		t.Fatalf("public key %s", pub)
	}
}
