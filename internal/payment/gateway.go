package payment

import (
	"context"
	"errors"
	"net/http"
)

// Order is what kaowu asks a payment gateway to collect.
type Order struct {
	OrderNo     string // kaowu's order number (Payment.order_no), the gateway's merchant order id
	AmountCents int    // in fen
	Subject     string // shown to the payer on the gateway's page
	NotifyURL   string // where the gateway POSTs its signed notification
	ReturnURL   string // where the payer's browser goes afterwards
}

// Notification is a gateway's verified statement about an order.
type Notification struct {
	OrderNo     string
	TxnID       string // the gateway's transaction id
	AmountCents int
	Paid        bool // false: the gateway closed the order unpaid
}

// Gateway is an online payment provider. Implementations: SimGateway (for
// development and tests); real providers (Alipay, WeChat Pay, UnionPay) fit
// the same two calls.
type Gateway interface {
	// CreateOrder registers the order with the gateway and returns the URL
	// the payer's browser is sent to. Asking again for the same order number
	// and amount returns a URL for the same order.
	CreateOrder(ctx context.Context, o Order) (payURL string, err error)
	// VerifyNotification checks the signature of a notification body the
	// gateway POSTed and decodes it. It returns ErrBadSignature for anything
	// the gateway did not sign.
	VerifyNotification(body []byte, header http.Header) (Notification, error)
}

// Errors of gateways.
var (
	ErrBadSignature    = errors.New("payment: notification signature invalid")
	ErrBadNotification = errors.New("payment: notification malformed")
)
