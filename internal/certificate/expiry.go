package certificate

import (
	"context"
	"fmt"
	"time"

	"github.com/kaowu/kaowu/ent"
	entcert "github.com/kaowu/kaowu/ent/certificate"
	"github.com/kaowu/kaowu/ent/job"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/certificate/sign"
	"github.com/kaowu/kaowu/internal/jobs"
	"github.com/kaowu/kaowu/internal/txn"
	"github.com/kaowu/kaowu/internal/viewer"
)

// JobExpiry is the job kind of the daily expiry sweep; JobExpiryKey its one key.
const (
	JobExpiry    = "certificate.expiry"
	JobExpiryKey = "daily"
)

// expiryHour is when (China time) the daily sweep runs: a quiet hour.
const expiryHour = 2

// expiryPage is how many certificates one query of the sweep reads.
const expiryPage = 200

// ExpiryReport says what a sweep did.
type ExpiryReport struct {
	Expired  int // marked EXPIRED now
	Reminded int // reminders sent now
}

// NextExpiryRun is the sweep's next run after now: 02:00 China time.
func NextExpiryRun(now time.Time) time.Time {
	n := now.In(ChinaTZ)
	t := time.Date(n.Year(), n.Month(), n.Day(), expiryHour, 0, 0, 0, ChinaTZ)
	if !t.After(now) {
		t = t.AddDate(0, 0, 1)
	}
	return t
}

// EnsureScheduled arms the daily sweep unless it is already pending or
// running; the app calls it at start (replicas racing here schedule the
// same (kind, key) row, so there is still one job).
func (s *Service) EnsureScheduled(ctx context.Context) error {
	j, err := jobs.Find(ctx, s.Client, JobExpiry, JobExpiryKey)
	if err != nil && !apperr.Is(err, apperr.NotFound) {
		return err
	}
	if j != nil && (j.Status == job.StatusPENDING || j.Status == job.StatusRUNNING) {
		return nil
	}
	runAt := s.now()
	if j != nil && !runAt.After(j.RunAt) {
		// Schedule re-arms a finished job only for a later run_at.
		runAt = j.RunAt.Add(time.Second)
	}
	return jobs.Schedule(ctx, s.Client, JobExpiry, JobExpiryKey, runAt, nil)
}

// ExpiryHandler runs the sweep, then schedules the next one. A failed
// sweep is retried by the runner; the sweep is idempotent.
func (s *Service) ExpiryHandler() jobs.Handler {
	return func(ctx context.Context, _ *ent.Job) error {
		rep, err := s.RunExpiry(ctx)
		if err != nil {
			return err
		}
		if rep.Expired+rep.Reminded > 0 {
			s.log().InfoContext(ctx, "certificate expiry sweep", "expired", rep.Expired, "reminded", rep.Reminded)
		}
		return jobs.Schedule(viewer.SystemContext(ctx), s.Client, JobExpiry, JobExpiryKey, NextExpiryRun(s.now()), nil)
	}
}

// RunExpiry marks VALID certificates whose validity has ended as EXPIRED
// (telling their holders), and reminds holders whose certificate entered
// its renewal window, once per validity period: the reminder is claimed by
// a conditional UPDATE of reminder_day, so reruns and concurrent sweeps
// never send it twice, while a renewed certificate gets one again.
func (s *Service) RunExpiry(ctx context.Context) (ExpiryReport, error) {
	var rep ExpiryReport
	sys := viewer.SystemContext(ctx)
	now := s.now()
	// Expiry.
	for after := 0; ; {
		page, err := s.Client.Certificate.Query().
			Where(entcert.StatusEQ(entcert.StatusVALID), entcert.ValidUntilLTE(now.UTC()), entcert.IDGT(after)).
			Order(entcert.ByID()).Limit(expiryPage).All(sys)
		if err != nil {
			return rep, err
		}
		for _, c := range page {
			after = c.ID
			ok, err := s.expire(sys, c, now)
			if err != nil {
				return rep, err
			}
			if ok {
				rep.Expired++
			}
		}
		if len(page) < expiryPage {
			break
		}
	}
	// Reminders: the window opens RenewalWindowMonths before valid_until
	// (a day's slack in the query; the exact rule is checked per row).
	horizon := addMonths(now, RenewalWindowMonths).AddDate(0, 0, 1)
	for after := 0; ; {
		page, err := s.Client.Certificate.Query().
			Where(entcert.StatusEQ(entcert.StatusVALID), entcert.ValidUntilGT(now.UTC()),
				entcert.ValidUntilLTE(horizon.UTC()), entcert.IDGT(after)).
			Order(entcert.ByID()).Limit(expiryPage).All(sys)
		if err != nil {
			return rep, err
		}
		for _, c := range page {
			after = c.ID
			day := sign.Day(c.ValidUntil)
			if now.Before(RenewalOpensAt(c.ValidUntil)) || (c.ReminderDay != nil && *c.ReminderDay == day) {
				continue
			}
			ok, err := s.remind(sys, c, day)
			if err != nil {
				return rep, err
			}
			if ok {
				rep.Reminded++
			}
		}
		if len(page) < expiryPage {
			break
		}
	}
	return rep, nil
}

// expire marks one certificate EXPIRED and tells its holder, in one
// transaction; false when another sweep (or a renewal) got there first.
func (s *Service) expire(ctx context.Context, c *ent.Certificate, now time.Time) (bool, error) {
	done := false
	err := txn.WithTx(ctx, s.Client, func(ctx context.Context) error {
		db := s.db(ctx)
		n, err := db.Certificate.Update().
			Where(entcert.ID(c.ID), entcert.StatusEQ(entcert.StatusVALID), entcert.Revision(c.Revision), entcert.ValidUntilLTE(now.UTC())).
			SetStatus(entcert.StatusEXPIRED).SetExpiredAt(now.UTC()).Save(ctx)
		if err != nil || n == 0 {
			return err
		}
		done = true
		return s.Notifier.Notify(ctx, c.HolderID, KindExpired, "证书已过期",
			fmt.Sprintf("您的证书 %s（%s）有效期至 %s，现已过期失效。", c.Number, c.SubjectName, date(lastDay(c.ValidUntil))))
	})
	return done, err
}

// remind claims the reminder of the validity period ending on day and
// sends it; false when it was already sent.
func (s *Service) remind(ctx context.Context, c *ent.Certificate, day int) (bool, error) {
	done := false
	err := txn.WithTx(ctx, s.Client, func(ctx context.Context) error {
		db := s.db(ctx)
		n, err := db.Certificate.Update().
			Where(entcert.ID(c.ID), entcert.StatusEQ(entcert.StatusVALID), entcert.Revision(c.Revision),
				entcert.Or(entcert.ReminderDayIsNil(), entcert.ReminderDayNEQ(day))).
			SetReminderDay(day).Save(ctx)
		if err != nil || n == 0 {
			return err
		}
		done = true
		return s.Notifier.Notify(ctx, c.HolderID, KindExpiring, "证书即将到期",
			fmt.Sprintf("您的证书 %s（%s）将于 %s 到期。现在可以在“我的证书”中申请延续，逾期证书失效。",
				c.Number, c.SubjectName, date(lastDay(c.ValidUntil))))
	})
	return done, err
}
