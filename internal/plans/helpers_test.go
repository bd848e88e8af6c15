package plans_test

import (
	"context"
	"errors"
	"fmt"
	"github.com/kaowu/kaowu/internal/testenv"
	"io"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	"entgo.io/ent/privacy"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/enrollment"
	"github.com/kaowu/kaowu/ent/examsession"
	"github.com/kaowu/kaowu/ent/notification"
	"github.com/kaowu/kaowu/ent/organization"
	"github.com/kaowu/kaowu/ent/schematype"
	"github.com/kaowu/kaowu/ent/subject"
	"github.com/kaowu/kaowu/ent/trainingrecord"
	"github.com/kaowu/kaowu/ent/user"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/db"
	"github.com/kaowu/kaowu/internal/events"
	"github.com/kaowu/kaowu/internal/notify"
	"github.com/kaowu/kaowu/internal/plans"
	"github.com/kaowu/kaowu/internal/txn"
	"github.com/kaowu/kaowu/internal/viewer"
)

var cst = time.FixedZone("CST", 8*3600)

// day is a date in the test calendar (the clock starts on 2030-03-01 09:00 CST).
func day(m time.Month, d, h, min int) time.Time { return time.Date(2030, m, d, h, min, 0, 0, cst) }

type clock = testenv.Clock

// env is a migrated database with a plans service, two training
// institutions, two exam sites with rooms, and an account per role.
type env struct {
	t      *testing.T
	client *ent.Client
	svc    *plans.Service
	clock  *clock
	ctx    context.Context
	sys    context.Context
	seq    int

	region                           *ent.Region
	trainer, trainer2, site, site2   *ent.Organization
	admin, reviewer, trainU, train2U *ent.User
	siteU, site2U, candU             *ent.User
	subjA, subjB, subjOther          *ent.Subject
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newEnv(t *testing.T, url string) *env {
	t.Helper()
	ctx := context.Background()
	_, client := testenv.Client(t, url, db.Options{MaxOpenConns: 10})
	bus := events.NewLocal()
	t.Cleanup(func() { _ = bus.Close() })
	clk := testenv.NewClock(day(time.March, 1, 9, 0))
	svc := &plans.Service{
		Client:   client,
		Notifier: &notify.Notifier{Client: client, Bus: bus, SMS: &notify.Recorder{}, Log: quietLog()},
		Now:      clk.Now,
		Rand:     rand.New(rand.NewPCG(2026, 9)),
	}
	client.Room.Use(svc.RoomHook())
	e := &env{t: t, client: client, svc: svc, clock: clk, ctx: ctx, sys: viewer.SystemContext(ctx)}
	e.region = must(e.client.Region.Create().SetCode("4403").SetName("深圳市").Save(e.sys))(t)
	org := func(kind organization.Kind, name string) *ent.Organization {
		return must(e.client.Organization.Create().SetKind(kind).SetName(name).Save(e.sys))(t)
	}
	e.trainer, e.trainer2 = org(organization.KindTRAINING_ORG, "安培培训中心"), org(organization.KindTRAINING_ORG, "建安培训学校")
	e.site, e.site2 = org(organization.KindEXAM_SITE, "南山考点"), org(organization.KindEXAM_SITE, "福田考点")
	dept := org(organization.KindDEPARTMENT, "安全监管处")
	e.admin = e.user(user.RoleADMIN, nil)
	e.reviewer = e.user(user.RoleREVIEWER, dept)
	e.trainU, e.train2U = e.user(user.RoleTRAINING_ORG, e.trainer), e.user(user.RoleTRAINING_ORG, e.trainer2)
	e.siteU, e.site2U = e.user(user.RoleEXAM_SITE, e.site), e.user(user.RoleEXAM_SITE, e.site2)
	e.candU = e.user(user.RoleCANDIDATE, nil)
	subj := func(code string, cat subject.Category, fee int) *ent.Subject {
		return must(e.client.Subject.Create().SetCode(code).SetName(code + "类安全员").SetCategory(cat).SetFeeCents(fee).Save(e.sys))(t)
	}
	e.subjA, e.subjB, e.subjOther = subj("A", subject.CategoryA, 12000), subj("B", subject.CategoryB, 15000), subj("SAG", subject.CategoryOTHER, 6000)
	return e
}

// must returns a function that fails the test on err, else returns v.
func must[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

var mustOK = testenv.MustOK

func (e *env) user(role user.Role, org *ent.Organization) *ent.User {
	e.t.Helper()
	e.seq++
	c := e.client.User.Create().SetRole(role).SetLogin(fmt.Sprintf("%s%d", role, e.seq)).
		SetName(fmt.Sprintf("%s%d", role, e.seq)).SetPasswordHash("x").SetPhone(fmt.Sprintf("1380000%04d", e.seq))
	if org != nil {
		c.SetOrganizationID(org.ID)
	}
	return must(c.Save(e.sys))(e.t)
}

// as returns a context for u.
func (e *env) as(u *ent.User) context.Context {
	v := &viewer.Viewer{UserID: u.ID, Role: viewer.Role(u.Role), SessionID: 1}
	if u.OrganizationID != nil {
		v.OrgID = *u.OrganizationID
	}
	return viewer.NewContext(e.ctx, v)
}

// trainees creates n candidates, each with a training record at org in cat
// with the given status, and returns their ids in creation order.
func (e *env) trainees(n int, org *ent.Organization, cat schematype.ExamCategory, status trainingrecord.Status) []int {
	e.t.Helper()
	users := make([]*ent.UserCreate, n)
	for i := range users {
		e.seq++
		users[i] = e.client.User.Create().SetRole(user.RoleCANDIDATE).SetLogin(fmt.Sprintf("cand%d", e.seq)).
			SetName(fmt.Sprintf("考生%d", e.seq)).SetPasswordHash("x")
	}
	us := must(e.client.User.CreateBulk(users...).Save(e.sys))(e.t)
	recs := make([]*ent.TrainingRecordCreate, n)
	ids := make([]int, n)
	for i, u := range us {
		ids[i] = u.ID
		recs[i] = e.client.TrainingRecord.Create().SetCandidateID(u.ID).SetTrainingOrgID(org.ID).
			SetCategory(cat).SetHours(40).SetStatus(status).SetResult(trainingrecord.ResultPASS)
	}
	must(e.client.TrainingRecord.CreateBulk(recs...).Save(e.sys))(e.t)
	return ids
}

func (e *env) room(site *ent.Organization, name string, capacity int) *ent.Room {
	e.t.Helper()
	return must(e.client.Room.Create().SetSiteID(site.ID).SetName(name).SetCapacity(capacity).Save(e.sys))(e.t)
}

// planInput is a valid plan: enrollment in March, exams in April 2030.
func (e *env) planInput() plans.PlanInput {
	return plans.PlanInput{Name: "2030年4月安全员考试", RegionID: e.region.ID,
		EnrollStartsAt: day(time.March, 1, 0, 0), EnrollEndsAt: day(time.March, 20, 23, 59),
		ExamFrom: day(time.April, 1, 0, 0), ExamTo: day(time.April, 30, 23, 59)}
}

// plan creates a draft plan as u.
func (e *env) plan(u *ent.User) *ent.ExamPlan {
	e.t.Helper()
	return must(e.svc.CreatePlan(e.as(u), e.planInput()))(e.t)
}

// session adds a session as u at April d, h:00 for 90 minutes.
func (e *env) session(u *ent.User, p *ent.ExamPlan, subj *ent.Subject, r *ent.Room, d, h int) *ent.ExamSession {
	e.t.Helper()
	return must(e.svc.AddSession(e.as(u), plans.SessionInput{PlanID: p.ID, SubjectID: subj.ID, RoomID: r.ID,
		StartsAt: day(time.April, d, h, 0), DurationMinutes: 90}))(e.t)
}

func (e *env) sess(id int) *ent.ExamSession {
	e.t.Helper()
	return must(e.client.ExamSession.Get(e.sys, id))(e.t)
}

func (e *env) enrollments() int {
	e.t.Helper()
	return must(e.client.Enrollment.Query().Count(e.sys))(e.t)
}

func (e *env) liveEnrollments(sessionID int) int {
	e.t.Helper()
	return must(e.client.Enrollment.Query().Where(enrollment.SessionID(sessionID),
		enrollment.StatusIn(enrollment.StatusPENDING_REVIEW, enrollment.StatusAPPROVED)).Count(e.sys))(e.t)
}

func (e *env) totalTaken() int {
	e.t.Helper()
	xs := must(e.client.ExamSession.Query().All(e.sys))(e.t)
	n := 0
	for _, x := range xs {
		n += x.Taken
	}
	return n
}

func (e *env) notes(u *ent.User, kind string) int {
	e.t.Helper()
	return must(e.client.Notification.Query().Where(notification.UserID(u.ID), notification.Kind(kind)).Count(e.sys))(e.t)
}

// consistent checks the seat invariant: every session's taken equals the
// live enrollments holding a seat in it, and stays within capacity.
func (e *env) consistent() {
	e.t.Helper()
	for _, x := range must(e.client.ExamSession.Query().Where(examsession.StatusNEQ(examsession.StatusCANCELLED)).All(e.sys))(e.t) {
		if n := e.liveEnrollments(x.ID); n != x.Taken || x.Taken > x.Capacity {
			e.t.Fatalf("session %d: taken %d, capacity %d, seated enrollments %d", x.ID, x.Taken, x.Capacity, n)
		}
	}
}

// rolledBack runs fn in a transaction that is rolled back; it returns fn's error.
func (e *env) rolledBack(ctx context.Context, fn func(ctx context.Context) error) error {
	var inner error
	_ = txn.WithTx(ctx, e.client, func(ctx context.Context) error {
		inner = fn(ctx)
		if inner == nil {
			return errors.New("rollback")
		}
		return inner
	})
	return inner
}

// wantCode requires code and exactly field.
var wantCode = testenv.WantField

func wantMsg(t *testing.T, err error, code apperr.Code, field, msg string) {
	t.Helper()
	if ae := wantCode(t, err, code, field); ae.Message != msg {
		t.Fatalf("message %q, want %q", ae.Message, msg)
	}
}

func wantDenied(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, privacy.Deny) {
		t.Fatalf("want privacy denial, got %v", err)
	}
}

func ptr[T any](v T) *T { return &v }
