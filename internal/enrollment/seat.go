package enrollment

import (
	"context"
	"fmt"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/enrollment"
	"github.com/kaowu/kaowu/ent/examsession"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/authz"
	"github.com/kaowu/kaowu/internal/seats"
	"github.com/kaowu/kaowu/internal/txn"
	"github.com/kaowu/kaowu/internal/viewer"
)

// MoveSeat moves a paid, approved enrollment to another session of the same
// plan and subject (DOMAIN.md step 7), by the candidate or the company that
// enrolled them. The target must be SCHEDULED and not started, the current
// sitting must not have started and the candidate must not be checked in.
// The seat move and the enrollment update are one transaction: when the
// target is full the error is seats.ErrFull and the old seat is kept. An
// enrollment without a seat (assigned later) takes one in the target.
func (s *Service) MoveSeat(ctx context.Context, id, toSessionID int) (*ent.Enrollment, error) {
	v, err := authz.Require(ctx, "只有考生本人或其单位可以调整考场", viewer.Candidate, viewer.Company)
	if err != nil {
		return nil, err
	}
	var out *ent.Enrollment
	err = txn.WithTx(ctx, s.Client, func(ctx context.Context) error {
		e, err := s.load(ctx, v, id)
		if err != nil {
			return err
		}
		if e.Status != enrollment.StatusAPPROVED || e.PaymentStatus != enrollment.PaymentStatusPAID {
			return apperr.New(apperr.Conflict, "只有审核通过并已缴费的报名可以选择或调整考场")
		}
		if e.CheckedInAt != nil {
			return apperr.New(apperr.Conflict, "已签到入场，不能调整考场")
		}
		if e.SessionID != nil && *e.SessionID == toSessionID {
			return apperr.Input("toSessionID", "您已在该场次，无需调整")
		}
		sys := viewer.SystemContext(ctx)
		db := s.db(ctx)
		now := s.now()
		if e.SessionID != nil {
			cur, err := db.ExamSession.Get(sys, *e.SessionID)
			if err != nil {
				return err
			}
			if !now.Before(cur.StartsAt) {
				return apperr.New(apperr.Conflict, "原场次考试已开始，不能调整考场")
			}
		}
		to, err := db.ExamSession.Get(sys, toSessionID)
		if ent.IsNotFound(err) {
			return apperr.Input("toSessionID", "考试场次不存在")
		} else if err != nil {
			return err
		}
		if to.PlanID != e.PlanID || to.SubjectID != e.SubjectID {
			return apperr.Input("toSessionID", "只能调整到同一考试计划、同一科目的其他场次")
		}
		if to.Status != examsession.StatusSCHEDULED || !now.Before(to.StartsAt) {
			return apperr.Input("toSessionID", "该场次不可选择，请选择其他场次")
		}
		if Remaining(to) == 0 {
			return seats.ErrFull
		}
		// Conditional on the seat read above: two moves of one enrollment
		// cannot both succeed.
		n, err := db.Enrollment.Update().
			Where(enrollment.ID(id), enrollment.StatusEQ(enrollment.StatusAPPROVED),
				enrollment.PaymentStatusEQ(enrollment.PaymentStatusPAID), sessionIs(e.SessionID)).
			SetSessionID(to.ID).SetSiteID(to.SiteID).Save(sys)
		if err != nil {
			return err
		}
		if n == 0 {
			return apperr.New(apperr.Conflict, MsgChanged)
		}
		if e.SessionID != nil {
			err = seats.Move(ctx, db, *e.SessionID, to.ID)
		} else {
			err = seats.Take(ctx, db, to.ID)
		}
		if err != nil {
			return err // ErrFull: the transaction rolls back, the old seat stays
		}
		body := fmt.Sprintf("《%s》的考试场次已调整为 %s，请以准考证为准。",
			s.subjectName(ctx, e.SubjectID), to.StartsAt.In(cst).Format("2006-01-02 15:04"))
		if err := s.notifyAll(ctx, e, v.UserID, KindSeatMoved, "考试场次已调整", body); err != nil {
			return err
		}
		out, err = db.Enrollment.Get(sys, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
