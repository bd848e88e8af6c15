// Package auth is identity: registration, login with captcha and lockout,
// optional SMS second step, sessions, password change and reset.
//
// Sessions are opaque random tokens; only their SHA-256 is stored, so a
// database leak does not leak logins. Every request looks its session up, so
// a revoked session fails on its very next request.
package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"log/slog"
	"math/big"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/predicate"
	"github.com/kaowu/kaowu/ent/session"
	"github.com/kaowu/kaowu/ent/user"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/auth/password"
	"github.com/kaowu/kaowu/internal/authz"
	"github.com/kaowu/kaowu/internal/idcard"
	"github.com/kaowu/kaowu/internal/notify"
	"github.com/kaowu/kaowu/internal/txn"
	"github.com/kaowu/kaowu/internal/viewer"
)

// Config holds the tunables of the service.
type Config struct {
	SessionIdle time.Duration // default 30m
	SessionMax  time.Duration // default 12h
	LoginSMS    bool          // SMS code after the password
	Secret      []byte        // HMAC key for verification codes
	// SessionCache: how long a validated session is reused (default
	// DefaultSessionCacheTTL; negative: read the session on every request).
	SessionCache time.Duration
}

// Limits of the login protections (issue #2).
const (
	CaptchaAfter     = 3                // failures (per account or address) before a captcha is required
	LockAfter        = 10               // failures that lock the account
	LockFor          = 15 * time.Minute // lock duration
	FailureWindow    = 15 * time.Minute // failures older than this are forgotten
	CodeTTL          = 5 * time.Minute
	ResetCodeTTL     = 10 * time.Minute
	CodeMaxAttempts  = 5
	CodeResendAfter  = time.Minute
	touchGranularity = time.Minute // last_seen_at is written at most this often
)

// SelfTransacting lists the GraphQL mutations backed by this service that
// must not run inside one operation-wide transaction: each records failures
// (counters, consumed captchas, wrong-code attempts) that have to persist
// although the request fails, and a rolled-back consumption would let a
// captcha or code be used again. They use short transactions of their own.
var SelfTransacting = []string{"login", "verifyLoginCode", "requestCaptcha", "requestPasswordReset", "resetPassword"}

// Service implements identity.
type Service struct {
	client *ent.Client
	hasher *password.Hasher
	sms    notify.Sender
	cfg    Config
	log    *slog.Logger
	now    func() time.Time

	sessions *sessionCache // nil: no cache
}

// New returns the service.
func New(client *ent.Client, hasher *password.Hasher, sms notify.Sender, cfg Config, log *slog.Logger) *Service {
	if cfg.SessionIdle <= 0 {
		cfg.SessionIdle = 30 * time.Minute
	}
	if cfg.SessionMax <= 0 {
		cfg.SessionMax = 12 * time.Hour
	}
	if log == nil {
		log = slog.Default()
	}
	if cfg.SessionCache == 0 {
		cfg.SessionCache = DefaultSessionCacheTTL
	}
	return &Service{client: client, hasher: hasher, sms: sms, cfg: cfg, log: log, now: time.Now,
		sessions: newSessionCache(cfg.SessionCache)}
}

// Close releases the session cache.
func (s *Service) Close() { s.sessions.close() }

// SetClock replaces the clock (tests).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// Hasher returns the password hasher (seeding).
func (s *Service) Hasher() *password.Hasher { return s.hasher }

func (s *Service) db(ctx context.Context) *ent.Client { return txn.Client(ctx, s.client) }

// ---------------------------------------------------------------- registration

// PersonInput registers a candidate.
type PersonInput struct {
	IDType   user.IDType
	IDNumber string
	Name     string
	Phone    string
	Email    string
	Password string
}

// RegisterPerson creates a candidate account whose login is the document number.
func (s *Service) RegisterPerson(ctx context.Context, in PersonInput) (*ent.User, error) {
	if in.IDType == "" {
		in.IDType = user.IDTypeRESIDENT_ID
	}
	number, err := idcard.ValidateDocument(idcard.DocType(in.IDType), in.IDNumber)
	if err != nil {
		return nil, inputErr("idNumber", err)
	}
	name, err := validName(in.Name)
	if err != nil {
		return nil, err
	}
	phone, err := idcard.ValidatePhone(in.Phone)
	if err != nil {
		return nil, inputErr("phone", err)
	}
	email, err := validEmail(in.Email)
	if err != nil {
		return nil, err
	}
	if err := password.CheckFor(in.Password, number); err != nil {
		return nil, inputErr("password", err)
	}
	sys := viewer.SystemContext(ctx)
	db := s.db(ctx)
	if exists, err := db.User.Query().Where(user.Or(loginTaken(number), user.And(user.IDTypeEQ(in.IDType), user.IDNumber(number)))).Exist(sys); err != nil {
		return nil, err
	} else if exists {
		return nil, apperr.New(apperr.Conflict, "该证件号码已注册，请直接登录或找回密码").With("field", "idNumber")
	}
	hash, err := s.hasher.Hash(ctx, in.Password)
	if err != nil {
		return nil, err
	}
	u, err := db.User.Create().
		SetRole(user.RoleCANDIDATE).SetLogin(number).SetIDType(in.IDType).SetIDNumber(number).
		SetName(name).SetPhone(phone).SetEmail(email).SetPasswordHash(hash).SetPasswordChangedAt(s.now()).
		Save(sys)
	if ent.IsConstraintError(err) {
		return nil, apperr.New(apperr.Conflict, "该证件号码已注册，请直接登录或找回密码")
	}
	return u, err
}

// CompanyInput registers a company.
type CompanyInput struct {
	Login, Password, CompanyName, Contact, Phone, Email, Address, Region string
}

var loginRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{3,31}$`)

// ValidAccountName checks a chosen account name (companies and staff).
func ValidAccountName(login string) (string, error) {
	login = strings.TrimSpace(login)
	if !loginRE.MatchString(login) {
		return "", apperr.Input("login", "账号须以字母开头，由4-32位字母、数字、下划线或连字符组成")
	}
	return strings.ToLower(login), nil
}

// RegisterCompany creates a company and its account. The company stays
// PENDING until a reviewer approves it; until then it cannot enroll anyone.
func (s *Service) RegisterCompany(ctx context.Context, in CompanyInput) (*ent.User, error) {
	login, err := ValidAccountName(in.Login)
	if err != nil {
		return nil, err
	}
	company := strings.TrimSpace(in.CompanyName)
	if company == "" || utf8.RuneCountInString(company) > 128 {
		return nil, apperr.Input("companyName", "请填写单位名称（不超过128个字）")
	}
	contact, err := validName(in.Contact)
	if err != nil {
		err.(*apperr.Error).Field = "contact"
		return nil, err
	}
	phone, err := idcard.ValidatePhone(in.Phone)
	if err != nil {
		return nil, inputErr("phone", err)
	}
	email, err := validEmail(in.Email)
	if err != nil {
		return nil, err
	}
	if utf8.RuneCountInString(in.Address) > 256 {
		return nil, apperr.Input("address", "地址不能超过256个字")
	}
	if err := password.CheckFor(in.Password, login); err != nil {
		return nil, inputErr("password", err)
	}
	sys := viewer.SystemContext(ctx)
	db := s.db(ctx)
	if ok, err := db.User.Query().Where(loginTaken(login)).Exist(sys); err != nil {
		return nil, err
	} else if ok {
		return nil, apperr.New(apperr.Conflict, "该账号已被使用，请换一个").With("field", "login")
	}
	if ok, err := db.Organization.Query().Where(orgCompanyNamed(company)).Exist(sys); err != nil {
		return nil, err
	} else if ok {
		return nil, apperr.New(apperr.Conflict, "该单位名称已注册，一个单位只能注册一个账号").With("field", "companyName")
	}
	hash, err := s.hasher.Hash(ctx, in.Password)
	if err != nil {
		return nil, err
	}
	// Company and account together or not at all, also outside a GraphQL transaction.
	var u *ent.User
	err = txn.WithTx(ctx, s.client, func(ctx context.Context) error {
		u, err = s.createCompany(ctx, login, company, contact, phone, email, hash, in)
		return err
	})
	return u, err
}

func (s *Service) createCompany(ctx context.Context, login, company, contact, phone, email, hash string, in CompanyInput) (*ent.User, error) {
	sys := viewer.SystemContext(ctx)
	db := s.db(ctx)
	org, err := db.Organization.Create().SetKind("COMPANY").SetName(company).SetContact(contact).
		SetPhone(phone).SetEmail(email).SetAddress(strings.TrimSpace(in.Address)).SetRegion(strings.TrimSpace(in.Region)).
		SetStatus("PENDING").Save(sys)
	if ent.IsConstraintError(err) {
		return nil, apperr.New(apperr.Conflict, "该单位名称已注册，一个单位只能注册一个账号")
	}
	if err != nil {
		return nil, err
	}
	u, err := db.User.Create().SetRole(user.RoleCOMPANY).SetLogin(login).SetName(company).
		SetPhone(phone).SetEmail(email).SetPasswordHash(hash).SetPasswordChangedAt(s.now()).
		SetOrganization(org).Save(sys)
	if ent.IsConstraintError(err) {
		return nil, apperr.New(apperr.Conflict, "该账号已被使用，请换一个")
	}
	return u, err
}

// StaffInput creates a staff account (ADMIN only; privacy enforces it).
type StaffInput struct {
	Role           user.Role
	Login, Name    string
	Phone, Email   string
	OrganizationID *int
	Password       string
}

// staffOrgKind is the organisation kind each staff role belongs to.
var staffOrgKind = map[user.Role]string{
	user.RoleEXAM_SITE:    "EXAM_SITE",
	user.RoleTRAINING_ORG: "TRAINING_ORG",
	user.RoleREVIEWER:     "DEPARTMENT",
	user.RolePROCTOR:      "EXAM_SITE",
}

// CreateStaff creates a staff account in the viewer's authority.
func (s *Service) CreateStaff(ctx context.Context, in StaffInput) (*ent.User, error) {
	if _, err := authz.Require(ctx, "只有省总站管理员可以创建工作人员账号", viewer.Admin); err != nil {
		return nil, err
	}
	if !viewer.Role(in.Role).Staff() {
		return nil, apperr.Input("role", "考生和单位账号需自行注册，不能由管理员创建")
	}
	login, err := ValidAccountName(in.Login)
	if err != nil {
		return nil, err
	}
	name, err := validName(in.Name)
	if err != nil {
		return nil, err
	}
	var phone string
	if in.Phone != "" {
		if phone, err = idcard.ValidatePhone(in.Phone); err != nil {
			return nil, inputErr("phone", err)
		}
	}
	email, err := validEmail(in.Email)
	if err != nil {
		return nil, err
	}
	if err := password.CheckFor(in.Password, login); err != nil {
		return nil, inputErr("password", err)
	}
	db := s.db(ctx)
	kind, needsOrg := staffOrgKind[in.Role]
	if needsOrg && in.Role != user.RolePROCTOR && in.OrganizationID == nil {
		return nil, apperr.Input("organizationID", "该角色必须指定所属机构")
	}
	if in.Role == user.RoleADMIN && in.OrganizationID != nil {
		return nil, apperr.Input("organizationID", "管理员账号不属于任何机构")
	}
	if in.OrganizationID != nil {
		org, err := db.Organization.Get(ctx, *in.OrganizationID)
		if ent.IsNotFound(err) {
			return nil, apperr.Input("organizationID", "所属机构不存在")
		} else if err != nil {
			return nil, err
		}
		if string(org.Kind) != kind {
			return nil, apperr.Input("organizationID", "所属机构类型与角色不符")
		}
	}
	if ok, err := db.User.Query().Where(loginTaken(login)).Exist(viewer.SystemContext(ctx)); err != nil {
		return nil, err
	} else if ok {
		return nil, apperr.New(apperr.Conflict, "该账号已被使用，请换一个").With("field", "login")
	}
	hash, err := s.hasher.Hash(ctx, in.Password)
	if err != nil {
		return nil, err
	}
	u, err := db.User.Create().SetRole(in.Role).SetLogin(login).SetName(name).SetPhone(phone).SetEmail(email).
		SetPasswordHash(hash).SetPasswordChangedAt(s.now()).SetNillableOrganizationID(in.OrganizationID).Save(ctx)
	if ent.IsConstraintError(err) {
		return nil, apperr.New(apperr.Conflict, "该账号已被使用，请换一个")
	}
	return u, err
}

// SetDisabled disables or re-enables an account (ADMIN); disabling ends its sessions.
func (s *Service) SetDisabled(ctx context.Context, id int, disabled bool) (*ent.User, error) {
	v, err := authz.Require(ctx, "只有管理员可以停用或启用账号", viewer.Admin)
	if err != nil {
		return nil, err
	}
	if v.UserID == id && disabled {
		return nil, apperr.Input("id", "不能停用自己的账号")
	}
	status := user.StatusACTIVE
	if disabled {
		status = user.StatusDISABLED
	}
	s.sessions.invalidate(ctx)
	u, err := s.db(ctx).User.UpdateOneID(id).SetStatus(status).Save(ctx)
	if err != nil {
		return nil, err
	}
	if disabled {
		if err := s.revokeAll(ctx, id, 0, "disabled"); err != nil {
			return nil, err
		}
	}
	return u, nil
}

// ---------------------------------------------------------------- helpers

func inputErr(field string, err error) error {
	return &apperr.Error{Code: apperr.BadInput, Message: err.Error(), Field: field}
}

func validName(name string) (string, error) {
	name = strings.TrimSpace(name)
	n := utf8.RuneCountInString(name)
	if n == 0 || n > 64 {
		return "", apperr.Input("name", "请填写姓名（不超过64个字）")
	}
	for _, r := range name {
		if r < ' ' || strings.ContainsRune("<>\"'\\{}", r) {
			return "", apperr.Input("name", "姓名包含无效字符")
		}
	}
	return name, nil
}

var emailRE = regexp.MustCompile(`^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$`)

func validEmail(email string) (string, error) {
	email = strings.TrimSpace(email)
	if email == "" {
		return "", nil
	}
	if len(email) > 128 || !emailRE.MatchString(email) {
		return "", apperr.Input("email", "电子邮箱格式不正确")
	}
	return email, nil
}

// NewToken returns a random URL-safe token and its SHA-256.
func NewToken() (string, []byte) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	tok := base64.RawURLEncoding.EncodeToString(b)
	return tok, HashToken(tok)
}

// HashToken is how tokens are stored.
func HashToken(tok string) []byte {
	h := sha256.Sum256([]byte(tok))
	return h[:]
}

func randomDigits(n int) string {
	var sb strings.Builder
	for range n {
		d, err := rand.Int(rand.Reader, big.NewInt(10))
		if err != nil {
			panic(err)
		}
		sb.WriteByte(byte('0' + d.Int64()))
	}
	return sb.String()
}

// codeHash binds a code to its user and purpose under the server secret:
// codes are short, so the secret is what keeps a leaked table useless.
func (s *Service) codeHash(userID int, purpose, code string) string {
	m := hmac.New(sha256.New, s.cfg.Secret)
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write([]byte(code))
	m.Write([]byte{0})
	m.Write(big.NewInt(int64(userID)).Bytes())
	return hex.EncodeToString(m.Sum(nil))
}

// Logins are stored upper-case for documents (ID numbers, passports) and
// lower-case for chosen account names. Both spellings of what a person types
// are looked up, and registration refuses a login whose other spelling is
// taken, so the lookup never finds two accounts.
func loginForms(login string) []string {
	login = strings.TrimSpace(login)
	if login == "" {
		return nil
	}
	if r, err := idcard.Parse(login); err == nil {
		return []string{r.Number}
	}
	up, low := strings.ToUpper(login), strings.ToLower(login)
	if up == low {
		return []string{up}
	}
	return []string{low, up}
}

// loginIs matches the account a typed login names.
func loginIs(login string) predicate.User {
	forms := loginForms(login)
	if len(forms) == 0 {
		return user.Login("")
	}
	return user.LoginIn(forms...)
}

// loginTaken matches any account whose login equals login in either case.
func loginTaken(login string) predicate.User {
	return user.LoginIn(strings.ToUpper(login), strings.ToLower(login), login)
}

var errInvalidCredentials = errors.New("invalid credentials")

func (s *Service) sessionsOf(ctx context.Context, userID int) *ent.SessionQuery {
	return s.db(ctx).Session.Query().Where(session.UserID(userID), session.RevokedAtIsNil(), session.ExpiresAtGT(s.now()))
}
