package audit_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"entgo.io/ent/privacy"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/auditlog"
	"github.com/kaowu/kaowu/ent/organization"
	"github.com/kaowu/kaowu/ent/session"
	"github.com/kaowu/kaowu/ent/user"
	"github.com/kaowu/kaowu/internal/audit"
	"github.com/kaowu/kaowu/internal/auth"
	"github.com/kaowu/kaowu/internal/auth/password"
	"github.com/kaowu/kaowu/internal/db"
	"github.com/kaowu/kaowu/internal/notify"
	"github.com/kaowu/kaowu/internal/testenv"
	"github.com/kaowu/kaowu/internal/txn"
	"github.com/kaowu/kaowu/internal/viewer"
)

type env struct {
	t      *testing.T
	client *ent.Client
	ctx    context.Context
	sys    context.Context
}

func newEnv(t *testing.T, url string) *env {
	t.Helper()
	ctx := context.Background()
	d := testenv.Open(t, url, db.Options{})
	client := d.Client()
	client.Use(audit.Hook(slog.Default()))
	return &env{t: t, client: client, ctx: ctx, sys: viewer.SystemContext(ctx)}
}

// logs returns the audit rows of an entity type, oldest first.
func (e *env) logs(entityType string) []*ent.AuditLog {
	e.t.Helper()
	l, err := e.client.AuditLog.Query().Where(auditlog.EntityType(entityType)).Order(ent.Asc(auditlog.FieldID)).All(e.sys)
	if err != nil {
		e.t.Fatal(err)
	}
	return l
}

func (e *env) total() int {
	e.t.Helper()
	n, err := e.client.AuditLog.Query().Count(e.sys)
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

func (e *env) as(u *ent.User) context.Context {
	v := &viewer.Viewer{UserID: u.ID, Role: viewer.Role(u.Role)}
	if u.OrganizationID != nil {
		v.OrgID = *u.OrganizationID
	}
	return viewer.NewContext(e.ctx, v)
}

var mustOK = testenv.MustOK

func last(t *testing.T, l []*ent.AuditLog) *ent.AuditLog {
	t.Helper()
	if len(l) == 0 {
		t.Fatal("no audit rows")
	}
	return l[len(l)-1]
}

func TestAuditRecordsChanges(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		admin, err := e.client.User.Create().SetRole(user.RoleADMIN).SetLogin("admin").SetName("管理员").
			SetPasswordHash("$argon2id$secret-hash-value").SetPhone("13800000001").Save(e.sys)
		mustOK(t, err)

		t.Run("system create names fields, never values", func(t *testing.T) {
			a := last(t, e.logs(ent.TypeUser))
			if a.Action != "CREATE" || a.EntityID == nil || *a.EntityID != admin.ID || a.ActorRole != "SYSTEM" || a.ActorID != nil {
				t.Fatalf("audit %+v", a)
			}
			for _, f := range []string{"role", "login", "name", "password_hash", "phone"} {
				if !slices.Contains(a.Fields, f) {
					t.Errorf("fields %v lack %s", a.Fields, f)
				}
			}
			if slices.Contains(a.Fields, "updated_at") {
				t.Errorf("fields %v include updated_at", a.Fields)
			}
			all := strings.Join(append(a.Fields, a.ActorRole, a.Operation, a.IP, a.EntityType, a.Action), "|")
			for _, v := range []string{"secret-hash-value", "13800000001", "管理员", "admin|"} {
				if strings.Contains(all, v) {
					t.Errorf("audit row contains the value %q: %s", v, all)
				}
			}
		})

		site, err := e.client.Organization.Create().SetKind(organization.KindEXAM_SITE).SetName("南山考点").Save(e.sys)
		mustOK(t, err)
		op, err := e.client.User.Create().SetRole(user.RoleEXAM_SITE).SetLogin("siteop").SetName("操作员").
			SetPasswordHash("x").SetOrganization(site).Save(e.sys)
		mustOK(t, err)

		t.Run("viewer create, with request info", func(t *testing.T) {
			ctx := viewer.WithRequest(e.as(op), &viewer.Request{IP: "10.9.8.7", Operation: "createRoom"})
			r, err := e.client.Room.Create().SetSiteID(site.ID).SetName("第一考场").SetCapacity(40).Save(ctx)
			mustOK(t, err)
			a := last(t, e.logs(ent.TypeRoom))
			if a.ActorID == nil || *a.ActorID != op.ID || a.ActorRole != "EXAM_SITE" || a.Action != "CREATE" ||
				a.EntityID == nil || *a.EntityID != r.ID || a.IP != "10.9.8.7" || a.Operation != "createRoom" {
				t.Fatalf("audit %+v", a)
			}
			sort.Strings(a.Fields)
			if !slices.Contains(a.Fields, "name") || !slices.Contains(a.Fields, "capacity") || !slices.Contains(a.Fields, "site_id") {
				t.Fatalf("fields %v", a.Fields)
			}
			if a.At.IsZero() {
				t.Fatal("no time")
			}

			// Update one: only the changed fields.
			mustOK(t, e.client.Room.UpdateOneID(r.ID).SetCapacity(45).ClearLocation().Exec(ctx))
			a = last(t, e.logs(ent.TypeRoom))
			sort.Strings(a.Fields)
			if a.Action != "UPDATE" || *a.EntityID != r.ID || !slices.Equal(a.Fields, []string{"capacity", "location"}) {
				t.Fatalf("update audit %+v fields %v", a, a.Fields)
			}
		})

		t.Run("anonymous request", func(t *testing.T) {
			svc := auth.New(e.client, password.NewHasher(password.FastParams(), 2), &notify.Recorder{},
				auth.Config{Secret: []byte("0123456789abcdef0123456789abcdef")}, slog.New(slog.NewTextHandler(io.Discard, nil)))
			ctx := viewer.WithRequest(e.ctx, &viewer.Request{IP: "192.0.2.1", Operation: "registerCompany"})
			u, err := svc.RegisterCompany(ctx, auth.CompanyInput{Login: "company1", Password: "Kaowu@2026pass", CompanyName: "某公司", Contact: "张三", Phone: "13800000002"})
			mustOK(t, err)
			a := last(t, e.logs(ent.TypeUser))
			if *a.EntityID != u.ID || a.ActorRole != "ANONYMOUS" || a.ActorID != nil || a.IP != "192.0.2.1" || a.Operation != "registerCompany" {
				t.Fatalf("audit %+v", a)
			}
			o := last(t, e.logs(ent.TypeOrganization))
			if *o.EntityID != *u.OrganizationID || o.Action != "CREATE" {
				t.Fatalf("org audit %+v", o)
			}
		})

		t.Run("bulk update and delete name every row", func(t *testing.T) {
			var ids []int
			for i := 0; i < 3; i++ {
				s, err := e.client.Session.Create().SetUserID(op.ID).SetTokenHash([]byte{byte(i), 1, 2}).
					SetExpiresAt(time.Now().Add(time.Hour)).Save(e.sys)
				mustOK(t, err)
				ids = append(ids, s.ID)
			}
			before := len(e.logs(ent.TypeSession))
			n, err := e.client.Session.Update().Where(session.IDIn(ids...)).SetRevokedAt(time.Now()).SetRevokeReason("test").Save(e.sys)
			mustOK(t, err)
			if n != 3 {
				t.Fatalf("updated %d", n)
			}
			l := e.logs(ent.TypeSession)[before:]
			if len(l) != 3 {
				t.Fatalf("%d audit rows for a 3-row update", len(l))
			}
			var got []int
			for _, a := range l {
				if a.Action != "UPDATE" || a.EntityID == nil {
					t.Fatalf("audit %+v", a)
				}
				got = append(got, *a.EntityID)
			}
			sort.Ints(got)
			if !slices.Equal(got, ids) {
				t.Fatalf("ids %v, want %v", got, ids)
			}
			before = len(e.logs(ent.TypeSession))
			mustOK(t, e.client.Session.DeleteOneID(ids[0]).Exec(e.sys))
			_, err = e.client.Session.Delete().Where(session.IDIn(ids[1:]...)).Exec(e.sys)
			mustOK(t, err)
			l = e.logs(ent.TypeSession)[before:]
			got = got[:0]
			for _, a := range l {
				if a.Action != "DELETE" || a.EntityID == nil {
					t.Fatalf("audit %+v", a)
				}
				got = append(got, *a.EntityID)
			}
			sort.Ints(got)
			if !slices.Equal(got, ids) {
				t.Fatalf("deleted ids %v, want %v", got, ids)
			}
		})

		t.Run("rolled back and refused changes leave no row", func(t *testing.T) {
			before := e.total()
			err := txn.WithTx(e.as(admin), e.client, func(ctx context.Context) error {
				if _, err := txn.Client(ctx, e.client).Organization.Create().SetKind(organization.KindEXAM_SITE).SetName("临时考点").Save(ctx); err != nil {
					return err
				}
				return errors.New("rollback")
			})
			if err == nil {
				t.Fatal("committed")
			}
			if e.total() != before {
				t.Fatal("rolled-back change left an audit row")
			}
			// Refused by privacy: a site operator renaming another organisation.
			err = e.client.Organization.UpdateOneID(site.ID).SetName("改名").Exec(e.as(op))
			if err == nil {
				t.Fatal("rename allowed")
			}
			if e.total() != before {
				t.Fatal("refused change left an audit row")
			}
		})

		t.Run("a change touching no rows leaves no row", func(t *testing.T) {
			before := e.total()
			n, err := e.client.Session.Update().Where(session.UserID(-1)).SetRevokedAt(time.Now()).Save(e.sys)
			mustOK(t, err)
			if n != 0 {
				t.Fatalf("updated %d", n)
			}
			if after := e.total(); after != before {
				l := last(t, e.logs(ent.TypeSession))
				t.Fatalf("an update of 0 rows wrote %d audit row(s) (entity_id %v)", after-before, l.EntityID)
			}
		})
	})
}

func TestAuditPrivacyFilteredBulkUpdate(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		var users []*ent.User
		var notes []int
		for i, login := range []string{"alice", "bob"} {
			u, err := e.client.User.Create().SetRole(user.RoleCANDIDATE).SetLogin(login).SetName(login).SetPasswordHash("x").Save(e.sys)
			mustOK(t, err)
			users = append(users, u)
			n, err := e.client.Notification.Create().SetUserID(u.ID).SetKind("K").SetTitle("t" + string(rune('0'+i))).Save(e.sys)
			mustOK(t, err)
			notes = append(notes, n.ID)
		}
		// Alice marks "all" her notifications read; privacy narrows it to hers.
		before := len(e.logs(ent.TypeNotification))
		n, err := e.client.Notification.Update().SetReadAt(time.Now()).Save(e.as(users[0]))
		mustOK(t, err)
		if n != 1 {
			t.Fatalf("updated %d rows, want 1", n)
		}
		bob, err := e.client.Notification.Get(e.sys, notes[1])
		mustOK(t, err)
		if bob.ReadAt != nil {
			t.Fatal("bob's notification changed")
		}
		l := e.logs(ent.TypeNotification)[before:]
		var ids []int
		for _, a := range l {
			if a.EntityID != nil {
				ids = append(ids, *a.EntityID)
			}
		}
		if !slices.Equal(ids, []int{notes[0]}) {
			t.Fatalf("audit names notifications %v as updated by alice; only %d changed", ids, notes[0])
		}
	})
}

func TestAuditSessions(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		svc := auth.New(e.client, password.NewHasher(password.FastParams(), 2), &notify.Recorder{},
			auth.Config{Secret: []byte("0123456789abcdef0123456789abcdef")}, slog.New(slog.NewTextHandler(io.Discard, nil)))
		now := time.Now().Truncate(time.Millisecond)
		svc.SetClock(func() time.Time { return now })
		hash, err := svc.Hasher().Hash(e.ctx, "Kaowu@2026pass")
		mustOK(t, err)
		_, err = e.client.User.Create().SetRole(user.RoleADMIN).SetLogin("admin").SetName("a").SetPasswordHash(hash).Save(e.sys)
		mustOK(t, err)

		// Failed logins, captchas: security bookkeeping is not audited.
		before := e.total()
		_, err = svc.Login(e.ctx, auth.LoginInput{Login: "admin", Password: "Wrong#pass1", IP: "10.0.0.1"})
		if err == nil {
			t.Fatal("wrong password accepted")
		}
		_, err = svc.NewCaptcha(e.ctx)
		mustOK(t, err)
		if e.total() != before {
			t.Fatalf("bookkeeping audited: %d rows", e.total()-before)
		}

		res, err := svc.Login(e.ctx, auth.LoginInput{Login: "admin", Password: "Kaowu@2026pass"})
		mustOK(t, err)
		created := last(t, e.logs(ent.TypeSession))
		if created.Action != "CREATE" {
			t.Fatalf("session create audit %+v", created)
		}
		if slices.Contains(created.Fields, string(res.Token)) {
			t.Fatal("token in audit")
		}
		v, err := svc.Authenticate(e.ctx, res.Token)
		mustOK(t, err)

		// Touches and keep-alives are noise.
		before = e.total()
		now = now.Add(5 * time.Minute)
		_, err = svc.Authenticate(e.ctx, res.Token)
		mustOK(t, err)
		mustOK(t, svc.KeepAlive(e.ctx, v.SessionID, now.Add(time.Hour)))
		s, err := e.client.Session.Get(e.sys, v.SessionID)
		mustOK(t, err)
		if !s.LastSeenAt.Equal(now) || s.KeepAliveUntil == nil {
			t.Fatal("touch or keep-alive not written")
		}
		if e.total() != before {
			t.Fatalf("touch/keep-alive audited: %d rows", e.total()-before)
		}

		// Logout is a change.
		mustOK(t, svc.Logout(viewer.NewContext(e.ctx, v)))
		a := last(t, e.logs(ent.TypeSession))
		if a.Action != "UPDATE" || a.EntityID == nil || *a.EntityID != v.SessionID || a.ActorRole != "ADMIN" ||
			!slices.Contains(a.Fields, "revoked_at") {
			t.Fatalf("logout audit %+v", a)
		}
	})
}

func TestAuditLogIsAppendOnly(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		admin, err := e.client.User.Create().SetRole(user.RoleADMIN).SetLogin("admin").SetName("a").SetPasswordHash("x").Save(e.sys)
		mustOK(t, err)
		cand, err := e.client.User.Create().SetRole(user.RoleCANDIDATE).SetLogin("cand").SetName("c").SetPasswordHash("x").Save(e.sys)
		mustOK(t, err)
		before := e.total()
		a := last(t, e.logs(ent.TypeUser))

		for name, ctx := range map[string]context.Context{"system": e.sys, "admin": e.as(admin)} {
			denied := func(what string, err error) {
				t.Helper()
				if !errors.Is(err, privacy.Deny) {
					t.Errorf("%s %s: want privacy denial, got %v", name, what, err)
				}
			}
			_, err := e.client.AuditLog.Update().Where(auditlog.ID(a.ID)).Save(ctx)
			denied("bulk update", err)
			denied("update one", e.client.AuditLog.UpdateOneID(a.ID).Exec(ctx))
			denied("delete one", e.client.AuditLog.DeleteOneID(a.ID).Exec(ctx))
			_, err = e.client.AuditLog.Delete().Exec(ctx)
			denied("bulk delete", err)
		}
		// Only system code appends.
		err = e.client.AuditLog.Create().SetEntityType("User").SetAction("CREATE").Exec(e.as(admin))
		if !errors.Is(err, privacy.Deny) {
			t.Errorf("admin appended an audit row: %v", err)
		}
		if e.total() != before {
			t.Fatalf("audit rows %d -> %d", before, e.total())
		}
		// Admins read it; others do not.
		if n, err := e.client.AuditLog.Query().Count(e.as(admin)); err != nil || n != before {
			t.Fatalf("admin reads %d rows, err %v", n, err)
		}
		if _, err := e.client.AuditLog.Query().Count(e.as(cand)); !errors.Is(err, privacy.Deny) {
			t.Fatalf("candidate reads the audit log: %v", err)
		}
		if _, err := e.client.AuditLog.Query().Count(e.ctx); !errors.Is(err, privacy.Deny) {
			t.Fatalf("anonymous reads the audit log: %v", err)
		}
	})
}
