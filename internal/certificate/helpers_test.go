package certificate_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"image/color"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/attachment"
	"github.com/kaowu/kaowu/ent/attempt"
	"github.com/kaowu/kaowu/ent/enrollment"
	"github.com/kaowu/kaowu/ent/notification"
	"github.com/kaowu/kaowu/ent/organization"
	"github.com/kaowu/kaowu/ent/papertemplate"
	"github.com/kaowu/kaowu/ent/schema"
	"github.com/kaowu/kaowu/ent/subject"
	"github.com/kaowu/kaowu/ent/user"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/certificate"
	"github.com/kaowu/kaowu/internal/certificate/sign"
	"github.com/kaowu/kaowu/internal/db"
	"github.com/kaowu/kaowu/internal/events"
	"github.com/kaowu/kaowu/internal/idcard"
	"github.com/kaowu/kaowu/internal/notify"
	"github.com/kaowu/kaowu/internal/storage"
	"github.com/kaowu/kaowu/internal/testenv"
	"github.com/kaowu/kaowu/internal/viewer"
)

var cst = time.FixedZone("CST", 8*3600)

// t0 is the test's "now": certificates issued then are valid from
// 2026-03-01 until 2029-03-01 (exclusive); renewal opens 2028-12-01.
var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, cst)

const publicURL = "https://kaowu.example.cn"

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func seed(b byte) string {
	return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, ed25519.SeedSize))
}

func ring(t testing.TB, spec string) *sign.Keyring {
	t.Helper()
	k, err := sign.ParseKeys(spec)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// env is one migrated database with the certificate service, two exam
// sites with their accounts, a region, a plan, subjects, ADMIN, REVIEWER.
type env struct {
	t      testing.TB
	client *ent.Client
	svc    *certificate.Service
	notify *notify.Notifier
	store  storage.Store
	keys   *sign.Keyring
	clock  *testenv.Clock
	ctx    context.Context
	sys    context.Context
	seq    int

	region, region2 *ent.Region
	site, site2     *ent.Organization
	siteU, site2U   *ent.User
	room            *ent.Room
	plan            *ent.ExamPlan
	c1, other       *ent.Subject // category C1; category OTHER
	admin, reviewer *ent.User
}

func newEnv(t testing.TB, url string) *env {
	t.Helper()
	ctx := context.Background()
	_, client := testenv.Client(t, url, db.Options{MaxOpenConns: 20})
	bus := events.NewLocal()
	t.Cleanup(func() { _ = bus.Close() })
	store, err := storage.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, client: client, store: store, clock: testenv.NewClock(t0), ctx: ctx, sys: viewer.SystemContext(ctx),
		notify: &notify.Notifier{Client: client, Bus: bus, SMS: &notify.Recorder{}}, keys: ring(t, "k1:"+seed(1))}
	e.svc = e.service(e.keys)
	e.region = client.Region.Create().SetCode("440300").SetName("深圳市").SaveX(e.sys)
	e.region2 = client.Region.Create().SetCode("440100").SetName("广州市").SaveX(e.sys)
	e.site = e.org(organization.KindEXAM_SITE, "南山考点")
	e.site2 = e.org(organization.KindEXAM_SITE, "天河考点")
	e.siteU = e.user(user.RoleEXAM_SITE, e.site)
	e.site2U = e.user(user.RoleEXAM_SITE, e.site2)
	e.room = client.Room.Create().SetSiteID(e.site.ID).SetName("第一考场").SetCapacity(100).SaveX(e.sys)
	e.plan = client.ExamPlan.Create().SetName("2026年第1批").SetRegionID(e.region.ID).
		SetEnrollStartsAt(t0.AddDate(0, -2, 0)).SetEnrollEndsAt(t0.AddDate(0, -1, 0)).
		SetExamFrom(t0.AddDate(0, 0, -20)).SetExamTo(t0.AddDate(0, 0, -10)).SaveX(e.sys)
	e.c1 = e.subject("C1-JZ", "建筑施工企业专职安全生产管理人员（C1）", subject.CategoryC1)
	e.other = e.subject("SAG", "市安规考试", subject.CategoryOTHER)
	e.admin = e.user(user.RoleADMIN, nil)
	e.reviewer = e.user(user.RoleREVIEWER, e.org(organization.KindDEPARTMENT, "安全监管处"))
	return e
}

// service is an instance over the same database with the given keys.
func (e *env) service(keys *sign.Keyring) *certificate.Service {
	return &certificate.Service{Client: e.client, Notifier: e.notify, Store: e.store, Keys: keys,
		PublicURL: publicURL, Authority: "广东省安全生产考试中心", Now: e.clock.Now, Log: quiet()}
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

func (e *env) subject(code, name string, cat subject.Category) *ent.Subject {
	e.t.Helper()
	s := e.client.Subject.Create().SetCode(code).SetName(name).SetCategory(cat).SetFeeCents(6000).SaveX(e.sys)
	e.client.PaperTemplate.Create().SetSubjectID(s.ID).SetKind(papertemplate.KindFORMAL).SetName("正式试卷").
		SetDurationMinutes(90).SetRules([]schema.PaperRule{{Type: "SINGLE", Count: 100, Points: 1}}).ExecX(e.sys)
	return s
}

// candidate has a resident ID number and a profile naming its employer.
func (e *env) candidate(name string) *ent.User {
	e.t.Helper()
	n := e.next()
	id := idcard.Generate("440305", time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, n), n)
	u := e.client.User.Create().SetRole(user.RoleCANDIDATE).SetLogin(id).SetIDType(user.IDTypeRESIDENT_ID).
		SetIDNumber(id).SetName(name).SetPasswordHash("x").SetPhone(fmt.Sprintf("138%08d", n)).SaveX(e.sys)
	e.client.Profile.Create().SetUserID(u.ID).SetCompanyName("深圳建工集团").ExecX(e.sys)
	return u
}

// attempt creates a submitted FORMAL (or MOCK) attempt of u in subj with result.
func (e *env) attempt(u *ent.User, subj *ent.Subject, kind attempt.Kind, result attempt.Result) *ent.Attempt {
	e.t.Helper()
	start := t0.AddDate(0, 0, -15).Add(time.Duration(e.next()) * time.Minute)
	// A plan each: one live enrollment per candidate, plan and subject.
	plan := e.client.ExamPlan.Create().SetName(fmt.Sprintf("2026年第%d批", e.next())).SetRegionID(e.region.ID).
		SetEnrollStartsAt(e.plan.EnrollStartsAt).SetEnrollEndsAt(e.plan.EnrollEndsAt).
		SetExamFrom(e.plan.ExamFrom).SetExamTo(e.plan.ExamTo).SaveX(e.sys)
	sess := e.client.ExamSession.Create().SetPlanID(plan.ID).SetSubjectID(subj.ID).SetRoomID(e.room.ID).
		SetSiteID(e.site.ID).SetStartsAt(start).SetDurationMinutes(90).SetCapacity(100).SaveX(e.sys)
	en := e.client.Enrollment.Create().SetCandidateID(u.ID).SetPlanID(plan.ID).SetSubjectID(subj.ID).
		SetSessionID(sess.ID).SetSiteID(e.site.ID).SetStatus(enrollment.StatusAPPROVED).
		SetPledgeAcceptedAt(start).SetSubmittedAt(start).SetFeeCents(6000).
		SetPaymentStatus(enrollment.PaymentStatusPAID).SaveX(e.sys)
	tpl := e.client.PaperTemplate.Query().Where(papertemplate.SubjectID(subj.ID)).FirstX(e.sys)
	return e.client.Attempt.Create().SetEnrollmentID(en.ID).SetCandidateID(u.ID).SetSessionID(sess.ID).
		SetSiteID(e.site.ID).SetTemplateID(tpl.ID).SetKind(kind).SetSeed(int64(e.next())).
		SetStatus(attempt.StatusSUBMITTED).SetStartedAt(start).SetDeadline(start.Add(90 * time.Minute)).
		SetSubmittedAt(start.Add(time.Hour)).SetConsentText("同意").SetConsentAt(start).
		SetScore(85).SetPassMark(60).SetResult(result).SetReviewedAt(start.Add(48 * time.Hour)).SaveX(e.sys)
}

func (e *env) passed(u *ent.User, subj *ent.Subject) *ent.Attempt {
	return e.attempt(u, subj, attempt.KindFORMAL, attempt.ResultPASS)
}

// issued gives u a certificate in subj, issued by ADMIN now.
func (e *env) issued(u *ent.User, subj *ent.Subject) *ent.Certificate {
	e.t.Helper()
	certs, err := e.svc.IssueBatch(e.as(e.admin), []int{e.passed(u, subj).ID})
	if err != nil {
		e.t.Fatal(err)
	}
	return certs[0]
}

func (e *env) cert(id int) *ent.Certificate {
	e.t.Helper()
	return e.client.Certificate.GetX(e.sys, id)
}

// upload stores an attachment row of u (the service checks ownership only).
func (e *env) upload(u *ent.User) *ent.Attachment {
	e.t.Helper()
	return e.client.Attachment.Create().SetOwnerID(u.ID).SetKind(attachment.KindOTHER).
		SetBlobKey(fmt.Sprintf("users/%d/other/%d.pdf", u.ID, e.next())).SetContentType("application/pdf").
		SetSize(100).SetSha256("x").SetFileName("离职证明.pdf").SaveX(e.sys)
}

// photo stores a solid red JPEG as u's ID photo.
func (e *env) photo(u *ent.User) {
	e.t.Helper()
	jpg := testenv.JPEG(e.t, 300, 400, color.RGBA{220, 0, 0, 255})
	key := fmt.Sprintf("users/%d/id-photo/%d.jpg", u.ID, e.next())
	info, err := e.store.Put(e.ctx, key, bytes.NewReader(jpg), int64(len(jpg)), "image/jpeg")
	if err != nil {
		e.t.Fatal(err)
	}
	e.client.Attachment.Create().SetOwnerID(u.ID).SetKind(attachment.KindID_PHOTO).SetBlobKey(key).
		SetContentType("image/jpeg").SetSize(info.Size).SetSha256(info.SHA256).SetWidth(300).SetHeight(400).ExecX(e.sys)
}

func (e *env) notes(u *ent.User, kind string) []*ent.Notification {
	e.t.Helper()
	return e.client.Notification.Query().Where(notification.UserID(u.ID), notification.Kind(kind)).
		Order(notification.ByID()).AllX(e.sys)
}

func (e *env) as(u *ent.User) context.Context {
	v := &viewer.Viewer{UserID: u.ID, Role: viewer.Role(u.Role)}
	if u.OrganizationID != nil {
		v.OrgID = *u.OrganizationID
	}
	return viewer.NewContext(e.ctx, v)
}

// from is an anonymous request from a client address.
func (e *env) from(ip string) context.Context {
	return viewer.WithRequest(e.ctx, &viewer.Request{IP: ip})
}

var wantCode = testenv.WantCode

func wantField(t testing.TB, err error, field string) *apperr.Error {
	t.Helper()
	ae := wantCode(t, err, apperr.BadInput)
	if ae.Field != field {
		t.Fatalf("want field %q, got %q (%s)", field, ae.Field, ae.Message)
	}
	return ae
}

func mustOK(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
