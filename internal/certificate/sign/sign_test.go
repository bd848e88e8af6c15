package sign_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kaowu/kaowu/internal/certificate/sign"
)

func seed(b byte) string {
	return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, ed25519.SeedSize))
}

func claims() sign.Claims {
	from := sign.Day(time.Date(2026, 3, 1, 0, 0, 0, 0, sign.ChinaTZ))
	return sign.Claims{
		Number: "KW-C1-2026-000123", NameHash: sign.NameHash("KW-C1-2026-000123", "李堃喆"),
		SubjectCode: "C1-JZ", ValidFrom: from, ValidUntil: from + 1096, Revision: 2,
	}
}

func mustRing(t *testing.T, spec string) *sign.Keyring {
	t.Helper()
	k, err := sign.ParseKeys(spec)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestRoundTrip(t *testing.T) {
	ring := mustRing(t, "k1:"+seed(1))
	code, err := ring.Sign(claims())
	if err != nil {
		t.Fatal(err)
	}
	if len(code) > 200 {
		t.Errorf("payload is %d characters; it should stay compact", len(code))
	}
	for _, in := range []string{code, "https://kaowu.example.cn/verify/" + code, " https://x/verify/" + code + "?utm=qr#top "} {
		got, err := sign.VerifyOffline(in, ring)
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		want := claims()
		want.Version, want.KeyID = sign.Version, "k1"
		if got != want {
			t.Fatalf("claims %+v, want %+v", got, want)
		}
	}
	c, _ := sign.VerifyOffline(code, ring)
	if !c.MatchesName("李堃喆") || !c.MatchesName(" 李 堃喆 ") || c.MatchesName("李堃") {
		t.Error("name hash check")
	}
	if got := c.ValidFromTime(); !got.Equal(time.Date(2026, 3, 1, 0, 0, 0, 0, sign.ChinaTZ)) {
		t.Errorf("valid from %v", got)
	}
}

func TestDay(t *testing.T) {
	// 23:30 UTC on 28 Feb is 07:30 on 1 March in China.
	d := sign.Day(time.Date(2026, 2, 28, 23, 30, 0, 0, time.UTC))
	if got := sign.DayTime(d); !got.Equal(time.Date(2026, 3, 1, 0, 0, 0, 0, sign.ChinaTZ)) {
		t.Fatalf("DayTime(Day) = %v", got)
	}
	if sign.Day(time.Date(2026, 3, 1, 0, 0, 0, 0, sign.ChinaTZ)) != d || sign.Day(time.Date(2026, 3, 1, 23, 59, 59, 0, sign.ChinaTZ)) != d {
		t.Fatal("a China day is one day")
	}
}

func TestForgedAndAltered(t *testing.T) {
	ring := mustRing(t, "k1:"+seed(1))
	code, _ := ring.Sign(claims())
	raw, _ := base64.RawURLEncoding.DecodeString(code)

	t.Run("every altered byte is refused", func(t *testing.T) {
		for i := range raw {
			alt := bytes.Clone(raw)
			alt[i] ^= 0x01
			_, err := sign.VerifyOffline(base64.RawURLEncoding.EncodeToString(alt), ring)
			if err == nil {
				t.Fatalf("byte %d altered: accepted", i)
			}
			if !errors.Is(err, sign.ErrBadSignature) && !errors.Is(err, sign.ErrMalformed) && !errors.Is(err, sign.ErrUnknownKey) {
				t.Fatalf("byte %d altered: %v", i, err)
			}
		}
	})
	t.Run("a changed validity is a bad signature", func(t *testing.T) {
		// The last byte before the signature is the revision (2): make it 3.
		alt := bytes.Clone(raw)
		alt[len(alt)-ed25519.SignatureSize-1] = 3
		c, err := sign.VerifyOffline(base64.RawURLEncoding.EncodeToString(alt), ring)
		if !errors.Is(err, sign.ErrBadSignature) || c.Revision != 3 {
			t.Fatalf("got %v (%+v)", err, c)
		}
	})
	t.Run("signed with another key under the same id", func(t *testing.T) {
		forger := mustRing(t, "k1:"+seed(9))
		forged, _ := forger.Sign(claims())
		if _, err := sign.VerifyOffline(forged, ring); !errors.Is(err, sign.ErrBadSignature) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("unknown key id", func(t *testing.T) {
		other := mustRing(t, "zz:"+seed(1))
		c2, _ := other.Sign(claims())
		c, err := sign.VerifyOffline(c2, ring)
		if !errors.Is(err, sign.ErrUnknownKey) || c.KeyID != "zz" {
			t.Fatalf("got %v %q", err, c.KeyID)
		}
	})
	t.Run("malformed", func(t *testing.T) {
		for _, in := range []string{"", "https://x/verify/", "!!!", code[:40], code + "AA", "A" + code,
			strings.Repeat("A", sign.MaxCodeLen+1), code[:len(code)-1] + "_"} {
			if _, err := sign.VerifyOffline(in, ring); !errors.Is(err, sign.ErrMalformed) && !errors.Is(err, sign.ErrBadSignature) {
				t.Errorf("%.30q: %v", in, err)
			}
		}
		// A future version is refused as malformed, whatever its signature.
		alt := bytes.Clone(raw)
		alt[0] = 2
		if _, err := sign.VerifyOffline(base64.RawURLEncoding.EncodeToString(alt), ring); !errors.Is(err, sign.ErrMalformed) {
			t.Errorf("version 2: %v", err)
		}
	})
}

func TestRotation(t *testing.T) {
	old := mustRing(t, "k1:"+seed(1))
	oldCode, _ := old.Sign(claims())
	pub := old.PublicKeys().Keys[0].PublicKey

	// Rotated: k2 active, k1 kept as verify-only.
	ring := mustRing(t, "k2:"+seed(2)+", k1:pub:"+pub)
	if ring.ActiveID() != "k2" {
		t.Fatalf("active %q", ring.ActiveID())
	}
	if _, err := sign.VerifyOffline(oldCode, ring); err != nil {
		t.Fatalf("old certificate after rotation: %v", err)
	}
	newCode, _ := ring.Sign(claims())
	if c, err := sign.VerifyOffline(newCode, ring); err != nil || c.KeyID != "k2" {
		t.Fatalf("new code: %v %q", err, c.KeyID)
	}
	// The published set verifies both, offline.
	js, err := ring.PublicKeysJSON()
	if err != nil {
		t.Fatal(err)
	}
	pubRing, err := sign.ParsePublicKeys(js)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{oldCode, newCode} {
		if _, err := sign.VerifyOffline(c, pubRing); err != nil {
			t.Fatalf("published keys: %v", err)
		}
	}
	if _, err := pubRing.Sign(claims()); err == nil {
		t.Fatal("a verify-only ring signed")
	}
	set := ring.PublicKeys()
	if len(set.Keys) != 2 || !set.Keys[0].Active || set.Keys[1].Active || set.Algorithm != "Ed25519" {
		t.Fatalf("published %+v", set)
	}
	if strings.Contains(string(js), seed(2)) || strings.Contains(string(js), strings.TrimRight(seed(2), "=")) {
		t.Fatal("published keys contain a seed")
	}
}

func TestParseKeys(t *testing.T) {
	for _, bad := range []string{"k1", "k1:short", "k1:pub:short", "k 1:" + seed(1), "k1:" + seed(1) + ",k1:" + seed(2),
		"toolongkeyid12345:" + seed(1), "k1:x:" + seed(1)} {
		if _, err := sign.ParseKeys(bad); err == nil {
			t.Errorf("%q accepted", bad)
		} else if strings.Contains(err.Error(), seed(1)) {
			t.Errorf("error shows the seed: %v", err)
		}
	}
	// Entries may be separated by commas, spaces or newlines; URL-safe base64 works too.
	url := base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, 32))
	k := mustRing(t, "a:"+url+"\n b:"+seed(2))
	if k.ActiveID() != "a" || len(k.PublicKeys().Keys) != 2 {
		t.Fatalf("%+v", k.PublicKeys())
	}
}

func TestLoadKeyring(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	if _, err := sign.LoadKeyring("", true, secret); err == nil {
		t.Fatal("production without keys accepted")
	}
	if _, err := sign.LoadKeyring("k1:pub:"+mustRing(t, "k1:"+seed(1)).PublicKeys().Keys[0].PublicKey, false, secret); err == nil {
		t.Fatal("keys without a signing key accepted")
	}
	a, err := sign.LoadKeyring("", false, secret)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := sign.LoadKeyring(" ", false, secret)
	c, _ := sign.LoadKeyring("", false, []byte("another secret of thirty-two chars!"))
	if a.ActiveID() != sign.DevKeyID || a.PublicKeys().Keys[0] != b.PublicKeys().Keys[0] {
		t.Fatal("the dev key is not derived deterministically")
	}
	if a.PublicKeys().Keys[0].PublicKey == c.PublicKeys().Keys[0].PublicKey {
		t.Fatal("different secrets gave the same dev key")
	}
	if _, err := sign.LoadKeyring("", false, nil); err == nil {
		t.Fatal("dev key without a secret")
	}
}

func TestCommand(t *testing.T) {
	ring := mustRing(t, "k2:"+seed(2)+",k1:"+seed(1))
	dir := t.TempDir()
	js, _ := ring.PublicKeysJSON()
	keysFile := filepath.Join(dir, "keys.json")
	if err := os.WriteFile(keysFile, js, 0o600); err != nil {
		t.Fatal(err)
	}
	code, _ := ring.Sign(claims())
	url := "https://kaowu.example.cn/verify/" + code
	raw, _ := base64.RawURLEncoding.DecodeString(code)
	raw[5] ^= 0x20
	altered := base64.RawURLEncoding.EncodeToString(raw)
	unknown, _ := mustRing(t, "k9:"+seed(9)).Sign(claims())
	inside := time.Date(2027, 1, 1, 0, 0, 0, 0, sign.ChinaTZ)
	k2 := "k2=" + ring.PublicKeys().Keys[0].PublicKey

	run := func(stdin string, now time.Time, args ...string) (int, string) {
		var out, errb bytes.Buffer
		st := sign.Command(args, strings.NewReader(stdin), &out, &errb, now)
		return st, out.String() + errb.String()
	}
	for _, c := range []struct {
		name  string
		args  []string
		stdin string
		now   time.Time
		want  int
		text  string
	}{
		{"url with keys file", []string{"--keys", keysFile, url}, "", inside, sign.ExitValid, "VALID"},
		{"raw with --key", []string{"--key", k2, code}, "", inside, sign.ExitValid, "KW-C1-2026-000123"},
		{"stdin and name", []string{"--keys", keysFile, "--name", "李堃喆", "-"}, url + "\n", inside, sign.ExitValid, "name matches"},
		{"wrong name", []string{"--keys", keysFile, "--name", "张三", url}, "", inside, sign.ExitInvalid, "not the holder's"},
		{"altered", []string{"--keys", keysFile, altered}, "", inside, sign.ExitInvalid, "INVALID"},
		{"unknown key", []string{"--keys", keysFile, unknown}, "", inside, sign.ExitInvalid, `key "k9"`},
		{"key flag lacks the signing key", []string{"--key", "k1=" + ring.PublicKeys().Keys[1].PublicKey, code}, "", inside, sign.ExitInvalid, `key "k2"`},
		{"garbage", []string{"--keys", keysFile, "hello"}, "", inside, sign.ExitInvalid, "not a certificate code"},
		{"expired", []string{"--keys", keysFile, url}, "", time.Date(2029, 3, 1, 0, 0, 0, 0, sign.ChinaTZ), sign.ExitExpired, "EXPIRED"},
		{"no keys", []string{url}, "", inside, sign.ExitUsage, "usage"},
		{"no code", []string{"--keys", keysFile}, "", inside, sign.ExitUsage, "usage"},
		{"bad key flag", []string{"--key", "k1", url}, "", inside, sign.ExitUsage, "kid=base64"},
		{"missing keys file", []string{"--keys", filepath.Join(dir, "none.json"), url}, "", inside, sign.ExitUsage, "cannot read"},
	} {
		t.Run(c.name, func(t *testing.T) {
			st, text := run(c.stdin, c.now, c.args...)
			if st != c.want || !strings.Contains(text, c.text) {
				t.Fatalf("exit %d, want %d; output:\n%s", st, c.want, text)
			}
		})
	}
}
