package tickets_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	_ "image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/enrollment"
	"github.com/kaowu/kaowu/ent/notification"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/events"
	"github.com/kaowu/kaowu/internal/idcard"
	"github.com/kaowu/kaowu/internal/notify"
	"github.com/kaowu/kaowu/internal/pdf/pdftest"
	"github.com/kaowu/kaowu/internal/storage"
	"github.com/kaowu/kaowu/internal/tickets"
	"github.com/kaowu/kaowu/internal/viewer"
)

func wantCode(t *testing.T, err error, code apperr.Code) *apperr.Error {
	t.Helper()
	e, ok := apperr.As(err)
	if !ok || e.Code != code {
		t.Fatalf("got %v, want %s", err, code)
	}
	return e
}

func TestOpensAt(t *testing.T) {
	for _, c := range []struct{ start, want time.Time }{
		{time.Date(2026, 5, 15, 9, 0, 0, 0, cst), time.Date(2026, 5, 10, 0, 0, 0, 0, cst)},
		{time.Date(2026, 5, 15, 0, 0, 0, 0, cst), time.Date(2026, 5, 10, 0, 0, 0, 0, cst)},
		{time.Date(2026, 3, 3, 23, 30, 0, 0, cst), time.Date(2026, 2, 26, 0, 0, 0, 0, cst)},
		// 01:00 UTC on 15 May is 09:00 in China: the China date counts.
		{time.Date(2026, 5, 15, 1, 0, 0, 0, time.UTC), time.Date(2026, 5, 10, 0, 0, 0, 0, cst)},
		// 20:00 UTC on 14 May is already 15 May in China.
		{time.Date(2026, 5, 14, 20, 0, 0, 0, time.UTC), time.Date(2026, 5, 10, 0, 0, 0, 0, cst)},
	} {
		if got := tickets.OpensAt(c.start); !got.Equal(c.want) {
			t.Errorf("OpensAt(%v) = %v, want %v", c.start, got, c.want)
		}
	}
}

func TestAdmissionTicket(t *testing.T) {
	eachBackend(t, func(t *testing.T, client *ent.Client, store storage.Store) {
		w := newWorld(t, client, store)
		w.addPhoto(redJPEG(t, 300, 400), "image/jpeg")
		ctx := w.as(w.cand)

		t.Run("refused before the window, with the opening date", func(t *testing.T) {
			for _, now := range []time.Time{time.Date(2026, 5, 1, 0, 0, 0, 0, cst), time.Date(2026, 5, 9, 23, 59, 59, 0, cst)} {
				w.clock.Set(now)
				_, err := w.svc.AdmissionTicket(ctx, w.enr.ID)
				e := wantCode(t, err, apperr.Forbidden)
				if e.Message != "准考证将于 2026-05-10 起开放打印" || e.Extra["reason"] != "NOT_YET_OPEN" ||
					e.Extra["opensAt"] != "2026-05-10T00:00:00+08:00" {
					t.Fatalf("refusal: %q %v", e.Message, e.Extra)
				}
			}
		})

		w.clock.Set(time.Date(2026, 5, 10, 0, 0, 0, 0, cst))
		b, err := w.svc.AdmissionTicket(ctx, w.enr.ID)
		if err != nil {
			t.Fatalf("at the opening instant: %v", err)
		}

		keep(t, "ticket.pdf", b)
		t.Run("content", func(t *testing.T) {
			if !bytes.HasPrefix(b, []byte("%PDF-")) {
				t.Fatal("not a PDF")
			}
			if bytes.Contains(b, []byte(w.idNumber)) {
				t.Fatal("the full ID number is in the PDF bytes")
			}
			text := pdftest.Text(t, b)
			for _, want := range []string{
				"安全生产考试准考证", "李堃喆", idcard.Mask(w.idNumber), w.ticketNo, "居民身份证",
				"建筑施工企业专职安全生产管理人员（C1）", w.site.Name, "深圳市南山区珺赟路88号", "第一考场（3楼301）",
				"2026年05月15日（星期五）", "09:00 至 10:30（90 分钟）", "考生须知", "扫码核验准考证号",
			} {
				if !strings.Contains(text, want) {
					t.Errorf("ticket lacks %q:\n%s", want, text)
				}
			}
			if strings.Contains(text, w.idNumber) {
				t.Error("the full ID number is printed")
			}
			if strings.Contains(text, "照片") {
				t.Error("placeholder shown although the candidate has a photo")
			}
		})

		t.Run("QR code and photo on the rendered page", func(t *testing.T) {
			page := pdftest.RenderPNG(t, b, 1, 150)
			img, _, err := image.Decode(bytes.NewReader(page))
			if err != nil {
				t.Fatal(err)
			}
			if got := decodeQR(t, img); got != w.ticketNo {
				t.Fatalf("QR decodes to %q, want %q", got, w.ticketNo)
			}
			// The photo is solid red: about 96×128 pt of it, i.e. 200×267 px at 150 dpi.
			if n := redPixels(img); n < 40000 {
				t.Fatalf("photo not drawn: %d red pixels", n)
			}
		})

		t.Run("who may download", func(t *testing.T) {
			for _, u := range []*ent.User{w.cand, w.companyU, w.siteU, w.admin, w.reviewer} {
				if _, err := w.svc.AdmissionTicket(w.as(u), w.enr.ID); err != nil {
					t.Errorf("%s: %v", u.Role, err)
				}
			}
			for _, u := range []*ent.User{w.other, w.site2U} {
				_, err := w.svc.AdmissionTicket(w.as(u), w.enr.ID)
				wantCode(t, err, apperr.NotFound)
			}
			for _, u := range []*ent.User{w.proctor, w.trainerU} {
				_, err := w.svc.AdmissionTicket(w.as(u), w.enr.ID)
				wantCode(t, err, apperr.Forbidden)
			}
			_, err := w.svc.AdmissionTicket(context.Background(), w.enr.ID)
			wantCode(t, err, apperr.Unauthenticated)
			_, err = w.svc.AdmissionTicket(ctx, 0)
			wantCode(t, err, apperr.BadInput)
			_, err = w.svc.AdmissionTicket(ctx, w.enr.ID+100000)
			wantCode(t, err, apperr.NotFound)
		})

		t.Run("not printable states", func(t *testing.T) {
			check := func(reason string, mut func(*ent.EnrollmentUpdateOne)) {
				t.Helper()
				e := client.Enrollment.Create().SetCandidateID(w.other.ID).SetPlanID(w.plan.ID).SetSubjectID(w.subj.ID).
					SetSessionID(w.sess.ID).SetSiteID(w.site.ID).SetStatus(enrollment.StatusAPPROVED).
					SetPledgeAcceptedAt(examStart).SetSubmittedAt(examStart).SetFeeCents(1).
					SetPaymentStatus(enrollment.PaymentStatusPAID).SetTicketNo("X" + reason + w.u).SaveX(w.sys)
				up := client.Enrollment.UpdateOneID(e.ID)
				mut(up)
				up.SaveX(w.sys)
				_, err := w.svc.AdmissionTicket(w.as(w.other), e.ID)
				if got := wantCode(t, err, apperr.Forbidden); got.Extra["reason"] != reason {
					t.Errorf("reason %v, want %s (%s)", got.Extra["reason"], reason, got.Message)
				}
				// Other candidates' enrollments conflict with the partial unique index; cancel it.
				client.Enrollment.UpdateOneID(e.ID).SetStatus(enrollment.StatusCANCELLED).SaveX(w.sys)
			}
			check("NOT_APPROVED", func(u *ent.EnrollmentUpdateOne) { u.SetStatus(enrollment.StatusPENDING_REVIEW) })
			check("NOT_PAID", func(u *ent.EnrollmentUpdateOne) { u.SetPaymentStatus(enrollment.PaymentStatusPENDING) })
			check("NOT_SEATED", func(u *ent.EnrollmentUpdateOne) { u.ClearSessionID() })
			check("NO_TICKET_NUMBER", func(u *ent.EnrollmentUpdateOne) { u.ClearTicketNo() })
		})

		t.Run("placeholder when the photo is not a picture", func(t *testing.T) {
			w.addPhoto([]byte("%PDF-1.4 a scanned photo"), "application/pdf") // newest wins
			b, err := w.svc.AdmissionTicket(ctx, w.enr.ID)
			if err != nil {
				t.Fatal(err)
			}
			if text := pdftest.Text(t, b); !strings.Contains(text, "照片") {
				t.Fatalf("no placeholder:\n%s", text)
			}
		})
	})
}

// keep writes a document to $KAOWU_KEEP_PDF, for looking at the layout by hand.
func keep(t *testing.T, name string, b []byte) {
	if dir := os.Getenv("KAOWU_KEEP_PDF"); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Error(err)
		}
	}
}

func decodeQR(t *testing.T, img image.Image) string {
	t.Helper()
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_CHARACTER_SET: "UTF-8"})
	if err != nil {
		t.Fatalf("decode QR: %v", err)
	}
	return res.GetText()
}

func redPixels(img image.Image) int {
	n := 0
	red := func(r, g, b uint8) bool { return r > 0xb0 && g < 0x40 && b < 0x40 }
	switch m := img.(type) {
	case *image.RGBA: // what pdftoppm's PNGs decode to: read the pixels directly
		for i := 0; i+3 < len(m.Pix); i += 4 {
			if red(m.Pix[i], m.Pix[i+1], m.Pix[i+2]) {
				n++
			}
		}
	default:
		b := img.Bounds()
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				r, g, bl, _ := img.At(x, y).RGBA()
				if red(uint8(r>>8), uint8(g>>8), uint8(bl>>8)) {
					n++
				}
			}
		}
	}
	return n
}

func TestRegistrationForm(t *testing.T) {
	eachBackend(t, func(t *testing.T, client *ent.Client, store storage.Store) {
		w := newWorld(t, client, store)
		// The seated enrollment is for the same plan and subject; cancel it so the
		// new one can be the candidate's live enrollment (partial unique index).
		client.Enrollment.UpdateOneID(w.enr.ID).SetStatus(enrollment.StatusCANCELLED).SaveX(w.sys)
		// Just submitted: pending review, unpaid, no seat, assigned by an institution.
		e := client.Enrollment.Create().SetCandidateID(w.cand.ID).SetPlanID(w.plan.ID).SetSubjectID(w.subj.ID).
			SetTrainingOrgID(w.trainer.ID).SetSource(enrollment.SourcePLAN).SetPledgeAcceptedAt(w.clock.Now()).
			SetSubmittedAt(w.clock.Now()).SetFeeCents(6000).SaveX(w.sys)

		b, err := w.svc.RegistrationForm(w.as(w.cand), e.ID)
		if err != nil {
			t.Fatal(err)
		}
		keep(t, "form.pdf", b)
		text := pdftest.Text(t, b)
		for _, want := range []string{
			"安全生产考试报名表", "李堃喆", idcard.Mask(w.idNumber), "男", "1990-05-17", "本科", "汉族",
			"深圳市南山区科技园珺赟路1号", "518000", "8年", "社会化考生", "138****8000",
			"2026年第二批安全生产考试", "培训机构考试计划", "待审核", "未缴费", "60.00 元",
			"尚未安排考试场次", "照片", "报名编号 " + strconv.Itoa(e.ID), "考生签名",
		} {
			if !strings.Contains(text, want) {
				t.Errorf("form lacks %q:\n%s", want, text)
			}
		}
		if strings.Contains(text, w.idNumber) || strings.Contains(text, "13800138000") {
			t.Error("full ID or phone number printed")
		}
		// The assigning institution may print it; the ticket itself is not open to it.
		if _, err := w.svc.RegistrationForm(w.as(w.trainerU), e.ID); err != nil {
			t.Errorf("training org: %v", err)
		}
		if _, err := w.svc.RegistrationForm(w.as(w.other), e.ID); err == nil {
			t.Error("another candidate printed the form")
		} else {
			wantCode(t, err, apperr.NotFound)
		}
		_, err = w.svc.RegistrationForm(w.as(w.proctor), e.ID)
		wantCode(t, err, apperr.Forbidden)

		// The seated, approved one shows its review, payment and arrangement.
		b, err = w.svc.RegistrationForm(w.as(w.companyU), w.enr.ID)
		if err != nil {
			t.Fatal(err)
		}
		text = pdftest.Text(t, b)
		for _, want := range []string{"已取消", "已缴费", w.dept.Name, w.company.Name, w.ticketNo, "第一考场（3楼301）", "单位报名"} {
			if !strings.Contains(text, want) {
				t.Errorf("form lacks %q:\n%s", want, text)
			}
		}
	})
}

// withViewer stands in for the server middleware that resolves the bearer token.
func withViewer(v *viewer.Viewer, h http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if v != nil {
			r = r.WithContext(viewer.NewContext(r.Context(), v))
		}
		h.ServeHTTP(rw, r)
	})
}

func TestHandler(t *testing.T) {
	eachBackend(t, func(t *testing.T, client *ent.Client, store storage.Store) {
		w := newWorld(t, client, store)
		w.clock.Set(time.Date(2026, 5, 12, 8, 0, 0, 0, cst))
		h := w.svc.Handler()
		get := func(u *ent.User, path string) *httptest.ResponseRecorder {
			var v *viewer.Viewer
			if u != nil {
				v = viewer.FromContext(w.as(u))
			}
			rec := httptest.NewRecorder()
			withViewer(v, h).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
			return rec
		}
		id := strconv.Itoa(w.enr.ID)
		for _, path := range []string{tickets.TicketPath + id + ".pdf", tickets.FormPath + id + ".pdf"} {
			rec := get(w.cand, path)
			if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/pdf" ||
				!bytes.HasPrefix(rec.Body.Bytes(), []byte("%PDF-")) || rec.Header().Get("Cache-Control") != "no-store" {
				t.Fatalf("%s: %d %v", path, rec.Code, rec.Header())
			}
			if cd := rec.Header().Get("Content-Disposition"); !strings.HasPrefix(cd, "inline; filename*=utf-8''") {
				t.Errorf("Content-Disposition %q", cd)
			}
		}
		errorOf := func(rec *httptest.ResponseRecorder) (string, string) {
			var body struct {
				Errors []struct {
					Message    string
					Extensions map[string]any
				}
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || len(body.Errors) != 1 {
				t.Fatalf("error body %q: %v", rec.Body.String(), err)
			}
			code, _ := body.Errors[0].Extensions["code"].(string)
			return code, body.Errors[0].Message
		}
		for _, c := range []struct {
			u      *ent.User
			path   string
			status int
			code   string
		}{
			{w.other, tickets.TicketPath + id + ".pdf", 404, "NOT_FOUND"},
			{nil, tickets.TicketPath + id + ".pdf", 401, "UNAUTHENTICATED"},
			{w.proctor, tickets.TicketPath + id + ".pdf", 403, "FORBIDDEN"},
			{w.cand, tickets.TicketPath + "abc.pdf", 404, "NOT_FOUND"},
			{w.cand, tickets.TicketPath + id, 404, "NOT_FOUND"},
			{w.cand, tickets.TicketPath + "0" + id + ".pdf", 404, "NOT_FOUND"},
		} {
			rec := get(c.u, c.path)
			if code, _ := errorOf(rec); rec.Code != c.status || code != c.code {
				t.Errorf("%v %s: %d %s, want %d %s", c.u, c.path, rec.Code, code, c.status, c.code)
			}
		}
		// Before the window: 403 with the opening date.
		w.clock.Set(time.Date(2026, 5, 9, 8, 0, 0, 0, cst))
		rec := get(w.cand, tickets.TicketPath+id+".pdf")
		if code, msg := errorOf(rec); rec.Code != 403 || code != "FORBIDDEN" || msg != "准考证将于 2026-05-10 起开放打印" {
			t.Errorf("before the window: %d %s %s", rec.Code, code, msg)
		}
	})
}

func TestReadyNotice(t *testing.T) {
	eachBackend(t, func(t *testing.T, client *ent.Client, store storage.Store) {
		w := newWorld(t, client, store)
		ctx := context.Background()
		bus := events.NewLocal()
		t.Cleanup(func() { _ = bus.Close() })
		rec := &notify.Recorder{}
		n := &notify.Notifier{Client: client, Bus: bus, SMS: rec}

		// Opening on 10 May: found by a window containing 10 May 00:00, not by its neighbours.
		ids := func(from, to time.Time) []int {
			got, err := w.svc.OpeningBetween(ctx, from, to)
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		has := func(list []int) bool {
			for _, id := range list {
				if id == w.enr.ID {
					return true
				}
			}
			return false
		}
		day := time.Date(2026, 5, 10, 0, 0, 0, 0, cst)
		if !has(ids(day, day.Add(time.Second))) || !has(ids(day.Add(-time.Hour), day.Add(time.Hour))) {
			t.Error("not found in a window containing its opening")
		}
		if has(ids(day.Add(-24*time.Hour), day)) || has(ids(day.Add(time.Second), day.Add(24*time.Hour))) {
			t.Error("found in a window not containing its opening")
		}

		w.clock.Set(day.Add(-time.Minute))
		if sent, err := w.svc.NotifyReady(ctx, n, w.enr.ID); err != nil || sent {
			t.Fatalf("before the window: sent=%v err=%v", sent, err)
		}
		w.clock.Set(day)
		if sent, err := w.svc.NotifyReady(ctx, n, w.enr.ID); err != nil || !sent {
			t.Fatalf("at the window: sent=%v err=%v", sent, err)
		}
		note := client.Notification.Query().Where(notification.UserID(w.cand.ID), notification.Kind(tickets.KindTicketReady)).
			OnlyX(viewer.SystemContext(ctx))
		if !strings.Contains(note.Body, w.ticketNo) || !strings.Contains(note.Body, "2026年05月15日") {
			t.Errorf("notification body %q", note.Body)
		}
		if m, ok := rec.Last("13800138000"); !ok || m.Text != "准考证已开放打印" {
			t.Errorf("sms %v %v", m, ok)
		}
	})
}

// TestNotifyDue: the sweep sends each "ticket ready" notice once, only when
// the ticket is printable, even when several sweeps run at once.
func TestNotifyDue(t *testing.T) {
	eachBackend(t, func(t *testing.T, client *ent.Client, store storage.Store) {
		w := newWorld(t, client, store)
		ctx := context.Background()
		bus := events.NewLocal()
		t.Cleanup(func() { _ = bus.Close() })
		n := &notify.Notifier{Client: client, Bus: bus, SMS: &notify.Recorder{}}
		count := func() int {
			return client.Notification.Query().Where(notification.UserID(w.cand.ID), notification.Kind(tickets.KindTicketReady)).
				CountX(viewer.SystemContext(ctx))
		}
		opens := time.Date(2026, 5, 10, 0, 0, 0, 0, cst)
		w.clock.Set(opens.Add(-time.Minute))
		if sent, err := w.svc.NotifyDue(ctx, n); err != nil || sent != 0 || count() != 0 {
			t.Fatalf("before the window: sent=%d err=%v notices=%d", sent, err, count())
		}
		w.clock.Set(opens.Add(time.Hour))
		var wg sync.WaitGroup
		for range 4 { // four replicas sweeping together
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := w.svc.NotifyDue(ctx, n); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if count() != 1 {
			t.Fatalf("notices after concurrent sweeps: %d, want 1", count())
		}
		if sent, err := w.svc.NotifyDue(ctx, n); err != nil || sent != 0 || count() != 1 {
			t.Fatalf("second sweep: sent=%d err=%v notices=%d", sent, err, count())
		}
	})
}
