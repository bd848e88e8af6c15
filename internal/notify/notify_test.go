package notify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/notification"
	"github.com/kaowu/kaowu/ent/user"
	"github.com/kaowu/kaowu/internal/db"
	"github.com/kaowu/kaowu/internal/events"
	"github.com/kaowu/kaowu/internal/notify"
	"github.com/kaowu/kaowu/internal/testenv"
	"github.com/kaowu/kaowu/internal/txn"
	"github.com/kaowu/kaowu/internal/viewer"
)

func TestRecorder(t *testing.T) {
	r := &notify.Recorder{}
	if _, ok := r.Last("13800000000"); ok || r.Count() != 0 {
		t.Fatal("empty recorder has messages")
	}
	ctx := context.Background()
	_ = r.SendCode(ctx, "13800000000", "LOGIN", "123456")
	_ = r.SendText(ctx, "13900000000", "hello")
	_ = r.SendCode(ctx, "13800000000", "RESET_PASSWORD", "654321")
	if r.Count() != 3 {
		t.Fatalf("count %d", r.Count())
	}
	if m, _ := r.Last("13800000000"); m.Code != "654321" || m.Purpose != "RESET_PASSWORD" {
		t.Fatalf("last %+v", m)
	}
	if m, _ := r.Last("13900000000"); m.Text != "hello" || m.Code != "" {
		t.Fatalf("last %+v", m)
	}
	// Safe for concurrent use (run with -race).
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = r.SendText(ctx, "13700000000", "x")
			r.Last("13700000000")
			r.Count()
		}()
	}
	wg.Wait()
	if r.Count() != 11 {
		t.Fatalf("count %d", r.Count())
	}
}

func TestLogSender(t *testing.T) {
	ctx := context.Background()
	var buf bytes.Buffer
	s := notify.LogSender{Log: slog.New(slog.NewTextHandler(&buf, nil))}
	if err := s.SendCode(ctx, "13812345678", "LOGIN", "482913"); err != nil {
		t.Fatal(err)
	}
	if err := s.SendText(ctx, "13812345678", "您的单位注册已审核通过"); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, secret := range []string{"482913", "13812345678", "审核通过"} {
		if strings.Contains(out, secret) {
			t.Errorf("log contains %q: %s", secret, out)
		}
	}
	if !strings.Contains(out, "138****5678") || !strings.Contains(out, "LOGIN") {
		t.Errorf("log lacks the masked number or purpose: %s", out)
	}
	buf.Reset()
	s.ShowCodes = true
	_ = s.SendCode(ctx, "13812345678", "LOGIN", "482913")
	if !strings.Contains(buf.String(), "482913") {
		t.Errorf("development log lacks the code: %s", buf.String())
	}
}

func TestUserTopic(t *testing.T) {
	if got := notify.UserTopic(42); got != "user:42" {
		t.Fatalf("topic %q", got)
	}
}

// failingSender fails every send.
type failingSender struct{}

func (failingSender) SendCode(context.Context, string, string, string) error {
	return errors.New("gateway down")
}
func (failingSender) SendText(context.Context, string, string) error {
	return errors.New("gateway down")
}

func TestNotifier(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		ctx := context.Background()
		sys := viewer.SystemContext(ctx)
		_, client := testenv.Client(t, url, db.Options{})
		bus := events.NewLocal()
		t.Cleanup(func() { _ = bus.Close() })
		rec := &notify.Recorder{}
		n := &notify.Notifier{Client: client, Bus: bus, SMS: rec}

		mkUser := func(login, phone string) *ent.User {
			u, err := client.User.Create().SetRole(user.RoleCANDIDATE).SetLogin(login).SetName(login).SetPhone(phone).SetPasswordHash("x").Save(sys)
			if err != nil {
				t.Fatal(err)
			}
			return u
		}
		sub := func(u *ent.User) <-chan events.Event {
			sctx, cancel := context.WithCancel(ctx)
			t.Cleanup(cancel)
			ch, err := bus.Subscribe(sctx, notify.UserTopic(u.ID))
			if err != nil {
				t.Fatal(err)
			}
			return ch
		}
		wait := func(ch <-chan events.Event) events.Event {
			t.Helper()
			select {
			case ev := <-ch:
				return ev
			case <-time.After(5 * time.Second):
				t.Fatal("no event")
			}
			return events.Event{}
		}
		none := func(ch <-chan events.Event) {
			t.Helper()
			select {
			case ev := <-ch:
				t.Fatalf("unexpected event %+v", ev)
			case <-time.After(150 * time.Millisecond):
			}
		}
		rows := func(u *ent.User) int {
			c, err := client.Notification.Query().Where(notification.UserID(u.ID)).Count(sys)
			if err != nil {
				t.Fatal(err)
			}
			return c
		}

		t.Run("without a transaction", func(t *testing.T) {
			u := mkUser("u1", "13800000001")
			ch := sub(u)
			// A viewer of another user: the notifier writes as system.
			vctx := viewer.NewContext(ctx, &viewer.Viewer{UserID: u.ID + 1000, Role: viewer.Reviewer})
			if err := n.Notify(vctx, u.ID, "K", "标题", "正文"); err != nil {
				t.Fatal(err)
			}
			ev := wait(ch)
			var p struct{ ID int }
			if err := json.Unmarshal(ev.Payload, &p); err != nil || ev.Type != notify.EventNotification {
				t.Fatalf("event %+v", ev)
			}
			row, err := client.Notification.Get(sys, p.ID)
			if err != nil || row.UserID != u.ID || row.Title != "标题" || row.Body != "正文" || row.ReadAt != nil {
				t.Fatalf("row %+v err %v", row, err)
			}
			if m, ok := rec.Last(u.Phone); !ok || m.Text != "标题" {
				t.Fatalf("sms %+v", m)
			}
			// The owner reads it; nobody else does.
			own := viewer.NewContext(ctx, &viewer.Viewer{UserID: u.ID, Role: viewer.Candidate})
			if c, _ := client.Notification.Query().Count(own); c != 1 {
				t.Fatalf("owner sees %d", c)
			}
			other := viewer.NewContext(ctx, &viewer.Viewer{UserID: u.ID + 1, Role: viewer.Candidate})
			if c, _ := client.Notification.Query().Where(notification.UserID(u.ID)).Count(other); c != 0 {
				t.Fatalf("another user sees %d", c)
			}
		})

		t.Run("committed transaction", func(t *testing.T) {
			u := mkUser("u2", "13800000002")
			ch := sub(u)
			sent := rec.Count()
			err := txn.WithTx(ctx, client, func(ctx context.Context) error {
				if err := n.Notify(ctx, u.ID, "K", "t", "b"); err != nil {
					return err
				}
				if rec.Count() != sent {
					t.Error("SMS before commit")
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			wait(ch)
			if rec.Count() != sent+1 || rows(u) != 1 {
				t.Fatalf("sms %d rows %d", rec.Count()-sent, rows(u))
			}
		})

		t.Run("rolled-back transaction", func(t *testing.T) {
			u := mkUser("u3", "13800000003")
			ch := sub(u)
			sent := rec.Count()
			err := txn.WithTx(ctx, client, func(ctx context.Context) error {
				if err := n.Notify(ctx, u.ID, "K", "t", "b"); err != nil {
					return err
				}
				return errors.New("rollback")
			})
			if err == nil {
				t.Fatal("committed")
			}
			none(ch)
			if rec.Count() != sent || rows(u) != 0 {
				t.Fatalf("sms %d rows %d after rollback", rec.Count()-sent, rows(u))
			}
		})

		t.Run("no phone: event but no SMS", func(t *testing.T) {
			u := mkUser("u4", "")
			ch := sub(u)
			sent := rec.Count()
			if err := n.Notify(ctx, u.ID, "K", "t", "b"); err != nil {
				t.Fatal(err)
			}
			wait(ch)
			if rec.Count() != sent {
				t.Fatal("SMS to an empty number")
			}
		})

		t.Run("unknown user", func(t *testing.T) {
			before, _ := client.Notification.Query().Count(sys)
			if err := n.Notify(ctx, 987654321, "K", "t", "b"); err == nil {
				t.Fatal("notified a missing user")
			}
			if after, _ := client.Notification.Query().Count(sys); after != before {
				t.Fatal("row written for a missing user")
			}
		})

		t.Run("SMS failure is not the caller's failure", func(t *testing.T) {
			u := mkUser("u5", "13800000005")
			ch := sub(u)
			var buf bytes.Buffer
			fn := &notify.Notifier{Client: client, Bus: bus, SMS: failingSender{}, Log: slog.New(slog.NewTextHandler(&buf, nil))}
			if err := fn.Notify(ctx, u.ID, "K", "t", "b"); err != nil {
				t.Fatal(err)
			}
			wait(ch)
			if !strings.Contains(buf.String(), "gateway down") {
				t.Fatalf("failure not logged: %s", buf.String())
			}
			// Without SMS sender or logger: still fine.
			bare := &notify.Notifier{Client: client, Bus: bus}
			if err := bare.Notify(ctx, u.ID, "K", "t", "b"); err != nil {
				t.Fatal(err)
			}
			wait(ch)
		})
	})
}
