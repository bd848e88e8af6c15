package evidence_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/internal/evidence"
	"github.com/kaowu/kaowu/internal/testenv"
	"github.com/kaowu/kaowu/internal/txn"
)

// guardNot2 lets every owner through but 2, as an attempt guard lets
// through only attempts in progress.
const guardNot2 = `SELECT id FROM unnest($1::bigint[]) AS t(id) WHERE id <> 2`

func snap(chain string, i int) evidence.Entry {
	return evidence.Entry{Chain: chain, Kind: evidence.KindSnapshotPC, At: time.Now(), Payload: map[string]int{"i": i}}
}

func TestBatchRemembersChainEnds(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := setup(t, url)
		ctx := e.sys
		batch := func(heads *evidence.Heads, entries ...evidence.Entry) ([]*ent.EvidenceRecord, error) {
			var recs []*ent.EvidenceRecord
			err := txn.WithTx(ctx, e.client, func(ctx context.Context) error {
				var err error
				recs, err = evidence.AppendBatch(ctx, e.client, heads, entries)
				return err
			})
			return recs, err
		}

		t.Run("a remembered end saves the read; a stale one loses the race and writes nothing", func(t *testing.T) {
			heads := evidence.NewHeads(64)
			t.Cleanup(heads.Close)
			chain, other := e.chain(), e.chain()
			e.build(t, chain, 2)
			q0 := e.d.Queries()
			if recs, err := batch(heads, snap(chain, 1), snap(other, 1)); err != nil || recs[0].Seq != 3 || recs[1].Seq != 1 {
				t.Fatalf("first batch: %v %v", err, recs)
			}
			heads.Wait()
			q1 := e.d.Queries()
			if recs, err := batch(heads, snap(chain, 2), snap(other, 2)); err != nil || recs[0].Seq != 4 || recs[1].Seq != 2 {
				t.Fatalf("second batch: %v %v", err, recs)
			}
			if first, second := q1-q0, e.d.Queries()-q1; second != first-1 {
				t.Fatalf("%d statements with the ends remembered, %d without: want one fewer (no read)", second, first)
			}

			// A single append behind the cache's back: the remembered end is
			// stale, the batch collides on (chain, seq) and writes nothing,
			// not even the other chain's record.
			if _, err := evidence.Append(ctx, e.client, chain, evidence.KindNote, nil, time.Now(), nil); err != nil {
				t.Fatal(err)
			}
			if _, err := batch(heads, snap(chain, 3), snap(other, 3)); !errors.Is(err, evidence.ErrRace) {
				t.Fatalf("stale end: %v, want ErrRace", err)
			}
			if n, m := e.count(t, chain), e.count(t, other); n != 5 || m != 2 {
				t.Fatalf("after the lost race: %d and %d records, want 5 and 2", n, m)
			}
			// The race forgot the chains: the retry reads them and lands.
			if recs, err := batch(heads, snap(chain, 3), snap(other, 3)); err != nil || recs[0].Seq != 6 || recs[1].Seq != 3 {
				t.Fatalf("retry: %v %v", err, recs)
			}
			for _, ch := range []string{chain, other} {
				if rep := e.verify(t, ch); !rep.OK {
					t.Fatalf("%s: %+v", ch, rep)
				}
			}
		})

		t.Run("a rolled-back batch teaches nothing", func(t *testing.T) {
			heads := evidence.NewHeads(64)
			t.Cleanup(heads.Close)
			chain := e.chain()
			boom := errors.New("boom")
			err := txn.WithTx(ctx, e.client, func(ctx context.Context) error {
				if _, err := evidence.AppendBatch(ctx, e.client, heads, []evidence.Entry{snap(chain, 1)}); err != nil {
					return err
				}
				return boom
			})
			if !errors.Is(err, boom) {
				t.Fatal(err)
			}
			heads.Wait()
			if recs, err := batch(heads, snap(chain, 2)); err != nil || recs[0].Seq != 1 || recs[0].PrevHash != evidence.GenesisHash(chain) {
				t.Fatalf("after a rollback: %v %v", err, recs)
			}
		})

		t.Run("batch appends racing single appends, with remembered ends", func(t *testing.T) {
			heads := evidence.NewHeads(64)
			t.Cleanup(heads.Close)
			e.race(t, func(entries []evidence.Entry) error {
				_, err := batch(heads, entries...)
				return err
			})
		})

		if e.d.Dialect != dialect.Postgres {
			return
		}

		t.Run("guarded append: one statement, only the owners the guard lets through", func(t *testing.T) {
			heads := evidence.NewHeads(64)
			t.Cleanup(heads.Close)
			a, b, c := e.chain(), e.chain(), e.chain()
			e.build(t, a, 1)
			entries := []evidence.Entry{snap(a, 1), snap(b, 1), snap(a, 2), snap(c, 1)}
			owners := []int{1, 2, 1, 3}
			links, err := evidence.Prepare(ctx, e.client, heads, entries)
			if err != nil {
				t.Fatal(err)
			}
			// A chain is written whole or not at all, so it has one owner.
			if _, err := evidence.AppendGuardedPG(ctx, e.client, heads, guardNot2, []int{1, 2, 3, 3}, links); err == nil {
				t.Fatal("a chain with two owners was accepted")
			}
			q0 := e.d.Queries()
			live, err := evidence.AppendGuardedPG(ctx, e.client, heads, guardNot2, owners, links)
			if err != nil || !live[1] || live[2] || !live[3] || len(live) != 2 {
				t.Fatalf("live %v, err %v", live, err)
			}
			if n := e.d.Queries() - q0; n != 1 {
				t.Fatalf("%d statements, want 1", n)
			}
			if na, nb, nc := e.count(t, a), e.count(t, b), e.count(t, c); na != 3 || nb != 0 || nc != 1 {
				t.Fatalf("records %d %d %d, want 3 0 1", na, nb, nc)
			}
			for _, ch := range []string{a, c} {
				if rep := e.verify(t, ch); !rep.OK {
					t.Fatalf("%s: %+v", ch, rep)
				}
			}

			// The written chains' ends are remembered, the refused one's not.
			heads.Wait()
			q1 := e.d.Queries()
			links, err = evidence.Prepare(ctx, e.client, heads, []evidence.Entry{snap(a, 3), snap(c, 2)})
			if err != nil || links[0].Seq != 4 || links[1].Seq != 2 || e.d.Queries() != q1 {
				t.Fatalf("remembered ends: %v %+v, %d statements", err, links, e.d.Queries()-q1)
			}
			links, err = evidence.Prepare(ctx, e.client, heads, []evidence.Entry{snap(b, 2)})
			if err != nil || links[0].Seq != 1 || links[0].PrevHash != evidence.GenesisHash(b) || e.d.Queries() != q1+1 {
				t.Fatalf("refused chain: %v %+v", err, links)
			}

			// Stale: c moved behind the cache's back. Nothing is written, and
			// the retry, reading the ends again, is.
			if _, err := evidence.Append(ctx, e.client, c, evidence.KindNote, nil, time.Now(), nil); err != nil {
				t.Fatal(err)
			}
			entries = []evidence.Entry{snap(a, 3), snap(c, 2)}
			owners = []int{1, 3}
			links, _ = evidence.Prepare(ctx, e.client, heads, entries)
			if _, err := evidence.AppendGuardedPG(ctx, e.client, heads, guardNot2, owners, links); !errors.Is(err, evidence.ErrRace) {
				t.Fatalf("stale end: %v, want ErrRace", err)
			}
			if na, nc := e.count(t, a), e.count(t, c); na != 3 || nc != 2 {
				t.Fatalf("after the lost race: %d and %d records, want 3 and 2", na, nc)
			}
			links, _ = evidence.Prepare(ctx, e.client, heads, entries)
			if _, err := evidence.AppendGuardedPG(ctx, e.client, heads, guardNot2, owners, links); err != nil {
				t.Fatal(err)
			}
			for _, ch := range []string{a, c} {
				if rep := e.verify(t, ch); !rep.OK || rep.Records != map[string]int{a: 4, c: 3}[ch] {
					t.Fatalf("%s: %+v", ch, rep)
				}
			}
		})

		t.Run("guarded appends racing single appends, with remembered ends", func(t *testing.T) {
			heads := evidence.NewHeads(64)
			t.Cleanup(heads.Close)
			e.race(t, func(entries []evidence.Entry) error {
				links, err := evidence.Prepare(ctx, e.client, heads, entries)
				if err == nil {
					_, err = evidence.AppendGuardedPG(ctx, e.client, heads, guardNot2, []int{1, 3, 4}, links)
				}
				return err
			})
		})
	})
}
