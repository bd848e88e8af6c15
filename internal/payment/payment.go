// Package payment collects exam fees (DOMAIN.md step 6): online through a
// gateway, by bank transfer with a proof a reviewer confirms, or at the exam
// site. One payment may cover many enrollments (a company paying for its
// staff). It also keeps companies' invoice details.
//
// Payment states:
//
//	ONLINE:        CREATED → PAID (gateway notification) | CANCELLED (payer) | FAILED (gateway closed it)
//	BANK_TRANSFER: PENDING_CONFIRMATION → PAID | REJECTED (reviewer)
//	ONSITE:        PAID at once (recorded by the site operator)
//
// Every transition is one conditional UPDATE on the current state, so two
// racing requests (two reviewers, a repeated gateway callback, a cancel
// crossing a notification) cannot both apply. Enrollments follow through
// EnrollmentMarker: PENDING while a payment is open, PAID with it, UNPAID
// again when it is cancelled, rejected or fails.
package payment

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/attachment"
	"github.com/kaowu/kaowu/ent/enrollment"
	"github.com/kaowu/kaowu/ent/payment"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/authz"
	"github.com/kaowu/kaowu/internal/notify"
	"github.com/kaowu/kaowu/internal/txn"
	"github.com/kaowu/kaowu/internal/viewer"
)

// EnrollmentMarker moves enrollments' payment_status; internal/enrollment
// implements it. Each method must be ONE conditional UPDATE over all ids that
// fails, changing nothing, unless every id was in the expected state (this is
// what keeps two payments from claiming one enrollment):
//
//	MarkPaymentPending: status APPROVED and payment_status UNPAID → PENDING
//	MarkPaid:           payment_status PENDING → PAID, paid_at = at
//	MarkUnpaid:         payment_status PENDING → UNPAID
//
// MarkPaid also tells each enrollment's candidate (with the admission ticket
// number); the payment service tells only a payer who is none of them (a
// company), so nobody hears of one payment twice.
//
// The payment service calls them inside its transaction (carried by ctx) and
// under viewer.SystemContext: it has already decided the caller may do this,
// and a gateway notification has no viewer at all. *enrollment.Service
// implements it.
type EnrollmentMarker interface {
	MarkPaymentPending(ctx context.Context, ids []int) error
	MarkPaid(ctx context.Context, ids []int, at time.Time) error
	MarkUnpaid(ctx context.Context, ids []int) error
}

// Service implements payments and invoice details.
type Service struct {
	Client      *ent.Client
	Gateway     Gateway
	Enrollments EnrollmentMarker
	Notifier    *notify.Notifier
	Now         func() time.Time // default time.Now
	BaseURL     string           // kaowu's public URL, for the gateway's notify and return URLs
	Log         *slog.Logger     // default slog.Default()
}

// MaxBatch bounds the enrollments of one payment.
const MaxBatch = 500

// Notification kinds.
const (
	KindPaid     = "PAYMENT_PAID"
	KindRejected = "PAYMENT_REJECTED"
	KindFailed   = "PAYMENT_FAILED"
)

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

func (s *Service) db(ctx context.Context) *ent.Client { return txn.Client(ctx, s.Client) }

// StartOnline opens an online payment for the viewer's enrollments (a
// candidate's own, or a company's staff's) and returns it with the gateway
// URL to send the payer to. The enrollments are PENDING until the gateway
// notifies or the payer cancels.
func (s *Service) StartOnline(ctx context.Context, enrollmentIDs []int) (*ent.Payment, string, error) {
	v, err := authz.Require(ctx, "只有考生或单位可以在线缴费", viewer.Candidate, viewer.Company)
	if err != nil {
		return nil, "", err
	}
	if err := checkIDs(enrollmentIDs); err != nil {
		return nil, "", err
	}
	var p *ent.Payment
	var payURL string
	err = txn.WithTx(ctx, s.Client, func(ctx context.Context) error {
		amount, err := s.payable(ctx, v, enrollmentIDs)
		if err != nil {
			return err
		}
		if p, err = s.create(ctx, newPayment{
			payer: v.UserID, company: companyOf(v), method: payment.MethodONLINE, status: payment.StatusCREATED,
			amount: amount, enrollments: enrollmentIDs,
		}); err != nil {
			return err
		}
		if err := s.Enrollments.MarkPaymentPending(viewer.SystemContext(ctx), enrollmentIDs); err != nil {
			return err
		}
		payURL, err = s.createOrder(ctx, p, len(enrollmentIDs))
		return err
	})
	if err != nil {
		return nil, "", err
	}
	return p, payURL, nil
}

// ResumeOnline returns a new pay URL for the viewer's online payment that is
// still open (the payer closed the gateway's page before paying).
func (s *Service) ResumeOnline(ctx context.Context, paymentID int) (string, error) {
	v, err := authz.Require(ctx, "只有考生或单位可以在线缴费", viewer.Candidate, viewer.Company)
	if err != nil {
		return "", err
	}
	p, err := s.ownPayment(ctx, v, paymentID)
	if err != nil {
		return "", err
	}
	if p.Method != payment.MethodONLINE || p.Status != payment.StatusCREATED {
		return "", apperr.New(apperr.Conflict, "该缴费不是待支付的在线缴费")
	}
	n, err := s.db(ctx).Enrollment.Query().Where(enrollment.HasPaymentsWith(payment.ID(p.ID))).Count(viewer.SystemContext(ctx))
	if err != nil {
		return "", err
	}
	return s.createOrder(ctx, p, n)
}

func (s *Service) createOrder(ctx context.Context, p *ent.Payment, n int) (string, error) {
	base := strings.TrimRight(s.BaseURL, "/")
	payURL, err := s.Gateway.CreateOrder(ctx, Order{
		OrderNo: p.OrderNo, AmountCents: p.AmountCents,
		Subject:   fmt.Sprintf("安全生产考试报名费（%d项）", n),
		NotifyURL: base + "/payments/notify",
		ReturnURL: base + "/payments/return?order=" + p.OrderNo,
	})
	if err != nil {
		if ae, ok := apperr.As(err); ok {
			return "", ae // the gateway's own answer for people (e.g. online payment off)
		}
		return "", apperr.Wrap(err, apperr.Internal, "支付平台暂时无法下单，请稍后再试")
	}
	return payURL, nil
}

// SubmitBankTransfer records a bank transfer for the viewer's enrollments
// with the proof (an attachment of kind PAYMENT_PROOF the viewer uploaded);
// a reviewer confirms or rejects it.
func (s *Service) SubmitBankTransfer(ctx context.Context, enrollmentIDs []int, proofAttachmentID int) (*ent.Payment, error) {
	v, err := authz.Require(ctx, "只有考生或单位可以提交转账凭证", viewer.Candidate, viewer.Company)
	if err != nil {
		return nil, err
	}
	if err := checkIDs(enrollmentIDs); err != nil {
		return nil, err
	}
	if proofAttachmentID <= 0 {
		return nil, apperr.Input("proofAttachmentID", "请上传付款凭证")
	}
	var p *ent.Payment
	err = txn.WithTx(ctx, s.Client, func(ctx context.Context) error {
		sys := viewer.SystemContext(ctx)
		db := s.db(ctx)
		a, err := db.Attachment.Get(sys, proofAttachmentID)
		if ent.IsNotFound(err) || (err == nil && a.OwnerID != v.UserID) {
			return apperr.Input("proofAttachmentID", "付款凭证不存在或不是您上传的")
		} else if err != nil {
			return err
		}
		if a.Kind != attachment.KindPAYMENT_PROOF {
			return apperr.Input("proofAttachmentID", "请以“付款凭证”类型上传转账截图或回单")
		}
		used, err := db.Payment.Query().Where(payment.ProofAttachmentID(a.ID),
			payment.StatusIn(payment.StatusPENDING_CONFIRMATION, payment.StatusPAID)).Exist(sys)
		if err != nil {
			return err
		}
		if used {
			return apperr.New(apperr.Conflict, "该付款凭证已用于其他缴费").With("field", "proofAttachmentID")
		}
		amount, err := s.payable(ctx, v, enrollmentIDs)
		if err != nil {
			return err
		}
		if p, err = s.create(ctx, newPayment{
			payer: v.UserID, company: companyOf(v), method: payment.MethodBANK_TRANSFER, status: payment.StatusPENDING_CONFIRMATION,
			amount: amount, enrollments: enrollmentIDs, proof: &a.ID,
		}); err != nil {
			return err
		}
		return s.Enrollments.MarkPaymentPending(sys, enrollmentIDs)
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// Confirm accepts a bank transfer: the payment and its enrollments are paid.
func (s *Service) Confirm(ctx context.Context, paymentID int) (*ent.Payment, error) {
	v, err := authz.Require(ctx, "只有管理部门可以确认缴费", viewer.Reviewer, viewer.Admin)
	if err != nil {
		return nil, err
	}
	var p *ent.Payment
	err = txn.WithTx(ctx, s.Client, func(ctx context.Context) error {
		sys := viewer.SystemContext(ctx)
		db := s.db(ctx)
		if _, err := s.bankTransfer(ctx, paymentID); err != nil {
			return err
		}
		now := s.now()
		n, err := db.Payment.Update().Where(payment.ID(paymentID), payment.StatusEQ(payment.StatusPENDING_CONFIRMATION)).
			SetStatus(payment.StatusPAID).SetConfirmedByID(v.UserID).SetConfirmedAt(now).SetPaidAt(now).Save(sys)
		if err != nil {
			return err
		}
		if n == 0 {
			return apperr.New(apperr.Conflict, "该缴费已处理，无需重复确认")
		}
		if p, err = db.Payment.Get(sys, paymentID); err != nil {
			return err
		}
		return s.settle(ctx, p, now)
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// Reject refuses a bank transfer with a reason; its enrollments are unpaid
// again and may be paid anew.
func (s *Service) Reject(ctx context.Context, paymentID int, reason string) (*ent.Payment, error) {
	v, err := authz.Require(ctx, "只有管理部门可以驳回缴费", viewer.Reviewer, viewer.Admin)
	if err != nil {
		return nil, err
	}
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return nil, apperr.Input("reason", "驳回时必须填写原因")
	}
	if utf8.RuneCountInString(reason) > 500 {
		return nil, apperr.Input("reason", "原因不能超过500个字")
	}
	var p *ent.Payment
	err = txn.WithTx(ctx, s.Client, func(ctx context.Context) error {
		sys := viewer.SystemContext(ctx)
		db := s.db(ctx)
		if _, err := s.bankTransfer(ctx, paymentID); err != nil {
			return err
		}
		// confirmed_by/at name whoever decided, either way.
		n, err := db.Payment.Update().Where(payment.ID(paymentID), payment.StatusEQ(payment.StatusPENDING_CONFIRMATION)).
			SetStatus(payment.StatusREJECTED).SetReason(reason).SetConfirmedByID(v.UserID).SetConfirmedAt(s.now()).Save(sys)
		if err != nil {
			return err
		}
		if n == 0 {
			return apperr.New(apperr.Conflict, "该缴费已处理，不能驳回")
		}
		if p, err = db.Payment.Get(sys, paymentID); err != nil {
			return err
		}
		if err := s.release(ctx, p); err != nil {
			return err
		}
		return s.Notifier.Notify(ctx, p.PayerID, KindRejected, "缴费未通过确认",
			fmt.Sprintf("您提交的银行转账（订单%s，金额%s元）未通过确认。驳回原因：%s。请重新缴费。", p.OrderNo, Yuan(p.AmountCents), reason))
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// bankTransfer loads a payment a reviewer may decide on.
func (s *Service) bankTransfer(ctx context.Context, id int) (*ent.Payment, error) {
	p, err := s.db(ctx).Payment.Get(viewer.SystemContext(ctx), id)
	if ent.IsNotFound(err) {
		return nil, apperr.New(apperr.NotFound, "缴费记录不存在")
	} else if err != nil {
		return nil, err
	}
	if p.Method != payment.MethodBANK_TRANSFER {
		return nil, apperr.Input("id", "只有银行转账需要人工确认")
	}
	return p, nil
}

// RecordOnsite records fees paid at the exam site by one candidate, for
// enrollments seated at the operator's site. The payment is paid at once and
// names the operator as its confirmer.
func (s *Service) RecordOnsite(ctx context.Context, enrollmentIDs []int) (*ent.Payment, error) {
	v, err := authz.Require(ctx, "只有考点可以登记现场缴费", viewer.ExamSite)
	if err != nil {
		return nil, err
	}
	if v.OrgID == 0 {
		return nil, apperr.New(apperr.Forbidden, "您的账号未关联考点")
	}
	if err := checkIDs(enrollmentIDs); err != nil {
		return nil, err
	}
	var p *ent.Payment
	err = txn.WithTx(ctx, s.Client, func(ctx context.Context) error {
		sys := viewer.SystemContext(ctx)
		// The viewer's query: privacy already limits a site to its own enrollments.
		rows, err := s.db(ctx).Enrollment.Query().Where(enrollment.IDIn(enrollmentIDs...)).All(ctx)
		if err != nil {
			return err
		}
		atSite := func(e *ent.Enrollment) bool { return e.SiteID != nil && *e.SiteID == v.OrgID }
		amount, err := checkPayable(rows, enrollmentIDs, atSite, "报名记录不存在或未安排在本考点")
		if err != nil {
			return err
		}
		candidate, company := rows[0].CandidateID, rows[0].CompanyID
		for _, e := range rows[1:] {
			if e.CandidateID != candidate {
				return apperr.Input("enrollmentIDs", "一次只能为同一名考生登记现场缴费")
			}
			if !sameInt(e.CompanyID, company) {
				company = nil
			}
		}
		now := s.now()
		if p, err = s.create(ctx, newPayment{
			payer: candidate, company: company, method: payment.MethodONSITE, status: payment.StatusPAID,
			amount: amount, enrollments: enrollmentIDs, confirmedBy: &v.UserID, at: now,
		}); err != nil {
			return err
		}
		// UNPAID → PENDING → PAID: the same guarded steps as every other path.
		if err := s.Enrollments.MarkPaymentPending(sys, enrollmentIDs); err != nil {
			return err
		}
		return s.settle(ctx, p, now)
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// Cancel withdraws the viewer's online payment that has not been paid; its
// enrollments are unpaid again.
func (s *Service) Cancel(ctx context.Context, paymentID int) (*ent.Payment, error) {
	v, err := authz.Require(ctx, "只有缴费人可以取消缴费", viewer.Candidate, viewer.Company)
	if err != nil {
		return nil, err
	}
	var p *ent.Payment
	err = txn.WithTx(ctx, s.Client, func(ctx context.Context) error {
		sys := viewer.SystemContext(ctx)
		db := s.db(ctx)
		if _, err := s.ownPayment(ctx, v, paymentID); err != nil {
			return err
		}
		n, err := db.Payment.Update().Where(payment.ID(paymentID), payment.StatusEQ(payment.StatusCREATED)).
			SetStatus(payment.StatusCANCELLED).Save(sys)
		if err != nil {
			return err
		}
		if n == 0 {
			return apperr.New(apperr.Conflict, "该缴费已支付或已处理，不能取消")
		}
		if p, err = db.Payment.Get(sys, paymentID); err != nil {
			return err
		}
		return s.release(ctx, p)
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// ownPayment loads a payment the viewer made (or, for a company, one its
// company made).
func (s *Service) ownPayment(ctx context.Context, v *viewer.Viewer, id int) (*ent.Payment, error) {
	p, err := s.db(ctx).Payment.Get(ctx, id) // privacy filters to the viewer's own
	if ent.IsNotFound(err) {
		return nil, apperr.New(apperr.NotFound, "缴费记录不存在")
	} else if err != nil {
		return nil, err
	}
	mine := p.PayerID == v.UserID || (v.Role == viewer.Company && v.OrgID != 0 && sameInt(p.CompanyID, &v.OrgID))
	if !mine {
		return nil, apperr.New(apperr.NotFound, "缴费记录不存在")
	}
	return p, nil
}

// settle finishes a payment that has just become PAID: its enrollments are
// paid and the people waiting are told (after commit, by the notifier):
// candidates by MarkPaid, a payer who is not one of them here.
func (s *Service) settle(ctx context.Context, p *ent.Payment, at time.Time) error {
	sys := viewer.SystemContext(ctx)
	rows, err := s.db(ctx).Enrollment.Query().Where(enrollment.HasPaymentsWith(payment.ID(p.ID))).All(sys)
	if err != nil {
		return err
	}
	ids := make([]int, len(rows))
	for i, e := range rows {
		ids[i] = e.ID
	}
	if err := s.Enrollments.MarkPaid(sys, ids, at); err != nil {
		return err
	}
	if slices.ContainsFunc(rows, func(e *ent.Enrollment) bool { return e.CandidateID == p.PayerID }) {
		return nil // MarkPaid has told the payer
	}
	return s.Notifier.Notify(ctx, p.PayerID, KindPaid, "缴费成功",
		fmt.Sprintf("订单%s已缴费成功，金额%s元，共%d项报名。", p.OrderNo, Yuan(p.AmountCents), len(ids)))
}

// release frees the enrollments of a payment that will not be paid.
func (s *Service) release(ctx context.Context, p *ent.Payment) error {
	sys := viewer.SystemContext(ctx)
	ids, err := s.db(ctx).Enrollment.Query().Where(enrollment.HasPaymentsWith(payment.ID(p.ID))).IDs(sys)
	if err != nil {
		return err
	}
	return s.Enrollments.MarkUnpaid(sys, ids)
}

type newPayment struct {
	payer       int
	company     *int
	method      payment.Method
	status      payment.Status
	amount      int
	enrollments []int
	proof       *int
	confirmedBy *int
	at          time.Time // paid and confirmed at (ONSITE)
}

func (s *Service) create(ctx context.Context, n newPayment) (*ent.Payment, error) {
	no, err := NewOrderNo(s.now(), n.method)
	if err != nil {
		return nil, err
	}
	c := s.db(ctx).Payment.Create().SetPayerID(n.payer).SetNillableCompanyID(n.company).SetMethod(n.method).
		SetStatus(n.status).SetAmountCents(n.amount).SetOrderNo(no).AddEnrollmentIDs(n.enrollments...).
		SetNillableProofAttachmentID(n.proof).SetNillableConfirmedByID(n.confirmedBy)
	if n.status == payment.StatusPAID {
		c.SetPaidAt(n.at).SetConfirmedAt(n.at)
	}
	return c.Save(viewer.SystemContext(ctx))
}

// payable checks that the viewer (a candidate or a company) may pay for every
// enrollment and returns the total fee.
func (s *Service) payable(ctx context.Context, v *viewer.Viewer, ids []int) (int, error) {
	// The viewer's query: privacy already limits it to their own enrollments;
	// the explicit check below does not rely on that alone.
	rows, err := s.db(ctx).Enrollment.Query().Where(enrollment.IDIn(ids...)).All(ctx)
	if err != nil {
		return 0, err
	}
	own := func(e *ent.Enrollment) bool { return e.CandidateID == v.UserID }
	if v.Role == viewer.Company {
		own = func(e *ent.Enrollment) bool { return v.OrgID != 0 && sameInt(e.CompanyID, &v.OrgID) }
	}
	return checkPayable(rows, ids, own, "报名记录不存在或不属于您")
}

// checkPayable checks every requested enrollment was found, belongs, is
// approved and is unpaid, and sums the fees snapshotted at enrollment.
func checkPayable(rows []*ent.Enrollment, ids []int, belongs func(*ent.Enrollment) bool, notFound string) (int, error) {
	byID := make(map[int]*ent.Enrollment, len(rows))
	for _, e := range rows {
		byID[e.ID] = e
	}
	amount := 0
	for _, id := range ids {
		e, ok := byID[id]
		if !ok || !belongs(e) {
			// The same answer for missing and foreign: no probing others' records.
			return 0, apperr.New(apperr.NotFound, notFound).With("field", "enrollmentIDs").With("enrollmentID", id)
		}
		if e.Status != enrollment.StatusAPPROVED {
			return 0, apperr.Input("enrollmentIDs", "报名尚未审核通过，不能缴费").With("enrollmentID", id)
		}
		switch e.PaymentStatus {
		case enrollment.PaymentStatusPAID:
			return 0, apperr.New(apperr.Conflict, "该报名已缴费，无需重复缴费").With("field", "enrollmentIDs").With("enrollmentID", id)
		case enrollment.PaymentStatusPENDING:
			return 0, apperr.New(apperr.Conflict, "该报名已有待支付或待确认的缴费，请先完成或取消").With("field", "enrollmentIDs").With("enrollmentID", id)
		}
		amount += e.FeeCents
	}
	if amount <= 0 {
		return 0, apperr.Input("enrollmentIDs", "应缴金额为0，无需缴费")
	}
	return amount, nil
}

func checkIDs(ids []int) error {
	if len(ids) == 0 {
		return apperr.Input("enrollmentIDs", "请选择要缴费的报名")
	}
	if len(ids) > MaxBatch {
		return apperr.Input("enrollmentIDs", fmt.Sprintf("一次最多为%d项报名缴费", MaxBatch))
	}
	seen := make(map[int]bool, len(ids))
	for _, id := range ids {
		if seen[id] {
			return apperr.Input("enrollmentIDs", "报名记录重复").With("enrollmentID", id)
		}
		seen[id] = true
	}
	return nil
}

func companyOf(v *viewer.Viewer) *int {
	if v.Role == viewer.Company && v.OrgID != 0 {
		id := v.OrgID
		return &id
	}
	return nil
}

func sameInt(a, b *int) bool { return a != nil && b != nil && *a == *b }

// China Standard Time, fixed: order numbers must not depend on tzdata.
var cst = time.FixedZone("CST", 8*3600)

const orderAlphabet = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ" // no I or O: read over the phone

// NewOrderNo returns a new order number: "KW", a method letter (O online,
// B bank transfer, S on site), the time in China to the second
// (yyyyMMddHHmmss) and 12 random characters — 29 characters, letters and
// digits only, within every gateway's merchant order-id rules (WeChat Pay
// allows 32). The random part makes collisions negligible (34^12 per
// second); the unique index refuses the rest.
func NewOrderNo(now time.Time, m payment.Method) (string, error) {
	letter := map[payment.Method]byte{payment.MethodONLINE: 'O', payment.MethodBANK_TRANSFER: 'B', payment.MethodONSITE: 'S'}[m]
	if letter == 0 {
		return "", fmt.Errorf("payment: unknown method %q", m)
	}
	var b strings.Builder
	b.WriteString("KW")
	b.WriteByte(letter)
	b.WriteString(now.In(cst).Format("20060102150405"))
	buf := make([]byte, 12)
	if _, err := rand.Read(buf); err != nil {
		return "", err
	}
	for _, x := range buf {
		// 256 % 34 != 0: reject the top to stay uniform.
		for x >= 238 {
			var one [1]byte
			if _, err := rand.Read(one[:]); err != nil {
				return "", err
			}
			x = one[0]
		}
		b.WriteByte(orderAlphabet[int(x)%len(orderAlphabet)])
	}
	return b.String(), nil
}
