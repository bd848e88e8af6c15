package proctor_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/attempt"
	"github.com/kaowu/kaowu/ent/enrollment"
	"github.com/kaowu/kaowu/ent/evidencerecord"
	"github.com/kaowu/kaowu/ent/organization"
	"github.com/kaowu/kaowu/ent/papertemplate"
	"github.com/kaowu/kaowu/ent/schema"
	"github.com/kaowu/kaowu/ent/user"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/db"
	"github.com/kaowu/kaowu/internal/events"
	"github.com/kaowu/kaowu/internal/evidence"
	"github.com/kaowu/kaowu/internal/idcard"
	"github.com/kaowu/kaowu/internal/jobs"
	"github.com/kaowu/kaowu/internal/proctor"
	"github.com/kaowu/kaowu/internal/storage"
	"github.com/kaowu/kaowu/internal/testenv"
	"github.com/kaowu/kaowu/internal/testenv/teststore"
	"github.com/kaowu/kaowu/internal/viewer"
)

var cst = time.FixedZone("CST", 8*3600)

var start = time.Date(2026, 5, 15, 9, 0, 0, 0, cst)

// eachBackend runs fn on SQLite and PostgreSQL, each with blobs on local
// disk and on MinIO.
func eachBackend(t *testing.T, fn func(t *testing.T, d *db.DB, store storage.Store)) {
	teststore.EachBackend(t, fn)
}

// eachDatabase is for tests that store no blobs.
func eachDatabase(t *testing.T, fn func(t *testing.T, d *db.DB, store storage.Store)) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		fn(t, testenv.Open(t, url, db.Options{}), teststore.Local(t))
	})
}

// trackingStore remembers every key put, so tests can prove that a refused
// upload left no blob behind.
type trackingStore struct {
	storage.Store
	mu   sync.Mutex
	puts []string
}

func (s *trackingStore) Put(ctx context.Context, key string, r io.Reader, size int64, ct string) (storage.ObjectInfo, error) {
	info, err := s.Store.Put(ctx, key, r, size, ct)
	if err == nil {
		s.mu.Lock()
		s.puts = append(s.puts, key)
		s.mu.Unlock()
	}
	return info, err
}

// present lists the put keys still in the store.
func (s *trackingStore) present(t *testing.T) []string {
	t.Helper()
	s.mu.Lock()
	keys := append([]string(nil), s.puts...)
	s.mu.Unlock()
	var out []string
	for _, k := range keys {
		_, err := s.Stat(context.Background(), k)
		if err == nil {
			out = append(out, k)
		} else if !errors.Is(err, storage.ErrNotFound) {
			t.Fatal(err)
		}
	}
	return out
}

// fakeEnder stands in for the exam service: it submits the attempt.
type fakeEnder struct {
	client *ent.Client
	fail   atomic.Bool
	mu     sync.Mutex
	calls  []string
}

func (e *fakeEnder) SubmitSystem(ctx context.Context, attemptID int, reason string) error {
	if e.fail.Load() {
		return errors.New("exam service unavailable")
	}
	c := ent.FromContext(ctx)
	if c == nil {
		c = e.client
	}
	if err := c.Attempt.UpdateOneID(attemptID).SetStatus(attempt.StatusSUBMITTED).
		SetSubmitReason(attempt.SubmitReason(reason)).SetSubmittedAt(time.Now()).Exec(viewer.SystemContext(ctx)); err != nil {
		return err
	}
	e.mu.Lock()
	e.calls = append(e.calls, reason)
	e.mu.Unlock()
	return nil
}

// world: a site with two sessions, a candidate sitting each, proctors.
type world struct {
	t      *testing.T
	client *ent.Client
	store  *trackingStore
	bus    *events.Local
	clock  *testenv.Clock
	signer *storage.Signer
	ender  *fakeEnder
	svc    *proctor.Service
	runner *jobs.Runner
	sys    context.Context
	u      string
	rand   atomic.Int64 // the value Rand returns
	randN  atomic.Int64 // the n Rand was last called with

	site, site2                                 *ent.Organization
	siteU, site2U, proctorU, proctor2U, foreign *ent.User
	reviewer, admin                             *ent.User
	sess, other                                 *ent.ExamSession
	candU, otherU                               *ent.User
	att, otherAtt                               *ent.Attempt
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

var idSeq atomic.Int64

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newWorld(t *testing.T, d *db.DB, store storage.Store) *world {
	t.Helper()
	client := d.Client()
	sys := viewer.SystemContext(context.Background())
	w := &world{t: t, client: client, sys: sys, u: randHex(4), store: &trackingStore{Store: store}}
	w.bus = events.NewLocal()
	t.Cleanup(func() { _ = w.bus.Close() })
	w.clock = testenv.NewClock(start.Add(10 * time.Minute))
	w.signer = storage.NewSigner([]byte("0123456789abcdef0123456789abcdef"))
	w.ender = &fakeEnder{client: client}
	w.svc = &proctor.Service{
		Client: client, Dialect: d.Dialect, Store: w.store, Signer: w.signer, Bus: w.bus, Now: w.clock.Now,
		Rand:    func(n int) int { w.randN.Store(int64(n)); return int(w.rand.Load()) },
		BaseURL: "https://kaowu.example.cn/", Ender: w.ender, Log: quiet(),
	}
	w.runner = &jobs.Runner{Client: client, Now: w.clock.Now, Log: quiet(),
		Handlers: map[string]jobs.Handler{proctor.JobPhoneCheck: w.svc.PhoneCheckHandler()}}

	w.site = client.Organization.Create().SetKind(organization.KindEXAM_SITE).SetName("南山考点" + w.u).SaveX(sys)
	w.site2 = client.Organization.Create().SetKind(organization.KindEXAM_SITE).SetName("福田考点" + w.u).SaveX(sys)
	staff := func(role user.Role, o *ent.Organization) *ent.User {
		c := client.User.Create().SetRole(role).SetLogin(string(role) + w.u + randHex(3)).SetName(string(role)).SetPasswordHash("x")
		if o != nil {
			c.SetOrganizationID(o.ID)
		}
		return c.SaveX(sys)
	}
	w.siteU, w.site2U = staff(user.RoleEXAM_SITE, w.site), staff(user.RoleEXAM_SITE, w.site2)
	w.proctorU, w.proctor2U = staff(user.RolePROCTOR, w.site), staff(user.RolePROCTOR, w.site)
	w.foreign = staff(user.RolePROCTOR, w.site2)
	w.reviewer, w.admin = staff(user.RoleREVIEWER, nil), staff(user.RoleADMIN, nil)

	room := client.Room.Create().SetSiteID(w.site.ID).SetName("第一考场").SetCapacity(40).SaveX(sys)
	subj := client.Subject.Create().SetCode("S" + w.u).SetName("安全生产知识").SetFeeCents(6000).SaveX(sys)
	reg := client.Region.Create().SetCode(w.u).SetName("深圳" + w.u).SaveX(sys)
	plan := client.ExamPlan.Create().SetName("批次").SetRegionID(reg.ID).SetEnrollStartsAt(start.AddDate(0, -1, 0)).
		SetEnrollEndsAt(start.AddDate(0, 0, -10)).SetExamFrom(start).SetExamTo(start.AddDate(0, 0, 1)).SaveX(sys)
	tpl := client.PaperTemplate.Create().SetSubjectID(subj.ID).SetKind(papertemplate.KindFORMAL).SetName("正式试卷").
		SetDurationMinutes(90).SetRules([]schema.PaperRule{{Type: "SINGLE", Count: 1, Points: 100}}).SaveX(sys)
	mkSess := func(at time.Time) *ent.ExamSession {
		return client.ExamSession.Create().SetPlanID(plan.ID).SetSubjectID(subj.ID).SetRoomID(room.ID).SetSiteID(w.site.ID).
			SetStartsAt(at).SetDurationMinutes(90).SetCapacity(40).SaveX(sys)
	}
	w.sess, w.other = mkSess(start), mkSess(start.Add(3*time.Hour))
	person := func(name string) *ent.User {
		n := idcard.Generate("440305", time.Date(1988, 2, 29, 0, 0, 0, 0, time.UTC), int(idSeq.Add(1)))
		return client.User.Create().SetRole(user.RoleCANDIDATE).SetLogin(n).SetIDType(user.IDTypeRESIDENT_ID).
			SetIDNumber(n).SetName(name).SetPasswordHash("x").SaveX(sys)
	}
	sit := func(u *ent.User, s *ent.ExamSession) *ent.Attempt {
		e := client.Enrollment.Create().SetCandidateID(u.ID).SetPlanID(plan.ID).SetSubjectID(subj.ID).
			SetSessionID(s.ID).SetSiteID(s.SiteID).SetStatus(enrollment.StatusAPPROVED).
			SetPledgeAcceptedAt(start.AddDate(0, 0, -20)).SetSubmittedAt(start.AddDate(0, 0, -20)).
			SetFeeCents(6000).SetPaymentStatus(enrollment.PaymentStatusPAID).SetTicketNo("T" + w.u + randHex(3)).SaveX(sys)
		return client.Attempt.Create().SetEnrollmentID(e.ID).SetCandidateID(u.ID).SetSessionID(s.ID).SetSiteID(s.SiteID).
			SetTemplateID(tpl.ID).SetKind(attempt.KindFORMAL).SetSeed(42).SetStartedAt(s.StartsAt).
			SetDeadline(s.StartsAt.Add(90 * time.Minute)).SetConsentText("本人同意考试期间采集面部图像").
			SetConsentAt(s.StartsAt.Add(-time.Minute)).SetPassMark(tpl.PassMark).SaveX(sys)
	}
	w.candU, w.otherU = person("阿依古丽·买买提"), person("王喆")
	w.att, w.otherAtt = sit(w.candU, w.sess), sit(w.otherU, w.other)
	return w
}

func (w *world) as(u *ent.User) context.Context {
	v := &viewer.Viewer{UserID: u.ID, Role: viewer.Role(u.Role)}
	if u.OrganizationID != nil {
		v.OrgID = *u.OrganizationID
	}
	return viewer.NewContext(context.Background(), v)
}

func (w *world) reload(id int) *ent.Attempt { return w.client.Attempt.GetX(w.sys, id) }

func (w *world) submit(id int) {
	w.client.Attempt.UpdateOneID(id).SetStatus(attempt.StatusSUBMITTED).SetSubmitReason(attempt.SubmitReasonCANDIDATE).
		SetSubmittedAt(w.clock.Now()).ExecX(w.sys)
}

// records returns the attempt's evidence records in order.
func (w *world) records(id int) []*ent.EvidenceRecord {
	return w.client.EvidenceRecord.Query().Where(evidencerecord.Chain(evidence.Chain("attempt", id))).
		Order(evidencerecord.BySeq()).AllX(w.sys)
}

func (w *world) verify(id int) {
	w.t.Helper()
	rep, err := evidence.Verify(w.sys, w.client, evidence.Chain("attempt", id))
	if err != nil {
		w.t.Fatal(err)
	}
	if !rep.OK {
		w.t.Fatalf("evidence chain broken: %+v", rep.FirstBroken)
	}
}

// pair pairs a phone with the attempt of u and returns the phone token.
func (w *world) pair(u *ent.User, a *ent.Attempt) string {
	w.t.Helper()
	tok, _, _, err := w.svc.NewPairing(w.as(u), a.ID)
	if err != nil {
		w.t.Fatal(err)
	}
	pt, _, err := w.svc.Pair(context.Background(), tok)
	if err != nil {
		w.t.Fatal(err)
	}
	return pt
}

func (w *world) subscribe(topic string) <-chan events.Event {
	w.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w.t.Cleanup(cancel)
	ch, err := w.bus.Subscribe(ctx, topic)
	if err != nil {
		w.t.Fatal(err)
	}
	return ch
}

// next returns the next event on ch (failing after a generous wait: the
// bus delivers asynchronously).
func next(t *testing.T, ch <-chan events.Event) events.Event {
	t.Helper()
	select {
	case e := <-ch:
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("no event")
	}
	return events.Event{}
}

// nothingBut proves ch received nothing before a sentinel published now.
func (w *world) nothingBut(ch <-chan events.Event, topic string) {
	w.t.Helper()
	if err := w.bus.Publish(context.Background(), events.Event{Topic: topic, Type: "SENTINEL", At: w.clock.Now()}); err != nil {
		w.t.Fatal(err)
	}
	if e := next(w.t, ch); e.Type != "SENTINEL" {
		w.t.Fatalf("unexpected event %s %s", e.Type, e.Payload)
	}
}

func payload(t *testing.T, e events.Event) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(e.Payload, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func wantCode(t *testing.T, err error, code apperr.Code) *apperr.Error {
	t.Helper()
	e, ok := apperr.As(err)
	if !ok || e.Code != code {
		t.Fatalf("got %v, want %s", err, code)
	}
	return e
}

func picture(t *testing.T, format string, wd, ht int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, wd, ht))
	for y := 0; y < ht; y++ {
		for x := 0; x < wd; x++ {
			img.Set(x, y, color.RGBA{uint8(x * y), uint8(y), uint8(x ^ y), 255})
		}
	}
	return testenv.Encode(t, img, format, 95)
}
