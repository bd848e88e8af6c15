package payment_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/kaowu/kaowu/ent/payment"
	paysvc "github.com/kaowu/kaowu/internal/payment"
)

func TestCheckTaxNumber(t *testing.T) {
	valid := []string{usccHuawei, usccTencent, "91350100M000100Y43", "440300192203821", "11010519850312001X01"}
	for _, n := range valid {
		if msg := paysvc.CheckTaxNumber(n); msg != "" {
			t.Errorf("%s refused: %s", n, msg)
		}
	}
	invalid := []string{"", "9144030071526726X", "914403001922038217", "9144030071526726xg", "91440300192203821O",
		"44030019220382!", "1101051985031200 X01", "123456789012345678901"}
	for _, n := range invalid {
		if paysvc.CheckTaxNumber(n) == "" {
			t.Errorf("%q accepted", n)
		}
	}
}

func TestNewOrderNo(t *testing.T) {
	at := time.Date(2026, 3, 10, 16, 5, 9, 0, time.UTC) // 00:05:09 next day in China
	seen := map[string]bool{}
	for range 2000 {
		no, err := paysvc.NewOrderNo(at, payment.MethodONLINE)
		if err != nil {
			t.Fatal(err)
		}
		if !orderNoRE.MatchString(no) || no[:17] != "KWO20260311000509" || len(no) > 32 {
			t.Fatalf("order number %q", no)
		}
		if seen[no] {
			t.Fatalf("duplicate %s", no)
		}
		seen[no] = true
	}
	if _, err := paysvc.NewOrderNo(at, "CASH"); err == nil {
		t.Fatal("unknown method accepted")
	}
}

func TestYuan(t *testing.T) {
	for cents, want := range map[int]string{0: "0.00", 5: "0.05", 6000: "60.00", 23050: "230.50", -120: "-1.20"} {
		if got := paysvc.Yuan(cents); got != want {
			t.Errorf("Yuan(%d) = %s, want %s", cents, got, want)
		}
	}
}

func TestSimSignatures(t *testing.T) {
	g := paysvc.NewSimGateway([]byte("k1-0123456789abcdef0123456789abcd"), "http://kaowu.test/")
	n := paysvc.Notification{OrderNo: "KWO1", TxnID: "T1", AmountCents: 100, Paid: true}
	body, h := g.SignNotification(n)
	got, err := g.VerifyNotification(body, h)
	if err != nil || got != n {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	other := paysvc.NewSimGateway([]byte("k2-0123456789abcdef0123456789abcd"), "http://kaowu.test/")
	if _, err := other.VerifyNotification(body, h); !errors.Is(err, paysvc.ErrBadSignature) {
		t.Fatalf("other key: %v", err)
	}
	if _, err := g.VerifyNotification(body, http.Header{}); !errors.Is(err, paysvc.ErrBadSignature) {
		t.Fatalf("no signature: %v", err)
	}
	// A pay-link signature is not a notification signature.
	link, err := g.CreateOrder(t.Context(), paysvc.Order{OrderNo: "KWO1", AmountCents: 100, NotifyURL: "http://kaowu.test/payments/notify"})
	if err != nil || link[:len("http://kaowu.test/payments/sim/pay?")] != "http://kaowu.test/payments/sim/pay?" {
		t.Fatalf("link %s %v", link, err)
	}
	if _, err := g.CreateOrder(t.Context(), paysvc.Order{OrderNo: "KWO1", AmountCents: 0, NotifyURL: "x"}); err == nil {
		t.Fatal("zero amount order accepted")
	}
	if g.TxnID("KWO1") != g.TxnID("KWO1") || g.TxnID("KWO1") == g.TxnID("KWO2") || g.TxnID("KWO1") == other.TxnID("KWO1") {
		t.Fatal("transaction ids are not per order and key")
	}
}
