package payment

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/payment"
	"github.com/kaowu/kaowu/internal/txn"
	"github.com/kaowu/kaowu/internal/viewer"
)

// maxNotifyBody bounds a gateway notification.
const maxNotifyBody = 64 << 10

// Handler serves kaowu's payment endpoints; mount it at /payments/ (it
// routes on the full path):
//
//	POST /payments/notify   the gateway's signed notifications
//	GET  /payments/return   where the payer's browser lands after the gateway
//	     /payments/sim/pay  the simulated gateway's pay page, only when
//	                        Gateway is a *SimGateway
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /payments/notify", s.serveNotify)
	mux.HandleFunc("GET /payments/return", serveReturn)
	if sim, ok := s.Gateway.(*SimGateway); ok {
		mux.Handle("/payments/sim/pay", sim)
	}
	return mux
}

// errRefused marks a notification that is signed but must not be applied
// (unknown order, wrong amount): answered 400 and logged, nothing changes.
var errRefused = errors.New("payment: notification refused")

// serveNotify applies a gateway notification. Answers: 200 "success" when it
// is applied or was already (so the gateway stops retrying); 400 when it is
// forged, malformed or refused (nothing changes); 500 when kaowu failed, so
// the gateway retries.
func (s *Service) serveNotify(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if viewer.RequestFrom(ctx).IP == "" {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		ctx = viewer.WithRequest(ctx, &viewer.Request{IP: host, UserAgent: r.UserAgent(), Operation: "paymentNotify"})
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxNotifyBody))
	if err != nil {
		http.Error(w, "fail", http.StatusBadRequest)
		return
	}
	n, err := s.Gateway.VerifyNotification(body, r.Header)
	if err != nil {
		s.log().Warn("payment notification rejected", "reason", err, "ip", viewer.RequestFrom(ctx).IP)
		http.Error(w, "fail", http.StatusBadRequest)
		return
	}
	switch err := s.applyNotification(ctx, n); {
	case err == nil:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "success")
	case errors.Is(err, errRefused):
		http.Error(w, "fail", http.StatusBadRequest)
	default:
		s.log().Error("payment notification failed", "order", n.OrderNo, "err", err)
		http.Error(w, "retry", http.StatusInternalServerError)
	}
}

// applyNotification applies a verified notification in one transaction. The
// state change is one conditional UPDATE, so a repeated, concurrent or late
// notification changes nothing.
func (s *Service) applyNotification(ctx context.Context, n Notification) error {
	// The gateway is no viewer; its signature has been checked.
	ctx = viewer.SystemContext(ctx)
	return txn.WithTx(ctx, s.Client, func(ctx context.Context) error {
		db := s.db(ctx)
		p, err := db.Payment.Query().Where(payment.OrderNo(n.OrderNo)).Only(ctx)
		if ent.IsNotFound(err) {
			s.log().Warn("payment notification for an unknown order", "order", n.OrderNo, "txn", n.TxnID)
			return fmt.Errorf("%w: unknown order", errRefused)
		} else if err != nil {
			return err
		}
		if p.Method != payment.MethodONLINE {
			s.log().Error("payment notification for an offline payment", "order", n.OrderNo, "method", p.Method)
			return fmt.Errorf("%w: not an online payment", errRefused)
		}
		if n.AmountCents != p.AmountCents {
			s.log().Error("payment notification amount mismatch: refused", "order", n.OrderNo, "txn", n.TxnID,
				"want_cents", p.AmountCents, "got_cents", n.AmountCents, "paid", n.Paid)
			return fmt.Errorf("%w: amount mismatch", errRefused)
		}
		if !n.Paid {
			return s.closeUnpaid(ctx, p, n)
		}
		now := s.now()
		changed, err := db.Payment.Update().
			Where(payment.OrderNo(n.OrderNo), payment.MethodEQ(payment.MethodONLINE),
				payment.StatusIn(payment.StatusCREATED, payment.StatusPENDING_CONFIRMATION)).
			SetStatus(payment.StatusPAID).SetGatewayTxnID(n.TxnID).SetPaidAt(now).Save(ctx)
		if err != nil {
			return err
		}
		if changed == 0 {
			return s.late(ctx, p.ID, n)
		}
		if p, err = db.Payment.Get(ctx, p.ID); err != nil {
			return err
		}
		return s.settle(ctx, p, now)
	})
}

// closeUnpaid applies a gateway's "closed unpaid": an open order fails and
// its enrollments are free again; anything else is left alone.
func (s *Service) closeUnpaid(ctx context.Context, p *ent.Payment, n Notification) error {
	changed, err := s.db(ctx).Payment.Update().Where(payment.ID(p.ID), payment.StatusEQ(payment.StatusCREATED)).
		SetStatus(payment.StatusFAILED).SetReason("支付平台关闭了订单").Save(ctx)
	if err != nil || changed == 0 {
		return err
	}
	if err := s.release(ctx, p); err != nil {
		return err
	}
	return s.Notifier.Notify(ctx, p.PayerID, KindFailed, "在线支付未成功",
		fmt.Sprintf("订单%s未完成支付，已关闭。相关报名可重新缴费。", p.OrderNo))
}

// late handles a "paid" notification for a payment no longer open: a repeat
// is normal; money taken for a closed payment or twice for one order needs a
// refund by hand, so it is logged as an error. Either way the gateway is told
// "success": retrying cannot help.
func (s *Service) late(ctx context.Context, id int, n Notification) error {
	p, err := s.db(ctx).Payment.Get(ctx, id)
	if err != nil {
		return err
	}
	switch {
	case p.Status == payment.StatusPAID && p.GatewayTxnID != nil && *p.GatewayTxnID == n.TxnID:
		s.log().Info("repeated payment notification ignored", "order", n.OrderNo)
	case p.Status == payment.StatusPAID:
		s.log().Error("order paid twice at the gateway: refund the second transaction", "order", n.OrderNo, "txn", n.TxnID)
	default:
		s.log().Error("payment notification for a closed payment: refund by hand", "order", n.OrderNo, "txn", n.TxnID, "status", p.Status)
	}
	return nil
}

const returnPage = `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>支付结果</title></head>
<body style="font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem">
<h1>支付流程已结束</h1>
<p>缴费结果以系统确认为准，确认后您会收到通知。</p>
<p><a href="/">返回考务系统</a></p>
</body></html>
`

// serveReturn is where the gateway sends the browser back. It shows no
// payment data: the browser carries no login here, and the outcome is what
// the notification said, not what the URL says.
func serveReturn(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = io.WriteString(w, returnPage)
}
