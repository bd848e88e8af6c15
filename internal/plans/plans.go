// Package plans runs exam plans (考试计划), their sessions (场次) and the
// assignment of trained candidates to them (DOMAIN.md steps 9 and 10).
//
// A training institution (TRAINING_ORG) drafts a plan, adds sessions (a room
// at a time for a subject) and assigns its approved candidates to them,
// automatically (N candidates shuffled over chosen sessions) or by hand. It
// edits the draft until a REVIEWER (or ADMIN) submits it; after that nothing
// in the plan changes. Nobody deletes a plan or a session.
//
// Every seat is taken and given back through internal/seats inside the
// operation's transaction, so a session's taken count always equals the
// enrollments holding a seat in it, and an operation that fails leaves
// seats, enrollments and sessions exactly as they were.
//
// Concurrency: each operation that changes a plan or what hangs off it first
// locks the plan row (SELECT … FOR UPDATE on PostgreSQL; SQLite serialises
// writers at BEGIN), so submission and edits of one plan never interleave.
// Operations that check a room (capacity, disabled, overlapping sessions)
// lock the room row too, always after the plan; the room hook (rooms.go)
// takes the room row by updating it. Lock order is plan → room → session
// everywhere, so they cannot deadlock.
package plans

import (
	"context"
	"math/rand/v2"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/examplan"
	"github.com/kaowu/kaowu/ent/examsession"
	"github.com/kaowu/kaowu/ent/organization"
	"github.com/kaowu/kaowu/ent/region"
	"github.com/kaowu/kaowu/ent/room"
	"github.com/kaowu/kaowu/ent/user"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/authz"
	"github.com/kaowu/kaowu/internal/notify"
	"github.com/kaowu/kaowu/internal/txn"
	"github.com/kaowu/kaowu/internal/viewer"
)

// Service implements exam plans, sessions and assignment.
type Service struct {
	Client   *ent.Client
	Notifier *notify.Notifier
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Rand shuffles candidates in AutoAssign; a seeded one makes assignment
	// reproducible in tests. A randomly seeded source is used when nil. The
	// service serialises its use (a *rand.Rand is not safe for concurrent use).
	Rand *rand.Rand

	mu sync.Mutex
}

// Messages users see; tests compare them exactly.
const (
	MsgSubmitted      = "考试计划已提交，不能修改"
	MsgAlreadySubmit  = "考试计划已提交，无需重复提交"
	MsgNotOwner       = "只能管理本机构的考试计划"
	MsgNoPlanOrg      = "该考试计划不属于培训机构，考生通过网上报名进入，不能分配考生"
	MsgNotEnough      = "可分配考生不足"
	MsgSeatsShortFmt  = "所选考场剩余座位不足：需要 %d，剩余 %d"
	MsgOverlap        = "该考场在此时间段已有其他考试场次"
	MsgRoomDisabled   = "该考场已停用"
	MsgCapacityOver   = "场次人数不能超过考场核定人数（%d人）"
	MsgCapacityBelow  = "场次人数不能少于已安排的考生人数（%d人）"
	MsgNoSessions     = "考试计划还没有考试场次，不能提交"
	MsgRoomSeatsHeld  = "该考场有未结束的考试场次已安排考生，不能停用；请先调整这些场次"
	MsgRoomShrinkFmt  = "该考场有未结束的考试场次已安排 %d 名考生，核定人数不能少于 %d"
	MsgStateChanged   = "数据已变化，请刷新后重试"
	MsgSessionStarted = "该考试场次已开始或已取消，不能修改"
)

// Notification kinds sent by this package.
const (
	KindAssigned         = "PLAN_ASSIGNED"
	KindUnassigned       = "PLAN_UNASSIGNED"
	KindSessionChanged   = "PLAN_SESSION_CHANGED"
	KindPlanSubmitted    = "PLAN_SUBMITTED"
	KindSessionCancelled = "PLAN_SESSION_CANCELLED"
)

// maxPlanSpan bounds a plan's exam dates.
const maxPlanSpan = 366 * 24 * time.Hour

// maxDuration is the longest session (schema: duration_minutes ≤ 600); a
// session that starts earlier than this before t cannot overlap t.
const maxDuration = 600 * time.Minute

// cst is China Standard Time: "today" and the times in messages.
var cst = time.FixedZone("CST", 8*3600)

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) db(ctx context.Context) *ent.Client { return txn.Client(ctx, s.Client) }

// notify sends an in-app notification (SMS after commit) when a notifier is wired.
func (s *Service) notify(ctx context.Context, userID int, kind, title, body string) error {
	if s.Notifier == nil {
		return nil
	}
	return s.Notifier.Notify(ctx, userID, kind, title, body)
}

// notifyOrg notifies every active TRAINING_ORG account of an institution.
func (s *Service) notifyOrg(ctx context.Context, c *ent.Client, orgID *int, kind, title, body string) error {
	if orgID == nil || s.Notifier == nil {
		return nil
	}
	ids, err := c.User.Query().Where(user.OrganizationID(*orgID), user.RoleEQ(user.RoleTRAINING_ORG), user.StatusEQ(user.StatusACTIVE)).
		IDs(viewer.SystemContext(ctx))
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := s.notify(ctx, id, kind, title, body); err != nil {
			return err
		}
	}
	return nil
}

// lockRow makes a query lock the rows it reads until the transaction ends.
// SQLite has no FOR UPDATE; its transactions take the write lock at BEGIN
// (internal/db: _txlock=immediate), which serialises writers anyway.
func lockRow(s *entsql.Selector) {
	if s.Dialect() == dialect.Postgres {
		s.ForUpdate()
	}
}

// lockPlan reads a plan and locks it for the rest of the transaction.
func lockPlan(ctx context.Context, c *ent.Client, id int) (*ent.ExamPlan, error) {
	q := c.ExamPlan.Query().Where(examplan.ID(id))
	q.Modify(lockRow)
	p, err := q.Only(ctx)
	if ent.IsNotFound(err) {
		return nil, apperr.New(apperr.NotFound, "考试计划不存在")
	}
	return p, err
}

// lockRoom reads a room and locks it for the rest of the transaction.
func lockRoom(ctx context.Context, c *ent.Client, id int, field string) (*ent.Room, error) {
	q := c.Room.Query().Where(room.ID(id))
	q.Modify(lockRow)
	r, err := q.Only(ctx)
	if ent.IsNotFound(err) {
		return nil, apperr.Input(field, "考场不存在")
	}
	return r, err
}

// mayManage reports whether v may change plan p: ADMIN any plan, an
// institution only its own.
func mayManage(v *viewer.Viewer, p *ent.ExamPlan) bool {
	if v.Is(viewer.Admin) {
		return true
	}
	return v.Is(viewer.TrainingOrg) && v.OrgID != 0 && p.TrainingOrgID != nil && *p.TrainingOrgID == v.OrgID
}

// editablePlan locks the plan and checks that v may change it and that it is
// still a draft. Call it first in every transaction that changes a plan.
func editablePlan(ctx context.Context, c *ent.Client, v *viewer.Viewer, id int) (*ent.ExamPlan, error) {
	p, err := lockPlan(ctx, c, id)
	if err != nil {
		return nil, err
	}
	if !mayManage(v, p) {
		return nil, apperr.New(apperr.Forbidden, MsgNotOwner)
	}
	if p.Status != examplan.StatusDRAFT {
		return nil, apperr.New(apperr.Conflict, MsgSubmitted)
	}
	return p, nil
}

// requireManager is the caller check of every editing operation.
func requireManager(ctx context.Context) (*viewer.Viewer, error) {
	v, err := authz.Require(ctx, "只有培训机构或省总站可以制定和修改考试计划", viewer.TrainingOrg, viewer.Admin)
	if err != nil {
		return nil, err
	}
	if v.Role == viewer.TrainingOrg && v.OrgID == 0 {
		return nil, apperr.New(apperr.Forbidden, "账号未关联培训机构")
	}
	return v, nil
}

// PlanInput creates a plan. Times are instants; the client sends the last
// day of a range as its end (e.g. 23:59:59 China time).
type PlanInput struct {
	Name           string
	RegionID       int
	EnrollStartsAt time.Time
	EnrollEndsAt   time.Time
	ExamFrom       time.Time
	ExamTo         time.Time
}

// PlanUpdate changes a draft plan; nil fields stay as they are.
type PlanUpdate struct {
	Name           *string
	RegionID       *int
	EnrollStartsAt *time.Time
	EnrollEndsAt   *time.Time
	ExamFrom       *time.Time
	ExamTo         *time.Time
}

// changed names the time fields an input sets (the "not in the past" rules
// apply only to values being set, so a running plan can still be renamed).
type changed struct{ enrollEnds, examFrom, examTo bool }

// checkPlan validates a plan's values (already merged for updates).
func checkPlan(in *PlanInput, ch changed, now time.Time) error {
	in.Name = strings.TrimSpace(in.Name)
	switch {
	case in.Name == "":
		return apperr.Input("name", "请填写考试计划名称")
	case utf8.RuneCountInString(in.Name) > 128:
		return apperr.Input("name", "考试计划名称不能超过128个字")
	case in.RegionID <= 0:
		return apperr.Input("regionID", "请选择地区")
	case in.EnrollStartsAt.IsZero():
		return apperr.Input("enrollStartsAt", "请填写报名开始时间")
	case in.EnrollEndsAt.IsZero():
		return apperr.Input("enrollEndsAt", "请填写报名截止时间")
	case in.ExamFrom.IsZero():
		return apperr.Input("examFrom", "请填写考试开始日期")
	case in.ExamTo.IsZero():
		return apperr.Input("examTo", "请填写考试结束日期")
	case !in.EnrollEndsAt.After(in.EnrollStartsAt):
		return apperr.Input("enrollEndsAt", "报名截止时间必须晚于报名开始时间")
	case in.ExamTo.Before(in.ExamFrom):
		return apperr.Input("examTo", "考试结束日期不能早于考试开始日期")
	case in.ExamTo.Sub(in.ExamFrom) > maxPlanSpan:
		return apperr.Input("examTo", "一个考试计划的考试日期不能超过一年")
	// The enrollment window opens before the exams and may run into them
	// (later sessions), but never past the last exam.
	case in.EnrollStartsAt.After(in.ExamFrom):
		return apperr.Input("enrollStartsAt", "报名开始时间不能晚于考试开始日期")
	case in.EnrollEndsAt.After(in.ExamTo):
		return apperr.Input("enrollEndsAt", "报名截止时间不能晚于考试结束日期")
	}
	y, m, d := now.In(cst).Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, cst)
	switch {
	case ch.examFrom && in.ExamFrom.Before(today):
		return apperr.Input("examFrom", "考试开始日期不能早于今天")
	case ch.examTo && !in.ExamTo.After(now):
		return apperr.Input("examTo", "考试结束日期已过")
	case ch.enrollEnds && !in.EnrollEndsAt.After(now):
		return apperr.Input("enrollEndsAt", "报名截止时间已过")
	}
	return nil
}

func checkRegion(ctx context.Context, c *ent.Client, id int) error {
	ok, err := c.Region.Query().Where(region.ID(id)).Exist(ctx)
	if err != nil {
		return err
	}
	if !ok {
		return apperr.Input("regionID", "地区不存在")
	}
	return nil
}

// CreatePlan drafts a plan. A TRAINING_ORG's plan belongs to its institution
// (it assigns its own candidates to it); an ADMIN's plan belongs to no
// institution and is filled by candidates and companies enrolling online.
func (s *Service) CreatePlan(ctx context.Context, in PlanInput) (*ent.ExamPlan, error) {
	v, err := requireManager(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkPlan(&in, changed{true, true, true}, s.now()); err != nil {
		return nil, err
	}
	var out *ent.ExamPlan
	err = txn.WithTx(ctx, s.Client, func(ctx context.Context) error {
		c := s.db(ctx)
		if err := checkRegion(ctx, c, in.RegionID); err != nil {
			return err
		}
		create := c.ExamPlan.Create().SetName(in.Name).SetRegionID(in.RegionID).
			SetEnrollStartsAt(in.EnrollStartsAt).SetEnrollEndsAt(in.EnrollEndsAt).
			SetExamFrom(in.ExamFrom).SetExamTo(in.ExamTo)
		if v.Role == viewer.TrainingOrg {
			org, err := c.Organization.Get(viewer.SystemContext(ctx), v.OrgID)
			if err != nil {
				return err
			}
			if org.Kind != organization.KindTRAINING_ORG {
				return apperr.New(apperr.Forbidden, "账号未关联培训机构")
			}
			create.SetTrainingOrgID(v.OrgID)
		}
		// The viewer's context: privacy checks the institution again.
		out, err = create.Save(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// UpdatePlan changes a draft plan. Sessions already added must stay within
// the new exam dates.
func (s *Service) UpdatePlan(ctx context.Context, id int, in PlanUpdate) (*ent.ExamPlan, error) {
	v, err := requireManager(ctx)
	if err != nil {
		return nil, err
	}
	var out *ent.ExamPlan
	err = txn.WithTx(ctx, s.Client, func(ctx context.Context) error {
		c := s.db(ctx)
		p, err := editablePlan(ctx, c, v, id)
		if err != nil {
			return err
		}
		merged := PlanInput{Name: p.Name, RegionID: p.RegionID, EnrollStartsAt: p.EnrollStartsAt,
			EnrollEndsAt: p.EnrollEndsAt, ExamFrom: p.ExamFrom, ExamTo: p.ExamTo}
		set := func(dst *time.Time, src *time.Time) bool {
			if src == nil || src.Equal(*dst) {
				return false
			}
			*dst = *src
			return true
		}
		if in.Name != nil {
			merged.Name = *in.Name
		}
		if in.RegionID != nil {
			merged.RegionID = *in.RegionID
		}
		set(&merged.EnrollStartsAt, in.EnrollStartsAt)
		ch := changed{
			enrollEnds: set(&merged.EnrollEndsAt, in.EnrollEndsAt),
			examFrom:   set(&merged.ExamFrom, in.ExamFrom),
			examTo:     set(&merged.ExamTo, in.ExamTo),
		}
		if err := checkPlan(&merged, ch, s.now()); err != nil {
			return err
		}
		if merged.RegionID != p.RegionID {
			if err := checkRegion(ctx, c, merged.RegionID); err != nil {
				return err
			}
		}
		outside, err := c.ExamSession.Query().Where(examsession.PlanID(id), examsession.StatusNEQ(examsession.StatusCANCELLED),
			examsession.Or(examsession.StartsAtLT(merged.ExamFrom), examsession.StartsAtGT(merged.ExamTo))).Exist(ctx)
		if err != nil {
			return err
		}
		if outside {
			field := "examFrom"
			if ch.examTo {
				field = "examTo"
			}
			return apperr.Input(field, "已有考试场次不在新的考试日期范围内，请先调整这些场次")
		}
		// Conditional on DRAFT as well (the plan row is locked; this is the
		// second line), and privacy narrows an institution to its own drafts.
		n, err := c.ExamPlan.Update().Where(examplan.ID(id), examplan.StatusEQ(examplan.StatusDRAFT)).
			SetName(merged.Name).SetRegionID(merged.RegionID).
			SetEnrollStartsAt(merged.EnrollStartsAt).SetEnrollEndsAt(merged.EnrollEndsAt).
			SetExamFrom(merged.ExamFrom).SetExamTo(merged.ExamTo).Save(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			return apperr.New(apperr.Conflict, MsgSubmitted)
		}
		out, err = c.ExamPlan.Get(ctx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SubmitPlan is the department's submission (提交): DRAFT → SUBMITTED, by
// REVIEWER or ADMIN only. Afterwards the plan, its sessions and its
// assignments are fixed. The institution's accounts are notified.
func (s *Service) SubmitPlan(ctx context.Context, id int) (*ent.ExamPlan, error) {
	v, err := authz.Require(ctx, "只有管理部门可以提交考试计划，培训机构只能制定和修改考试计划", viewer.Reviewer, viewer.Admin)
	if err != nil {
		return nil, err
	}
	var out *ent.ExamPlan
	err = txn.WithTx(ctx, s.Client, func(ctx context.Context) error {
		c := s.db(ctx)
		p, err := lockPlan(ctx, c, id)
		if err != nil {
			return err
		}
		if p.Status != examplan.StatusDRAFT {
			return apperr.New(apperr.Conflict, MsgAlreadySubmit)
		}
		has, err := c.ExamSession.Query().Where(examsession.PlanID(id), examsession.StatusNEQ(examsession.StatusCANCELLED)).Exist(ctx)
		if err != nil {
			return err
		}
		if !has {
			return apperr.New(apperr.Conflict, MsgNoSessions)
		}
		n, err := c.ExamPlan.Update().Where(examplan.ID(id), examplan.StatusEQ(examplan.StatusDRAFT)).
			SetStatus(examplan.StatusSUBMITTED).SetSubmittedAt(s.now()).SetSubmittedByID(v.UserID).Save(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			return apperr.New(apperr.Conflict, MsgAlreadySubmit)
		}
		if err := s.notifyOrg(ctx, c, p.TrainingOrgID, KindPlanSubmitted, "考试计划已提交",
			"考试计划「"+p.Name+"」已由管理部门提交，不能再修改。"); err != nil {
			return err
		}
		out, err = c.ExamPlan.Get(ctx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
