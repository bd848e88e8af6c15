package payment_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/kaowu/kaowu/internal/testenv"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/attachment"
	"github.com/kaowu/kaowu/ent/enrollment"
	"github.com/kaowu/kaowu/ent/notification"
	"github.com/kaowu/kaowu/ent/organization"
	"github.com/kaowu/kaowu/ent/predicate"
	"github.com/kaowu/kaowu/ent/user"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/db"
	"github.com/kaowu/kaowu/internal/events"
	"github.com/kaowu/kaowu/internal/notify"
	"github.com/kaowu/kaowu/internal/payment"
	"github.com/kaowu/kaowu/internal/txn"
	"github.com/kaowu/kaowu/internal/viewer"
)

var simSecret = []byte("sim-gateway-test-secret-0123456789")

type clock = testenv.Clock

// logBuf collects the service's log lines (written from handler goroutines).
type logBuf struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuf) Contains(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Contains(l.buf.String(), s)
}

// marker implements payment.EnrollmentMarker the way internal/enrollment
// must: one conditional UPDATE per call, all or nothing.
type marker struct {
	client   *ent.Client
	notifier *notify.Notifier
	paid     atomic.Int32 // MarkPaid calls that changed rows
}

// enrollmentPaid is the kind of the notification MarkPaid sends each
// candidate (internal/enrollment's KindPaid).
const enrollmentPaid = "ENROLLMENT_PAID"

func (m *marker) move(ctx context.Context, ids []int, set func(*ent.EnrollmentUpdate), where ...predicate.Enrollment) error {
	if ent.TxFromContext(ctx) == nil {
		return errors.New("marker called outside a transaction")
	}
	u := txn.Client(ctx, m.client).Enrollment.Update().Where(enrollment.IDIn(ids...)).Where(where...)
	set(u)
	n, err := u.Save(ctx)
	if err != nil {
		return err
	}
	if n != len(ids) {
		return apperr.New(apperr.Conflict, "报名的缴费状态已变化，请刷新后重试")
	}
	return nil
}

func (m *marker) MarkPaymentPending(ctx context.Context, ids []int) error {
	return m.move(ctx, ids, func(u *ent.EnrollmentUpdate) { u.SetPaymentStatus(enrollment.PaymentStatusPENDING) },
		enrollment.StatusEQ(enrollment.StatusAPPROVED), enrollment.PaymentStatusEQ(enrollment.PaymentStatusUNPAID))
}

func (m *marker) MarkPaid(ctx context.Context, ids []int, at time.Time) error {
	err := m.move(ctx, ids, func(u *ent.EnrollmentUpdate) { u.SetPaymentStatus(enrollment.PaymentStatusPAID).SetPaidAt(at) },
		enrollment.PaymentStatusEQ(enrollment.PaymentStatusPENDING))
	if err != nil {
		return err
	}
	m.paid.Add(1)
	// Like internal/enrollment: each candidate hears of each paid enrollment.
	for _, e := range txn.Client(ctx, m.client).Enrollment.Query().Where(enrollment.IDIn(ids...)).AllX(ctx) {
		if err := m.notifier.Notify(ctx, e.CandidateID, enrollmentPaid, "缴费成功", "报名已缴费"); err != nil {
			return err
		}
	}
	return nil
}

func (m *marker) MarkUnpaid(ctx context.Context, ids []int) error {
	return m.move(ctx, ids, func(u *ent.EnrollmentUpdate) { u.SetPaymentStatus(enrollment.PaymentStatusUNPAID).ClearPaidAt() },
		enrollment.PaymentStatusEQ(enrollment.PaymentStatusPENDING))
}

// fx is one migrated database with the payment service behind a real HTTP server.
type fx struct {
	t       *testing.T
	client  *ent.Client
	svc     *payment.Service
	gw      *payment.SimGateway
	marker  *marker
	srv     *httptest.Server
	browser *http.Client // does not follow redirects
	sms     *notify.Recorder
	clock   *clock
	logs    *logBuf
	ctx     context.Context
	sys     context.Context

	plan                 *ent.ExamPlan
	siteA, siteB         *ent.Organization
	company, company2    *ent.Organization
	reviewer, admin, opA *ent.User
	opB                  *ent.User
}

var seq atomic.Int64

func next() int64 { return seq.Add(1) }

// deref returns *p, or the zero value for nil.
func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// sub returns f reporting to the subtest t.
func (f *fx) sub(t *testing.T) *fx {
	c := *f
	c.t = t
	return &c
}

func newFx(t *testing.T, url string) *fx {
	t.Helper()
	ctx := context.Background()
	sys := viewer.SystemContext(ctx)
	_, client := testenv.Client(t, url, db.Options{MaxOpenConns: 20})
	bus := events.NewLocal()
	t.Cleanup(func() { _ = bus.Close() })
	rec := &notify.Recorder{}
	logs := &logBuf{}
	notifier := &notify.Notifier{Client: client, Bus: bus, SMS: rec}
	f := &fx{
		t: t, client: client, marker: &marker{client: client, notifier: notifier}, sms: rec, logs: logs, ctx: ctx, sys: sys,
		clock: testenv.NewClock(time.Date(2026, 3, 10, 9, 30, 0, 0, time.UTC)),
	}
	// The listener first, so every URL is known before the server serves.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	f.gw = payment.NewSimGateway(simSecret, base)
	f.gw.Log = slog.New(slog.NewTextHandler(logs, nil))
	f.svc = &payment.Service{
		Client: client, Gateway: f.gw, Enrollments: f.marker,
		Notifier: notifier,
		Now:      f.clock.Now, BaseURL: base, Log: slog.New(slog.NewTextHandler(logs, nil)),
	}
	f.srv = &httptest.Server{Listener: ln, Config: &http.Server{Handler: f.svc.Handler()}}
	f.srv.Start()
	t.Cleanup(f.srv.Close)
	f.browser = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	u := next()
	f.siteA = f.org(organization.KindEXAM_SITE, "考点甲")
	f.siteB = f.org(organization.KindEXAM_SITE, "考点乙")
	f.company = f.org(organization.KindCOMPANY, "建设公司")
	f.company2 = f.org(organization.KindCOMPANY, "另一公司")
	dept := f.org(organization.KindDEPARTMENT, "安监局")
	f.reviewer = f.user(user.RoleREVIEWER, dept)
	f.admin = f.user(user.RoleADMIN, nil)
	f.opA = f.user(user.RoleEXAM_SITE, f.siteA)
	f.opB = f.user(user.RoleEXAM_SITE, f.siteB)
	reg := client.Region.Create().SetCode(fmt.Sprint("R", u)).SetName(fmt.Sprint("深圳", u)).SaveX(sys)
	now := f.clock.Now()
	f.plan = client.ExamPlan.Create().SetName("三月批次").SetRegionID(reg.ID).SetEnrollStartsAt(now.Add(-72 * time.Hour)).
		SetEnrollEndsAt(now.Add(72 * time.Hour)).SetExamFrom(now.Add(240 * time.Hour)).SetExamTo(now.Add(260 * time.Hour)).SaveX(sys)
	return f
}

func (f *fx) org(kind organization.Kind, name string) *ent.Organization {
	f.t.Helper()
	return f.client.Organization.Create().SetKind(kind).SetName(fmt.Sprint(name, next())).SaveX(f.sys)
}

func (f *fx) user(role user.Role, org *ent.Organization) *ent.User {
	f.t.Helper()
	n := next()
	c := f.client.User.Create().SetRole(role).SetLogin(fmt.Sprintf("u%d", n)).SetName(fmt.Sprintf("用户%d", n)).
		SetPhone(fmt.Sprintf("139%08d", n)).SetPasswordHash("x")
	if org != nil {
		c.SetOrganizationID(org.ID)
	}
	return c.SaveX(f.sys)
}

func (f *fx) candidate() *ent.User { return f.user(user.RoleCANDIDATE, nil) }

// staff is a candidate employed by company.
func (f *fx) staff(company *ent.Organization) *ent.User { return f.user(user.RoleCANDIDATE, company) }

type enrollOpt func(*ent.EnrollmentCreate)

func withCompany(o *ent.Organization) enrollOpt {
	return func(c *ent.EnrollmentCreate) { c.SetCompanyID(o.ID).SetSource(enrollment.SourceCOMPANY) }
}
func atSite(o *ent.Organization) enrollOpt {
	return func(c *ent.EnrollmentCreate) { c.SetSiteID(o.ID) }
}
func withStatus(s enrollment.Status) enrollOpt {
	return func(c *ent.EnrollmentCreate) { c.SetStatus(s) }
}

// enroll creates an approved, unpaid enrollment of cand in a fresh subject.
func (f *fx) enroll(cand *ent.User, fee int, opts ...enrollOpt) *ent.Enrollment {
	f.t.Helper()
	n := next()
	subj := f.client.Subject.Create().SetCode(fmt.Sprint("S", n)).SetName(fmt.Sprint("科目", n)).SetFeeCents(fee).SaveX(f.sys)
	now := f.clock.Now()
	c := f.client.Enrollment.Create().SetCandidateID(cand.ID).SetPlanID(f.plan.ID).SetSubjectID(subj.ID).
		SetStatus(enrollment.StatusAPPROVED).SetPledgeAcceptedAt(now).SetSubmittedAt(now).SetFeeCents(fee)
	for _, o := range opts {
		o(c)
	}
	return c.SaveX(f.sys)
}

func (f *fx) attachment(owner *ent.User, kind attachment.Kind) *ent.Attachment {
	f.t.Helper()
	return f.client.Attachment.Create().SetOwnerID(owner.ID).SetKind(kind).SetBlobKey(fmt.Sprint("blob/", next())).
		SetContentType("image/png").SetSize(1024).SetSha256("00").SaveX(f.sys)
}

// as returns a context of u's viewer.
func (f *fx) as(u *ent.User) context.Context {
	v := &viewer.Viewer{UserID: u.ID, Role: viewer.Role(u.Role)}
	if u.OrganizationID != nil {
		v.OrgID = *u.OrganizationID
	}
	return viewer.NewContext(f.ctx, v)
}

func ids(es ...*ent.Enrollment) []int {
	out := make([]int, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}

func (f *fx) payment(id int) *ent.Payment {
	f.t.Helper()
	return f.client.Payment.GetX(f.sys, id)
}

func (f *fx) enrollment(id int) *ent.Enrollment {
	f.t.Helper()
	return f.client.Enrollment.GetX(f.sys, id)
}

func (f *fx) wantPayStatus(want enrollment.PaymentStatus, es ...*ent.Enrollment) {
	f.t.Helper()
	for _, e := range es {
		if got := f.enrollment(e.ID).PaymentStatus; got != want {
			f.t.Fatalf("enrollment %d payment status %s, want %s", e.ID, got, want)
		}
	}
}

// notes counts u's notifications of kind.
func (f *fx) notes(u *ent.User, kind string) int {
	f.t.Helper()
	return f.client.Notification.Query().Where(notification.UserID(u.ID), notification.Kind(kind)).CountX(f.sys)
}

// told counts the "paid" notifications u received, from either service.
func (f *fx) told(u *ent.User) int { return f.notes(u, payment.KindPaid) + f.notes(u, enrollmentPaid) }

// snapshot is everything a refused call must leave as it was.
type snapshot struct {
	payments, notes, sms, audits int
	rows                         string
}

func (f *fx) snap() snapshot {
	f.t.Helper()
	var b strings.Builder
	for _, p := range f.client.Payment.Query().Order(ent.Asc("id")).AllX(f.sys) {
		fmt.Fprintf(&b, "P%d %s %s %s %s %d %s|", p.ID, p.Status, p.UpdatedAt.UTC(), deref(p.PaidAt), deref(p.GatewayTxnID), deref(p.ConfirmedByID), p.Reason)
	}
	for _, e := range f.client.Enrollment.Query().Order(ent.Asc("id")).AllX(f.sys) {
		fmt.Fprintf(&b, "E%d %s %s %s|", e.ID, e.PaymentStatus, deref(e.PaidAt), e.UpdatedAt.UTC())
	}
	for _, p := range f.client.InvoiceProfile.Query().Order(ent.Asc("id")).AllX(f.sys) {
		fmt.Fprintf(&b, "I%d %s %s %s %s|", p.ID, p.Title, p.TaxNumber, p.Phone, p.UpdatedAt.UTC())
	}
	return snapshot{
		payments: f.client.Payment.Query().CountX(f.sys),
		notes:    f.client.Notification.Query().CountX(f.sys),
		sms:      f.sms.Count(),
		audits:   f.client.AuditLog.Query().CountX(f.sys),
		rows:     b.String(),
	}
}

func (f *fx) unchanged(before snapshot) {
	f.t.Helper()
	if after := f.snap(); after != before {
		f.t.Fatalf("state changed:\nbefore %+v\nafter  %+v", before, after)
	}
}

var wantCode = testenv.WantCode

var wantField = testenv.WantField

var mustOK = testenv.MustOK

// get fetches u with the browser and returns status, body and Location.
func (f *fx) get(u string) (int, string, string) {
	f.t.Helper()
	resp, err := f.browser.Get(u)
	if err != nil {
		f.t.Fatal(err)
	}
	return read(f.t, resp)
}

// press submits the pay page's form with the button action.
func (f *fx) press(payURL, action string) (int, string, string) {
	f.t.Helper()
	resp, err := f.browser.PostForm(payURL, url.Values{"action": {action}})
	if err != nil {
		f.t.Fatal(err)
	}
	return read(f.t, resp)
}

// notify POSTs a notification body with headers to the notify endpoint.
func (f *fx) notify(body []byte, h http.Header) (int, string) {
	f.t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.srv.URL+"/payments/notify", bytes.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	if h != nil {
		req.Header = h
	}
	resp, err := f.browser.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	code, b, _ := read(f.t, resp)
	return code, b
}

func read(t *testing.T, resp *http.Response) (int, string, string) {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b), resp.Header.Get("Location")
}

// inRolledBackTx runs fn in a transaction that rolls back (as a GraphQL
// mutation failing after fn would) and returns fn's own error.
func inRolledBackTx(f *fx, ctx context.Context, fn func(ctx context.Context) error) error {
	f.t.Helper()
	var inner error
	err := txn.WithTx(ctx, f.client, func(ctx context.Context) error {
		inner = fn(ctx)
		if inner == nil {
			return errors.New("force rollback")
		}
		return inner
	})
	if err == nil {
		f.t.Fatal("transaction committed")
	}
	return inner
}

var actionRE = regexp.MustCompile(`<form method="post" action="([^"]*)"`)

// formAction returns the absolute URL the pay page's form posts to, as a
// browser would resolve it.
func (f *fx) formAction(page string) string {
	f.t.Helper()
	m := actionRE.FindStringSubmatch(page)
	if m == nil {
		f.t.Fatalf("no form in page:\n%s", page)
	}
	u, err := url.Parse(f.srv.URL)
	if err != nil {
		f.t.Fatal(err)
	}
	ref, err := url.Parse(html.UnescapeString(m[1]))
	if err != nil {
		f.t.Fatal(err)
	}
	return u.ResolveReference(ref).String()
}
