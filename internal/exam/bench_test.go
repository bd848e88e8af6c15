package exam_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/attempt"
	"github.com/kaowu/kaowu/internal/db"
	"github.com/kaowu/kaowu/internal/exam"
	"github.com/kaowu/kaowu/internal/exam/bank"
	"github.com/kaowu/kaowu/internal/testenv"
)

// Both benchmarks run the same load on PostgreSQL: benchClients goroutines
// saving answers of benchAttempts attempts with ever-increasing seqs, so
// every save writes. Compare saves/s and p99 of the two:
//
//	KAOWU_REQUIRE_SERVICES=1 go test ./internal/exam -run '^$' -bench 'SaveAnswer|RawUpsert' -benchtime 5s
const (
	benchAttempts    = 40
	benchParallelism = 32 // × GOMAXPROCS goroutines
)

type benchTarget struct {
	c *candidate
	a *ent.Attempt
	p bank.Paper
}

func benchWorld(b *testing.B, audited bool) (*world, []benchTarget) {
	d, err := db.Open(testenv.Postgres(b), db.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = d.Close() })
	if err := d.Migrate(context.Background()); err != nil {
		b.Fatal(err)
	}
	w := newWorldAudit(b, d, audited)
	w.svc.Window = 0 // the default window
	ts := make([]benchTarget, benchAttempts)
	for i := range ts {
		c, e := w.ready(fmt.Sprintf("考生%d", i))
		a := w.start(c, e, attempt.KindMOCK)
		ts[i] = benchTarget{c, a, w.paper(a)}
	}
	return w, ts
}

// run drives op in parallel and reports saves/s and p99 latency.
func run(b *testing.B, op func(t benchTarget, it bank.Item, seq int64) error, ts []benchTarget) {
	var seq, next atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	b.SetParallelism(benchParallelism)
	b.ResetTimer()
	began := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			n := next.Add(1)
			t := ts[int(n)%len(ts)]
			it := t.p.Items[int(n/int64(len(ts)))%len(t.p.Items)]
			t0 := time.Now()
			if err := op(t, it, seq.Add(1)); err != nil {
				b.Error(err)
				return
			}
			mine = append(mine, time.Since(t0))
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	elapsed := time.Since(began)
	b.StopTimer()
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	p99 := lat[(len(lat)*99)/100]
	if len(lat)*99/100 >= len(lat) {
		p99 = lat[len(lat)-1]
	}
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "saves/s")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
}

// BenchmarkSaveAnswer: "audited" with the audit hook installed as in the
// server (one audit row per answer row), "plain" without it.
func BenchmarkSaveAnswer(b *testing.B) {
	b.Run("audited", func(b *testing.B) { benchSave(b, true) })
	b.Run("plain", func(b *testing.B) { benchSave(b, false) })
}

func benchSave(b *testing.B, audited bool) {
	w, ts := benchWorld(b, audited)
	yes := true
	run(b, func(t benchTarget, it bank.Item, seq int64) error {
		r := bank.Response{True: &yes}
		if it.Options != nil {
			r = bank.Response{Options: []int{int(seq % 4)}}
		}
		return w.svc.SaveAnswer(t.c.ctx, exam.SaveInput{AttemptID: t.a.ID, QuestionID: it.QuestionID, Response: r, Seq: seq})
	}, ts)
	saves, batches := w.svc.Saver().Stats()
	if batches > 0 {
		b.ReportMetric(float64(saves)/float64(batches), "saves/tx")
	}
}

// BenchmarkRawUpsert is the engine figure: the same single-row upsert, one
// transaction each, straight on database/sql.
func BenchmarkRawUpsert(b *testing.B) {
	w, ts := benchWorld(b, false)
	run(b, func(t benchTarget, it bank.Item, seq int64) error {
		body, _ := json.Marshal(map[string]any{"options": []int{int(seq % 4)}})
		return exam.RawUpsert(context.Background(), w.d.SQL, w.d.Dialect, t.a.ID, it.QuestionID, body, seq, time.Now())
	}, ts)
}
