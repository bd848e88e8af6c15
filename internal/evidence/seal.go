package evidence

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/attempt"
)

// Seal anchors a chain at a record: its seq and hash, and a MAC over both
// made with a key only the server holds. The owner of the chain keeps it
// elsewhere (an attempt stores the seal of its SUBMIT record), so cutting
// records off the end or rewriting a tail with fresh hashes is detected by
// VerifySealed. Records appended after the seal (review decisions) are
// still covered by the chain itself.
type Seal struct {
	Seq  int
	Hash string
	MAC  string
}

// NewSeal seals chain at (seq, hash) with key.
func NewSeal(key []byte, chain string, seq int, hash string) Seal {
	return Seal{Seq: seq, Hash: hash, MAC: sealMAC(key, chain, seq, hash)}
}

// Valid reports whether the seal's MAC is the one key makes for chain.
func (s *Seal) Valid(key []byte, chain string) bool {
	if s == nil || len(key) == 0 {
		return false
	}
	want, err := hex.DecodeString(s.MAC)
	if err != nil {
		return false
	}
	got, _ := hex.DecodeString(sealMAC(key, chain, s.Seq, s.Hash))
	return hmac.Equal(want, got)
}

func sealMAC(key []byte, chain string, seq int, hash string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("kaowu-evidence-seal-v1\n" + chain + "\n" + strconv.Itoa(seq) + "\n" + hash))
	return hex.EncodeToString(m.Sum(nil))
}

// SealOf is the seal stored on its owner's row (nil when it has none).
func SealOf(seq *int, hash, mac string) *Seal {
	if seq == nil {
		return nil
	}
	return &Seal{Seq: *seq, Hash: hash, MAC: mac}
}

// VerifyAttempt verifies an attempt's chain ("attempt:<id>") with its seal.
// With a key, a submitted attempt must carry a seal, and it must match;
// without one (key nil) seals are not checked.
func VerifyAttempt(ctx context.Context, c *ent.Client, a *ent.Attempt, key []byte) (*Report, error) {
	var seal *Seal
	if len(key) > 0 {
		seal = SealOf(a.EvidenceSealSeq, a.EvidenceSealHash, a.EvidenceSealMAC)
	}
	rep, err := VerifySealed(ctx, c, Chain("attempt", a.ID), seal, key)
	if err == nil && seal == nil && len(key) > 0 && a.Status == attempt.StatusSUBMITTED {
		rep.SealMissing()
	}
	return rep, err
}
