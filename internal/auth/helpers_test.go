package auth_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/kaowu/kaowu/internal/testenv"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/captcha"
	"github.com/kaowu/kaowu/ent/organization"
	"github.com/kaowu/kaowu/ent/user"
	"github.com/kaowu/kaowu/internal/auth"
	"github.com/kaowu/kaowu/internal/auth/password"
	"github.com/kaowu/kaowu/internal/db"
	"github.com/kaowu/kaowu/internal/idcard"
	"github.com/kaowu/kaowu/internal/notify"
	"github.com/kaowu/kaowu/internal/txn"
	"github.com/kaowu/kaowu/internal/viewer"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef")

type clock = testenv.Clock

// env is one migrated database with an auth service on it.
type env struct {
	t      *testing.T
	client *ent.Client
	svc    *auth.Service
	sms    *notify.Recorder
	clock  *clock
	ctx    context.Context
	sys    context.Context
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newEnv(t *testing.T, url string, cfg auth.Config) *env {
	t.Helper()
	ctx := context.Background()
	_, client := testenv.Client(t, url, db.Options{})
	if cfg.Secret == nil {
		cfg.Secret = testSecret
	}
	rec := &notify.Recorder{}
	svc := auth.New(client, password.NewHasher(password.FastParams(), 4), rec, cfg, quietLog())
	c := testenv.NewClock(time.Now().Truncate(time.Millisecond))
	svc.SetClock(c.Now)
	return &env{t: t, client: client, svc: svc, sms: rec, clock: c, ctx: ctx, sys: viewer.SystemContext(ctx)}
}

// residentID returns a valid resident ID number; seq varies it.
func residentID(seq int) string {
	return idcard.Generate("110105", time.Date(1985, 3, 12, 0, 0, 0, 0, time.UTC), seq)
}

// residentIDWithX returns a valid number whose check character is X.
func residentIDWithX() string {
	for seq := 0; seq < 1000; seq++ {
		if n := residentID(seq); n[17] == 'X' {
			return n
		}
	}
	panic("no X check digit")
}

var phoneSeq atomic.Int64

// nextPhone returns a fresh valid mobile number.
func nextPhone() string { return fmt.Sprintf("1390000%04d", phoneSeq.Add(1)%10000) }

const goodPassword = "Kaowu@2026pass"

// person registers a candidate and returns it.
func (e *env) person(seq int) *ent.User {
	e.t.Helper()
	u, err := e.svc.RegisterPerson(e.ctx, auth.PersonInput{
		IDNumber: residentID(seq), Name: "张三", Phone: nextPhone(), Password: goodPassword,
	})
	if err != nil {
		e.t.Fatalf("register person: %v", err)
	}
	return u
}

// staff creates a user of any role directly (system), optionally in org.
func (e *env) staff(role user.Role, login string, org *ent.Organization) *ent.User {
	e.t.Helper()
	hash, err := e.svc.Hasher().Hash(e.ctx, goodPassword)
	if err != nil {
		e.t.Fatal(err)
	}
	c := e.client.User.Create().SetRole(role).SetLogin(login).SetName(login).SetPhone(nextPhone()).SetPasswordHash(hash)
	if org != nil {
		c.SetOrganization(org)
	}
	u, err := c.Save(e.sys)
	if err != nil {
		e.t.Fatalf("create %s: %v", role, err)
	}
	return u
}

func (e *env) org(kind organization.Kind, name string) *ent.Organization {
	e.t.Helper()
	o, err := e.client.Organization.Create().SetKind(kind).SetName(name).Save(e.sys)
	if err != nil {
		e.t.Fatalf("create org: %v", err)
	}
	return o
}

// login logs in with the good password and returns the result.
func (e *env) login(loginName string) *auth.LoginResult {
	e.t.Helper()
	res, err := e.svc.Login(e.ctx, auth.LoginInput{Login: loginName, Password: goodPassword, IP: "10.0.0.1"})
	if err != nil {
		e.t.Fatalf("login %s: %v", loginName, err)
	}
	if res.Token == "" {
		e.t.Fatalf("login %s: no token", loginName)
	}
	return res
}

// viewerCtx authenticates tok and returns a context carrying its viewer.
func (e *env) viewerCtx(tok string) context.Context {
	e.t.Helper()
	v, err := e.svc.Authenticate(e.ctx, tok)
	if err != nil {
		e.t.Fatalf("authenticate: %v", err)
	}
	return viewer.NewContext(e.ctx, v)
}

func (e *env) userCount() int {
	e.t.Helper()
	n, err := e.client.User.Query().Count(e.sys)
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

func (e *env) orgCount() int {
	e.t.Helper()
	n, err := e.client.Organization.Query().Count(e.sys)
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// solvedCaptcha issues a captcha and replaces its answer with a known one.
func (e *env) solvedCaptcha() (key, answer string) {
	e.t.Helper()
	c, err := e.svc.NewCaptcha(e.ctx)
	if err != nil {
		e.t.Fatalf("new captcha: %v", err)
	}
	answer = "24680"
	sum := sha256.Sum256([]byte(c.Key + "\x00" + answer))
	n, err := e.client.Captcha.Update().Where(captcha.Key(c.Key)).SetAnswerHash(hex.EncodeToString(sum[:])).Save(e.sys)
	if err != nil || n != 1 {
		e.t.Fatalf("set captcha answer: n=%d err=%v", n, err)
	}
	return c.Key, answer
}

// inTx runs fn in a transaction that commits when fn succeeds.
func (e *env) inTx(ctx context.Context, fn func(ctx context.Context) error) error {
	return txn.WithTx(ctx, e.client, fn)
}

// inRolledBackTx runs fn in a transaction that rolls back because fn fails
// (as a GraphQL mutation returning an error would); it returns fn's error.
func (e *env) inRolledBackTx(ctx context.Context, fn func(ctx context.Context) error) error {
	e.t.Helper()
	var inner error
	err := txn.WithTx(ctx, e.client, func(ctx context.Context) error {
		inner = fn(ctx)
		if inner == nil {
			return errors.New("force rollback")
		}
		return inner
	})
	if err == nil {
		e.t.Fatal("transaction committed")
	}
	return inner
}

var wantCode = testenv.WantCode

var wantField = testenv.WantField

var mustOK = testenv.MustOK
