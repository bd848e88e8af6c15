package auth_test

import (
	"context"
	"sync"
	"testing"

	"github.com/kaowu/kaowu/ent/loginthrottle"
	"github.com/kaowu/kaowu/ent/session"
	"github.com/kaowu/kaowu/ent/user"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/auth"
	"github.com/kaowu/kaowu/internal/testenv"
)

// parallel runs fn n times at once, each in its own transaction when tx (as
// concurrent GraphQL mutations would), and returns the errors.
func parallel(e *env, n int, tx bool, fn func(ctx context.Context) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if !tx {
				errs[i] = fn(e.ctx)
				return
			}
			var inner error
			_ = e.inTx(e.ctx, func(ctx context.Context) error {
				inner = fn(ctx)
				return inner
			})
			errs[i] = inner
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

// evaluated counts the attempts that reached the password/code comparison.
func evaluated(t *testing.T, errs []error, compared func(*apperr.Error) bool) int {
	t.Helper()
	n := 0
	for _, err := range errs {
		ae, ok := apperr.As(err)
		if !ok {
			t.Fatalf("unexpected error %v", err)
		}
		if compared(ae) {
			n++
		}
	}
	return n
}

func TestConcurrency(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url, auth.Config{LoginSMS: true})

		t.Run("concurrent failures are all counted", func(t *testing.T) {
			e.staff(user.RoleADMIN, "race1", nil)
			errs := parallel(e, 6, false, func(ctx context.Context) error { return e.fail(ctx, "race1", "") })
			failed := evaluated(t, errs, func(ae *apperr.Error) bool { return ae.Code == apperr.Unauthenticated })
			th, err := e.client.LoginThrottle.Query().Where(loginthrottle.KeyEqualFold("acct:race1")).Only(e.sys)
			mustOK(t, err)
			if th.Failures != failed {
				t.Fatalf("failures = %d, want %d", th.Failures, failed)
			}
		})

		// These methods run their own transactions (see auth.SelfTransacting);
		// callers never wrap them, as concurrent GraphQL requests do not.
		for _, tx := range []bool{false} {
			name := "in parallel"

			// One solved captcha buys one password guess.
			t.Run("a captcha passes once "+name, func(t *testing.T) {
				login := "race2" + map[bool]string{false: "a", true: "b"}[tx]
				e.staff(user.RoleADMIN, login, nil)
				mustOK(t, multiFail(e, login, "", auth.CaptchaAfter))
				key, ans := e.solvedCaptcha()
				errs := parallel(e, 4, tx, func(ctx context.Context) error {
					_, err := e.svc.Login(ctx, auth.LoginInput{Login: login, Password: "Wrong#pass1", CaptchaKey: key, CaptchaText: ans})
					return err
				})
				if n := evaluated(t, errs, func(ae *apperr.Error) bool { return ae.Code == apperr.Unauthenticated }); n != 1 {
					t.Fatalf("%d password guesses passed one captcha", n)
				}
			})

			// Parallel requests must not buy more guesses than sequential ones.
			t.Run("at most three guesses without captcha "+name, func(t *testing.T) {
				login := "race3" + map[bool]string{false: "a", true: "b"}[tx]
				e.staff(user.RoleADMIN, login, nil)
				errs := parallel(e, 10, tx, func(ctx context.Context) error { return e.fail(ctx, login, "") })
				if n := evaluated(t, errs, func(ae *apperr.Error) bool { return ae.Code == apperr.Unauthenticated }); n > auth.CaptchaAfter {
					t.Fatalf("%d password guesses without a captcha, limit %d", n, auth.CaptchaAfter)
				}
			})

			t.Run("an SMS code takes at most five guesses "+name, func(t *testing.T) {
				u := e.person(map[bool]int{false: 41, true: 42}[tx])
				res, err := e.svc.Login(e.ctx, auth.LoginInput{Login: u.Login, Password: goodPassword})
				mustOK(t, err)
				m, _ := e.sms.Last(u.Phone)
				errs := parallel(e, 12, tx, func(ctx context.Context) error {
					_, err := e.svc.VerifyLoginCode(ctx, res.Challenge, wrongCode(m.Code), "", "")
					return err
				})
				// "验证码错误" means the guess was compared; "已失效" means refused unseen.
				n := evaluated(t, errs, func(ae *apperr.Error) bool { return ae.Message == "验证码错误" })
				if n > auth.CodeMaxAttempts {
					t.Fatalf("%d guesses compared against one code, limit %d", n, auth.CodeMaxAttempts)
				}
			})

			// Same for password reset codes: the account-takeover path.
			t.Run("a reset code takes at most five guesses "+name, func(t *testing.T) {
				u := e.person(map[bool]int{false: 43, true: 44}[tx])
				mustOK(t, e.svc.RequestPasswordReset(e.ctx, u.Login, u.Phone))
				m, _ := e.sms.Last(u.Phone)
				errs := parallel(e, 12, tx, func(ctx context.Context) error {
					return e.svc.ResetPassword(ctx, u.Login, wrongCode(m.Code), newPassword)
				})
				n := evaluated(t, errs, func(ae *apperr.Error) bool { return ae.Message == "验证码错误" })
				if n > auth.CodeMaxAttempts {
					t.Fatalf("%d guesses compared against one reset code, limit %d", n, auth.CodeMaxAttempts)
				}
			})
		}

		// The one-per-minute limit on reset codes holds for parallel requests (SMS cost, flooding).
		t.Run("one reset code per minute", func(t *testing.T) {
			u := e.person(45)
			sent := e.sms.Count()
			errs := parallel(e, 10, false, func(ctx context.Context) error { return e.svc.RequestPasswordReset(ctx, u.Login, u.Phone) })
			for _, err := range errs {
				if err != nil {
					wantCode(t, err, apperr.TooManyRequests)
				}
			}
			if n := e.sms.Count() - sent; n != 1 {
				t.Fatalf("%d reset codes sent within a minute", n)
			}
		})

		t.Run("an SMS code opens one session", func(t *testing.T) {
			u := e.person(40)
			res, err := e.svc.Login(e.ctx, auth.LoginInput{Login: u.Login, Password: goodPassword})
			mustOK(t, err)
			m, _ := e.sms.Last(u.Phone)
			errs := parallel(e, 4, false, func(ctx context.Context) error {
				_, err := e.svc.VerifyLoginCode(ctx, res.Challenge, m.Code, "", "")
				return err
			})
			ok := 0
			for _, err := range errs {
				if err == nil {
					ok++
				} else {
					wantCode(t, err, apperr.BadInput)
				}
			}
			n, _ := e.client.Session.Query().Where(session.UserID(u.ID)).Count(e.sys)
			if ok != 1 || n != 1 {
				t.Fatalf("%d successes, %d sessions from one code", ok, n)
			}
		})
	})
}
