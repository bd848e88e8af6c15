package proctor

import (
	"context"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/proctorassignment"
	"github.com/kaowu/kaowu/ent/user"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/authz"
	"github.com/kaowu/kaowu/internal/viewer"
)

// Assignment is a proctor on a session, with the proctor's name.
type Assignment struct {
	*ent.ProctorAssignment
	ProctorName  string
	ProctorLogin string
}

// siteSession loads a session for its EXAM_SITE or an ADMIN.
func (s *Service) siteSession(ctx context.Context, sessionID int, msg string) (*ent.ExamSession, error) {
	v, err := authz.Require(ctx, msg, viewer.ExamSite, viewer.Admin)
	if err != nil {
		return nil, err
	}
	if sessionID <= 0 {
		return nil, apperr.Input("sessionID", "请选择考试场次")
	}
	sess, err := s.db(ctx).ExamSession.Get(viewer.SystemContext(ctx), sessionID)
	if ent.IsNotFound(err) {
		return nil, &apperr.Error{Code: apperr.NotFound, Message: "考试场次不存在", Field: "sessionID"}
	} else if err != nil {
		return nil, err
	}
	if v.Role == viewer.ExamSite && (v.OrgID == 0 || sess.SiteID != v.OrgID) {
		return nil, apperr.New(apperr.Forbidden, "只能管理本考点考试场次的监考安排")
	}
	return sess, nil
}

// Assignments lists the proctors of a session (its EXAM_SITE, ADMIN), in
// two queries.
func (s *Service) Assignments(ctx context.Context, sessionID int) ([]Assignment, error) {
	if _, err := s.siteSession(ctx, sessionID, "只有考点或管理员可以查看监考安排"); err != nil {
		return nil, err
	}
	sys := viewer.SystemContext(ctx)
	pas, err := s.db(ctx).ProctorAssignment.Query().Where(proctorassignment.SessionID(sessionID)).
		Order(proctorassignment.ByCreatedAt()).All(sys)
	if err != nil || len(pas) == 0 {
		return nil, err
	}
	ids := make([]int, len(pas))
	for i, pa := range pas {
		ids[i] = pa.ProctorID
	}
	us, err := s.db(ctx).User.Query().Where(user.IDIn(ids...)).Select(user.FieldName, user.FieldLogin).All(sys)
	if err != nil {
		return nil, err
	}
	byID := make(map[int]*ent.User, len(us))
	for _, u := range us {
		byID[u.ID] = u
	}
	out := make([]Assignment, len(pas))
	for i, pa := range pas {
		out[i] = Assignment{ProctorAssignment: pa}
		if u := byID[pa.ProctorID]; u != nil {
			out[i].ProctorName, out[i].ProctorLogin = u.Name, u.Login
		}
	}
	return out, nil
}

// Unassign takes a proctor off a session (its EXAM_SITE, ADMIN). Their
// open subscriptions to it end within a minute (the periodic recheck).
func (s *Service) Unassign(ctx context.Context, proctorID, sessionID int) error {
	if _, err := s.siteSession(ctx, sessionID, "只有考点或管理员可以安排监考"); err != nil {
		return err
	}
	if proctorID <= 0 {
		return apperr.Input("proctorID", "请选择监考人员")
	}
	// Deleted with the caller's viewer: the ProctorAssignment policy checks the site too.
	n, err := s.db(ctx).ProctorAssignment.Delete().Where(
		proctorassignment.ProctorID(proctorID), proctorassignment.SessionID(sessionID)).Exec(ctx)
	if err != nil {
		return err
	}
	if n == 0 {
		return &apperr.Error{Code: apperr.NotFound, Message: "该监考人员不在本场考试的监考安排中", Field: "proctorID"}
	}
	return nil
}
