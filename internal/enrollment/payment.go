package enrollment

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/kaowu/kaowu/ent/enrollment"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/txn"
	"github.com/kaowu/kaowu/internal/viewer"
)

// The payment-status methods below are for internal/payment, which decides
// who may confirm a payment; they are not GraphQL fields and check no role.
// Each is all or none: if any enrollment is not in the expected state,
// nothing changes.

// MarkPaymentPending records that a payment for the enrollments was started
// (online order created, bank proof uploaded): APPROVED and UNPAID → PENDING.
func (s *Service) MarkPaymentPending(ctx context.Context, ids []int) error {
	return s.setPayment(ctx, ids, enrollment.PaymentStatusUNPAID, enrollment.PaymentStatusPENDING)
}

// MarkUnpaid undoes MarkPaymentPending when that payment failed, was
// rejected or cancelled: PENDING → UNPAID.
func (s *Service) MarkUnpaid(ctx context.Context, ids []int) error {
	return s.setPayment(ctx, ids, enrollment.PaymentStatusPENDING, enrollment.PaymentStatusUNPAID)
}

func (s *Service) setPayment(ctx context.Context, ids []int, from, to enrollment.PaymentStatus) error {
	ids, err := s.checkIDs(ids)
	if err != nil {
		return err
	}
	return txn.WithTx(ctx, s.Client, func(ctx context.Context) error {
		n, err := s.db(ctx).Enrollment.Update().
			Where(enrollment.IDIn(ids...), enrollment.StatusEQ(enrollment.StatusAPPROVED), enrollment.PaymentStatusEQ(from)).
			SetPaymentStatus(to).Save(viewer.SystemContext(ctx))
		if err != nil {
			return err
		}
		if n != len(ids) {
			return apperr.New(apperr.Conflict, "所选报名中有未审核通过或缴费状态已变化的记录")
		}
		return nil
	})
}

func (s *Service) checkIDs(ids []int) ([]int, error) {
	if len(ids) == 0 {
		return nil, apperr.Input("enrollmentIDs", "请选择报名记录")
	}
	ids, rep, ok := dedupe(ids)
	if !ok {
		return nil, apperr.Input("enrollmentIDs", "报名记录重复").With("enrollmentID", rep)
	}
	return ids, nil
}

// MarkPaid records a confirmed payment for APPROVED enrollments whose
// payment is PENDING (MarkPaymentPending first, also for on-site payments:
// one guarded path keeps two payments from claiming one enrollment):
// payment_status PAID, paid_at, and an admission ticket number
// (TicketNumber) unless one was assigned before. Each candidate is notified.
func (s *Service) MarkPaid(ctx context.Context, ids []int, at time.Time) error {
	ids, err := s.checkIDs(ids)
	if err != nil {
		return err
	}
	if at.IsZero() {
		return apperr.Input("paidAt", "缴费时间不能为空")
	}
	return txn.WithTx(ctx, s.Client, func(ctx context.Context) error {
		sys := viewer.SystemContext(ctx)
		db := s.db(ctx)
		n, err := db.Enrollment.Update().
			Where(enrollment.IDIn(ids...), enrollment.StatusEQ(enrollment.StatusAPPROVED),
				enrollment.PaymentStatusEQ(enrollment.PaymentStatusPENDING)).
			SetPaymentStatus(enrollment.PaymentStatusPAID).SetPaidAt(at).Save(sys)
		if err != nil {
			return err
		}
		if n != len(ids) {
			return apperr.New(apperr.Conflict, "所选报名中有未审核通过、未发起缴费或已缴费的记录")
		}
		rows, err := db.Enrollment.Query().Where(enrollment.IDIn(ids...)).WithPlan().WithSubject().All(sys)
		if err != nil {
			return err
		}
		for _, e := range rows {
			ticket := e.TicketNo
			if ticket == nil {
				t := TicketNumber(e.Edges.Plan.ExamFrom.In(cst).Year(), e.ID)
				if err := db.Enrollment.UpdateOneID(e.ID).SetTicketNo(t).Exec(sys); err != nil {
					return err
				}
				ticket = &t
			}
			body := fmt.Sprintf("您报名的《%s》已缴费成功，准考证号 %s。准考证于考试前5天开放打印。", e.Edges.Subject.Name, *ticket)
			if err := s.Notifier.Notify(ctx, e.CandidateID, KindPaid, "缴费成功", body); err != nil {
				return err
			}
		}
		return nil
	})
}

// TicketNumber is the admission ticket number (准考证号) of an enrollment:
// the exam year (4 digits), the enrollment id zero-padded to at least 8
// digits, and a Luhn check digit over both — e.g. 2026000012347. It is unique
// because enrollment ids are (the year is fixed-width and the padded id has
// no other leading zeros), does not change when the seat moves, and a
// mistyped digit fails ValidTicketNumber.
func TicketNumber(year, enrollmentID int) string {
	body := fmt.Sprintf("%04d%08d", year, enrollmentID)
	return body + strconv.Itoa(luhn(body))
}

// ValidTicketNumber reports whether s has the TicketNumber form and check digit.
func ValidTicketNumber(s string) bool {
	if len(s) < 13 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	body := s[:len(s)-1]
	return int(s[len(s)-1]-'0') == luhn(body) && (len(body) == 12 || body[4] != '0')
}

// luhn returns the check digit that makes body+digit pass the Luhn test.
func luhn(body string) int {
	sum := 0
	double := true // the rightmost body digit is doubled once the check digit is appended
	for i := len(body) - 1; i >= 0; i-- {
		d := int(body[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return (10 - sum%10) % 10
}
