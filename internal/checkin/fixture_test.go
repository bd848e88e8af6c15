package checkin_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/attachment"
	checkinent "github.com/kaowu/kaowu/ent/checkin"
	"github.com/kaowu/kaowu/ent/enrollment"
	"github.com/kaowu/kaowu/ent/organization"
	"github.com/kaowu/kaowu/ent/user"
	"github.com/kaowu/kaowu/internal/checkin"
	"github.com/kaowu/kaowu/internal/db"
	"github.com/kaowu/kaowu/internal/events"
	"github.com/kaowu/kaowu/internal/idcard"
	"github.com/kaowu/kaowu/internal/profile"
	"github.com/kaowu/kaowu/internal/storage"
	"github.com/kaowu/kaowu/internal/testenv"
	"github.com/kaowu/kaowu/internal/testenv/teststore"
	"github.com/kaowu/kaowu/internal/viewer"
)

var cst = time.FixedZone("CST", 8*3600)

type clock = testenv.Clock

// eachBackend runs fn on SQLite and PostgreSQL, each with blobs on local
// disk and on MinIO.
func eachBackend(t *testing.T, fn func(t *testing.T, client *ent.Client, store storage.Store)) {
	teststore.EachBackend(t, func(t *testing.T, d *db.DB, st storage.Store) { fn(t, d.Client(), st) })
}

// trackingStore remembers every key put, so tests can prove that a refused
// or rolled-back check-in left no blob behind; failPut makes Put fail.
type trackingStore struct {
	storage.Store
	mu      sync.Mutex
	puts    []string
	failPut atomic.Bool
}

func (s *trackingStore) Put(ctx context.Context, key string, r io.Reader, size int64, ct string) (storage.ObjectInfo, error) {
	if s.failPut.Load() {
		return storage.ObjectInfo{}, errors.New("store unavailable")
	}
	info, err := s.Store.Put(ctx, key, r, size, ct)
	if err == nil {
		s.mu.Lock()
		s.puts = append(s.puts, key)
		s.mu.Unlock()
	}
	return info, err
}

// world is an exam session at a site with candidates in every state.
type world struct {
	t      *testing.T
	client *ent.Client
	store  *trackingStore
	bus    *events.Local
	clock  *clock
	svc    *checkin.Service
	sys    context.Context
	u      string

	site, site2                      *ent.Organization
	siteU, site2U, proctor, admin    *ent.User
	sess, other                      *ent.ExamSession
	plan                             *ent.ExamPlan
	subj                             *ent.Subject
	good, pending, unpaid, elsewhere *ent.Enrollment
	goodU, pendingU, unpaidU, elseU  *ent.User
	stranger                         *ent.User // registered, enrolled nowhere
}

var start = time.Date(2026, 5, 15, 9, 0, 0, 0, cst)

var idSeq atomic.Int64

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newWorld(t *testing.T, client *ent.Client, store storage.Store) *world {
	t.Helper()
	sys := viewer.SystemContext(context.Background())
	w := &world{t: t, client: client, sys: sys, u: randHex(4), store: &trackingStore{Store: store}}
	w.bus = events.NewLocal()
	t.Cleanup(func() { _ = w.bus.Close() })
	w.clock = testenv.NewClock(start.Add(-30 * time.Minute))
	signer := storage.NewSigner([]byte("0123456789abcdef0123456789abcdef"))
	w.svc = &checkin.Service{
		Client: client, Store: w.store, Bus: w.bus, Now: w.clock.Now, Log: quiet(),
		Profiles: &profile.Service{Client: client, Store: w.store, Signer: signer, Now: w.clock.Now},
	}

	w.site = client.Organization.Create().SetKind(organization.KindEXAM_SITE).SetName("南山考点" + w.u).SaveX(sys)
	w.site2 = client.Organization.Create().SetKind(organization.KindEXAM_SITE).SetName("福田考点" + w.u).SaveX(sys)
	staff := func(role user.Role, o *ent.Organization) *ent.User {
		c := client.User.Create().SetRole(role).SetLogin(string(role) + w.u + randHex(2)).SetName(string(role)).SetPasswordHash("x")
		if o != nil {
			c.SetOrganizationID(o.ID)
		}
		return c.SaveX(sys)
	}
	w.siteU = staff(user.RoleEXAM_SITE, w.site)
	w.site2U = staff(user.RoleEXAM_SITE, w.site2)
	w.proctor = staff(user.RolePROCTOR, w.site)
	w.admin = staff(user.RoleADMIN, nil)

	room := client.Room.Create().SetSiteID(w.site.ID).SetName("第一考场").SetCapacity(40).SaveX(sys)
	subj := client.Subject.Create().SetCode("S" + w.u).SetName("安全生产知识").SetFeeCents(6000).SaveX(sys)
	reg := client.Region.Create().SetCode(w.u).SetName("深圳" + w.u).SaveX(sys)
	plan := client.ExamPlan.Create().SetName("批次").SetRegionID(reg.ID).SetEnrollStartsAt(start.AddDate(0, -1, 0)).
		SetEnrollEndsAt(start.AddDate(0, 0, -10)).SetExamFrom(start).SetExamTo(start.AddDate(0, 0, 1)).SaveX(sys)
	mkSess := func(at time.Time) *ent.ExamSession {
		return client.ExamSession.Create().SetPlanID(plan.ID).SetSubjectID(subj.ID).SetRoomID(room.ID).SetSiteID(w.site.ID).
			SetStartsAt(at).SetDurationMinutes(90).SetCapacity(40).SaveX(sys)
	}
	w.sess = mkSess(start)
	w.other = mkSess(start.Add(3 * time.Hour))

	w.plan, w.subj = plan, subj
	w.goodU, w.pendingU, w.unpaidU, w.elseU = w.person("阿依古丽·买买提"), w.person("王喆"), w.person("赵珺"), w.person("钱赟")
	w.stranger = w.person("孙堃")
	w.good = w.enroll(w.goodU, w.sess, enrollment.StatusAPPROVED, enrollment.PaymentStatusPAID)
	w.pending = w.enroll(w.pendingU, w.sess, enrollment.StatusPENDING_REVIEW, enrollment.PaymentStatusUNPAID)
	w.unpaid = w.enroll(w.unpaidU, w.sess, enrollment.StatusAPPROVED, enrollment.PaymentStatusUNPAID)
	w.elsewhere = w.enroll(w.elseU, w.other, enrollment.StatusAPPROVED, enrollment.PaymentStatusPAID)
	return w
}

// person registers a candidate with a fresh resident ID number.
func (w *world) person(name string) *ent.User {
	n := idcard.Generate("440305", time.Date(1988, 2, 29, 0, 0, 0, 0, time.UTC), int(idSeq.Add(1)))
	return w.client.User.Create().SetRole(user.RoleCANDIDATE).SetLogin(n).SetIDType(user.IDTypeRESIDENT_ID).
		SetIDNumber(n).SetName(name).SetPasswordHash("x").SaveX(w.sys)
}

// enroll seats u in s in the given state (as the enrollment service would have).
func (w *world) enroll(u *ent.User, s *ent.ExamSession, status enrollment.Status, pay enrollment.PaymentStatus) *ent.Enrollment {
	c := w.client.Enrollment.Create().SetCandidateID(u.ID).SetPlanID(w.plan.ID).SetSubjectID(w.subj.ID).
		SetSessionID(s.ID).SetSiteID(s.SiteID).SetStatus(status).SetPledgeAcceptedAt(start.AddDate(0, 0, -20)).
		SetSubmittedAt(start.AddDate(0, 0, -20)).SetFeeCents(6000).SetPaymentStatus(pay)
	if pay == enrollment.PaymentStatusPAID {
		c.SetTicketNo("T" + w.u + randHex(3))
	}
	return c.SaveX(w.sys)
}

func (w *world) as(u *ent.User) context.Context {
	v := &viewer.Viewer{UserID: u.ID, Role: viewer.Role(u.Role)}
	if u.OrganizationID != nil {
		v.OrgID = *u.OrganizationID
	}
	return viewer.NewContext(context.Background(), v)
}

// input is a good check-in of u for the session.
func (w *world) input(u *ent.User) checkin.Input {
	return checkin.Input{
		SessionID: w.sess.ID, ReaderIDNumber: *u.IDNumber, ReaderName: u.Name,
		ReaderPhoto: picture(w.t, "png", 102, 126), LivePhoto: picture(w.t, "jpeg", 640, 480),
	}
}

func picture(t *testing.T, format string, wd, ht int) []byte {
	t.Helper()
	return testenv.Encode(t, testenv.Gradient(wd, ht, 90), format, 0)
}

// state is what a check-in may change, for before/after comparisons.
type state struct {
	checkIns, photos, checkedIn int
	published                   uint64
	blobs                       []string // put keys still present in the store
}

func (w *world) state() state {
	w.t.Helper()
	var st state
	// Several worlds share a database: count this world's rows only.
	sessions := []int{w.sess.ID, w.other.ID}
	st.checkIns = w.client.CheckIn.Query().Where(checkinent.SessionIDIn(sessions...)).CountX(w.sys)
	st.photos = w.client.Attachment.Query().Where(
		attachment.KindIn(attachment.KindCHECKIN_LIVE_PHOTO, attachment.KindCHECKIN_READER_PHOTO),
		attachment.Or(attachment.BlobKeyHasPrefix(fmt.Sprintf("checkins/%d/", w.sess.ID)), attachment.BlobKeyHasPrefix(fmt.Sprintf("checkins/%d/", w.other.ID))),
	).CountX(w.sys)
	st.checkedIn = w.client.Enrollment.Query().Where(enrollment.SessionIDIn(sessions...), enrollment.CheckedInAtNotNil()).CountX(w.sys)
	st.published = w.bus.Stats().Published
	w.store.mu.Lock()
	keys := append([]string(nil), w.store.puts...)
	w.store.mu.Unlock()
	for _, k := range keys {
		_, err := w.store.Stat(context.Background(), k)
		if err == nil {
			st.blobs = append(st.blobs, k)
		} else if !errors.Is(err, storage.ErrNotFound) {
			w.t.Fatal(err)
		}
	}
	return st
}
