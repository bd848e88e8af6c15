package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"os"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/job"
	"github.com/kaowu/kaowu/ent/predicate"
	"github.com/kaowu/kaowu/internal/viewer"
)

// Handler runs one job. It must be idempotent: after a runner crash the job
// runs again. A returned error (or a panic) is retried with backoff.
type Handler func(ctx context.Context, job *ent.Job) error

// Runner claims and runs due jobs of the kinds it has handlers for. Zero
// fields take the defaults below. Run one per process; several runners (in
// one process or many) share the work safely.
type Runner struct {
	Client   *ent.Client
	ID       string             // identifies this runner in locked_by; default NewRunnerID()
	Handlers map[string]Handler // by kind; other kinds are left to other runners
	Poll     time.Duration      // pause between passes that found no more work; default 1s
	// Lease is how long a claim holds a job. While a handler runs, the
	// runner renews the lease every Lease/3; a runner that stops renewing
	// (crashed) loses its jobs to others once the lease has passed.
	// Default 1 minute.
	Lease       time.Duration
	MaxAttempts int                             // runs before FAILED; default 5
	Backoff     func(attempt int) time.Duration // delay after the attempt-th failure; default 30s·2^(attempt-1), at most 1h
	Batch       int                             // jobs considered per pass; default 100
	Now         func() time.Time                // the clock (injected in tests); default time.Now
	Log         *slog.Logger                    // default slog.Default()

	once sync.Once
	mu   sync.Mutex // one pass at a time: a runner never runs two jobs at once
}

// NewRunnerID returns a runner id unique to this process: host, pid and
// random bytes (a restarted process is a new runner).
func NewRunnerID() string {
	host, _ := os.Hostname()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	id := fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
	if utf8.RuneCountInString(id) > 100 {
		id = string([]rune(id)[:100])
	}
	return id
}

// DefaultBackoff doubles from 30 seconds up to an hour.
func DefaultBackoff(attempt int) time.Duration {
	d := 30 * time.Second
	for i := 1; i < attempt && d < time.Hour; i++ {
		d *= 2
	}
	return min(d, time.Hour)
}

func (r *Runner) init() {
	r.once.Do(func() {
		if r.ID == "" {
			r.ID = NewRunnerID()
		}
		if r.Poll <= 0 {
			r.Poll = time.Second
		}
		if r.Lease <= 0 {
			r.Lease = time.Minute
		}
		if r.MaxAttempts <= 0 {
			r.MaxAttempts = 5
		}
		if r.Backoff == nil {
			r.Backoff = DefaultBackoff
		}
		if r.Batch <= 0 {
			r.Batch = 100
		}
		if r.Now == nil {
			r.Now = time.Now
		}
		if r.Log == nil {
			r.Log = slog.Default()
		}
		r.Log = r.Log.With("runner", r.ID)
	})
}

// Run runs passes until ctx ends, pausing Poll between passes that left no
// due work. A failed pass (database down) is logged and retried after Poll.
// It returns when ctx ends, after the job in progress has finished and been
// recorded; it starts no goroutine that outlives it.
func (r *Runner) Run(ctx context.Context) error {
	if r.Client == nil {
		return fmt.Errorf("jobs: runner has no client")
	}
	r.init()
	for {
		_, more, err := r.pass(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			r.Log.Error("jobs: pass failed", "err", err)
			more = false
		}
		if more {
			continue
		}
		t := time.NewTimer(r.Poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// RunDue runs one pass: it claims and runs, one after another, the due jobs
// it finds (at most Batch), and returns how many it ran. For tests and for
// command-line use.
func (r *Runner) RunDue(ctx context.Context) (int, error) {
	if r.Client == nil {
		return 0, fmt.Errorf("jobs: runner has no client")
	}
	r.init()
	n, _, err := r.pass(ctx)
	return n, err
}

// due: pending and due, or running under a lease that has passed.
func due(now time.Time) predicate.Job {
	return job.Or(
		job.And(job.StatusEQ(job.StatusPENDING), job.RunAtLTE(now)),
		job.And(job.StatusEQ(job.StatusRUNNING), job.LockedUntilLT(now)),
	)
}

// pass reports the jobs run and whether a full batch was found (more may wait).
func (r *Runner) pass(ctx context.Context) (int, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	kinds := make([]string, 0, len(r.Handlers))
	for k := range r.Handlers {
		kinds = append(kinds, k)
	}
	if len(kinds) == 0 {
		return 0, false, nil
	}
	sctx := viewer.SystemContext(ctx)
	cands, err := r.Client.Job.Query().
		Where(job.KindIn(kinds...), due(r.Now())).
		Order(job.ByRunAt(), job.ByID()).Limit(r.Batch).
		All(sctx)
	if err != nil {
		return 0, false, err
	}
	// Runners polling together see the same candidates; a different order
	// each makes them claim different jobs instead of queueing on one row.
	mrand.Shuffle(len(cands), func(i, j int) { cands[i], cands[j] = cands[j], cands[i] })
	ran := 0
	for _, j := range cands {
		if ctx.Err() != nil {
			return ran, false, ctx.Err()
		}
		ok, err := r.claim(sctx, j)
		if err != nil {
			return ran, false, err
		}
		if !ok {
			continue // another runner was first, or it was rescheduled or cancelled
		}
		r.execute(ctx, j)
		ran++
	}
	return ran, len(cands) == r.Batch, nil
}

// claim takes j with one conditional UPDATE: it succeeds only if j is still
// due and still at the generation read, so exactly one runner wins and the
// payload it runs is the one that was claimed.
func (r *Runner) claim(ctx context.Context, j *ent.Job) (bool, error) {
	now := r.Now()
	until := now.Add(r.Lease)
	n, err := r.Client.Job.Update().
		Where(job.ID(j.ID), job.Generation(j.Generation), due(now)).
		SetStatus(job.StatusRUNNING).SetLockedBy(r.ID).SetLockedUntil(until).
		AddAttempts(1).
		Save(ctx)
	if err != nil || n == 0 {
		return false, err
	}
	j.Status, j.LockedBy, j.LockedUntil = job.StatusRUNNING, &r.ID, &until
	j.Attempts++
	return true, nil
}

// execute runs the claimed job and records the outcome.
func (r *Runner) execute(ctx context.Context, j *ent.Job) {
	log := r.Log.With("job", j.ID, "kind", j.Kind, "key", j.Key, "attempt", j.Attempts)
	// Outcomes are recorded even when ctx ended during the handler.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(viewer.SystemContext(ctx)), 15*time.Second)
	defer cancel()
	if j.Attempts > r.MaxAttempts {
		// Only runs whose runner died get here: every claim counts, so a
		// job that kills its runner cannot be retried for ever.
		r.fail(rctx, log, j, fmt.Errorf("jobs: gave up after %d runs whose runner stopped before finishing", j.Attempts-1))
		return
	}
	hctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); r.renew(hctx, log, j.ID) }()
	err := r.call(hctx, j)
	stop()
	wg.Wait()
	switch {
	case err == nil:
		r.succeed(rctx, log, j)
	case ctx.Err() != nil:
		// Shutting down: hand the job back uncounted for another runner.
		n, uerr := r.mine(j).SetStatus(job.StatusPENDING).ClearLockedBy().ClearLockedUntil().
			AddAttempts(-1).Save(rctx)
		if uerr != nil || n == 0 {
			log.Warn("jobs: could not release job on shutdown; it is taken over after its lease", "err", uerr)
		}
	default:
		r.fail(rctx, log, j, err)
	}
}

// call runs the handler, turning a panic into an error.
func (r *Runner) call(ctx context.Context, j *ent.Job) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("jobs: handler panicked: %v", p)
		}
	}()
	return r.Handlers[j.Kind](ctx, j)
}

// renew extends the lease while the handler runs.
func (r *Runner) renew(ctx context.Context, log *slog.Logger, id int) {
	t := time.NewTicker(max(r.Lease/3, time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n, err := r.Client.Job.Update().
				Where(job.ID(id), job.StatusEQ(job.StatusRUNNING), job.LockedBy(r.ID)).
				SetLockedUntil(r.Now().Add(r.Lease)).Save(viewer.SystemContext(ctx))
			if err != nil && ctx.Err() == nil {
				log.Warn("jobs: lease renewal failed", "err", err)
			} else if err == nil && n == 0 {
				log.Warn("jobs: job was cancelled or taken over while running")
				return
			}
		}
	}
}

// mine updates j only while this runner still holds it.
func (r *Runner) mine(j *ent.Job) *ent.JobUpdate {
	return r.Client.Job.Update().Where(job.ID(j.ID), job.StatusEQ(job.StatusRUNNING), job.LockedBy(r.ID))
}

func (r *Runner) succeed(ctx context.Context, log *slog.Logger, j *ent.Job) {
	n, err := r.mine(j).Where(job.Generation(j.Generation)).
		SetStatus(job.StatusDONE).SetDoneAt(r.Now()).ClearLastError().
		ClearLockedBy().ClearLockedUntil().Save(ctx)
	if err == nil && n == 0 {
		// Rescheduled while running: the new run_at stands, as a fresh job.
		n, err = r.mine(j).SetStatus(job.StatusPENDING).SetAttempts(0).
			ClearLockedBy().ClearLockedUntil().Save(ctx)
	}
	r.recorded(log, n, err, "done")
}

func (r *Runner) fail(ctx context.Context, log *slog.Logger, j *ent.Job, cause error) {
	msg := truncate(cause.Error(), 2000)
	u := r.mine(j).Where(job.Generation(j.Generation)).SetLastError(msg).ClearLockedBy().ClearLockedUntil()
	outcome := "failed"
	if j.Attempts >= r.MaxAttempts {
		u.SetStatus(job.StatusFAILED).SetDoneAt(r.Now())
	} else {
		outcome = "retry"
		u.SetStatus(job.StatusPENDING).SetRunAt(r.Now().Add(r.Backoff(j.Attempts)))
	}
	n, err := u.Save(ctx)
	if err == nil && n == 0 {
		// Rescheduled while running: the new run_at stands, as a fresh job.
		outcome = "rescheduled"
		n, err = r.mine(j).SetStatus(job.StatusPENDING).SetAttempts(0).SetLastError(msg).
			ClearLockedBy().ClearLockedUntil().Save(ctx)
	}
	switch {
	case err != nil || n == 0:
		log.Warn("jobs: job failed", "err", cause)
	case outcome == "failed":
		log.Error("jobs: job failed for good", "err", cause)
	default:
		log.Warn("jobs: job failed", "err", cause, "then", outcome)
	}
	r.recorded(log, n, err, outcome)
}

func (r *Runner) recorded(log *slog.Logger, n int, err error, outcome string) {
	switch {
	case err != nil:
		log.Error("jobs: could not record outcome; the job runs again after its lease", "outcome", outcome, "err", err)
	case n == 0:
		// Cancelled, or taken over after our lease passed: the other
		// runner's outcome is the one that counts.
		log.Warn("jobs: job no longer held by this runner; outcome not recorded", "outcome", outcome)
	}
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}
