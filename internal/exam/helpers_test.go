package exam_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/attempt"
	"github.com/kaowu/kaowu/ent/attemptanswer"
	"github.com/kaowu/kaowu/ent/enrollment"
	"github.com/kaowu/kaowu/ent/evidencerecord"
	"github.com/kaowu/kaowu/ent/examsession"
	"github.com/kaowu/kaowu/ent/job"
	"github.com/kaowu/kaowu/ent/organization"
	"github.com/kaowu/kaowu/ent/papertemplate"
	"github.com/kaowu/kaowu/ent/question"
	"github.com/kaowu/kaowu/ent/schema"
	"github.com/kaowu/kaowu/ent/user"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/audit"
	"github.com/kaowu/kaowu/internal/db"
	"github.com/kaowu/kaowu/internal/events"
	"github.com/kaowu/kaowu/internal/exam"
	"github.com/kaowu/kaowu/internal/exam/bank"
	"github.com/kaowu/kaowu/internal/idcard"
	"github.com/kaowu/kaowu/internal/testenv"
	"github.com/kaowu/kaowu/internal/viewer"
)

var cst = time.FixedZone("CST", 8*3600)

// start is when the fixture's sessions begin.
var start = time.Date(2026, 5, 15, 9, 0, 0, 0, cst)

var idSeq atomic.Int64

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// keepAlive records KeepAlive calls.
type keepAlive struct {
	mu    sync.Mutex
	calls map[int]time.Time
}

func (k *keepAlive) KeepAlive(_ context.Context, sessionID int, until time.Time) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.calls == nil {
		k.calls = map[int]time.Time{}
	}
	k.calls[sessionID] = until
	return nil
}

func (k *keepAlive) get(id int) (time.Time, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	t, ok := k.calls[id]
	return t, ok
}

// world: a site with an online session and an on-site one, a subject with a
// 100-point bank (10 true/false, 10 single choice) and MOCK and FORMAL
// templates of 5+5 questions at 10 points each.
type world struct {
	t      testing.TB
	d      *db.DB
	client *ent.Client
	sys    context.Context
	clock  *testenv.Clock
	bus    *events.Local
	ka     *keepAlive
	svc    *exam.Service
	bank   *bank.Service
	u      string

	site          *ent.Organization
	plan          *ent.ExamPlan
	subj          *ent.Subject
	online, site1 *ent.ExamSession
	mockT, formT  *ent.PaperTemplate
	keys          map[int]schema.QuestionAnswer
	sessN         int
}

func eachDB(t *testing.T, fn func(t *testing.T, w *world)) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		d := testenv.Open(t, url, db.Options{})
		fn(t, newWorld(t, d))
	})
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newWorld(t testing.TB, d *db.DB) *world { return newWorldAudit(t, d, true) }

// newWorldAudit: audited installs the audit hook as the server's wiring does.
func newWorldAudit(t testing.TB, d *db.DB, audited bool) *world {
	t.Helper()
	client := d.Client()
	if audited {
		client.Use(audit.Hook(quiet()))
	}
	sys := viewer.SystemContext(context.Background())
	w := &world{t: t, d: d, client: client, sys: sys, u: randHex(4), ka: &keepAlive{}, keys: map[int]schema.QuestionAnswer{}}
	w.bus = events.NewLocal()
	t.Cleanup(func() { _ = w.bus.Close() })
	w.clock = testenv.NewClock(start.Add(5 * time.Minute))
	w.bank = &bank.Service{Client: client}
	w.svc = &exam.Service{Client: client, Dialect: d.Dialect, Bank: w.bank, Bus: w.bus, Auth: w.ka, Now: w.clock.Now, Log: quiet(), Window: 5 * time.Millisecond}

	w.site = client.Organization.Create().SetKind(organization.KindEXAM_SITE).SetName("南山考点" + w.u).SaveX(sys)
	room := client.Room.Create().SetSiteID(w.site.ID).SetName("第一考场").SetCapacity(200).SaveX(sys)
	w.subj = client.Subject.Create().SetCode("S" + w.u).SetName("安全生产知识").SetFeeCents(6000).SaveX(sys)
	reg := client.Region.Create().SetCode(w.u).SetName("深圳" + w.u).SaveX(sys)
	w.plan = client.ExamPlan.Create().SetName("批次").SetRegionID(reg.ID).SetEnrollStartsAt(start.AddDate(0, -1, 0)).
		SetEnrollEndsAt(start.AddDate(0, 0, -10)).SetExamFrom(start).SetExamTo(start.AddDate(0, 0, 1)).SaveX(sys)
	mk := func(onsite bool) *ent.ExamSession {
		return client.ExamSession.Create().SetPlanID(w.plan.ID).SetSubjectID(w.subj.ID).SetRoomID(room.ID).SetSiteID(w.site.ID).
			SetStartsAt(start).SetDurationMinutes(120).SetCapacity(200).SetOnsite(onsite).
			SetStatus(examsession.StatusOPEN).SaveX(sys)
	}
	w.online, w.site1 = mk(false), mk(true)
	for i := 0; i < 10; i++ {
		tr := i%2 == 0
		q := client.Question.Create().SetSubjectID(w.subj.ID).SetType(question.TypeTRUE_FALSE).
			SetStem(fmt.Sprintf("判断题%d", i)).SetAnswer(schema.QuestionAnswer{True: &tr}).SaveX(sys)
		w.keys[q.ID] = q.Answer
		q = client.Question.Create().SetSubjectID(w.subj.ID).SetType(question.TypeSINGLE).
			SetStem(fmt.Sprintf("单选题%d", i)).SetOptions([]string{"甲", "乙", "丙", "丁"}).
			SetAnswer(schema.QuestionAnswer{Options: []int{i % 4}}).SaveX(sys)
		w.keys[q.ID] = q.Answer
	}
	rules := []schema.PaperRule{{Type: "TRUE_FALSE", Count: 5, Points: 10}, {Type: "SINGLE", Count: 5, Points: 10}}
	w.mockT = client.PaperTemplate.Create().SetSubjectID(w.subj.ID).SetKind(papertemplate.KindMOCK).SetName("测试试卷").
		SetDurationMinutes(60).SetRules(rules).SaveX(sys)
	w.formT = client.PaperTemplate.Create().SetSubjectID(w.subj.ID).SetKind(papertemplate.KindFORMAL).SetName("正式试卷").
		SetDurationMinutes(60).SetRules(rules).SaveX(sys)
	return w
}

// candidate is a registered candidate with a login session.
type candidate struct {
	u   *ent.User
	ctx context.Context
	sid int
}

func (w *world) candidate(name string) *candidate {
	n := idcard.Generate("440305", time.Date(1988, 2, 29, 0, 0, 0, 0, time.UTC), int(idSeq.Add(1)))
	u := w.client.User.Create().SetRole(user.RoleCANDIDATE).SetLogin(n).SetIDType(user.IDTypeRESIDENT_ID).
		SetIDNumber(n).SetName(name).SetPasswordHash("x").SaveX(w.sys)
	w.sessN++
	sid := 1000 + w.sessN
	return &candidate{u: u, sid: sid, ctx: viewer.NewContext(context.Background(), &viewer.Viewer{UserID: u.ID, Role: viewer.Candidate, SessionID: sid})}
}

func (w *world) staff(role user.Role) context.Context {
	u := w.client.User.Create().SetRole(role).SetLogin(string(role) + w.u + randHex(3)).SetName("职员").
		SetPasswordHash("x").SetOrganizationID(w.site.ID).SaveX(w.sys)
	return viewer.NewContext(context.Background(), &viewer.Viewer{UserID: u.ID, Role: viewer.Role(role), OrgID: w.site.ID})
}

// enroll seats c in s in the given state (as the enrollment service would have).
func (w *world) enroll(c *candidate, s *ent.ExamSession, st enrollment.Status, pay enrollment.PaymentStatus, checkedIn bool) *ent.Enrollment {
	b := w.client.Enrollment.Create().SetCandidateID(c.u.ID).SetPlanID(w.plan.ID).SetSubjectID(w.subj.ID).
		SetSessionID(s.ID).SetSiteID(s.SiteID).SetStatus(st).SetPledgeAcceptedAt(start.AddDate(0, 0, -20)).
		SetSubmittedAt(start.AddDate(0, 0, -20)).SetFeeCents(6000).SetPaymentStatus(pay)
	if checkedIn {
		b.SetCheckedInAt(start.Add(-10 * time.Minute))
	}
	return b.SaveX(w.sys)
}

// ready is a candidate with an approved, paid enrollment in the online session.
func (w *world) ready(name string) (*candidate, *ent.Enrollment) {
	c := w.candidate(name)
	return c, w.enroll(c, w.online, enrollment.StatusAPPROVED, enrollment.PaymentStatusPAID, false)
}

const consent = "本人同意考试期间由电脑及手机摄像头采集本人面部图像，用于考试监督。"

func startIn(e *ent.Enrollment, kind attempt.Kind) exam.StartInput {
	return exam.StartInput{EnrollmentID: e.ID, Kind: kind, ConsentText: consent, ConsentAccepted: true}
}

func (w *world) start(c *candidate, e *ent.Enrollment, kind attempt.Kind) *ent.Attempt {
	w.t.Helper()
	a, err := w.svc.Start(c.ctx, startIn(e, kind))
	if err != nil {
		w.t.Fatalf("start %s: %v", kind, err)
	}
	return a
}

// paper is the attempt's paper with option maps (what the server grades by).
func (w *world) paper(a *ent.Attempt) bank.Paper {
	w.t.Helper()
	a = w.reload(a)
	p, err := w.bank.PaperOf(w.sys, a.TemplateID, a.Seed, a.Layout)
	if err != nil {
		w.t.Fatal(err)
	}
	return p
}

// answer returns the right (or a wrong) response to an item, in display indexes.
func (w *world) answer(it bank.Item, right bool) bank.Response {
	key := w.keys[it.QuestionID]
	if it.Type == question.TypeTRUE_FALSE {
		v := *key.True == right
		return bank.Response{True: &v}
	}
	want := key.Options[0]
	for d, orig := range it.OptionMap {
		if (orig == want) == right {
			return bank.Response{Options: []int{d}}
		}
	}
	w.t.Fatal("no option")
	return bank.Response{}
}

// counts is what the service may write, for nothing-changed assertions.
type counts struct{ attempts, answers, jobs, evidence int }

func (w *world) counts() counts {
	return counts{
		attempts: w.client.Attempt.Query().CountX(w.sys),
		answers:  w.client.AttemptAnswer.Query().CountX(w.sys),
		jobs:     w.client.Job.Query().Where(job.Kind(exam.JobDeadline)).CountX(w.sys),
		evidence: w.client.EvidenceRecord.Query().CountX(w.sys),
	}
}

func (w *world) evidence(a *ent.Attempt, kind string) int {
	return w.client.EvidenceRecord.Query().Where(evidencerecord.Chain(fmt.Sprintf("attempt:%d", a.ID)), evidencerecord.Kind(kind)).CountX(w.sys)
}

func (w *world) reload(a *ent.Attempt) *ent.Attempt {
	return w.client.Attempt.GetX(w.sys, a.ID)
}

func (w *world) saved(a *ent.Attempt, qid int) *ent.AttemptAnswer {
	r, err := w.client.AttemptAnswer.Query().Where(attemptanswer.AttemptID(a.ID), attemptanswer.QuestionID(qid)).Only(w.sys)
	if ent.IsNotFound(err) {
		return nil
	} else if err != nil {
		w.t.Fatal(err)
	}
	return r
}

// subscribe collects a session topic's events.
type sink struct {
	mu  sync.Mutex
	evs []events.Event
}

func (w *world) subscribe(s *ent.ExamSession) *sink {
	ctx, cancel := context.WithCancel(context.Background())
	w.t.Cleanup(cancel)
	ch, err := w.bus.Subscribe(ctx, fmt.Sprintf("session:%d", s.ID))
	if err != nil {
		w.t.Fatal(err)
	}
	k := &sink{}
	go func() {
		for ev := range ch {
			k.mu.Lock()
			k.evs = append(k.evs, ev)
			k.mu.Unlock()
		}
	}()
	return k
}

// wait returns the first event of typ, waiting for delivery (asynchronous).
func (k *sink) wait(t *testing.T, typ string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		k.mu.Lock()
		for _, ev := range k.evs {
			if ev.Type == typ {
				k.mu.Unlock()
				var m map[string]any
				_ = json.Unmarshal(ev.Payload, &m)
				return m
			}
		}
		k.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no %s event", typ)
	return nil
}

func (k *sink) count(typ string) int {
	k.mu.Lock()
	defer k.mu.Unlock()
	n := 0
	for _, ev := range k.evs {
		if ev.Type == typ {
			n++
		}
	}
	return n
}

func wantCode(t *testing.T, err error, code apperr.Code, field string) {
	t.Helper()
	e, ok := apperr.As(err)
	if !ok || e.Code != code {
		t.Fatalf("err = %v, want %s", err, code)
	}
	if field != "" && e.Field != field {
		t.Fatalf("field = %q, want %q (%v)", e.Field, field, err)
	}
}
