package payment

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// SimSignatureHeader carries the hex HMAC-SHA256 of a simulated notification.
const SimSignatureHeader = "X-Sim-Signature"

// SimGateway is a simulated payment gateway for development and tests. Its
// pay page is served by kaowu itself (ServeHTTP, mounted at
// /payments/sim/pay): the payer presses 支付 and the page POSTs a notification
// signed with HMAC-SHA256 to the order's notify URL, as a real gateway's
// server would. No money moves. Never enable it in production: whoever can
// open a pay link can "pay" it.
//
// The gateway keeps no state: every order parameter travels in the pay link,
// signed, so links survive restarts and work across replicas, and nobody can
// change the amount or the notify URL of a link.
type SimGateway struct {
	Secret  []byte       // HMAC key shared with the notification verifier
	PageURL string       // absolute URL of the pay page, e.g. https://kaowu.example/payments/sim/pay
	HTTP    *http.Client // posts notifications; default: 10-second timeout
	Log     *slog.Logger
}

// NewSimGateway returns a simulated gateway whose pay page is served under
// baseURL (kaowu's public URL).
func NewSimGateway(secret []byte, baseURL string) *SimGateway {
	return &SimGateway{Secret: secret, PageURL: strings.TrimRight(baseURL, "/") + "/payments/sim/pay"}
}

// Sign purposes keep a pay-link signature from passing as a notification's.
const (
	purposeLink   = "link"
	purposeNotify = "notify"
	purposeTxn    = "txn"
)

func (g *SimGateway) mac(purpose string, data []byte) []byte {
	m := hmac.New(sha256.New, g.Secret)
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write(data)
	return m.Sum(nil)
}

func (g *SimGateway) verify(purpose string, data []byte, sigHex string) bool {
	sig, err := hex.DecodeString(sigHex)
	if err != nil || len(sig) != sha256.Size {
		return false
	}
	return hmac.Equal(sig, g.mac(purpose, data)) // constant time
}

// linkParams are the signed query parameters of a pay link.
var linkParams = []string{"order", "amount", "subject", "notify", "return"}

// CreateOrder implements Gateway: it returns a signed link to the pay page.
func (g *SimGateway) CreateOrder(_ context.Context, o Order) (string, error) {
	if o.OrderNo == "" || o.AmountCents <= 0 || o.NotifyURL == "" {
		return "", fmt.Errorf("sim gateway: incomplete order %+v", o)
	}
	q := url.Values{}
	q.Set("order", o.OrderNo)
	q.Set("amount", strconv.Itoa(o.AmountCents))
	q.Set("subject", o.Subject)
	q.Set("notify", o.NotifyURL)
	q.Set("return", o.ReturnURL)
	q.Set("sig", hex.EncodeToString(g.mac(purposeLink, []byte(q.Encode()))))
	return g.PageURL + "?" + q.Encode(), nil
}

// simNotice is the notification's wire format.
type simNotice struct {
	OrderNo     string `json:"order_no"`
	TxnID       string `json:"txn_id"`
	AmountCents int    `json:"amount_cents"`
	TradeStatus string `json:"trade_status"` // SUCCESS or CLOSED
}

// SignNotification encodes n as the gateway would send it: the JSON body and
// the headers carrying its signature.
func (g *SimGateway) SignNotification(n Notification) ([]byte, http.Header) {
	status := "CLOSED"
	if n.Paid {
		status = "SUCCESS"
	}
	body, _ := json.Marshal(simNotice{OrderNo: n.OrderNo, TxnID: n.TxnID, AmountCents: n.AmountCents, TradeStatus: status})
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set(SimSignatureHeader, hex.EncodeToString(g.mac(purposeNotify, body)))
	return body, h
}

// VerifyNotification implements Gateway.
func (g *SimGateway) VerifyNotification(body []byte, header http.Header) (Notification, error) {
	if !g.verify(purposeNotify, body, header.Get(SimSignatureHeader)) {
		return Notification{}, ErrBadSignature
	}
	var sn simNotice
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sn); err != nil {
		return Notification{}, fmt.Errorf("%w: %v", ErrBadNotification, err)
	}
	if sn.OrderNo == "" || sn.TxnID == "" || sn.AmountCents < 0 || (sn.TradeStatus != "SUCCESS" && sn.TradeStatus != "CLOSED") {
		return Notification{}, ErrBadNotification
	}
	return Notification{OrderNo: sn.OrderNo, TxnID: sn.TxnID, AmountCents: sn.AmountCents, Paid: sn.TradeStatus == "SUCCESS"}, nil
}

// TxnID is the transaction id the simulator gives an order. It is derived
// from the order number, so paying the same order twice is the same
// transaction, as a real gateway refuses to charge one order twice.
func (g *SimGateway) TxnID(orderNo string) string {
	return "SIM" + strings.ToUpper(hex.EncodeToString(g.mac(purposeTxn, []byte(orderNo))[:12]))
}

// Deliver POSTs a signed notification to notifyURL and returns the HTTP
// status the merchant answered.
func (g *SimGateway) Deliver(ctx context.Context, notifyURL string, n Notification) (int, error) {
	body, h := g.SignNotification(n)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, notifyURL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header = h
	client := g.HTTP
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, nil
}

// simOrder is a pay link's order, once its signature is checked.
type simOrder struct {
	Order
	Amount string // yuan, for display
}

func (g *SimGateway) parseLink(q url.Values) (simOrder, bool) {
	signed := url.Values{}
	for _, k := range linkParams {
		if len(q[k]) > 1 {
			return simOrder{}, false
		}
		signed.Set(k, q.Get(k))
	}
	if !g.verify(purposeLink, []byte(signed.Encode()), q.Get("sig")) {
		return simOrder{}, false
	}
	amount, err := strconv.Atoi(q.Get("amount"))
	if err != nil || amount <= 0 {
		return simOrder{}, false
	}
	o := Order{OrderNo: q.Get("order"), AmountCents: amount, Subject: q.Get("subject"), NotifyURL: q.Get("notify"), ReturnURL: q.Get("return")}
	return simOrder{Order: o, Amount: Yuan(amount)}, true
}

var simPage = template.Must(template.New("sim").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>模拟支付</title>
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;color:#222}
.note{color:#8a6d3b;background:#fcf8e3;padding:.5rem}.error{color:#a94442;background:#f2dede;padding:.5rem}
dt{color:#666}dd{margin:0 0 .8rem}.amount{font-size:1.6rem;font-weight:bold}
button{font-size:1rem;padding:.5rem 1.5rem;margin-right:1rem}</style></head>
<body><main>
<h1>模拟支付</h1>
<p class="note">开发与测试用的模拟支付平台，不会产生真实扣款。</p>
<dl><dt>订单号</dt><dd>{{.OrderNo}}</dd><dt>商品</dt><dd>{{.Subject}}</dd><dt>金额</dt><dd class="amount">¥{{.Amount}}</dd></dl>
{{if .Error}}<p class="error">{{.Error}}</p>{{end}}
<form method="post" action="{{.Action}}">
<button type="submit" name="action" value="pay">{{if .Error}}重新支付{{else}}支付{{end}}</button>
<button type="submit" name="action" value="cancel">取消</button>
</form>
</main></body></html>
`))

type simView struct {
	simOrder
	Action string
	Error  string
}

// ServeHTTP serves the pay page: GET shows the order, POST action=pay
// notifies the merchant and sends the browser back, action=cancel just sends
// it back (the order stays open, as when a payer closes a real gateway's page).
func (g *SimGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	o, ok := g.parseLink(r.URL.Query())
	if !ok {
		http.Error(w, "支付链接无效", http.StatusBadRequest)
		return
	}
	view := simView{simOrder: o, Action: r.URL.RequestURI()}
	if r.Method == http.MethodGet {
		g.render(w, http.StatusOK, view)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	switch r.PostFormValue("action") {
	case "cancel":
		http.Redirect(w, r, withResult(o.ReturnURL, "cancelled"), http.StatusSeeOther)
	case "pay":
		n := Notification{OrderNo: o.OrderNo, TxnID: g.TxnID(o.OrderNo), AmountCents: o.AmountCents, Paid: true}
		status, err := g.Deliver(r.Context(), o.NotifyURL, n)
		if err != nil || status < 200 || status > 299 {
			g.log().Warn("sim gateway: notification not accepted", "order", o.OrderNo, "status", status, "err", err)
			view.Error = fmt.Sprintf("支付结果通知商户失败（%s），可重新支付；同一订单不会重复扣款。", describe(status, err))
			g.render(w, http.StatusBadGateway, view)
			return
		}
		http.Redirect(w, r, withResult(o.ReturnURL, "paid"), http.StatusSeeOther)
	default:
		http.Error(w, "未知操作", http.StatusBadRequest)
	}
}

func describe(status int, err error) string {
	if err != nil {
		return "无法连接"
	}
	return "HTTP " + strconv.Itoa(status)
}

func (g *SimGateway) render(w http.ResponseWriter, status int, v simView) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = simPage.Execute(w, v)
}

func (g *SimGateway) log() *slog.Logger {
	if g.Log != nil {
		return g.Log
	}
	return slog.Default()
}

// withResult adds result=… to a return URL; an empty or unparsable one
// becomes the site root.
func withResult(returnURL, result string) string {
	u, err := url.Parse(returnURL)
	if returnURL == "" || err != nil {
		return "/"
	}
	q := u.Query()
	q.Set("result", result)
	u.RawQuery = q.Encode()
	return u.String()
}

// Yuan formats fen as yuan with two decimals.
func Yuan(cents int) string {
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	return fmt.Sprintf("%s%d.%02d", sign, cents/100, cents%100)
}

// truncate cuts s to n characters.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}
