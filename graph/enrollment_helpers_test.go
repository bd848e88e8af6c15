package graph_test

// Fixtures of the enrollment tests (matrix rows and API tests): fresh open
// plans and sessions, candidates with complete profiles, and enrollments in
// a chosen state. Everything is written with a system context; an
// enrollment holding a seat takes it through internal/seats, so a session's
// taken always equals the enrollments holding a seat in it.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/attachment"
	"github.com/kaowu/kaowu/ent/enrollment"
	"github.com/kaowu/kaowu/ent/organization"
	entprofile "github.com/kaowu/kaowu/ent/profile"
	"github.com/kaowu/kaowu/ent/room"
	"github.com/kaowu/kaowu/ent/schematype"
	"github.com/kaowu/kaowu/ent/user"
	"github.com/kaowu/kaowu/graph/graphtest"
	"github.com/kaowu/kaowu/internal/auth"
	"github.com/kaowu/kaowu/internal/demo"
	"github.com/kaowu/kaowu/internal/idcard"
	"github.com/kaowu/kaowu/internal/profile"
	"github.com/kaowu/kaowu/internal/seats"
	"github.com/kaowu/kaowu/internal/viewer"
)

const (
	// enrFullMsg is the refusal on a full session, word for word.
	enrFullMsg = "该场考试已无剩余座位，请选择其他考试进行报名"
	// enrCompany is the demo company's name (profiles naming it are its staff).
	enrCompany = "深圳市安建工程有限公司"
	// enrDept is the demo reviewer's department.
	enrDept     = "深圳市应急管理局安全监管处"
	enrPassword = "Enroll#2026ok"
)

// enrSeq numbers everything the fixtures create, across environments.
var enrSeq atomic.Int64

// enrFx holds the demo data the fixtures build on, per environment.
type enrFx struct {
	e        *graphtest.Env
	regionID int
	siteID   int
	roomIDs  []int
	subjects map[string]*ent.Subject // by code
	company  int                     // the demo COMPANY organisation
	coUser   int                     // its account
	cand     int                     // the demo CANDIDATE
	reviewer int                     // the demo REVIEWER
	dept     int                     // their department

	mu    sync.Mutex
	plans []int // plans created by the fixtures
}

var enrFxs sync.Map // *graphtest.Env → *enrFx

// enrFixtures returns the fixtures of a seeded environment.
func enrFixtures(t testing.TB, e *graphtest.Env) *enrFx {
	t.Helper()
	if f, ok := enrFxs.Load(e); ok {
		return f.(*enrFx)
	}
	ctx := viewer.SystemContext(context.Background())
	c := e.App.Client
	f := &enrFx{e: e, subjects: map[string]*ent.Subject{}}
	site, err := c.Organization.Query().Where(organization.KindEQ(organization.KindEXAM_SITE)).Order(organization.ByID()).First(ctx)
	if err != nil {
		t.Fatalf("enrollment fixtures: %v", err)
	}
	f.siteID = site.ID
	f.roomIDs = c.Room.Query().Where(room.SiteID(site.ID)).Order(room.ByID()).IDsX(ctx)
	f.regionID = c.Region.Query().FirstIDX(ctx)
	for _, s := range c.Subject.Query().AllX(ctx) {
		f.subjects[s.Code] = s
	}
	f.company = c.Organization.Query().Where(organization.KindEQ(organization.KindCOMPANY), organization.Name(enrCompany)).OnlyIDX(ctx)
	f.coUser = c.User.Query().Where(user.Login("company")).OnlyIDX(ctx)
	f.cand = c.User.Query().Where(user.Login(demo.CandidateID)).OnlyIDX(ctx)
	rev := c.User.Query().Where(user.Login("reviewer")).OnlyX(ctx)
	f.reviewer, f.dept = rev.ID, *rev.OrganizationID
	actual, _ := enrFxs.LoadOrStore(e, f)
	return actual.(*enrFx)
}

func enrSys() context.Context { return viewer.SystemContext(context.Background()) }

// day0 is today's midnight in China Standard Time.
func enrDay0() time.Time {
	cst := time.FixedZone("CST", 8*3600)
	now := time.Now().In(cst)
	return time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, cst)
}

// plan creates a plan in the demo region, open for enrollment now, with
// exams in two to four weeks.
func (f *enrFx) plan(t testing.TB) *ent.ExamPlan {
	t.Helper()
	d := enrDay0()
	p, err := f.e.App.Client.ExamPlan.Create().SetName(fmt.Sprintf("测试批次%d", enrSeq.Add(1))).SetRegionID(f.regionID).
		SetEnrollStartsAt(d.AddDate(0, 0, -1)).SetEnrollEndsAt(d.AddDate(0, 0, 12)).
		SetExamFrom(d.AddDate(0, 0, 14)).SetExamTo(d.AddDate(0, 0, 28)).Save(enrSys())
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	f.mu.Lock()
	f.plans = append(f.plans, p.ID)
	f.mu.Unlock()
	return p
}

// session adds a sitting of the subject (by code) to a plan, in a room of
// the first demo site, within the plan's exam dates.
func (f *enrFx) session(t testing.TB, planID int, code string, capacity int) *ent.ExamSession {
	t.Helper()
	n := enrSeq.Add(1)
	start := enrDay0().AddDate(0, 0, 15).Add(8*time.Hour + time.Duration(n%600)*time.Minute)
	s, err := f.e.App.Client.ExamSession.Create().SetPlanID(planID).SetSubjectID(f.subjects[code].ID).
		SetRoomID(f.roomIDs[int(n)%len(f.roomIDs)]).SetSiteID(f.siteID).
		SetStartsAt(start).SetDurationMinutes(90).SetCapacity(capacity).Save(enrSys())
	if err != nil {
		t.Fatalf("session: %v", err)
	}
	return s
}

// openSession is a session of the subject in a fresh plan: nobody is
// enrolled in that plan yet, so the one-live-enrollment rule cannot bite.
func (f *enrFx) openSession(t testing.TB, code string, capacity int) *ent.ExamSession {
	t.Helper()
	return f.session(t, f.plan(t).ID, code, capacity)
}

// enrPhoto is a small JPEG standing in for every scanned document.
var enrPhoto = sync.OnceValue(func() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 64, 80))
	for y := range 80 {
		for x := range 64 {
			img.Set(x, y, color.RGBA{uint8(150 + x), uint8(150 + y), 200, 255})
		}
	}
	var buf bytes.Buffer
	_ = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 70})
	return buf.Bytes()
})

// candidate registers a candidate (login: the returned ID number, password
// enrPassword) with a complete SOCIAL C2 profile through the profile
// service. staff names the demo company in the profile (which makes the
// candidate its staff); otherwise another employer.
func (f *enrFx) candidate(t testing.TB, staff bool) (*ent.User, string) {
	t.Helper()
	u, login := f.register(t)
	company := "深圳市其他建筑有限公司"
	if staff {
		company = enrCompany
	}
	f.fillProfile(t, u.ID, company, true)
	return u, login
}

// register creates a candidate account without a profile.
func (f *enrFx) register(t testing.TB) (*ent.User, string) {
	t.Helper()
	n := int(enrSeq.Add(1))
	id := idcard.Generate("440307", time.Date(1979, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, n/1000), n%1000)
	u, err := f.e.App.Auth.RegisterPerson(context.Background(), auth.PersonInput{
		IDNumber: id, Name: fmt.Sprintf("考生%d", n), Phone: fmt.Sprintf("139%08d", n), Password: enrPassword,
	})
	if err != nil {
		t.Fatalf("register candidate: %v", err)
	}
	return u, id
}

// fillProfile saves a SOCIAL C2 profile as the candidate; with files, every
// required attachment is uploaded too (the profile is then complete).
func (f *enrFx) fillProfile(t testing.TB, userID int, company string, files bool) {
	t.Helper()
	ctx := viewer.NewContext(context.Background(), &viewer.Viewer{UserID: userID, Role: viewer.Candidate})
	social, cat, edu := entprofile.CandidateTypeSOCIAL, schematype.CategoryC2, entprofile.EducationBACHELOR
	years, eth, addr := 5, "汉族", "深圳市南山区粤海街道"
	if _, err := f.e.App.Profiles.Update(ctx, profile.UpdateInput{CandidateType: &social, Category: &cat,
		CompanyName: &company, YearsInTrade: &years, Education: &edu, Ethnicity: &eth, Address: &addr}); err != nil {
		t.Fatalf("profile: %v", err)
	}
	if !files {
		return
	}
	img := enrPhoto()
	for _, k := range []attachment.Kind{attachment.KindID_PHOTO, attachment.KindID_CARD_FRONT, attachment.KindID_CARD_BACK,
		attachment.KindEDUCATION_CERT, attachment.KindCOMMITMENT_LETTER, attachment.KindSTUDY_PROOF} {
		if _, err := f.e.App.Profiles.Upload(ctx, k, "scan.jpg", bytes.NewReader(img), int64(len(img))); err != nil {
			t.Fatalf("upload %s: %v", k, err)
		}
	}
}

// enrSpec describes an enrollment fixture.
type enrSpec struct {
	candidate int
	sess      *ent.ExamSession // names the plan and subject
	status    enrollment.Status
	paid      bool // APPROVED and PAID
	byCompany bool // enrolled (and owned) by the demo company
}

// enrollment writes an enrollment in the given state. PENDING_REVIEW and
// APPROVED ones hold a seat in sess (taken through seats.Take); REJECTED
// and CANCELLED ones hold none, as the service leaves them.
func (f *enrFx) enrollment(t testing.TB, s enrSpec) *ent.Enrollment {
	t.Helper()
	ctx := enrSys()
	tx, err := f.e.App.Client.Tx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	c := tx.Enrollment.Create().SetCandidateID(s.candidate).SetPlanID(s.sess.PlanID).SetSubjectID(s.sess.SubjectID).
		SetStatus(s.status).SetPledgeAcceptedAt(now).SetSubmittedAt(now).SetFeeCents(f.subjects[f.code(s.sess.SubjectID)].FeeCents).
		SetEnrolledByID(s.candidate)
	seat := s.status == enrollment.StatusPENDING_REVIEW || s.status == enrollment.StatusAPPROVED
	if seat {
		c.SetSessionID(s.sess.ID).SetSiteID(s.sess.SiteID)
	}
	if s.byCompany {
		c.SetCompanyID(f.company).SetEnrolledByID(f.coUser).SetSource(enrollment.SourceCOMPANY)
	}
	switch s.status {
	case enrollment.StatusAPPROVED:
		c.SetReviewedAt(now).SetReviewerID(f.reviewer).SetReviewDepartmentID(f.dept)
	case enrollment.StatusREJECTED:
		c.SetReviewedAt(now).SetReviewerID(f.reviewer).SetReviewDepartmentID(f.dept).SetReviewReason("学习证明不清晰")
	}
	if s.paid {
		c.SetPaymentStatus(enrollment.PaymentStatusPAID).SetPaidAt(now)
	}
	en, err := c.Save(ctx)
	if err == nil && seat {
		err = seats.Take(ctx, tx.Client(), s.sess.ID)
	}
	if err != nil {
		_ = tx.Rollback()
		t.Fatalf("enrollment fixture: %v", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return en
}

func (f *enrFx) code(subjectID int) string {
	for code, s := range f.subjects {
		if s.ID == subjectID {
			return code
		}
	}
	return ""
}

// releaseDemo cancels the demo candidate's live enrollments in the plans
// the fixtures made (giving their seats back), so that later rows of the
// matrix (profile changes, payments) find the demo candidate as seeded.
func (f *enrFx) releaseDemo(t testing.TB) {
	t.Helper()
	f.mu.Lock()
	plans := append([]int(nil), f.plans...)
	f.mu.Unlock()
	if len(plans) == 0 {
		return
	}
	ctx := enrSys()
	c := f.e.App.Client
	live := c.Enrollment.Query().Where(enrollment.CandidateID(f.cand), enrollment.PlanIDIn(plans...),
		enrollment.StatusIn(enrollment.StatusPENDING_REVIEW, enrollment.StatusAPPROVED)).AllX(ctx)
	for _, en := range live {
		tx, err := c.Tx(ctx)
		if err != nil {
			t.Fatal(err)
		}
		err = tx.Enrollment.UpdateOneID(en.ID).SetStatus(enrollment.StatusCANCELLED).ClearSessionID().ClearSiteID().Exec(ctx)
		if err == nil && en.SessionID != nil {
			err = seats.Release(ctx, tx.Client(), *en.SessionID)
		}
		if err != nil {
			_ = tx.Rollback()
			t.Fatalf("release demo enrollment: %v", err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
}

// taken reads a session's taken seats.
func (f *enrFx) taken(t testing.TB, sessionID int) int {
	t.Helper()
	return f.e.App.Client.ExamSession.GetX(enrSys(), sessionID).Taken
}

// holding counts the enrollments holding a seat in a session.
func (f *enrFx) holding(t testing.TB, sessionID int) int {
	t.Helper()
	return f.e.App.Client.Enrollment.Query().Where(enrollment.SessionID(sessionID)).CountX(enrSys())
}

// checkSeats asserts the invariant over every session.
func (f *enrFx) checkSeats(t testing.TB) {
	t.Helper()
	for _, s := range f.e.App.Client.ExamSession.Query().AllX(enrSys()) {
		if n := f.holding(t, s.ID); n != s.Taken {
			t.Errorf("session %d: taken %d, but %d enrollments hold a seat", s.ID, s.Taken, n)
		}
	}
}

// enrPost posts an operation without failing the test from another
// goroutine: transport errors are returned.
func enrPost(e *graphtest.Env, token, query string, vars map[string]any) (*graphtest.Result, error) {
	b, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, err := http.NewRequest(http.MethodPost, e.Server.URL+"/graphql", bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := e.Server.Client().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	res := &graphtest.Result{Status: resp.StatusCode}
	if err := json.Unmarshal(raw, res); err != nil {
		return nil, fmt.Errorf("response %d not JSON: %s", resp.StatusCode, raw)
	}
	return res, nil
}
