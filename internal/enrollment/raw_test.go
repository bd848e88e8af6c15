package enrollment_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/kaowu/kaowu/ent/enrollment"
	enr "github.com/kaowu/kaowu/internal/enrollment"
	"github.com/kaowu/kaowu/internal/seats"
	"github.com/kaowu/kaowu/internal/testenv"
	"github.com/kaowu/kaowu/internal/viewer"
)

func TestRawSeatTx(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		s := e.session(e.plan, e.subj, 3, 21)
		people := e.candidates(10)
		var wg sync.WaitGroup
		var ok, full atomic.Int32
		for _, u := range people {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := enr.RawSeatTx(e.ctx, e.d.SQL, e.d.Dialect, enr.RawSeat{
					SessionID: s.ID, SiteID: s.SiteID, CandidateID: u.ID, PlanID: e.plan.ID, SubjectID: e.subj.ID,
					FeeCents: e.subj.FeeCents, At: t0,
				})
				switch {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, seats.ErrFull):
					full.Add(1)
				default:
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if ok.Load() != 3 || full.Load() != 7 || e.taken(s.ID) != 3 {
			t.Fatalf("ok %d full %d taken %d", ok.Load(), full.Load(), e.taken(s.ID))
		}
		// The rows are ordinary enrollments to ent.
		rows := e.client.Enrollment.Query().Where(enrollment.SessionID(s.ID)).AllX(e.sys)
		if len(rows) != 3 || rows[0].Status != enrollment.StatusPENDING_REVIEW || !rows[0].SubmittedAt.Equal(t0) {
			t.Fatalf("rows %+v", rows)
		}
		e.checkSeats()
	})
}

// benchEnv is a PostgreSQL database with one session of n seats and n
// candidates with complete profiles.
func benchEnv(b *testing.B) (*env, int, []int) {
	b.Helper()
	e := newEnv(b, testenv.Postgres(b))
	s := e.session(e.plan, e.subj, b.N, 21)
	var ids []int
	for _, u := range e.candidates(b.N) {
		ids = append(ids, u.ID)
	}
	return e, s.ID, ids
}

// BenchmarkEnroll measures Enroll (validation, profile check, insert with
// audit, seat) from parallel candidates on PostgreSQL. Compare with
// BenchmarkRawSeatTx, the same seat transaction without the service.
func BenchmarkEnroll(b *testing.B) {
	e, sessionID, people := benchEnv(b)
	ctx := context.Background()
	var next atomic.Int64
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			me := viewer.NewContext(ctx, &viewer.Viewer{UserID: people[next.Add(1)-1], Role: viewer.Candidate})
			if _, err := e.svc.Enroll(me, enr.EnrollInput{SessionID: sessionID, PledgeAccepted: true}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "enrollments/s")
	if got := e.taken(sessionID); got != b.N {
		b.Fatalf("taken %d, want %d", got, b.N)
	}
}

// BenchmarkRawSeatTx runs RawSeatTx (BEGIN; conditional UPDATE; INSERT;
// COMMIT through database/sql) with the same parallelism as BenchmarkEnroll.
func BenchmarkRawSeatTx(b *testing.B) {
	e, sessionID, people := benchEnv(b)
	ctx := context.Background()
	var next atomic.Int64
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_, err := enr.RawSeatTx(ctx, e.d.SQL, e.d.Dialect, enr.RawSeat{
				SessionID: sessionID, SiteID: e.site.ID, CandidateID: people[next.Add(1)-1],
				PlanID: e.plan.ID, SubjectID: e.subj.ID, FeeCents: e.subj.FeeCents, At: t0,
			})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "enrollments/s")
	if got := e.taken(sessionID); got != b.N {
		b.Fatalf("taken %d, want %d", got, b.N)
	}
}
