package auth_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/session"
	"github.com/kaowu/kaowu/ent/user"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/auth"
	"github.com/kaowu/kaowu/internal/testenv"
	"github.com/kaowu/kaowu/internal/viewer"
)

// wantExpired asserts tok no longer authenticates because it expired.
func wantExpired(t *testing.T, e *env, tok string) {
	t.Helper()
	_, err := e.svc.Authenticate(e.ctx, tok)
	ae := wantCode(t, err, apperr.Unauthenticated)
	if !strings.Contains(ae.Message, "登录已过期") {
		t.Fatalf("message %q", ae.Message)
	}
}

func wantAlive(t *testing.T, e *env, tok string) {
	t.Helper()
	if _, err := e.svc.Authenticate(e.ctx, tok); err != nil {
		t.Fatalf("session should be alive: %v", err)
	}
}

func wantDead(t *testing.T, e *env, tok string) {
	t.Helper()
	_, err := e.svc.Authenticate(e.ctx, tok)
	wantCode(t, err, apperr.Unauthenticated)
}

func TestSessionLifetime(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url, auth.Config{})
		e.staff(user.RoleADMIN, "lifetime", nil)

		t.Run("idle timeout", func(t *testing.T) {
			tok := e.login("lifetime").Token
			e.clock.Advance(29 * time.Minute)
			wantAlive(t, e, tok)
			e.clock.Advance(29 * time.Minute) // 58m after login, 29m idle
			wantAlive(t, e, tok)
			e.clock.Advance(30 * time.Minute)
			wantExpired(t, e, tok)
		})

		t.Run("absolute maximum despite activity", func(t *testing.T) {
			tok := e.login("lifetime").Token
			for elapsed := time.Duration(0); elapsed+25*time.Minute < 12*time.Hour; elapsed += 25 * time.Minute {
				e.clock.Advance(25 * time.Minute)
				wantAlive(t, e, tok)
			}
			e.clock.Advance(20 * time.Minute) // exactly 12h
			wantExpired(t, e, tok)
		})

		t.Run("last_seen_at written at most once a minute", func(t *testing.T) {
			res := e.login("lifetime")
			v, err := e.svc.Authenticate(e.ctx, res.Token)
			mustOK(t, err)
			t0 := e.clock.Now()
			e.clock.Advance(30 * time.Second)
			wantAlive(t, e, res.Token)
			s, err := e.client.Session.Get(e.sys, v.SessionID)
			mustOK(t, err)
			if !s.LastSeenAt.Equal(t0) {
				t.Fatalf("last_seen_at moved to %v after 30s (login %v)", s.LastSeenAt, t0)
			}
			e.clock.Advance(31 * time.Second)
			wantAlive(t, e, res.Token)
			s, err = e.client.Session.Get(e.sys, v.SessionID)
			mustOK(t, err)
			if !s.LastSeenAt.Equal(e.clock.Now()) {
				t.Fatalf("last_seen_at %v, want %v", s.LastSeenAt, e.clock.Now())
			}
		})

		t.Run("keep alive", func(t *testing.T) {
			res := e.login("lifetime")
			v, err := e.svc.Authenticate(e.ctx, res.Token)
			mustOK(t, err)
			start := e.clock.Now()
			mustOK(t, e.svc.KeepAlive(e.ctx, v.SessionID, start.Add(2*time.Hour)))
			e.clock.Advance(90 * time.Minute) // idle 90m, kept alive
			wantAlive(t, e, res.Token)
			vctx := viewer.NewContext(e.ctx, v)
			e.clock.Advance(29 * time.Minute) // 1h59m, idle 29m
			live, err := e.svc.Sessions(vctx)
			mustOK(t, err)
			if !containsSession(live, v.SessionID) {
				t.Fatal("kept-alive session not listed")
			}
			e.clock.Advance(32 * time.Minute) // keep-alive over, idle 61m
			wantExpired(t, e, res.Token)
		})
	})
}

func TestSessionManagement(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url, auth.Config{})
		a := e.staff(user.RoleEXAM_SITE, "usera", nil)
		e.staff(user.RoleEXAM_SITE, "userb", nil)

		t.Run("logout", func(t *testing.T) {
			tok := e.login("usera").Token
			other := e.login("usera").Token
			mustOK(t, e.svc.Logout(e.viewerCtx(tok)))
			wantDead(t, e, tok)
			wantAlive(t, e, other)
			wantCode(t, e.svc.Logout(e.ctx), apperr.Unauthenticated)
		})

		t.Run("end session", func(t *testing.T) {
			t1, t2 := e.login("usera").Token, e.login("usera").Token
			tb := e.login("userb").Token
			ctx1 := e.viewerCtx(t1)
			v2, _ := e.svc.Authenticate(e.ctx, t2)
			vb, _ := e.svc.Authenticate(e.ctx, tb)
			mustOK(t, e.svc.EndSession(ctx1, v2.SessionID))
			wantDead(t, e, t2)
			wantAlive(t, e, t1)
			wantCode(t, e.svc.EndSession(ctx1, v2.SessionID), apperr.NotFound)
			wantCode(t, e.svc.EndSession(ctx1, vb.SessionID), apperr.NotFound)
			wantAlive(t, e, tb)
			wantCode(t, e.svc.EndSession(e.ctx, vb.SessionID), apperr.Unauthenticated)
			// Own current session can be ended too.
			mustOK(t, e.svc.EndSession(ctx1, viewer.FromContext(ctx1).SessionID))
			wantDead(t, e, t1)
		})

		t.Run("sessions lists own live sessions", func(t *testing.T) {
			mustOK(t, revokeAllDirect(e, a.ID))
			idle := e.login("usera").Token
			e.clock.Advance(10 * time.Minute)
			cur, ended := e.login("usera").Token, e.login("usera").Token
			e.login("userb")
			ctx := e.viewerCtx(cur)
			ve, _ := e.svc.Authenticate(e.ctx, ended)
			mustOK(t, e.svc.EndSession(ctx, ve.SessionID))
			e.clock.Advance(21 * time.Minute) // idle one: 31m without activity
			wantAlive(t, e, cur)
			wantExpired(t, e, idle)
			list, err := e.svc.Sessions(ctx)
			mustOK(t, err)
			if len(list) != 1 || list[0].ID != viewer.FromContext(ctx).SessionID {
				ids := []int{}
				for _, s := range list {
					ids = append(ids, s.ID)
				}
				t.Fatalf("sessions %v, want only the current one %d", ids, viewer.FromContext(ctx).SessionID)
			}
			for _, s := range list {
				if s.UserID != a.ID {
					t.Fatalf("listed another user's session %d", s.ID)
				}
			}
			_, err = e.svc.Sessions(e.ctx)
			wantCode(t, err, apperr.Unauthenticated)
		})

		t.Run("sessions newest first", func(t *testing.T) {
			mustOK(t, revokeAllDirect(e, a.ID))
			first := e.login("usera").Token
			e.clock.Advance(time.Minute)
			second := e.login("usera").Token
			list, err := e.svc.Sessions(e.viewerCtx(first))
			mustOK(t, err)
			v2, _ := e.svc.Authenticate(e.ctx, second)
			if len(list) != 2 || list[0].ID != v2.SessionID {
				t.Fatalf("want 2 sessions, newest (%d) first; got %d", v2.SessionID, len(list))
			}
		})
	})
}

func TestChangePassword(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url, auth.Config{})
		e.staff(user.RoleTRAINING_ORG, "trainer1", nil)
		cur, other := e.login("trainer1").Token, e.login("trainer1").Token
		ctx := e.viewerCtx(cur)

		wantField(t, e.svc.ChangePassword(ctx, "Wrong#pass1", "New#Pass2026"), apperr.BadInput, "oldPassword")
		wantField(t, e.svc.ChangePassword(ctx, goodPassword, "short"), apperr.BadInput, "newPassword")
		wantField(t, e.svc.ChangePassword(ctx, goodPassword, "87654321"), apperr.BadInput, "newPassword")
		wantField(t, e.svc.ChangePassword(ctx, goodPassword, "TRAINER1"), apperr.BadInput, "newPassword")
		wantField(t, e.svc.ChangePassword(ctx, goodPassword, goodPassword), apperr.BadInput, "newPassword")
		wantCode(t, e.svc.ChangePassword(e.ctx, goodPassword, "New#Pass2026"), apperr.Unauthenticated)
		wantAlive(t, e, other)

		// A rolled-back change changes nothing.
		err := e.inRolledBackTx(ctx, func(ctx context.Context) error {
			return e.svc.ChangePassword(ctx, goodPassword, "New#Pass2026")
		})
		mustOK(t, err)
		wantAlive(t, e, other)
		e.login("trainer1")

		mustOK(t, e.svc.ChangePassword(ctx, goodPassword, "New#Pass2026"))
		wantAlive(t, e, cur)
		wantDead(t, e, other)
		_, err = e.svc.Login(e.ctx, auth.LoginInput{Login: "trainer1", Password: goodPassword})
		wantCode(t, err, apperr.Unauthenticated)
		_, err = e.svc.Login(e.ctx, auth.LoginInput{Login: "trainer1", Password: "New#Pass2026"})
		mustOK(t, err)
	})
}

func TestSetDisabled(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url, auth.Config{})
		admin := e.staff(user.RoleADMIN, "admin", nil)
		e.staff(user.RoleREVIEWER, "reviewer", nil)
		target := e.person(1)
		adminCtx := e.viewerCtx(e.login("admin").Token)
		tok := e.login(target.Login).Token

		// Non-admins may not.
		_, err := e.svc.SetDisabled(e.viewerCtx(e.login("reviewer").Token), target.ID, true)
		wantCode(t, err, apperr.Forbidden)
		_, err = e.svc.SetDisabled(e.ctx, target.ID, true)
		wantCode(t, err, apperr.Unauthenticated)
		// Not oneself.
		_, err = e.svc.SetDisabled(adminCtx, admin.ID, true)
		wantField(t, err, apperr.BadInput, "id")
		wantAlive(t, e, tok)

		// Rolled back: nothing happens.
		err = e.inRolledBackTx(adminCtx, func(ctx context.Context) error {
			_, err := e.svc.SetDisabled(ctx, target.ID, true)
			return err
		})
		mustOK(t, err)
		wantAlive(t, e, tok)

		u, err := e.svc.SetDisabled(adminCtx, target.ID, true)
		mustOK(t, err)
		if u.Status != user.StatusDISABLED {
			t.Fatalf("status %s", u.Status)
		}
		wantDead(t, e, tok)
		_, err = e.svc.Login(e.ctx, auth.LoginInput{Login: target.Login, Password: goodPassword})
		wantCode(t, err, apperr.Forbidden)

		u, err = e.svc.SetDisabled(adminCtx, target.ID, false)
		mustOK(t, err)
		if u.Status != user.StatusACTIVE {
			t.Fatalf("status %s", u.Status)
		}
		e.login(target.Login)
	})
}

func containsSession(list []*ent.Session, id int) bool {
	for _, s := range list {
		if s.ID == id {
			return true
		}
	}
	return false
}

// revokeAllDirect ends every session of the user (test set-up).
func revokeAllDirect(e *env, userID int) error {
	_, err := e.client.Session.Update().Where(session.UserID(userID), session.RevokedAtIsNil()).
		SetRevokedAt(e.clock.Now()).SetRevokeReason("test").Save(e.sys)
	return err
}

// TestSessionCache: validated sessions are reused for a moment, so a
// revocation written behind the service's back (another replica) takes
// effect within DefaultSessionCacheTTL, while one through this service
// takes effect at once; with the cache off, every request reads the row.
func TestSessionCache(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		revokeBehind := func(e *env, tok string) {
			t.Helper()
			e.client.Session.Update().Where(session.TokenHash(auth.HashToken(tok))).
				SetRevokedAt(e.clock.Now()).SetRevokeReason("other replica").ExecX(viewer.SystemContext(context.Background()))
		}
		cached := newEnv(t, url, auth.Config{})
		cached.staff(user.RoleADMIN, "cached", nil)
		tok := cached.login("cached").Token
		wantAlive(t, cached, tok)
		revokeBehind(cached, tok)
		wantAlive(t, cached, tok) // within the cache's few seconds: documented

		other := cached.login("cached").Token
		wantAlive(t, cached, other)
		v, err := cached.svc.Authenticate(cached.ctx, other)
		if err != nil {
			t.Fatal(err)
		}
		if err := cached.svc.Logout(viewer.NewContext(context.Background(), v)); err != nil {
			t.Fatal(err)
		}
		wantDead(t, cached, other) // through the service: at once
		wantDead(t, cached, tok)   // and the whole cache went with it

		uncached := newEnv(t, url, auth.Config{SessionCache: -1})
		uncached.staff(user.RoleADMIN, "uncached", nil)
		tok = uncached.login("uncached").Token
		wantAlive(t, uncached, tok)
		revokeBehind(uncached, tok)
		wantDead(t, uncached, tok)
	})
}
