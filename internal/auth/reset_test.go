package auth_test

import (
	"testing"
	"time"

	"github.com/kaowu/kaowu/ent/user"
	"github.com/kaowu/kaowu/ent/verificationcode"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/auth"
	"github.com/kaowu/kaowu/internal/testenv"
)

const newPassword = "Fresh#Pass2026"

func TestPasswordReset(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url, auth.Config{})

		// request asks for a code for u and returns it.
		request := func(t *testing.T, u string, phone string) string {
			t.Helper()
			sent := e.sms.Count()
			mustOK(t, e.svc.RequestPasswordReset(e.ctx, u, phone))
			m, ok := e.sms.Last(phone)
			if !ok || e.sms.Count() != sent+1 || m.Purpose != "RESET_PASSWORD" || len(m.Code) != 6 {
				t.Fatalf("reset code not sent: %+v", m)
			}
			return m.Code
		}

		t.Run("request", func(t *testing.T) {
			u := e.person(1)
			before := e.sms.Count()
			// Wrong phone, unknown account: silently nothing.
			nextMinute := func() { e.clock.Advance(time.Duration(60-e.clock.Now().Unix()%60) * time.Second) }
			nextMinute()
			mustOK(t, e.svc.RequestPasswordReset(e.ctx, u.Login, "13912345678"))
			mustOK(t, e.svc.RequestPasswordReset(e.ctx, residentID(555), u.Phone))
			if e.sms.Count() != before {
				t.Fatal("code sent for a non-matching request")
			}
			// The limit counts requests per login whether or not the phone
			// matched, so it tells nothing about the phone on file.
			wantCode(t, e.svc.RequestPasswordReset(e.ctx, u.Login, u.Phone), apperr.TooManyRequests)
			wantCode(t, e.svc.RequestPasswordReset(e.ctx, u.Login, "123"), apperr.BadInput)
			wantCode(t, e.svc.RequestPasswordReset(e.ctx, "", u.Phone), apperr.BadInput)

			nextMinute()
			request(t, u.Login, u.Phone)
			e.clock.Advance(30 * time.Second)
			wantCode(t, e.svc.RequestPasswordReset(e.ctx, u.Login, u.Phone), apperr.TooManyRequests)
			nextMinute()
			sent := e.sms.Count()
			mustOK(t, e.svc.RequestPasswordReset(e.ctx, u.Login, "+86 "+u.Phone)) // typed another way
			if e.sms.Count() != sent+1 {
				t.Fatal("no code after the resend interval")
			}
		})

		t.Run("disabled account gets no code", func(t *testing.T) {
			u := e.person(3)
			mustOK(t, e.client.User.UpdateOneID(u.ID).SetStatus(user.StatusDISABLED).Exec(e.sys))
			sent := e.sms.Count()
			mustOK(t, e.svc.RequestPasswordReset(e.ctx, u.Login, u.Phone))
			if e.sms.Count() != sent {
				t.Fatal("code sent to a disabled account")
			}
		})

		t.Run("reset", func(t *testing.T) {
			u := e.person(4)
			tok1, tok2 := e.login(u.Login).Token, e.login(u.Login).Token
			code := request(t, u.Login, u.Phone)

			wantField(t, e.svc.ResetPassword(e.ctx, u.Login, wrongCode(code), newPassword), apperr.BadInput, "code")
			wantField(t, e.svc.ResetPassword(e.ctx, u.Login, code, "12345678"), apperr.BadInput, "newPassword")
			wantField(t, e.svc.ResetPassword(e.ctx, u.Login, code, "short"), apperr.BadInput, "newPassword")
			wantField(t, e.svc.ResetPassword(e.ctx, residentID(556), code, newPassword), apperr.BadInput, "code")
			wantAlive(t, e, tok1)

			mustOK(t, e.svc.ResetPassword(e.ctx, u.Login, code, newPassword))
			wantDead(t, e, tok1)
			wantDead(t, e, tok2)
			_, err := e.svc.Login(e.ctx, auth.LoginInput{Login: u.Login, Password: goodPassword})
			wantCode(t, err, apperr.Unauthenticated)
			_, err = e.svc.Login(e.ctx, auth.LoginInput{Login: u.Login, Password: newPassword})
			mustOK(t, err)
			// Single use.
			wantField(t, e.svc.ResetPassword(e.ctx, u.Login, code, "Other#Pass2026"), apperr.BadInput, "code")
		})

		t.Run("wrong attempts are counted and spend the code", func(t *testing.T) {
			u := e.person(5)
			code := request(t, u.Login, u.Phone)
			for i := 0; i < auth.CodeMaxAttempts; i++ {
				wantField(t, e.svc.ResetPassword(e.ctx, u.Login, wrongCode(code), newPassword), apperr.BadInput, "code")
			}
			vc, err := e.client.VerificationCode.Query().Where(verificationcode.UserID(u.ID)).Only(e.sys)
			mustOK(t, err)
			if vc.Attempts != auth.CodeMaxAttempts {
				t.Fatalf("attempts = %d, want %d", vc.Attempts, auth.CodeMaxAttempts)
			}
			// The code is spent: even the right one is refused, password unchanged.
			wantField(t, e.svc.ResetPassword(e.ctx, u.Login, code, newPassword), apperr.BadInput, "code")
			e.login(u.Login)
		})

		t.Run("expired code", func(t *testing.T) {
			u := e.person(6)
			code := request(t, u.Login, u.Phone)
			e.clock.Advance(auth.ResetCodeTTL + time.Second)
			wantField(t, e.svc.ResetPassword(e.ctx, u.Login, code, newPassword), apperr.BadInput, "code")
			e.login(u.Login)
		})

		t.Run("reset lifts a lock", func(t *testing.T) {
			u := e.person(7)
			mustOK(t, multiFail(e, u.Login, "", auth.LockAfter))
			_, err := e.svc.Login(e.ctx, auth.LoginInput{Login: u.Login, Password: goodPassword})
			wantCode(t, err, apperr.AccountLocked)
			code := request(t, u.Login, u.Phone)
			mustOK(t, e.svc.ResetPassword(e.ctx, u.Login, code, newPassword))
			_, err = e.svc.Login(e.ctx, auth.LoginInput{Login: u.Login, Password: newPassword})
			mustOK(t, err)
		})
	})
}
