package evidence_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"entgo.io/ent/privacy"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/evidencerecord"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/audit"
	"github.com/kaowu/kaowu/internal/db"
	"github.com/kaowu/kaowu/internal/evidence"
	"github.com/kaowu/kaowu/internal/testenv"
	"github.com/kaowu/kaowu/internal/txn"
	"github.com/kaowu/kaowu/internal/viewer"
)

type env struct {
	d      *db.DB
	client *ent.Client
	sys    context.Context
	n      int
	mu     sync.Mutex
}

func setup(t *testing.T, url string) *env {
	d, err := db.Open(url, db.Options{MaxOpenConns: 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	sys := viewer.SystemContext(context.Background())
	if err := d.Migrate(sys); err != nil {
		t.Fatal(err)
	}
	c := d.Client()
	c.Use(audit.Hook(slog.Default())) // as wired in internal/app
	return &env{d: d, client: c, sys: sys}
}

// chain returns a chain name not used before in this database.
func (e *env) chain() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.n++
	return fmt.Sprintf("attempt:%d%d", time.Now().UnixNano()%1e6, e.n)
}

// exec runs raw SQL on the underlying database, bypassing ent and privacy,
// as an attacker with database access would.
func (e *env) exec(t *testing.T, query string, args ...any) {
	t.Helper()
	if e.d.Dialect == dialect.Postgres {
		for i := 1; strings.Contains(query, "?"); i++ {
			query = strings.Replace(query, "?", fmt.Sprintf("$%d", i), 1)
		}
	}
	res, err := e.d.SQL.Exec(query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("%s: %d rows", query, n)
	}
}

// build appends n records (1-based times on a fixed clock) and returns them.
func (e *env) build(t *testing.T, chain string, n int) []*ent.EvidenceRecord {
	t.Helper()
	t0 := time.Date(2025, 6, 1, 9, 0, 0, 123456789, time.UTC)
	var out []*ent.EvidenceRecord
	for i := 1; i <= n; i++ {
		actor := i
		r, err := evidence.Append(context.Background(), e.client, chain, evidence.KindSnapshotPC, &actor,
			t0.Add(time.Duration(i)*time.Second), map[string]any{"blobKey": fmt.Sprintf("snap/%d.jpg", i), "size": 1000 + i, "sha256": strings.Repeat("ab", 32)})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

func (e *env) verify(t *testing.T, chain string) *evidence.Report {
	t.Helper()
	rep, err := evidence.Verify(e.sys, e.client, chain)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func (e *env) count(t *testing.T, chain string) int {
	t.Helper()
	n, err := e.client.EvidenceRecord.Query().Where(evidencerecord.Chain(chain)).Count(e.sys)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func wantBroken(t *testing.T, rep *evidence.Report, seq int, reason evidence.Reason) {
	t.Helper()
	if rep.OK || rep.FirstBroken == nil {
		t.Fatalf("tampering not detected: %+v", rep)
	}
	if rep.FirstBroken.Seq != seq || rep.FirstBroken.Reason != reason {
		t.Fatalf("first broken = %+v, want seq %d %s", *rep.FirstBroken, seq, reason)
	}
}

func TestEvidence(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := setup(t, url)
		ctx := context.Background()

		t.Run("append and verify", func(t *testing.T) {
			chain := e.chain()
			at := time.Date(2025, 6, 1, 17, 0, 0, 987654321, time.FixedZone("CST", 8*3600))
			first, err := evidence.Append(ctx, e.client, chain, evidence.KindConsent, nil, at, map[string]string{"text": "我同意考试期间采集面部图像"})
			if err != nil {
				t.Fatal(err)
			}
			if first.Seq != 1 || first.PrevHash != evidence.GenesisHash(chain) {
				t.Fatalf("first record seq %d prev %s", first.Seq, first.PrevHash)
			}
			if !first.At.Equal(at.Truncate(time.Microsecond)) {
				t.Fatalf("at %v, want %v truncated to µs", first.At, at)
			}
			recs := e.build(t, chain, 3)
			prev := first.Hash
			for i, r := range recs {
				if r.Seq != i+2 || r.PrevHash != prev {
					t.Fatalf("record %d: seq %d prev %s, want %d %s", i, r.Seq, r.PrevHash, i+2, prev)
				}
				prev = r.Hash
			}
			// What is read back hashes to what was stored (time round trip included).
			for _, r := range e.client.EvidenceRecord.Query().Where(evidencerecord.Chain(chain)).AllX(e.sys) {
				if evidence.ComputeHash(r.Chain, r.Seq, r.Kind, r.ActorID, r.At, r.Payload, r.PrevHash) != r.Hash {
					t.Fatalf("record %d does not rehash after reading back", r.Seq)
				}
			}
			rep := e.verify(t, chain)
			if !rep.OK || rep.Records != 4 || rep.FirstBroken != nil || rep.Head != prev {
				t.Fatalf("report %+v", rep)
			}
			var out bytes.Buffer
			ok, err := evidence.PrintReport(e.verify(t, chain), &out)
			if err != nil || !ok || !strings.Contains(out.String(), "完好") || !strings.Contains(out.String(), prev) {
				t.Fatalf("command ok=%v err=%v\n%s", ok, err, out.String())
			}
		})

		t.Run("empty chain", func(t *testing.T) {
			chain := e.chain()
			rep := e.verify(t, chain)
			if !rep.OK || rep.Records != 0 || rep.Head != evidence.GenesisHash(chain) {
				t.Fatalf("report %+v", rep)
			}
			var out bytes.Buffer
			ok, err := evidence.PrintReport(e.verify(t, chain), &out)
			if err != nil || ok || !strings.Contains(out.String(), "没有任何证据记录") {
				t.Fatalf("command ok=%v err=%v\n%s", ok, err, out.String())
			}
		})

		t.Run("bad input writes nothing", func(t *testing.T) {
			chain := e.chain()
			now := time.Now()
			zero, neg := 0, -3
			cases := []struct {
				name, field string
				chain, kind string
				actor       *int
				at          time.Time
				payload     any
			}{
				{"empty chain", "chain", "", evidence.KindNote, nil, now, nil},
				{"chain with space", "chain", "attempt 1", evidence.KindNote, nil, now, nil},
				{"long chain", "chain", strings.Repeat("a", 65), evidence.KindNote, nil, now, nil},
				{"lower-case kind", "kind", chain, "note", nil, now, nil},
				{"empty kind", "kind", chain, "", nil, now, nil},
				{"zero actor", "actorId", chain, evidence.KindNote, &zero, now, nil},
				{"negative actor", "actorId", chain, evidence.KindNote, &neg, now, nil},
				{"zero time", "at", chain, evidence.KindNote, nil, time.Time{}, nil},
				{"array payload", "payload", chain, evidence.KindNote, nil, now, []int{1}},
				{"invalid JSON", "payload", chain, evidence.KindNote, nil, now, []byte(`{"a":`)},
				{"duplicate keys", "payload", chain, evidence.KindNote, nil, now, []byte(`{"a":1,"a":2}`)},
				{"too big", "payload", chain, evidence.KindNote, nil, now, map[string]string{"x": strings.Repeat("图", 2000)}},
				{"unmarshallable", "payload", chain, evidence.KindNote, nil, now, map[string]any{"f": func() {}}},
			}
			for _, c := range cases {
				_, err := evidence.Append(ctx, e.client, c.chain, c.kind, c.actor, c.at, c.payload)
				ae, ok := apperr.As(err)
				if !ok || ae.Code != apperr.BadInput || ae.Field != c.field {
					t.Errorf("%s: err %v, want BAD_USER_INPUT on %s", c.name, err, c.field)
				}
			}
			if n := e.client.EvidenceRecord.Query().Where(evidencerecord.ChainIn(chain, "", "attempt 1")).CountX(e.sys); n != 0 {
				t.Fatalf("%d records written by refused appends", n)
			}
		})

		t.Run("50 concurrent appends", func(t *testing.T) {
			chain := e.chain()
			var wg sync.WaitGroup
			errs := make(chan error, 50)
			for i := 0; i < 50; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := evidence.Append(ctx, e.client, chain, evidence.KindFocusLoss, nil, time.Now(), map[string]int{"n": i})
					errs <- err
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			seqs := e.client.EvidenceRecord.Query().Where(evidencerecord.Chain(chain)).
				Order(evidencerecord.BySeq()).Select(evidencerecord.FieldSeq).IntsX(e.sys)
			for i, s := range seqs {
				if s != i+1 {
					t.Fatalf("seqs %v", seqs)
				}
			}
			if rep := e.verify(t, chain); len(seqs) != 50 || !rep.OK || rep.Records != 50 {
				t.Fatalf("%d records, report %+v", len(seqs), rep)
			}
		})

		t.Run("concurrent appends inside callers' transactions", func(t *testing.T) {
			// A conflict must not abort the caller's transaction (PostgreSQL):
			// every transaction commits both its own write and its record.
			chain := e.chain()
			var wg sync.WaitGroup
			errs := make(chan error, 20)
			for i := 0; i < 20; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs <- txn.WithTx(ctx, e.client, func(ctx context.Context) error {
						if _, err := evidence.Append(ctx, e.client, chain, evidence.KindWarning, nil, time.Now(), map[string]int{"i": i}); err != nil {
							return err
						}
						// A later statement in the same transaction still works.
						_, err := ent.FromContext(ctx).EvidenceRecord.Query().Where(evidencerecord.Chain(chain)).Count(viewer.SystemContext(ctx))
						return err
					})
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			if rep := e.verify(t, chain); !rep.OK || rep.Records != 20 {
				t.Fatalf("report %+v", rep)
			}
		})

		t.Run("a rolled-back transaction leaves no record", func(t *testing.T) {
			chain := e.chain()
			e.build(t, chain, 1)
			boom := errors.New("boom")
			err := txn.WithTx(ctx, e.client, func(ctx context.Context) error {
				if _, err := evidence.Append(ctx, e.client, chain, evidence.KindEnd, nil, time.Now(), nil); err != nil {
					return err
				}
				return boom
			})
			if !errors.Is(err, boom) || e.count(t, chain) != 1 {
				t.Fatalf("err %v, %d records", err, e.count(t, chain))
			}
			r, err := evidence.Append(ctx, e.client, chain, evidence.KindSubmit, nil, time.Now(), nil)
			if err != nil || r.Seq != 2 || !e.verify(t, chain).OK {
				t.Fatalf("append after rollback: %v %+v", err, r)
			}
		})

		t.Run("batch append: several chains, several records each", func(t *testing.T) {
			old, fresh := e.chain(), e.chain()
			e.build(t, old, 3)
			at := time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC)
			entries := []evidence.Entry{
				{Chain: old, Kind: evidence.KindSnapshotPC, At: at, Payload: map[string]any{"key": "a"}},
				{Chain: fresh, Kind: evidence.KindSnapshotPhone, At: at, Payload: map[string]any{"key": "b"}},
				{Chain: old, Kind: evidence.KindSnapshotPhone, At: at.Add(time.Second), Payload: map[string]any{"key": "c"}},
				{Chain: fresh, Kind: evidence.KindSnapshotPC, At: at.Add(time.Second), Payload: map[string]any{"key": "d"}},
			}
			var recs []*ent.EvidenceRecord
			err := txn.WithTx(ctx, e.client, func(ctx context.Context) error {
				var err error
				recs, err = evidence.AppendBatch(ctx, e.client, nil, entries)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			want := []struct {
				chain string
				seq   int
			}{{old, 4}, {fresh, 1}, {old, 5}, {fresh, 2}}
			for i, r := range recs {
				if r.Chain != want[i].chain || r.Seq != want[i].seq {
					t.Fatalf("record %d: %s #%d, want %s #%d", i, r.Chain, r.Seq, want[i].chain, want[i].seq)
				}
			}
			for _, ch := range []string{old, fresh} {
				if rep := e.verify(t, ch); !rep.OK {
					t.Fatalf("%s: %+v", ch, rep)
				}
			}
			if recs[1].PrevHash != evidence.GenesisHash(fresh) || recs[2].PrevHash != recs[0].Hash {
				t.Fatal("batch records not linked to their chains")
			}
		})

		t.Run("batch append: each chain's own end, whatever the lengths and names", func(t *testing.T) {
			// Chain ends are found one chain at a time (the newest seq of
			// each); a long chain, a short one and one whose name extends
			// another's must not borrow each other's end.
			long := e.chain()
			short, longer := long+"1", long+"0"
			e.build(t, long, 30)
			e.build(t, short, 1)
			e.build(t, longer, 7)
			var entries []evidence.Entry
			for _, ch := range []string{short, long, longer, long} {
				entries = append(entries, evidence.Entry{Chain: ch, Kind: evidence.KindSnapshotPC, At: time.Now(), Payload: map[string]any{"key": ch}})
			}
			var recs []*ent.EvidenceRecord
			if err := txn.WithTx(ctx, e.client, func(ctx context.Context) error {
				var err error
				recs, err = evidence.AppendBatch(ctx, e.client, nil, entries)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			for i, want := range []int{2, 31, 8, 32} {
				if recs[i].Seq != want {
					t.Fatalf("record %d on %s: seq %d, want %d", i, recs[i].Chain, recs[i].Seq, want)
				}
			}
			for _, ch := range []string{long, short, longer} {
				if rep := e.verify(t, ch); !rep.OK {
					t.Fatalf("%s: %+v", ch, rep)
				}
			}
		})

		t.Run("batch append: outside a transaction, or with a bad entry, writes nothing", func(t *testing.T) {
			chain := e.chain()
			ok := evidence.Entry{Chain: chain, Kind: evidence.KindSnapshotPC, At: time.Now(), Payload: map[string]any{"key": "a"}}
			if _, err := evidence.AppendBatch(ctx, e.client, nil, []evidence.Entry{ok}); err == nil {
				t.Fatal("AppendBatch without a transaction succeeded")
			}
			bad := ok
			bad.Kind = "lower case"
			err := txn.WithTx(ctx, e.client, func(ctx context.Context) error {
				_, err := evidence.AppendBatch(ctx, e.client, nil, []evidence.Entry{ok, bad})
				return err
			})
			testenv.WantCode(t, err, apperr.BadInput)
			if n := e.count(t, chain); n != 0 {
				t.Fatalf("%d records written", n)
			}
		})

		t.Run("batch appends racing single appends on the same chains", func(t *testing.T) {
			e.race(t, func(entries []evidence.Entry) error {
				return txn.WithTx(ctx, e.client, func(ctx context.Context) error {
					_, err := evidence.AppendBatch(ctx, e.client, nil, entries)
					return err
				})
			})
		})

		t.Run("tampered payload", func(t *testing.T) {
			chain := e.chain()
			recs := e.build(t, chain, 5)
			e.exec(t, "UPDATE evidence_records SET payload = ? WHERE id = ?", []byte(`{"blobKey":"other.jpg","sha256":"00","size":1}`), recs[2].ID)
			wantBroken(t, e.verify(t, chain), 3, evidence.ReasonHashMismatch)
			var out bytes.Buffer
			ok, err := evidence.PrintReport(e.verify(t, chain), &out)
			if err != nil || ok || !strings.Contains(out.String(), "第 3 条") || !strings.Contains(out.String(), "HASH_MISMATCH") {
				t.Fatalf("command ok=%v err=%v\n%s", ok, err, out.String())
			}
		})

		t.Run("tampered payload with its hash recomputed", func(t *testing.T) {
			chain := e.chain()
			recs := e.build(t, chain, 5)
			r := recs[2]
			body := []byte(`{"blobKey":"other.jpg"}`)
			h := evidence.ComputeHash(r.Chain, r.Seq, r.Kind, r.ActorID, r.At, body, r.PrevHash)
			e.exec(t, "UPDATE evidence_records SET payload = ?, hash = ? WHERE id = ?", body, h, r.ID)
			wantBroken(t, e.verify(t, chain), 4, evidence.ReasonPrevMismatch)
		})

		t.Run("altered hash", func(t *testing.T) {
			chain := e.chain()
			recs := e.build(t, chain, 5)
			e.exec(t, "UPDATE evidence_records SET hash = ? WHERE id = ?", strings.Repeat("0", 64), recs[1].ID)
			wantBroken(t, e.verify(t, chain), 2, evidence.ReasonHashMismatch)
		})

		t.Run("altered time or actor", func(t *testing.T) {
			chain := e.chain()
			recs := e.build(t, chain, 5)
			e.exec(t, "UPDATE evidence_records SET actor_id = NULL WHERE id = ?", recs[3].ID)
			wantBroken(t, e.verify(t, chain), 4, evidence.ReasonHashMismatch)
			chain = e.chain()
			recs = e.build(t, chain, 5)
			e.exec(t, "UPDATE evidence_records SET at = ? WHERE id = ?", recs[0].At.Add(-time.Minute), recs[0].ID)
			wantBroken(t, e.verify(t, chain), 1, evidence.ReasonHashMismatch)
		})

		t.Run("deleted middle record", func(t *testing.T) {
			chain := e.chain()
			recs := e.build(t, chain, 5)
			e.exec(t, "DELETE FROM evidence_records WHERE id = ?", recs[2].ID)
			rep := e.verify(t, chain)
			wantBroken(t, rep, 3, evidence.ReasonGap)
			if rep.Records != 4 {
				t.Fatalf("records %d", rep.Records)
			}
		})

		t.Run("deleted first record", func(t *testing.T) {
			chain := e.chain()
			recs := e.build(t, chain, 3)
			e.exec(t, "DELETE FROM evidence_records WHERE id = ?", recs[0].ID)
			wantBroken(t, e.verify(t, chain), 1, evidence.ReasonGap)
		})

		t.Run("swapped records", func(t *testing.T) {
			chain := e.chain()
			recs := e.build(t, chain, 5)
			// Three steps around the unique (chain, seq) index.
			e.exec(t, "UPDATE evidence_records SET seq = -1 WHERE id = ?", recs[1].ID)
			e.exec(t, "UPDATE evidence_records SET seq = 2 WHERE id = ?", recs[3].ID)
			e.exec(t, "UPDATE evidence_records SET seq = 4 WHERE id = ?", recs[1].ID)
			wantBroken(t, e.verify(t, chain), 2, evidence.ReasonHashMismatch)
		})

		t.Run("non-canonical payload with recomputed hash", func(t *testing.T) {
			chain := e.chain()
			recs := e.build(t, chain, 3)
			r := recs[2] // the last: no later link to break
			body := []byte(`{"size": 1003, "blobKey": "snap/3.jpg"}`)
			h := evidence.ComputeHash(r.Chain, r.Seq, r.Kind, r.ActorID, r.At, body, r.PrevHash)
			e.exec(t, "UPDATE evidence_records SET payload = ?, hash = ? WHERE id = ?", body, h, r.ID)
			wantBroken(t, e.verify(t, chain), 3, evidence.ReasonPayloadNotCanonical)
		})

		t.Run("privacy: immutable even for system code", func(t *testing.T) {
			chain := e.chain()
			recs := e.build(t, chain, 2)
			id := recs[0].ID
			for name, err := range map[string]error{
				"update one": e.client.EvidenceRecord.UpdateOneID(id).Exec(e.sys),
				"update":     e.client.EvidenceRecord.Update().Where(evidencerecord.Chain(chain)).Exec(e.sys),
				"delete one": e.client.EvidenceRecord.DeleteOneID(id).Exec(e.sys),
				"delete": func() error {
					_, err := e.client.EvidenceRecord.Delete().Where(evidencerecord.Chain(chain)).Exec(e.sys)
					return err
				}(),
			} {
				if !errors.Is(err, privacy.Deny) {
					t.Errorf("%s: err %v, want privacy deny", name, err)
				}
			}
			if rep := e.verify(t, chain); !rep.OK || rep.Records != 2 {
				t.Fatalf("report %+v", rep)
			}
		})

		t.Run("privacy: who reads and who appends", func(t *testing.T) {
			chain := e.chain()
			e.build(t, chain, 1)
			as := func(role viewer.Role) context.Context {
				return viewer.NewContext(ctx, &viewer.Viewer{UserID: 1, Role: role})
			}
			for _, role := range []viewer.Role{viewer.Admin, viewer.Reviewer} {
				if n, err := e.client.EvidenceRecord.Query().Where(evidencerecord.Chain(chain)).Count(as(role)); err != nil || n != 1 {
					t.Errorf("%s reads: n=%d err=%v", role, n, err)
				}
			}
			for _, c := range []context.Context{ctx, as(viewer.Candidate), as(viewer.Company), as(viewer.ExamSite), as(viewer.Proctor), as(viewer.TrainingOrg)} {
				if _, err := e.client.EvidenceRecord.Query().Where(evidencerecord.Chain(chain)).Count(c); !errors.Is(err, privacy.Deny) {
					t.Errorf("read by %v: err %v, want deny", viewer.FromContext(c), err)
				}
				if _, err := evidence.Verify(c, e.client, chain); !errors.Is(err, privacy.Deny) {
					t.Errorf("verify by %v: err %v, want deny", viewer.FromContext(c), err)
				}
			}
			// Appends through ent by a person, even an admin, are refused.
			err := e.client.EvidenceRecord.Create().SetChain(chain).SetSeq(2).SetKind("NOTE").SetAt(time.Now()).
				SetPayload([]byte("{}")).SetPrevHash("x").SetHash("y").Exec(as(viewer.Admin))
			if !errors.Is(err, privacy.Deny) || e.count(t, chain) != 1 {
				t.Fatalf("admin create: %v", err)
			}
		})

	})
}

// race runs 20 single appends (focus losses, proctors' notes) and 20
// batches of one snapshot per chain on three chains at once; each batch
// is tried again on ErrRace, as the proctor service does. Every record
// must land, and every chain must verify.
func (e *env) race(t *testing.T, batch func(entries []evidence.Entry) error) {
	t.Helper()
	chains := []string{e.chain(), e.chain(), e.chain()}
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 20 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, err := evidence.Append(e.sys, e.client, chains[i%3], evidence.KindNote, nil, time.Now(), map[string]int{"i": i})
			errs <- err
		}()
		go func() {
			defer wg.Done()
			var entries []evidence.Entry
			for _, ch := range chains {
				entries = append(entries, evidence.Entry{Chain: ch, Kind: evidence.KindSnapshotPC, At: time.Now(), Payload: map[string]int{"i": i}})
			}
			for try := 0; ; try++ {
				err := batch(entries)
				if !errors.Is(err, evidence.ErrRace) || try == 200 {
					errs <- err
					return
				}
				_ = evidence.Backoff(e.sys, try)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	total := 0
	for _, ch := range chains {
		rep := e.verify(t, ch)
		if !rep.OK {
			t.Fatalf("%s: %+v", ch, rep)
		}
		total += rep.Records
	}
	if total != 20+20*3 {
		t.Fatalf("%d records, want %d", total, 20+20*3)
	}
}
