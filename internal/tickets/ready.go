package tickets

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/enrollment"
	"github.com/kaowu/kaowu/ent/examsession"
	"github.com/kaowu/kaowu/internal/notify"
	"github.com/kaowu/kaowu/internal/txn"
	"github.com/kaowu/kaowu/internal/viewer"
)

// KindTicketReady is the notification kind of "your admission ticket can be printed".
const KindTicketReady = "TICKET_READY"

// For internal callers (a daily job, the enrollment service once it assigns
// a ticket number), never for resolvers: these run as system work.
//
// A job that runs every day at 00:00 China time calls
// OpeningBetween(lastRun, now) and NotifyReady for each id; the enrollment
// service calls NotifyReady right after a payment assigns the ticket number,
// which notifies only if the window is already open.

// OpeningBetween lists the enrollments whose admission ticket opens in
// [from, to) and that will be printable then (approved, paid, seated, with a
// ticket number, session not cancelled).
func (s *Service) OpeningBetween(ctx context.Context, from, to time.Time) ([]int, error) {
	// OpensAt(start) = midnight(start) − 5 days, so OpensAt(start) ≥ X exactly
	// when start ≥ ceilDay(X + 5 days), and < X when start < ceilDay(X + 5 days).
	shift := OpenDaysBefore * 24 * time.Hour
	lo, hi := ceilDay(from.Add(shift)), ceilDay(to.Add(shift))
	if !lo.Before(hi) {
		return nil, nil
	}
	return s.db(ctx).Enrollment.Query().Where(
		enrollment.StatusEQ(enrollment.StatusAPPROVED),
		enrollment.PaymentStatusEQ(enrollment.PaymentStatusPAID),
		enrollment.TicketNoNotNil(),
		enrollment.HasSessionWith(examsession.StartsAtGTE(lo), examsession.StartsAtLT(hi),
			examsession.StatusNEQ(examsession.StatusCANCELLED)),
	).Order(ent.Asc(enrollment.FieldID)).IDs(viewer.SystemContext(ctx))
}

// ceilDay is t if it is 00:00 China time, else the next 00:00.
func ceilDay(t time.Time) time.Time {
	c := t.In(ChinaTZ)
	m := time.Date(c.Year(), c.Month(), c.Day(), 0, 0, 0, 0, ChinaTZ)
	if m.Before(c) {
		m = m.AddDate(0, 0, 1)
	}
	return m
}

// NotifyReady records a TICKET_READY notification for the candidate (SMS
// after commit) if the ticket is printable at the service clock, and reports
// whether it did. It does not remember earlier notices: callers decide when.
func (s *Service) NotifyReady(ctx context.Context, n *notify.Notifier, enrollmentID int) (bool, error) {
	sys := viewer.SystemContext(ctx)
	c := s.db(ctx)
	e, err := c.Enrollment.Get(sys, enrollmentID)
	if err != nil {
		return false, err
	}
	if e.SessionID == nil {
		return false, nil
	}
	sess, err := c.ExamSession.Get(sys, *e.SessionID)
	if err != nil {
		return false, err
	}
	if printable(e, sess, s.now()) != nil {
		return false, nil
	}
	subj, err := c.Subject.Get(sys, e.SubjectID)
	if err != nil {
		return false, err
	}
	site, err := c.Organization.Get(sys, sess.SiteID)
	if err != nil {
		return false, err
	}
	body := fmt.Sprintf("您报考的“%s”（%s %s，%s）准考证已开放打印，准考证号 %s。请登录系统下载并用 A4 纸打印，考试当日携带准考证和有效身份证件原件入场。",
		subj.Name, dateCN(sess.StartsAt), sess.StartsAt.In(ChinaTZ).Format("15:04"), site.Name, *e.TicketNo)
	if err := n.Notify(ctx, e.CandidateID, KindTicketReady, "准考证已开放打印", body); err != nil {
		return false, err
	}
	return true, nil
}

// NotifyDue sends the "ticket ready" notice for every enrollment whose
// admission ticket is printable now and that has not had it, and returns
// how many it sent. Each notice is claimed by a conditional UPDATE in the
// same transaction as the notification: any number of replicas may run it
// at once, and a crash mid-way only leaves the rest for the next run.
func (s *Service) NotifyDue(ctx context.Context, n *notify.Notifier) (int, error) {
	sys := viewer.SystemContext(ctx)
	now := s.now()
	ids, err := s.Client.Enrollment.Query().Where(
		enrollment.StatusEQ(enrollment.StatusAPPROVED),
		enrollment.PaymentStatusEQ(enrollment.PaymentStatusPAID),
		enrollment.TicketNoNotNil(),
		enrollment.TicketNotifiedAtIsNil(),
		enrollment.HasSessionWith(examsession.StartsAtGT(now),
			examsession.StartsAtLT(now.Add((OpenDaysBefore+1)*24*time.Hour)),
			examsession.StatusNEQ(examsession.StatusCANCELLED)),
	).Order(ent.Asc(enrollment.FieldID)).IDs(sys)
	if err != nil {
		return 0, err
	}
	sent := 0
	for _, id := range ids {
		err := txn.WithTx(ctx, s.Client, func(ctx context.Context) error {
			claimed, err := s.db(ctx).Enrollment.Update().
				Where(enrollment.ID(id), enrollment.TicketNotifiedAtIsNil()).
				SetTicketNotifiedAt(now).Save(viewer.SystemContext(ctx))
			if err != nil || claimed == 0 {
				return errNotClaimed
			}
			ok, err := s.NotifyReady(ctx, n, id)
			if err != nil {
				return err
			}
			if !ok {
				return errNotClaimed // not printable yet: undo the claim
			}
			return nil
		})
		switch {
		case err == nil:
			sent++
		case errors.Is(err, errNotClaimed):
		default:
			return sent, err
		}
	}
	return sent, nil
}

var errNotClaimed = errors.New("tickets: notice not due or already sent")
