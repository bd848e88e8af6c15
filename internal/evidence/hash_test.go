package evidence

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestCanonicalIndependentOfKeyOrder(t *testing.T) {
	a := map[string]any{}
	b := map[string]any{}
	keys := []string{"sha256", "blobKey", "size", "contentType", "中文", "a", "B"}
	for i, k := range keys {
		a[k] = i
	}
	for i := len(keys) - 1; i >= 0; i-- {
		b[keys[i]] = i
	}
	type snap struct { // fields declared out of key order
		Size        int    `json:"size"`
		SHA256      string `json:"sha256"`
		BlobKey     string `json:"blobKey"`
		ContentType string `json:"contentType"`
	}
	ca, err := encodePayload(a)
	if err != nil {
		t.Fatal(err)
	}
	cb, err := encodePayload(b)
	if err != nil {
		t.Fatal(err)
	}
	if string(ca) != string(cb) {
		t.Fatalf("map order changed the encoding:\n%s\n%s", ca, cb)
	}
	want := `{"B":6,"a":5,"blobKey":1,"contentType":3,"sha256":0,"size":2,"中文":4}`
	if string(ca) != want {
		t.Fatalf("got %s, want %s", ca, want)
	}

	s, err := encodePayload(snap{Size: 9, SHA256: "ab", BlobKey: "k<&>", ContentType: "image/jpeg"})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := encodePayload(json.RawMessage(" {\n \"contentType\" : \"image/jpeg\", \"size\":9,\"blobKey\":\"k\\u003c&>\",\"sha256\":\"ab\"}\t"))
	if err != nil {
		t.Fatal(err)
	}
	if string(s) != string(raw) || string(s) != `{"blobKey":"k<&>","contentType":"image/jpeg","sha256":"ab","size":9}` {
		t.Fatalf("struct %s, raw %s", s, raw)
	}

	nested, err := Canonical([]byte(`{"z":[{"y":1,"x":"\n\u2028"},null,true,1.50],"a":{"d":false,"c":-2e3}}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"a":{"c":-2e3,"d":false},"z":[{"x":"\n\u2028","y":1},null,true,1.50]}`; string(nested) != want {
		t.Fatalf("got %s, want %s", nested, want)
	}
	if !isCanonical(nested) {
		t.Fatal("canonical output is not canonical")
	}
	if e, _ := encodePayload(nil); string(e) != "{}" {
		t.Fatalf("nil payload = %s", e)
	}
}

func TestCanonicalRejects(t *testing.T) {
	for name, in := range map[string]string{
		"not an object":  `[1,2]`,
		"string":         `"x"`,
		"duplicate key":  `{"a":1,"b":2,"a":3}`,
		"trailing value": `{"a":1}{"b":2}`,
		"invalid":        `{"a":}`,
		"empty":          ``,
		"too deep":       `{"a":` + strings.Repeat("[", 20) + strings.Repeat("]", 20) + `}`,
	} {
		if _, err := Canonical([]byte(in)); err == nil {
			t.Errorf("%s: accepted %q", name, in)
		}
	}
	if _, err := encodePayload("just a string"); err == nil {
		t.Error("a non-object payload was accepted")
	}
}

// The example in the package documentation, byte for byte, and the hashes
// recomputed from first principles.
func TestPreimageLayout(t *testing.T) {
	actor := 7
	at := time.Date(2025, 5, 1, 16, 0, 0, 500_000_000, time.FixedZone("CST", 8*3600)) // = 08:00:00.5 UTC
	prev := GenesisHash("attempt:42")
	sum := sha256.Sum256([]byte("kaowu-evidence-v1:attempt:42"))
	if prev != hex.EncodeToString(sum[:]) {
		t.Fatalf("genesis %s", prev)
	}
	got := string(Preimage("attempt:42", 1, "CONSENT", &actor, at, []byte(`{"text":"同意"}`), prev))
	want := "kaowu-evidence-v1\n10:attempt:42\n1:1\n7:CONSENT\n1:7\n22:2025-05-01T08:00:00.5Z\n17:{\"text\":\"同意\"}\n64:" + prev + "\n"
	if got != want {
		t.Fatalf("preimage\n%q\nwant\n%q", got, want)
	}
	h := sha256.Sum256([]byte(want))
	if ComputeHash("attempt:42", 1, "CONSENT", &actor, at, []byte(`{"text":"同意"}`), prev) != hex.EncodeToString(h[:]) {
		t.Fatal("hash is not SHA-256 of the preimage")
	}
	// No actor is an empty frame; a whole second has no fraction.
	got = string(Preimage("c", 2, "K", nil, time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), []byte("{}"), "p"))
	if want := "kaowu-evidence-v1\n1:c\n1:2\n1:K\n0:\n20:2025-01-02T03:04:05Z\n2:{}\n1:p\n"; got != want {
		t.Fatalf("preimage %q, want %q", got, want)
	}
}
