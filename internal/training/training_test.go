package training_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/notification"
	"github.com/kaowu/kaowu/ent/organization"
	entprofile "github.com/kaowu/kaowu/ent/profile"
	"github.com/kaowu/kaowu/ent/schematype"
	"github.com/kaowu/kaowu/ent/trainingrecord"
	"github.com/kaowu/kaowu/ent/user"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/db"
	"github.com/kaowu/kaowu/internal/events"
	"github.com/kaowu/kaowu/internal/idcard"
	"github.com/kaowu/kaowu/internal/notify"
	"github.com/kaowu/kaowu/internal/testenv"
	"github.com/kaowu/kaowu/internal/training"
	"github.com/kaowu/kaowu/internal/txn"
	"github.com/kaowu/kaowu/internal/viewer"
)

type clock = testenv.Clock

type env struct {
	t          *testing.T
	client     *ent.Client
	svc        *training.Service
	sms        *notify.Recorder
	clock      *clock
	sys        context.Context
	orgA, orgB *ent.Organization
	trainerA   *ent.User
	trainerB   *ent.User
	reviewer   *ent.User
	seq        int
}

func newEnv(t *testing.T, url string) *env {
	t.Helper()
	ctx := context.Background()
	_, client := testenv.Client(t, url, db.Options{})
	bus := events.NewLocal()
	t.Cleanup(func() { _ = bus.Close() })
	rec := &notify.Recorder{}
	// Noon in China, so "today" is unambiguous.
	c := testenv.NewClock(time.Date(2026, 3, 10, 4, 0, 0, 0, time.UTC))
	e := &env{
		t: t, client: client, sms: rec, clock: c, sys: viewer.SystemContext(ctx),
		svc: &training.Service{Client: client, Notifier: &notify.Notifier{Client: client, Bus: bus, SMS: rec}, Now: c.Now},
	}
	e.orgA = e.org(organization.KindTRAINING_ORG, "甲培训中心")
	e.orgB = e.org(organization.KindTRAINING_ORG, "乙培训中心")
	e.trainerA = e.user(user.RoleTRAINING_ORG, "trainera", e.orgA)
	e.trainerB = e.user(user.RoleTRAINING_ORG, "trainerb", e.orgB)
	e.reviewer = e.user(user.RoleREVIEWER, "reviewer", nil)
	return e
}

func (e *env) org(kind organization.Kind, name string) *ent.Organization {
	e.t.Helper()
	o, err := e.client.Organization.Create().SetKind(kind).SetName(name).Save(e.sys)
	if err != nil {
		e.t.Fatal(err)
	}
	return o
}

func (e *env) user(role user.Role, login string, org *ent.Organization) *ent.User {
	e.t.Helper()
	e.seq++
	c := e.client.User.Create().SetRole(role).SetLogin(login).SetName(login).SetPasswordHash("x").
		SetPhone(fmt.Sprintf("1380000%04d", e.seq))
	if org != nil {
		c.SetOrganization(org)
	}
	u, err := c.Save(e.sys)
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

// candidate registers a candidate with a resident ID number; returns it and the number.
func (e *env) candidate(name string) (*ent.User, string) {
	e.t.Helper()
	e.seq++
	n := idcard.Generate("110105", time.Date(1988, 6, 1, 0, 0, 0, 0, time.UTC), e.seq)
	u, err := e.client.User.Create().SetRole(user.RoleCANDIDATE).SetLogin(n).SetIDType(user.IDTypeRESIDENT_ID).
		SetIDNumber(n).SetName(name).SetPasswordHash("x").SetPhone(fmt.Sprintf("1390000%04d", e.seq)).Save(e.sys)
	if err != nil {
		e.t.Fatal(err)
	}
	return u, n
}

func as(u *ent.User) context.Context {
	v := &viewer.Viewer{UserID: u.ID, Role: viewer.Role(u.Role)}
	if u.OrganizationID != nil {
		v.OrgID = *u.OrganizationID
	}
	return viewer.NewContext(context.Background(), v)
}

func (e *env) day(offset int) time.Time {
	y, m, d := e.clock.Now().In(time.FixedZone("CST", 8*3600)).Date()
	return time.Date(y, m, d+offset, 0, 0, 0, 0, time.UTC)
}

func ptr[T any](v T) *T { return &v }

func (e *env) details(cat schematype.ExamCategory, hours float64) training.Details {
	return training.Details{Category: cat, Hours: hours, StartedOn: e.day(-10), FinishedOn: ptr(e.day(-1))}
}

func (e *env) record(trainer *ent.User, number string, d training.Details) *ent.TrainingRecord {
	e.t.Helper()
	r, err := e.svc.Record(as(trainer), training.RecordInput{CandidateIDNumber: number, Details: d})
	if err != nil {
		e.t.Fatalf("record: %v", err)
	}
	return r
}

func (e *env) approve(trainer *ent.User, id int) {
	e.t.Helper()
	if _, err := e.svc.Review(as(trainer), id, true, ""); err != nil {
		e.t.Fatalf("approve: %v", err)
	}
}

func (e *env) count() int {
	e.t.Helper()
	n, err := e.client.TrainingRecord.Query().Count(e.sys)
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

func (e *env) notes(u *ent.User) []*ent.Notification {
	e.t.Helper()
	ns, err := e.client.Notification.Query().Where(notification.UserID(u.ID)).All(e.sys)
	if err != nil {
		e.t.Fatal(err)
	}
	return ns
}

func wantCode(t *testing.T, err error, code apperr.Code, field string) *apperr.Error {
	t.Helper()
	ae, ok := apperr.As(err)
	if !ok {
		t.Fatalf("want %s, got %T: %v", code, err, err)
	}
	if ae.Code != code {
		t.Fatalf("want %s, got %s: %s", code, ae.Code, ae.Message)
	}
	got := ae.Field
	if got == "" {
		got, _ = ae.Extra["field"].(string)
	}
	if field != "" && got != field {
		t.Fatalf("want field %q, got %q (%s)", field, got, ae.Message)
	}
	return ae
}

// ---------------------------------------------------------------- Record

func TestRecord(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		cand, number := e.candidate("李四")

		t.Run("good", func(t *testing.T) {
			// Lower-case x and surrounding spaces are normalised like logins.
			in := training.RecordInput{CandidateIDNumber: "  " + strings.ToLower(number) + " ", CandidateName: "李四", Details: training.Details{
				Category: schematype.CategoryC1, Hours: 16.5, StartedOn: e.day(-3).Add(15 * time.Hour), FinishedOn: ptr(e.day(-2)),
				Result: ptr(trainingrecord.ResultPASS), Score: ptr(88),
			}}
			r, err := e.svc.Record(as(e.trainerA), in)
			if err != nil {
				t.Fatal(err)
			}
			if r.CandidateID != cand.ID || r.TrainingOrgID != e.orgA.ID || r.Status != trainingrecord.StatusPENDING ||
				r.Hours != 16.5 || r.Category != schematype.CategoryC1 || *r.Score != 88 || *r.Result != trainingrecord.ResultPASS {
				t.Fatalf("record %+v", r)
			}
			// Dates are stored as calendar days.
			if !r.StartedOn.Equal(e.day(-3)) || !r.FinishedOn.Equal(e.day(-2)) {
				t.Fatalf("dates %v %v", r.StartedOn, r.FinishedOn)
			}
			// A pending record counts for nothing yet.
			if h, cat, err := e.svc.ApprovedHours(as(cand), cand.ID); err != nil || h != 0 || cat != nil {
				t.Fatalf("ApprovedHours = %v %v %v", h, cat, err)
			}
			// Unfinished training (no end date) is fine.
			d := training.Details{Category: schematype.CategoryA, Hours: 4, StartedOn: e.day(0)}
			if _, err := e.svc.Record(as(e.trainerA), training.RecordInput{CandidateIDNumber: number, Details: d}); err != nil {
				t.Fatal(err)
			}
		})

		t.Run("refused", func(t *testing.T) {
			// A staff account whose login happens to be a valid ID number.
			staffNumber := idcard.Generate("110105", time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC), 555)
			if _, err := e.client.User.Create().SetRole(user.RoleEXAM_SITE).SetLogin(staffNumber).SetName("操作员").
				SetPasswordHash("x").Save(e.sys); err != nil {
				t.Fatal(err)
			}
			company := e.user(user.RoleCOMPANY, "somecompany", nil)
			good := e.details(schematype.CategoryB, 8)
			with := func(f func(d *training.Details)) training.Details { d := good; f(&d); return d }
			cases := []struct {
				name   string
				ctx    context.Context
				in     training.RecordInput
				code   apperr.Code
				field  string
				msgHas string
			}{
				{"anonymous", context.Background(), training.RecordInput{CandidateIDNumber: number, Details: good}, apperr.Unauthenticated, "", ""},
				{"candidate", as(cand), training.RecordInput{CandidateIDNumber: number, Details: good}, apperr.Forbidden, "", ""},
				{"reviewer", as(e.reviewer), training.RecordInput{CandidateIDNumber: number, Details: good}, apperr.Forbidden, "", ""},
				{"company", as(company), training.RecordInput{CandidateIDNumber: number, Details: good}, apperr.Forbidden, "", ""},
				{"unknown number", as(e.trainerA), training.RecordInput{CandidateIDNumber: idcard.Generate("110105", time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), 999), Details: good}, apperr.BadInput, "candidateIdNumber", "未找到"},
				{"malformed number", as(e.trainerA), training.RecordInput{CandidateIDNumber: "12-34", Details: good}, apperr.BadInput, "candidateIdNumber", "格式"},
				{"staff account", as(e.trainerA), training.RecordInput{CandidateIDNumber: staffNumber, Details: good}, apperr.BadInput, "candidateIdNumber", "未找到"},
				{"name mismatch", as(e.trainerA), training.RecordInput{CandidateIDNumber: number, CandidateName: "王五", Details: good}, apperr.BadInput, "candidateName", "不符"},
				{"bad category", as(e.trainerA), training.RecordInput{CandidateIDNumber: number, Details: with(func(d *training.Details) { d.Category = "D" })}, apperr.BadInput, "category", ""},
				{"zero hours", as(e.trainerA), training.RecordInput{CandidateIDNumber: number, Details: with(func(d *training.Details) { d.Hours = 0 })}, apperr.BadInput, "hours", ""},
				{"negative hours", as(e.trainerA), training.RecordInput{CandidateIDNumber: number, Details: with(func(d *training.Details) { d.Hours = -8 })}, apperr.BadInput, "hours", ""},
				{"NaN hours", as(e.trainerA), training.RecordInput{CandidateIDNumber: number, Details: with(func(d *training.Details) { d.Hours = math.NaN() })}, apperr.BadInput, "hours", ""},
				{"infinite hours", as(e.trainerA), training.RecordInput{CandidateIDNumber: number, Details: with(func(d *training.Details) { d.Hours = math.Inf(1) })}, apperr.BadInput, "hours", ""},
				{"absurd hours", as(e.trainerA), training.RecordInput{CandidateIDNumber: number, Details: with(func(d *training.Details) { d.Hours = 1000 })}, apperr.BadInput, "hours", ""},
				{"not half hours", as(e.trainerA), training.RecordInput{CandidateIDNumber: number, Details: with(func(d *training.Details) { d.Hours = 2.3 })}, apperr.BadInput, "hours", "0.5"},
				{"more hours than days allow", as(e.trainerA), training.RecordInput{CandidateIDNumber: number, Details: with(func(d *training.Details) {
					d.StartedOn, d.FinishedOn, d.Hours = e.day(-2), ptr(e.day(-1)), 24.5
				})}, apperr.BadInput, "hours", "2天的培训最多24学时"},
				{"no start date", as(e.trainerA), training.RecordInput{CandidateIDNumber: number, Details: with(func(d *training.Details) { d.StartedOn = time.Time{} })}, apperr.BadInput, "startedOn", ""},
				{"start in the future", as(e.trainerA), training.RecordInput{CandidateIDNumber: number, Details: with(func(d *training.Details) { d.StartedOn, d.FinishedOn = e.day(1), nil })}, apperr.BadInput, "startedOn", "晚于今天"},
				{"end in the future", as(e.trainerA), training.RecordInput{CandidateIDNumber: number, Details: with(func(d *training.Details) { d.FinishedOn = ptr(e.day(1)) })}, apperr.BadInput, "finishedOn", "晚于今天"},
				{"end before start", as(e.trainerA), training.RecordInput{CandidateIDNumber: number, Details: with(func(d *training.Details) { d.FinishedOn = ptr(e.day(-20)) })}, apperr.BadInput, "finishedOn", "早于"},
				{"start long ago", as(e.trainerA), training.RecordInput{CandidateIDNumber: number, Details: with(func(d *training.Details) { d.StartedOn = time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC) })}, apperr.BadInput, "startedOn", ""},
				{"score over 100", as(e.trainerA), training.RecordInput{CandidateIDNumber: number, Details: with(func(d *training.Details) { d.Score = ptr(101) })}, apperr.BadInput, "score", ""},
				{"negative score", as(e.trainerA), training.RecordInput{CandidateIDNumber: number, Details: with(func(d *training.Details) { d.Score = ptr(-1) })}, apperr.BadInput, "score", ""},
				{"bad result", as(e.trainerA), training.RecordInput{CandidateIDNumber: number, Details: with(func(d *training.Details) { d.Result = ptr(trainingrecord.Result("GOOD")) })}, apperr.BadInput, "result", ""},
			}
			before := e.count()
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					_, err := e.svc.Record(c.ctx, c.in)
					ae := wantCode(t, err, c.code, c.field)
					if c.msgHas != "" && !strings.Contains(ae.Message, c.msgHas) {
						t.Fatalf("message %q lacks %q", ae.Message, c.msgHas)
					}
				})
			}
			if n := e.count(); n != before {
				t.Fatalf("refused records wrote rows: %d → %d", before, n)
			}
		})

		t.Run("disabled candidate", func(t *testing.T) {
			u, n := e.candidate("停用")
			if err := e.client.User.UpdateOne(u).SetStatus(user.StatusDISABLED).Exec(e.sys); err != nil {
				t.Fatal(err)
			}
			_, err := e.svc.Record(as(e.trainerA), training.RecordInput{CandidateIDNumber: n, Details: e.details(schematype.CategoryA, 8)})
			wantCode(t, err, apperr.BadInput, "candidateIdNumber")
		})

		t.Run("duplicate", func(t *testing.T) {
			_, n := e.candidate("重复")
			d := e.details(schematype.CategoryA, 8)
			first := e.record(e.trainerA, n, d)
			_, err := e.svc.Record(as(e.trainerA), training.RecordInput{CandidateIDNumber: n, Details: d})
			wantCode(t, err, apperr.Conflict, "")
			// Another institution, or another category, is not a duplicate.
			e.record(e.trainerB, n, d)
			d2 := d
			d2.Category = schematype.CategoryB
			e.record(e.trainerA, n, d2)
			// Once the first is rejected, it may be entered again.
			if _, err := e.svc.Review(as(e.trainerA), first.ID, false, "日期有误"); err != nil {
				t.Fatal(err)
			}
			e.record(e.trainerA, n, d)
		})

		t.Run("account without institution", func(t *testing.T) {
			loose := e.user(user.RoleTRAINING_ORG, "loosetrainer", nil)
			_, err := e.svc.Record(as(loose), training.RecordInput{CandidateIDNumber: number, Details: e.details(schematype.CategoryA, 8)})
			wantCode(t, err, apperr.Forbidden, "")
			site := e.org(organization.KindEXAM_SITE, "某考点")
			wrong := e.user(user.RoleTRAINING_ORG, "wrongorg", site)
			_, err = e.svc.Record(as(wrong), training.RecordInput{CandidateIDNumber: number, Details: e.details(schematype.CategoryA, 8)})
			wantCode(t, err, apperr.Forbidden, "")
		})
	})
}

// ---------------------------------------------------------------- Update

func TestUpdate(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		_, number := e.candidate("赵六")
		r := e.record(e.trainerA, number, e.details(schematype.CategoryA, 8))

		d := training.Details{Category: schematype.CategoryB, Hours: 10, StartedOn: e.day(-5), FinishedOn: nil, Score: ptr(70)}
		got, err := e.svc.Update(as(e.trainerA), r.ID, d)
		if err != nil {
			t.Fatal(err)
		}
		if got.Category != schematype.CategoryB || got.Hours != 10 || got.FinishedOn != nil || got.Result != nil || *got.Score != 70 {
			t.Fatalf("updated %+v", got)
		}

		// Another institution does not see the record at all.
		_, err = e.svc.Update(as(e.trainerB), r.ID, e.details(schematype.CategoryC2, 4))
		wantCode(t, err, apperr.NotFound, "")
		_, err = e.svc.Update(as(e.reviewer), r.ID, e.details(schematype.CategoryC2, 4))
		wantCode(t, err, apperr.Forbidden, "")
		_, err = e.svc.Update(as(e.trainerA), r.ID, e.details(schematype.CategoryC2, -4))
		wantCode(t, err, apperr.BadInput, "hours")
		_, err = e.svc.Update(as(e.trainerA), 1<<30, e.details(schematype.CategoryC2, 4))
		wantCode(t, err, apperr.NotFound, "")
		// Editing into a duplicate of another live record is refused.
		other := e.record(e.trainerA, number, e.details(schematype.CategoryC1, 4))
		_, err = e.svc.Update(as(e.trainerA), other.ID, d)
		wantCode(t, err, apperr.Conflict, "")

		unchanged, _ := e.client.TrainingRecord.Get(e.sys, r.ID)
		if unchanged.Category != schematype.CategoryB || unchanged.Hours != 10 {
			t.Fatalf("refused updates changed the record: %+v", unchanged)
		}

		// Reviewed records are final.
		e.approve(e.trainerA, r.ID)
		_, err = e.svc.Update(as(e.trainerA), r.ID, e.details(schematype.CategoryB, 12))
		wantCode(t, err, apperr.Conflict, "")
		if final, _ := e.client.TrainingRecord.Get(e.sys, r.ID); final.Hours != 10 {
			t.Fatalf("approved record changed: %v", final.Hours)
		}
	})
}

// ---------------------------------------------------------------- Review

func TestReview(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		cand, number := e.candidate("钱七")

		t.Run("reject requires a reason", func(t *testing.T) {
			r := e.record(e.trainerA, number, e.details(schematype.CategoryA, 8))
			for _, reason := range []string{"", "   \n "} {
				_, err := e.svc.Review(as(e.trainerA), r.ID, false, reason)
				wantCode(t, err, apperr.BadInput, "reason")
			}
			_, err := e.svc.Review(as(e.trainerA), r.ID, false, strings.Repeat("长", 501))
			wantCode(t, err, apperr.BadInput, "reason")
			_, err = e.svc.Review(as(e.trainerA), r.ID, false, "日期\x00有误")
			wantCode(t, err, apperr.BadInput, "reason")
			if got, _ := e.client.TrainingRecord.Get(e.sys, r.ID); got.Status != trainingrecord.StatusPENDING || got.ReviewedAt != nil {
				t.Fatalf("refused review changed the record: %+v", got)
			}
			if len(e.notes(cand)) != 0 || e.sms.Count() != 0 {
				t.Fatal("refused review notified")
			}

			got, err := e.svc.Review(as(e.trainerA), r.ID, false, "  学时与签到表不符 ")
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != trainingrecord.StatusREJECTED || got.ReviewReason != "学时与签到表不符" ||
				*got.ReviewedByID != e.trainerA.ID || !got.ReviewedAt.Equal(e.clock.Now()) {
				t.Fatalf("rejected %+v", got)
			}
			ns := e.notes(cand)
			if len(ns) != 1 || ns[0].Kind != training.KindRejected || !strings.Contains(ns[0].Body, "学时与签到表不符") {
				t.Fatalf("notifications %+v", ns)
			}
			if m, ok := e.sms.Last(cand.Phone); !ok || m.Text != "培训记录未通过审核" {
				t.Fatalf("sms %+v %v", m, ok)
			}
			// Decided once.
			_, err = e.svc.Review(as(e.trainerA), r.ID, true, "")
			wantCode(t, err, apperr.Conflict, "")
		})

		t.Run("another institution cannot review", func(t *testing.T) {
			r := e.record(e.trainerA, number, e.details(schematype.CategoryB, 8))
			before := len(e.notes(cand))
			_, err := e.svc.Review(as(e.trainerB), r.ID, true, "")
			wantCode(t, err, apperr.NotFound, "")
			for _, u := range []*ent.User{cand, e.reviewer} {
				_, err = e.svc.Review(as(u), r.ID, true, "")
				wantCode(t, err, apperr.Forbidden, "")
			}
			_, err = e.svc.Review(context.Background(), r.ID, true, "")
			wantCode(t, err, apperr.Unauthenticated, "")
			if got, _ := e.client.TrainingRecord.Get(e.sys, r.ID); got.Status != trainingrecord.StatusPENDING {
				t.Fatalf("status %s", got.Status)
			}
			if len(e.notes(cand)) != before {
				t.Fatal("notified")
			}
			// Its own institution can.
			e.approve(e.trainerA, r.ID)
		})

		t.Run("approve notifies after commit only", func(t *testing.T) {
			r := e.record(e.trainerA, number, e.details(schematype.CategoryC1, 8))
			notes, sms := len(e.notes(cand)), e.sms.Count()
			ctx := as(e.trainerA)
			boom := errors.New("later step failed")
			err := txn.WithTx(ctx, e.client, func(ctx context.Context) error {
				if _, err := e.svc.Review(ctx, r.ID, true, ""); err != nil {
					return err
				}
				return boom
			})
			if !errors.Is(err, boom) {
				t.Fatal(err)
			}
			if got, _ := e.client.TrainingRecord.Get(e.sys, r.ID); got.Status != trainingrecord.StatusPENDING {
				t.Fatal("rolled-back approval stuck")
			}
			if len(e.notes(cand)) != notes || e.sms.Count() != sms {
				t.Fatal("rolled-back approval notified")
			}
			got, err := e.svc.Review(ctx, r.ID, true, "")
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != trainingrecord.StatusAPPROVED || got.ReviewReason != "" {
				t.Fatalf("approved %+v", got)
			}
			if ns := e.notes(cand); len(ns) != notes+1 || ns[len(ns)-1].Kind != training.KindApproved {
				t.Fatalf("notifications %+v", ns)
			}
			if e.sms.Count() != sms+1 {
				t.Fatal("no sms")
			}
		})

		t.Run("concurrent reviews decide once", func(t *testing.T) {
			r := e.record(e.trainerA, number, e.details(schematype.CategoryC2, 8))
			var wg sync.WaitGroup
			errs := make([]error, 6)
			for i := range errs {
				wg.Go(func() { _, errs[i] = e.svc.Review(as(e.trainerA), r.ID, i%2 == 0, "原因") })
			}
			wg.Wait()
			ok := 0
			for _, err := range errs {
				switch {
				case err == nil:
					ok++
				case apperr.Is(err, apperr.Conflict):
				default:
					// SQLite may report the losers as busy; never as a second decision.
					if !strings.Contains(err.Error(), "locked") && !strings.Contains(err.Error(), "busy") {
						t.Errorf("unexpected: %v", err)
					}
				}
			}
			if ok != 1 {
				t.Fatalf("%d reviews succeeded", ok)
			}
		})
	})
}

// ---------------------------------------------------------------- hours

func TestApprovedHours(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		cand, number := e.candidate("孙八")
		other, _ := e.candidate("周九")

		rec := func(trainer *ent.User, cat schematype.ExamCategory, hours float64, start int, approve bool) {
			d := training.Details{Category: cat, Hours: hours, StartedOn: e.day(start), FinishedOn: ptr(e.day(start + 5))}
			r := e.record(trainer, number, d)
			if approve {
				e.approve(trainer, r.ID)
			}
		}
		rec(e.trainerA, schematype.CategoryA, 20, -100, true)
		rec(e.trainerA, schematype.CategoryC1, 12, -50, true)
		rec(e.trainerB, schematype.CategoryC1, 19.5, -40, true) // another institution's hours count too
		rec(e.trainerA, schematype.CategoryC1, 30, -30, false)  // pending
		r := e.record(e.trainerA, number, training.Details{Category: schematype.CategoryC1, Hours: 40, StartedOn: e.day(-20)})
		if _, err := e.svc.Review(as(e.trainerA), r.ID, false, "无签到记录"); err != nil {
			t.Fatal(err)
		}

		h, cat, err := e.svc.ApprovedHours(as(cand), cand.ID)
		if err != nil || cat == nil || *cat != schematype.CategoryC1 || h != 31.5 {
			t.Fatalf("ApprovedHours = %v %v %v, want 31.5 C1", h, cat, err)
		}
		sum, err := training.ApprovedOf(e.sys, e.client, []int{cand.ID, other.ID})
		if err != nil || sum[cand.ID].TotalHours != 51.5 || sum[cand.ID].Enough() || sum[other.ID].Category != nil {
			t.Fatalf("ApprovedOf = %+v %v", sum, err)
		}
		// Later training in another category moves the category.
		rec(e.trainerB, schematype.CategoryB, 32, -10, true)
		h, cat, _ = e.svc.ApprovedHours(as(e.reviewer), cand.ID)
		if *cat != schematype.CategoryB || h != 32 {
			t.Fatalf("after B: %v %v", h, *cat)
		}

		for _, c := range []struct {
			ctx  context.Context
			code apperr.Code
		}{
			{as(other), apperr.Forbidden},
			{context.Background(), apperr.Unauthenticated},
		} {
			_, _, err := e.svc.ApprovedHours(c.ctx, cand.ID)
			wantCode(t, err, c.code, "")
		}
		for _, ctx := range []context.Context{as(e.trainerB), e.sys} {
			if h, _, err := e.svc.ApprovedHours(ctx, cand.ID); err != nil || h != 32 {
				t.Fatalf("ApprovedHours = %v %v", h, err)
			}
		}
	})
}

// Approving training moves a non-social profile to the training's category;
// a social profile keeps its own choice.
func TestApprovalSyncsProfileCategory(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		ns, nsNumber := e.candidate("非社会化")
		so, soNumber := e.candidate("社会化")
		mk := func(u *ent.User, ct entprofile.CandidateType, cat *schematype.ExamCategory) {
			if _, err := e.client.Profile.Create().SetUserID(u.ID).SetCandidateType(ct).SetNillableCategory(cat).Save(e.sys); err != nil {
				t.Fatal(err)
			}
		}
		mk(ns, entprofile.CandidateTypeNON_SOCIAL, nil)
		mk(so, entprofile.CandidateTypeSOCIAL, ptr(schematype.CategoryA))
		e.approve(e.trainerA, e.record(e.trainerA, nsNumber, e.details(schematype.CategoryC2, 32)).ID)
		e.approve(e.trainerA, e.record(e.trainerA, soNumber, e.details(schematype.CategoryC2, 32)).ID)
		get := func(u *ent.User) *schematype.ExamCategory {
			p, err := e.client.Profile.Query().Where(entprofile.UserID(u.ID)).Only(e.sys)
			if err != nil {
				t.Fatal(err)
			}
			return p.Category
		}
		if c := get(ns); c == nil || *c != schematype.CategoryC2 {
			t.Fatalf("non-social category %v", c)
		}
		if c := get(so); c == nil || *c != schematype.CategoryA {
			t.Fatalf("social category %v", c)
		}
	})
}

func TestFormatHours(t *testing.T) {
	for h, want := range map[float64]string{12: "12", 31.5: "31.5", 0: "0"} {
		if got := training.FormatHours(h); got != want {
			t.Errorf("FormatHours(%v) = %q", h, got)
		}
	}
}
