package payment_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/enrollment"
	"github.com/kaowu/kaowu/ent/payment"
	paysvc "github.com/kaowu/kaowu/internal/payment"
	"github.com/kaowu/kaowu/internal/testenv"
)

func TestNotifyEndpoint(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, dbURL string) {
		f := newFx(t, dbURL)
		open := func(f *fx) (*ent.User, *ent.Enrollment, *ent.Payment) {
			c := f.candidate()
			e := f.enroll(c, 6000)
			p, _, err := f.svc.StartOnline(f.as(c), ids(e))
			mustOK(f.t, err)
			return c, e, p
		}
		paid := func(p *ent.Payment) paysvc.Notification {
			return paysvc.Notification{OrderNo: p.OrderNo, TxnID: "T" + p.OrderNo, AmountCents: p.AmountCents, Paid: true}
		}

		t.Run("forged, tampered or unsigned notifications are refused with 400", func(t *testing.T) {
			f := f.sub(t)
			c, e, p := open(f)
			before := f.snap()
			forger := paysvc.NewSimGateway([]byte("not the shared secret at all......"), f.srv.URL)
			body, h := forger.SignNotification(paid(p))
			if code, _ := f.notify(body, h); code != 400 {
				t.Fatalf("forged signature: %d", code)
			}
			body, h = f.gw.SignNotification(paid(p))
			tampered := bytes.Replace(body, []byte(`"trade_status":"SUCCESS"`), []byte(`"trade_status":"SUCCESS" `), 1)
			if code, _ := f.notify(tampered, h); code != 400 {
				t.Fatalf("tampered body: %d", code)
			}
			h2 := h.Clone()
			h2.Del(paysvc.SimSignatureHeader)
			if code, _ := f.notify(body, h2); code != 400 {
				t.Fatalf("unsigned: %d", code)
			}
			h2.Set(paysvc.SimSignatureHeader, "zz-not-hex")
			if code, _ := f.notify(body, h2); code != 400 {
				t.Fatalf("garbage signature: %d", code)
			}
			// Signed but not what the gateway sends.
			bad, bh := signRaw(f.gw, []byte(`{"order_no":"`+p.OrderNo+`","txn_id":"x","amount_cents":6000,"trade_status":"MAYBE"}`))
			if code, _ := f.notify(bad, bh); code != 400 {
				t.Fatalf("unknown trade status: %d", code)
			}
			huge := bytes.Repeat([]byte("x"), 100<<10)
			if code, _ := f.notify(huge, h); code != 400 {
				t.Fatalf("oversized body: %d", code)
			}
			resp, err := f.browser.Get(f.srv.URL + "/payments/notify")
			mustOK(t, err)
			resp.Body.Close()
			if resp.StatusCode != http.StatusMethodNotAllowed {
				t.Fatalf("GET notify: %d", resp.StatusCode)
			}
			f.unchanged(before)
			f.wantPayStatus(enrollment.PaymentStatusPENDING, e)
			if f.told(c) != 0 || !f.logs.Contains("payment notification rejected") {
				t.Fatal("forgery notified someone or was not logged")
			}
		})

		t.Run("an amount mismatch is refused and logged; unknown and offline orders too", func(t *testing.T) {
			f := f.sub(t)
			_, e, p := open(f)
			before := f.snap()
			n := paid(p)
			n.AmountCents = 1
			if code, _ := f.notify(f.gw.SignNotification(n)); code != 400 {
				t.Fatalf("amount mismatch: %d", code)
			}
			if !f.logs.Contains("amount mismatch") {
				t.Fatal("mismatch not logged")
			}
			n = paid(p)
			n.OrderNo = "KWO20260101000000NOSUCHORDER"
			if code, _ := f.notify(f.gw.SignNotification(n)); code != 400 {
				t.Fatalf("unknown order: %d", code)
			}
			c2 := f.candidate()
			bt, err := f.svc.SubmitBankTransfer(f.as(c2), ids(f.enroll(c2, 6000)), f.attachment(c2, "PAYMENT_PROOF").ID)
			mustOK(t, err)
			before = f.snap()
			if code, _ := f.notify(f.gw.SignNotification(paid(bt))); code != 400 {
				t.Fatalf("bank transfer through the gateway: %d", code)
			}
			f.unchanged(before)
			f.wantPayStatus(enrollment.PaymentStatusPENDING, e)
		})

		t.Run("a valid notification pays once; repeats answer success and change nothing", func(t *testing.T) {
			f := f.sub(t)
			c, e, p := open(f)
			f.clock.Advance(time.Second)
			code, resp := f.notify(f.gw.SignNotification(paid(p)))
			if code != 200 || resp != "success" {
				t.Fatalf("notify: %d %q", code, resp)
			}
			got := f.payment(p.ID)
			if got.Status != payment.StatusPAID || *got.GatewayTxnID != "T"+p.OrderNo || !got.PaidAt.Equal(f.clock.Now()) {
				t.Fatalf("payment %+v", got)
			}
			f.wantPayStatus(enrollment.PaymentStatusPAID, e)
			if f.told(c) != 1 || f.notes(c, paysvc.KindPaid) != 0 {
				t.Fatalf("candidate payer told %d times", f.told(c))
			}
			before := f.snap()
			paidCalls := f.marker.paid.Load()
			f.clock.Advance(time.Second)
			for range 3 {
				if code, resp := f.notify(f.gw.SignNotification(paid(p))); code != 200 || resp != "success" {
					t.Fatalf("repeat: %d %q", code, resp)
				}
			}
			// The gateway charged the order a second time: logged for a refund, not applied.
			second := paid(p)
			second.TxnID = "OTHER"
			if code, _ := f.notify(f.gw.SignNotification(second)); code != 200 {
				t.Fatalf("second transaction: %d", code)
			}
			f.unchanged(before)
			if f.marker.paid.Load() != paidCalls || !f.logs.Contains("order paid twice") {
				t.Fatal("repeat applied again or double charge not logged")
			}
		})

		t.Run("concurrent duplicate notifications apply exactly once", func(t *testing.T) {
			f := f.sub(t)
			c, e, p := open(f)
			body, h := f.gw.SignNotification(paid(p))
			paidCalls := f.marker.paid.Load()
			var wg sync.WaitGroup
			codes := make([]int, 10)
			for i := range codes {
				wg.Add(1)
				go func() {
					defer wg.Done()
					req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/payments/notify", bytes.NewReader(body))
					req.Header = h.Clone()
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Error(err)
						return
					}
					resp.Body.Close()
					codes[i] = resp.StatusCode
				}()
			}
			wg.Wait()
			for _, code := range codes {
				if code != 200 {
					t.Fatalf("codes %v", codes)
				}
			}
			if f.marker.paid.Load() != paidCalls+1 || f.told(c) != 1 {
				t.Fatalf("applied %d times, %d notifications", f.marker.paid.Load()-paidCalls, f.told(c))
			}
			f.wantPayStatus(enrollment.PaymentStatusPAID, e)
		})

		t.Run("the gateway closing an order unpaid frees the enrollments", func(t *testing.T) {
			f := f.sub(t)
			c, e, p := open(f)
			closed := paid(p)
			closed.Paid = false
			if code, _ := f.notify(f.gw.SignNotification(closed)); code != 200 {
				t.Fatalf("closed: %d", code)
			}
			if got := f.payment(p.ID); got.Status != payment.StatusFAILED {
				t.Fatalf("status %s", got.Status)
			}
			f.wantPayStatus(enrollment.PaymentStatusUNPAID, e)
			if f.notes(c, paysvc.KindFailed) != 1 {
				t.Fatal("payer not told")
			}
			before := f.snap()
			for _, n := range []paysvc.Notification{closed, paid(p)} {
				if code, _ := f.notify(f.gw.SignNotification(n)); code != 200 {
					t.Fatalf("after close: %d", code)
				}
			}
			f.unchanged(before)
		})

		t.Run("the return page shows no payment data", func(t *testing.T) {
			f := f.sub(t)
			_, _, p := open(f)
			code, body, _ := f.get(f.srv.URL + "/payments/return?order=" + p.OrderNo + "&result=paid")
			if code != 200 || strings.Contains(body, p.OrderNo) || !strings.Contains(body, "缴费结果以系统确认为准") {
				t.Fatalf("return page %d %s", code, body)
			}
		})
	})
}

func TestSimPayPage(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, dbURL string) {
		f := newFx(t, dbURL)
		c := f.candidate()
		e := f.enroll(c, 11000)
		p, payURL, err := f.svc.StartOnline(f.as(c), ids(e))
		mustOK(t, err)

		t.Run("a link whose amount, notify URL or signature was changed is refused", func(t *testing.T) {
			f := f.sub(t)
			before := f.snap()
			u, _ := url.Parse(payURL)
			for _, change := range []func(q url.Values){
				func(q url.Values) { q.Set("amount", "1") },
				func(q url.Values) { q.Set("notify", "http://attacker.example/") },
				func(q url.Values) { q.Set("return", "http://attacker.example/") },
				func(q url.Values) { q.Del("sig") },
				func(q url.Values) { q.Add("order", "second") },
			} {
				q := u.Query()
				change(q)
				bad := *u
				bad.RawQuery = q.Encode()
				if code, _, _ := f.get(bad.String()); code != 400 {
					t.Fatalf("GET %s: %d", bad.String(), code)
				}
				if code, _, _ := f.press(bad.String(), "pay"); code != 400 {
					t.Fatalf("POST %s: %d", bad.String(), code)
				}
			}
			f.unchanged(before)
		})

		t.Run("cancel returns without paying; unknown actions and methods are refused", func(t *testing.T) {
			f := f.sub(t)
			before := f.snap()
			code, _, loc := f.press(payURL, "cancel")
			if code != 303 || !strings.Contains(loc, "result=cancelled") || !strings.Contains(loc, "order="+p.OrderNo) {
				t.Fatalf("cancel: %d %s", code, loc)
			}
			if code, _, _ := f.press(payURL, "steal"); code != 400 {
				t.Fatalf("unknown action: %d", code)
			}
			req, _ := http.NewRequest(http.MethodPut, payURL, nil)
			resp, err := f.browser.Do(req)
			mustOK(t, err)
			resp.Body.Close()
			if resp.StatusCode != http.StatusMethodNotAllowed {
				t.Fatalf("PUT: %d", resp.StatusCode)
			}
			f.unchanged(before)
			if f.payment(p.ID).Status != payment.StatusCREATED {
				t.Fatal("cancel on the gateway page changed the payment")
			}
		})

		t.Run("when the merchant does not accept the notification the page says so", func(t *testing.T) {
			f := f.sub(t)
			link, err := f.gw.CreateOrder(context.Background(), paysvc.Order{
				OrderNo: "KWO20260310000000TESTTESTTEST", AmountCents: 100, Subject: "<script>alert(1)</script>",
				NotifyURL: f.srv.URL + "/payments/nowhere", ReturnURL: f.srv.URL + "/payments/return",
			})
			mustOK(t, err)
			code, body, _ := f.get(link)
			if code != 200 || strings.Contains(body, "<script>alert") {
				t.Fatalf("subject not escaped: %s", body)
			}
			code, body, _ = f.press(link, "pay")
			if code != http.StatusBadGateway || !strings.Contains(body, "通知商户失败") || !strings.Contains(body, "重新支付") {
				t.Fatalf("failed notify: %d %s", code, body)
			}
		})

		t.Run("paying through the page", func(t *testing.T) {
			f := f.sub(t)
			if code, _, _ := f.press(payURL, "pay"); code != 303 {
				t.Fatalf("pay: %d", code)
			}
			if f.payment(p.ID).Status != payment.StatusPAID {
				t.Fatal("not paid")
			}
			f.wantPayStatus(enrollment.PaymentStatusPAID, e)
		})
	})
}

// signRaw signs an arbitrary body the way the simulator signs notifications.
func signRaw(g *paysvc.SimGateway, body []byte) ([]byte, http.Header) {
	_, h := g.SignNotification(paysvc.Notification{})
	h.Set(paysvc.SimSignatureHeader, g.SignBody(body))
	return body, h
}
