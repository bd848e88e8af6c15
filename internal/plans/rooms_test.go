package plans_test

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/examsession"
	"github.com/kaowu/kaowu/ent/schematype"
	"github.com/kaowu/kaowu/ent/trainingrecord"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/plans"
	"github.com/kaowu/kaowu/internal/testenv"
	"github.com/kaowu/kaowu/internal/txn"
)

// TestRoomRules drives rooms the way the updateRoom mutation does: the
// site's own account, ent's update input, inside a transaction.
func TestRoomRules(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		ids := e.trainees(30, e.trainer, schematype.CategoryA, trainingrecord.StatusAPPROVED)
		update := func(u *ent.User, id int, in ent.UpdateRoomInput) (*ent.Room, error) {
			var out *ent.Room
			err := txn.WithTx(e.as(u), e.client, func(ctx context.Context) error {
				var err error
				out, err = ent.FromContext(ctx).Room.UpdateOneID(id).SetInput(in).Save(ctx)
				return err
			})
			return out, err
		}
		p := e.plan(e.trainU)

		t.Run("shrinking below the seats held in a future session is refused", func(t *testing.T) {
			r := e.room(e.site, "101", 40)
			s := e.session(e.trainU, p, e.subjA, r, 10, 9)
			must(e.svc.ManualAssign(e.as(e.trainU), plans.ManualAssignInput{PlanID: p.ID, SessionID: s.ID, CandidateIDs: ids[:12]}))(t)
			_, err := update(e.siteU, r.ID, ent.UpdateRoomInput{Capacity: ptr(11)})
			wantMsg(t, err, apperr.Conflict, "capacity", "该考场有未结束的考试场次已安排 12 名考生，核定人数不能少于 12")
			if got := must(e.client.Room.Get(e.sys, r.ID))(t); got.Capacity != 40 || e.sess(s.ID).Capacity != 40 {
				t.Fatal("a refused change was written")
			}
			// Shrinking to what is held cuts the session down to the room.
			must(update(e.siteU, r.ID, ent.UpdateRoomInput{Capacity: ptr(12), Name: ptr("101室")}))(t)
			if x := e.sess(s.ID); x.Capacity != 12 || x.Taken != 12 {
				t.Fatalf("session after shrink: %+v", x)
			}
			// Growing the room leaves sessions as they are.
			must(update(e.siteU, r.ID, ent.UpdateRoomInput{Capacity: ptr(50)}))(t)
			if x := e.sess(s.ID); x.Capacity != 12 {
				t.Fatalf("session capacity %d", x.Capacity)
			}
			e.consistent()
		})
		t.Run("past sessions do not hold a room", func(t *testing.T) {
			r := e.room(e.site, "102", 40)
			s := e.session(e.trainU, p, e.subjA, r, 11, 9)
			must(e.svc.ManualAssign(e.as(e.trainU), plans.ManualAssignInput{PlanID: p.ID, SessionID: s.ID, CandidateIDs: ids[12:17]}))(t)
			e.clock.Set(day(time.April, 11, 10, 31)) // the session ended a minute ago
			t.Cleanup(func() { e.clock.Set(day(time.March, 1, 9, 0)) })
			must(update(e.siteU, r.ID, ent.UpdateRoomInput{Capacity: ptr(2)}))(t)
			if x := e.sess(s.ID); x.Capacity != 40 || x.Taken != 5 {
				t.Fatalf("a past session was changed: %+v", x)
			}
			must(update(e.siteU, r.ID, ent.UpdateRoomInput{Disabled: ptr(true)}))(t)
			if x := e.sess(s.ID); x.Status != examsession.StatusSCHEDULED {
				t.Fatalf("a past session was cancelled: %s", x.Status)
			}
		})
		t.Run("disabling a room holding seats is refused", func(t *testing.T) {
			r := e.room(e.site, "103", 40)
			s := e.session(e.trainU, p, e.subjA, r, 12, 9)
			must(e.svc.ManualAssign(e.as(e.trainU), plans.ManualAssignInput{PlanID: p.ID, SessionID: s.ID, CandidateIDs: ids[17:18]}))(t)
			_, err := update(e.siteU, r.ID, ent.UpdateRoomInput{Disabled: ptr(true)})
			wantMsg(t, err, apperr.Conflict, "disabled", plans.MsgRoomSeatsHeld)
			if must(e.client.Room.Get(e.sys, r.ID))(t).Disabled || e.sess(s.ID).Status != examsession.StatusSCHEDULED {
				t.Fatal("a refused disable was written")
			}
		})
		t.Run("disabling cancels the room's empty sessions and tells the institution", func(t *testing.T) {
			r := e.room(e.site, "104", 40)
			s := e.session(e.trainU, p, e.subjA, r, 13, 9)
			notes := e.notes(e.trainU, plans.KindSessionCancelled)
			got := must(update(e.siteU, r.ID, ent.UpdateRoomInput{Disabled: ptr(true)}))(t)
			if !got.Disabled || e.sess(s.ID).Status != examsession.StatusCANCELLED {
				t.Fatalf("room disabled %v, session %s", got.Disabled, e.sess(s.ID).Status)
			}
			if e.notes(e.trainU, plans.KindSessionCancelled) != notes+1 {
				t.Fatal("institution not told")
			}
			// A cancelled session no longer blocks the time slot; the room
			// itself is closed to new sessions until re-enabled.
			_, err := e.svc.AddSession(e.as(e.trainU), plans.SessionInput{PlanID: p.ID, SubjectID: e.subjA.ID, RoomID: r.ID,
				StartsAt: day(time.April, 13, 9, 0), DurationMinutes: 90})
			wantMsg(t, err, apperr.BadInput, "roomID", plans.MsgRoomDisabled)
			must(update(e.siteU, r.ID, ent.UpdateRoomInput{Disabled: ptr(false)}))(t)
			if e.sess(s.ID).Status != examsession.StatusCANCELLED {
				t.Fatal("re-enabling revived a cancelled session")
			}
			e.session(e.trainU, p, e.subjA, r, 13, 9)
			// And a cancelled session is the institution's no more to edit.
			_, err = e.svc.UpdateSession(e.as(e.trainU), s.ID, plans.SessionUpdate{Capacity: ptr(10)})
			wantMsg(t, err, apperr.Conflict, "", plans.MsgSessionStarted)
		})
		t.Run("another site cannot change the room and learns nothing", func(t *testing.T) {
			r := e.room(e.site, "105", 40)
			s := e.session(e.trainU, p, e.subjA, r, 14, 9)
			must(e.svc.ManualAssign(e.as(e.trainU), plans.ManualAssignInput{PlanID: p.ID, SessionID: s.ID, CandidateIDs: ids[18:20]}))(t)
			for _, in := range []ent.UpdateRoomInput{{Capacity: ptr(1)}, {Capacity: ptr(10)}, {Disabled: ptr(true)}} {
				_, err := update(e.site2U, r.ID, in)
				if !ent.IsNotFound(err) {
					t.Fatalf("another site's change: %v", err)
				}
			}
			if got := must(e.client.Room.Get(e.sys, r.ID))(t); got.Capacity != 40 || got.Disabled || e.sess(s.ID).Capacity != 40 {
				t.Fatal("changed")
			}
		})
		t.Run("outside a transaction a refused change is not written either", func(t *testing.T) {
			r := e.room(e.site, "107", 40)
			s := e.session(e.trainU, p, e.subjA, r, 15, 9)
			must(e.svc.ManualAssign(e.as(e.trainU), plans.ManualAssignInput{PlanID: p.ID, SessionID: s.ID, CandidateIDs: ids[20:23]}))(t)
			_, err := e.client.Room.UpdateOneID(r.ID).SetCapacity(2).Save(e.as(e.siteU))
			wantMsg(t, err, apperr.Conflict, "capacity", "该考场有未结束的考试场次已安排 3 名考生，核定人数不能少于 3")
			_, err = e.client.Room.UpdateOneID(r.ID).SetDisabled(true).Save(e.as(e.admin))
			wantMsg(t, err, apperr.Conflict, "disabled", plans.MsgRoomSeatsHeld)
			_, err = e.client.Room.UpdateOneID(r.ID).AddCapacity(-38).Save(e.as(e.siteU))
			wantCode(t, err, apperr.Conflict, "capacity")
			if got := must(e.client.Room.Get(e.sys, r.ID))(t); got.Capacity != 40 || got.Disabled {
				t.Fatalf("room %+v", got)
			}
			must(e.client.Room.UpdateOneID(r.ID).SetCapacity(3).Save(e.as(e.siteU)))(t)
			if x := e.sess(s.ID); x.Capacity != 3 {
				t.Fatalf("session capacity %d", x.Capacity)
			}
			e.consistent()
		})
		t.Run("the largest holding decides the message", func(t *testing.T) {
			r := e.room(e.site, "108", 40)
			a := e.session(e.trainU, p, e.subjA, r, 16, 9)
			b := e.session(e.trainU, p, e.subjA, r, 17, 9)
			must(e.svc.ManualAssign(e.as(e.trainU), plans.ManualAssignInput{PlanID: p.ID, SessionID: a.ID, CandidateIDs: ids[23:25]}))(t)
			must(e.svc.ManualAssign(e.as(e.trainU), plans.ManualAssignInput{PlanID: p.ID, SessionID: b.ID, CandidateIDs: ids[25:30]}))(t)
			_, err := update(e.siteU, r.ID, ent.UpdateRoomInput{Capacity: ptr(1)})
			wantMsg(t, err, apperr.Conflict, "capacity", "该考场有未结束的考试场次已安排 5 名考生，核定人数不能少于 5")
		})
		t.Run("rooms are never deleted", func(t *testing.T) {
			r := e.room(e.site, "106", 40)
			wantDenied(t, e.client.Room.DeleteOneID(r.ID).Exec(e.as(e.admin)))
		})
	})
}

// TestRoomDisableRacesAddSession disables rooms while sessions are being
// added to them: the room row lock orders the two, so a disabled room never
// ends up with a live session (either the addition is refused, or the
// session came first and was cancelled with the room).
func TestRoomDisableRacesAddSession(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		p := e.plan(e.trainU)
		for i := range 8 {
			r := e.room(e.site, "竞争"+strconv.Itoa(i), 40)
			var wg sync.WaitGroup
			var disableErr, addErr error
			wg.Add(2)
			go func() {
				defer wg.Done()
				disableErr = txn.WithTx(e.as(e.siteU), e.client, func(ctx context.Context) error {
					return ent.FromContext(ctx).Room.UpdateOneID(r.ID).SetDisabled(true).Exec(ctx)
				})
			}()
			go func() {
				defer wg.Done()
				_, addErr = e.svc.AddSession(e.as(e.trainU), plans.SessionInput{PlanID: p.ID, SubjectID: e.subjA.ID, RoomID: r.ID,
					StartsAt: day(time.April, 10, 9, 0), DurationMinutes: 90})
			}()
			wg.Wait()
			mustOK(t, disableErr)
			if addErr != nil {
				wantMsg(t, addErr, apperr.BadInput, "roomID", plans.MsgRoomDisabled)
			}
			live := must(e.client.ExamSession.Query().Where(examsession.RoomID(r.ID), examsession.StatusNEQ(examsession.StatusCANCELLED)).Count(e.sys))(t)
			if live != 0 {
				t.Fatalf("round %d: a disabled room has %d live sessions (add error %v)", i, live, addErr)
			}
		}
	})
}
