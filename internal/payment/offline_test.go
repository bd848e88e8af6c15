package payment_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/attachment"
	"github.com/kaowu/kaowu/ent/enrollment"
	"github.com/kaowu/kaowu/ent/notification"
	"github.com/kaowu/kaowu/ent/payment"
	"github.com/kaowu/kaowu/internal/apperr"
	paysvc "github.com/kaowu/kaowu/internal/payment"
	"github.com/kaowu/kaowu/internal/testenv"
)

func TestBankTransfer(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, dbURL string) {
		f := newFx(t, dbURL)

		t.Run("the proof must be the payer's own payment proof", func(t *testing.T) {
			f := f.sub(t)
			c, other := f.candidate(), f.candidate()
			e := f.enroll(c, 6000)
			theirs := f.attachment(other, attachment.KindPAYMENT_PROOF)
			photo := f.attachment(c, attachment.KindID_PHOTO)
			before := f.snap()
			for _, proof := range []int{0, -1, theirs.ID, photo.ID, 1 << 40} {
				_, err := f.svc.SubmitBankTransfer(f.as(c), ids(e), proof)
				wantField(t, err, apperr.BadInput, "proofAttachmentID")
			}
			_, err := f.svc.SubmitBankTransfer(f.as(c), nil, photo.ID)
			wantField(t, err, apperr.BadInput, "enrollmentIDs")
			f.unchanged(before)
			proof := f.attachment(c, attachment.KindPAYMENT_PROOF)
			foreign := f.enroll(other, 6000)
			before = f.snap()
			_, err = f.svc.SubmitBankTransfer(f.as(c), ids(foreign), proof.ID)
			wantCode(t, err, apperr.NotFound)
			_, err = f.svc.SubmitBankTransfer(f.as(f.reviewer), ids(e), proof.ID)
			wantCode(t, err, apperr.Forbidden)
			_, err = f.svc.SubmitBankTransfer(f.ctx, ids(e), proof.ID)
			wantCode(t, err, apperr.Unauthenticated)
			f.unchanged(before)
		})

		t.Run("a reviewer confirms a transfer once; the second confirm conflicts", func(t *testing.T) {
			f := f.sub(t)
			c := f.candidate()
			e1, e2 := f.enroll(c, 6000), f.enroll(c, 11000)
			proof := f.attachment(c, attachment.KindPAYMENT_PROOF)
			p, err := f.svc.SubmitBankTransfer(f.as(c), ids(e1, e2), proof.ID)
			mustOK(t, err)
			if p.Status != payment.StatusPENDING_CONFIRMATION || p.Method != payment.MethodBANK_TRANSFER || p.AmountCents != 17000 ||
				p.ProofAttachmentID == nil || *p.ProofAttachmentID != proof.ID || p.OrderNo[2] != 'B' {
				t.Fatalf("payment %+v", p)
			}
			f.wantPayStatus(enrollment.PaymentStatusPENDING, e1, e2)

			// The same proof cannot pay for something else while it is in use.
			another := f.enroll(c, 6000)
			before := f.snap()
			_, err = f.svc.SubmitBankTransfer(f.as(c), ids(another), proof.ID)
			wantField(t, err, apperr.Conflict, "proofAttachmentID")
			_, err = f.svc.Confirm(f.as(c), p.ID)
			wantCode(t, err, apperr.Forbidden)
			_, err = f.svc.Confirm(f.as(f.opA), p.ID)
			wantCode(t, err, apperr.Forbidden)
			_, err = f.svc.Confirm(f.as(f.reviewer), 1<<40)
			wantCode(t, err, apperr.NotFound)
			f.unchanged(before)
			online, _, err := f.svc.StartOnline(f.as(c), ids(another))
			mustOK(t, err)
			before = f.snap()
			_, err = f.svc.Confirm(f.as(f.reviewer), online.ID)
			wantField(t, err, apperr.BadInput, "id")
			_, err = f.svc.Reject(f.as(f.reviewer), online.ID, "不是转账")
			wantField(t, err, apperr.BadInput, "id")
			f.unchanged(before)

			f.clock.Advance(2 * time.Hour)
			got, err := f.svc.Confirm(f.as(f.reviewer), p.ID)
			mustOK(t, err)
			now := f.clock.Now()
			if got.Status != payment.StatusPAID || got.ConfirmedByID == nil || *got.ConfirmedByID != f.reviewer.ID ||
				!got.ConfirmedAt.Equal(now) || !got.PaidAt.Equal(now) {
				t.Fatalf("confirmed %+v", got)
			}
			f.wantPayStatus(enrollment.PaymentStatusPAID, e1, e2)
			if f.told(c) != 2 || f.notes(c, paysvc.KindPaid) != 0 {
				t.Fatalf("candidate told %d times for two enrollments", f.told(c))
			}
			if m, ok := f.sms.Last(c.Phone); !ok || m.Text != "缴费成功" {
				t.Fatalf("sms %+v", m)
			}

			before = f.snap()
			_, err = f.svc.Confirm(f.as(f.admin), p.ID)
			wantCode(t, err, apperr.Conflict)
			_, err = f.svc.Reject(f.as(f.reviewer), p.ID, "重复")
			wantCode(t, err, apperr.Conflict)
			f.unchanged(before)
		})

		t.Run("reject needs a reason, frees the enrollments and tells the payer", func(t *testing.T) {
			f := f.sub(t)
			comp := f.user("COMPANY", f.company)
			s1, s2 := f.staff(f.company), f.staff(f.company)
			e1, e2 := f.enroll(s1, 6000, withCompany(f.company)), f.enroll(s2, 6000, withCompany(f.company))
			proof := f.attachment(comp, attachment.KindPAYMENT_PROOF)
			p, err := f.svc.SubmitBankTransfer(f.as(comp), ids(e1, e2), proof.ID)
			mustOK(t, err)
			if p.CompanyID == nil || *p.CompanyID != f.company.ID {
				t.Fatalf("company %v", p.CompanyID)
			}
			before := f.snap()
			for _, reason := range []string{"", "   \n", strings.Repeat("长", 501)} {
				_, err = f.svc.Reject(f.as(f.reviewer), p.ID, reason)
				wantField(t, err, apperr.BadInput, "reason")
			}
			_, err = f.svc.Reject(f.as(comp), p.ID, "自己驳回")
			wantCode(t, err, apperr.Forbidden)
			f.unchanged(before)

			got, err := f.svc.Reject(f.as(f.admin), p.ID, "  转账金额与应缴金额不符  ")
			mustOK(t, err)
			if got.Status != payment.StatusREJECTED || got.Reason != "转账金额与应缴金额不符" || *got.ConfirmedByID != f.admin.ID {
				t.Fatalf("rejected %+v", got)
			}
			f.wantPayStatus(enrollment.PaymentStatusUNPAID, e1, e2)
			told := f.client.Notification.Query().Where(notification.UserID(comp.ID), notification.Kind(paysvc.KindRejected)).AllX(f.sys)
			if len(told) != 1 || !strings.Contains(told[0].Body, "转账金额与应缴金额不符") {
				t.Fatalf("payer not told the reason: %+v", told)
			}
			before = f.snap()
			_, err = f.svc.Reject(f.as(f.reviewer), p.ID, "再次驳回")
			wantCode(t, err, apperr.Conflict)
			_, err = f.svc.Confirm(f.as(f.reviewer), p.ID)
			wantCode(t, err, apperr.Conflict)
			f.unchanged(before)

			// Paid anew, with a new proof (the rejected one is free again too).
			p2, err := f.svc.SubmitBankTransfer(f.as(comp), ids(e1, e2), proof.ID)
			mustOK(t, err)
			_, err = f.svc.Confirm(f.as(f.reviewer), p2.ID)
			mustOK(t, err)
			f.wantPayStatus(enrollment.PaymentStatusPAID, e1, e2)
			for _, u := range []*ent.User{comp, s1, s2} {
				if f.told(u) != 1 {
					t.Fatalf("user %d told %d times", u.ID, f.told(u))
				}
			}
		})

		t.Run("two reviewers confirming at once: one wins", func(t *testing.T) {
			f := f.sub(t)
			c := f.candidate()
			p, err := f.svc.SubmitBankTransfer(f.as(c), ids(f.enroll(c, 6000)), f.attachment(c, attachment.KindPAYMENT_PROOF).ID)
			mustOK(t, err)
			var wg sync.WaitGroup
			errs := make([]error, 6)
			for i := range errs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if i%2 == 0 {
						_, errs[i] = f.svc.Confirm(f.as(f.reviewer), p.ID)
					} else {
						_, errs[i] = f.svc.Reject(f.as(f.admin), p.ID, "并发驳回")
					}
				}()
			}
			wg.Wait()
			ok := 0
			for _, err := range errs {
				if err == nil {
					ok++
				} else if !apperr.Is(err, apperr.Conflict) {
					t.Fatalf("unexpected %v", err)
				}
			}
			if ok != 1 {
				t.Fatalf("%d decisions applied", ok)
			}
			n := f.told(c) + f.notes(c, paysvc.KindRejected)
			if n != 1 {
				t.Fatalf("%d notifications", n)
			}
		})

		t.Run("a confirmation rolled back sends nothing", func(t *testing.T) {
			f := f.sub(t)
			c := f.candidate()
			p, err := f.svc.SubmitBankTransfer(f.as(c), ids(f.enroll(c, 6000)), f.attachment(c, attachment.KindPAYMENT_PROOF).ID)
			mustOK(t, err)
			before := f.snap()
			err = inRolledBackTx(f, f.as(f.reviewer), func(ctx context.Context) error {
				_, err := f.svc.Confirm(ctx, p.ID)
				return err
			})
			mustOK(t, err)
			f.unchanged(before) // includes the SMS count
		})
	})
}

func TestOnsite(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, dbURL string) {
		f := newFx(t, dbURL)

		t.Run("only the site where the candidate sits records it", func(t *testing.T) {
			f := f.sub(t)
			c, d := f.candidate(), f.candidate()
			e1, e2 := f.enroll(c, 6000, atSite(f.siteA)), f.enroll(c, 11000, atSite(f.siteA))
			ofD := f.enroll(d, 6000, atSite(f.siteA))
			unseated := f.enroll(c, 6000)
			elsewhere := f.enroll(c, 6000, atSite(f.siteB))
			homeless := f.user("EXAM_SITE", nil)

			before := f.snap()
			_, err := f.svc.RecordOnsite(f.as(f.opB), ids(e1))
			wantField(t, err, apperr.NotFound, "enrollmentIDs")
			_, err = f.svc.RecordOnsite(f.as(f.opA), ids(e1, elsewhere))
			wantCode(t, err, apperr.NotFound)
			_, err = f.svc.RecordOnsite(f.as(f.opA), ids(unseated))
			wantCode(t, err, apperr.NotFound)
			_, err = f.svc.RecordOnsite(f.as(f.opA), ids(e1, ofD))
			wantField(t, err, apperr.BadInput, "enrollmentIDs")
			_, err = f.svc.RecordOnsite(f.as(f.opA), nil)
			wantField(t, err, apperr.BadInput, "enrollmentIDs")
			_, err = f.svc.RecordOnsite(f.as(c), ids(e1))
			wantCode(t, err, apperr.Forbidden)
			_, err = f.svc.RecordOnsite(f.as(f.reviewer), ids(e1))
			wantCode(t, err, apperr.Forbidden)
			_, err = f.svc.RecordOnsite(f.as(homeless), ids(e1))
			wantCode(t, err, apperr.Forbidden)
			f.unchanged(before)

			f.clock.Advance(time.Hour)
			p, err := f.svc.RecordOnsite(f.as(f.opA), ids(e1, e2))
			mustOK(t, err)
			now := f.clock.Now()
			if p.Status != payment.StatusPAID || p.Method != payment.MethodONSITE || p.PayerID != c.ID || p.AmountCents != 17000 ||
				p.ConfirmedByID == nil || *p.ConfirmedByID != f.opA.ID || !p.PaidAt.Equal(now) || p.CompanyID != nil || p.OrderNo[2] != 'S' {
				t.Fatalf("onsite %+v", p)
			}
			f.wantPayStatus(enrollment.PaymentStatusPAID, e1, e2)
			if f.told(c) != 2 {
				t.Fatalf("candidate told %d times for two enrollments", f.told(c))
			}
			// The candidate sees it as theirs.
			if n := f.client.Payment.Query().Where(payment.ID(p.ID)).CountX(f.as(c)); n != 1 {
				t.Fatal("payer cannot read the onsite payment")
			}
			before = f.snap()
			_, err = f.svc.RecordOnsite(f.as(f.opA), ids(e1))
			wantCode(t, err, apperr.Conflict)
			f.unchanged(before)
		})

		t.Run("a company's staff paying at the site: the company sees it", func(t *testing.T) {
			f := f.sub(t)
			s := f.staff(f.company)
			e := f.enroll(s, 6000, atSite(f.siteA), withCompany(f.company))
			p, err := f.svc.RecordOnsite(f.as(f.opA), ids(e))
			mustOK(t, err)
			if p.CompanyID == nil || *p.CompanyID != f.company.ID {
				t.Fatalf("company %v", p.CompanyID)
			}
			if n := f.client.Payment.Query().Where(payment.ID(p.ID)).CountX(f.as(f.user("COMPANY", f.company))); n != 1 {
				t.Fatal("company cannot read it")
			}
		})

		t.Run("an enrollment with an open online payment is not paid twice at the site", func(t *testing.T) {
			f := f.sub(t)
			c := f.candidate()
			e := f.enroll(c, 6000, atSite(f.siteA))
			_, _, err := f.svc.StartOnline(f.as(c), ids(e))
			mustOK(t, err)
			before := f.snap()
			_, err = f.svc.RecordOnsite(f.as(f.opA), ids(e))
			wantCode(t, err, apperr.Conflict)
			f.unchanged(before)
		})
	})
}
