package enrollment

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/enrollment"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/authz"
	"github.com/kaowu/kaowu/internal/seats"
	"github.com/kaowu/kaowu/internal/txn"
	"github.com/kaowu/kaowu/internal/viewer"
)

// Review approves or rejects a PENDING_REVIEW enrollment (REVIEWER or
// ADMIN). The decision records the reviewer, their department (the
// reviewer's organisation; a REVIEWER must belong to one) and the time. A
// rejection needs a reason and gives the seat back (session_id and site_id
// are cleared): a rejected candidate must not block a seat while correcting,
// and Resubmit takes one again. The update is conditional on the status, so
// of two reviewers deciding at once exactly one wins; the other gets CONFLICT.
func (s *Service) Review(ctx context.Context, id int, approve bool, reason string) (*ent.Enrollment, error) {
	v, err := authz.Require(ctx, "只有管理部门可以审核报名", viewer.Reviewer, viewer.Admin)
	if err != nil {
		return nil, err
	}
	if v.Role == viewer.Reviewer && v.OrgID == 0 {
		return nil, apperr.New(apperr.Forbidden, "您的账号未归属管理部门，不能审核报名")
	}
	reason = strings.TrimSpace(reason)
	if !approve && reason == "" {
		return nil, apperr.Input("reason", "驳回时必须填写原因")
	}
	if utf8.RuneCountInString(reason) > 500 {
		return nil, apperr.Input("reason", "原因不能超过500个字")
	}
	var out *ent.Enrollment
	err = txn.WithTx(ctx, s.Client, func(ctx context.Context) error {
		db := s.db(ctx)
		e, err := db.Enrollment.Get(ctx, id)
		if ent.IsNotFound(err) {
			return apperr.New(apperr.NotFound, "报名记录不存在").With("field", "id")
		} else if err != nil {
			return err
		}
		switch e.Status {
		case enrollment.StatusPENDING_REVIEW:
		case enrollment.StatusCANCELLED:
			return apperr.New(apperr.Conflict, "该报名已取消，不能审核")
		default:
			return apperr.New(apperr.Conflict, MsgReviewed)
		}
		upd := db.Enrollment.Update().
			Where(enrollment.ID(id), enrollment.StatusEQ(enrollment.StatusPENDING_REVIEW), sessionIs(e.SessionID)).
			SetReviewedAt(s.now()).SetReviewerID(v.UserID)
		if v.OrgID != 0 {
			upd.SetReviewDepartmentID(v.OrgID)
		} else {
			upd.ClearReviewDepartmentID()
		}
		if approve {
			upd.SetStatus(enrollment.StatusAPPROVED).ClearReviewReason()
		} else {
			upd.SetStatus(enrollment.StatusREJECTED).SetReviewReason(reason).ClearSessionID().ClearSiteID()
		}
		n, err := upd.Save(viewer.SystemContext(ctx))
		if err != nil {
			return err
		}
		if n == 0 {
			return apperr.New(apperr.Conflict, MsgReviewed)
		}
		if !approve && e.SessionID != nil {
			if err := seats.Release(ctx, db, *e.SessionID); err != nil {
				return err
			}
		}
		name := s.subjectName(ctx, e.SubjectID)
		kind, title, body := KindApproved, "报名审核通过", fmt.Sprintf("您报名的《%s》已审核通过，请按时缴费。", name)
		if !approve {
			kind, title, body = KindRejected, "报名未通过审核",
				fmt.Sprintf("您报名的《%s》未通过审核。驳回原因：%s。请修改后重新提交。", name, reason)
		}
		if err := s.notifyAll(ctx, e, v.UserID, kind, title, body); err != nil {
			return err
		}
		out, err = db.Enrollment.Get(viewer.SystemContext(ctx), id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Cancel withdraws an enrollment before any payment (payment_status UNPAID):
// the candidate or the company that enrolled them. The seat is given back
// and session_id cleared; the status becomes CANCELLED, which frees the
// plan's subject for a new enrollment. The other party is notified.
func (s *Service) Cancel(ctx context.Context, id int) (*ent.Enrollment, error) {
	v, err := authz.Require(ctx, "只有考生本人或其单位可以取消报名", viewer.Candidate, viewer.Company)
	if err != nil {
		return nil, err
	}
	var out *ent.Enrollment
	err = txn.WithTx(ctx, s.Client, func(ctx context.Context) error {
		e, err := s.load(ctx, v, id)
		if err != nil {
			return err
		}
		if e.Status == enrollment.StatusCANCELLED {
			return apperr.New(apperr.Conflict, "该报名已取消")
		}
		if e.PaymentStatus != enrollment.PaymentStatusUNPAID {
			return apperr.New(apperr.Conflict, "已缴费或缴费确认中的报名不能取消")
		}
		db := s.db(ctx)
		n, err := db.Enrollment.Update().
			Where(enrollment.ID(id), enrollment.StatusEQ(e.Status), enrollment.PaymentStatusEQ(enrollment.PaymentStatusUNPAID), sessionIs(e.SessionID)).
			SetStatus(enrollment.StatusCANCELLED).ClearSessionID().ClearSiteID().
			Save(viewer.SystemContext(ctx))
		if err != nil {
			return err
		}
		if n == 0 {
			return apperr.New(apperr.Conflict, MsgChanged)
		}
		if e.SessionID != nil {
			if err := seats.Release(ctx, db, *e.SessionID); err != nil {
				return err
			}
		}
		body := fmt.Sprintf("《%s》的报名已取消。", s.subjectName(ctx, e.SubjectID))
		if err := s.notifyAll(ctx, e, v.UserID, KindCancelled, "报名已取消", body); err != nil {
			return err
		}
		out, err = db.Enrollment.Get(viewer.SystemContext(ctx), id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
