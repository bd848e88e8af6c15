package enrollment_test

import (
	"context"
	"errors"
	"fmt"
	"github.com/kaowu/kaowu/internal/testenv"
	"testing"
	"time"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/enrollment"
	"github.com/kaowu/kaowu/ent/examsession"
	"github.com/kaowu/kaowu/ent/notification"
	"github.com/kaowu/kaowu/ent/organization"
	"github.com/kaowu/kaowu/ent/profile"
	"github.com/kaowu/kaowu/ent/schematype"
	"github.com/kaowu/kaowu/ent/subject"
	"github.com/kaowu/kaowu/ent/user"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/db"
	enr "github.com/kaowu/kaowu/internal/enrollment"
	"github.com/kaowu/kaowu/internal/events"
	"github.com/kaowu/kaowu/internal/notify"
	"github.com/kaowu/kaowu/internal/txn"
	"github.com/kaowu/kaowu/internal/viewer"
)

// fullMsg is the refusal the issue requires, word for word.
const fullMsg = "该场考试已无剩余座位，请选择其他考试进行报名"

// t0 is the test's "now": inside the enrollment window of the plans below.
var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))

type clock = testenv.Clock

// rowChecker is a real ProfileChecker: the profile row must exist and name
// an education and an address. It reads in the caller's transaction.
type rowChecker struct{ client *ent.Client }

func (c rowChecker) Completeness(ctx context.Context, userID int) (bool, []string, string, error) {
	p, err := txn.Client(ctx, c.client).Profile.Query().Where(profile.UserID(userID)).Only(ctx)
	if ent.IsNotFound(err) {
		return false, []string{"个人资料"}, "", nil
	} else if err != nil {
		return false, nil, "", err
	}
	category := ""
	if p.Category != nil {
		category = string(*p.Category)
	}
	var missing []string
	if p.Education == nil {
		missing = append(missing, "学历")
	}
	if p.Address == "" {
		missing = append(missing, "通讯地址")
	}
	return len(missing) == 0, missing, category, nil
}

// env is one migrated database with the enrollment service and a plan:
// a region, a site with a room, a subject, an open plan, a department with
// a reviewer, and an approved company with its account.
type env struct {
	t      testing.TB
	d      *db.DB
	client *ent.Client
	svc    *enr.Service
	sms    *notify.Recorder
	clock  *clock
	ctx    context.Context
	sys    context.Context
	seq    int

	region      *ent.Region
	site        *ent.Organization
	room        *ent.Room
	subj        *ent.Subject
	plan        *ent.ExamPlan
	dept        *ent.Organization
	reviewer    *ent.User
	company     *ent.Organization
	companyUser *ent.User
}

func newEnv(t testing.TB, url string) *env {
	t.Helper()
	ctx := context.Background()
	d, client := testenv.Client(t, url, db.Options{MaxOpenConns: 20})
	bus := events.NewLocal()
	t.Cleanup(func() { _ = bus.Close() })
	rec := &notify.Recorder{}
	c := testenv.NewClock(t0)
	svc := &enr.Service{
		Client:   client,
		Notifier: &notify.Notifier{Client: client, Bus: bus, SMS: rec},
		Profiles: rowChecker{client: client},
		Now:      c.Now,
	}
	e := &env{t: t, d: d, client: client, svc: svc, sms: rec, clock: c, ctx: ctx, sys: viewer.SystemContext(ctx)}
	e.region = client.Region.Create().SetCode("440300").SetName("深圳市").SaveX(e.sys)
	e.site = e.org(organization.KindEXAM_SITE, "南山考点", organization.StatusAPPROVED)
	e.room = client.Room.Create().SetSiteID(e.site.ID).SetName("第一考场").SetCapacity(1000).SaveX(e.sys)
	e.subj = e.subject(subject.CategoryOTHER, 6000)
	e.plan = e.newPlan(e.region.ID)
	e.dept = e.org(organization.KindDEPARTMENT, "安全监管处", organization.StatusAPPROVED)
	e.reviewer = e.user(user.RoleREVIEWER, e.dept)
	e.company = e.org(organization.KindCOMPANY, "安建工程有限公司", organization.StatusAPPROVED)
	e.companyUser = e.user(user.RoleCOMPANY, e.company)
	return e
}

func (e *env) next() int { e.seq++; return e.seq }

func (e *env) org(kind organization.Kind, name string, status organization.Status) *ent.Organization {
	e.t.Helper()
	return e.client.Organization.Create().SetKind(kind).SetName(fmt.Sprintf("%s%d", name, e.next())).SetStatus(status).SaveX(e.sys)
}

func (e *env) user(role user.Role, org *ent.Organization) *ent.User {
	e.t.Helper()
	n := e.next()
	c := e.client.User.Create().SetRole(role).SetLogin(fmt.Sprintf("%s%d", role, n)).SetName(fmt.Sprintf("用户%d", n)).
		SetPasswordHash("x").SetPhone(fmt.Sprintf("139%08d", n))
	if org != nil {
		c.SetOrganizationID(org.ID)
	}
	return c.SaveX(e.sys)
}

func (e *env) subject(cat subject.Category, fee int) *ent.Subject {
	e.t.Helper()
	n := e.next()
	return e.client.Subject.Create().SetCode(fmt.Sprintf("S%d", n)).SetName(fmt.Sprintf("科目%d", n)).
		SetCategory(cat).SetFeeCents(fee).SaveX(e.sys)
}

// newPlan is open for enrollment from a day before t0 to 10 days after;
// exams run from day 20 to day 30.
func (e *env) newPlan(regionID int) *ent.ExamPlan {
	e.t.Helper()
	return e.client.ExamPlan.Create().SetName(fmt.Sprintf("2026年第%d批", e.next())).SetRegionID(regionID).
		SetEnrollStartsAt(t0.Add(-24 * time.Hour)).SetEnrollEndsAt(t0.Add(10 * 24 * time.Hour)).
		SetExamFrom(t0.Add(20 * 24 * time.Hour)).SetExamTo(t0.Add(30 * 24 * time.Hour)).SaveX(e.sys)
}

// session adds a sitting of subj in plan, day days after t0.
func (e *env) session(plan *ent.ExamPlan, subj *ent.Subject, capacity int, day int) *ent.ExamSession {
	e.t.Helper()
	return e.client.ExamSession.Create().SetPlanID(plan.ID).SetSubjectID(subj.ID).SetRoomID(e.room.ID).SetSiteID(e.site.ID).
		SetStartsAt(t0.Add(time.Duration(day)*24*time.Hour + time.Duration(e.next())*time.Minute)).
		SetDurationMinutes(90).SetCapacity(capacity).SaveX(e.sys)
}

// candidate creates a candidate; complete gives a profile that passes rowChecker.
func (e *env) candidate(complete bool, company *ent.Organization) *ent.User {
	e.t.Helper()
	u := e.user(user.RoleCANDIDATE, nil)
	p := e.client.Profile.Create().SetUserID(u.ID)
	if complete {
		p.SetEducation(profile.EducationBACHELOR).SetAddress("深圳市南山区")
	}
	if company != nil {
		p.SetCompanyID(company.ID).SetCompanyName(company.Name)
	}
	p.SaveX(e.sys)
	return u
}

// candidates creates n candidates with complete profiles in two bulk inserts.
func (e *env) candidates(n int) []*ent.User {
	e.t.Helper()
	var out []*ent.User
	for start := 0; start < n; start += 500 {
		size := min(500, n-start)
		ub := make([]*ent.UserCreate, size)
		for i := range ub {
			k := e.next()
			ub[i] = e.client.User.Create().SetRole(user.RoleCANDIDATE).SetLogin(fmt.Sprintf("bulk%d", k)).
				SetName(fmt.Sprintf("考生%d", k)).SetPasswordHash("x").SetPhone(fmt.Sprintf("137%08d", k))
		}
		users := e.client.User.CreateBulk(ub...).SaveX(e.sys)
		pb := make([]*ent.ProfileCreate, size)
		for i, u := range users {
			pb[i] = e.client.Profile.Create().SetUserID(u.ID).SetEducation(profile.EducationBACHELOR).SetAddress("深圳")
		}
		e.client.Profile.CreateBulk(pb...).SaveX(e.sys)
		out = append(out, users...)
	}
	return out
}

func as(ctx context.Context, u *ent.User) context.Context {
	v := &viewer.Viewer{UserID: u.ID, Role: viewer.Role(u.Role)}
	if u.OrganizationID != nil {
		v.OrgID = *u.OrganizationID
	}
	return viewer.NewContext(ctx, v)
}

func (e *env) as(u *ent.User) context.Context { return as(e.ctx, u) }

// enroll enrolls u (as themself) in sess and fails the test on error.
func (e *env) enroll(u *ent.User, sess *ent.ExamSession) *ent.Enrollment {
	e.t.Helper()
	en, err := e.svc.Enroll(e.as(u), enr.EnrollInput{SessionID: sess.ID, PledgeAccepted: true})
	if err != nil {
		e.t.Fatalf("enroll: %v", err)
	}
	return en
}

// paid enrolls u, approves and marks it paid.
func (e *env) paid(u *ent.User, sess *ent.ExamSession) *ent.Enrollment {
	e.t.Helper()
	en := e.enroll(u, sess)
	if _, err := e.svc.Review(e.as(e.reviewer), en.ID, true, ""); err != nil {
		e.t.Fatal(err)
	}
	if err := e.svc.MarkPaymentPending(e.sys, []int{en.ID}); err != nil {
		e.t.Fatal(err)
	}
	if err := e.svc.MarkPaid(e.sys, []int{en.ID}, e.clock.Now()); err != nil {
		e.t.Fatal(err)
	}
	return e.get(en.ID)
}

func (e *env) get(id int) *ent.Enrollment {
	e.t.Helper()
	return e.client.Enrollment.GetX(e.sys, id)
}

func (e *env) taken(sessionID int) int {
	e.t.Helper()
	return e.client.ExamSession.GetX(e.sys, sessionID).Taken
}

func (e *env) enrollments() int {
	e.t.Helper()
	return e.client.Enrollment.Query().CountX(e.sys)
}

// checkSeats asserts the invariant: every session's taken equals the
// number of enrollments holding a seat in it.
func (e *env) checkSeats() {
	e.t.Helper()
	for _, s := range e.client.ExamSession.Query().AllX(e.sys) {
		n := e.client.Enrollment.Query().Where(enrollment.SessionID(s.ID)).CountX(e.sys)
		if n != s.Taken {
			e.t.Fatalf("session %d: taken %d but %d enrollments hold a seat", s.ID, s.Taken, n)
		}
	}
}

func (e *env) notes(u *ent.User, kind string) []*ent.Notification {
	e.t.Helper()
	return e.client.Notification.Query().Where(notification.UserID(u.ID), notification.Kind(kind)).AllX(e.sys)
}

func (e *env) setCategory(u *ent.User, c schematype.ExamCategory) {
	e.t.Helper()
	e.client.Profile.Update().Where(profile.UserID(u.ID)).SetCategory(c).ExecX(e.sys)
}

func (e *env) setSessionStatus(s *ent.ExamSession, st examsession.Status) {
	e.t.Helper()
	e.client.ExamSession.UpdateOneID(s.ID).SetStatus(st).ExecX(e.sys)
}

var wantCode = testenv.WantCode

// wantField fails unless err is BAD_USER_INPUT naming field.
func wantField(t *testing.T, err error, field string) *apperr.Error {
	t.Helper()
	ae := wantCode(t, err, apperr.BadInput)
	if ae.Field != field {
		t.Fatalf("want field %q, got %q (%s)", field, ae.Field, ae.Message)
	}
	return ae
}

// wantFull fails unless err is the exact "no seat left" refusal.
func wantFull(t *testing.T, err error) {
	t.Helper()
	ae := wantCode(t, err, apperr.Conflict)
	if ae.Message != fullMsg {
		t.Fatalf("message %q, want %q", ae.Message, fullMsg)
	}
}

var mustOK = testenv.MustOK

var errRollback = errors.New("force rollback")
