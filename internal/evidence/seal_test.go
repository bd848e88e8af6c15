package evidence_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/evidencerecord"
	"github.com/kaowu/kaowu/internal/evidence"
	"github.com/kaowu/kaowu/internal/testenv"
)

// TestSeal: what the hashes alone cannot catch — the end cut off, or a tail
// rewritten with fresh hashes — the seal does; a forged seal is caught too;
// records appended after the seal (review decisions) are fine.
func TestSeal(t *testing.T) {
	key := []byte("evidence-seal-test-key-0123456789")
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := setup(t, url)
		sealed := func(t *testing.T, n int) (string, evidence.Seal) {
			chain := e.chain()
			recs := e.build(t, chain, n)
			last := recs[n-1]
			return chain, evidence.NewSeal(key, chain, last.Seq, last.Hash)
		}
		verify := func(t *testing.T, chain string, s *evidence.Seal, k []byte) *evidence.Report {
			t.Helper()
			rep, err := evidence.VerifySealed(e.sys, e.client, chain, s, k)
			if err != nil {
				t.Fatal(err)
			}
			return rep
		}

		t.Run("intact, and records after the seal", func(t *testing.T) {
			chain, s := sealed(t, 4)
			if rep := verify(t, chain, &s, key); !rep.OK {
				t.Fatalf("intact sealed chain: %+v", rep.FirstBroken)
			}
			e.build(t, chain, 2) // appended after submission
			if rep := verify(t, chain, &s, key); !rep.OK || rep.Records != 6 {
				t.Fatalf("records after the seal: %+v", rep)
			}
		})

		t.Run("end cut off", func(t *testing.T) {
			chain, s := sealed(t, 4)
			e.exec(t, "DELETE FROM evidence_records WHERE chain = ? AND seq = 4", chain)
			if rep := e.verify(t, chain); !rep.OK {
				t.Fatal("without the seal the cut is invisible: the test is wrong")
			}
			wantBroken(t, verify(t, chain, &s, key), 4, evidence.ReasonTruncated)
			var out bytes.Buffer
			ok, err := evidence.PrintReport(verify(t, chain, &s, key), &out)
			if err != nil || ok || !strings.Contains(out.String(), "TRUNCATED") {
				t.Fatalf("report ok=%v err=%v\n%s", ok, err, out.String())
			}
		})

		t.Run("tail rewritten with fresh hashes", func(t *testing.T) {
			chain, s := sealed(t, 4)
			recs := e.records(t, chain)
			// Rewrite record 3's payload and re-hash 3 and 4 consistently.
			r3, r4 := recs[2], recs[3]
			body := []byte(`{"blobKey":"other.jpg"}`)
			h3 := evidence.ComputeHash(r3.Chain, r3.Seq, r3.Kind, r3.ActorID, r3.At, body, r3.PrevHash)
			h4 := evidence.ComputeHash(r4.Chain, r4.Seq, r4.Kind, r4.ActorID, r4.At, r4.Payload, h3)
			e.exec(t, "UPDATE evidence_records SET payload = ?, hash = ? WHERE id = ?", body, h3, r3.ID)
			e.exec(t, "UPDATE evidence_records SET prev_hash = ?, hash = ? WHERE id = ?", h3, h4, r4.ID)
			if rep := e.verify(t, chain); !rep.OK {
				t.Fatal("the rewrite should pass the hashes alone")
			}
			wantBroken(t, verify(t, chain, &s, key), 4, evidence.ReasonSealMismatch)
		})

		t.Run("forged seal", func(t *testing.T) {
			chain, s := sealed(t, 3)
			recs := e.records(t, chain)
			forged := evidence.Seal{Seq: 2, Hash: recs[1].Hash, MAC: s.MAC} // moved back to hide record 3
			wantBroken(t, verify(t, chain, &forged, key), 2, evidence.ReasonSealForged)
			if rep := verify(t, chain, &s, []byte("another key entirely, 32 bytes..")); rep.OK {
				t.Fatal("a seal checked with another key passed")
			}
		})

		t.Run("missing seal", func(t *testing.T) {
			chain := e.chain()
			e.build(t, chain, 2)
			rep := verify(t, chain, nil, key)
			rep.SealMissing()
			wantBroken(t, rep, 2, evidence.ReasonSealMissing)
		})
	})
}

func (e *env) records(t *testing.T, chain string) []*ent.EvidenceRecord {
	t.Helper()
	return e.client.EvidenceRecord.Query().Where(evidencerecord.Chain(chain)).
		Order(evidencerecord.BySeq()).AllX(e.sys)
}
