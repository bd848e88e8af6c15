package authz_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sort"
	"testing"
	"time"

	"entgo.io/ent/privacy"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/organization"
	"github.com/kaowu/kaowu/ent/room"
	"github.com/kaowu/kaowu/ent/subject"
	"github.com/kaowu/kaowu/ent/user"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/audit"
	"github.com/kaowu/kaowu/internal/authz"
	"github.com/kaowu/kaowu/internal/db"
	"github.com/kaowu/kaowu/internal/testenv"
	"github.com/kaowu/kaowu/internal/viewer"
)

// world is a small data set with one of everything.
type world struct {
	client *ent.Client
	sys    context.Context

	siteA, siteB, trainer, dept, coX, coY         *ent.Organization
	admin, reviewer, opA, opB, proctor, trainerU  *ent.User
	coXUser, coXStaff, coYUser, cand1, cand2      *ent.User
	roomA, roomB                                  *ent.Room
	subj                                          *ent.Subject
	ann                                           *ent.Announcement
	sess1, sess2                                  *ent.Session
	note1, note2                                  *ent.Notification
	allUsers, allOrgs, nonCompanyOrgs, siteAUsers []int
	coXUsers                                      []int
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func newWorld(t *testing.T, url string) *world {
	ctx := context.Background()
	d, err := db.Open(url, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	if err := d.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	c := d.Client()
	c.Use(audit.Hook(slog.Default()))
	w := &world{client: c, sys: viewer.SystemContext(ctx)}
	org := func(kind organization.Kind, name string) *ent.Organization {
		return must[*ent.Organization](t)(c.Organization.Create().SetKind(kind).SetName(name).Save(w.sys))
	}
	w.siteA, w.siteB = org(organization.KindEXAM_SITE, "A考点"), org(organization.KindEXAM_SITE, "B考点")
	w.trainer, w.dept = org(organization.KindTRAINING_ORG, "培训中心"), org(organization.KindDEPARTMENT, "监管处")
	w.coX, w.coY = org(organization.KindCOMPANY, "X公司"), org(organization.KindCOMPANY, "Y公司")
	w.coX = must[*ent.Organization](t)(w.coX.Update().SetStatus(organization.StatusPENDING).Save(w.sys))
	usr := func(role user.Role, login string, o *ent.Organization) *ent.User {
		cr := c.User.Create().SetRole(role).SetLogin(login).SetName(login).SetPasswordHash("x")
		if o != nil {
			cr.SetOrganization(o)
		}
		return must[*ent.User](t)(cr.Save(w.sys))
	}
	w.admin, w.reviewer = usr(user.RoleADMIN, "admin", nil), usr(user.RoleREVIEWER, "reviewer", w.dept)
	w.opA, w.opB = usr(user.RoleEXAM_SITE, "opa", w.siteA), usr(user.RoleEXAM_SITE, "opb", w.siteB)
	w.proctor, w.trainerU = usr(user.RolePROCTOR, "proctor", w.siteA), usr(user.RoleTRAINING_ORG, "trainer", w.trainer)
	w.coXUser, w.coYUser = usr(user.RoleCOMPANY, "cox", w.coX), usr(user.RoleCOMPANY, "coy", w.coY)
	w.coXStaff = usr(user.RoleCANDIDATE, "coxstaff", w.coX) // an employee registered under the company
	w.cand1, w.cand2 = usr(user.RoleCANDIDATE, "cand1", nil), usr(user.RoleCANDIDATE, "cand2", nil)
	w.roomA = must[*ent.Room](t)(c.Room.Create().SetSiteID(w.siteA.ID).SetName("A1").SetCapacity(30).Save(w.sys))
	w.roomB = must[*ent.Room](t)(c.Room.Create().SetSiteID(w.siteB.ID).SetName("B1").SetCapacity(30).Save(w.sys))
	w.subj = must[*ent.Subject](t)(c.Subject.Create().SetCode("A").SetName("A类").SetFeeCents(12000).Save(w.sys))
	w.ann = must[*ent.Announcement](t)(c.Announcement.Create().SetTitle("通知").SetBody("正文").Save(w.sys))
	sess := func(u *ent.User, b byte) *ent.Session {
		return must[*ent.Session](t)(c.Session.Create().SetUserID(u.ID).SetTokenHash([]byte{b}).SetExpiresAt(time.Now().Add(time.Hour)).Save(w.sys))
	}
	w.sess1, w.sess2 = sess(w.cand1, 1), sess(w.cand2, 2)
	note := func(u *ent.User) *ent.Notification {
		return must[*ent.Notification](t)(c.Notification.Create().SetUserID(u.ID).SetKind("K").SetTitle("t").Save(w.sys))
	}
	w.note1, w.note2 = note(w.cand1), note(w.cand2)

	w.allUsers = ids(w.admin, w.reviewer, w.opA, w.opB, w.proctor, w.trainerU, w.coXUser, w.coYUser, w.coXStaff, w.cand1, w.cand2)
	w.siteAUsers = ids(w.opA, w.proctor)
	w.coXUsers = ids(w.coXUser, w.coXStaff)
	w.nonCompanyOrgs = []int{w.siteA.ID, w.siteB.ID, w.trainer.ID, w.dept.ID}
	w.allOrgs = append(slices.Clone(w.nonCompanyOrgs), w.coX.ID, w.coY.ID)
	sort.Ints(w.allOrgs)
	return w
}

func ids(us ...*ent.User) []int {
	out := make([]int, len(us))
	for i, u := range us {
		out[i] = u.ID
	}
	sort.Ints(out)
	return out
}

// as returns a context for u (nil: anonymous).
func (w *world) as(u *ent.User) context.Context {
	ctx := context.Background()
	if u == nil {
		return ctx
	}
	v := &viewer.Viewer{UserID: u.ID, Role: viewer.Role(u.Role)}
	if u.OrganizationID != nil {
		v.OrgID = *u.OrganizationID
	}
	return viewer.NewContext(ctx, v)
}

func sorted(xs []int) []int { sort.Ints(xs); return xs }

func TestQueryVisibility(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		w := newWorld(t, url)
		c := w.client
		userIDs := func(u *ent.User) ([]int, error) {
			x, err := c.User.Query().IDs(w.as(u))
			return sorted(x), err
		}
		orgIDs := func(u *ent.User) ([]int, error) {
			x, err := c.Organization.Query().IDs(w.as(u))
			return sorted(x), err
		}
		cases := []struct {
			name string
			got  func() ([]int, error)
			want []int // nil: denied
		}{
			{"candidate users", func() ([]int, error) { return userIDs(w.cand1) }, []int{w.cand1.ID}},
			{"company users", func() ([]int, error) { return userIDs(w.coXUser) }, w.coXUsers},
			{"site users", func() ([]int, error) { return userIDs(w.opA) }, w.siteAUsers},
			{"reviewer users", func() ([]int, error) { return userIDs(w.reviewer) }, w.allUsers},
			{"admin users", func() ([]int, error) { return userIDs(w.admin) }, w.allUsers},
			{"anonymous users", func() ([]int, error) { return userIDs(nil) }, nil},
			{"anonymous orgs", func() ([]int, error) { return orgIDs(nil) }, w.nonCompanyOrgs},
			{"candidate orgs", func() ([]int, error) { return orgIDs(w.cand1) }, w.nonCompanyOrgs},
			{"company orgs", func() ([]int, error) { return orgIDs(w.coXUser) }, sorted(append(slices.Clone(w.nonCompanyOrgs), w.coX.ID))},
			{"reviewer orgs", func() ([]int, error) { return orgIDs(w.reviewer) }, w.allOrgs},
			{"admin orgs", func() ([]int, error) { return orgIDs(w.admin) }, w.allOrgs},
			{"anonymous rooms", func() ([]int, error) { x, err := c.Room.Query().IDs(w.as(nil)); return sorted(x), err }, sorted([]int{w.roomA.ID, w.roomB.ID})},
			{"anonymous subjects", func() ([]int, error) { return c.Subject.Query().IDs(w.as(nil)) }, []int{w.subj.ID}},
			{"anonymous announcements", func() ([]int, error) { return c.Announcement.Query().IDs(w.as(nil)) }, []int{w.ann.ID}},
			{"own sessions", func() ([]int, error) { return c.Session.Query().IDs(w.as(w.cand1)) }, []int{w.sess1.ID}},
			{"anonymous sessions", func() ([]int, error) { return c.Session.Query().IDs(w.as(nil)) }, nil},
			{"own notifications", func() ([]int, error) { return c.Notification.Query().IDs(w.as(w.cand2)) }, []int{w.note2.ID}},
			{"anonymous notifications", func() ([]int, error) { return c.Notification.Query().IDs(w.as(nil)) }, nil},
			{"admin login throttles", func() ([]int, error) { return c.LoginThrottle.Query().IDs(w.as(w.admin)) }, nil},
			{"admin captchas", func() ([]int, error) { return c.Captcha.Query().IDs(w.as(w.admin)) }, nil},
			{"admin verification codes", func() ([]int, error) { return c.VerificationCode.Query().IDs(w.as(w.admin)) }, nil},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				got, err := tc.got()
				if tc.want == nil {
					if !errors.Is(err, privacy.Deny) {
						t.Fatalf("want denial, got %v %v", got, err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got, tc.want) {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			})
		}

		t.Run("get another user", func(t *testing.T) {
			if _, err := c.User.Get(w.as(w.cand1), w.cand2.ID); !ent.IsNotFound(err) {
				t.Fatalf("candidate read another user: %v", err)
			}
			if _, err := c.Organization.Get(w.as(nil), w.coX.ID); !ent.IsNotFound(err) {
				t.Fatalf("anonymous read a company: %v", err)
			}
			if _, err := c.Organization.Get(w.as(w.coYUser), w.coX.ID); !ent.IsNotFound(err) {
				t.Fatalf("company Y read company X: %v", err)
			}
		})
	})
}

type outcome int

const (
	allow  outcome = iota
	deny           // privacy.Deny
	hidden         // filtered away: not found, nothing changed
)

func (o outcome) String() string { return [...]string{"allow", "deny", "hidden"}[o] }

func TestMutationRules(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		w := newWorld(t, url)
		type op func(c *ent.Client, ctx context.Context) error
		cases := []struct {
			name string
			who  *ent.User // nil: anonymous
			sys  bool      // run as system instead
			op   op
			want outcome
		}{
			// Rooms: sites manage their own; nobody deletes.
			{"site creates room at own site", w.opA, false, func(c *ent.Client, ctx context.Context) error {
				return c.Room.Create().SetSiteID(w.siteA.ID).SetName("A2").SetCapacity(20).Exec(ctx)
			}, allow},
			{"site creates room at other site", w.opA, false, func(c *ent.Client, ctx context.Context) error {
				return c.Room.Create().SetSiteID(w.siteB.ID).SetName("B2").SetCapacity(20).Exec(ctx)
			}, deny},
			{"site without org creates room", &ent.User{ID: w.opA.ID, Role: user.RoleEXAM_SITE}, false, func(c *ent.Client, ctx context.Context) error {
				return c.Room.Create().SetSiteID(w.siteA.ID).SetName("A3").SetCapacity(20).Exec(ctx)
			}, deny},
			{"site updates own room", w.opA, false, func(c *ent.Client, ctx context.Context) error {
				return c.Room.UpdateOneID(w.roomA.ID).SetCapacity(35).SetDisabled(true).Exec(ctx)
			}, allow},
			{"site updates other site's room", w.opA, false, func(c *ent.Client, ctx context.Context) error {
				return c.Room.UpdateOneID(w.roomB.ID).SetCapacity(35).Exec(ctx)
			}, hidden},
			{"site bulk-updates rooms", w.opA, false, func(c *ent.Client, ctx context.Context) error {
				return c.Room.Update().SetCapacity(1).Exec(ctx)
			}, deny},
			{"proctor creates room", w.proctor, false, func(c *ent.Client, ctx context.Context) error {
				return c.Room.Create().SetSiteID(w.siteA.ID).SetName("A4").SetCapacity(20).Exec(ctx)
			}, deny},
			{"trainer creates room", w.trainerU, false, func(c *ent.Client, ctx context.Context) error {
				return c.Room.Create().SetSiteID(w.siteA.ID).SetName("A5").SetCapacity(20).Exec(ctx)
			}, deny},
			{"admin creates room anywhere", w.admin, false, func(c *ent.Client, ctx context.Context) error {
				return c.Room.Create().SetSiteID(w.siteB.ID).SetName("B3").SetCapacity(20).Exec(ctx)
			}, allow},
			{"anonymous creates room", nil, false, func(c *ent.Client, ctx context.Context) error {
				return c.Room.Create().SetSiteID(w.siteA.ID).SetName("A6").SetCapacity(20).Exec(ctx)
			}, deny},
			{"site deletes own room", w.opA, false, func(c *ent.Client, ctx context.Context) error {
				return c.Room.DeleteOneID(w.roomA.ID).Exec(ctx)
			}, deny},
			{"admin deletes room", w.admin, false, func(c *ent.Client, ctx context.Context) error {
				return c.Room.DeleteOneID(w.roomA.ID).Exec(ctx)
			}, deny},
			{"system deletes room", nil, true, func(c *ent.Client, ctx context.Context) error {
				return c.Room.DeleteOneID(w.roomA.ID).Exec(ctx)
			}, deny},
			{"system bulk-deletes rooms", nil, true, func(c *ent.Client, ctx context.Context) error {
				_, err := c.Room.Delete().Where(room.SiteID(w.siteB.ID)).Exec(ctx)
				return err
			}, deny},

			// Subjects: admin edits, nobody deletes.
			{"admin creates subject", w.admin, false, func(c *ent.Client, ctx context.Context) error {
				return c.Subject.Create().SetCode("B").SetName("B类").SetFeeCents(1).Exec(ctx)
			}, allow},
			{"admin updates subject", w.admin, false, func(c *ent.Client, ctx context.Context) error {
				return c.Subject.UpdateOneID(w.subj.ID).SetFeeCents(100).Exec(ctx)
			}, allow},
			{"reviewer updates subject", w.reviewer, false, func(c *ent.Client, ctx context.Context) error {
				return c.Subject.UpdateOneID(w.subj.ID).SetFeeCents(100).Exec(ctx)
			}, deny},
			{"admin deletes subject", w.admin, false, func(c *ent.Client, ctx context.Context) error {
				return c.Subject.DeleteOneID(w.subj.ID).Exec(ctx)
			}, deny},
			{"system deletes subject", nil, true, func(c *ent.Client, ctx context.Context) error {
				_, err := c.Subject.Delete().Where(subject.ID(w.subj.ID)).Exec(ctx)
				return err
			}, deny},

			// Announcements: admin only.
			{"admin announces", w.admin, false, func(c *ent.Client, ctx context.Context) error {
				return c.Announcement.Create().SetTitle("t").SetBody("b").Exec(ctx)
			}, allow},
			{"reviewer announces", w.reviewer, false, func(c *ent.Client, ctx context.Context) error {
				return c.Announcement.Create().SetTitle("t").SetBody("b").Exec(ctx)
			}, deny},
			{"anonymous announces", nil, false, func(c *ent.Client, ctx context.Context) error {
				return c.Announcement.Create().SetTitle("t").SetBody("b").Exec(ctx)
			}, deny},

			// Organisations: reviewers change company status only.
			{"reviewer approves company", w.reviewer, false, func(c *ent.Client, ctx context.Context) error {
				return c.Organization.UpdateOneID(w.coX.ID).SetStatus(organization.StatusAPPROVED).SetReviewReason("ok").
					SetReviewedAt(time.Now()).SetReviewedByID(w.reviewer.ID).Exec(ctx)
			}, allow},
			{"reviewer approves company (conditional bulk)", w.reviewer, false, func(c *ent.Client, ctx context.Context) error {
				n, err := c.Organization.Update().Where(organization.ID(w.coX.ID), organization.StatusEQ(organization.StatusPENDING)).
					SetStatus(organization.StatusAPPROVED).Save(ctx)
				if err == nil && n != 1 {
					return errors.New("no row updated")
				}
				return err
			}, allow},
			{"reviewer renames company", w.reviewer, false, func(c *ent.Client, ctx context.Context) error {
				return c.Organization.UpdateOneID(w.coX.ID).SetName("改名").Exec(ctx)
			}, deny},
			{"reviewer changes site status", w.reviewer, false, func(c *ent.Client, ctx context.Context) error {
				return c.Organization.UpdateOneID(w.siteA.ID).SetStatus(organization.StatusREJECTED).Exec(ctx)
			}, hidden},
			{"reviewer bulk-rejects everything", w.reviewer, false, func(c *ent.Client, ctx context.Context) error {
				n, err := c.Organization.Update().SetStatus(organization.StatusREJECTED).Save(ctx)
				if err == nil && n != 2 {
					return errors.New("touched non-company organisations")
				}
				return err
			}, allow},
			{"reviewer creates organisation", w.reviewer, false, func(c *ent.Client, ctx context.Context) error {
				return c.Organization.Create().SetKind(organization.KindDEPARTMENT).SetName("新处").Exec(ctx)
			}, deny},
			{"company approves itself", w.coXUser, false, func(c *ent.Client, ctx context.Context) error {
				return c.Organization.UpdateOneID(w.coX.ID).SetStatus(organization.StatusAPPROVED).Exec(ctx)
			}, deny},
			{"company updates own contact", w.coXUser, false, func(c *ent.Client, ctx context.Context) error {
				return c.Organization.UpdateOneID(w.coX.ID).SetContact("李四").SetPhone("13800000000").Exec(ctx)
			}, allow},
			{"company updates other company", w.coXUser, false, func(c *ent.Client, ctx context.Context) error {
				return c.Organization.UpdateOneID(w.coY.ID).SetContact("李四").Exec(ctx)
			}, hidden},
			{"company renames itself", w.coXUser, false, func(c *ent.Client, ctx context.Context) error {
				return c.Organization.UpdateOneID(w.coX.ID).SetName("新名").Exec(ctx)
			}, deny},
			{"site updates own address", w.opA, false, func(c *ent.Client, ctx context.Context) error {
				return c.Organization.UpdateOneID(w.siteA.ID).SetAddress("新地址").Exec(ctx)
			}, allow},
			{"candidate updates a site", w.cand1, false, func(c *ent.Client, ctx context.Context) error {
				return c.Organization.UpdateOneID(w.siteA.ID).SetAddress("x").Exec(ctx)
			}, deny},
			{"admin deletes organisation", w.admin, false, func(c *ent.Client, ctx context.Context) error {
				return c.Organization.DeleteOneID(w.dept.ID).Exec(ctx)
			}, deny},

			// Users: each edits own name and email.
			{"candidate renames self", w.cand1, false, func(c *ent.Client, ctx context.Context) error {
				return c.User.UpdateOneID(w.cand1.ID).SetName("新名字").SetEmail("a@b.cn").Exec(ctx)
			}, allow},
			{"candidate promotes self", w.cand1, false, func(c *ent.Client, ctx context.Context) error {
				return c.User.UpdateOneID(w.cand1.ID).SetRole(user.RoleADMIN).Exec(ctx)
			}, deny},
			{"candidate changes own password hash", w.cand1, false, func(c *ent.Client, ctx context.Context) error {
				return c.User.UpdateOneID(w.cand1.ID).SetPasswordHash("y").Exec(ctx)
			}, deny},
			{"candidate renames another", w.cand1, false, func(c *ent.Client, ctx context.Context) error {
				return c.User.UpdateOneID(w.cand2.ID).SetName("x").Exec(ctx)
			}, hidden},
			{"company renames its employee", w.coXUser, false, func(c *ent.Client, ctx context.Context) error {
				return c.User.UpdateOneID(w.coXStaff.ID).SetName("x").Exec(ctx)
			}, hidden},
			{"candidate creates user", w.cand1, false, func(c *ent.Client, ctx context.Context) error {
				return c.User.Create().SetRole(user.RoleADMIN).SetLogin("evil").SetName("e").SetPasswordHash("x").Exec(ctx)
			}, deny},
			{"anonymous creates user", nil, false, func(c *ent.Client, ctx context.Context) error {
				return c.User.Create().SetRole(user.RoleCANDIDATE).SetLogin("anon").SetName("e").SetPasswordHash("x").Exec(ctx)
			}, deny},
			{"admin disables user", w.admin, false, func(c *ent.Client, ctx context.Context) error {
				return c.User.UpdateOneID(w.cand1.ID).SetStatus(user.StatusDISABLED).Exec(ctx)
			}, allow},
			{"system deletes user", nil, true, func(c *ent.Client, ctx context.Context) error {
				return c.User.DeleteOneID(w.cand2.ID).Exec(ctx)
			}, deny},

			// Sessions: own ones ended, nothing else.
			{"candidate ends own session", w.cand1, false, func(c *ent.Client, ctx context.Context) error {
				return c.Session.UpdateOneID(w.sess1.ID).SetRevokedAt(time.Now()).SetRevokeReason("x").Exec(ctx)
			}, allow},
			{"candidate ends another's session", w.cand1, false, func(c *ent.Client, ctx context.Context) error {
				return c.Session.UpdateOneID(w.sess2.ID).SetRevokedAt(time.Now()).Exec(ctx)
			}, hidden},
			{"candidate extends own session", w.cand1, false, func(c *ent.Client, ctx context.Context) error {
				return c.Session.UpdateOneID(w.sess1.ID).SetExpiresAt(time.Now().Add(time.Hour * 1000)).Exec(ctx)
			}, deny},
			{"candidate creates session", w.cand1, false, func(c *ent.Client, ctx context.Context) error {
				return c.Session.Create().SetUserID(w.cand1.ID).SetTokenHash([]byte{9}).SetExpiresAt(time.Now()).Exec(ctx)
			}, deny},

			// Notifications: marked read by their owner only.
			{"candidate reads own notification", w.cand1, false, func(c *ent.Client, ctx context.Context) error {
				return c.Notification.UpdateOneID(w.note1.ID).SetReadAt(time.Now()).Exec(ctx)
			}, allow},
			{"candidate reads another's notification", w.cand1, false, func(c *ent.Client, ctx context.Context) error {
				return c.Notification.UpdateOneID(w.note2.ID).SetReadAt(time.Now()).Exec(ctx)
			}, hidden},
			{"admin creates notification", w.admin, false, func(c *ent.Client, ctx context.Context) error {
				return c.Notification.Create().SetUserID(w.cand1.ID).SetKind("K").SetTitle("t").Exec(ctx)
			}, deny},

			// Security bookkeeping: system only.
			{"admin clears login throttles", w.admin, false, func(c *ent.Client, ctx context.Context) error {
				_, err := c.LoginThrottle.Delete().Exec(ctx)
				return err
			}, deny},
			{"admin writes a captcha", w.admin, false, func(c *ent.Client, ctx context.Context) error {
				return c.Captcha.Create().SetKey("k").SetAnswerHash("h").SetExpiresAt(time.Now()).Exec(ctx)
			}, deny},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				ctx := w.as(tc.who)
				if tc.sys {
					ctx = w.sys
				}
				// Each case runs in its own transaction, rolled back after.
				tx, err := w.client.Tx(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				defer func() { _ = tx.Rollback() }()
				err = tc.op(tx.Client(), ctx)
				var got outcome
				switch {
				case err == nil:
					got = allow
				case errors.Is(err, privacy.Deny):
					got = deny
				case ent.IsNotFound(err):
					got = hidden
				default:
					t.Fatalf("unexpected error: %v", err)
				}
				if got != tc.want {
					t.Fatalf("got %s (%v), want %s", got, err, tc.want)
				}
			})
		}
	})
}

func TestRequire(t *testing.T) {
	ctx := context.Background()
	if _, err := authz.Require(ctx, "no"); !apperr.Is(err, apperr.Unauthenticated) {
		t.Fatalf("anonymous: %v", err)
	}
	vctx := viewer.NewContext(ctx, &viewer.Viewer{UserID: 1, Role: viewer.Candidate})
	if v, err := authz.Require(vctx, "no"); err != nil || v.UserID != 1 {
		t.Fatalf("any role: %v %v", v, err)
	}
	_, err := authz.Require(vctx, "管理员才可以", viewer.Admin, viewer.Reviewer)
	if ae, ok := apperr.As(err); !ok || ae.Code != apperr.Forbidden || ae.Message != "管理员才可以" {
		t.Fatalf("wrong role: %v", err)
	}
	if v, err := authz.Require(vctx, "no", viewer.Admin, viewer.Candidate); err != nil || v.Role != viewer.Candidate {
		t.Fatalf("listed role: %v %v", v, err)
	}
}
