package certificate_test

import (
	"sync"
	"testing"
	"time"

	entcert "github.com/kaowu/kaowu/ent/certificate"
	"github.com/kaowu/kaowu/ent/job"
	"github.com/kaowu/kaowu/internal/certificate"
	"github.com/kaowu/kaowu/internal/jobs"
	"github.com/kaowu/kaowu/internal/testenv"
)

func TestNextExpiryRun(t *testing.T) {
	for _, c := range []struct{ now, want time.Time }{
		{time.Date(2028, 12, 15, 1, 0, 0, 0, cst), time.Date(2028, 12, 15, 2, 0, 0, 0, cst)},
		{time.Date(2028, 12, 15, 2, 0, 0, 0, cst), time.Date(2028, 12, 16, 2, 0, 0, 0, cst)},
		{time.Date(2028, 12, 31, 23, 0, 0, 0, time.UTC), time.Date(2029, 1, 2, 2, 0, 0, 0, cst)},
	} {
		if got := certificate.NextExpiryRun(c.now); !got.Equal(c.want) {
			t.Errorf("NextExpiryRun(%v) = %v, want %v", c.now, got, c.want)
		}
	}
}

func TestRenewalOpensAt(t *testing.T) {
	for _, c := range []struct{ until, want time.Time }{
		{time.Date(2029, 3, 1, 0, 0, 0, 0, cst), time.Date(2028, 12, 1, 0, 0, 0, 0, cst)},
		// 31 May − 3 months clamps to the end of February.
		{time.Date(2029, 5, 31, 0, 0, 0, 0, cst), time.Date(2029, 2, 28, 0, 0, 0, 0, cst)},
	} {
		if got := certificate.RenewalOpensAt(c.until); !got.Equal(c.want) {
			t.Errorf("RenewalOpensAt(%v) = %v, want %v", c.until, got, c.want)
		}
	}
}

func TestExpiryJob(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		li, wang, zhao := e.candidate("李堃喆"), e.candidate("王珺"), e.candidate("赵喆")
		e.clock.Set(time.Date(2025, 12, 1, 9, 0, 0, 0, cst))
		old := e.issued(zhao, e.c1) // until 2028-12-01
		e.clock.Set(t0)
		soon := e.issued(li, e.c1) // until 2029-03-01: window opens 2028-12-01
		e.clock.Set(time.Date(2027, 6, 1, 9, 0, 0, 0, cst))
		later := e.issued(wang, e.c1) // until 2030-06-01

		runner := &jobs.Runner{Client: e.client, Now: e.clock.Now, Log: quiet(),
			Handlers: map[string]jobs.Handler{certificate.JobExpiry: e.svc.ExpiryHandler()}}
		run := func(want int) {
			t.Helper()
			n, err := runner.RunDue(e.ctx)
			mustOK(t, err)
			if n != want {
				t.Fatalf("ran %d jobs, want %d", n, want)
			}
		}
		findJob := func() *jobsRow {
			t.Helper()
			j, err := jobs.Find(e.ctx, e.client, certificate.JobExpiry, certificate.JobExpiryKey)
			mustOK(t, err)
			return &jobsRow{j.Status, j.RunAt}
		}

		e.clock.Set(time.Date(2028, 12, 15, 3, 0, 0, 0, cst))
		mustOK(t, e.svc.EnsureScheduled(e.ctx))
		mustOK(t, e.svc.EnsureScheduled(e.ctx)) // a second replica starting: still one job, still due now
		run(1)

		t.Run("marks expired and reminds in the window", func(t *testing.T) {
			if got := e.cert(old.ID); got.Status != entcert.StatusEXPIRED || got.ExpiredAt == nil {
				t.Fatalf("old: %s", got.Status)
			}
			if n := e.notes(zhao, certificate.KindExpired); len(n) != 1 {
				t.Fatalf("expiry notices %d", len(n))
			}
			if n := e.notes(li, certificate.KindExpiring); len(n) != 1 {
				t.Fatalf("reminders %d", len(n))
			}
			if got := e.cert(soon.ID); got.Status != entcert.StatusVALID {
				t.Fatalf("soon: %s", got.Status)
			}
			if n := e.notes(wang, certificate.KindExpiring); len(n) != 0 || e.cert(later.ID).Status != entcert.StatusVALID {
				t.Fatal("a certificate outside the window was touched")
			}
		})

		t.Run("reschedules itself daily; EnsureScheduled leaves it", func(t *testing.T) {
			want := jobsRow{job.StatusPENDING, time.Date(2028, 12, 16, 2, 0, 0, 0, cst)}
			if got := findJob(); got.status != want.status || !got.runAt.Equal(want.runAt) {
				t.Fatalf("job %v, want %v", got, want)
			}
			mustOK(t, e.svc.EnsureScheduled(e.ctx))
			if got := findJob(); !got.runAt.Equal(want.runAt) {
				t.Fatalf("EnsureScheduled moved the job to %v", got.runAt)
			}
			run(0)
		})

		t.Run("the next runs send nothing twice", func(t *testing.T) {
			e.clock.Set(time.Date(2028, 12, 16, 2, 0, 1, 0, cst))
			run(1)
			e.clock.Advance(24 * time.Hour)
			run(1)
			// Two sweeps at once (two replicas' runners are kept apart by the
			// job row; direct calls are not): still one notice each.
			var wg sync.WaitGroup
			for range 3 {
				wg.Add(1)
				go func() { defer wg.Done(); _, _ = e.service(e.keys).RunExpiry(e.ctx) }()
			}
			wg.Wait()
			if n := len(e.notes(li, certificate.KindExpiring)); n != 1 {
				t.Fatalf("%d reminders", n)
			}
			if n := len(e.notes(zhao, certificate.KindExpired)); n != 1 {
				t.Fatalf("%d expiry notices", n)
			}
		})

		t.Run("a renewed certificate is reminded again in its new window", func(t *testing.T) {
			req, err := e.svc.RequestRenewal(e.as(li), soon.ID)
			mustOK(t, err)
			_, err = e.svc.Review(e.as(e.siteU), req.ID, true, "")
			mustOK(t, err)
			rep, err := e.svc.RunExpiry(e.ctx)
			mustOK(t, err)
			if rep.Reminded != 0 {
				t.Fatalf("reminded %d right after renewal", rep.Reminded)
			}
			e.clock.Set(time.Date(2031, 12, 2, 3, 0, 0, 0, cst)) // window of 2032-03-01
			run(1)
			if n := len(e.notes(li, certificate.KindExpiring)); n != 2 {
				t.Fatalf("%d reminders", n)
			}
			if got := e.cert(later.ID); got.Status != entcert.StatusEXPIRED {
				t.Fatalf("later: %s", got.Status)
			}
		})

		t.Run("a failed job is re-armed at start", func(t *testing.T) {
			// As the runner leaves it after the last retry: FAILED, run_at past.
			e.client.Job.Update().Where(job.Kind(certificate.JobExpiry)).SetStatus(job.StatusFAILED).
				SetRunAt(e.clock.Now().Add(-time.Hour)).ExecX(e.sys)
			mustOK(t, e.svc.EnsureScheduled(e.ctx))
			if got := findJob(); got.status != job.StatusPENDING || !got.runAt.Equal(e.clock.Now()) {
				t.Fatalf("job %v", got)
			}
		})
	})
}

type jobsRow struct {
	status job.Status
	runAt  time.Time
}
