package proctor

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/attempt"
	"github.com/kaowu/kaowu/ent/proctorassignment"
	"github.com/kaowu/kaowu/ent/user"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/authz"
	"github.com/kaowu/kaowu/internal/evidence"
	"github.com/kaowu/kaowu/internal/txn"
	"github.com/kaowu/kaowu/internal/viewer"
)

// maxText bounds notes, warnings and reasons, in characters.
const maxText = 500

// Assign puts a PROCTOR account of the session's site on the session. Only
// the session's EXAM_SITE (or an ADMIN) may; assigning twice returns the
// existing assignment.
func (s *Service) Assign(ctx context.Context, proctorID, sessionID int) (*ent.ProctorAssignment, error) {
	sess, err := s.siteSession(ctx, sessionID, "只有考点或管理员可以安排监考")
	if err != nil {
		return nil, err
	}
	if proctorID <= 0 {
		return nil, apperr.Input("proctorID", "请选择监考人员")
	}
	sys := viewer.SystemContext(ctx)
	p, err := s.db(ctx).User.Get(sys, proctorID)
	if ent.IsNotFound(err) {
		return nil, &apperr.Error{Code: apperr.NotFound, Message: "监考人员不存在", Field: "proctorID"}
	} else if err != nil {
		return nil, err
	}
	// A proctor reads attempts of their own site (the Attempt policy), so
	// only the site's own proctors can watch its sessions.
	if p.Role != user.RolePROCTOR || p.Status != user.StatusACTIVE || p.OrganizationID == nil || *p.OrganizationID != sess.SiteID {
		return nil, apperr.Input("proctorID", "该账号不是本考点的监考人员")
	}
	if pa, err := s.db(ctx).ProctorAssignment.Query().Where(
		proctorassignment.ProctorID(proctorID), proctorassignment.SessionID(sessionID)).Only(sys); err == nil {
		return pa, nil
	} else if !ent.IsNotFound(err) {
		return nil, err
	}
	// Written with the caller's viewer: the ProctorAssignment policy checks
	// the site as well.
	pa, err := s.db(ctx).ProctorAssignment.Create().SetProctorID(proctorID).SetSessionID(sessionID).
		SetSiteID(sess.SiteID).SetCreatedAt(s.now()).Save(ctx)
	if ent.IsConstraintError(err) { // a concurrent identical Assign won
		return s.db(ctx).ProctorAssignment.Query().Where(
			proctorassignment.ProctorID(proctorID), proctorassignment.SessionID(sessionID)).Only(sys)
	}
	return pa, err
}

// MayWatch reports whether the caller may watch a session (its events and
// snapshots): a PROCTOR assigned to it, an EXAM_SITE of its site, any
// REVIEWER or ADMIN. Others get FORBIDDEN.
func (s *Service) MayWatch(ctx context.Context, sessionID int) error {
	if sessionID <= 0 {
		return apperr.Input("sessionID", "请选择考试场次")
	}
	if _, err := authz.Require(ctx, "您无权查看该场考试的监考画面",
		viewer.Proctor, viewer.ExamSite, viewer.Reviewer, viewer.Admin); err != nil {
		return err
	}
	sess, err := s.db(ctx).ExamSession.Get(viewer.SystemContext(ctx), sessionID)
	if ent.IsNotFound(err) {
		return &apperr.Error{Code: apperr.NotFound, Message: "考试场次不存在", Field: "sessionID"}
	} else if err != nil {
		return err
	}
	return s.mayWatch(ctx, sess.ID, sess.SiteID)
}

func errNotWatcher() error {
	return apperr.New(apperr.Forbidden, "您无权查看该场考试的监考画面")
}

func (s *Service) mayWatch(ctx context.Context, sessionID, siteID int) error {
	v := viewer.FromContext(ctx)
	if v == nil {
		return apperr.New(apperr.Unauthenticated, "请先登录")
	}
	switch v.Role {
	case viewer.Reviewer, viewer.Admin:
		return nil
	case viewer.ExamSite:
		if v.OrgID != 0 && v.OrgID == siteID {
			return nil
		}
	case viewer.Proctor:
		ok, err := s.assigned(ctx, v.UserID, sessionID)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
	}
	return errNotWatcher()
}

func (s *Service) assigned(ctx context.Context, proctorID, sessionID int) (bool, error) {
	return s.db(ctx).ProctorAssignment.Query().Where(
		proctorassignment.ProctorID(proctorID), proctorassignment.SessionID(sessionID)).
		Exist(viewer.SystemContext(ctx))
}

// proctorOf loads the attempt for a PROCTOR assigned to its session.
func (s *Service) proctorOf(ctx context.Context, attemptID int) (*viewer.Viewer, *ent.Attempt, error) {
	v, err := authz.Require(ctx, "只有本场考试的监考人员可以进行此操作", viewer.Proctor)
	if err != nil {
		return nil, nil, err
	}
	a, err := s.attempt(ctx, attemptID)
	if err != nil {
		return nil, nil, err
	}
	ok, err := s.assigned(ctx, v.UserID, a.SessionID)
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		return nil, nil, apperr.New(apperr.Forbidden, "您不是本场考试的监考人员")
	}
	return v, a, nil
}

// text trims and bounds a proctor's free text.
func text(field, label, s string, required bool) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" && required {
		return "", apperr.Input(field, "请填写"+label)
	}
	if utf8.RuneCountInString(s) > maxText || !utf8.ValidString(s) {
		return "", apperr.Input(field, label+"不能超过500个字")
	}
	return s, nil
}

// record appends evidence by the proctor, runs extra and publishes one
// event after commit, all in one transaction (inProgress: refuse a
// submitted attempt, holding its row against a concurrent submission).
func (s *Service) record(ctx context.Context, v *viewer.Viewer, a *ent.Attempt, inProgress bool,
	kind string, payload map[string]any, event string, topics []string, extra func(ctx context.Context, now time.Time) error,
) error {
	now := s.now()
	actor := v.UserID
	return txn.WithTx(ctx, s.Client, func(ctx context.Context) error {
		if inProgress {
			if err := s.guard(ctx, a.ID); err != nil {
				return err
			}
		}
		if _, err := evidence.Append(ctx, s.Client, evidence.Chain("attempt", a.ID), kind, &actor, now, payload); err != nil {
			return err
		}
		// After the record, so the chain reads cause before effect (END, then
		// the exam service's SUBMIT).
		if extra != nil {
			if err := extra(ctx, now); err != nil {
				return err
			}
		}
		if event != "" {
			ev := map[string]any{"attemptID": a.ID, "by": actor}
			for k, x := range payload {
				ev[k] = x
			}
			s.publish(ctx, event, now, ev, topics...)
		}
		return nil
	})
}

// Flag sets or clears the attempt's flag, with an optional note.
func (s *Service) Flag(ctx context.Context, attemptID int, flagged bool, note string) error {
	v, a, err := s.proctorOf(ctx, attemptID)
	if err != nil {
		return err
	}
	if note, err = text("note", "备注", note, false); err != nil {
		return err
	}
	return s.record(ctx, v, a, false, evidence.KindFlag, map[string]any{"flagged": flagged, "note": note},
		EventFlag, []string{SessionTopic(a.SessionID)}, func(ctx context.Context, now time.Time) error {
			return s.db(ctx).Attempt.Update().Where(attempt.ID(a.ID)).SetFlagged(flagged).SetUpdatedAt(now).
				Exec(viewer.SystemContext(ctx))
		})
}

// Note adds a proctor's note to the attempt's evidence.
func (s *Service) Note(ctx context.Context, attemptID int, body string) error {
	v, a, err := s.proctorOf(ctx, attemptID)
	if err != nil {
		return err
	}
	if body, err = text("text", "备注内容", body, true); err != nil {
		return err
	}
	return s.record(ctx, v, a, false, evidence.KindNote, map[string]any{"text": body},
		EventNote, []string{SessionTopic(a.SessionID)}, nil)
}

// Warn sends the candidate a warning (their own subscription on
// AttemptTopic receives it; the session's dashboards too).
func (s *Service) Warn(ctx context.Context, attemptID int, body string) error {
	v, a, err := s.proctorOf(ctx, attemptID)
	if err != nil {
		return err
	}
	if body, err = text("text", "警告内容", body, true); err != nil {
		return err
	}
	return s.record(ctx, v, a, true, evidence.KindWarning, map[string]any{"text": body},
		EventWarning, []string{AttemptTopic(a.ID), SessionTopic(a.SessionID)}, nil)
}

// End ends the attempt with the proctor's reason: END evidence by the
// proctor, then the exam service submits it with reason PROCTOR_ENDED, in
// one transaction (its submission event tells dashboards and the candidate).
func (s *Service) End(ctx context.Context, attemptID int, reason string) error {
	v, a, err := s.proctorOf(ctx, attemptID)
	if err != nil {
		return err
	}
	if reason, err = text("reason", "结束原因", reason, true); err != nil {
		return err
	}
	if a.Status != attempt.StatusIN_PROGRESS {
		return errEnded()
	}
	if s.Ender == nil {
		return apperr.New(apperr.Internal, "系统暂时无法结束考试")
	}
	return s.record(ctx, v, a, true, evidence.KindEnd, map[string]any{"reason": reason}, "", nil,
		func(ctx context.Context, _ time.Time) error {
			// Joins this transaction: END and the submission commit together
			// or not at all.
			return s.Ender.SubmitSystem(ctx, a.ID, "PROCTOR_ENDED")
		})
}
