package orgs_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"entgo.io/ent/privacy"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/notification"
	"github.com/kaowu/kaowu/ent/organization"
	"github.com/kaowu/kaowu/ent/room"
	"github.com/kaowu/kaowu/ent/user"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/db"
	"github.com/kaowu/kaowu/internal/events"
	"github.com/kaowu/kaowu/internal/notify"
	"github.com/kaowu/kaowu/internal/orgs"
	"github.com/kaowu/kaowu/internal/testenv"
	"github.com/kaowu/kaowu/internal/txn"
	"github.com/kaowu/kaowu/internal/viewer"
)

type env struct {
	t      *testing.T
	client *ent.Client
	bus    *events.Local
	sms    *notify.Recorder
	svc    *orgs.Service
	ctx    context.Context
	sys    context.Context
	phones int
}

func newEnv(t *testing.T, url string) *env {
	t.Helper()
	ctx := context.Background()
	_, client := testenv.Client(t, url, db.Options{})
	bus := events.NewLocal()
	t.Cleanup(func() { _ = bus.Close() })
	rec := &notify.Recorder{}
	svc := &orgs.Service{Client: client, Bus: bus, Notifier: &notify.Notifier{Client: client, Bus: bus, SMS: rec}}
	return &env{t: t, client: client, bus: bus, sms: rec, svc: svc, ctx: ctx, sys: viewer.SystemContext(ctx)}
}

func (e *env) org(kind organization.Kind, name string, status organization.Status) *ent.Organization {
	e.t.Helper()
	o, err := e.client.Organization.Create().SetKind(kind).SetName(name).SetStatus(status).Save(e.sys)
	if err != nil {
		e.t.Fatal(err)
	}
	return o
}

func (e *env) user(role user.Role, login string, org *ent.Organization) *ent.User {
	e.t.Helper()
	e.phones++
	c := e.client.User.Create().SetRole(role).SetLogin(login).SetName(login).SetPasswordHash("x").
		SetPhone(fmt.Sprintf("1380000%04d", e.phones))
	if org != nil {
		c.SetOrganization(org)
	}
	u, err := c.Save(e.sys)
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

// as returns a context for u.
func (e *env) as(u *ent.User) context.Context {
	v := &viewer.Viewer{UserID: u.ID, Role: viewer.Role(u.Role), SessionID: 1}
	if u.OrganizationID != nil {
		v.OrgID = *u.OrganizationID
	}
	return viewer.NewContext(e.ctx, v)
}

// subscribe subscribes to topic until the test ends.
func (e *env) subscribe(topic string) <-chan events.Event {
	e.t.Helper()
	ctx, cancel := context.WithCancel(e.ctx)
	e.t.Cleanup(cancel)
	ch, err := e.bus.Subscribe(ctx, topic)
	if err != nil {
		e.t.Fatal(err)
	}
	return ch
}

func waitEvent(t *testing.T, ch <-chan events.Event) events.Event {
	t.Helper()
	select {
	case ev := <-ch:
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5s")
	}
	return events.Event{}
}

// noEvent asserts nothing arrives for a short while (delivery is asynchronous).
func noEvent(t *testing.T, ch <-chan events.Event) {
	t.Helper()
	select {
	case ev := <-ch:
		t.Fatalf("unexpected event %s/%s", ev.Topic, ev.Type)
	case <-time.After(150 * time.Millisecond):
	}
}

// rolledBack runs fn in a transaction that rolls back; it returns fn's error.
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

func wantDenied(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, privacy.Deny) {
		t.Fatalf("want privacy denial, got %v", err)
	}
}

var mustOK = testenv.MustOK

func TestReviewCompany(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		dept := e.org(organization.KindDEPARTMENT, "安全监管处", organization.StatusAPPROVED)
		reviewer := e.user(user.RoleREVIEWER, "reviewer", dept)
		admin := e.user(user.RoleADMIN, "admin", nil)
		site := e.org(organization.KindEXAM_SITE, "南山考点", organization.StatusAPPROVED)
		siteOp := e.user(user.RoleEXAM_SITE, "siteop", site)
		candidate := e.user(user.RoleCANDIDATE, "cand", nil)

		company := func(name string) (*ent.Organization, *ent.User) {
			o := e.org(organization.KindCOMPANY, name, organization.StatusPENDING)
			return o, e.user(user.RoleCOMPANY, "co"+strconv.Itoa(o.ID), o)
		}
		notes := func(u *ent.User) int {
			n, err := e.client.Notification.Query().Where(notification.UserID(u.ID)).Count(e.sys)
			mustOK(t, err)
			return n
		}

		t.Run("reviewer approves", func(t *testing.T) {
			o, cu := company("甲公司")
			ch := e.subscribe(notify.UserTopic(cu.ID))
			got, err := e.svc.ReviewCompany(e.as(reviewer), o.ID, true, "")
			mustOK(t, err)
			if got.Status != organization.StatusAPPROVED || got.ReviewedByID == nil || *got.ReviewedByID != reviewer.ID || got.ReviewedAt == nil {
				t.Fatalf("org after review: %+v", got)
			}
			if notes(cu) != 1 {
				t.Fatal("no notification row")
			}
			ev := waitEvent(t, ch)
			if ev.Type != notify.EventNotification {
				t.Fatalf("event %+v", ev)
			}
			var p struct{ ID int }
			mustOK(t, json.Unmarshal(ev.Payload, &p))
			n, err := e.client.Notification.Get(e.sys, p.ID)
			mustOK(t, err)
			if n.UserID != cu.ID || n.Kind != "COMPANY_REVIEWED" {
				t.Fatalf("notification %+v", n)
			}
			m, ok := e.sms.Last(cu.Phone)
			if !ok || m.Text == "" {
				t.Fatal("no SMS to the company")
			}
			// Twice: conflict, nothing more sent.
			sent := e.sms.Count()
			_, err = e.svc.ReviewCompany(e.as(admin), o.ID, false, "重复")
			wantCode(t, err, apperr.Conflict, "")
			if e.sms.Count() != sent || notes(cu) != 1 {
				t.Fatal("a refused review notified")
			}
		})

		t.Run("admin rejects with a reason", func(t *testing.T) {
			o, cu := company("乙公司")
			_, err := e.svc.ReviewCompany(e.as(admin), o.ID, false, "  ")
			wantCode(t, err, apperr.BadInput, "reason")
			_, err = e.svc.ReviewCompany(e.as(admin), o.ID, false, strings.Repeat("a", 501))
			wantCode(t, err, apperr.BadInput, "reason")
			got, err := e.svc.ReviewCompany(e.as(admin), o.ID, false, " 营业执照不清晰 ")
			mustOK(t, err)
			if got.Status != organization.StatusREJECTED || got.ReviewReason != "营业执照不清晰" {
				t.Fatalf("status %s reason %q", got.Status, got.ReviewReason)
			}
			n, err := e.client.Notification.Query().Where(notification.UserID(cu.ID)).Only(e.sys)
			mustOK(t, err)
			if !strings.Contains(n.Body, "营业执照不清晰") {
				t.Fatalf("body %q", n.Body)
			}
		})

		t.Run("long chinese reason", func(t *testing.T) {
			// The limit is 500 characters; 200 Chinese characters are well inside it.
			o, _ := company("丙公司")
			_, err := e.svc.ReviewCompany(e.as(admin), o.ID, false, strings.Repeat("证", 200))
			mustOK(t, err)
		})

		t.Run("refusals", func(t *testing.T) {
			o, _ := company("丁公司")
			_, err := e.svc.ReviewCompany(e.as(admin), site.ID, true, "")
			wantCode(t, err, apperr.BadInput, "id")
			for _, u := range []*ent.User{candidate, siteOp} {
				_, err = e.svc.ReviewCompany(e.as(u), o.ID, true, "")
				wantCode(t, err, apperr.Forbidden, "")
			}
			_, err = e.svc.ReviewCompany(e.ctx, o.ID, true, "")
			wantCode(t, err, apperr.Unauthenticated, "")
			_, err = e.svc.ReviewCompany(e.as(admin), o.ID+10000, true, "")
			if !ent.IsNotFound(err) && !apperr.Is(err, apperr.NotFound) {
				t.Fatalf("missing organization: %v", err)
			}
			got, err := e.client.Organization.Get(e.sys, o.ID)
			mustOK(t, err)
			if got.Status != organization.StatusPENDING {
				t.Fatalf("status %s after refusals", got.Status)
			}
		})

		t.Run("rolled back: no notification, event or SMS", func(t *testing.T) {
			o, cu := company("戊公司")
			ch := e.subscribe(notify.UserTopic(cu.ID))
			sent := e.sms.Count()
			err := e.rolledBack(e.as(reviewer), func(ctx context.Context) error {
				_, err := e.svc.ReviewCompany(ctx, o.ID, true, "")
				return err
			})
			mustOK(t, err)
			noEvent(t, ch)
			if e.sms.Count() != sent || notes(cu) != 0 {
				t.Fatal("rolled-back review notified")
			}
			got, _ := e.client.Organization.Get(e.sys, o.ID)
			if got.Status != organization.StatusPENDING {
				t.Fatalf("status %s", got.Status)
			}
		})

		t.Run("committed: told after commit", func(t *testing.T) {
			o, cu := company("己公司")
			ch := e.subscribe(notify.UserTopic(cu.ID))
			sent := e.sms.Count()
			err := txn.WithTx(e.as(reviewer), e.client, func(ctx context.Context) error {
				_, err := e.svc.ReviewCompany(ctx, o.ID, true, "")
				if e.sms.Count() != sent {
					t.Error("SMS sent before commit")
				}
				return err
			})
			mustOK(t, err)
			waitEvent(t, ch)
			if e.sms.Count() != sent+1 {
				t.Fatalf("sent %d SMS, want 1", e.sms.Count()-sent)
			}
		})
	})
}

func TestCreateOrganization(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		admin := e.user(user.RoleADMIN, "admin", nil)
		ctx := e.as(admin)
		count := func() int { n, _ := e.client.Organization.Query().Count(e.sys); return n }

		o, err := e.svc.CreateOrganization(ctx, ent.CreateOrganizationInput{Kind: organization.KindEXAM_SITE, Name: " 南山考点 "})
		mustOK(t, err)
		if o.Name != "南山考点" || o.Status != organization.StatusAPPROVED {
			t.Fatalf("org %+v", o)
		}
		before := count()
		_, err = e.svc.CreateOrganization(ctx, ent.CreateOrganizationInput{Kind: organization.KindCOMPANY, Name: "某公司"})
		wantCode(t, err, apperr.BadInput, "kind")
		_, err = e.svc.CreateOrganization(ctx, ent.CreateOrganizationInput{Kind: organization.KindEXAM_SITE, Name: "南山考点"})
		wantCode(t, err, apperr.Conflict, "name")
		if count() != before {
			t.Fatal("refused organisation written")
		}
		// The same name for another kind is allowed.
		_, err = e.svc.CreateOrganization(ctx, ent.CreateOrganizationInput{Kind: organization.KindTRAINING_ORG, Name: "南山考点"})
		mustOK(t, err)
		// Only admins.
		before = count()
		site := e.user(user.RoleEXAM_SITE, "siteop", o)
		_, err = e.svc.CreateOrganization(e.as(site), ent.CreateOrganizationInput{Kind: organization.KindEXAM_SITE, Name: "龙岗考点"})
		wantDenied(t, err)
		_, err = e.svc.CreateOrganization(e.ctx, ent.CreateOrganizationInput{Kind: organization.KindEXAM_SITE, Name: "龙岗考点"})
		wantDenied(t, err)
		if count() != before {
			t.Fatal("refused organisation written")
		}
	})
}

func TestCreateRoom(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		admin := e.user(user.RoleADMIN, "admin", nil)
		site := e.org(organization.KindEXAM_SITE, "南山考点", organization.StatusAPPROVED)
		site2 := e.org(organization.KindEXAM_SITE, "龙岗考点", organization.StatusAPPROVED)
		trainer := e.org(organization.KindTRAINING_ORG, "培训中心", organization.StatusAPPROVED)
		company := e.org(organization.KindCOMPANY, "某公司", organization.StatusAPPROVED)
		op := e.user(user.RoleEXAM_SITE, "siteop", site)
		rooms := func() int { n, _ := e.client.Room.Query().Count(e.sys); return n }

		r, err := e.svc.CreateRoom(e.as(admin), ent.CreateRoomInput{SiteID: site.ID, Name: "第一考场", Capacity: 40})
		mustOK(t, err)
		if r.SiteID != site.ID || r.Capacity != 40 || r.Disabled {
			t.Fatalf("room %+v", r)
		}
		_, err = e.svc.CreateRoom(e.as(op), ent.CreateRoomInput{SiteID: site.ID, Name: "第二考场", Capacity: 30})
		mustOK(t, err)

		before := rooms()
		for _, id := range []int{trainer.ID, company.ID} {
			_, err = e.svc.CreateRoom(e.as(admin), ent.CreateRoomInput{SiteID: id, Name: "考场", Capacity: 10})
			wantCode(t, err, apperr.BadInput, "siteID")
		}
		_, err = e.svc.CreateRoom(e.as(admin), ent.CreateRoomInput{SiteID: company.ID + 1000, Name: "考场", Capacity: 10})
		wantCode(t, err, apperr.BadInput, "siteID")
		// A site operator cannot add rooms to another site.
		_, err = e.svc.CreateRoom(e.as(op), ent.CreateRoomInput{SiteID: site2.ID, Name: "考场", Capacity: 10})
		wantDenied(t, err)
		// Same name twice in a site is refused by the database.
		_, err = e.svc.CreateRoom(e.as(admin), ent.CreateRoomInput{SiteID: site.ID, Name: "第一考场", Capacity: 10})
		if err == nil {
			t.Fatal("duplicate room name accepted")
		}
		if rooms() != before {
			t.Fatal("refused room written")
		}
		if n, _ := e.client.Room.Query().Where(room.SiteID(site2.ID)).Count(e.sys); n != 0 {
			t.Fatal("room written for another site")
		}
	})
}

func TestCreateAnnouncement(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		admin := e.user(user.RoleADMIN, "admin", nil)
		reviewer := e.user(user.RoleREVIEWER, "reviewer", nil)
		ch := e.subscribe(orgs.TopicAnnouncements)
		in := ent.CreateAnnouncementInput{Title: "报名通知", Body: "2026年度考核开始报名。"}

		// Rolled back: no event.
		err := e.rolledBack(e.as(admin), func(ctx context.Context) error {
			_, err := e.svc.CreateAnnouncement(ctx, in)
			return err
		})
		mustOK(t, err)
		noEvent(t, ch)

		// Committed: event after commit.
		var a *ent.Announcement
		err = txn.WithTx(e.as(admin), e.client, func(ctx context.Context) error {
			var err error
			a, err = e.svc.CreateAnnouncement(ctx, in)
			return err
		})
		mustOK(t, err)
		ev := waitEvent(t, ch)
		var p struct{ ID int }
		mustOK(t, json.Unmarshal(ev.Payload, &p))
		if p.ID != a.ID || ev.Type != "ANNOUNCEMENT" {
			t.Fatalf("event %+v for announcement %d", ev, a.ID)
		}
		if a.AuthorID == nil || *a.AuthorID != admin.ID {
			t.Fatalf("author %v", a.AuthorID)
		}

		// Only admins publish.
		_, err = e.svc.CreateAnnouncement(e.as(reviewer), in)
		wantDenied(t, err)
		_, err = e.svc.CreateAnnouncement(e.ctx, in)
		wantDenied(t, err)
		noEvent(t, ch)
		if n, _ := e.client.Announcement.Query().Count(e.ctx); n != 1 {
			t.Fatalf("%d announcements, want 1", n)
		}
	})
}
