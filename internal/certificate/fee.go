package certificate

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kaowu/kaowu/ent"
	entcert "github.com/kaowu/kaowu/ent/certificate"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/authz"
	"github.com/kaowu/kaowu/internal/txn"
	"github.com/kaowu/kaowu/internal/viewer"
)

// MaxFeeCents bounds a recorded certificate fee (10,000 yuan).
const MaxFeeCents = 1_000_000

// clockSkew is how far in the future a recorded time may lie (a site PC's
// clock a little ahead of the server's).
const clockSkew = 5 * time.Minute

// FeeInput is a certificate fee payment (制证缴费) taken at the site.
type FeeInput struct {
	AmountCents int
	Method      entcert.FeeMethod
	PaidAt      time.Time // zero: now
}

// siteCert loads a certificate for the EXAM_SITE that issued it.
func (s *Service) siteCert(ctx context.Context, id int, forbidden string) (*viewer.Viewer, *ent.Certificate, error) {
	if _, err := authz.Require(ctx, forbidden, viewer.ExamSite); err != nil {
		return nil, nil, err
	}
	return s.visible(ctx, id)
}

// RecordFee records the certificate fee paid at the issuing site, once.
func (s *Service) RecordFee(ctx context.Context, certID int, in FeeInput) (*ent.Certificate, error) {
	now := s.now()
	switch {
	case in.AmountCents < 0 || in.AmountCents > MaxFeeCents:
		return nil, apperr.Input("amountCents", fmt.Sprintf("金额应在 0 至 %d 元之间", MaxFeeCents/100))
	case entcert.FeeMethodValidator(in.Method) != nil:
		return nil, apperr.Input("method", "请选择缴费方式")
	case in.PaidAt.After(now.Add(clockSkew)):
		return nil, apperr.Input("paidAt", "缴费时间不能晚于当前时间")
	}
	if in.PaidAt.IsZero() {
		in.PaidAt = now
	}
	var out *ent.Certificate
	err := txn.WithTx(ctx, s.Client, func(ctx context.Context) error {
		v, cert, err := s.siteCert(ctx, certID, "只有发证考点可以登记制证缴费")
		if err != nil {
			return err
		}
		if cert.Status == entcert.StatusCANCELLED {
			return apperr.New(apperr.Conflict, "证书已注销，不能登记缴费")
		}
		if cert.FeePaidAt != nil {
			return feeTwice(cert)
		}
		c := s.db(ctx)
		sys := viewer.SystemContext(ctx)
		n, err := c.Certificate.Update().Where(entcert.ID(cert.ID), entcert.FeePaidAtIsNil()).
			SetFeeCents(in.AmountCents).SetFeeMethod(in.Method).SetFeePaidAt(in.PaidAt.UTC()).
			SetFeeRecordedByID(v.UserID).Save(sys)
		if err != nil {
			return err
		}
		if out, err = c.Certificate.Get(sys, cert.ID); err != nil {
			return err
		}
		if n == 0 {
			return feeTwice(out)
		}
		return nil
	})
	return out, err
}

func feeTwice(c *ent.Certificate) error {
	if c.FeePaidAt == nil {
		return apperr.New(apperr.Conflict, "证书状态刚刚发生了变化，请刷新后重试")
	}
	return apperr.Newf(apperr.Conflict, "该证书的制证费已于 %s 登记，不能重复登记", date(*c.FeePaidAt))
}

// RecordCollection records that the certificate was handed over at the
// issuing site (证书发放登记): to whom and when, once, after the fee.
func (s *Service) RecordCollection(ctx context.Context, certID int, recipient string, collectedAt time.Time) (*ent.Certificate, error) {
	now := s.now()
	recipient = strings.TrimSpace(recipient)
	switch {
	case recipient == "":
		return nil, apperr.Input("recipient", "请填写领取人姓名")
	case utf8.RuneCountInString(recipient) > 64:
		return nil, apperr.Input("recipient", "领取人姓名不能超过64个字")
	case collectedAt.After(now.Add(clockSkew)):
		return nil, apperr.Input("collectedAt", "领取时间不能晚于当前时间")
	}
	if collectedAt.IsZero() {
		collectedAt = now
	}
	var out *ent.Certificate
	err := txn.WithTx(ctx, s.Client, func(ctx context.Context) error {
		v, cert, err := s.siteCert(ctx, certID, "只有发证考点可以登记证书领取")
		if err != nil {
			return err
		}
		switch {
		case cert.Status == entcert.StatusCANCELLED:
			return apperr.New(apperr.Conflict, "证书已注销，不能登记领取")
		case cert.CollectedAt != nil:
			return collectedTwice(cert)
		case cert.FeePaidAt == nil:
			return apperr.New(apperr.Conflict, "请先登记制证缴费，再登记证书领取")
		}
		c := s.db(ctx)
		sys := viewer.SystemContext(ctx)
		n, err := c.Certificate.Update().
			Where(entcert.ID(cert.ID), entcert.CollectedAtIsNil(), entcert.FeePaidAtNotNil()).
			SetCollectedBy(recipient).SetCollectedAt(collectedAt.UTC()).SetCollectionRecordedByID(v.UserID).Save(sys)
		if err != nil {
			return err
		}
		if out, err = c.Certificate.Get(sys, cert.ID); err != nil {
			return err
		}
		if n == 0 {
			return collectedTwice(out)
		}
		return nil
	})
	return out, err
}

func collectedTwice(c *ent.Certificate) error {
	if c.CollectedAt == nil {
		return apperr.New(apperr.Conflict, "证书状态刚刚发生了变化，请刷新后重试")
	}
	return apperr.Newf(apperr.Conflict, "该证书已于 %s 由 %s 领取，不能重复登记", date(*c.CollectedAt), c.CollectedBy)
}
