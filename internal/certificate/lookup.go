package certificate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kaowu/kaowu/ent"
	entcert "github.com/kaowu/kaowu/ent/certificate"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/certificate/sign"
	"github.com/kaowu/kaowu/internal/idcard"
	"github.com/kaowu/kaowu/internal/viewer"
)

// Public is a certificate as the public lookups and the verification page
// show it: never the full ID number, never fee or collection details.
type Public struct {
	Number      string
	HolderName  string
	MaskedID    string
	SubjectCode string
	SubjectName string
	Category    string
	Employer    string
	RegionName  string
	SiteName    string
	Authority   string
	IssuedAt    time.Time
	ValidFrom   time.Time
	ValidUntil  time.Time // exclusive: the last valid day is the day before
	Status      entcert.Status
	Revision    int
}

func (s *Service) public(c *ent.Certificate) Public {
	return Public{
		Number: c.Number, HolderName: c.HolderName, MaskedID: c.HolderIDMasked,
		SubjectCode: c.SubjectCode, SubjectName: c.SubjectName, Category: c.Category,
		Employer: c.Employer, RegionName: c.RegionName, SiteName: c.SiteName, Authority: c.Authority,
		IssuedAt: c.IssuedAt, ValidFrom: c.ValidFrom, ValidUntil: c.ValidUntil,
		Status: s.Status(c), Revision: c.Revision,
	}
}

func clientIP(ctx context.Context) string {
	if ip := viewer.RequestFrom(ctx).IP; ip != "" {
		return ip
	}
	return "-"
}

// Lookup is the public certificate lookup by name + ID number (no login).
// Rate-limited per address and per ID number, counted before anything is
// matched; it answers the same empty list for an unknown ID number and a
// wrong name. Matching is on the certificate's own snapshot.
func (s *Service) Lookup(ctx context.Context, name, idNumber string) ([]Public, error) {
	sys := viewer.SystemContext(ctx)
	if err := s.count(sys, "ip:"+clientIP(ctx), LookupPerIP, LookupIPWindow); err != nil {
		return nil, err
	}
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 128 {
		return nil, apperr.Input("name", "请输入姓名")
	}
	forms := idForms(idNumber)
	if len(forms) == 0 {
		return nil, apperr.Input("idNumber", "证件号码格式不正确")
	}
	sum := sha256.Sum256([]byte(forms[0]))
	if err := s.count(sys, "id:"+hex.EncodeToString(sum[:16]), LookupPerID, LookupIDWindow); err != nil {
		return nil, err
	}
	certs, err := s.db(ctx).Certificate.Query().
		Where(entcert.HolderIDNumberIn(forms...), entcert.HolderName(name)).
		Order(ent.Desc(entcert.FieldIssuedAt), ent.Desc(entcert.FieldID)).All(sys)
	if err != nil {
		return nil, err
	}
	out := make([]Public, 0, len(certs))
	for _, c := range certs {
		out = append(out, s.public(c))
	}
	return out, nil
}

// NormalizeNumber is how numbers are typed in: spaces dropped, upper case.
func NormalizeNumber(n string) string {
	return strings.ToUpper(strings.Join(strings.Fields(n), ""))
}

// LookupNumber is the public lookup by certificate number (no login),
// rate-limited per address.
func (s *Service) LookupNumber(ctx context.Context, number string) (*Public, error) {
	sys := viewer.SystemContext(ctx)
	if err := s.count(sys, "num:"+clientIP(ctx), NumberPerIP, NumberIPWindow); err != nil {
		return nil, err
	}
	number = NormalizeNumber(number)
	if number == "" || utf8.RuneCountInString(number) > 32 {
		return nil, apperr.Input("number", "请输入正确的证书编号")
	}
	c, err := s.db(ctx).Certificate.Query().Where(entcert.Number(number)).Only(sys)
	if ent.IsNotFound(err) {
		return nil, apperr.New(apperr.NotFound, "未找到该证书编号的证书").With("field", "number")
	} else if err != nil {
		return nil, err
	}
	p := s.public(c)
	return &p, nil
}

// idForms normalises an ID number the way accounts store it: a valid
// resident ID, else every other document type it is valid for.
func idForms(s string) []string {
	if r, err := idcard.Parse(s); err == nil {
		return []string{r.Number}
	}
	var out []string
	for _, t := range idcard.AllDocTypes() {
		if t == idcard.ResidentID {
			continue
		}
		if n, err := idcard.ValidateDocument(t, s); err == nil && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// VerifyStatus is the live verdict on a scanned QR code.
type VerifyStatus string

// Verdicts of Verify.
const (
	// VerifyValid: the payload is authentic, the certificate is in force and
	// nothing has changed since the payload was signed.
	VerifyValid VerifyStatus = "VALID"
	// VerifyExpired: the validity has ended (and was not renewed).
	VerifyExpired VerifyStatus = "EXPIRED"
	// VerifyChanged: an approved change (employer, region) came after the
	// payload: the printout is outdated; Current shows what is in force.
	VerifyChanged VerifyStatus = "CHANGED"
	// VerifyRenewed: the certificate was renewed after the payload was
	// signed; it is in force until Current.ValidUntil.
	VerifyRenewed VerifyStatus = "RENEWED"
	// VerifyCancelled: cancelled (注销) for good.
	VerifyCancelled VerifyStatus = "CANCELLED"
	// VerifyNotFound: signed by a key of ours, but no such certificate here
	// (or its facts disagree): treat as invalid.
	VerifyNotFound VerifyStatus = "NOT_FOUND"
)

// Problems of a payload that is not authentic.
const (
	ProblemMalformed    = "MALFORMED"
	ProblemUnknownKey   = "UNKNOWN_KEY"
	ProblemBadSignature = "BAD_SIGNATURE"
)

// VerifyResult is the answer of the verification page.
type VerifyResult struct {
	Authentic bool
	Problem   string // when not authentic: MALFORMED, UNKNOWN_KEY or BAD_SIGNATURE
	Message   string // a sentence for the page
	Claims    sign.Claims
	Status    VerifyStatus // when authentic
	Current   *Public      // when authentic and found
}

// Verify checks a QR code (the link or the bare payload): the signature
// offline against the configured keys, then the certificate's live status.
// No login needed; rate-limited per address. A forged or altered code is
// not an error but a result with Authentic false and the problem named.
func (s *Service) Verify(ctx context.Context, code string) (VerifyResult, error) {
	sys := viewer.SystemContext(ctx)
	if err := s.count(sys, "verify:"+clientIP(ctx), VerifyPerIP, VerifyIPWindow); err != nil {
		return VerifyResult{}, err
	}
	cl, err := sign.VerifyOffline(code, s.Keys)
	switch {
	case errors.Is(err, sign.ErrMalformed):
		return VerifyResult{Problem: ProblemMalformed, Message: "二维码内容不是本系统的证书信息"}, nil
	case errors.Is(err, sign.ErrUnknownKey):
		return VerifyResult{Problem: ProblemUnknownKey, Claims: cl,
			Message: "二维码使用了未知的签名密钥，不是本系统签发的证书，请注意核实"}, nil
	case errors.Is(err, sign.ErrBadSignature):
		return VerifyResult{Problem: ProblemBadSignature, Claims: cl,
			Message: "二维码签名无效：证书信息被伪造或篡改"}, nil
	case err != nil:
		return VerifyResult{}, err
	}
	r := VerifyResult{Authentic: true, Claims: cl}
	c, err := s.db(ctx).Certificate.Query().Where(entcert.Number(cl.Number)).Only(sys)
	if ent.IsNotFound(err) {
		r.Status, r.Message = VerifyNotFound, "签名有效，但系统中没有这本证书，请联系发证机关核实"
		return r, nil
	} else if err != nil {
		return VerifyResult{}, err
	}
	if claims(c).NameHash != cl.NameHash || c.SubjectCode != cl.SubjectCode {
		r.Status, r.Message = VerifyNotFound, "签名有效，但与系统中的证书信息不符，请联系发证机关核实"
		return r, nil
	}
	p := s.public(c)
	r.Current = &p
	switch {
	case c.Status == entcert.StatusCANCELLED:
		r.Status, r.Message = VerifyCancelled, "该证书已注销，不再有效"
	case p.Status == entcert.StatusEXPIRED:
		r.Status, r.Message = VerifyExpired, "该证书已过有效期（有效期至 "+date(lastDay(c.ValidUntil))+"）"
	case cl.ValidUntil < sign.Day(c.ValidUntil):
		r.Status, r.Message = VerifyRenewed, "该证书已延续，有效期至 "+date(lastDay(c.ValidUntil))+"，以系统信息为准"
	case cl.Revision < c.Revision:
		r.Status, r.Message = VerifyChanged, "该证书信息已变更，此二维码所在的证书版本已过时，以系统信息为准"
	default:
		r.Status, r.Message = VerifyValid, "证书真实有效"
	}
	return r, nil
}

// CheckName tells whether name is the holder's name in an authentic code
// (offline: the payload carries a salted hash of the name).
func (s *Service) CheckName(code, name string) (bool, error) {
	cl, err := sign.VerifyOffline(code, s.Keys)
	if err != nil {
		return false, apperr.Input("code", "二维码签名无效，无法核对姓名")
	}
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 128 {
		return false, apperr.Input("name", "请输入姓名")
	}
	return cl.MatchesName(name), nil
}
