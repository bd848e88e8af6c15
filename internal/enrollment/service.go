// Package enrollment runs enrollment (报名), its review (审核) and the seat a
// paid candidate holds (选择考场): DOMAIN.md steps 4, 5 and 7.
//
// Every state change of an Enrollment goes through this package, in one
// transaction with the seat it takes or gives back (internal/seats), so that
// at every commit a session's taken count equals the number of enrollments
// holding a seat in it (session_id set). Enrollments that do not hold a seat
// (rejected, cancelled) have session_id and site_id cleared; their history
// stays in the audit log.
package enrollment

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	entsql "entgo.io/ent/dialect/sql"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/enrollment"
	"github.com/kaowu/kaowu/ent/examplan"
	"github.com/kaowu/kaowu/ent/examsession"
	"github.com/kaowu/kaowu/ent/organization"
	"github.com/kaowu/kaowu/ent/predicate"
	"github.com/kaowu/kaowu/ent/subject"
	"github.com/kaowu/kaowu/ent/user"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/authz"
	"github.com/kaowu/kaowu/internal/notify"
	"github.com/kaowu/kaowu/internal/txn"
	"github.com/kaowu/kaowu/internal/viewer"
)

// ProfileChecker tells whether a candidate's profile is complete enough to
// enroll (DOMAIN.md steps 2–3: fields, attachments, study hours).
// internal/profile implements it.
//
// It is called inside the enrollment's transaction (ent.FromContext(ctx) is
// the transaction's client) with a system context, after this package has
// decided that the caller may enroll userID: a company enrolling its staff
// cannot read their attachments itself. missing lists what is absent as short
// Chinese labels (e.g. "身份证正面照片"), shown to the user as they are.
type ProfileChecker interface {
	// category is the A/B/C1/C2 category the candidate would sit ("" if none).
	Completeness(ctx context.Context, userID int) (complete bool, missing []string, category string, err error)
}

// MsgInstitutionPlan refuses enrollment into a plan a training institution fills by assignment.
const MsgInstitutionPlan = "该考试计划由培训机构统一安排考生，不接受个人或单位报名"

// Service implements enrollment, review and seat moves.
type Service struct {
	Client   *ent.Client
	Notifier *notify.Notifier
	Profiles ProfileChecker
	// Now is the clock (enrollment windows, submitted and review times); time.Now when nil.
	Now func() time.Time
}

// Notification kinds sent by this package.
const (
	KindEnrolledByCompany = "ENROLLMENT_SUBMITTED"
	KindApproved          = "ENROLLMENT_APPROVED"
	KindRejected          = "ENROLLMENT_REJECTED"
	KindCancelled         = "ENROLLMENT_CANCELLED"
	KindSeatMoved         = "SEAT_MOVED"
	KindPaid              = "ENROLLMENT_PAID"
)

// Messages users see; tests compare them exactly.
const (
	MsgPledge         = "请先阅读并同意诚信考试承诺书"
	MsgCompanyPending = "单位注册尚未审核通过，暂不能报名"
	MsgDuplicate      = "您已报名该考试计划的此科目，请勿重复报名"
	MsgReviewed       = "该报名已审核，无需重复审核"
	MsgChanged        = "报名状态已变化，请刷新后重试"
)

// maxBatch bounds one company enrollment (a room holds at most 1000).
const maxBatch = 500

// cst is China Standard Time, for dates shown in messages (no tzdata needed).
var cst = time.FixedZone("CST", 8*3600)

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) db(ctx context.Context) *ent.Client { return txn.Client(ctx, s.Client) }

// Remaining is the number of free seats of a session.
func Remaining(sess *ent.ExamSession) int { return max(sess.Capacity-sess.Taken, 0) }

// hasFreeSeat compares two columns: taken < capacity (read side only; seats
// are taken by internal/seats).
func hasFreeSeat(s *entsql.Selector) {
	s.Where(entsql.ColumnsLT(s.C(examsession.FieldTaken), s.C(examsession.FieldCapacity)))
}

// SearchInput selects sessions open for enrollment.
type SearchInput struct {
	From, To  time.Time // exam dates: sessions starting within [From, To]
	RegionID  *int      // the plan's region
	SubjectID *int
	// OnlyAvailable leaves out full sessions; otherwise they are listed with
	// 0 remaining seats (and refused on enrollment).
	OnlyAvailable bool
	Limit         int // default 100, at most 500
}

// SearchSessions lists sessions a candidate can enroll in now: SCHEDULED,
// not yet started, of an active subject, in a plan whose enrollment window
// contains now and whose exam dates overlap [From, To], ordered by start.
// Remaining seats are capacity - taken, read live (never cached). Anyone
// may search: plans and sessions are public.
func (s *Service) SearchSessions(ctx context.Context, in SearchInput) ([]*ent.ExamSession, error) {
	if in.From.IsZero() {
		return nil, apperr.Input("from", "请选择考试开始日期")
	}
	if in.To.IsZero() {
		return nil, apperr.Input("to", "请选择考试结束日期")
	}
	if in.To.Before(in.From) {
		return nil, apperr.Input("to", "结束日期不能早于开始日期")
	}
	if in.To.Sub(in.From) > 366*24*time.Hour {
		return nil, apperr.Input("to", "查询范围不能超过一年")
	}
	limit := in.Limit
	switch {
	case limit < 0:
		return nil, apperr.Input("limit", "数量不能为负数")
	case limit == 0:
		limit = 100
	case limit > 500:
		limit = 500
	}
	now := s.now()
	plan := []predicate.ExamPlan{
		examplan.EnrollStartsAtLTE(now), examplan.EnrollEndsAtGT(now),
		examplan.ExamFromLTE(in.To), examplan.ExamToGTE(in.From),
		// A training institution's plan is filled by its assignments, not by enrollment.
		examplan.TrainingOrgIDIsNil(),
	}
	if in.RegionID != nil {
		plan = append(plan, examplan.RegionID(*in.RegionID))
	}
	q := s.db(ctx).ExamSession.Query().Where(
		examsession.StatusEQ(examsession.StatusSCHEDULED),
		examsession.StartsAtGT(now), examsession.StartsAtGTE(in.From), examsession.StartsAtLTE(in.To),
		examsession.HasPlanWith(plan...),
		examsession.HasSubjectWith(subject.Active(true)),
	)
	if in.SubjectID != nil {
		q.Where(examsession.SubjectID(*in.SubjectID))
	}
	if in.OnlyAvailable {
		q.Where(hasFreeSeat)
	}
	return q.Order(ent.Asc(examsession.FieldStartsAt), ent.Asc(examsession.FieldID)).Limit(limit).All(ctx)
}

// MyEnrollments lists the viewer's enrollments, newest first, with what the
// "my reviews" page shows: status, reviewing department, reason and time
// (reviewDepartment, subject, session and plan are loaded). A CANDIDATE sees
// their own; a COMPANY its staff's.
func (s *Service) MyEnrollments(ctx context.Context) ([]*ent.Enrollment, error) {
	v, err := authz.Require(ctx, "只有考生或单位可以查看报名记录", viewer.Candidate, viewer.Company)
	if err != nil {
		return nil, err
	}
	q := s.db(ctx).Enrollment.Query()
	if v.Role == viewer.Candidate {
		q.Where(enrollment.CandidateID(v.UserID))
	} else {
		if v.OrgID == 0 {
			return nil, nil
		}
		q.Where(enrollment.CompanyID(v.OrgID))
	}
	return q.WithReviewDepartment().WithSubject().WithSession().WithPlan().
		Order(ent.Desc(enrollment.FieldSubmittedAt), ent.Desc(enrollment.FieldID)).All(ctx)
}

// target is a session being enrolled in, with its plan and subject.
type target struct {
	sess *ent.ExamSession
	plan *ent.ExamPlan
	subj *ent.Subject
}

// targetRow is a session with its plan and subject, read in one joined
// statement (this is the enrollment hot path).
type targetRow struct {
	ID              int       `json:"id"`
	PlanID          int       `json:"plan_id"`
	SubjectID       int       `json:"subject_id"`
	RoomID          int       `json:"room_id"`
	SiteID          int       `json:"site_id"`
	TrainingOrgID   *int      `json:"training_org_id"`
	StartsAt        time.Time `json:"starts_at"`
	DurationMinutes int       `json:"duration_minutes"`
	Capacity        int       `json:"capacity"`
	Taken           int       `json:"taken"`
	Status          string    `json:"status"`
	PlanName        string    `json:"plan_name"`
	PlanTrainingOrg *int      `json:"plan_training_org_id"`
	RegionID        int       `json:"region_id"`
	EnrollStartsAt  time.Time `json:"enroll_starts_at"`
	EnrollEndsAt    time.Time `json:"enroll_ends_at"`
	ExamFrom        time.Time `json:"exam_from"`
	ExamTo          time.Time `json:"exam_to"`
	PlanStatus      string    `json:"plan_status"`
	SubjectCode     string    `json:"subject_code"`
	SubjectName     string    `json:"subject_name"`
	Category        string    `json:"category"`
	FeeCents        int       `json:"fee_cents"`
	PassMark        int       `json:"pass_mark"`
	HasPractical    bool      `json:"has_practical"`
	Active          bool      `json:"active"`
}

// loadTarget reads a session, its plan and its subject; nil when missing.
func (s *Service) loadTarget(ctx context.Context, id int) (*target, error) {
	var rows []targetRow
	err := s.db(ctx).ExamSession.Query().Where(examsession.ID(id)).Modify(func(q *entsql.Selector) {
		p, sb := entsql.Table(examplan.Table).As("p"), entsql.Table(subject.Table).As("sb")
		q.Join(p).On(q.C(examsession.FieldPlanID), p.C(examplan.FieldID))
		q.Join(sb).On(q.C(examsession.FieldSubjectID), sb.C(subject.FieldID))
		q.Select(q.C(examsession.FieldID), q.C(examsession.FieldPlanID), q.C(examsession.FieldSubjectID), q.C(examsession.FieldRoomID),
			q.C(examsession.FieldSiteID), q.C(examsession.FieldTrainingOrgID), q.C(examsession.FieldStartsAt),
			q.C(examsession.FieldDurationMinutes), q.C(examsession.FieldCapacity), q.C(examsession.FieldTaken), q.C(examsession.FieldStatus),
			entsql.As(p.C(examplan.FieldName), "plan_name"), entsql.As(p.C(examplan.FieldTrainingOrgID), "plan_training_org_id"), p.C(examplan.FieldRegionID), p.C(examplan.FieldEnrollStartsAt),
			p.C(examplan.FieldEnrollEndsAt), p.C(examplan.FieldExamFrom), p.C(examplan.FieldExamTo), entsql.As(p.C(examplan.FieldStatus), "plan_status"),
			entsql.As(sb.C(subject.FieldCode), "subject_code"), entsql.As(sb.C(subject.FieldName), "subject_name"), sb.C(subject.FieldCategory),
			sb.C(subject.FieldFeeCents), sb.C(subject.FieldPassMark), sb.C(subject.FieldHasPractical), sb.C(subject.FieldActive))
	}).Scan(viewer.SystemContext(ctx), &rows)
	if err != nil || len(rows) == 0 {
		return nil, err
	}
	r := rows[0]
	return &target{
		sess: &ent.ExamSession{ID: r.ID, PlanID: r.PlanID, SubjectID: r.SubjectID, RoomID: r.RoomID, SiteID: r.SiteID,
			TrainingOrgID: r.TrainingOrgID, StartsAt: r.StartsAt, DurationMinutes: r.DurationMinutes, Capacity: r.Capacity,
			Taken: r.Taken, Status: examsession.Status(r.Status)},
		plan: &ent.ExamPlan{ID: r.PlanID, Name: r.PlanName, RegionID: r.RegionID, TrainingOrgID: r.PlanTrainingOrg,
			EnrollStartsAt: r.EnrollStartsAt, EnrollEndsAt: r.EnrollEndsAt, ExamFrom: r.ExamFrom, ExamTo: r.ExamTo,
			Status: examplan.Status(r.PlanStatus)},
		subj: &ent.Subject{ID: r.SubjectID, Code: r.SubjectCode, Name: r.SubjectName, Category: subject.Category(r.Category),
			FeeCents: r.FeeCents, PassMark: r.PassMark, HasPractical: r.HasPractical, Active: r.Active},
	}, nil
}

// openSession loads a session that can be enrolled in now: it exists, is
// SCHEDULED and has not started, its subject is active, and its plan's
// enrollment window is open. field names the input at fault.
func (s *Service) openSession(ctx context.Context, field string, id int) (*target, error) {
	t, err := s.loadTarget(ctx, id)
	if err != nil {
		return nil, err
	}
	if t == nil {
		return nil, apperr.Input(field, "考试场次不存在")
	}
	sess := t.sess
	now := s.now()
	if now.Before(t.plan.EnrollStartsAt) || !now.Before(t.plan.EnrollEndsAt) {
		return nil, apperr.Input(field, fmt.Sprintf("该考试计划不在报名时间内（报名时间：%s 至 %s）",
			t.plan.EnrollStartsAt.In(cst).Format("2006-01-02 15:04"), t.plan.EnrollEndsAt.In(cst).Format("2006-01-02 15:04")))
	}
	if t.plan.TrainingOrgID != nil {
		return nil, apperr.Input(field, MsgInstitutionPlan)
	}
	if sess.Status != examsession.StatusSCHEDULED || !now.Before(sess.StartsAt) {
		return nil, apperr.Input(field, "该场考试已停止报名，请选择其他考试")
	}
	if !t.subj.Active {
		return nil, apperr.Input(field, "该科目已停止报名")
	}
	return t, nil
}

// eligible checks that userID may sit the subject: a complete profile and,
// for the A/B/C1/C2 exams, the category of the profile. who prefixes
// messages about someone else ("张三：").
func (s *Service) eligible(ctx context.Context, userID int, subj *ent.Subject, who string) error {
	if s.Profiles == nil {
		return errors.New("enrollment: no ProfileChecker configured")
	}
	sys := viewer.SystemContext(ctx)
	complete, missing, category, err := s.Profiles.Completeness(sys, userID)
	if err != nil {
		return err
	}
	if !complete {
		msg := who + "个人资料不完整，不能报名"
		if len(missing) > 0 {
			msg = who + "个人资料不完整，请先补充：" + strings.Join(missing, "、")
		}
		return apperr.Input("profile", msg).With("missing", missing).With("candidateID", userID)
	}
	if subj.Category == subject.CategoryOTHER {
		return nil
	}
	// The checker read the profile already: compare its category, no second query.
	if category != "" && category != string(subj.Category) {
		return apperr.Input("sessionID", fmt.Sprintf("%s报考科目（%s类）与考试类别（%s类）不符", who, subj.Category, category)).
			With("candidateID", userID)
	}
	return nil
}

// isLiveDuplicate reports a violation of the partial unique index on
// (candidate_id, plan_id, subject_id) of live enrollments. PostgreSQL names
// the index; SQLite names its columns.
func isLiveDuplicate(err error) bool {
	if !ent.IsConstraintError(err) {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "enrollment_candidate_id_plan_id_subject_id") ||
		strings.Contains(msg, "enrollments.candidate_id, enrollments.plan_id, enrollments.subject_id")
}

// load reads an enrollment the viewer may act on: privacy hides other
// people's (NOT_FOUND); ownership is then checked explicitly — the candidate
// themself, or the company that enrolled them.
func (s *Service) load(ctx context.Context, v *viewer.Viewer, id int) (*ent.Enrollment, error) {
	e, err := s.db(ctx).Enrollment.Get(ctx, id)
	if ent.IsNotFound(err) {
		return nil, apperr.New(apperr.NotFound, "报名记录不存在").With("field", "id")
	} else if err != nil {
		return nil, err
	}
	if !owns(v, e) {
		return nil, apperr.New(apperr.Forbidden, "只能办理本人或本单位员工的报名")
	}
	return e, nil
}

func owns(v *viewer.Viewer, e *ent.Enrollment) bool {
	switch v.Role {
	case viewer.Candidate:
		return e.CandidateID == v.UserID
	case viewer.Company:
		return v.OrgID != 0 && e.CompanyID != nil && *e.CompanyID == v.OrgID
	}
	return false
}

// sessionIs matches the session an enrollment was read with, so a
// conditional update fails if the seat changed in between.
func sessionIs(id *int) predicate.Enrollment {
	if id == nil {
		return enrollment.SessionIDIsNil()
	}
	return enrollment.SessionID(*id)
}

// companyMembers returns the COMPANY accounts of an organisation.
func (s *Service) companyMembers(ctx context.Context, orgID int) ([]int, error) {
	return s.db(ctx).User.Query().Where(user.OrganizationID(orgID), user.RoleEQ(user.RoleCOMPANY)).
		IDs(viewer.SystemContext(ctx))
}

// notifyAll notifies the candidate and, when enrolled by a company, its
// accounts; skip leaves out the actor (nobody waits for their own action).
func (s *Service) notifyAll(ctx context.Context, e *ent.Enrollment, skip int, kind, title, body string) error {
	to := []int{e.CandidateID}
	if e.CompanyID != nil {
		ids, err := s.companyMembers(ctx, *e.CompanyID)
		if err != nil {
			return err
		}
		to = append(to, ids...)
	}
	for _, id := range to {
		if id == skip {
			continue
		}
		if err := s.Notifier.Notify(ctx, id, kind, title, body); err != nil {
			return err
		}
	}
	return nil
}

// subjectName returns the subject's name for messages.
func (s *Service) subjectName(ctx context.Context, id int) string {
	subj, err := s.db(ctx).Subject.Get(viewer.SystemContext(ctx), id)
	if err != nil {
		return "考试"
	}
	return subj.Name
}

// approvedCompany returns the viewer's company when it is APPROVED.
func (s *Service) approvedCompany(ctx context.Context, v *viewer.Viewer) (*ent.Organization, error) {
	if v.OrgID == 0 {
		return nil, apperr.New(apperr.Forbidden, MsgCompanyPending)
	}
	org, err := s.db(ctx).Organization.Get(viewer.SystemContext(ctx), v.OrgID)
	if err != nil {
		return nil, err
	}
	if org.Kind != organization.KindCOMPANY || org.Status != organization.StatusAPPROVED {
		return nil, apperr.New(apperr.Forbidden, MsgCompanyPending)
	}
	return org, nil
}

// dedupe returns ids without repeats, or the first repeated id.
func dedupe(ids []int) ([]int, int, bool) {
	seen := make(map[int]bool, len(ids))
	for _, id := range ids {
		if seen[id] {
			return nil, id, false
		}
		seen[id] = true
	}
	return slices.Clone(ids), 0, true
}
