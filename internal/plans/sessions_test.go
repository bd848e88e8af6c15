package plans_test

import (
	"testing"
	"time"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/enrollment"
	"github.com/kaowu/kaowu/ent/examsession"
	"github.com/kaowu/kaowu/ent/schematype"
	"github.com/kaowu/kaowu/ent/trainingrecord"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/plans"
	"github.com/kaowu/kaowu/internal/seats"
	"github.com/kaowu/kaowu/internal/testenv"
)

func TestAddSession(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		r101, r102 := e.room(e.site, "101", 40), e.room(e.site, "102", 30)
		p := e.plan(e.trainU)
		sessions := func() int { return must(e.client.ExamSession.Query().Count(e.sys))(t) }
		input := func(r *ent.Room, d, h, m int) plans.SessionInput {
			return plans.SessionInput{PlanID: p.ID, SubjectID: e.subjA.ID, RoomID: r.ID, StartsAt: day(time.April, d, h, m), DurationMinutes: 90}
		}

		t.Run("defaults and copies", func(t *testing.T) {
			s := e.session(e.trainU, p, e.subjA, r101, 10, 9)
			if s.Capacity != 40 || s.Taken != 0 || s.SiteID != e.site.ID || s.TrainingOrgID == nil || *s.TrainingOrgID != e.trainer.ID ||
				s.Status != examsession.StatusSCHEDULED || !s.Onsite || s.PlanID != p.ID {
				t.Fatalf("session %+v", s)
			}
			in := input(r102, 10, 9, 0)
			in.Capacity, in.Onsite = ptr(25), ptr(false)
			s2 := must(e.svc.AddSession(e.as(e.trainU), in))(t)
			if s2.Capacity != 25 || s2.Onsite {
				t.Fatalf("session %+v", s2)
			}
		})
		t.Run("overlapping sessions in a room are refused, touching ones are not", func(t *testing.T) {
			// 101 holds April 10, 09:00–10:30.
			before := sessions()
			for _, at := range [][2]int{{9, 0}, {10, 0}, {8, 0}, {7, 31}} {
				_, err := e.svc.AddSession(e.as(e.trainU), input(r101, 10, at[0], at[1]))
				wantCode(t, err, apperr.Conflict, "startsAt")
			}
			long := input(r101, 10, 7, 0)
			long.DurationMinutes = 600 // 07:00–17:00 covers the session
			_, err := e.svc.AddSession(e.as(e.trainU), long)
			wantCode(t, err, apperr.Conflict, "startsAt")
			if sessions() != before {
				t.Fatal("a refused session was written")
			}
			e.session(e.trainU, p, e.subjA, r101, 10, 7)                       // 07:00–08:30, ends before 09:00
			must(e.svc.AddSession(e.as(e.trainU), input(r101, 10, 10, 30)))(t) // starts as the other ends
			// Another plan's sessions count: the room is the same room.
			other := e.plan(e.train2U)
			_, err = e.svc.AddSession(e.as(e.train2U), plans.SessionInput{PlanID: other.ID, SubjectID: e.subjB.ID, RoomID: r101.ID,
				StartsAt: day(time.April, 10, 11, 0), DurationMinutes: 30})
			wantCode(t, err, apperr.Conflict, "startsAt")
		})
		t.Run("capacity above the room's is refused", func(t *testing.T) {
			before := sessions()
			in := input(r102, 11, 9, 0)
			in.Capacity = ptr(31)
			_, err := e.svc.AddSession(e.as(e.trainU), in)
			wantCode(t, err, apperr.BadInput, "capacity")
			in.Capacity = ptr(0)
			_, err = e.svc.AddSession(e.as(e.trainU), in)
			wantCode(t, err, apperr.BadInput, "capacity")
			if sessions() != before {
				t.Fatal("written")
			}
		})
		t.Run("a disabled room is refused", func(t *testing.T) {
			off := e.room(e.site, "停用", 40)
			must(e.client.Room.UpdateOneID(off.ID).SetDisabled(true).Save(e.as(e.siteU)))(t)
			_, err := e.svc.AddSession(e.as(e.trainU), input(off, 12, 9, 0))
			wantMsg(t, err, apperr.BadInput, "roomID", plans.MsgRoomDisabled)
			_, err = e.svc.AddSession(e.as(e.trainU), plans.SessionInput{PlanID: p.ID, SubjectID: e.subjA.ID, RoomID: 999999,
				StartsAt: day(time.April, 12, 9, 0), DurationMinutes: 90})
			wantCode(t, err, apperr.BadInput, "roomID")
		})
		t.Run("time, duration and subject are checked", func(t *testing.T) {
			before := sessions()
			bad := []struct {
				field string
				edit  func(*plans.SessionInput)
			}{
				{"startsAt", func(in *plans.SessionInput) { in.StartsAt = day(time.May, 2, 9, 0) }},    // after the plan's exams
				{"startsAt", func(in *plans.SessionInput) { in.StartsAt = day(time.March, 31, 9, 0) }}, // before them
				{"startsAt", func(in *plans.SessionInput) { in.StartsAt = time.Time{} }},
				{"durationMinutes", func(in *plans.SessionInput) { in.DurationMinutes = 9 }},
				{"durationMinutes", func(in *plans.SessionInput) { in.DurationMinutes = 601 }},
				{"subjectID", func(in *plans.SessionInput) { in.SubjectID = 999999 }},
			}
			for _, b := range bad {
				in := input(r102, 20, 9, 0)
				b.edit(&in)
				_, err := e.svc.AddSession(e.as(e.trainU), in)
				wantCode(t, err, apperr.BadInput, b.field)
			}
			retired := must(e.client.Subject.Create().SetCode("OLD").SetName("旧科目").SetFeeCents(1).SetActive(false).Save(e.sys))(t)
			in := input(r102, 20, 9, 0)
			in.SubjectID = retired.ID
			_, err := e.svc.AddSession(e.as(e.trainU), in)
			wantCode(t, err, apperr.BadInput, "subjectID")
			// A plan running now: a session may not start in the past.
			e.clock.Set(day(time.April, 5, 12, 0))
			_, err = e.svc.AddSession(e.as(e.trainU), input(r102, 5, 9, 0))
			e.clock.Set(day(time.March, 1, 9, 0))
			wantCode(t, err, apperr.BadInput, "startsAt")
			if sessions() != before {
				t.Fatal("written")
			}
		})
		t.Run("only the plan's institution or admin", func(t *testing.T) {
			before := sessions()
			_, err := e.svc.AddSession(e.as(e.train2U), input(r102, 21, 9, 0))
			wantMsg(t, err, apperr.Forbidden, "", plans.MsgNotOwner)
			for _, u := range []*ent.User{e.siteU, e.reviewer, e.candU} {
				_, err := e.svc.AddSession(e.as(u), input(r102, 21, 9, 0))
				wantCode(t, err, apperr.Forbidden, "")
			}
			_, err = e.svc.AddSession(e.as(e.trainU), plans.SessionInput{PlanID: 999999, SubjectID: e.subjA.ID, RoomID: r102.ID,
				StartsAt: day(time.April, 21, 9, 0), DurationMinutes: 90})
			wantCode(t, err, apperr.NotFound, "")
			if sessions() != before {
				t.Fatal("written")
			}
			s := must(e.svc.AddSession(e.as(e.admin), input(r102, 21, 9, 0)))(t)
			if s.TrainingOrgID == nil || *s.TrainingOrgID != e.trainer.ID {
				t.Fatal("admin's session lost the plan's institution")
			}
			ap := e.plan(e.admin)
			_, err = e.svc.AddSession(e.as(e.trainU), plans.SessionInput{PlanID: ap.ID, SubjectID: e.subjA.ID, RoomID: r102.ID,
				StartsAt: day(time.April, 22, 9, 0), DurationMinutes: 90})
			wantCode(t, err, apperr.Forbidden, "")
			as := must(e.svc.AddSession(e.as(e.admin), plans.SessionInput{PlanID: ap.ID, SubjectID: e.subjA.ID, RoomID: r102.ID,
				StartsAt: day(time.April, 22, 9, 0), DurationMinutes: 90}))(t)
			if as.TrainingOrgID != nil {
				t.Fatal("admin plan's session has an institution")
			}
		})
	})
}

func TestUpdateSession(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		r101, r102, small := e.room(e.site, "101", 40), e.room(e.site, "102", 40), e.room(e.site, "小教室", 5)
		far := e.room(e.site2, "F1", 40)
		ids := e.trainees(10, e.trainer, schematype.CategoryA, trainingrecord.StatusAPPROVED)
		p := e.plan(e.trainU)
		s := e.session(e.trainU, p, e.subjA, r101, 10, 9)
		busy := e.session(e.trainU, p, e.subjA, r102, 10, 9)
		must(e.svc.ManualAssign(e.as(e.trainU), plans.ManualAssignInput{PlanID: p.ID, SessionID: s.ID, CandidateIDs: ids[:8]}))(t)

		t.Run("capacity never below taken nor above the room", func(t *testing.T) {
			_, err := e.svc.UpdateSession(e.as(e.trainU), s.ID, plans.SessionUpdate{Capacity: ptr(7)})
			wantMsg(t, err, apperr.BadInput, "capacity", "场次人数不能少于已安排的考生人数（8人）")
			_, err = e.svc.UpdateSession(e.as(e.trainU), s.ID, plans.SessionUpdate{Capacity: ptr(41)})
			wantCode(t, err, apperr.BadInput, "capacity")
			got := must(e.svc.UpdateSession(e.as(e.trainU), s.ID, plans.SessionUpdate{Capacity: ptr(8)}))(t)
			if got.Capacity != 8 || got.Taken != 8 {
				t.Fatalf("%+v", got)
			}
		})
		t.Run("moving re-checks the new room's capacity and timetable", func(t *testing.T) {
			_, err := e.svc.UpdateSession(e.as(e.trainU), s.ID, plans.SessionUpdate{RoomID: ptr(small.ID)})
			wantCode(t, err, apperr.BadInput, "capacity")
			_, err = e.svc.UpdateSession(e.as(e.trainU), s.ID, plans.SessionUpdate{RoomID: ptr(r102.ID)})
			wantCode(t, err, apperr.Conflict, "startsAt") // 102 is busy at that time
			_, err = e.svc.UpdateSession(e.as(e.trainU), busy.ID, plans.SessionUpdate{StartsAt: ptr(day(time.April, 10, 8, 0)), RoomID: ptr(r101.ID)})
			wantCode(t, err, apperr.Conflict, "startsAt")
			if got := e.sess(s.ID); got.RoomID != r101.ID || !got.StartsAt.Equal(day(time.April, 10, 9, 0)) {
				t.Fatal("a refused move changed the session")
			}
			// Retiming within its own room does not collide with itself.
			must(e.svc.UpdateSession(e.as(e.trainU), s.ID, plans.SessionUpdate{StartsAt: ptr(day(time.April, 10, 9, 30))}))(t)
			_, err = e.svc.UpdateSession(e.as(e.trainU), s.ID, plans.SessionUpdate{StartsAt: ptr(day(time.May, 10, 9, 30))})
			wantCode(t, err, apperr.BadInput, "startsAt")
			_, err = e.svc.UpdateSession(e.as(e.trainU), s.ID, plans.SessionUpdate{DurationMinutes: ptr(5)})
			wantCode(t, err, apperr.BadInput, "durationMinutes")
		})
		t.Run("a move to another site carries the enrollments and tells the candidates", func(t *testing.T) {
			got := must(e.svc.UpdateSession(e.as(e.trainU), s.ID, plans.SessionUpdate{RoomID: ptr(far.ID)}))(t)
			if got.SiteID != e.site2.ID || got.RoomID != far.ID || got.Taken != 8 {
				t.Fatalf("%+v", got)
			}
			n := must(e.client.Enrollment.Query().Where(enrollment.SessionID(s.ID), enrollment.SiteID(e.site2.ID)).Count(e.sys))(t)
			if n != 8 {
				t.Fatalf("%d enrollments follow the session's site", n)
			}
			cand := must(e.client.User.Get(e.sys, ids[0]))(t)
			if e.notes(cand, plans.KindSessionChanged) != 2 { // retimed, then moved
				t.Fatalf("%d change notifications", e.notes(cand, plans.KindSessionChanged))
			}
			e.consistent()
		})
		t.Run("a disabled room cannot be moved into", func(t *testing.T) {
			off := e.room(e.site, "停用", 40)
			must(e.client.Room.UpdateOneID(off.ID).SetDisabled(true).Save(e.as(e.siteU)))(t)
			_, err := e.svc.UpdateSession(e.as(e.trainU), busy.ID, plans.SessionUpdate{RoomID: ptr(off.ID)})
			wantMsg(t, err, apperr.BadInput, "roomID", plans.MsgRoomDisabled)
		})
		t.Run("only the plan's institution, only before the session starts", func(t *testing.T) {
			_, err := e.svc.UpdateSession(e.as(e.train2U), busy.ID, plans.SessionUpdate{Capacity: ptr(10)})
			wantMsg(t, err, apperr.Forbidden, "", plans.MsgNotOwner)
			_, err = e.svc.UpdateSession(e.as(e.trainU), 999999, plans.SessionUpdate{Capacity: ptr(10)})
			wantCode(t, err, apperr.NotFound, "")
			e.clock.Set(day(time.April, 10, 9, 5))
			_, err = e.svc.UpdateSession(e.as(e.trainU), busy.ID, plans.SessionUpdate{Capacity: ptr(10)})
			e.clock.Set(day(time.March, 1, 9, 0))
			wantMsg(t, err, apperr.Conflict, "", plans.MsgSessionStarted)
			if e.sess(busy.ID).Capacity != 40 {
				t.Fatal("changed")
			}
		})
		t.Run("seats taken outside the plan lock still bound the capacity", func(t *testing.T) {
			// A self-enrollment takes seats with a bare conditional UPDATE.
			mustOK(t, seats.TakeMany(e.ctx, e.client, busy.ID, 12))
			_, err := e.svc.UpdateSession(e.as(e.trainU), busy.ID, plans.SessionUpdate{Capacity: ptr(11)})
			wantCode(t, err, apperr.BadInput, "capacity")
		})
	})
}
