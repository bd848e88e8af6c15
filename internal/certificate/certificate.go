// Package certificate issues and maintains work-safety certificates
// (DOMAIN.md step 15, issue #5). See docs/certificates.md for the rules.
//
//   - IssueBatch: ADMIN approves passed FORMAL attempts in batches; each gets a
//     unique number from a per-(prefix, year) counter and a snapshot of
//     holder, ID number, employer, region, subject and authority.
//   - Mine, Lookup, LookupNumber: the holder's list and the public,
//     rate-limited lookups (masked ID numbers).
//   - PDF and Code: the printable certificate with a QR code holding an
//     Ed25519-signed payload (internal/certificate/sign); Verify checks it
//     offline and adds the live status.
//   - RecordFee, RecordCollection: the issuing site's fee and hand-over record.
//   - RequestChange, RequestRenewal, RequestCancellation, Withdraw, Review:
//     the holder's requests, reviewed by the issuing site.
//   - ExpiryHandler, EnsureScheduled: the daily job marking expired
//     certificates and sending the 3-month reminder once per validity period.
package certificate

import (
	"context"
	"log/slog"
	"time"

	"github.com/kaowu/kaowu/ent"
	entcert "github.com/kaowu/kaowu/ent/certificate"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/authz"
	"github.com/kaowu/kaowu/internal/certificate/sign"
	"github.com/kaowu/kaowu/internal/notify"
	"github.com/kaowu/kaowu/internal/storage"
	"github.com/kaowu/kaowu/internal/txn"
	"github.com/kaowu/kaowu/internal/viewer"
)

// Defaults of the Service's settings.
const (
	DefaultValidityYears = 3
	DefaultPrefix        = "KW"
	DefaultAuthority     = "安全生产考试考核管理中心"
	// RenewalWindowMonths: a renewal may be requested only this many months
	// before expiry; the expiry reminder goes out when the window opens.
	RenewalWindowMonths = 3
	// MaxBatch bounds one IssueBatch call.
	MaxBatch = 500
)

// Notification kinds sent to holders.
const (
	KindIssued   = "CERT_ISSUED"
	KindReviewed = "CERT_REQUEST_REVIEWED"
	KindExpiring = "CERT_EXPIRING"
	KindExpired  = "CERT_EXPIRED"
)

// ChinaTZ is the zone certificate dates are counted and printed in.
var ChinaTZ = sign.ChinaTZ

// Service implements certificates. Client, Notifier and Keys are required.
type Service struct {
	Client   *ent.Client
	Notifier *notify.Notifier
	Store    storage.Store // ID photos for the PDF; nil prints an empty photo box
	Keys     *sign.Keyring // from sign.LoadKeyring(KAOWU_CERT_KEYS, …)
	// PublicURL is the base of the QR link <PublicURL>/verify/<payload>.
	PublicURL     string
	Authority     string // issuing authority printed on certificates; DefaultAuthority when empty
	Prefix        string // number prefix, [A-Z0-9]{1,8}; DefaultPrefix when empty
	ValidityYears int    // DefaultValidityYears when 0
	Now           func() time.Time
	Log           *slog.Logger
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

func (s *Service) years() int {
	if s.ValidityYears > 0 {
		return s.ValidityYears
	}
	return DefaultValidityYears
}

func (s *Service) prefix() string {
	if s.Prefix != "" {
		return s.Prefix
	}
	return DefaultPrefix
}

func (s *Service) authority() string {
	if s.Authority != "" {
		return s.Authority
	}
	return DefaultAuthority
}

func (s *Service) db(ctx context.Context) *ent.Client { return txn.Client(ctx, s.Client) }

// Status is the certificate's status as of now: a VALID row whose validity
// has ended is EXPIRED even before the daily job has marked it.
func (s *Service) Status(c *ent.Certificate) entcert.Status {
	return effective(c, s.now())
}

func effective(c *ent.Certificate, now time.Time) entcert.Status {
	if c.Status == entcert.StatusVALID && !now.Before(c.ValidUntil) {
		return entcert.StatusEXPIRED
	}
	return c.Status
}

// addMonths moves t by n calendar months in China time, keeping the day of
// month but clamping it to the target month's last day (31 May − 3 months
// is 28 February, 29 February + 3 years is 28 February).
func addMonths(t time.Time, n int) time.Time {
	t = t.In(ChinaTZ)
	y, m, d := t.Date()
	first := time.Date(y, m+time.Month(n), 1, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), ChinaTZ)
	last := first.AddDate(0, 1, -1).Day()
	return first.AddDate(0, 0, min(d, last)-1)
}

// RenewalOpensAt is when a renewal of a certificate valid until validUntil
// may be requested (and the expiry reminder goes out).
func RenewalOpensAt(validUntil time.Time) time.Time {
	return addMonths(validUntil, -RenewalWindowMonths)
}

// startOfDay is 00:00 China time of t's date.
func startOfDay(t time.Time) time.Time { return sign.DayTime(sign.Day(t)) }

// date prints a date in China time.
func date(t time.Time) string { return t.In(ChinaTZ).Format("2006-01-02") }

// lastDay is the last valid day of a validity ending (exclusive) at until.
func lastDay(until time.Time) time.Time { return until.In(ChinaTZ).AddDate(0, 0, -1) }

// visible loads a certificate the viewer may see as a holder, the issuing
// site or ADMIN; anything else is NOT_FOUND, so existence does not leak.
func (s *Service) visible(ctx context.Context, id int) (*viewer.Viewer, *ent.Certificate, error) {
	v, err := authz.Require(ctx, "您的账号不能查看证书", viewer.Candidate, viewer.ExamSite, viewer.Admin)
	if err != nil {
		return nil, nil, err
	}
	if id <= 0 {
		return nil, nil, apperr.Input("certificateID", "证书编号无效")
	}
	notFound := apperr.New(apperr.NotFound, "证书不存在或无权查看")
	c, err := s.db(ctx).Certificate.Get(ctx, id) // privacy narrows to the viewer's rows
	if ent.IsNotFound(err) {
		return nil, nil, notFound
	} else if err != nil {
		return nil, nil, err
	}
	if !mayAccess(v, c.HolderID, c.SiteID) {
		return nil, nil, notFound
	}
	return v, c, nil
}

// mayAccess: the holder, the issuing site and ADMIN — the privacy policy's
// rule stated again in the service, so that a broader policy later cannot
// widen who reaches a certificate or its requests.
func mayAccess(v *viewer.Viewer, holderID, siteID int) bool {
	switch v.Role {
	case viewer.Admin:
		return true
	case viewer.Candidate:
		return holderID == v.UserID
	case viewer.ExamSite:
		return v.OrgID != 0 && siteID == v.OrgID
	}
	return false
}

// Get returns a certificate the viewer may see.
func (s *Service) Get(ctx context.Context, id int) (*ent.Certificate, error) {
	_, c, err := s.visible(ctx, id)
	return c, err
}

// Mine lists the CANDIDATE's own certificates, newest first.
func (s *Service) Mine(ctx context.Context) ([]*ent.Certificate, error) {
	v, err := authz.Require(ctx, "只有考生可以查看本人证书", viewer.Candidate)
	if err != nil {
		return nil, err
	}
	return s.db(ctx).Certificate.Query().Where(entcert.HolderID(v.UserID)).
		Order(ent.Desc(entcert.FieldIssuedAt), ent.Desc(entcert.FieldID)).All(ctx)
}

// claims are what the QR payload of c states now.
func claims(c *ent.Certificate) sign.Claims {
	return sign.Claims{
		Number: c.Number, NameHash: sign.NameHash(c.Number, c.HolderName), SubjectCode: c.SubjectCode,
		ValidFrom: sign.Day(c.ValidFrom), ValidUntil: sign.Day(c.ValidUntil), Revision: c.Revision,
	}
}

// link signs c's current state and returns the QR content.
func (s *Service) link(c *ent.Certificate) (string, error) {
	p, err := s.Keys.Sign(claims(c))
	if err != nil {
		return "", err
	}
	return s.PublicURL + "/verify/" + p, nil
}

// Code returns the QR content of a certificate the viewer may see: its
// verification link, signed with the active key over its current state.
func (s *Service) Code(ctx context.Context, id int) (string, error) {
	_, c, err := s.visible(ctx, id)
	if err != nil {
		return "", err
	}
	return s.link(c)
}

// Link is the QR content of a certificate already loaded through privacy
// (so the viewer may see it): no query, for lists.
func (s *Service) Link(c *ent.Certificate) (string, error) { return s.link(c) }

// PublicKeys is the key set the server publishes for offline verification.
func (s *Service) PublicKeys() sign.PublicKeySet { return s.Keys.PublicKeys() }
