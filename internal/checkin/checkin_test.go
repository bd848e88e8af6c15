package checkin_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/attachment"
	"github.com/kaowu/kaowu/ent/enrollment"
	"github.com/kaowu/kaowu/ent/examsession"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/checkin"
	"github.com/kaowu/kaowu/internal/events"
	"github.com/kaowu/kaowu/internal/idcard"
	"github.com/kaowu/kaowu/internal/storage"
	"github.com/kaowu/kaowu/internal/txn"
)

func wantCode(t *testing.T, err error, code apperr.Code) *apperr.Error {
	t.Helper()
	e, ok := apperr.As(err)
	if !ok || e.Code != code {
		t.Fatalf("got %v, want %s", err, code)
	}
	return e
}

func TestCheckIn(t *testing.T) {
	eachBackend(t, func(t *testing.T, client *ent.Client, store storage.Store) {
		w := newWorld(t, client, store)
		ctx := w.as(w.siteU)

		t.Run("good path", func(t *testing.T) {
			sub, cancel := context.WithCancel(context.Background())
			defer cancel()
			ch, err := w.bus.Subscribe(sub, checkin.SessionTopic(w.sess.ID))
			if err != nil {
				t.Fatal(err)
			}
			in := w.input(w.goodU)
			// As a reader or a person types it: spaces, a lower-case x, a full-width dot.
			in.ReaderIDNumber = " " + strings.ToLower(in.ReaderIDNumber) + " "
			in.ReaderName = "阿依古丽 ・ 买买提"
			ci, err := w.svc.CheckIn(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			now := w.clock.Now()
			if ci.EnrollmentID != w.good.ID || ci.SessionID != w.sess.ID || ci.SiteID != w.site.ID ||
				ci.OperatorID != w.siteU.ID || !ci.CheckedInAt.Equal(now) || ci.ReaderPhotoID == nil {
				t.Fatalf("check-in row: %+v", ci)
			}
			e := client.Enrollment.GetX(w.sys, w.good.ID)
			if e.CheckedInAt == nil || !e.CheckedInAt.Equal(now) {
				t.Fatalf("enrollment checked_in_at = %v", e.CheckedInAt)
			}
			live := client.Attachment.GetX(w.sys, ci.LivePhotoID)
			reader := client.Attachment.GetX(w.sys, *ci.ReaderPhotoID)
			for _, c := range []struct {
				a      *ent.Attachment
				kind   attachment.Kind
				prefix string
				ct     string
			}{
				{live, attachment.KindCHECKIN_LIVE_PHOTO, fmt.Sprintf("checkins/%d/%d/live-", w.sess.ID, w.good.ID), "image/jpeg"},
				{reader, attachment.KindCHECKIN_READER_PHOTO, fmt.Sprintf("checkins/%d/%d/reader-", w.sess.ID, w.good.ID), "image/png"},
			} {
				if c.a.Kind != c.kind || c.a.OwnerID != w.goodU.ID || c.a.UploadedByID == nil || *c.a.UploadedByID != w.siteU.ID ||
					!strings.HasPrefix(c.a.BlobKey, c.prefix) || c.a.ContentType != c.ct {
					t.Fatalf("attachment %+v", c.a)
				}
				rc, info, err := w.store.Get(context.Background(), c.a.BlobKey)
				if err != nil {
					t.Fatalf("blob %s: %v", c.a.BlobKey, err)
				}
				b, _ := io.ReadAll(rc)
				rc.Close()
				if int64(len(b)) != c.a.Size || info.SHA256 != c.a.Sha256 {
					t.Fatalf("blob %s: %d bytes sha %s, row says %d %s", c.a.BlobKey, len(b), info.SHA256, c.a.Size, c.a.Sha256)
				}
			}
			// The proctors' dashboards hear of it, with ids only.
			select {
			case ev := <-ch:
				var p map[string]any
				if err := json.Unmarshal(ev.Payload, &p); err != nil {
					t.Fatal(err)
				}
				if ev.Type != checkin.EventCheckedIn || ev.Topic != "session:"+fmt.Sprint(w.sess.ID) ||
					!reflect.DeepEqual(p, map[string]any{"id": float64(w.good.ID), "checkInID": float64(ci.ID)}) {
					t.Fatalf("event %s %s %s", ev.Topic, ev.Type, ev.Payload)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("no CHECKED_IN event")
			}
			// A proctor of the site sees it.
			got, err := client.CheckIn.Query().All(w.as(w.proctor))
			if err != nil || len(got) != 1 || got[0].ID != ci.ID {
				t.Fatalf("proctor's check-ins: %v %v", got, err)
			}
			if n, err := client.CheckIn.Query().Count(w.as(w.site2U)); err != nil || n != 0 {
				t.Fatalf("another site sees %d check-ins (%v)", n, err)
			}
		})

		// Every refusal below leaves the data, the blobs and the bus as they were.
		refused := func(t *testing.T, ctx context.Context, in checkin.Input, code apperr.Code, reason, field, msg string) *apperr.Error {
			t.Helper()
			before := w.state()
			_, err := w.svc.CheckIn(ctx, in)
			e := wantCode(t, err, code)
			if reason != "" && e.Extra["reason"] != reason {
				t.Errorf("reason %v, want %s (%s)", e.Extra["reason"], reason, e.Message)
			}
			if field != "" && e.Field != field {
				t.Errorf("field %q, want %q (%s)", e.Field, field, e.Message)
			}
			if msg != "" && !strings.Contains(e.Message, msg) {
				t.Errorf("message %q lacks %q", e.Message, msg)
			}
			if after := w.state(); !reflect.DeepEqual(before, after) {
				t.Errorf("a refused check-in changed state: %+v → %+v", before, after)
			}
			return e
		}

		t.Run("roster mismatches", func(t *testing.T) {
			refused(t, ctx, w.input(w.stranger), apperr.NotFound, "NOT_ON_ROSTER", "", "该考生不在本场考试名单中")
			refused(t, ctx, w.input(w.elseU), apperr.NotFound, "NOT_ON_ROSTER", "", "该考生不在本场考试名单中")
			in := w.input(w.unpaidU)
			in.ReaderName = "赵君"
			refused(t, ctx, in, apperr.BadInput, "NAME_MISMATCH", "readerName", "姓名与报名信息不一致")
			refused(t, ctx, w.input(w.pendingU), apperr.Forbidden, "NOT_APPROVED", "", "未通过审核")
			refused(t, ctx, w.input(w.unpaidU), apperr.Forbidden, "NOT_PAID", "", "尚未缴费")
			e := refused(t, ctx, w.input(w.goodU), apperr.Conflict, "ALREADY_CHECKED_IN", "", "已于 08:30:00 签到")
			if e.Extra["checkedInAt"] != "2026-05-15T08:30:00+08:00" {
				t.Errorf("checkedInAt %v", e.Extra["checkedInAt"])
			}
		})

		t.Run("bad input", func(t *testing.T) {
			in := w.input(w.unpaidU)
			num := *w.unpaidU.IDNumber
			bad := num[:17] + "0"
			if num[17] == '0' {
				bad = num[:17] + "1"
			}
			in.ReaderIDNumber = bad
			refused(t, ctx, in, apperr.BadInput, "", "readerIDNumber", "校验位")
			in = w.input(w.unpaidU)
			in.ReaderIDNumber = ""
			refused(t, ctx, in, apperr.BadInput, "", "readerIDNumber", "")
			in = w.input(w.unpaidU)
			in.ReaderName = "  "
			refused(t, ctx, in, apperr.BadInput, "", "readerName", "")
			in = w.input(w.unpaidU)
			in.SessionID = 0
			refused(t, ctx, in, apperr.BadInput, "", "sessionID", "")
			for name, photo := range map[string][]byte{
				"missing": nil,
				"text":    []byte("this is not a picture at all"),
				"pdf":     []byte("%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n"),
				"gif":     []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"),
				"tiny":    picture(t, "png", 20, 20),
				"cut":     picture(t, "jpeg", 640, 480)[:200],
			} {
				in = w.input(w.unpaidU)
				in.LivePhoto = photo
				t.Run("live photo "+name, func(t *testing.T) { refused(t, ctx, in, apperr.BadInput, "", "livePhoto", "") })
			}
			in = w.input(w.unpaidU)
			in.ReaderPhoto = []byte("garbage")
			refused(t, ctx, in, apperr.BadInput, "", "readerPhoto", "证件照片")
		})

		t.Run("who may check in", func(t *testing.T) {
			in := w.input(w.unpaidU)
			refused(t, w.as(w.site2U), in, apperr.Forbidden, "", "", "本考点")
			refused(t, w.as(w.proctor), in, apperr.Forbidden, "", "", "")
			refused(t, w.as(w.admin), in, apperr.Forbidden, "", "", "")
			refused(t, w.as(w.goodU), in, apperr.Forbidden, "", "", "")
			refused(t, context.Background(), in, apperr.Unauthenticated, "", "", "")
			in.SessionID = w.sess.ID + 100000
			refused(t, ctx, in, apperr.NotFound, "", "sessionID", "考试场次不存在")
		})

		t.Run("check-in window", func(t *testing.T) {
			defer w.clock.Set(start.Add(-30 * time.Minute))
			for _, c := range []struct {
				at     time.Time
				reason string
			}{
				{start.AddDate(0, 0, -1), "NOT_OPEN_YET"},
				{start.Add(-checkin.OpensBefore - time.Second), "NOT_OPEN_YET"},
				{start.Add(checkin.ClosesAfter + time.Second), "WINDOW_CLOSED"},
				{start.AddDate(0, 0, 1), "WINDOW_CLOSED"},
			} {
				w.clock.Set(c.at)
				e := refused(t, ctx, w.input(w.unpaidU), apperr.Forbidden, c.reason, "", "本场考试 2026-05-15 09:00 开始，签到时间为 08:00 至 09:30")
				if e.Extra["opensAt"] != "2026-05-15T08:00:00+08:00" || e.Extra["closesAt"] != "2026-05-15T09:30:00+08:00" {
					t.Errorf("window extensions %v", e.Extra)
				}
			}
			// The edges are inside.
			for _, at := range []time.Time{start.Add(-checkin.OpensBefore), start.Add(checkin.ClosesAfter)} {
				u := w.person("边界" + at.Format("1504"))
				w.enroll(u, w.sess, enrollment.StatusAPPROVED, enrollment.PaymentStatusPAID)
				w.clock.Set(at)
				if _, err := w.svc.CheckIn(ctx, w.input(u)); err != nil {
					t.Fatalf("at %v: %v", at, err)
				}
			}
		})

		t.Run("cancelled or closed session", func(t *testing.T) {
			for _, st := range []examsession.Status{examsession.StatusCANCELLED, examsession.StatusCLOSED} {
				client.ExamSession.UpdateOneID(w.sess.ID).SetStatus(st).SaveX(w.sys)
				reason := map[examsession.Status]string{examsession.StatusCANCELLED: "SESSION_CANCELLED", examsession.StatusCLOSED: "SESSION_CLOSED"}[st]
				refused(t, ctx, w.input(w.unpaidU), apperr.Forbidden, reason, "", "")
			}
			client.ExamSession.UpdateOneID(w.sess.ID).SetStatus(examsession.StatusSCHEDULED).SaveX(w.sys)
		})
	})
}

func TestEventsOnlyAfterCommit(t *testing.T) {
	eachBackend(t, func(t *testing.T, client *ent.Client, store storage.Store) {
		w := newWorld(t, client, store)
		ctx := w.as(w.siteU)

		// Inside a caller's transaction that rolls back: nothing published,
		// nothing written, the blobs removed.
		before := w.state()
		err := txn.WithTx(ctx, client, func(ctx context.Context) error {
			if _, err := w.svc.CheckIn(ctx, w.input(w.goodU)); err != nil {
				return err
			}
			if got := w.bus.Stats().Published; got != before.published {
				t.Errorf("published inside the transaction")
			}
			return errors.New("a later step of the mutation failed")
		})
		if err == nil || err.Error() != "a later step of the mutation failed" {
			t.Fatalf("WithTx: %v", err)
		}
		if after := w.state(); !reflect.DeepEqual(before, after) {
			t.Fatalf("rolled-back check-in left state: %+v → %+v", before, after)
		}

		// The same inside a transaction that commits: published once, at commit.
		err = txn.WithTx(ctx, client, func(ctx context.Context) error {
			if _, err := w.svc.CheckIn(ctx, w.input(w.goodU)); err != nil {
				return err
			}
			if got := w.bus.Stats().Published; got != before.published {
				t.Errorf("published before commit")
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := w.bus.Stats().Published; got != before.published+1 {
			t.Fatalf("published %d events at commit, want 1", got-before.published)
		}

		// A store that fails: refused, nothing written.
		client.Enrollment.UpdateOneID(w.unpaid.ID).SetPaymentStatus(enrollment.PaymentStatusPAID).SaveX(w.sys)
		w.store.failPut.Store(true)
		before = w.state()
		in := w.input(w.unpaidU)
		if _, err := w.svc.CheckIn(ctx, in); err == nil {
			t.Fatal("check-in with a failing store succeeded")
		}
		w.store.failPut.Store(false)
		if after := w.state(); !reflect.DeepEqual(before, after) {
			t.Fatalf("failed store: state %+v → %+v", before, after)
		}
	})
}

func TestConcurrentCheckIns(t *testing.T) {
	eachBackend(t, func(t *testing.T, client *ent.Client, store storage.Store) {
		w := newWorld(t, client, store)
		ctx := w.as(w.siteU)
		const n = 6
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = w.svc.CheckIn(ctx, w.input(w.goodU))
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			} else if e, isApp := apperr.As(err); !isApp || e.Code != apperr.Conflict {
				t.Errorf("loser: %v", err)
			}
		}
		st := w.state()
		if ok != 1 || st.checkIns != 1 || st.photos != 2 || st.checkedIn != 1 || len(st.blobs) != 2 || st.published != 1 {
			t.Fatalf("%d succeeded; state %+v", ok, st)
		}
	})
}

func TestRoster(t *testing.T) {
	eachBackend(t, func(t *testing.T, client *ent.Client, store storage.Store) {
		w := newWorld(t, client, store)
		ci, err := w.svc.CheckIn(w.as(w.siteU), w.input(w.goodU))
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range []*ent.User{w.siteU, w.proctor, w.admin} {
			r, err := w.svc.Roster(w.as(u), w.sess.ID)
			if err != nil {
				t.Fatalf("%s: %v", u.Role, err)
			}
			// Approved ones only: the good one (paid, checked in) and the unpaid one.
			if r.Total != 2 || r.CheckedIn != 1 || len(r.Entries) != 2 {
				t.Fatalf("%s: roster %+v", u.Role, r)
			}
			for _, e := range r.Entries {
				switch e.Enrollment.ID {
				case w.good.ID:
					if e.CheckIn == nil || e.CheckIn.ID != ci.ID || e.CandidateName != "阿依古丽·买买提" ||
						e.MaskedIDNumber != idcard.Mask(*w.goodU.IDNumber) || e.TicketNo == "" ||
						!strings.HasPrefix(e.LivePhotoURL, "/blobs/checkins/") {
						t.Errorf("checked-in entry %+v", e)
					}
				case w.unpaid.ID:
					if e.CheckIn != nil || e.LivePhotoURL != "" || e.PaymentStatus != enrollment.PaymentStatusUNPAID {
						t.Errorf("unpaid entry %+v", e)
					}
				default:
					t.Errorf("unexpected entry %d", e.Enrollment.ID)
				}
			}
		}
		_, err = w.svc.Roster(w.as(w.site2U), w.sess.ID)
		wantCode(t, err, apperr.Forbidden)
		_, err = w.svc.Roster(w.as(w.goodU), w.sess.ID)
		wantCode(t, err, apperr.Forbidden)
		_, err = w.svc.Roster(context.Background(), w.sess.ID)
		wantCode(t, err, apperr.Unauthenticated)
		_, err = w.svc.Roster(w.as(w.siteU), w.sess.ID+100000)
		wantCode(t, err, apperr.NotFound)
	})
}

func TestSubscribe(t *testing.T) {
	eachBackend(t, func(t *testing.T, client *ent.Client, store storage.Store) {
		w := newWorld(t, client, store)
		ctx, cancel := context.WithCancel(w.as(w.proctor))
		ch, err := w.svc.Subscribe(ctx, w.sess.ID)
		if err != nil {
			t.Fatal(err)
		}
		// Other events of the session topic are not check-ins.
		if err := w.bus.Publish(context.Background(), events.Event{Topic: checkin.SessionTopic(w.sess.ID), Type: "FOCUS_LOSS", Payload: []byte(`{"id":1}`)}); err != nil {
			t.Fatal(err)
		}
		ci, err := w.svc.CheckIn(w.as(w.siteU), w.input(w.goodU))
		if err != nil {
			t.Fatal(err)
		}
		select {
		case ev := <-ch:
			if ev.SessionID != w.sess.ID || ev.EnrollmentID != w.good.ID || ev.CheckInID != ci.ID {
				t.Fatalf("event %+v", ev)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no event")
		}
		cancel()
		for range ch { // closed once ctx is done
		}
		for _, c := range []struct {
			ctx  context.Context
			code apperr.Code
		}{
			{w.as(w.site2U), apperr.Forbidden}, {w.as(w.goodU), apperr.Forbidden},
			{context.Background(), apperr.Unauthenticated}, {w.as(w.admin), ""},
		} {
			sub, stop := context.WithCancel(c.ctx)
			_, err := w.svc.Subscribe(sub, w.sess.ID)
			stop()
			if c.code == "" {
				if err != nil {
					t.Errorf("admin: %v", err)
				}
				continue
			}
			wantCode(t, err, c.code)
		}
	})
}
