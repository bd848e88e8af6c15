// Package notify sends what a person waits for: SMS through a swappable
// sender, and in-app notifications pushed to the person's subscription.
package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/internal/events"
	"github.com/kaowu/kaowu/internal/idcard"
	"github.com/kaowu/kaowu/internal/txn"
	"github.com/kaowu/kaowu/internal/viewer"
)

// Sender delivers SMS. Implementations talk to an SMS gateway; LogSender logs.
type Sender interface {
	// SendCode sends a verification code for purpose (e.g. "LOGIN").
	SendCode(ctx context.Context, phone, purpose, code string) error
	// SendText sends a notification text.
	SendText(ctx context.Context, phone, text string) error
}

// LogSender is the default sender: it logs that a message went to a masked
// number, and the code itself only when ShowCodes (development) is set.
type LogSender struct {
	Log       *slog.Logger
	ShowCodes bool
}

// SendCode implements Sender.
func (s LogSender) SendCode(_ context.Context, phone, purpose, code string) error {
	attrs := []any{"to", idcard.MaskPhone(phone), "purpose", purpose}
	if s.ShowCodes {
		attrs = append(attrs, "code", code, "note", "development mode only")
	}
	s.Log.Info(fmt.Sprintf("code sent to %s", idcard.MaskPhone(phone)), attrs...)
	return nil
}

// SendText implements Sender.
func (s LogSender) SendText(_ context.Context, phone, text string) error {
	s.Log.Info(fmt.Sprintf("sms sent to %s", idcard.MaskPhone(phone)), "chars", len([]rune(text)))
	return nil
}

// Message is one message a Recorder saw.
type Message struct {
	Phone, Purpose, Code, Text string
}

// Recorder keeps sent messages in memory; tests and the demo use it to read codes.
type Recorder struct {
	mu   sync.Mutex
	msgs []Message
}

// SendCode implements Sender.
func (r *Recorder) SendCode(_ context.Context, phone, purpose, code string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, Message{Phone: phone, Purpose: purpose, Code: code})
	return nil
}

// SendText implements Sender.
func (r *Recorder) SendText(_ context.Context, phone, text string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, Message{Phone: phone, Text: text})
	return nil
}

// Last returns the newest message to phone, if any.
func (r *Recorder) Last(phone string) (Message, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.msgs) - 1; i >= 0; i-- {
		if r.msgs[i].Phone == phone {
			return r.msgs[i], true
		}
	}
	return Message{}, false
}

// Count returns how many messages were sent.
func (r *Recorder) Count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.msgs)
}

// UserTopic is the event topic of one account's notifications.
func UserTopic(userID int) string { return "user:" + strconv.Itoa(userID) }

// EventNotification is the event type of a new in-app notification.
const EventNotification = "NOTIFICATION"

// Notifier writes in-app notifications and, after commit, pushes them and sends SMS.
type Notifier struct {
	Client *ent.Client
	Bus    events.Bus
	SMS    Sender
	Log    *slog.Logger
}

// Notify records a notification for userID in the current transaction; once
// it commits, subscribers are told and an SMS goes to the phone on file.
func (n *Notifier) Notify(ctx context.Context, userID int, kind, title, body string) error {
	sys := viewer.SystemContext(ctx)
	c := txn.Client(ctx, n.Client)
	note, err := c.Notification.Create().SetUserID(userID).SetKind(kind).SetTitle(title).SetBody(body).Save(sys)
	if err != nil {
		return err
	}
	u, err := c.User.Get(sys, userID)
	if err != nil {
		return err
	}
	phone := u.Phone
	txn.AfterCommit(ctx, func() {
		// Delivery is best effort and must not hold the request.
		payload, _ := json.Marshal(map[string]int{"id": note.ID})
		_ = n.Bus.Publish(context.Background(), events.Event{
			Topic: UserTopic(userID), Type: EventNotification, Payload: payload, At: time.Now(),
		})
		if phone != "" && n.SMS != nil {
			if err := n.SMS.SendText(context.Background(), phone, title); err != nil && n.Log != nil {
				n.Log.Warn("sms notification failed", "user", userID, "err", err)
			}
		}
	})
	return nil
}
