package proctor_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/attempt"
	"github.com/kaowu/kaowu/ent/proctorassignment"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/db"
	"github.com/kaowu/kaowu/internal/evidence"
	"github.com/kaowu/kaowu/internal/proctor"
	"github.com/kaowu/kaowu/internal/storage"
)

func TestAssignAndMayWatch(t *testing.T) {
	eachDatabase(t, func(t *testing.T, d *db.DB, store storage.Store) {
		w := newWorld(t, d, store)
		client := w.client
		count := func() int {
			return client.ProctorAssignment.Query().Where(proctorassignment.SessionIDIn(w.sess.ID, w.other.ID)).CountX(w.sys)
		}
		pa, err := w.svc.Assign(w.as(w.siteU), w.proctorU.ID, w.sess.ID)
		if err != nil || pa.ProctorID != w.proctorU.ID || pa.SessionID != w.sess.ID || pa.SiteID != w.site.ID {
			t.Fatalf("%+v %v", pa, err)
		}
		again, err := w.svc.Assign(w.as(w.admin), w.proctorU.ID, w.sess.ID)
		if err != nil || again.ID != pa.ID {
			t.Fatalf("repeat assign: %+v %v", again, err)
		}
		if _, err := w.svc.Assign(w.as(w.admin), w.proctor2U.ID, w.other.ID); err != nil {
			t.Fatal(err)
		}
		before := count()
		for _, c := range []struct {
			ctx       context.Context
			proctor   int
			session   int
			code      apperr.Code
			fieldWant string
		}{
			{w.as(w.site2U), w.proctorU.ID, w.sess.ID, apperr.Forbidden, ""},
			{w.as(w.proctorU), w.proctorU.ID, w.other.ID, apperr.Forbidden, ""},
			{w.as(w.reviewer), w.proctorU.ID, w.other.ID, apperr.Forbidden, ""},
			{context.Background(), w.proctorU.ID, w.other.ID, apperr.Unauthenticated, ""},
			{w.as(w.siteU), w.foreign.ID, w.sess.ID, apperr.BadInput, "proctorID"}, // another site's proctor
			{w.as(w.siteU), w.candU.ID, w.sess.ID, apperr.BadInput, "proctorID"},   // not a proctor
			{w.as(w.siteU), w.proctorU.ID, 0, apperr.BadInput, "sessionID"},        //
			{w.as(w.siteU), 0, w.sess.ID, apperr.BadInput, "proctorID"},            //
			{w.as(w.siteU), w.proctorU.ID, w.other.ID + 1e6, apperr.NotFound, "sessionID"},
			{w.as(w.siteU), w.proctorU.ID + 1e6, w.sess.ID, apperr.NotFound, "proctorID"},
		} {
			_, err := w.svc.Assign(c.ctx, c.proctor, c.session)
			if e := wantCode(t, err, c.code); e.Field != c.fieldWant {
				t.Fatalf("field %q, want %q", e.Field, c.fieldWant)
			}
		}
		if count() != before {
			t.Fatal("a refused assignment was written")
		}

		for _, c := range []struct {
			u    *ent.User
			sess int
			code apperr.Code
		}{
			{w.proctorU, w.sess.ID, ""}, {w.siteU, w.sess.ID, ""}, {w.reviewer, w.sess.ID, ""}, {w.admin, w.sess.ID, ""},
			{w.proctor2U, w.sess.ID, apperr.Forbidden}, {w.proctorU, w.other.ID, apperr.Forbidden},
			{w.foreign, w.sess.ID, apperr.Forbidden}, {w.site2U, w.sess.ID, apperr.Forbidden},
			{w.candU, w.sess.ID, apperr.Forbidden}, {w.proctorU, w.other.ID + 1e6, apperr.NotFound},
		} {
			err := w.svc.MayWatch(w.as(c.u), c.sess)
			if c.code == "" {
				if err != nil {
					t.Fatalf("%s: %v", c.u.Role, err)
				}
				continue
			}
			wantCode(t, err, c.code)
		}
		wantCode(t, w.svc.MayWatch(context.Background(), w.sess.ID), apperr.Unauthenticated)
	})
}

func TestProctorActions(t *testing.T) {
	eachDatabase(t, func(t *testing.T, d *db.DB, store storage.Store) {
		w := newWorld(t, d, store)
		ctx := w.as(w.proctorU)
		if _, err := w.svc.Assign(w.as(w.siteU), w.proctorU.ID, w.sess.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := w.svc.Assign(w.as(w.siteU), w.proctor2U.ID, w.other.ID); err != nil {
			t.Fatal(err)
		}
		sessCh := w.subscribe(proctor.SessionTopic(w.sess.ID))
		attCh := w.subscribe(proctor.AttemptTopic(w.att.ID))
		otherCh := w.subscribe(proctor.SessionTopic(w.other.ID)) // what proctor2 may watch

		t.Run("others are refused and write nothing", func(t *testing.T) {
			for _, c := range []struct {
				ctx  context.Context
				code apperr.Code
			}{
				{w.as(w.proctor2U), apperr.Forbidden}, {w.as(w.foreign), apperr.Forbidden},
				{w.as(w.siteU), apperr.Forbidden}, {w.as(w.admin), apperr.Forbidden},
				{w.as(w.candU), apperr.Forbidden}, {context.Background(), apperr.Unauthenticated},
			} {
				wantCode(t, w.svc.Flag(c.ctx, w.att.ID, true, "x"), c.code)
				wantCode(t, w.svc.Note(c.ctx, w.att.ID, "x"), c.code)
				wantCode(t, w.svc.Warn(c.ctx, w.att.ID, "x"), c.code)
				wantCode(t, w.svc.End(c.ctx, w.att.ID, "x"), c.code)
			}
			if len(w.records(w.att.ID)) != 0 || w.reload(w.att.ID).Flagged || len(w.ender.calls) != 0 {
				t.Fatal("a refused action was written")
			}
			// Assigned to the other session, proctor2 hears nothing of this one.
			w.nothingBut(otherCh, proctor.SessionTopic(w.other.ID))
			w.nothingBut(sessCh, proctor.SessionTopic(w.sess.ID))
		})

		t.Run("bad input", func(t *testing.T) {
			long := strings.Repeat("字", 501)
			wantCode(t, w.svc.Note(ctx, w.att.ID, "  "), apperr.BadInput)
			wantCode(t, w.svc.Note(ctx, w.att.ID, long), apperr.BadInput)
			wantCode(t, w.svc.Warn(ctx, w.att.ID, ""), apperr.BadInput)
			wantCode(t, w.svc.End(ctx, w.att.ID, " "), apperr.BadInput)
			wantCode(t, w.svc.Flag(ctx, w.att.ID, true, long), apperr.BadInput)
			wantCode(t, w.svc.Flag(ctx, 0, true, ""), apperr.BadInput)
			wantCode(t, w.svc.Flag(ctx, w.otherAtt.ID+1e6, true, ""), apperr.NotFound)
			if len(w.records(w.att.ID)) != 0 {
				t.Fatal("bad input was written")
			}
		})

		t.Run("flag, note, warn", func(t *testing.T) {
			if err := w.svc.Flag(ctx, w.att.ID, true, " 疑似他人代考 "); err != nil {
				t.Fatal(err)
			}
			if !w.reload(w.att.ID).Flagged {
				t.Fatal("not flagged")
			}
			if e := next(t, sessCh); e.Type != proctor.EventFlag || payload(t, e)["flagged"] != true || payload(t, e)["note"] != "疑似他人代考" {
				t.Fatalf("%s %s", e.Type, e.Payload)
			}
			if err := w.svc.Note(ctx, w.att.ID, "考生多次低头"); err != nil {
				t.Fatal(err)
			}
			if e := next(t, sessCh); e.Type != proctor.EventNote {
				t.Fatal(e.Type)
			}
			if err := w.svc.Warn(ctx, w.att.ID, "请将视线保持在屏幕上"); err != nil {
				t.Fatal(err)
			}
			e := next(t, attCh)
			if p := payload(t, e); e.Type != proctor.EventWarning || p["text"] != "请将视线保持在屏幕上" ||
				p["attemptID"] != float64(w.att.ID) || p["by"] != float64(w.proctorU.ID) {
				t.Fatalf("%s %s", e.Type, e.Payload)
			}
			if e := next(t, sessCh); e.Type != proctor.EventWarning {
				t.Fatal(e.Type)
			}
			if err := w.svc.Flag(ctx, w.att.ID, false, ""); err != nil {
				t.Fatal(err)
			}
			if w.reload(w.att.ID).Flagged {
				t.Fatal("still flagged")
			}
			next(t, sessCh)
		})

		t.Run("end", func(t *testing.T) {
			// The exam service fails: neither the END record nor the submission stays.
			w.ender.fail.Store(true)
			n := len(w.records(w.att.ID))
			if err := w.svc.End(ctx, w.att.ID, "使用手机查阅资料"); err == nil {
				t.Fatal("End succeeded without the exam service")
			}
			if len(w.records(w.att.ID)) != n || w.reload(w.att.ID).Status != attempt.StatusIN_PROGRESS {
				t.Fatal("a failed End left a record")
			}
			w.ender.fail.Store(false)
			if err := w.svc.End(ctx, w.att.ID, "使用手机查阅资料"); err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(w.ender.calls) != "[PROCTOR_ENDED]" {
				t.Fatalf("ender calls %v", w.ender.calls)
			}
			a := w.reload(w.att.ID)
			if a.Status != attempt.StatusSUBMITTED || a.SubmitReason == nil || *a.SubmitReason != attempt.SubmitReasonPROCTOR_ENDED {
				t.Fatalf("%+v", a)
			}
			wantCode(t, w.svc.End(ctx, w.att.ID, "再次结束"), apperr.Conflict)
			wantCode(t, w.svc.Warn(ctx, w.att.ID, "已结束"), apperr.Conflict)
			// Notes and flags stay possible after the end (review evidence).
			if err := w.svc.Note(ctx, w.att.ID, "交卷后补充说明"); err != nil {
				t.Fatal(err)
			}
		})

		// Every action is in the chain, by the proctor, and the chain holds.
		recs := w.records(w.att.ID)
		want := []string{evidence.KindFlag, evidence.KindNote, evidence.KindWarning, evidence.KindFlag, evidence.KindEnd, evidence.KindNote}
		if fmt.Sprint(kinds(recs)) != fmt.Sprint(want) {
			t.Fatalf("evidence %v, want %v", kinds(recs), want)
		}
		for _, r := range recs {
			if r.ActorID == nil || *r.ActorID != w.proctorU.ID {
				t.Fatalf("record %d actor %v", r.Seq, r.ActorID)
			}
		}
		var end map[string]any
		_ = json.Unmarshal(recs[4].Payload, &end)
		if end["reason"] != "使用手机查阅资料" {
			t.Fatalf("END payload %s", recs[4].Payload)
		}
		w.verify(w.att.ID)
		w.nothingBut(otherCh, proctor.SessionTopic(w.other.ID))
	})
}
