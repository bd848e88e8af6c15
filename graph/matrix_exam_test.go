package graph_test

// Rows of the authorization matrix for attempts, scoring and proctor
// actions (graph/exam.graphqls), and the fixtures they share with
// exam_api_test.go: a subject with a 10-question TRUE_FALSE bank and
// active MOCK and FORMAL templates (10 × 10 points), and APPROVED + PAID
// enrollments of a candidate in an OPEN online session of the demo
// proctor's site. Everything is written with a system context.

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/attempt"
	"github.com/kaowu/kaowu/ent/enrollment"
	"github.com/kaowu/kaowu/ent/examsession"
	"github.com/kaowu/kaowu/ent/papertemplate"
	"github.com/kaowu/kaowu/ent/question"
	"github.com/kaowu/kaowu/ent/room"
	"github.com/kaowu/kaowu/ent/schema"
	"github.com/kaowu/kaowu/ent/user"
	"github.com/kaowu/kaowu/graph/graphtest"
	"github.com/kaowu/kaowu/internal/demo"
	"github.com/kaowu/kaowu/internal/exam"
	"github.com/kaowu/kaowu/internal/exam/bank"
	"github.com/kaowu/kaowu/internal/viewer"
)

var exSeq atomic.Int64

// exSubject is a fixture subject and the answer key of its bank.
type exSubject struct {
	s    *ent.Subject
	keys map[int]bool // question → correct TRUE_FALSE answer
}

type exFx struct {
	e         *graphtest.Env
	regionID  int
	siteID    int // the demo proctor's (and exam site's) organisation
	roomID    int
	cand      int // demo candidate
	proctor   int // demo proctor
	theory    *exSubject
	practical *exSubject // has_practical
}

var exFxs sync.Map // *graphtest.Env → *exFx

func exFixtures(t testing.TB, e *graphtest.Env) *exFx {
	t.Helper()
	if f, ok := exFxs.Load(e); ok {
		return f.(*exFx)
	}
	ctx, c := enrSys(), e.App.Client
	p := c.User.Query().Where(user.Login("proctor")).OnlyX(ctx)
	if p.OrganizationID == nil {
		t.Fatal("demo proctor has no organisation")
	}
	f := &exFx{e: e, siteID: *p.OrganizationID, proctor: p.ID,
		cand:     c.User.Query().Where(user.Login(demo.CandidateID)).OnlyIDX(ctx),
		regionID: c.Region.Query().FirstIDX(ctx)}
	f.roomID = c.Room.Query().Where(room.SiteID(f.siteID)).FirstIDX(ctx)
	f.theory, f.practical = f.subject(t, false), f.subject(t, true)
	actual, _ := exFxs.LoadOrStore(e, f)
	return actual.(*exFx)
}

// subject creates a subject with its bank and templates.
func (f *exFx) subject(t testing.TB, practical bool) *exSubject {
	t.Helper()
	ctx, c := enrSys(), f.e.App.Client
	n := exSeq.Add(1)
	s := c.Subject.Create().SetCode(fmt.Sprintf("EX%d-%d", time.Now().UnixNano()%1e6, n)).SetName(fmt.Sprintf("考试科目%d", n)).
		SetFeeCents(5000).SetHasPractical(practical).SaveX(ctx)
	out := &exSubject{s: s, keys: map[int]bool{}}
	for i := range 10 {
		tr := i%2 == 0
		q := c.Question.Create().SetSubjectID(s.ID).SetType(question.TypeTRUE_FALSE).
			SetStem(fmt.Sprintf("判断题%d", i)).SetAnswer(schema.QuestionAnswer{True: &tr}).SaveX(ctx)
		out.keys[q.ID] = tr
	}
	rules := []schema.PaperRule{{Type: "TRUE_FALSE", Count: 10, Points: 10}}
	for _, k := range []papertemplate.Kind{papertemplate.KindMOCK, papertemplate.KindFORMAL} {
		c.PaperTemplate.Create().SetSubjectID(s.ID).SetKind(k).SetName(string(k) + "试卷").
			SetDurationMinutes(60).SetRules(rules).SaveX(ctx)
	}
	return out
}

// ready enrolls the candidate (APPROVED, PAID) in a fresh OPEN online session.
func (f *exFx) ready(t testing.TB, candID int, sub *exSubject) (*ent.Enrollment, *ent.ExamSession) {
	t.Helper()
	ctx, c := enrSys(), f.e.App.Client
	now := time.Now()
	plan := c.ExamPlan.Create().SetName(fmt.Sprintf("考试批次%d", exSeq.Add(1))).SetRegionID(f.regionID).
		SetEnrollStartsAt(now.AddDate(0, -1, 0)).SetEnrollEndsAt(now.AddDate(0, 0, -10)).
		SetExamFrom(now.AddDate(0, 0, -1)).SetExamTo(now.AddDate(0, 0, 1)).SaveX(ctx)
	sess := c.ExamSession.Create().SetPlanID(plan.ID).SetSubjectID(sub.s.ID).SetRoomID(f.roomID).SetSiteID(f.siteID).
		SetStartsAt(now.Add(-10 * time.Minute)).SetDurationMinutes(180).SetCapacity(100).SetOnsite(false).
		SetStatus(examsession.StatusOPEN).SaveX(ctx)
	en := c.Enrollment.Create().SetCandidateID(candID).SetPlanID(plan.ID).SetSubjectID(sub.s.ID).
		SetSessionID(sess.ID).SetSiteID(f.siteID).SetStatus(enrollment.StatusAPPROVED).
		SetPledgeAcceptedAt(now.AddDate(0, 0, -20)).SetSubmittedAt(now.AddDate(0, 0, -20)).
		SetFeeCents(5000).SetPaymentStatus(enrollment.PaymentStatusPAID).SaveX(ctx)
	return en, sess
}

func candCtx(id int) context.Context {
	return viewer.NewContext(context.Background(), &viewer.Viewer{UserID: id, Role: viewer.Candidate})
}

const exConsent = "本人同意考试期间摄像头采集人脸图像"

func (f *exFx) start(t testing.TB, candID, enrID int, kind attempt.Kind) *ent.Attempt {
	t.Helper()
	a, err := f.e.App.Exam.Start(candCtx(candID), exam.StartInput{EnrollmentID: enrID, Kind: kind, ConsentText: exConsent, ConsentAccepted: true})
	if err != nil {
		t.Fatalf("start %s: %v", kind, err)
	}
	return a
}

// mock is an IN_PROGRESS mock attempt of the candidate.
func (f *exFx) mock(t testing.TB, candID int) *ent.Attempt {
	en, _ := f.ready(t, candID, f.theory)
	return f.start(t, candID, en.ID, attempt.KindMOCK)
}

// formal is an IN_PROGRESS formal attempt (after a submitted mock).
func (f *exFx) formal(t testing.TB, candID int, sub *exSubject) *ent.Attempt {
	t.Helper()
	en, _ := f.ready(t, candID, sub)
	m := f.start(t, candID, en.ID, attempt.KindMOCK)
	if _, err := f.e.App.Exam.Submit(candCtx(candID), m.ID, attempt.SubmitReasonCANDIDATE); err != nil {
		t.Fatalf("submit mock: %v", err)
	}
	return f.start(t, candID, en.ID, attempt.KindFORMAL)
}

// pending is a submitted formal attempt answered correctly (PENDING_REVIEW).
func (f *exFx) pending(t testing.TB, candID int, sub *exSubject) *ent.Attempt {
	t.Helper()
	a := f.formal(t, candID, sub)
	ctx := candCtx(candID)
	seq := int64(0)
	for q, v := range sub.keys {
		seq++
		if err := f.e.App.Exam.SaveAnswer(ctx, exam.SaveInput{AttemptID: a.ID, QuestionID: q, Response: bank.Response{True: &v}, Seq: seq}); err != nil {
			t.Fatalf("save answer: %v", err)
		}
	}
	a, err := f.e.App.Exam.Submit(ctx, a.ID, attempt.SubmitReasonCANDIDATE)
	if err != nil {
		t.Fatalf("submit formal: %v", err)
	}
	if a.Result == nil || *a.Result != attempt.ResultPENDING_REVIEW {
		t.Fatalf("formal attempt: result %v, want PENDING_REVIEW", a.Result)
	}
	return a
}

// assign puts the demo proctor on the attempt's session.
func (f *exFx) assign(t testing.TB, a *ent.Attempt) {
	t.Helper()
	f.e.App.Client.ProctorAssignment.Create().SetProctorID(f.proctor).SetSessionID(a.SessionID).
		SetSiteID(a.SiteID).SetCreatedAt(time.Now()).SaveX(enrSys())
}

// release cancels the demo candidate's fixture enrollments, so rows of
// other stages find the candidate as seeded.
func (f *exFx) release(t testing.TB) {
	t.Helper()
	subs := []int{f.theory.s.ID, f.practical.s.ID}
	f.e.App.Client.Enrollment.Update().Where(enrollment.CandidateID(f.cand), enrollment.SubjectIDIn(subs...),
		enrollment.StatusNEQ(enrollment.StatusCANCELLED)).SetStatus(enrollment.StatusCANCELLED).ExecX(enrSys())
}

func init() {
	fx := func(t *testing.T, m *matrixEnv) *exFx { return exFixtures(t, m.Env) }
	release := func(t *testing.T, m *matrixEnv, _ string) { fx(t, m).release(t) }
	id := func(n int) map[string]any { return map[string]any{"id": n} }
	cand := only(viewer.Candidate)
	register(map[string]op{
		"startAttempt": {doc: `mutation($e:ID!){startAttempt(input:{enrollmentID:$e,kind:MOCK,consentText:"同意",consentAccepted:true}){id status deadline}}`,
			vars: func(t *testing.T, m *matrixEnv, _, _ string) map[string]any {
				f := fx(t, m)
				en, _ := f.ready(t, f.cand, f.theory)
				return map[string]any{"e": en.ID}
			}, after: release, allowed: cand},
		"attemptState": {doc: `query($id:ID!){attemptState(id:$id){deadline serverNow remainingSeconds status focusLosses paper{totalPoints items{questionID type stem options points}} answers{questionID seq}}}`,
			vars: func(t *testing.T, m *matrixEnv, _, _ string) map[string]any {
				f := fx(t, m)
				return id(f.mock(t, f.cand).ID)
			}, after: release, allowed: only(viewer.Candidate, viewer.ExamSite, viewer.Proctor, viewer.Reviewer, viewer.Admin)},
		"saveAnswer": {doc: `mutation($a:ID!,$q:ID!){saveAnswer(input:{attemptID:$a,questionID:$q,response:{isTrue:true},seq:1}){seq}}`,
			vars: func(t *testing.T, m *matrixEnv, _, _ string) map[string]any {
				f := fx(t, m)
				a := f.mock(t, f.cand)
				var q int
				for q = range f.theory.keys {
					break
				}
				return map[string]any{"a": a.ID, "q": q}
			}, after: release, allowed: cand},
		"reportFocusLoss": {doc: `mutation($id:ID!){reportFocusLoss(attemptID:$id,kind:"BLUR"){count submitted}}`,
			vars: func(t *testing.T, m *matrixEnv, _, _ string) map[string]any {
				f := fx(t, m)
				return id(f.mock(t, f.cand).ID)
			}, after: release, allowed: cand},
		"submitAttempt": {doc: `mutation($id:ID!){submitAttempt(id:$id){id status score}}`,
			vars: func(t *testing.T, m *matrixEnv, _, _ string) map[string]any {
				f := fx(t, m)
				return id(f.mock(t, f.cand).ID)
			}, after: release, allowed: cand},
		"newPhonePairing": {doc: `mutation($id:ID!){newPhonePairing(attemptID:$id){token expiresAt qrPayload}}`,
			vars: func(t *testing.T, m *matrixEnv, _, _ string) map[string]any {
				f := fx(t, m)
				return id(f.mock(t, f.cand).ID)
			}, after: release, allowed: cand},
		"myResults":     {doc: `{myResults{attemptID subjectName score passMark result}}`, allowed: cand},
		"lookupResults": {doc: `{lookupResults(name:"张三",idNumber:"` + demo.CandidateID + `"){name maskedID results{score}}}`, allowed: all},
		"reviewAttempt": {doc: `mutation($id:ID!){reviewAttempt(id:$id,pass:true){id result}}`,
			vars: func(t *testing.T, m *matrixEnv, _, _ string) map[string]any {
				f := fx(t, m)
				u, _ := enrFixtures(t, m.Env).register(t)
				return id(f.pending(t, u.ID, f.theory).ID)
			}, allowed: only(viewer.Reviewer, viewer.Admin)},
		"enterPracticalScore": {doc: `mutation($id:ID!){enterPracticalScore(attemptID:$id,score:80){id practicalScore}}`,
			vars: func(t *testing.T, m *matrixEnv, _, _ string) map[string]any {
				f := fx(t, m)
				u, _ := enrFixtures(t, m.Env).register(t)
				return id(f.pending(t, u.ID, f.practical).ID)
			}, allowed: only(viewer.ExamSite)},
		"assignProctor": {doc: `mutation($p:ID!,$s:ID!){assignProctor(proctorID:$p,sessionID:$s){id proctorID sessionID}}`,
			vars: func(t *testing.T, m *matrixEnv, _, _ string) map[string]any {
				f := fx(t, m)
				u, _ := enrFixtures(t, m.Env).register(t)
				_, s := f.ready(t, u.ID, f.theory)
				return map[string]any{"p": f.proctor, "s": s.ID}
			}, allowed: only(viewer.ExamSite, viewer.Admin)},
	})
	// Proctor actions on an in-progress attempt of a fresh candidate whose
	// session the demo proctor is assigned to.
	proctorRow := func(doc string) op {
		return op{doc: doc, vars: func(t *testing.T, m *matrixEnv, _, _ string) map[string]any {
			f := fx(t, m)
			u, _ := enrFixtures(t, m.Env).register(t)
			a := f.mock(t, u.ID)
			f.assign(t, a)
			return id(a.ID)
		}, allowed: only(viewer.Proctor)}
	}
	register(map[string]op{
		"flagAttempt": proctorRow(`mutation($id:ID!){flagAttempt(attemptID:$id,flagged:true,note:"左顾右盼")}`),
		"noteAttempt": proctorRow(`mutation($id:ID!){noteAttempt(attemptID:$id,text:"考生离开座位")}`),
		"warnAttempt": proctorRow(`mutation($id:ID!){warnAttempt(attemptID:$id,text:"请正视摄像头")}`),
		"endAttempt":  proctorRow(`mutation($id:ID!){endAttempt(attemptID:$id,reason:"违规使用手机")}`),
	})
}
