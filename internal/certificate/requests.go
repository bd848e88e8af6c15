package certificate

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/attachment"
	entcert "github.com/kaowu/kaowu/ent/certificate"
	"github.com/kaowu/kaowu/ent/certificaterequest"
	"github.com/kaowu/kaowu/ent/profile"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/authz"
	"github.com/kaowu/kaowu/internal/txn"
	"github.com/kaowu/kaowu/internal/viewer"
)

// Limits of request input.
const (
	MaxAttachments   = 10
	MaxStatementRune = 1000
	MaxReasonRunes   = 500
	MaxEmployerRunes = 128
)

// Messages users see; tests compare some exactly.
const (
	MsgCancelled      = "证书已注销，不能再发起任何申请"
	MsgExpired        = "证书已过有效期，不能再发起申请；请重新参加考试取得证书"
	MsgPendingExists  = "该证书已有待审核的申请，请等待考点审核，或先撤销该申请"
	MsgAlreadyWithdrn = "该申请已撤销"
)

var kindLabels = map[certificaterequest.Kind]string{
	certificaterequest.KindCHANGE:       "变更",
	certificaterequest.KindRENEWAL:      "延续",
	certificaterequest.KindCANCELLATION: "注销",
}

// ChangeInput is a change request (变更).
type ChangeInput struct {
	RegionCode    string // the new region (归属区域); must exist
	Employer      string // the new employer's name
	LeftJob       bool   // whether the holder left the previous employer
	AttachmentIDs []int  // the holder's own uploads proving it; at least one
}

// holderCert loads a certificate of the calling holder and checks that a
// request may be started on it now.
func (s *Service) holderCert(ctx context.Context, id int) (*viewer.Viewer, *ent.Certificate, error) {
	if _, err := authz.Require(ctx, "只有证书持有人可以提出申请", viewer.Candidate); err != nil {
		return nil, nil, err
	}
	v, c, err := s.visible(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if err := s.startable(ctx, c); err != nil {
		return nil, nil, err
	}
	return v, c, nil
}

// startable: not cancelled, not expired, no request pending.
func (s *Service) startable(ctx context.Context, c *ent.Certificate) error {
	switch effective(c, s.now()) {
	case entcert.StatusCANCELLED:
		return apperr.New(apperr.Conflict, MsgCancelled).With("reason", "CANCELLED")
	case entcert.StatusEXPIRED:
		return apperr.New(apperr.Conflict, MsgExpired).With("reason", "EXPIRED")
	}
	n, err := s.db(ctx).CertificateRequest.Query().
		Where(certificaterequest.CertificateID(c.ID), certificaterequest.StatusEQ(certificaterequest.StatusPENDING)).
		Count(viewer.SystemContext(ctx))
	if err != nil {
		return err
	}
	if n > 0 {
		return apperr.New(apperr.Conflict, MsgPendingExists).With("reason", "PENDING_EXISTS")
	}
	return nil
}

// create inserts a PENDING request; the partial unique index turns a racing
// second request into the same CONFLICT as the check before it.
func (s *Service) create(ctx context.Context, cr *ent.CertificateRequestCreate) (*ent.CertificateRequest, error) {
	r, err := cr.SetStatus(certificaterequest.StatusPENDING).SetSubmittedAt(s.now().UTC()).Save(viewer.SystemContext(ctx))
	if ent.IsConstraintError(err) {
		return nil, apperr.Wrap(err, apperr.Conflict, MsgPendingExists).With("reason", "PENDING_EXISTS")
	}
	return r, err
}

func (s *Service) newRequest(c *ent.Client, cert *ent.Certificate, kind certificaterequest.Kind) *ent.CertificateRequestCreate {
	return c.CertificateRequest.Create().SetCertificateID(cert.ID).SetHolderID(cert.HolderID).
		SetSiteID(cert.SiteID).SetKind(kind)
}

// RequestChange asks to change the certificate's region and employer.
func (s *Service) RequestChange(ctx context.Context, certID int, in ChangeInput) (*ent.CertificateRequest, error) {
	var out *ent.CertificateRequest
	err := txn.WithTx(ctx, s.Client, func(ctx context.Context) error {
		v, cert, err := s.holderCert(ctx, certID)
		if err != nil {
			return err
		}
		c := s.db(ctx)
		code := strings.TrimSpace(in.RegionCode)
		if code == "" {
			return apperr.Input("regionCode", "请选择变更后的归属区域")
		}
		reg, err := regionByCode(ctx, c, code)
		if err != nil {
			return err
		}
		if reg == nil {
			return apperr.Input("regionCode", "所选归属区域不存在")
		}
		employer := strings.TrimSpace(in.Employer)
		switch {
		case employer == "":
			return apperr.Input("employer", "请填写变更后的单位名称")
		case utf8.RuneCountInString(employer) > MaxEmployerRunes:
			return apperr.Input("employer", fmt.Sprintf("单位名称不能超过%d个字", MaxEmployerRunes))
		case employer == cert.Employer && reg.Code == cert.RegionCode:
			return apperr.Input("employer", "变更后的归属区域和单位与证书现有信息相同，无需变更")
		}
		if err := s.checkAttachments(ctx, c, v.UserID, in.AttachmentIDs); err != nil {
			return err
		}
		out, err = s.create(ctx, s.newRequest(c, cert, certificaterequest.KindCHANGE).
			SetNewRegionCode(reg.Code).SetNewRegionName(reg.Name).SetNewEmployer(employer).SetLeftJob(in.LeftJob).
			SetOldRegionName(cert.RegionName).SetOldEmployer(cert.Employer).SetAttachmentIds(slices.Clone(in.AttachmentIDs)))
		return err
	})
	return out, err
}

// checkAttachments: 1–MaxAttachments distinct attachments owned by the holder.
func (s *Service) checkAttachments(ctx context.Context, c *ent.Client, holderID int, ids []int) error {
	if len(ids) == 0 {
		return apperr.Input("attachmentIDs", "请上传变更所需的证明材料")
	}
	if len(ids) > MaxAttachments {
		return apperr.Input("attachmentIDs", fmt.Sprintf("附件不能超过%d个", MaxAttachments))
	}
	seen := map[int]bool{}
	for _, id := range ids {
		if seen[id] {
			return apperr.Input("attachmentIDs", fmt.Sprintf("附件 %d 重复", id))
		}
		seen[id] = true
	}
	found, err := c.Attachment.Query().Where(attachment.IDIn(ids...), attachment.OwnerID(holderID)).
		IDs(viewer.SystemContext(ctx))
	if err != nil {
		return err
	}
	for _, id := range ids {
		if !slices.Contains(found, id) {
			return apperr.Input("attachmentIDs", fmt.Sprintf("附件 %d 不存在或不是您上传的", id)).With("attachmentID", id)
		}
	}
	return nil
}

// RequestRenewal asks to extend validity; it opens RenewalWindowMonths
// before expiry: earlier, FORBIDDEN with extensions reason RENEWAL_NOT_OPEN
// and opensAt.
func (s *Service) RequestRenewal(ctx context.Context, certID int) (*ent.CertificateRequest, error) {
	var out *ent.CertificateRequest
	err := txn.WithTx(ctx, s.Client, func(ctx context.Context) error {
		_, cert, err := s.holderCert(ctx, certID)
		if err != nil {
			return err
		}
		if opens := RenewalOpensAt(cert.ValidUntil); s.now().Before(opens) {
			e := apperr.New(apperr.Conflict, fmt.Sprintf("证书延续将于 %s 起开放申请（有效期届满前%d个月内）", date(opens), RenewalWindowMonths)).
				With("reason", "RENEWAL_NOT_OPEN").With("opensAt", opens.Format(time.RFC3339))
			e.Field = "certificateID"
			return e
		}
		out, err = s.create(ctx, s.newRequest(s.db(ctx), cert, certificaterequest.KindRENEWAL).
			SetOldValidUntil(cert.ValidUntil))
		return err
	})
	return out, err
}

// RequestCancellation asks to cancel (注销) the certificate, with the
// holder's voluntary statement.
func (s *Service) RequestCancellation(ctx context.Context, certID int, statement string) (*ent.CertificateRequest, error) {
	statement = strings.TrimSpace(statement)
	if statement == "" {
		return nil, apperr.Input("statement", "请填写个人自愿注销说明")
	}
	if utf8.RuneCountInString(statement) > MaxStatementRune {
		return nil, apperr.Input("statement", fmt.Sprintf("说明不能超过%d个字", MaxStatementRune))
	}
	var out *ent.CertificateRequest
	err := txn.WithTx(ctx, s.Client, func(ctx context.Context) error {
		_, cert, err := s.holderCert(ctx, certID)
		if err != nil {
			return err
		}
		out, err = s.create(ctx, s.newRequest(s.db(ctx), cert, certificaterequest.KindCANCELLATION).SetStatement(statement))
		return err
	})
	return out, err
}

// visibleRequest loads a request the viewer may see (holder, issuing site, ADMIN).
func (s *Service) visibleRequest(ctx context.Context, id int) (*viewer.Viewer, *ent.CertificateRequest, error) {
	v, err := authz.Require(ctx, "您的账号不能查看证书申请", viewer.Candidate, viewer.ExamSite, viewer.Admin)
	if err != nil {
		return nil, nil, err
	}
	if id <= 0 {
		return nil, nil, apperr.Input("requestID", "申请编号无效")
	}
	notFound := apperr.New(apperr.NotFound, "申请不存在或无权查看")
	r, err := s.db(ctx).CertificateRequest.Get(ctx, id)
	if ent.IsNotFound(err) {
		return nil, nil, notFound
	} else if err != nil {
		return nil, nil, err
	}
	if !mayAccess(v, r.HolderID, r.SiteID) {
		return nil, nil, notFound
	}
	return v, r, nil
}

// decided is the CONFLICT for acting on a request no longer PENDING; it
// names the outcome (and the reviewer's reason).
func decided(r *ent.CertificateRequest, action string) *apperr.Error {
	label := kindLabels[r.Kind]
	var msg string
	switch r.Status {
	case certificaterequest.StatusWITHDRAWN:
		msg = fmt.Sprintf("该%s申请已撤销，不能%s", label, action)
	case certificaterequest.StatusAPPROVED:
		msg = fmt.Sprintf("该%s申请已于 %s 审核通过，不能%s", label, optDate(r.ReviewedAt), action)
	default:
		msg = fmt.Sprintf("该%s申请已于 %s 审核不通过（原因：%s），不能%s", label, optDate(r.ReviewedAt), r.ReviewReason, action)
	}
	return apperr.New(apperr.Conflict, msg).With("status", string(r.Status))
}

func optDate(t *time.Time) string {
	if t == nil {
		return ""
	}
	return date(*t)
}

// Withdraw withdraws the holder's PENDING request. Once the site has
// reviewed it, CONFLICT naming the outcome and the reason.
func (s *Service) Withdraw(ctx context.Context, requestID int) (*ent.CertificateRequest, error) {
	if _, err := authz.Require(ctx, "只有申请人可以撤销申请", viewer.Candidate); err != nil {
		return nil, err
	}
	var out *ent.CertificateRequest
	err := txn.WithTx(ctx, s.Client, func(ctx context.Context) error {
		_, r, err := s.visibleRequest(ctx, requestID)
		if err != nil {
			return err
		}
		if r.Status != certificaterequest.StatusPENDING {
			return decided(r, "撤销")
		}
		c := s.db(ctx)
		sys := viewer.SystemContext(ctx)
		n, err := c.CertificateRequest.Update().
			Where(certificaterequest.ID(r.ID), certificaterequest.StatusEQ(certificaterequest.StatusPENDING)).
			SetStatus(certificaterequest.StatusWITHDRAWN).SetWithdrawnAt(s.now().UTC()).Save(sys)
		if err != nil {
			return err
		}
		now, err := c.CertificateRequest.Get(sys, r.ID)
		if err != nil {
			return err
		}
		if n == 0 { // reviewed in between
			return decided(now, "撤销")
		}
		out = now
		return nil
	})
	return out, err
}

// Review approves or rejects a PENDING request, for the EXAM_SITE that
// issued the certificate; rejection needs a reason. Approval applies it:
// CHANGE sets employer and region (and the profile's company name) and bumps
// the revision, RENEWAL extends validity by the validity period from the
// old expiry and bumps the revision, CANCELLATION cancels for good. The
// holder is notified.
func (s *Service) Review(ctx context.Context, requestID int, approve bool, reason string) (*ent.CertificateRequest, error) {
	v, err := authz.Require(ctx, "只有发证考点可以审核证书申请", viewer.ExamSite)
	if err != nil {
		return nil, err
	}
	reason = strings.TrimSpace(reason)
	if !approve && reason == "" {
		return nil, apperr.Input("reason", "审核不通过时必须填写原因")
	}
	if utf8.RuneCountInString(reason) > MaxReasonRunes {
		return nil, apperr.Input("reason", fmt.Sprintf("原因不能超过%d个字", MaxReasonRunes))
	}
	var out *ent.CertificateRequest
	err = txn.WithTx(ctx, s.Client, func(ctx context.Context) error {
		_, r, err := s.visibleRequest(ctx, requestID)
		if err != nil {
			return err
		}
		if r.Status != certificaterequest.StatusPENDING {
			return decided(r, "再审核")
		}
		c := s.db(ctx)
		sys := viewer.SystemContext(ctx)
		now := s.now()
		status := certificaterequest.StatusREJECTED
		if approve {
			status = certificaterequest.StatusAPPROVED
		}
		n, err := c.CertificateRequest.Update().
			Where(certificaterequest.ID(r.ID), certificaterequest.StatusEQ(certificaterequest.StatusPENDING)).
			SetStatus(status).SetReviewedAt(now.UTC()).SetReviewerID(v.UserID).SetReviewReason(reason).Save(sys)
		if err != nil {
			return err
		}
		if n == 0 {
			again, err := c.CertificateRequest.Get(sys, r.ID)
			if err != nil {
				return err
			}
			return decided(again, "再审核")
		}
		cert, err := c.Certificate.Get(sys, r.CertificateID)
		if err != nil {
			return err
		}
		if approve {
			if err := s.apply(ctx, c, r, cert, now); err != nil {
				return err
			}
		}
		if err := s.notifyReview(ctx, r, cert, approve, reason); err != nil {
			return err
		}
		out, err = c.CertificateRequest.Get(sys, r.ID)
		return err
	})
	return out, err
}

// apply carries out an approved request on its certificate with updates
// conditional on the revision read, so nothing approved is lost to a
// concurrent change.
func (s *Service) apply(ctx context.Context, c *ent.Client, r *ent.CertificateRequest, cert *ent.Certificate, now time.Time) error {
	sys := viewer.SystemContext(ctx)
	upd := c.Certificate.Update().Where(entcert.ID(cert.ID), entcert.Revision(cert.Revision))
	st := effective(cert, now)
	switch r.Kind {
	case certificaterequest.KindCHANGE:
		if st != entcert.StatusVALID {
			return apperr.New(apperr.Conflict, "证书已过期或已注销，不能批准变更，请审核不通过")
		}
		upd.SetEmployer(r.NewEmployer).SetRegionCode(r.NewRegionCode).SetRegionName(r.NewRegionName).
			AddRevision(1).SetChangedAt(now.UTC())
	case certificaterequest.KindRENEWAL:
		// The request was made inside the window, before expiry; an expiry
		// marked while it waited is undone by the renewal.
		if st == entcert.StatusCANCELLED {
			return apperr.New(apperr.Conflict, "证书已注销，不能批准延续")
		}
		until := addMonths(cert.ValidUntil, 12*s.years())
		upd.SetValidUntil(until.UTC()).AddRevision(1).SetRenewedAt(now.UTC()).
			SetStatus(entcert.StatusVALID).ClearExpiredAt()
		if _, err := c.CertificateRequest.UpdateOneID(r.ID).SetNewValidUntil(until.UTC()).Save(sys); err != nil {
			return err
		}
	case certificaterequest.KindCANCELLATION:
		if cert.Status == entcert.StatusCANCELLED {
			return apperr.New(apperr.Conflict, "证书已注销")
		}
		upd.SetStatus(entcert.StatusCANCELLED).SetCancelledAt(now.UTC()).AddRevision(1)
	}
	n, err := upd.Save(sys)
	if err != nil {
		return err
	}
	if n == 0 {
		return apperr.New(apperr.Conflict, "证书信息刚刚发生了变化，请刷新后重新审核")
	}
	if r.Kind == certificaterequest.KindCHANGE {
		return s.updateProfile(ctx, c, r)
	}
	return nil
}

// updateProfile carries an approved change into the holder's profile, as
// the users' manual has it ("单位名称变更为变更后的名称"). A holder who left
// the job is also unlinked from the old company's organisation, so it no
// longer reads their profile.
func (s *Service) updateProfile(ctx context.Context, c *ent.Client, r *ent.CertificateRequest) error {
	sys := viewer.SystemContext(ctx)
	upd := c.Profile.Update().Where(profile.UserID(r.HolderID)).SetCompanyName(r.NewEmployer)
	if r.LeftJob != nil && *r.LeftJob {
		upd.ClearCompanyID()
	}
	_, err := upd.Save(sys)
	return err
}

func (s *Service) notifyReview(ctx context.Context, r *ent.CertificateRequest, cert *ent.Certificate, approve bool, reason string) error {
	label := kindLabels[r.Kind]
	word := "不通过"
	if approve {
		word = "通过"
	}
	body := fmt.Sprintf("您对证书 %s（%s）提出的%s申请审核%s。", cert.Number, cert.SubjectName, label, word)
	if reason != "" {
		body += "审核意见：" + reason + "。"
	}
	return s.Notifier.Notify(ctx, r.HolderID, KindReviewed, fmt.Sprintf("证书%s申请审核%s", label, word), body)
}

// Requests lists the requests of a certificate the viewer may see, newest first.
func (s *Service) Requests(ctx context.Context, certID int) ([]*ent.CertificateRequest, error) {
	if _, _, err := s.visible(ctx, certID); err != nil {
		return nil, err
	}
	return s.db(ctx).CertificateRequest.Query().Where(certificaterequest.CertificateID(certID)).
		Order(ent.Desc(certificaterequest.FieldSubmittedAt), ent.Desc(certificaterequest.FieldID)).
		All(viewer.SystemContext(ctx))
}

// PendingRequests lists PENDING requests, oldest first: the EXAM_SITE's own
// (its review queue), or all for ADMIN.
func (s *Service) PendingRequests(ctx context.Context) ([]*ent.CertificateRequest, error) {
	if _, err := authz.Require(ctx, "只有考点可以查看待审核的证书申请", viewer.ExamSite, viewer.Admin); err != nil {
		return nil, err
	}
	return s.db(ctx).CertificateRequest.Query().Where(certificaterequest.StatusEQ(certificaterequest.StatusPENDING)).
		Order(certificaterequest.BySubmittedAt(), certificaterequest.ByID()).All(ctx) // privacy: the site's own
}

// RequestAttachments returns the attachments of a request the viewer may
// see (the reviewing site included, which Attachment's own policy would
// not allow); sign their URLs with profile.Service.SignedURL.
func (s *Service) RequestAttachments(ctx context.Context, requestID int) ([]*ent.Attachment, error) {
	_, r, err := s.visibleRequest(ctx, requestID)
	if err != nil {
		return nil, err
	}
	if len(r.AttachmentIds) == 0 {
		return []*ent.Attachment{}, nil
	}
	return s.db(ctx).Attachment.Query().Where(attachment.IDIn(r.AttachmentIds...), attachment.OwnerID(r.HolderID)).
		Order(attachment.ByID()).All(viewer.SystemContext(ctx))
}
