package payment_test

import (
	"context"
	"errors"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/enrollment"
	"github.com/kaowu/kaowu/ent/payment"
	"github.com/kaowu/kaowu/internal/apperr"
	paysvc "github.com/kaowu/kaowu/internal/payment"
	"github.com/kaowu/kaowu/internal/testenv"
)

var orderNoRE = regexp.MustCompile(`^KW[OBS]\d{14}[0-9A-HJ-NP-Z]{12}$`)

type failingGateway struct{ paysvc.Gateway }

func (failingGateway) CreateOrder(context.Context, paysvc.Order) (string, error) {
	return "", errors.New("gateway down")
}

func TestOnlinePayment(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, dbURL string) {
		f := newFx(t, dbURL)

		t.Run("a company pays for three staff in one payment through the simulated gateway", func(t *testing.T) {
			f := f.sub(t)
			comp := f.user("COMPANY", f.company)
			s1, s2, s3 := f.staff(f.company), f.staff(f.company), f.staff(f.company)
			e1, e2, e3 := f.enroll(s1, 6000, withCompany(f.company)), f.enroll(s2, 6000, withCompany(f.company)), f.enroll(s3, 11000, withCompany(f.company))

			p, payURL, err := f.svc.StartOnline(f.as(comp), ids(e1, e2, e3))
			mustOK(t, err)
			if p.Status != payment.StatusCREATED || p.Method != payment.MethodONLINE || p.AmountCents != 23000 ||
				p.PayerID != comp.ID || p.CompanyID == nil || *p.CompanyID != f.company.ID {
				t.Fatalf("payment %+v", p)
			}
			if !orderNoRE.MatchString(p.OrderNo) || p.OrderNo[2] != 'O' {
				t.Fatalf("order number %q", p.OrderNo)
			}
			if n := f.client.Payment.QueryEnrollments(p).CountX(f.sys); n != 3 {
				t.Fatalf("linked %d enrollments", n)
			}
			f.wantPayStatus(enrollment.PaymentStatusPENDING, e1, e2, e3)
			if !strings.HasPrefix(payURL, f.srv.URL+"/payments/sim/pay?") || !strings.Contains(payURL, "order="+p.OrderNo) {
				t.Fatalf("pay URL %s", payURL)
			}
			// The company sees its payment; another company does not.
			if n := f.client.Payment.Query().Where(payment.ID(p.ID)).CountX(f.as(f.user("COMPANY", f.company2))); n != 0 {
				t.Fatal("another company reads the payment")
			}

			code, body, _ := f.get(payURL)
			for _, want := range []string{"模拟支付", p.OrderNo, "¥230.00", ">支付<", ">取消<"} {
				if !strings.Contains(body, want) {
					t.Fatalf("pay page (%d) lacks %q:\n%s", code, want, body)
				}
			}

			f.clock.Advance(5 * time.Minute)
			paidAt := f.clock.Now()
			// Press 支付 as a browser would: post the page's own form.
			code, _, loc := f.press(f.formAction(body), "pay")
			if code != 303 || !strings.HasPrefix(loc, f.srv.URL+"/payments/return?") || !strings.Contains(loc, "result=paid") {
				t.Fatalf("pay: %d %s", code, loc)
			}
			p = f.payment(p.ID)
			if p.Status != payment.StatusPAID || p.GatewayTxnID == nil || *p.GatewayTxnID != f.gw.TxnID(p.OrderNo) ||
				p.PaidAt == nil || !p.PaidAt.Equal(paidAt) {
				t.Fatalf("after pay %+v", p)
			}
			for _, e := range []*ent.Enrollment{e1, e2, e3} {
				got := f.enrollment(e.ID)
				if got.PaymentStatus != enrollment.PaymentStatusPAID || got.PaidAt == nil || !got.PaidAt.Equal(paidAt) {
					t.Fatalf("enrollment %+v", got)
				}
			}
			// The company hears of its payment; each employee once, of their enrollment.
			if n := f.notes(comp, paysvc.KindPaid); n != 1 {
				t.Fatalf("company has %d paid notifications", n)
			}
			for _, u := range []*ent.User{s1, s2, s3} {
				if f.told(u) != 1 || f.notes(u, paysvc.KindPaid) != 0 {
					t.Fatalf("employee %d told %d times", u.ID, f.told(u))
				}
			}
			if m, ok := f.sms.Last(comp.Phone); !ok || m.Text != "缴费成功" {
				t.Fatalf("sms %+v", m)
			}
			if code, body, _ := f.get(loc); code != 200 || !strings.Contains(body, "支付流程已结束") {
				t.Fatalf("return page %d %s", code, body)
			}

			// The gateway calls back again, later: nothing changes, it hears "success".
			before := f.snap()
			f.clock.Advance(time.Hour)
			if code, _, loc := f.press(payURL, "pay"); code != 303 || !strings.Contains(loc, "result=paid") {
				t.Fatalf("repeat via page: %d %s", code, loc)
			}
			body2, h := f.gw.SignNotification(paysvc.Notification{OrderNo: p.OrderNo, TxnID: *p.GatewayTxnID, AmountCents: 23000, Paid: true})
			if code, resp := f.notify(body2, h); code != 200 || resp != "success" {
				t.Fatalf("repeat: %d %q", code, resp)
			}
			f.unchanged(before)
			if !f.logs.Contains("repeated payment notification ignored") {
				t.Fatal("repeat not logged")
			}
		})

		t.Run("a candidate pays their own enrollment, never someone else's", func(t *testing.T) {
			f := f.sub(t)
			c1, c2 := f.candidate(), f.candidate()
			mine, theirs := f.enroll(c1, 6000), f.enroll(c2, 6000)
			comp := f.user("COMPANY", f.company)
			other := f.enroll(f.staff(f.company2), 6000, withCompany(f.company2))
			before := f.snap()
			_, _, err := f.svc.StartOnline(f.as(c1), ids(theirs))
			wantField(t, err, apperr.NotFound, "enrollmentIDs")
			_, _, err = f.svc.StartOnline(f.as(c1), ids(mine, theirs))
			wantCode(t, err, apperr.NotFound)
			// A company cannot pay for a candidate who is not its staff, nor another company's staff.
			_, _, err = f.svc.StartOnline(f.as(comp), ids(mine))
			wantCode(t, err, apperr.NotFound)
			_, _, err = f.svc.StartOnline(f.as(comp), ids(other))
			wantCode(t, err, apperr.NotFound)
			f.unchanged(before)

			p, _, err := f.svc.StartOnline(f.as(c1), ids(mine))
			mustOK(t, err)
			if p.AmountCents != 6000 || p.PayerID != c1.ID || p.CompanyID != nil {
				t.Fatalf("payment %+v", p)
			}
			if n := f.client.Payment.Query().Where(payment.ID(p.ID)).CountX(f.as(c2)); n != 0 {
				t.Fatal("another candidate reads the payment")
			}
		})

		t.Run("bad input and wrong states are refused and write nothing", func(t *testing.T) {
			f := f.sub(t)
			c := f.candidate()
			ok := f.enroll(c, 6000)
			unapproved := f.enroll(c, 6000, withStatus(enrollment.StatusPENDING_REVIEW))
			free := f.enroll(c, 0)
			paid := f.enroll(c, 6000)
			f.client.Enrollment.UpdateOneID(paid.ID).SetPaymentStatus(enrollment.PaymentStatusPAID).ExecX(f.sys)
			pending := f.enroll(c, 6000)
			_, _, err := f.svc.StartOnline(f.as(c), ids(pending))
			mustOK(t, err)

			before := f.snap()
			cases := []struct {
				name  string
				ctx   context.Context
				ids   []int
				code  apperr.Code
				field string
			}{
				{"empty", f.as(c), nil, apperr.BadInput, "enrollmentIDs"},
				{"duplicates", f.as(c), []int{ok.ID, ok.ID}, apperr.BadInput, "enrollmentIDs"},
				{"too many", f.as(c), make([]int, paysvc.MaxBatch+1), apperr.BadInput, "enrollmentIDs"},
				{"not approved", f.as(c), ids(ok, unapproved), apperr.BadInput, "enrollmentIDs"},
				{"nothing to pay", f.as(c), ids(free), apperr.BadInput, "enrollmentIDs"},
				{"already paid", f.as(c), ids(ok, paid), apperr.Conflict, "enrollmentIDs"},
				{"already pending", f.as(c), ids(pending), apperr.Conflict, "enrollmentIDs"},
				{"unknown", f.as(c), []int{1 << 40}, apperr.NotFound, "enrollmentIDs"},
				{"anonymous", f.ctx, ids(ok), apperr.Unauthenticated, ""},
				{"reviewer", f.as(f.reviewer), ids(ok), apperr.Forbidden, ""},
				{"site operator", f.as(f.opA), ids(ok), apperr.Forbidden, ""},
			}
			for _, tc := range cases {
				_, _, err := f.svc.StartOnline(tc.ctx, tc.ids)
				if tc.field != "" {
					wantField(t, err, tc.code, tc.field)
				} else {
					wantCode(t, err, tc.code)
				}
				ae, _ := apperr.As(err)
				if ae.Message == "" || !regexp.MustCompile(`\p{Han}`).MatchString(ae.Message) {
					t.Fatalf("%s: message %q is not for people", tc.name, ae.Message)
				}
			}
			f.unchanged(before)
		})

		t.Run("a gateway that cannot take the order leaves nothing behind", func(t *testing.T) {
			f := f.sub(t)
			c := f.candidate()
			e := f.enroll(c, 6000)
			broken := *f.svc
			broken.Gateway = failingGateway{}
			before := f.snap()
			_, _, err := broken.StartOnline(f.as(c), ids(e))
			wantCode(t, err, apperr.Internal)
			f.unchanged(before)
		})

		t.Run("payments racing for one enrollment: exactly one wins", func(t *testing.T) {
			f := f.sub(t)
			c := f.candidate()
			e := f.enroll(c, 6000)
			before := f.client.Payment.Query().CountX(f.sys)
			var wg sync.WaitGroup
			var mu sync.Mutex
			won, lost := 0, 0
			for range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, _, err := f.svc.StartOnline(f.as(c), ids(e))
					mu.Lock()
					defer mu.Unlock()
					if err == nil {
						won++
					} else if apperr.Is(err, apperr.Conflict) {
						lost++
					} else {
						t.Errorf("unexpected: %v", err)
					}
				}()
			}
			wg.Wait()
			if won != 1 || lost != 7 {
				t.Fatalf("won %d lost %d", won, lost)
			}
			if n := f.client.Payment.Query().CountX(f.sys); n != before+1 {
				t.Fatalf("%d payments created", n-before)
			}
			f.wantPayStatus(enrollment.PaymentStatusPENDING, e)
		})

		t.Run("the payer cancels an unpaid order; a late callback then changes nothing", func(t *testing.T) {
			f := f.sub(t)
			c, other := f.candidate(), f.candidate()
			e := f.enroll(c, 6000)
			p, payURL, err := f.svc.StartOnline(f.as(c), ids(e))
			mustOK(t, err)

			before := f.snap()
			_, err = f.svc.Cancel(f.as(other), p.ID)
			wantCode(t, err, apperr.NotFound)
			_, err = f.svc.Cancel(f.as(f.reviewer), p.ID)
			wantCode(t, err, apperr.Forbidden)
			_, err = f.svc.Cancel(f.ctx, p.ID)
			wantCode(t, err, apperr.Unauthenticated)
			f.unchanged(before)

			got, err := f.svc.Cancel(f.as(c), p.ID)
			mustOK(t, err)
			if got.Status != payment.StatusCANCELLED {
				t.Fatalf("status %s", got.Status)
			}
			f.wantPayStatus(enrollment.PaymentStatusUNPAID, e)
			before = f.snap()
			_, err = f.svc.Cancel(f.as(c), p.ID)
			wantCode(t, err, apperr.Conflict)
			_, err = f.svc.ResumeOnline(f.as(c), p.ID)
			wantCode(t, err, apperr.Conflict)

			// The payer had the gateway page still open and paid anyway.
			if code, _, _ := f.press(payURL, "pay"); code != 303 {
				t.Fatalf("late pay: %d", code)
			}
			f.unchanged(before)
			if !f.logs.Contains("refund by hand") {
				t.Fatal("a paid-after-cancel callback must be logged for a refund")
			}
			// The enrollment is free to be paid again.
			_, _, err = f.svc.StartOnline(f.as(c), ids(e))
			mustOK(t, err)
		})

		t.Run("company colleagues share the company's payments", func(t *testing.T) {
			f := f.sub(t)
			a, b := f.user("COMPANY", f.company), f.user("COMPANY", f.company)
			e := f.enroll(f.staff(f.company), 6000, withCompany(f.company))
			p, _, err := f.svc.StartOnline(f.as(a), ids(e))
			mustOK(t, err)
			_, err = f.svc.Cancel(f.as(f.user("COMPANY", f.company2)), p.ID)
			wantCode(t, err, apperr.NotFound)
			_, err = f.svc.Cancel(f.as(b), p.ID)
			mustOK(t, err)
			f.wantPayStatus(enrollment.PaymentStatusUNPAID, e)
		})

		t.Run("resume an open order; a bank transfer is not cancelled by its payer", func(t *testing.T) {
			f := f.sub(t)
			c := f.candidate()
			e := f.enroll(c, 6000)
			p, first, err := f.svc.StartOnline(f.as(c), ids(e))
			mustOK(t, err)
			again, err := f.svc.ResumeOnline(f.as(c), p.ID)
			mustOK(t, err)
			u, _ := url.Parse(again)
			if u.Query().Get("order") != p.OrderNo || u.Query().Get("amount") != "6000" {
				t.Fatalf("resumed %s (first %s)", again, first)
			}
			_, err = f.svc.ResumeOnline(f.as(f.candidate()), p.ID)
			wantCode(t, err, apperr.NotFound)

			e2 := f.enroll(c, 6000)
			bt, err := f.svc.SubmitBankTransfer(f.as(c), ids(e2), f.attachment(c, "PAYMENT_PROOF").ID)
			mustOK(t, err)
			before := f.snap()
			_, err = f.svc.Cancel(f.as(c), bt.ID)
			wantCode(t, err, apperr.Conflict)
			_, err = f.svc.ResumeOnline(f.as(c), bt.ID)
			wantCode(t, err, apperr.Conflict)
			f.unchanged(before)
		})

		t.Run("payments run inside the caller's transaction", func(t *testing.T) {
			f := f.sub(t)
			c := f.candidate()
			e := f.enroll(c, 6000)
			before := f.snap()
			err := inRolledBackTx(f, f.as(c), func(ctx context.Context) error {
				_, _, err := f.svc.StartOnline(ctx, ids(e))
				return err
			})
			mustOK(t, err)
			f.unchanged(before)
		})
	})
}
