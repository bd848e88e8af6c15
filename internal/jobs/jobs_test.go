package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/job"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/db"
	"github.com/kaowu/kaowu/internal/jobs"
	"github.com/kaowu/kaowu/internal/testenv"
	"github.com/kaowu/kaowu/internal/txn"
	"github.com/kaowu/kaowu/internal/viewer"
)

func TestMain(m *testing.M) {
	// The runner logs every failure; the tests provoke many on purpose.
	slog.SetDefault(slog.New(slog.DiscardHandler))
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener"))
}

// base is the injected clock's start, far from the wall clock so that no
// real time.Now can make a job due by accident.
var base = time.Date(2031, 3, 1, 8, 0, 0, 0, time.UTC)

type clock = testenv.Clock

func newClock() *clock { return testenv.NewClock(base) }

func open(t *testing.T, url string) (*db.DB, *ent.Client) {
	t.Helper()
	d, err := db.Open(url, db.Options{MaxOpenConns: 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if err := d.Migrate(viewer.SystemContext(context.Background())); err != nil {
		t.Fatal(err)
	}
	return d, d.Client()
}

var sys = viewer.SystemContext(context.Background())

func get(t *testing.T, c *ent.Client, kind, key string) *ent.Job {
	t.Helper()
	j, err := c.Job.Query().Where(job.Kind(kind), job.Key(key)).Only(sys)
	if err != nil {
		t.Fatalf("job %s/%s: %v", kind, key, err)
	}
	return j
}

func count(t *testing.T, c *ent.Client, kind string) int {
	t.Helper()
	n, err := c.Job.Query().Where(job.Kind(kind)).Count(sys)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func runDue(t *testing.T, r *jobs.Runner, want int) {
	t.Helper()
	n, err := r.RunDue(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n != want {
		t.Fatalf("RunDue ran %d jobs, want %d", n, want)
	}
}

type payload struct {
	AttemptID int `json:"attempt_id"`
}

func TestJobs(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		_, c := open(t, url)
		ctx := context.Background() // callers need no viewer: scheduling is system work

		t.Run("a due job runs once with its payload; other kinds are left alone", func(t *testing.T) {
			clk := newClock()
			var got []int
			r := &jobs.Runner{Client: c, Now: clk.Now, Handlers: map[string]jobs.Handler{
				"t1.deadline": func(ctx context.Context, j *ent.Job) error {
					var p payload
					if err := jobs.Decode(j, &p); err != nil {
						return err
					}
					got = append(got, p.AttemptID)
					return nil
				},
			}}
			if err := jobs.Schedule(ctx, c, "t1.deadline", "attempt:42", base, payload{42}); err != nil {
				t.Fatal(err)
			}
			if err := jobs.Schedule(ctx, c, "t1.other", "attempt:42", base, nil); err != nil {
				t.Fatal(err)
			}
			runDue(t, r, 1)
			runDue(t, r, 0)
			if len(got) != 1 || got[0] != 42 {
				t.Fatalf("handler saw %v", got)
			}
			j := get(t, c, "t1.deadline", "attempt:42")
			if j.Status != job.StatusDONE || j.Attempts != 1 || j.DoneAt == nil || !j.DoneAt.Equal(base) || j.LockedBy != nil || j.LockedUntil != nil {
				t.Fatalf("after run: %+v", j)
			}
			if o := get(t, c, "t1.other", "attempt:42"); o.Status != job.StatusPENDING || o.Attempts != 0 {
				t.Fatalf("job of a kind without handler was touched: %+v", o)
			}
			f, err := jobs.Find(ctx, c, "t1.deadline", "attempt:42")
			if err != nil || f.ID != j.ID {
				t.Fatalf("Find: %v %v", f, err)
			}
			if _, err := jobs.Find(ctx, c, "t1.deadline", "attempt:43"); !apperr.Is(err, apperr.NotFound) {
				t.Fatalf("Find unknown: %v", err)
			}
		})

		t.Run("a future job does not run early", func(t *testing.T) {
			clk := newClock()
			calls := 0
			r := &jobs.Runner{Client: c, Now: clk.Now, Handlers: map[string]jobs.Handler{
				"t2": func(context.Context, *ent.Job) error { calls++; return nil },
			}}
			if err := jobs.Schedule(ctx, c, "t2", "k", base.Add(time.Hour), nil); err != nil {
				t.Fatal(err)
			}
			runDue(t, r, 0)
			clk.Advance(time.Hour - time.Second)
			runDue(t, r, 0)
			if calls != 0 || get(t, c, "t2", "k").Status != job.StatusPENDING {
				t.Fatal("ran before run_at")
			}
			clk.Advance(time.Second)
			runDue(t, r, 1)
			if calls != 1 {
				t.Fatalf("calls = %d", calls)
			}
		})

		t.Run("scheduling by key is idempotent; finished jobs re-arm only for a later time", func(t *testing.T) {
			clk := newClock()
			var seen []int
			r := &jobs.Runner{Client: c, Now: clk.Now, Handlers: map[string]jobs.Handler{
				"t3": func(_ context.Context, j *ent.Job) error {
					var p payload
					_ = jobs.Decode(j, &p)
					seen = append(seen, p.AttemptID)
					return nil
				},
			}}
			must(t, jobs.Schedule(ctx, c, "t3", "a", base.Add(time.Hour), payload{1}))
			must(t, jobs.Schedule(ctx, c, "t3", "a", base.Add(2*time.Hour), payload{2})) // rescheduled later
			must(t, jobs.Schedule(ctx, c, "t3", "a", base.Add(30*time.Minute), payload{3}))
			if n := count(t, c, "t3"); n != 1 {
				t.Fatalf("%d rows for one key", n)
			}
			j := get(t, c, "t3", "a")
			if !j.RunAt.Equal(base.Add(30*time.Minute)) || j.Status != job.StatusPENDING || j.Generation != 2 {
				t.Fatalf("rescheduled: %+v", j)
			}
			clk.Advance(30 * time.Minute)
			runDue(t, r, 1)
			// Replaying the same Schedule, or an earlier one, leaves it done.
			must(t, jobs.Schedule(ctx, c, "t3", "a", base.Add(30*time.Minute), payload{3}))
			must(t, jobs.Schedule(ctx, c, "t3", "a", base, payload{4}))
			if j := get(t, c, "t3", "a"); j.Status != job.StatusDONE || j.Attempts != 1 {
				t.Fatalf("replayed schedule changed a done job: %+v", j)
			}
			runDue(t, r, 0)
			// A later occurrence re-arms it.
			must(t, jobs.Schedule(ctx, c, "t3", "a", base.Add(3*time.Hour), payload{5}))
			if j := get(t, c, "t3", "a"); j.Status != job.StatusPENDING || j.Attempts != 0 || j.DoneAt != nil {
				t.Fatalf("re-armed: %+v", j)
			}
			runDue(t, r, 0)
			clk.Advance(150 * time.Minute)
			runDue(t, r, 1)
			if fmt.Sprint(seen) != "[3 5]" || count(t, c, "t3") != 1 {
				t.Fatalf("runs saw %v", seen)
			}
		})

		t.Run("a failing job is retried with backoff and FAILED after MaxAttempts", func(t *testing.T) {
			clk := newClock()
			calls := 0
			r := &jobs.Runner{Client: c, Now: clk.Now, MaxAttempts: 3,
				Backoff: func(n int) time.Duration { return time.Duration(n) * 10 * time.Minute },
				Handlers: map[string]jobs.Handler{
					"t4": func(context.Context, *ent.Job) error {
						calls++
						if calls == 1 {
							panic("first run panics")
						}
						return fmt.Errorf("boom %d", calls)
					},
				}}
			must(t, jobs.Schedule(ctx, c, "t4", "k", base, nil))
			runDue(t, r, 1)
			j := get(t, c, "t4", "k")
			if j.Status != job.StatusPENDING || j.Attempts != 1 || !j.RunAt.Equal(base.Add(10*time.Minute)) ||
				!strings.Contains(j.LastError, "first run panics") || j.LockedBy != nil {
				t.Fatalf("after 1st failure: %+v", j)
			}
			clk.Advance(10*time.Minute - time.Second)
			runDue(t, r, 0) // backoff holds
			clk.Advance(time.Second)
			runDue(t, r, 1)
			j = get(t, c, "t4", "k")
			if j.Status != job.StatusPENDING || j.Attempts != 2 || !j.RunAt.Equal(base.Add(30*time.Minute)) || j.LastError != "boom 2" {
				t.Fatalf("after 2nd failure: %+v", j)
			}
			clk.Advance(20 * time.Minute)
			runDue(t, r, 1)
			j = get(t, c, "t4", "k")
			if j.Status != job.StatusFAILED || j.Attempts != 3 || j.LastError != "boom 3" || j.DoneAt == nil {
				t.Fatalf("after last failure: %+v", j)
			}
			clk.Advance(24 * time.Hour)
			runDue(t, r, 0)
			if calls != 3 {
				t.Fatalf("calls = %d", calls)
			}
		})

		t.Run("two runners over 200 due jobs run each exactly once", func(t *testing.T) {
			clk := newClock()
			const n = 200
			var mu sync.Mutex
			runs := map[string]int{}
			var firstTry atomic.Int64
			h := func(_ context.Context, j *ent.Job) error {
				mu.Lock()
				runs[j.Key]++
				mu.Unlock()
				if j.Attempts == 1 {
					firstTry.Add(1)
				}
				return nil
			}
			for i := range n {
				must(t, jobs.Schedule(ctx, c, "t5", fmt.Sprintf("k%03d", i), base.Add(-time.Duration(i)*time.Second), nil))
			}
			// Two pools on the same database: two processes, as far as the
			// database can tell.
			_, c2 := open(t, url)
			rs := []*jobs.Runner{
				{Client: c, ID: "runner-a", Now: clk.Now, Batch: 50, Handlers: map[string]jobs.Handler{"t5": h}},
				{Client: c2, ID: "runner-b", Now: clk.Now, Batch: 50, Handlers: map[string]jobs.Handler{"t5": h}},
			}
			var wg sync.WaitGroup
			total := make([]int, len(rs))
			for i, r := range rs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						got, err := r.RunDue(ctx)
						if err != nil {
							t.Error(err)
							return
						}
						if got == 0 {
							return
						}
						total[i] += got
					}
				}()
			}
			wg.Wait()
			if len(runs) != n || total[0]+total[1] != n || firstTry.Load() != n {
				t.Fatalf("%d distinct jobs ran, runners reported %v, %d on a first claim", len(runs), total, firstTry.Load())
			}
			for k, v := range runs {
				if v != 1 {
					t.Fatalf("job %s ran %d times", k, v)
				}
			}
			done, err := c.Job.Query().Where(job.Kind("t5"), job.StatusEQ(job.StatusDONE), job.Attempts(1)).Count(sys)
			if err != nil || done != n {
				t.Fatalf("%d done with one attempt (%v)", done, err)
			}
			t.Logf("runner-a ran %d, runner-b ran %d", total[0], total[1])
		})

		t.Run("a crashed runner's job is taken over after its lease; its late outcome is ignored", func(t *testing.T) {
			clk := newClock()
			started, release := make(chan struct{}), make(chan struct{})
			a := &jobs.Runner{Client: c, ID: "crashing", Now: clk.Now, Lease: time.Hour, Handlers: map[string]jobs.Handler{
				"t6": func(context.Context, *ent.Job) error {
					close(started)
					<-release // the runner "hangs": it never renews nor finishes in time
					return errors.New("late failure from a runner that lost its lease")
				},
			}}
			var bSaw []int
			b := &jobs.Runner{Client: c, ID: "survivor", Now: clk.Now, Lease: time.Hour, Handlers: map[string]jobs.Handler{
				"t6": func(_ context.Context, j *ent.Job) error { bSaw = append(bSaw, j.Attempts); return nil },
			}}
			must(t, jobs.Schedule(ctx, c, "t6", "k", base, nil))
			aDone := make(chan error, 1)
			go func() { _, err := a.RunDue(ctx); aDone <- err }()
			<-started
			j := get(t, c, "t6", "k")
			if j.Status != job.StatusRUNNING || j.LockedBy == nil || *j.LockedBy != "crashing" || !j.LockedUntil.Equal(base.Add(time.Hour)) {
				t.Fatalf("claimed: %+v", j)
			}
			runDue(t, b, 0) // the lease holds
			clk.Advance(time.Hour)
			runDue(t, b, 0) // until it has passed
			clk.Advance(time.Second)
			runDue(t, b, 1)
			if fmt.Sprint(bSaw) != "[2]" {
				t.Fatalf("survivor saw attempts %v", bSaw)
			}
			close(release)
			if err := <-aDone; err != nil {
				t.Fatal(err)
			}
			j = get(t, c, "t6", "k")
			if j.Status != job.StatusDONE || j.LastError != "" || j.LockedBy != nil || !j.DoneAt.Equal(base.Add(time.Hour+time.Second)) {
				t.Fatalf("the lost runner's outcome overwrote the survivor's: %+v", j)
			}
		})

		t.Run("a job whose runners keep dying fails without running again", func(t *testing.T) {
			clk := newClock()
			calls := 0
			r := &jobs.Runner{Client: c, Now: clk.Now, MaxAttempts: 2, Handlers: map[string]jobs.Handler{
				"t7": func(context.Context, *ent.Job) error { calls++; return nil },
			}}
			must(t, jobs.Schedule(ctx, c, "t7", "k", base, nil))
			// Two claims by runners that died: RUNNING, lease passed.
			c.Job.Update().Where(job.Kind("t7")).SetStatus(job.StatusRUNNING).SetAttempts(2).
				SetLockedBy("dead").SetLockedUntil(base.Add(-time.Second)).ExecX(sys)
			runDue(t, r, 1)
			j := get(t, c, "t7", "k")
			if calls != 0 || j.Status != job.StatusFAILED || !strings.Contains(j.LastError, "gave up") {
				t.Fatalf("calls=%d job=%+v", calls, j)
			}
		})

		t.Run("rescheduling a running job keeps the new run pending", func(t *testing.T) {
			clk := newClock()
			var calls atomic.Int32
			started, release := make(chan struct{}, 1), make(chan struct{})
			r := &jobs.Runner{Client: c, Now: clk.Now, Handlers: map[string]jobs.Handler{
				"t8": func(context.Context, *ent.Job) error {
					if calls.Add(1) == 1 {
						started <- struct{}{}
						<-release
					}
					return nil
				},
			}}
			must(t, jobs.Schedule(ctx, c, "t8", "k", base, nil))
			done := make(chan error, 1)
			go func() { _, err := r.RunDue(ctx); done <- err }()
			<-started
			must(t, jobs.Schedule(ctx, c, "t8", "k", base.Add(time.Hour), payload{9}))
			close(release)
			must(t, <-done)
			j := get(t, c, "t8", "k")
			if j.Status != job.StatusPENDING || !j.RunAt.Equal(base.Add(time.Hour)) || j.Attempts != 0 || j.LockedBy != nil {
				t.Fatalf("after the old run finished: %+v", j)
			}
			clk.Advance(time.Hour)
			runDue(t, r, 1)
			if calls.Load() != 2 || get(t, c, "t8", "k").Status != job.StatusDONE {
				t.Fatal("rescheduled run did not happen")
			}
		})

		t.Run("cancel", func(t *testing.T) {
			clk := newClock()
			calls := 0
			r := &jobs.Runner{Client: c, Now: clk.Now, Handlers: map[string]jobs.Handler{
				"t9": func(context.Context, *ent.Job) error { calls++; return nil },
			}}
			must(t, jobs.Schedule(ctx, c, "t9", "k", base, nil))
			if ok, err := jobs.Cancel(ctx, c, "t9", "k"); !ok || err != nil {
				t.Fatalf("cancel: %v %v", ok, err)
			}
			runDue(t, r, 0)
			if j := get(t, c, "t9", "k"); j.Status != job.StatusCANCELLED || calls != 0 {
				t.Fatalf("cancelled job: %+v calls=%d", j, calls)
			}
			if ok, err := jobs.Cancel(ctx, c, "t9", "k"); ok || err != nil {
				t.Fatalf("second cancel: %v %v", ok, err)
			}
			if ok, err := jobs.Cancel(ctx, c, "t9", "nothing"); ok || err != nil {
				t.Fatalf("cancel unknown: %v %v", ok, err)
			}
			// Scheduling after a cancel is a request to run again.
			must(t, jobs.Schedule(ctx, c, "t9", "k", base, nil))
			runDue(t, r, 1)
			// A done job cannot be cancelled.
			if ok, err := jobs.Cancel(ctx, c, "t9", "k"); ok || err != nil || get(t, c, "t9", "k").Status != job.StatusDONE {
				t.Fatalf("cancel done: %v %v", ok, err)
			}
		})

		t.Run("bad input and rolled-back schedules write nothing", func(t *testing.T) {
			long := strings.Repeat("键", 161)
			cases := []struct {
				field     string
				kind, key string
				at        time.Time
				p         any
			}{
				{"kind", "", "k", base, nil},
				{"kind", strings.Repeat("k", 65), "k", base, nil},
				{"key", "t10", "", base, nil},
				{"key", "t10", long, base, nil},
				{"runAt", "t10", "k", time.Time{}, nil},
				{"payload", "t10", "k", base, strings.Repeat("x", jobs.MaxPayload)},
				{"payload", "t10", "k", base, make(chan int)},
			}
			for _, tc := range cases {
				err := jobs.Schedule(ctx, c, tc.kind, tc.key, tc.at, tc.p)
				e, ok := apperr.As(err)
				if !ok || e.Code != apperr.BadInput || e.Field != tc.field {
					t.Fatalf("%s: %v", tc.field, err)
				}
			}
			if _, err := jobs.Cancel(ctx, c, "", "k"); !apperr.Is(err, apperr.BadInput) {
				t.Fatalf("cancel without kind: %v", err)
			}
			err := txn.WithTx(ctx, c, func(ctx context.Context) error {
				if err := jobs.Schedule(ctx, c, "t10", "k", base, nil); err != nil {
					return err
				}
				return errors.New("the caller's next step failed")
			})
			if err == nil || count(t, c, "t10") != 0 {
				t.Fatal("a job outlived its rolled-back transaction")
			}
			// Privacy: the table is system-only.
			if _, err := c.Job.Query().Count(viewer.NewContext(ctx, &viewer.Viewer{UserID: 1, Role: viewer.Admin})); err == nil {
				t.Fatal("a user read the jobs table")
			}
		})
	})
}

// Run loops until its context ends, hands back the job it was running, and
// leaves no goroutine behind.
func TestRunStopsOnCancel(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		ignore := goleak.IgnoreCurrent()
		d, err := db.Open(url, db.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Migrate(sys); err != nil {
			t.Fatal(err)
		}
		c := d.Client()
		clk := newClock()
		quickDone, started := make(chan struct{}), make(chan struct{})
		r := &jobs.Runner{Client: c, Now: clk.Now, Poll: time.Millisecond, Lease: time.Hour, Handlers: map[string]jobs.Handler{
			"quick": func(context.Context, *ent.Job) error { close(quickDone); return nil },
			"slow": func(ctx context.Context, _ *ent.Job) error {
				close(started)
				<-ctx.Done()
				return ctx.Err()
			},
		}}
		must(t, jobs.Schedule(sys, c, "quick", "k", base, nil))
		ctx, cancel := context.WithCancel(context.Background())
		stopped := make(chan error, 1)
		go func() { stopped <- r.Run(ctx) }()
		// The slow job is scheduled after the quick one ran: a later poll
		// finds it.
		<-quickDone
		must(t, jobs.Schedule(sys, c, "slow", "k", base, nil))
		<-started
		cancel()
		if err := <-stopped; err != nil {
			t.Fatal(err)
		}
		if get(t, c, "quick", "k").Status != job.StatusDONE {
			t.Fatal("quick job not done")
		}
		j := get(t, c, "slow", "k")
		if j.Status != job.StatusPENDING || j.Attempts != 0 || j.LockedBy != nil {
			t.Fatalf("interrupted job not handed back: %+v", j)
		}
		d.Close()
		goleak.VerifyNone(t, ignore, goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener"))
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
