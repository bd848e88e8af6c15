// Package evidence keeps tamper-evident evidence chains: every snapshot, exam
// event and proctor or reviewer decision on an attempt is appended to a chain
// (e.g. "attempt:42") whose records each hold the hash of the one before.
// Verify recomputes a chain and names its first broken link.
//
// # Hash layout, version 1
//
// An auditor can recompute every hash from the table evidence_records with
// any SHA-256 tool. For a record, hash = lowercase hex of SHA-256 over the
// bytes
//
//	"kaowu-evidence-v1\n"
//	field(chain) field(seq) field(kind) field(actor) field(at) field(payload) field(prev_hash)
//
// where field(v) is the decimal byte length of v, a colon, the bytes of v and
// a newline ("<len>:<v>\n", a netstring-like frame, so no value can run into
// the next), and the values are:
//
//	chain     the chain name as stored (printable ASCII, e.g. "attempt:42")
//	seq       decimal, no sign or leading zeros (1, 2, …)
//	kind      as stored (e.g. "SNAPSHOT_PC")
//	actor     the actor's user id in decimal, or empty (length 0) when none
//	at        the time in UTC, Go's RFC3339Nano: "2006-01-02T15:04:05.999999999Z"
//	          with trailing zeros of the fraction dropped (and the dot with
//	          them when the fraction is zero). Times are truncated to whole
//	          microseconds on append, as PostgreSQL stores them.
//	payload   the payload column's bytes exactly as stored (canonical JSON, below)
//	prev_hash 64 lowercase hex characters
//
// Example for chain "attempt:42", seq 1, kind "CONSENT", actor 7, at
// 2025-05-01 08:00:00.5 UTC, payload {"text":"同意"}:
//
//	kaowu-evidence-v1\n10:attempt:42\n1:1\n7:CONSENT\n1:7\n22:2025-05-01T08:00:00.5Z\n17:{"text":"同意"}\n64:<prev>\n
//
// (lengths count bytes: "同意" is 6 bytes in UTF-8).
//
// The first record's prev_hash is the lowercase hex SHA-256 of the bytes
// "kaowu-evidence-v1:" + chain (no newline). Every later record's prev_hash is
// the hash of the record with the previous seq; seqs run 1, 2, 3, … without gaps.
//
// # Canonical payload JSON
//
// Payloads are JSON objects stored as their canonical text, so the hash does
// not depend on how a writer ordered map keys: no insignificant whitespace;
// object members sorted by the UTF-8 bytes of their (unescaped) keys, no
// duplicate keys; strings as UTF-8, escaping only '"', '\\', control
// characters (\b \f \n \r \t, others as \u00XX) and U+2028/U+2029, with '<',
// '>' and '&' left as they are; numbers exactly as written by the producer;
// true, false, null. The auditor needs none of this to recompute a hash (it
// covers the stored bytes); Verify checks it so a payload cannot be swapped
// for a differently written equivalent.
//
// # Limits
//
// A chain proves its records were not changed, removed or reordered
// relative to each other. Cutting records off its end, or rewriting a whole
// tail with fresh hashes, needs an anchor kept elsewhere: a Seal (seal.go)
// holds a record's seq and hash with an HMAC made with a server key; an
// attempt stores the seal of its SUBMIT record, and VerifySealed /
// VerifyAttempt report TRUNCATED, SEAL_MISMATCH, SEAL_FORGED or
// SEAL_MISSING. Someone who can write the tables but does not hold the key
// cannot make a rewritten chain pass.
package evidence

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strconv"
	"time"
)

// Version prefixes every hash preimage and the genesis hash.
const Version = "kaowu-evidence-v1"

// GenesisHash is the prev_hash of a chain's first record.
func GenesisHash(chain string) string {
	sum := sha256.Sum256([]byte(Version + ":" + chain))
	return hex.EncodeToString(sum[:])
}

// Preimage returns the exact bytes a record's hash is computed over (see
// the package documentation).
func Preimage(chain string, seq int, kind string, actorID *int, at time.Time, payload []byte, prevHash string) []byte {
	var b bytes.Buffer
	b.WriteString(Version + "\n")
	frame := func(v []byte) {
		b.WriteString(strconv.Itoa(len(v)))
		b.WriteByte(':')
		b.Write(v)
		b.WriteByte('\n')
	}
	actor := ""
	if actorID != nil {
		actor = strconv.Itoa(*actorID)
	}
	frame([]byte(chain))
	frame([]byte(strconv.Itoa(seq)))
	frame([]byte(kind))
	frame([]byte(actor))
	frame([]byte(at.UTC().Format(time.RFC3339Nano)))
	frame(payload)
	frame([]byte(prevHash))
	return b.Bytes()
}

// ComputeHash returns the lowercase hex SHA-256 of the record's preimage.
func ComputeHash(chain string, seq int, kind string, actorID *int, at time.Time, payload []byte, prevHash string) string {
	sum := sha256.Sum256(Preimage(chain, seq, kind, actorID, at, payload, prevHash))
	return hex.EncodeToString(sum[:])
}

// maxDepth bounds nesting in payloads (they are small facts, not documents).
const maxDepth = 16

var errNotObject = errors.New("payload must be a JSON object")

// Canonical returns the canonical text of the JSON object in data (see the
// package documentation). It fails on invalid JSON, on a top-level value
// that is not an object, on duplicate keys and on nesting deeper than 16.
func Canonical(data []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var out bytes.Buffer
	if err := canon(dec, &out, 0); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the JSON value")
	}
	if out.Len() == 0 || out.Bytes()[0] != '{' {
		return nil, errNotObject
	}
	return out.Bytes(), nil
}

func canon(dec *json.Decoder, out *bytes.Buffer, depth int) error {
	if depth > maxDepth {
		return errors.New("payload nested too deeply")
	}
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			type member struct {
				key string
				val []byte
			}
			var ms []member
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return err
				}
				key, _ := kt.(string)
				var v bytes.Buffer
				if err := canon(dec, &v, depth+1); err != nil {
					return err
				}
				ms = append(ms, member{key, v.Bytes()})
			}
			if _, err := dec.Token(); err != nil { // '}'
				return err
			}
			// Go strings compare by bytes: this is UTF-8 byte order.
			slices.SortFunc(ms, func(a, b member) int {
				switch {
				case a.key < b.key:
					return -1
				case a.key > b.key:
					return 1
				}
				return 0
			})
			out.WriteByte('{')
			for i, m := range ms {
				if i > 0 {
					if ms[i-1].key == m.key {
						return errors.New("duplicate key " + strconv.Quote(m.key))
					}
					out.WriteByte(',')
				}
				writeString(out, m.key)
				out.WriteByte(':')
				out.Write(m.val)
			}
			out.WriteByte('}')
		case '[':
			out.WriteByte('[')
			for i := 0; dec.More(); i++ {
				if i > 0 {
					out.WriteByte(',')
				}
				if err := canon(dec, out, depth+1); err != nil {
					return err
				}
			}
			if _, err := dec.Token(); err != nil { // ']'
				return err
			}
			out.WriteByte(']')
		}
	case string:
		writeString(out, t)
	case json.Number:
		out.WriteString(t.String())
	case bool:
		out.WriteString(strconv.FormatBool(t))
	case nil:
		out.WriteString("null")
	}
	return nil
}

// writeString writes s as a JSON string the way encoding/json does with
// HTML escaping off.
func writeString(out *bytes.Buffer, s string) {
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	out.Truncate(out.Len() - 1)
}

// encodePayload turns an Append payload into canonical JSON: nil is {},
// []byte and json.RawMessage are taken as JSON text, anything else is
// marshalled first.
func encodePayload(p any) ([]byte, error) {
	var raw []byte
	switch v := p.(type) {
	case nil:
		return []byte("{}"), nil
	case json.RawMessage:
		raw = v
	case []byte:
		raw = v
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		raw = b
	}
	return Canonical(raw)
}
