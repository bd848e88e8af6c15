package enrollment

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/enrollment"
	"github.com/kaowu/kaowu/ent/profile"
	"github.com/kaowu/kaowu/ent/user"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/authz"
	"github.com/kaowu/kaowu/internal/seats"
	"github.com/kaowu/kaowu/internal/txn"
	"github.com/kaowu/kaowu/internal/viewer"
)

// liveStatuses hold a place in a plan's subject (the partial unique index).
var liveStatuses = []enrollment.Status{enrollment.StatusPENDING_REVIEW, enrollment.StatusAPPROVED}

// EnrollInput is a candidate's enrollment: the session (which names the plan
// and subject) and the integrity pledge.
type EnrollInput struct {
	SessionID      int
	PledgeAccepted bool
}

// Enroll enrolls the viewer (CANDIDATE) in a session and holds a seat in it,
// for review. The enrollment row and the seat are written in one
// transaction: a refusal at any step (full session, duplicate, incomplete
// profile, closed window) leaves no seat taken and no row.
func (s *Service) Enroll(ctx context.Context, in EnrollInput) (*ent.Enrollment, error) {
	v, err := authz.Require(ctx, "只有考生本人可以在此报名，单位请使用批量报名", viewer.Candidate)
	if err != nil {
		return nil, err
	}
	if !in.PledgeAccepted {
		return nil, apperr.Input("pledgeAccepted", MsgPledge)
	}
	var out *ent.Enrollment
	err = txn.WithTx(ctx, s.Client, func(ctx context.Context) error {
		t, err := s.openSession(ctx, "sessionID", in.SessionID)
		if err != nil {
			return err
		}
		if err := s.eligible(ctx, v.UserID, t.subj, ""); err != nil {
			return err
		}
		sys := viewer.SystemContext(ctx)
		db := s.db(ctx)
		// A duplicate (same candidate, plan, subject) is refused by the partial
		// unique index on insert, mapped to MsgDuplicate below: no pre-check
		// query on the hot path.
		// Early refusal only; the seat itself is decided by seats.Take below.
		if Remaining(t.sess) == 0 {
			return seats.ErrFull
		}
		now := s.now()
		e, err := db.Enrollment.Create().
			SetCandidateID(v.UserID).SetPlanID(t.plan.ID).SetSubjectID(t.subj.ID).
			SetSessionID(t.sess.ID).SetSiteID(t.sess.SiteID).SetNillableTrainingOrgID(t.sess.TrainingOrgID).
			SetEnrolledByID(v.UserID).SetSource(enrollment.SourceSELF).SetStatus(enrollment.StatusPENDING_REVIEW).
			SetPledgeAcceptedAt(now).SetSubmittedAt(now).SetFeeCents(t.subj.FeeCents).
			Save(sys)
		if isLiveDuplicate(err) {
			return apperr.Wrap(err, apperr.Conflict, MsgDuplicate)
		} else if err != nil {
			return err
		}
		// The seat last: the session row stays locked only until commit.
		if err := seats.Take(ctx, db, t.sess.ID); err != nil {
			return err
		}
		out = e
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// EnrollStaff enrolls a COMPANY's staff in a session, all or none: every
// candidate must have a profile naming the viewer's (APPROVED) company, be
// eligible and not yet enrolled in the plan's subject, and the session must
// have a seat for each of them; otherwise nothing is written. The company
// pays for them later (company_id is set).
func (s *Service) EnrollStaff(ctx context.Context, sessionID int, candidateIDs []int, pledgeAccepted bool) ([]*ent.Enrollment, error) {
	v, err := authz.Require(ctx, "只有单位账号可以为员工批量报名", viewer.Company)
	if err != nil {
		return nil, err
	}
	if !pledgeAccepted {
		return nil, apperr.Input("pledgeAccepted", MsgPledge)
	}
	if len(candidateIDs) == 0 {
		return nil, apperr.Input("candidateIDs", "请选择要报名的人员")
	}
	if len(candidateIDs) > maxBatch {
		return nil, apperr.Input("candidateIDs", fmt.Sprintf("一次最多为%d人报名", maxBatch))
	}
	ids, rep, ok := dedupe(candidateIDs)
	if !ok {
		return nil, apperr.Input("candidateIDs", "人员重复").With("candidateID", rep)
	}
	var out []*ent.Enrollment
	err = txn.WithTx(ctx, s.Client, func(ctx context.Context) error {
		org, err := s.approvedCompany(ctx, v)
		if err != nil {
			return err
		}
		t, err := s.openSession(ctx, "sessionID", sessionID)
		if err != nil {
			return err
		}
		sys := viewer.SystemContext(ctx)
		db := s.db(ctx)
		// Staff are candidates whose profile names this company.
		staff, err := db.Profile.Query().Where(profile.UserIDIn(ids...), profile.CompanyID(org.ID),
			profile.HasUserWith(user.RoleEQ(user.RoleCANDIDATE))).WithUser().All(sys)
		if err != nil {
			return err
		}
		names := make(map[int]string, len(staff))
		for _, p := range staff {
			names[p.UserID] = p.Edges.User.Name
		}
		var strangers []int
		for _, id := range ids {
			if _, ok := names[id]; !ok {
				strangers = append(strangers, id)
			}
		}
		if len(strangers) > 0 {
			return apperr.Input("candidateIDs", "所选人员中有不属于本单位的考生，或其个人资料未填写本单位").
				With("candidateIDs", strangers)
		}
		for _, id := range ids {
			if err := s.eligible(ctx, id, t.subj, names[id]+"："); err != nil {
				return err
			}
		}
		dups, err := db.Enrollment.Query().Where(enrollment.CandidateIDIn(ids...), enrollment.PlanID(t.plan.ID),
			enrollment.SubjectID(t.subj.ID), enrollment.StatusIn(liveStatuses...)).All(sys)
		if err != nil {
			return err
		}
		if len(dups) > 0 {
			who := make([]string, 0, len(dups))
			dupIDs := make([]int, 0, len(dups))
			for _, d := range dups {
				who = append(who, names[d.CandidateID])
				dupIDs = append(dupIDs, d.CandidateID)
			}
			return apperr.New(apperr.Conflict, "以下人员已报名该考试计划的此科目："+strings.Join(who, "、")).
				With("candidateIDs", dupIDs)
		}
		if free := Remaining(t.sess); free < len(ids) {
			return fullFor(free, len(ids), seats.ErrFull)
		}
		now := s.now()
		builders := make([]*ent.EnrollmentCreate, len(ids))
		for i, id := range ids {
			builders[i] = db.Enrollment.Create().
				SetCandidateID(id).SetPlanID(t.plan.ID).SetSubjectID(t.subj.ID).
				SetSessionID(t.sess.ID).SetSiteID(t.sess.SiteID).SetNillableTrainingOrgID(t.sess.TrainingOrgID).
				SetCompanyID(org.ID).SetEnrolledByID(v.UserID).SetSource(enrollment.SourceCOMPANY).
				SetStatus(enrollment.StatusPENDING_REVIEW).SetPledgeAcceptedAt(now).SetSubmittedAt(now).
				SetFeeCents(t.subj.FeeCents)
		}
		created, err := db.Enrollment.CreateBulk(builders...).Save(sys)
		if isLiveDuplicate(err) {
			return apperr.Wrap(err, apperr.Conflict, "所选人员中有人已报名该考试计划的此科目")
		} else if err != nil {
			return err
		}
		if err := seats.TakeMany(ctx, db, t.sess.ID, len(ids)); err != nil {
			if errors.Is(err, seats.ErrFull) {
				// Someone took seats since the read: say how many are left now.
				if cur, rerr := db.ExamSession.Get(sys, t.sess.ID); rerr == nil {
					return fullFor(Remaining(cur), len(ids), err)
				}
			}
			return err
		}
		body := fmt.Sprintf("%s已为您报名《%s》，考试时间 %s，请等待审核。", org.Name, t.subj.Name,
			t.sess.StartsAt.In(cst).Format("2006-01-02 15:04"))
		for _, e := range created {
			if err := s.Notifier.Notify(ctx, e.CandidateID, KindEnrolledByCompany, "单位已为您报名", body); err != nil {
				return err
			}
		}
		out = created
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// fullFor is the refusal of a company enrollment that does not fit: it
// keeps seats.ErrFull in the chain (errors.Is) and says how many seats remain.
func fullFor(free, want int, cause error) error {
	if free == 0 {
		return cause
	}
	return apperr.Wrap(cause, apperr.Conflict,
		fmt.Sprintf("该场考试剩余座位不足（剩余%d个，需要%d个），请选择其他考试进行报名", free, want)).
		With("remaining", free)
}

// ResubmitInput corrects a rejected enrollment: the session (same plan and
// subject, possibly another sitting) and the pledge again.
type ResubmitInput struct {
	SessionID      int
	PledgeAccepted bool
}

// Resubmit sends a REJECTED enrollment back to review after the candidate
// corrected what the reason named: it takes a seat again, returns to
// PENDING_REVIEW and clears the previous decision (which the audit log
// keeps). The candidate or the company that enrolled them may resubmit.
func (s *Service) Resubmit(ctx context.Context, id int, in ResubmitInput) (*ent.Enrollment, error) {
	v, err := authz.Require(ctx, "只有考生本人或其单位可以重新提交报名", viewer.Candidate, viewer.Company)
	if err != nil {
		return nil, err
	}
	if !in.PledgeAccepted {
		return nil, apperr.Input("pledgeAccepted", MsgPledge)
	}
	var out *ent.Enrollment
	err = txn.WithTx(ctx, s.Client, func(ctx context.Context) error {
		e, err := s.load(ctx, v, id)
		if err != nil {
			return err
		}
		if e.Status != enrollment.StatusREJECTED {
			return apperr.New(apperr.Conflict, "只有被驳回的报名可以修改后重新提交")
		}
		if v.Role == viewer.Company {
			if _, err := s.approvedCompany(ctx, v); err != nil {
				return err
			}
		}
		t, err := s.openSession(ctx, "sessionID", in.SessionID)
		if err != nil {
			return err
		}
		if t.plan.ID != e.PlanID || t.subj.ID != e.SubjectID {
			return apperr.Input("sessionID", "只能选择同一考试计划、同一科目的场次")
		}
		if err := s.eligible(ctx, e.CandidateID, t.subj, ""); err != nil {
			return err
		}
		if Remaining(t.sess) == 0 {
			return seats.ErrFull
		}
		now := s.now()
		sys := viewer.SystemContext(ctx)
		db := s.db(ctx)
		n, err := db.Enrollment.Update().Where(enrollment.ID(id), enrollment.StatusEQ(enrollment.StatusREJECTED), enrollment.SessionIDIsNil()).
			SetStatus(enrollment.StatusPENDING_REVIEW).SetSessionID(t.sess.ID).SetSiteID(t.sess.SiteID).
			SetPledgeAcceptedAt(now).SetSubmittedAt(now).
			ClearReviewReason().ClearReviewedAt().ClearReviewerID().ClearReviewDepartmentID().
			Save(sys)
		if isLiveDuplicate(err) {
			return apperr.Wrap(err, apperr.Conflict, MsgDuplicate)
		} else if err != nil {
			return err
		}
		if n == 0 {
			return apperr.New(apperr.Conflict, MsgChanged)
		}
		if err := seats.Take(ctx, db, t.sess.ID); err != nil {
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
