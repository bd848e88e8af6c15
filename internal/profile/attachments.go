// Package profile is the candidate's exam profile (DOMAIN.md steps 2–3):
// personal details, the attachments that prove them, the candidate type and
// exam category, and whether all of it is complete enough to enroll.
//
// Attachments are checked by content (internal/media), stored in the blob
// store under users/<id>/<kind>/<random>.<ext> and served back through
// short-lived signed URLs. Files are immutable: a new upload of a kind
// replaces the previous one by recency, and the history stays.
package profile

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"entgo.io/ent/privacy"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/attachment"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/authz"
	"github.com/kaowu/kaowu/internal/media"
	"github.com/kaowu/kaowu/internal/storage"
	"github.com/kaowu/kaowu/internal/txn"
	"github.com/kaowu/kaowu/internal/viewer"
)

// Defaults of the Service's tunables.
const (
	DefaultURLPrefix        = "/blobs/"
	DefaultURLTTL           = 10 * time.Minute
	DefaultMaxUploadsPerDay = 100
	maxFileNameRunes        = 255
	// cleanupTimeout bounds the removal of a blob whose row was not written.
	cleanupTimeout = 30 * time.Second
)

// Service implements profiles and attachments.
type Service struct {
	Client *ent.Client
	Store  storage.Store
	Signer *storage.Signer
	// Limits bound uploads (zero fields take media's defaults).
	Limits media.Limits
	// Now is the clock (URL expiry, upload quota, birth dates); time.Now when nil.
	Now func() time.Time
	// URLPrefix is what signed URLs start with: the path storage.Handler is
	// mounted at, or an absolute URL ending in it. Default "/blobs/".
	URLPrefix string
	// URLTTL is how long a signed URL stays valid. Default 10 minutes.
	URLTTL time.Duration
	// MaxUploadsPerDay bounds the attachments one account stores in 24
	// hours, so a script cannot fill the blob store. Default 100.
	MaxUploadsPerDay int
}

func (s *Service) db(ctx context.Context) *ent.Client { return txn.Client(ctx, s.Client) }

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// uploadKinds are the kinds each role may upload for itself. Check-in
// photos are stored by the check-in service through Attach, never uploaded.
var uploadKinds = map[viewer.Role][]attachment.Kind{
	viewer.Candidate: {
		attachment.KindID_PHOTO, attachment.KindID_CARD_FRONT, attachment.KindID_CARD_BACK,
		attachment.KindEDUCATION_CERT, attachment.KindCOMMITMENT_LETTER, attachment.KindSTUDY_PROOF,
		attachment.KindPAYMENT_PROOF, attachment.KindOTHER,
	},
	// A company keeps its own commitment letter (used for the staff it
	// registered) and pays for its staff.
	viewer.Company: {attachment.KindCOMMITMENT_LETTER, attachment.KindPAYMENT_PROOF, attachment.KindOTHER},
}

// UploadKinds returns the kinds role may upload through Upload.
func UploadKinds(role viewer.Role) []attachment.Kind { return slices.Clone(uploadKinds[role]) }

// imageOnly kinds must be pictures: they are printed on the admission
// ticket or compared at check-in.
var imageOnly = []attachment.Kind{
	attachment.KindID_PHOTO, attachment.KindCHECKIN_READER_PHOTO, attachment.KindCHECKIN_LIVE_PHOTO,
}

// Upload stores a file of kind for the viewer's own account. fileName is
// kept for display only: the type is found from the content. size is the
// declared size (-1 when unknown); a declared size over the upload limit is
// refused before anything is read.
func (s *Service) Upload(ctx context.Context, kind attachment.Kind, fileName string, r io.Reader, size int64) (*ent.Attachment, error) {
	v, err := authz.Require(ctx, "")
	if err != nil {
		return nil, err
	}
	if attachment.KindValidator(kind) != nil {
		return nil, apperr.Input("kind", "附件类型不正确")
	}
	if !slices.Contains(uploadKinds[v.Role], kind) {
		return nil, apperr.New(apperr.Forbidden, "您的账号不能上传此类附件")
	}
	return s.Attach(ctx, v.UserID, kind, fileName, r, size)
}

// Attach checks, normalises and stores a file as an attachment of ownerID.
// It is the lower level of Upload for other services (check-in photos,
// payment proofs entered by staff): privacy lets a viewer attach only to
// themself, so callers acting for someone else use viewer.SystemContext once
// they have decided the caller may. When ctx carries a transaction, the blob
// is removed again if that transaction rolls back.
func (s *Service) Attach(ctx context.Context, ownerID int, kind attachment.Kind, fileName string, r io.Reader, size int64) (*ent.Attachment, error) {
	if attachment.KindValidator(kind) != nil {
		return nil, apperr.Input("kind", "附件类型不正确")
	}
	name, err := cleanFileName(fileName)
	if err != nil {
		return nil, err
	}
	lim := s.Limits.WithDefaults()
	if size > lim.MaxUploadBytes {
		return nil, media.TooLarge(lim.MaxUploadBytes)
	}
	if err := s.checkQuota(ctx, ownerID); err != nil {
		return nil, err
	}
	f, err := media.Prepare(ctx, r, lim)
	if err != nil {
		return nil, err
	}
	if slices.Contains(imageOnly, kind) && !f.Kind.IsImage() {
		return nil, apperr.Input(media.ErrField, "照片须为 jpg 或 png 图片")
	}

	key := blobKey(ownerID, kind, f.Kind)
	info, err := s.Store.Put(ctx, key, bytes.NewReader(f.Data), int64(len(f.Data)), f.Kind.ContentType())
	if err != nil {
		return nil, fmt.Errorf("profile: store attachment: %w", err)
	}
	remove := func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		_ = s.Store.Delete(cctx, key)
	}
	create := s.db(ctx).Attachment.Create().
		SetOwnerID(ownerID).SetKind(kind).SetBlobKey(key).SetContentType(info.ContentType).
		SetSize(info.Size).SetSha256(info.SHA256).SetFileName(name).SetCreatedAt(s.now())
	if f.Kind.IsImage() {
		create.SetWidth(f.Width).SetHeight(f.Height)
	}
	if v := viewer.FromContext(ctx); v != nil {
		create.SetUploadedByID(v.UserID)
	}
	a, err := create.Save(ctx)
	if err != nil {
		remove()
		if errors.Is(err, privacy.Deny) {
			return nil, apperr.Wrap(err, apperr.Forbidden, "不能为其他账号上传附件")
		}
		return nil, err
	}
	txn.AfterRollback(ctx, remove)
	return a, nil
}

// checkQuota bounds uploads: at most MaxUploadsPerDay
// attachments per owner in the last 24 hours.
func (s *Service) checkQuota(ctx context.Context, ownerID int) error {
	limit := s.MaxUploadsPerDay
	if limit <= 0 {
		limit = DefaultMaxUploadsPerDay
	}
	n, err := s.db(ctx).Attachment.Query().
		Where(attachment.OwnerID(ownerID), attachment.CreatedAtGT(s.now().Add(-24*time.Hour))).
		Count(viewer.SystemContext(ctx))
	if err != nil {
		return err
	}
	if n >= limit {
		return apperr.New(apperr.TooManyRequests, "今天上传的文件太多，请明天再试")
	}
	return nil
}

// blobKey is users/<owner>/<kind>/<32 hex>.<ext>: random, so a key says
// nothing guessable and two uploads never collide.
func blobKey(ownerID int, kind attachment.Kind, k media.Kind) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	slug := strings.ReplaceAll(strings.ToLower(string(kind)), "_", "-")
	return "users/" + strconv.Itoa(ownerID) + "/" + slug + "/" + hex.EncodeToString(b[:]) + "." + k.Ext()
}

// cleanFileName keeps the base name a browser sent, for display: no
// directories, no control characters, at most 255 characters.
func cleanFileName(name string) (string, error) {
	name = strings.ReplaceAll(name, "\\", "/")
	name = strings.TrimSpace(path.Base(name))
	if name == "." || name == "/" {
		name = ""
	}
	if !utf8.ValidString(name) {
		return "", apperr.Input("fileName", "文件名不是有效的文字")
	}
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return -1
		}
		return r
	}, name)
	if utf8.RuneCountInString(name) > maxFileNameRunes {
		r := []rune(name)
		ext := path.Ext(name)
		if utf8.RuneCountInString(ext) > 16 {
			ext = ""
		}
		name = string(r[:maxFileNameRunes-utf8.RuneCountInString(ext)]) + ext
	}
	return name, nil
}

// URL returns a signed download URL for an attachment the viewer may read
// (the attachment's privacy policy decides: owners, reviewers and admins),
// and when it expires. Others get NOT_FOUND, as for a missing id.
func (s *Service) URL(ctx context.Context, id int) (string, time.Time, error) {
	if !viewer.IsSystem(ctx) {
		if _, err := authz.Require(ctx, ""); err != nil {
			return "", time.Time{}, err
		}
	}
	a, err := s.db(ctx).Attachment.Query().Where(attachment.ID(id)).Only(ctx)
	if ent.IsNotFound(err) {
		return "", time.Time{}, apperr.New(apperr.NotFound, "附件不存在").With("field", "id")
	} else if err != nil {
		return "", time.Time{}, err
	}
	u, exp := s.SignedURL(a)
	return u, exp, nil
}

// SignedURL signs an attachment that was already loaded under the viewer's
// privacy (an edge of an entity the viewer may read, e.g. a payment's proof
// or a check-in's live photo). It never checks anything itself.
func (s *Service) SignedURL(a *ent.Attachment) (string, time.Time) {
	prefix, ttl := s.URLPrefix, s.URLTTL
	if prefix == "" {
		prefix = DefaultURLPrefix
	}
	if ttl <= 0 {
		ttl = DefaultURLTTL
	}
	now := s.now()
	// The signature carries whole seconds; report the same instant.
	return s.Signer.URL(prefix, a.BlobKey, ttl, now), time.Unix(now.Add(ttl).Unix(), 0)
}

// CurrentAttachments returns the newest attachment of each kind of ownerID
// that the viewer may read, in kind order.
func (s *Service) CurrentAttachments(ctx context.Context, ownerID int) ([]*ent.Attachment, error) {
	if !viewer.IsSystem(ctx) {
		if _, err := authz.Require(ctx, ""); err != nil {
			return nil, err
		}
	}
	all, err := s.db(ctx).Attachment.Query().Where(attachment.OwnerID(ownerID)).
		Order(ent.Desc(attachment.FieldCreatedAt), ent.Desc(attachment.FieldID)).All(ctx)
	if err != nil {
		return nil, err
	}
	return newestPerKind(all), nil
}

// MyAttachments is CurrentAttachments of the viewer.
func (s *Service) MyAttachments(ctx context.Context) ([]*ent.Attachment, error) {
	v, err := authz.Require(ctx, "")
	if err != nil {
		return nil, err
	}
	return s.CurrentAttachments(ctx, v.UserID)
}

// newestPerKind keeps the first of each kind of a newest-first list, and
// orders the result as the kinds are declared.
func newestPerKind(all []*ent.Attachment) []*ent.Attachment {
	seen := map[attachment.Kind]*ent.Attachment{}
	for _, a := range all {
		if seen[a.Kind] == nil {
			seen[a.Kind] = a
		}
	}
	out := make([]*ent.Attachment, 0, len(seen))
	for _, k := range allKinds {
		if a := seen[k]; a != nil {
			out = append(out, a)
		}
	}
	return out
}

var allKinds = []attachment.Kind{
	attachment.KindID_PHOTO, attachment.KindID_CARD_FRONT, attachment.KindID_CARD_BACK,
	attachment.KindEDUCATION_CERT, attachment.KindCOMMITMENT_LETTER, attachment.KindSTUDY_PROOF,
	attachment.KindPAYMENT_PROOF, attachment.KindCHECKIN_READER_PHOTO, attachment.KindCHECKIN_LIVE_PHOTO,
	attachment.KindOTHER,
}
