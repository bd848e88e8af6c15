package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	entsql "entgo.io/ent/dialect/sql"
	"github.com/mojocn/base64Captcha"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/captcha"
	"github.com/kaowu/kaowu/ent/loginthrottle"
	"github.com/kaowu/kaowu/ent/organization"
	"github.com/kaowu/kaowu/ent/predicate"
	"github.com/kaowu/kaowu/ent/session"
	"github.com/kaowu/kaowu/ent/user"
	"github.com/kaowu/kaowu/ent/verificationcode"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/auth/password"
	"github.com/kaowu/kaowu/internal/authz"
	"github.com/kaowu/kaowu/internal/idcard"
	"github.com/kaowu/kaowu/internal/txn"
	"github.com/kaowu/kaowu/internal/viewer"
)

func orgCompanyNamed(name string) predicate.Organization {
	return organization.And(organization.KindEQ(organization.KindCOMPANY), organization.Name(name))
}

// ---------------------------------------------------------------- captcha

// Captcha is an issued image captcha.
type Captcha struct {
	Key       string
	Image     string // data:image/png;base64,…
	ExpiresAt time.Time
}

// CaptchaTTL is how long a captcha may be answered.
const CaptchaTTL = 5 * time.Minute

var captchaDriver = base64Captcha.NewDriverDigit(80, 240, 5, 0.5, 60)

// errInTx guards the self-transacting methods: their counters and consumed
// captchas and codes must commit although the request fails, so they may
// not run inside a caller's transaction (a rollback would undo them).
var errInTx = errors.New("auth: this method runs its own transactions; call it outside one")

func outsideTx(ctx context.Context) error {
	if ent.TxFromContext(ctx) != nil {
		return errInTx
	}
	return nil
}

// NewCaptcha issues a captcha; its answer is stored hashed, single use.
func (s *Service) NewCaptcha(ctx context.Context) (*Captcha, error) {
	if err := outsideTx(ctx); err != nil {
		return nil, err
	}
	_, q, a := captchaDriver.GenerateIdQuestionAnswer()
	item, err := captchaDriver.DrawCaptcha(q)
	if err != nil {
		return nil, err
	}
	key, _ := NewToken()
	key = key[:32]
	exp := s.now().Add(CaptchaTTL)
	sys := viewer.SystemContext(ctx)
	if _, err := s.client.Captcha.Create().SetKey(key).SetAnswerHash(captchaHash(key, a)).SetExpiresAt(exp).Save(sys); err != nil {
		return nil, err
	}
	// Expired captchas are cleared as new ones are made; no job needed.
	_, _ = s.client.Captcha.Delete().Where(captcha.ExpiresAtLT(s.now())).Exec(sys)
	return &Captcha{Key: key, Image: item.EncodeB64string(), ExpiresAt: exp}, nil
}

func captchaHash(key, answer string) string {
	h := sha256.Sum256([]byte(key + "\x00" + strings.TrimSpace(answer)))
	return hex.EncodeToString(h[:])
}

// checkCaptcha consumes the captcha: one conditional DELETE, committed at
// once, so of any number of parallel requests exactly one passes. A wrong
// answer spends the captcha too.
func (s *Service) checkCaptcha(ctx context.Context, key, answer string) bool {
	if key == "" {
		return false
	}
	sys := viewer.SystemContext(ctx)
	n, err := s.client.Captcha.Delete().
		Where(captcha.Key(key), captcha.AnswerHash(captchaHash(key, answer)), captcha.ExpiresAtGT(s.now())).Exec(sys)
	if err == nil && n == 1 {
		return true
	}
	_, _ = s.client.Captcha.Delete().Where(captcha.Key(key)).Exec(sys)
	return false
}

// ---------------------------------------------------------------- throttling

type throttleState struct {
	failures    int
	lockedUntil *time.Time
}

func (s *Service) throttle(ctx context.Context, key string) throttleState {
	t, err := s.client.LoginThrottle.Query().Where(loginthrottle.Key(key)).Only(viewer.SystemContext(ctx))
	if err != nil {
		return throttleState{}
	}
	st := throttleState{failures: t.Failures, lockedUntil: t.LockedUntil}
	if t.LastFailureAt.Before(s.now().Add(-FailureWindow)) {
		st.failures = 0
	}
	return st
}

// countAttempt counts a login attempt against key before the password is
// checked — one upsert, no read-then-write, so parallel guesses each see the
// others — and returns the count now (at least this attempt's number).
// Counts older than the window start again at 1.
func (s *Service) countAttempt(ctx context.Context, key string) (int, error) {
	if key == "" {
		return 0, nil
	}
	now := s.now()
	cutoff := now.Add(-FailureWindow)
	sys := viewer.SystemContext(ctx)
	err := s.client.LoginThrottle.Create().SetKey(key).SetFailures(1).SetLastFailureAt(now).
		OnConflict(entsql.ConflictColumns(loginthrottle.FieldKey), entsql.ResolveWith(func(u *entsql.UpdateSet) {
			f, l := u.Table().C(loginthrottle.FieldFailures), u.Table().C(loginthrottle.FieldLastFailureAt)
			// ExprFunc, not Expr: Arg renders the dialect's placeholder ($n on PostgreSQL).
			u.Set(loginthrottle.FieldFailures, entsql.ExprFunc(func(b *entsql.Builder) {
				b.WriteString("CASE WHEN " + l + " < ").Arg(cutoff).WriteString(" THEN 1 ELSE " + f + " + 1 END")
			}))
			u.SetExcluded(loginthrottle.FieldLastFailureAt)
		})).Exec(sys)
	if err != nil {
		return 0, err
	}
	t, err := s.client.LoginThrottle.Query().Where(loginthrottle.Key(key)).Only(sys)
	if err != nil {
		return 0, err
	}
	return t.Failures, nil
}

// uncount takes back an attempt whose password was never checked, or that succeeded.
func (s *Service) uncount(ctx context.Context, keys ...string) {
	for _, key := range keys {
		if key == "" {
			continue
		}
		_, _ = s.client.LoginThrottle.Update().Where(loginthrottle.Key(key), loginthrottle.FailuresGT(0)).
			AddFailures(-1).Save(viewer.SystemContext(ctx))
	}
}

func (s *Service) lock(ctx context.Context, key string) {
	now := s.now()
	_, err := s.client.LoginThrottle.Update().
		Where(loginthrottle.Key(key), loginthrottle.Or(loginthrottle.LockedUntilIsNil(), loginthrottle.LockedUntilLT(now))).
		SetLockedUntil(now.Add(LockFor)).Save(viewer.SystemContext(ctx))
	if err != nil {
		s.log.Error("lock account", "err", err)
	}
}

func locked(until time.Time, now time.Time) error {
	mins := int(math.Ceil(until.Sub(now).Minutes()))
	return apperr.Newf(apperr.AccountLocked, "密码错误次数过多，账号已锁定，请%d分钟后再试或找回密码", mins).
		With("retryAfterSeconds", int(until.Sub(now).Seconds()))
}

// ---------------------------------------------------------------- login

// throttleKey is one spelling per account for failure counting.
func throttleKey(login string) string {
	if f := loginForms(login); len(f) > 0 {
		return strings.ToUpper(f[0])
	}
	return ""
}

// LoginInput is what a person types.
type LoginInput struct {
	Login, Password         string
	CaptchaKey, CaptchaText string
	IP, UserAgent           string
}

// LoginResult is a session, or a pending SMS step.
type LoginResult struct {
	Token       string
	ExpiresAt   time.Time
	User        *ent.User
	Challenge   string
	PhoneMasked string
}

// Login checks the password and opens a session (or starts the SMS step).
// Each attempt is counted before the password is checked; the 4th attempt
// within the window needs a captcha, and the 10th failure locks the account.
func (s *Service) Login(ctx context.Context, in LoginInput) (*LoginResult, error) {
	if err := outsideTx(ctx); err != nil {
		return nil, err
	}
	login := throttleKey(in.Login)
	if login == "" || in.Password == "" || len(in.Password) > 4*password.MaxLength {
		return nil, apperr.New(apperr.BadInput, "请输入账号和密码")
	}
	acctKey, ipKey := "acct:"+login, ""
	if in.IP != "" {
		ipKey = "ip:" + in.IP
	}
	if st := s.throttle(ctx, acctKey); st.lockedUntil != nil && st.lockedUntil.After(s.now()) {
		return nil, locked(*st.lockedUntil, s.now())
	}
	nAcct, err := s.countAttempt(ctx, acctKey)
	if err != nil {
		return nil, err
	}
	nIP, err := s.countAttempt(ctx, ipKey)
	if err != nil {
		s.uncount(ctx, acctKey)
		return nil, err
	}
	if nAcct > LockAfter {
		// Parallel guesses past the limit: lock now, check nothing.
		s.uncount(ctx, acctKey, ipKey)
		s.lock(ctx, acctKey)
		return nil, locked(s.now().Add(LockFor), s.now())
	}
	if nAcct > CaptchaAfter || nIP > CaptchaAfter {
		if in.CaptchaKey == "" {
			s.uncount(ctx, acctKey, ipKey)
			return nil, apperr.New(apperr.CaptchaRequired, "请输入图片验证码").With("captchaRequired", true)
		}
		if !s.checkCaptcha(ctx, in.CaptchaKey, in.CaptchaText) {
			s.uncount(ctx, acctKey, ipKey)
			return nil, apperr.New(apperr.CaptchaRequired, "图片验证码错误或已过期，请重新输入").With("captchaRequired", true)
		}
	}
	sys := viewer.SystemContext(ctx)
	u, err := s.client.User.Query().Where(loginIs(in.Login)).WithOrganization().Only(sys)
	if err != nil && !ent.IsNotFound(err) {
		return nil, err
	}
	ok := false
	if u == nil {
		// Same work for unknown accounts: no timing oracle for which exist.
		_ = s.hasher.VerifyDummy(ctx)
	} else if ok, err = s.hasher.Verify(ctx, in.Password, u.PasswordHash); err != nil {
		return nil, err
	}
	if !ok {
		e := apperr.New(apperr.Unauthenticated, "账号或密码错误")
		if nAcct >= LockAfter {
			s.lock(ctx, acctKey)
			e.Message = fmt.Sprintf("账号或密码错误，错误次数过多，账号已锁定%d分钟", int(LockFor.Minutes()))
		}
		if nAcct >= CaptchaAfter || nIP >= CaptchaAfter {
			e.With("captchaRequired", true)
		}
		if left := LockAfter - nAcct; left > 0 && left <= 3 {
			e.Message = fmt.Sprintf("账号或密码错误，再错%d次账号将锁定%d分钟", left, int(LockFor.Minutes()))
		}
		return nil, e
	}
	if u.Status == user.StatusDISABLED {
		return nil, apperr.New(apperr.Forbidden, "该账号已停用，请联系考试管理机构")
	}
	// Success clears the account's failures; this attempt does not count
	// against the address.
	_, _ = s.client.LoginThrottle.Delete().Where(loginthrottle.Key(acctKey)).Exec(sys)
	s.uncount(ctx, ipKey)
	if s.hasher.NeedsRehash(u.PasswordHash) {
		if h, err := s.hasher.Hash(ctx, in.Password); err == nil {
			_ = s.client.User.UpdateOneID(u.ID).SetPasswordHash(h).Exec(sys)
		}
	}
	if s.cfg.LoginSMS && u.Phone != "" {
		return s.startSMSLogin(ctx, u)
	}
	return s.openSession(ctx, u, in.IP, in.UserAgent)
}

func (s *Service) openSession(ctx context.Context, u *ent.User, ip, ua string) (*LoginResult, error) {
	tok, hash := NewToken()
	now := s.now()
	if len(ua) > 256 {
		ua = ua[:256]
	}
	sess, err := s.db(ctx).Session.Create().SetTokenHash(hash).SetUserID(u.ID).SetCreatedAt(now).SetLastSeenAt(now).
		SetExpiresAt(now.Add(s.cfg.SessionMax)).SetIP(ip).SetUserAgent(ua).Save(viewer.SystemContext(ctx))
	if err != nil {
		return nil, err
	}
	return &LoginResult{Token: tok, ExpiresAt: sess.ExpiresAt, User: u}, nil
}

func (s *Service) startSMSLogin(ctx context.Context, u *ent.User) (*LoginResult, error) {
	challenge, chash := NewToken()
	code := randomDigits(6)
	now := s.now()
	_, err := s.client.VerificationCode.Create().SetPurpose(verificationcode.PurposeLOGIN).SetUserID(u.ID).
		SetChallengeHash(chash).SetCodeHash(s.codeHash(u.ID, "LOGIN", code)).SetCreatedAt(now).
		SetExpiresAt(now.Add(CodeTTL)).Save(viewer.SystemContext(ctx))
	if err != nil {
		return nil, err
	}
	if err := s.sms.SendCode(ctx, u.Phone, "LOGIN", code); err != nil {
		s.log.Error("send login code", "err", err)
	}
	return &LoginResult{Challenge: challenge, PhoneMasked: idcard.MaskPhone(u.Phone)}, nil
}

// VerifyLoginCode completes an SMS login.
func (s *Service) VerifyLoginCode(ctx context.Context, challenge, code, ip, ua string) (*LoginResult, error) {
	if err := outsideTx(ctx); err != nil {
		return nil, err
	}
	sys := viewer.SystemContext(ctx)
	vc, err := s.client.VerificationCode.Query().
		Where(verificationcode.ChallengeHash(HashToken(challenge)), verificationcode.PurposeEQ(verificationcode.PurposeLOGIN)).Only(sys)
	if ent.IsNotFound(err) {
		return nil, apperr.New(apperr.Unauthenticated, "登录验证已失效，请重新登录")
	} else if err != nil {
		return nil, err
	}
	if err := s.checkCode(ctx, vc, "LOGIN", code); err != nil {
		return nil, err
	}
	var res *LoginResult
	err = txn.WithTx(ctx, s.client, func(ctx context.Context) error {
		if err := s.consumeCode(ctx, vc); err != nil {
			return err
		}
		u, err := s.db(ctx).User.Query().Where(user.ID(vc.UserID)).WithOrganization().Only(viewer.SystemContext(ctx))
		if err != nil {
			return err
		}
		if u.Status == user.StatusDISABLED {
			return apperr.New(apperr.Forbidden, "该账号已停用，请联系考试管理机构")
		}
		res, err = s.openSession(ctx, u, ip, ua)
		return err
	})
	return res, err
}

var errCodeSpent = apperr.New(apperr.BadInput, "验证码已失效，请重新获取").With("field", "code")

// checkCode spends one attempt — a conditional UPDATE committed before the
// comparison, so parallel guesses cannot exceed CodeMaxAttempts — then
// compares in constant time.
func (s *Service) checkCode(ctx context.Context, vc *ent.VerificationCode, purpose, code string) error {
	n, err := s.client.VerificationCode.Update().
		Where(verificationcode.ID(vc.ID), verificationcode.AttemptsLT(CodeMaxAttempts),
			verificationcode.ConsumedAtIsNil(), verificationcode.ExpiresAtGT(s.now())).
		AddAttempts(1).Save(viewer.SystemContext(ctx))
	if err != nil {
		return err
	}
	if n != 1 {
		return errCodeSpent
	}
	want := s.codeHash(vc.UserID, purpose, strings.TrimSpace(code))
	if subtle.ConstantTimeCompare([]byte(want), []byte(vc.CodeHash)) != 1 {
		return apperr.New(apperr.BadInput, "验证码错误").With("field", "code")
	}
	return nil
}

// consumeCode marks a checked code used; of parallel right answers one wins.
func (s *Service) consumeCode(ctx context.Context, vc *ent.VerificationCode) error {
	n, err := s.db(ctx).VerificationCode.Update().
		Where(verificationcode.ID(vc.ID), verificationcode.ConsumedAtIsNil()).
		SetConsumedAt(s.now()).Save(viewer.SystemContext(ctx))
	if err != nil {
		return err
	}
	if n != 1 {
		return errCodeSpent
	}
	return nil
}

// ---------------------------------------------------------------- sessions

// Authenticate resolves a bearer token to a viewer. Every call reads the
// session, so revocation takes effect on the very next request.
func (s *Service) Authenticate(ctx context.Context, token string) (*viewer.Viewer, error) {
	if token == "" || len(token) > 128 {
		return nil, errSessionInvalid
	}
	hash := HashToken(token)
	// The cache only speeds up acceptance: a cached row that no longer
	// passes is read again (a keep-alive may have been set since).
	if row, ok := s.sessions.get(hash); ok {
		seen := row.LastSeenAt
		if v, row, err := s.checkSession(ctx, row, true); err == nil {
			if !row.LastSeenAt.Equal(seen) { // touched: keep the idle clock right
				s.sessions.put(hash, row, s.sessions.current())
			}
			return v, nil
		}
	}
	epoch := s.sessions.current()
	row, err := s.readSession(ctx, session.TokenHash(hash))
	if err != nil {
		return nil, err
	}
	v, row, err := s.checkSession(ctx, row, true)
	if err == nil {
		s.sessions.put(hash, row, epoch)
	}
	return v, err
}

// Revalidate checks that the viewer's session is still live: websockets call
// it for each new operation and periodically during long subscriptions.
func (s *Service) Revalidate(ctx context.Context, v *viewer.Viewer) error {
	if v == nil || v.SessionID == 0 {
		return nil
	}
	row, err := s.readSession(ctx, session.ID(v.SessionID))
	if err != nil {
		return err
	}
	_, _, err = s.checkSession(ctx, row, false)
	return err
}

// sessionRow is a session joined with what the viewer needs of its user:
// one statement per request instead of two.
type sessionRow struct {
	ID             int        `json:"id"`
	UserID         int        `json:"user_id"`
	LastSeenAt     time.Time  `json:"last_seen_at"`
	ExpiresAt      time.Time  `json:"expires_at"`
	KeepAliveUntil *time.Time `json:"keep_alive_until"`
	RevokedAt      *time.Time `json:"revoked_at"`
	Role           string     `json:"role"`
	Status         string     `json:"status"`
	OrganizationID *int       `json:"organization_id"`
}

// readSession reads one session joined with its user.
func (s *Service) readSession(ctx context.Context, where predicate.Session) (sessionRow, error) {
	sys := viewer.SystemContext(ctx)
	var rows []sessionRow
	err := s.client.Session.Query().Where(where).Limit(2).Modify(func(q *entsql.Selector) {
		u := entsql.Table(user.Table)
		q.Join(u).On(q.C(session.FieldUserID), u.C(user.FieldID))
		q.Select(q.C(session.FieldID), q.C(session.FieldUserID), q.C(session.FieldLastSeenAt), q.C(session.FieldExpiresAt),
			q.C(session.FieldKeepAliveUntil), q.C(session.FieldRevokedAt),
			u.C(user.FieldRole), u.C(user.FieldStatus), u.C(user.FieldOrganizationID))
	}).Scan(sys, &rows)
	if err != nil {
		return sessionRow{}, err
	}
	if len(rows) != 1 {
		return sessionRow{}, errSessionInvalid
	}
	return rows[0], nil
}

// checkSession decides whether a session row is live now and, with touch,
// records the use (at most once per touchGranularity). It returns the row
// as it now stands.
func (s *Service) checkSession(ctx context.Context, sess sessionRow, touch bool) (*viewer.Viewer, sessionRow, error) {
	sys := viewer.SystemContext(ctx)
	now := s.now()
	if err := s.liveAt(sess, now); err != nil {
		return nil, sess, err
	}
	if touch && now.Sub(sess.LastSeenAt) >= touchGranularity {
		// Conditional: concurrent requests write it once.
		_, err := s.client.Session.Update().
			Where(session.ID(sess.ID), session.LastSeenAtLT(now.Add(-touchGranularity))).
			SetLastSeenAt(now).Save(sys)
		if err != nil {
			s.log.Warn("touch session", "err", err)
		} else {
			sess.LastSeenAt = now
		}
	}
	v := &viewer.Viewer{UserID: sess.UserID, Role: viewer.Role(sess.Role), SessionID: sess.ID}
	if sess.OrganizationID != nil {
		v.OrgID = *sess.OrganizationID
	}
	return v, sess, nil
}

func (s *Service) liveAt(sess sessionRow, now time.Time) error {
	if sess.RevokedAt != nil || sess.Status == string(user.StatusDISABLED) {
		return errSessionInvalid
	}
	if !now.Before(sess.ExpiresAt) {
		return errSessionExpired
	}
	keepAlive := sess.KeepAliveUntil != nil && sess.KeepAliveUntil.After(now)
	if !keepAlive && now.Sub(sess.LastSeenAt) >= s.cfg.SessionIdle {
		return errSessionExpired
	}
	return nil
}

var (
	errSessionInvalid = apperr.New(apperr.Unauthenticated, "登录状态无效，请重新登录")
	errSessionExpired = apperr.New(apperr.Unauthenticated, "登录已过期，请重新登录")
)

// KeepAlive keeps the viewer's session alive until t (an exam in progress).
func (s *Service) KeepAlive(ctx context.Context, sessionID int, until time.Time) error {
	return s.client.Session.UpdateOneID(sessionID).SetKeepAliveUntil(until).Exec(viewer.SystemContext(ctx))
}

// Sessions lists the viewer's live sessions, newest first.
func (s *Service) Sessions(ctx context.Context) ([]*ent.Session, error) {
	v, err := authz.Require(ctx, "")
	if err != nil {
		return nil, err
	}
	all, err := s.sessionsOf(ctx, v.UserID).Order(ent.Desc(session.FieldCreatedAt)).All(ctx)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, x := range all {
		idleOK := x.KeepAliveUntil != nil && x.KeepAliveUntil.After(s.now())
		if idleOK || s.now().Sub(x.LastSeenAt) < s.cfg.SessionIdle {
			out = append(out, x)
		}
	}
	return out, nil
}

// Logout ends the viewer's current session.
func (s *Service) Logout(ctx context.Context) error {
	v, err := authz.Require(ctx, "")
	if err != nil {
		return err
	}
	s.sessions.invalidate(ctx)
	return s.db(ctx).Session.UpdateOneID(v.SessionID).SetRevokedAt(s.now()).SetRevokeReason("logout").Exec(ctx)
}

// EndSession ends one of the viewer's sessions.
func (s *Service) EndSession(ctx context.Context, id int) error {
	v, err := authz.Require(ctx, "")
	if err != nil {
		return err
	}
	s.sessions.invalidate(ctx)
	n, err := s.db(ctx).Session.Update().
		Where(session.ID(id), session.UserID(v.UserID), session.RevokedAtIsNil()).
		SetRevokedAt(s.now()).SetRevokeReason("ended by user").Save(ctx)
	if err != nil {
		return err
	}
	if n == 0 {
		return apperr.New(apperr.NotFound, "会话不存在或已结束")
	}
	return nil
}

// revokeAll ends every session of the user except keep (0: none).
func (s *Service) revokeAll(ctx context.Context, userID, keep int, reason string) error {
	s.sessions.invalidate(ctx)
	q := s.db(ctx).Session.Update().Where(session.UserID(userID), session.RevokedAtIsNil())
	if keep != 0 {
		q = q.Where(session.IDNEQ(keep))
	}
	_, err := q.SetRevokedAt(s.now()).SetRevokeReason(reason).Save(viewer.SystemContext(ctx))
	return err
}

// ---------------------------------------------------------------- passwords

// ChangePassword sets a new password after checking the old one, and ends
// every other session of the account.
func (s *Service) ChangePassword(ctx context.Context, oldPw, newPw string) error {
	v, err := authz.Require(ctx, "")
	if err != nil {
		return err
	}
	sys := viewer.SystemContext(ctx)
	u, err := s.db(ctx).User.Get(sys, v.UserID)
	if err != nil {
		return err
	}
	if ok, err := s.hasher.Verify(ctx, oldPw, u.PasswordHash); err != nil {
		return err
	} else if !ok {
		return apperr.Input("oldPassword", "原密码不正确")
	}
	if err := password.CheckFor(newPw, u.Login); err != nil {
		return inputErr("newPassword", err)
	}
	if oldPw == newPw {
		return apperr.Input("newPassword", "新密码不能与原密码相同")
	}
	return s.setPassword(ctx, u.ID, newPw, v.SessionID, "password changed")
}

func (s *Service) setPassword(ctx context.Context, userID int, pw string, keepSession int, reason string) error {
	hash, err := s.hasher.Hash(ctx, pw)
	if err != nil {
		return err
	}
	if err := s.db(ctx).User.UpdateOneID(userID).SetPasswordHash(hash).SetPasswordChangedAt(s.now()).
		Exec(viewer.SystemContext(ctx)); err != nil {
		return err
	}
	return s.revokeAll(ctx, userID, keepSession, reason)
}

// RequestPasswordReset sends a code to the phone on file when login and phone
// match. It answers the same either way, so it cannot be used to probe
// accounts; at most one request per login and minute, counted before the
// match (a unique slot row, so parallel requests cannot beat the limit).
func (s *Service) RequestPasswordReset(ctx context.Context, login, phone string) error {
	if err := outsideTx(ctx); err != nil {
		return err
	}
	p, err := idcard.ValidatePhone(phone)
	key := throttleKey(login)
	if key == "" || err != nil {
		return apperr.New(apperr.BadInput, "请输入正确的账号和手机号码")
	}
	now := s.now()
	sys := viewer.SystemContext(ctx)
	slot := fmt.Sprintf("reset:%s:%d", key, now.Unix()/int64(CodeResendAfter.Seconds()))
	if err := s.client.LoginThrottle.Create().SetKey(slot).SetLastFailureAt(now).Exec(sys); ent.IsConstraintError(err) {
		return apperr.New(apperr.TooManyRequests, "验证码发送过于频繁，请1分钟后再试")
	} else if err != nil {
		return err
	}
	_, _ = s.client.LoginThrottle.Delete().
		Where(loginthrottle.KeyHasPrefix("reset:"), loginthrottle.LastFailureAtLT(now.Add(-time.Hour))).Exec(sys)
	u, err := s.client.User.Query().Where(loginIs(login)).Only(sys)
	if ent.IsNotFound(err) || (err == nil && (u.Phone != p || u.Status == user.StatusDISABLED)) {
		return nil
	} else if err != nil {
		return err
	}
	code := randomDigits(6)
	if _, err := s.client.VerificationCode.Create().SetPurpose(verificationcode.PurposeRESET_PASSWORD).SetUserID(u.ID).
		SetCodeHash(s.codeHash(u.ID, "RESET_PASSWORD", code)).SetCreatedAt(now).SetExpiresAt(now.Add(ResetCodeTTL)).Save(sys); err != nil {
		return err
	}
	if err := s.sms.SendCode(ctx, p, "RESET_PASSWORD", code); err != nil {
		s.log.Error("send reset code", "err", err)
	}
	return nil
}

// ResetPassword sets a new password with a reset code and ends every session.
func (s *Service) ResetPassword(ctx context.Context, login, code, newPw string) error {
	if err := outsideTx(ctx); err != nil {
		return err
	}
	if err := password.CheckFor(newPw, strings.TrimSpace(login)); err != nil {
		return inputErr("newPassword", err)
	}
	sys := viewer.SystemContext(ctx)
	u, err := s.client.User.Query().Where(loginIs(login)).Only(sys)
	if ent.IsNotFound(err) {
		return apperr.New(apperr.BadInput, "验证码错误或已过期").With("field", "code")
	} else if err != nil {
		return err
	}
	vc, err := s.client.VerificationCode.Query().Where(verificationcode.UserID(u.ID),
		verificationcode.PurposeEQ(verificationcode.PurposeRESET_PASSWORD), verificationcode.ConsumedAtIsNil()).
		Order(ent.Desc(verificationcode.FieldCreatedAt)).First(sys)
	if ent.IsNotFound(err) {
		return apperr.New(apperr.BadInput, "验证码错误或已过期").With("field", "code")
	} else if err != nil {
		return err
	}
	if err := s.checkCode(ctx, vc, "RESET_PASSWORD", code); err != nil {
		return err
	}
	return txn.WithTx(ctx, s.client, func(ctx context.Context) error {
		if err := s.consumeCode(ctx, vc); err != nil {
			return err
		}
		_, _ = s.db(ctx).LoginThrottle.Delete().Where(loginthrottle.Key("acct:" + throttleKey(login))).Exec(viewer.SystemContext(ctx))
		return s.setPassword(ctx, u.ID, newPw, 0, "password reset")
	})
}
