package auth_test

import (
	"strings"
	"testing"
	"time"

	"github.com/kaowu/kaowu/ent/organization"
	"github.com/kaowu/kaowu/ent/session"
	"github.com/kaowu/kaowu/ent/user"
	"github.com/kaowu/kaowu/ent/verificationcode"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/auth"
	"github.com/kaowu/kaowu/internal/testenv"
)

// wrongCode returns a 6-digit code different from code.
func wrongCode(code string) string {
	if code == "000000" {
		return "111111"
	}
	return "000000"
}

func TestLoginSMS(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url, auth.Config{LoginSMS: true})

		// start logs u in with its password and returns the challenge and the code sent.
		start := func(t *testing.T, u string, phone string) (string, string) {
			t.Helper()
			sent := e.sms.Count()
			res, err := e.svc.Login(e.ctx, auth.LoginInput{Login: u, Password: goodPassword})
			mustOK(t, err)
			if res.Token != "" || res.Challenge == "" {
				t.Fatalf("want a challenge and no token, got %+v", res)
			}
			if !strings.HasPrefix(res.PhoneMasked, phone[:3]) || strings.Contains(res.PhoneMasked, phone) {
				t.Fatalf("phone masked as %q", res.PhoneMasked)
			}
			if e.sms.Count() != sent+1 {
				t.Fatalf("sent %d messages, want 1", e.sms.Count()-sent)
			}
			m, ok := e.sms.Last(phone)
			if !ok || m.Purpose != "LOGIN" || len(m.Code) != 6 {
				t.Fatalf("message %+v", m)
			}
			return res.Challenge, m.Code
		}

		t.Run("right code opens a session, once", func(t *testing.T) {
			u := e.person(1)
			ch, code := start(t, u.Login, u.Phone)
			if n, _ := e.client.Session.Query().Where(session.UserID(u.ID)).Count(e.sys); n != 0 {
				t.Fatal("session opened before the SMS step")
			}
			_, err := e.svc.VerifyLoginCode(e.ctx, ch, wrongCode(code), "10.0.0.1", "ua")
			wantField(t, err, apperr.BadInput, "code")
			res, err := e.svc.VerifyLoginCode(e.ctx, ch, " "+code+" ", "10.0.0.1", "ua")
			mustOK(t, err)
			if res.Token == "" || res.User.ID != u.ID {
				t.Fatalf("result %+v", res)
			}
			v, err := e.svc.Authenticate(e.ctx, res.Token)
			mustOK(t, err)
			if v.UserID != u.ID {
				t.Fatalf("viewer %+v", v)
			}
			_, err = e.svc.VerifyLoginCode(e.ctx, ch, code, "", "")
			wantField(t, err, apperr.BadInput, "code")
			_, err = e.svc.VerifyLoginCode(e.ctx, "no-such-challenge", code, "", "")
			wantCode(t, err, apperr.Unauthenticated)
		})

		t.Run("five wrong attempts invalidate the code", func(t *testing.T) {
			u := e.person(2)
			ch, code := start(t, u.Login, u.Phone)
			for i := 0; i < auth.CodeMaxAttempts; i++ {
				_, err := e.svc.VerifyLoginCode(e.ctx, ch, wrongCode(code), "", "")
				wantField(t, err, apperr.BadInput, "code")
			}
			_, err := e.svc.VerifyLoginCode(e.ctx, ch, code, "", "")
			wantField(t, err, apperr.BadInput, "code")
			if n, _ := e.client.Session.Query().Where(session.UserID(u.ID)).Count(e.sys); n != 0 {
				t.Fatal("session opened with an exhausted code")
			}
		})

		t.Run("wrong attempts are counted and spend the code", func(t *testing.T) {
			u := e.person(3)
			ch, code := start(t, u.Login, u.Phone)
			for i := 0; i < auth.CodeMaxAttempts; i++ {
				_, err := e.svc.VerifyLoginCode(e.ctx, ch, wrongCode(code), "", "")
				wantField(t, err, apperr.BadInput, "code")
			}
			vc, err := e.client.VerificationCode.Query().Where(verificationcode.UserID(u.ID)).Only(e.sys)
			mustOK(t, err)
			if vc.Attempts != auth.CodeMaxAttempts {
				t.Fatalf("attempts = %d, want %d", vc.Attempts, auth.CodeMaxAttempts)
			}
			_, err = e.svc.VerifyLoginCode(e.ctx, ch, code, "", "")
			wantField(t, err, apperr.BadInput, "code")
		})

		t.Run("expired code refused", func(t *testing.T) {
			u := e.person(4)
			ch, code := start(t, u.Login, u.Phone)
			e.clock.Advance(auth.CodeTTL + time.Second)
			_, err := e.svc.VerifyLoginCode(e.ctx, ch, code, "", "")
			wantField(t, err, apperr.BadInput, "code")
		})

		t.Run("disabled between the steps", func(t *testing.T) {
			u := e.person(6)
			ch, code := start(t, u.Login, u.Phone)
			mustOK(t, e.client.User.UpdateOneID(u.ID).SetStatus(user.StatusDISABLED).Exec(e.sys))
			_, err := e.svc.VerifyLoginCode(e.ctx, ch, code, "", "")
			wantCode(t, err, apperr.Forbidden)
		})

		t.Run("account without phone skips the SMS step", func(t *testing.T) {
			site := e.org(organization.KindEXAM_SITE, "无手机考点")
			u := e.staff(user.RolePROCTOR, "nophone", site)
			mustOK(t, e.client.User.UpdateOneID(u.ID).SetPhone("").Exec(e.sys))
			e.login("nophone")
		})
	})
}
