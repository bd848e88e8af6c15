package auth_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kaowu/kaowu/ent/loginthrottle"
	"github.com/kaowu/kaowu/ent/organization"
	"github.com/kaowu/kaowu/ent/session"
	"github.com/kaowu/kaowu/ent/user"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/auth"
	"github.com/kaowu/kaowu/internal/testenv"
	"github.com/kaowu/kaowu/internal/viewer"
)

// fail makes one wrong-password attempt and returns its error.
func (e *env) fail(ctx context.Context, login, ip string) error {
	_, err := e.svc.Login(ctx, auth.LoginInput{Login: login, Password: "Wrong#pass1", IP: ip})
	return err
}

// failSolved makes a wrong-password attempt passing a solved captcha.
func (e *env) failSolved(login, ip string) error {
	key, ans := e.solvedCaptcha()
	_, err := e.svc.Login(e.ctx, auth.LoginInput{Login: login, Password: "Wrong#pass1", IP: ip, CaptchaKey: key, CaptchaText: ans})
	return err
}

func TestLogin(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url, auth.Config{})
		site := e.org(organization.KindEXAM_SITE, "南山考点")

		t.Run("success resolves to the viewer", func(t *testing.T) {
			u := e.staff(user.RoleEXAM_SITE, "siteop", site)
			res, err := e.svc.Login(e.ctx, auth.LoginInput{Login: " SiteOp ", Password: goodPassword, IP: "10.1.1.1", UserAgent: "test"})
			mustOK(t, err)
			if res.Token == "" || res.Challenge != "" || res.User.ID != u.ID {
				t.Fatalf("result %+v", res)
			}
			if !res.ExpiresAt.Equal(e.clock.Now().Add(12 * time.Hour)) {
				t.Fatalf("expires %v", res.ExpiresAt)
			}
			v, err := e.svc.Authenticate(e.ctx, res.Token)
			mustOK(t, err)
			if v.UserID != u.ID || v.Role != viewer.ExamSite || v.OrgID != site.ID || v.SessionID == 0 {
				t.Fatalf("viewer %+v", v)
			}
			// Only the token's hash is stored.
			s, err := e.client.Session.Get(e.sys, v.SessionID)
			mustOK(t, err)
			if string(s.TokenHash) == res.Token || string(s.TokenHash) != string(auth.HashToken(res.Token)) {
				t.Fatal("token stored in clear or not as its hash")
			}
			if s.IP != "10.1.1.1" || s.UserAgent != "test" {
				t.Fatalf("session ip %q ua %q", s.IP, s.UserAgent)
			}
			if _, err := e.svc.Authenticate(e.ctx, res.Token+"x"); err == nil {
				t.Fatal("a different token authenticated")
			}
			_, err = e.svc.Authenticate(e.ctx, "")
			wantCode(t, err, apperr.Unauthenticated)
		})

		t.Run("wrong password and unknown account look the same", func(t *testing.T) {
			e.staff(user.RoleADMIN, "admin1", nil)
			sessions, _ := e.client.Session.Query().Count(e.sys)
			_, err1 := e.svc.Login(e.ctx, auth.LoginInput{Login: "admin1", Password: "Wrong#pass1", IP: "10.2.0.1"})
			a := wantCode(t, err1, apperr.Unauthenticated)
			_, err2 := e.svc.Login(e.ctx, auth.LoginInput{Login: "nobody99", Password: "Wrong#pass1", IP: "10.2.0.2"})
			b := wantCode(t, err2, apperr.Unauthenticated)
			if a.Message != b.Message {
				t.Fatalf("messages differ: %q vs %q", a.Message, b.Message)
			}
			if n, _ := e.client.Session.Query().Count(e.sys); n != sessions {
				t.Fatal("a failed login opened a session")
			}
			_, err := e.svc.Login(e.ctx, auth.LoginInput{Login: "admin1", Password: ""})
			wantCode(t, err, apperr.BadInput)
		})

		t.Run("captcha after three failures per account", func(t *testing.T) {
			e.staff(user.RoleADMIN, "acct3", nil)
			for i := 0; i < auth.CaptchaAfter; i++ {
				// Different addresses: only the account counter reaches the limit.
				err := e.fail(e.ctx, "acct3", "10.3.0."+strconv.Itoa(i+1))
				ae := wantCode(t, err, apperr.Unauthenticated)
				if i == auth.CaptchaAfter-1 && ae.Extra["captchaRequired"] != true {
					t.Fatalf("third failure does not announce the captcha: %+v", ae.Extra)
				}
			}
			// Even the right password needs a captcha now.
			_, err := e.svc.Login(e.ctx, auth.LoginInput{Login: "acct3", Password: goodPassword, IP: "10.3.0.9"})
			wantCode(t, err, apperr.CaptchaRequired)
			c, err := e.svc.NewCaptcha(e.ctx)
			mustOK(t, err)
			if c.Key == "" || c.Image == "" {
				t.Fatal("empty captcha")
			}
			_, err = e.svc.Login(e.ctx, auth.LoginInput{Login: "acct3", Password: goodPassword, IP: "10.3.0.9", CaptchaKey: c.Key, CaptchaText: "wrong"})
			wantCode(t, err, apperr.CaptchaRequired)
			key, ans := e.solvedCaptcha()
			res, err := e.svc.Login(e.ctx, auth.LoginInput{Login: "acct3", Password: goodPassword, IP: "10.3.0.9", CaptchaKey: key, CaptchaText: " " + ans + " "})
			mustOK(t, err)
			if res.Token == "" {
				t.Fatal("no token")
			}
			// Single use: the same captcha again is refused.
			mustOK(t, multiFail(e, "acct3", "10.3.0.9", auth.CaptchaAfter))
			_, err = e.svc.Login(e.ctx, auth.LoginInput{Login: "acct3", Password: goodPassword, IP: "10.3.0.9", CaptchaKey: key, CaptchaText: ans})
			wantCode(t, err, apperr.CaptchaRequired)
		})

		t.Run("captcha after three failures per address", func(t *testing.T) {
			for i := 0; i < auth.CaptchaAfter; i++ {
				e.staff(user.RoleADMIN, "ipuser"+strconv.Itoa(i), nil)
				wantCode(t, e.fail(e.ctx, "ipuser"+strconv.Itoa(i), "10.4.0.1"), apperr.Unauthenticated)
			}
			e.staff(user.RoleADMIN, "ipfresh", nil)
			_, err := e.svc.Login(e.ctx, auth.LoginInput{Login: "ipfresh", Password: goodPassword, IP: "10.4.0.1"})
			wantCode(t, err, apperr.CaptchaRequired)
			// Another address is not affected.
			_, err = e.svc.Login(e.ctx, auth.LoginInput{Login: "ipfresh", Password: goodPassword, IP: "10.4.0.2"})
			mustOK(t, err)
		})

		t.Run("captcha expires", func(t *testing.T) {
			e.staff(user.RoleADMIN, "capexp", nil)
			mustOK(t, multiFail(e, "capexp", "10.5.0.1", auth.CaptchaAfter))
			key, ans := e.solvedCaptcha()
			e.clock.Advance(auth.CaptchaTTL + time.Second)
			_, err := e.svc.Login(e.ctx, auth.LoginInput{Login: "capexp", Password: goodPassword, IP: "10.5.0.1", CaptchaKey: key, CaptchaText: ans})
			wantCode(t, err, apperr.CaptchaRequired)
		})

		t.Run("lockout after ten failures", func(t *testing.T) {
			e.staff(user.RoleADMIN, "locked1", nil)
			ip := "10.6.0.1"
			for i := 0; i < auth.LockAfter; i++ {
				var err error
				if i < auth.CaptchaAfter {
					err = e.fail(e.ctx, "locked1", ip)
				} else {
					err = e.failSolved("locked1", ip)
				}
				wantCode(t, err, apperr.Unauthenticated)
			}
			key, ans := e.solvedCaptcha()
			_, err := e.svc.Login(e.ctx, auth.LoginInput{Login: "locked1", Password: goodPassword, IP: "10.6.0.2", CaptchaKey: key, CaptchaText: ans})
			ae := wantCode(t, err, apperr.AccountLocked)
			if s, _ := ae.Extra["retryAfterSeconds"].(int); s <= 0 || s > int(auth.LockFor.Seconds()) {
				t.Fatalf("retryAfterSeconds = %v", ae.Extra["retryAfterSeconds"])
			}
			e.clock.Advance(auth.LockFor - time.Minute)
			_, err = e.svc.Login(e.ctx, auth.LoginInput{Login: "locked1", Password: goodPassword, IP: "10.6.0.3"})
			wantCode(t, err, apperr.AccountLocked)
			e.clock.Advance(time.Minute + time.Second)
			res, err := e.svc.Login(e.ctx, auth.LoginInput{Login: "locked1", Password: goodPassword, IP: "10.6.0.4"})
			mustOK(t, err)
			if res.Token == "" {
				t.Fatal("no token after the lock ended")
			}
			if n, _ := e.client.LoginThrottle.Query().Where(loginthrottle.KeyEqualFold("acct:locked1")).Count(e.sys); n != 0 {
				t.Fatal("success did not clear the account's failures")
			}
		})

		t.Run("old failures are forgotten", func(t *testing.T) {
			e.staff(user.RoleADMIN, "window1", nil)
			mustOK(t, multiFail(e, "window1", "", auth.CaptchaAfter))
			_, err := e.svc.Login(e.ctx, auth.LoginInput{Login: "window1", Password: goodPassword})
			wantCode(t, err, apperr.CaptchaRequired)
			e.clock.Advance(auth.FailureWindow + time.Second)
			// Two new failures count from one again: still no captcha.
			mustOK(t, multiFail(e, "window1", "", auth.CaptchaAfter-1))
			_, err = e.svc.Login(e.ctx, auth.LoginInput{Login: "window1", Password: goodPassword})
			mustOK(t, err)
		})

		t.Run("disabled account", func(t *testing.T) {
			u := e.staff(user.RoleCANDIDATE, "disabled1", nil)
			mustOK(t, e.client.User.UpdateOneID(u.ID).SetStatus(user.StatusDISABLED).Exec(e.sys))
			_, err := e.svc.Login(e.ctx, auth.LoginInput{Login: "disabled1", Password: goodPassword})
			wantCode(t, err, apperr.Forbidden)
			// A wrong password does not reveal the account is disabled.
			wantCode(t, e.fail(e.ctx, "disabled1", ""), apperr.Unauthenticated)
			if n, _ := e.client.Session.Query().Where(session.UserID(u.ID)).Count(e.sys); n != 0 {
				t.Fatal("disabled account got a session")
			}
		})

		// Login, codes, captchas and resets run their own transactions: their
		// counters and consumed captchas must commit although the request
		// fails. Called inside a caller's transaction they refuse to run.
		t.Run("self-transacting methods refuse an enclosing transaction", func(t *testing.T) {
			e.staff(user.RoleADMIN, "txguard", nil)
			calls := map[string]func(ctx context.Context) error{
				"Login": func(ctx context.Context) error {
					_, err := e.svc.Login(ctx, auth.LoginInput{Login: "txguard", Password: goodPassword})
					return err
				},
				"VerifyLoginCode": func(ctx context.Context) error {
					_, err := e.svc.VerifyLoginCode(ctx, "challenge", "123456", "", "")
					return err
				},
				"NewCaptcha": func(ctx context.Context) error {
					_, err := e.svc.NewCaptcha(ctx)
					return err
				},
				"RequestPasswordReset": func(ctx context.Context) error { return e.svc.RequestPasswordReset(ctx, "txguard", "13800000000") },
				"ResetPassword":        func(ctx context.Context) error { return e.svc.ResetPassword(ctx, "txguard", "123456", newPassword) },
			}
			for name, call := range calls {
				var inner error
				_ = e.inTx(e.ctx, func(ctx context.Context) error { inner = call(ctx); return inner })
				if inner == nil || !strings.Contains(inner.Error(), "outside") {
					t.Errorf("%s inside a transaction: %v", name, inner)
				}
			}
			if _, err := e.svc.Login(e.ctx, auth.LoginInput{Login: "txguard", Password: goodPassword}); err != nil {
				t.Fatal(err)
			}
		})
	})
}

// TestLoginOtherDocument: holders of passports log in with the number they
// registered with (DOMAIN.md step 1).
func TestLoginOtherDocument(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url, auth.Config{})
		phone := nextPhone()
		u, err := e.svc.RegisterPerson(e.ctx, auth.PersonInput{
			IDType: user.IDTypePASSPORT, IDNumber: "E12345678", Name: "John Smith", Phone: phone, Password: goodPassword,
		})
		mustOK(t, err)
		res, err := e.svc.Login(e.ctx, auth.LoginInput{Login: "E12345678", Password: goodPassword})
		if err != nil {
			t.Errorf("passport holder cannot log in with %q (stored login %q): %v", "E12345678", u.Login, err)
		} else if res.User.ID != u.ID {
			t.Errorf("logged in as user %d, want %d", res.User.ID, u.ID)
		}
		// Lower-case typing finds the same account.
		if res, err := e.svc.Login(e.ctx, auth.LoginInput{Login: " e12345678 ", Password: goodPassword}); err != nil || res.User.ID != u.ID {
			t.Errorf("lower-case passport login: %v", err)
		}
		mustOK(t, e.svc.RequestPasswordReset(e.ctx, "E12345678", phone))
		if _, ok := e.sms.Last(phone); !ok {
			t.Errorf("passport holder gets no reset code")
		}

		// An account name spelling the same login in another case would make
		// the login ambiguous: refused, whichever registers first.
		_, err = e.svc.RegisterCompany(e.ctx, auth.CompanyInput{Login: "e12345678", Password: goodPassword, CompanyName: "E公司", Contact: "张三", Phone: nextPhone()})
		wantField(t, err, apperr.Conflict, "login")
		_, err = e.svc.RegisterCompany(e.ctx, auth.CompanyInput{Login: "g7654321", Password: goodPassword, CompanyName: "G公司", Contact: "张三", Phone: nextPhone()})
		mustOK(t, err)
		before := e.userCount()
		_, err = e.svc.RegisterPerson(e.ctx, auth.PersonInput{IDType: user.IDTypePASSPORT, IDNumber: "G7654321", Name: "Jane Roe", Phone: nextPhone(), Password: goodPassword})
		wantCode(t, err, apperr.Conflict)
		if e.userCount() != before {
			t.Fatal("ambiguous login registered")
		}
		res, err = e.svc.Login(e.ctx, auth.LoginInput{Login: "G7654321", Password: goodPassword})
		mustOK(t, err)
		if res.User.Role != user.RoleCOMPANY {
			t.Fatalf("logged in as %s", res.User.Role)
		}
	})
}

// multiFail makes n wrong-password attempts, solving captchas when needed.
func multiFail(e *env, login, ip string, n int) error {
	for i := 0; i < n; i++ {
		err := e.fail(e.ctx, login, ip)
		if apperr.Is(err, apperr.CaptchaRequired) {
			err = e.failSolved(login, ip)
		}
		if !apperr.Is(err, apperr.Unauthenticated) {
			return err
		}
	}
	return nil
}
