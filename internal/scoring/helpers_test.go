package scoring_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/attempt"
	"github.com/kaowu/kaowu/ent/enrollment"
	"github.com/kaowu/kaowu/ent/evidencerecord"
	"github.com/kaowu/kaowu/ent/notification"
	"github.com/kaowu/kaowu/ent/organization"
	"github.com/kaowu/kaowu/ent/papertemplate"
	"github.com/kaowu/kaowu/ent/profile"
	"github.com/kaowu/kaowu/ent/schema"
	"github.com/kaowu/kaowu/ent/user"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/db"
	"github.com/kaowu/kaowu/internal/events"
	"github.com/kaowu/kaowu/internal/evidence"
	"github.com/kaowu/kaowu/internal/idcard"
	"github.com/kaowu/kaowu/internal/notify"
	"github.com/kaowu/kaowu/internal/scoring"
	"github.com/kaowu/kaowu/internal/testenv"
	"github.com/kaowu/kaowu/internal/viewer"
)

// t0 is the test's "now".
var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))

// env is one migrated database with the scoring service, a site with a
// room, a plan with a session of a theory-only subject and one of a subject
// with a practical part, a reviewer, and the site's account.
type env struct {
	t      testing.TB
	d      *db.DB
	client *ent.Client
	svc    *scoring.Service
	notify *notify.Notifier
	sms    *notify.Recorder
	clock  *testenv.Clock
	ctx    context.Context
	sys    context.Context
	seq    int

	region    *ent.Region
	site      *ent.Organization
	siteUser  *ent.User
	room      *ent.Room
	plan      *ent.ExamPlan
	theory    *ent.Subject // no practical part
	practical *ent.Subject // has_practical, pass mark 60
	reviewer  *ent.User
	admin     *ent.User
}

func newEnv(t testing.TB, url string) *env {
	t.Helper()
	ctx := context.Background()
	d, client := testenv.Client(t, url, db.Options{MaxOpenConns: 20})
	bus := events.NewLocal()
	t.Cleanup(func() { _ = bus.Close() })
	rec := &notify.Recorder{}
	c := testenv.NewClock(t0)
	n := &notify.Notifier{Client: client, Bus: bus, SMS: rec}
	e := &env{t: t, d: d, client: client, notify: n, sms: rec, clock: c, ctx: ctx, sys: viewer.SystemContext(ctx)}
	e.svc = e.service()
	e.region = client.Region.Create().SetCode("440300").SetName("深圳市").SaveX(e.sys)
	e.site = e.org(organization.KindEXAM_SITE, "南山考点")
	e.siteUser = e.user(user.RoleEXAM_SITE, e.site)
	e.room = client.Room.Create().SetSiteID(e.site.ID).SetName("第一考场").SetCapacity(100).SaveX(e.sys)
	e.plan = e.newPlan()
	e.theory = e.subject(false)
	e.practical = e.subject(true)
	dept := e.org(organization.KindDEPARTMENT, "安全监管处")
	e.reviewer = e.user(user.RoleREVIEWER, dept)
	e.admin = e.user(user.RoleADMIN, nil)
	return e
}

// service is a second instance over the same database, as another replica.
func (e *env) service() *scoring.Service {
	return &scoring.Service{Client: e.client, Notifier: e.notify, Now: e.clock.Now}
}

func (e *env) next() int { e.seq++; return e.seq }

func (e *env) org(kind organization.Kind, name string) *ent.Organization {
	e.t.Helper()
	return e.client.Organization.Create().SetKind(kind).SetName(fmt.Sprintf("%s%d", name, e.next())).
		SetStatus(organization.StatusAPPROVED).SaveX(e.sys)
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

func (e *env) subject(hasPractical bool) *ent.Subject {
	e.t.Helper()
	n := e.next()
	s := e.client.Subject.Create().SetCode(fmt.Sprintf("S%d", n)).SetName(fmt.Sprintf("科目%d", n)).
		SetFeeCents(6000).SetHasPractical(hasPractical).SaveX(e.sys)
	e.client.PaperTemplate.Create().SetSubjectID(s.ID).SetKind(papertemplate.KindFORMAL).SetName("正式试卷").
		SetDurationMinutes(90).SetRules([]schema.PaperRule{{Type: "SINGLE", Count: 100, Points: 1}}).ExecX(e.sys)
	return s
}

func (e *env) newPlan() *ent.ExamPlan {
	e.t.Helper()
	return e.client.ExamPlan.Create().SetName(fmt.Sprintf("2026年第%d批", e.next())).SetRegionID(e.region.ID).
		SetEnrollStartsAt(t0.Add(-24 * time.Hour)).SetEnrollEndsAt(t0.Add(10 * 24 * time.Hour)).
		SetExamFrom(t0.Add(20 * 24 * time.Hour)).SetExamTo(t0.Add(30 * 24 * time.Hour)).SaveX(e.sys)
}

func (e *env) session(plan *ent.ExamPlan, subj *ent.Subject) *ent.ExamSession {
	e.t.Helper()
	return e.client.ExamSession.Create().SetPlanID(plan.ID).SetSubjectID(subj.ID).SetRoomID(e.room.ID).
		SetSiteID(e.site.ID).SetStartsAt(t0.Add(20*24*time.Hour + time.Duration(e.next())*time.Minute)).
		SetDurationMinutes(90).SetCapacity(100).SaveX(e.sys)
}

// candidate has a valid resident ID number, a name and a complete profile.
func (e *env) candidate(name string) *ent.User {
	e.t.Helper()
	n := e.next()
	id := idcard.Generate("440305", time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, n), n)
	u := e.client.User.Create().SetRole(user.RoleCANDIDATE).SetLogin(id).SetIDType(user.IDTypeRESIDENT_ID).
		SetIDNumber(id).SetName(name).SetPasswordHash("x").SetPhone(fmt.Sprintf("138%08d", n)).SaveX(e.sys)
	e.client.Profile.Create().SetUserID(u.ID).SetEducation(profile.EducationBACHELOR).SetAddress("深圳市南山区").ExecX(e.sys)
	return u
}

// submitted creates an approved, paid enrollment of u in a session of subj
// and its FORMAL attempt, submitted with score (FAIL below 60, else
// PENDING_REVIEW), and starts its evidence chain (consent, submission) the
// way the exam package does.
func (e *env) submitted(u *ent.User, subj *ent.Subject, score int) *ent.Attempt {
	e.t.Helper()
	sess := e.session(e.plan, subj)
	return e.submittedIn(u, sess, score)
}

func (e *env) submittedIn(u *ent.User, sess *ent.ExamSession, score int) *ent.Attempt {
	e.t.Helper()
	en := e.client.Enrollment.Create().SetCandidateID(u.ID).SetPlanID(sess.PlanID).SetSubjectID(sess.SubjectID).
		SetSessionID(sess.ID).SetSiteID(sess.SiteID).SetStatus(enrollment.StatusAPPROVED).
		SetPledgeAcceptedAt(t0).SetSubmittedAt(t0).SetFeeCents(6000).
		SetPaymentStatus(enrollment.PaymentStatusPAID).SetPaidAt(t0).SaveX(e.sys)
	return e.submittedWith(u, en, sess, score)
}

// submittedWith creates the submitted FORMAL attempt of enrollment en.
func (e *env) submittedWith(u *ent.User, en *ent.Enrollment, sess *ent.ExamSession, score int) *ent.Attempt {
	e.t.Helper()
	tpl := e.client.PaperTemplate.Query().Where(papertemplate.SubjectID(sess.SubjectID), papertemplate.KindEQ(papertemplate.KindFORMAL)).OnlyX(e.sys)
	result := attempt.ResultPENDING_REVIEW
	if score < tpl.PassMark {
		result = attempt.ResultFAIL
	}
	start := sess.StartsAt
	a := e.client.Attempt.Create().SetEnrollmentID(en.ID).SetCandidateID(u.ID).SetSessionID(sess.ID).
		SetSiteID(sess.SiteID).SetTemplateID(tpl.ID).SetKind(attempt.KindFORMAL).SetSeed(int64(e.next())).
		SetStatus(attempt.StatusSUBMITTED).SetSubmitReason(attempt.SubmitReasonCANDIDATE).
		SetStartedAt(start).SetDeadline(start.Add(90 * time.Minute)).SetSubmittedAt(start.Add(time.Hour)).
		SetConsentText("本人同意考试期间采集面部图像").SetConsentAt(start).
		SetScore(score).SetPassMark(tpl.PassMark).SetResult(result).SaveX(e.sys)
	chain := evidence.Chain("attempt", a.ID)
	uid := u.ID
	for _, k := range []string{evidence.KindConsent, evidence.KindSubmit} {
		if _, err := evidence.Append(e.ctx, e.client, chain, k, &uid, start, map[string]any{"score": score}); err != nil {
			e.t.Fatal(err)
		}
	}
	return a
}

func (e *env) get(id int) *ent.Attempt {
	e.t.Helper()
	return e.client.Attempt.GetX(e.sys, id)
}

func (e *env) records(a *ent.Attempt) []*ent.EvidenceRecord {
	e.t.Helper()
	return e.client.EvidenceRecord.Query().Where(evidencerecord.Chain(evidence.Chain("attempt", a.ID))).
		Order(evidencerecord.BySeq()).AllX(e.sys)
}

func (e *env) notes(u *ent.User) []*ent.Notification {
	e.t.Helper()
	return e.client.Notification.Query().Where(notification.UserID(u.ID), notification.Kind(scoring.KindReviewed)).AllX(e.sys)
}

// exec runs raw SQL (with ? placeholders) and wants one row changed.
func (e *env) exec(query string, args ...any) {
	e.t.Helper()
	if e.d.Dialect == dialect.Postgres {
		for i := 1; strings.Contains(query, "?"); i++ {
			query = strings.Replace(query, "?", fmt.Sprintf("$%d", i), 1)
		}
	}
	res, err := e.d.SQL.Exec(query, args...)
	if err != nil {
		e.t.Fatalf("%s: %v", query, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		e.t.Fatalf("%s: %d rows", query, n)
	}
}

func as(ctx context.Context, u *ent.User) context.Context {
	v := &viewer.Viewer{UserID: u.ID, Role: viewer.Role(u.Role)}
	if u.OrganizationID != nil {
		v.OrgID = *u.OrganizationID
	}
	return viewer.NewContext(ctx, v)
}

func (e *env) as(u *ent.User) context.Context { return as(e.ctx, u) }

// from is an anonymous request from a client address.
func (e *env) from(ip string) context.Context {
	return viewer.WithRequest(e.ctx, &viewer.Request{IP: ip})
}

var wantCode = testenv.WantCode

func wantField(t *testing.T, err error, field string) {
	t.Helper()
	testenv.WantField(t, err, apperr.BadInput, field)
}

var mustOK = testenv.MustOK
