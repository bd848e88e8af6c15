package plans

import (
	"context"
	"fmt"
	"time"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/examsession"
	"github.com/kaowu/kaowu/ent/hook"
	"github.com/kaowu/kaowu/ent/room"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/viewer"
)

// RoomHook keeps rooms (考场) truthful to the sessions held in them, whatever
// path changes a room (orgs, the updateRoom resolver, ADMIN tools). Install
// it at wiring time: client.Room.Use(plansService.RoomHook()).
//
// Rules, for the room's live sessions (SCHEDULED or OPEN, not yet ended):
//
//   - Shrinking capacity below the seats taken in one of them is refused
//     (CONFLICT, field capacity). Otherwise sessions with more capacity than
//     the room's new capacity are cut down to it, so capacity keeps bounding
//     every assignment (sessions of submitted plans included: the room's
//     size is a fact, and no held seat is lost).
//   - Disabling a room while one of them holds seats is refused (CONFLICT,
//     field disabled): the people in it need another session first. Live
//     sessions without candidates are CANCELLED with the room, and the
//     plan's institution is told. Re-enabling a room does not revive them.
//
// The rules are applied after the write (which holds the room row on
// PostgreSQL, where AddSession/UpdateSession lock it too) with conditional
// UPDATEs, so a seat or session added meanwhile makes the change fail
// instead of slipping through; the caller's transaction then rolls the room
// back (GraphQL mutations always run in one). Outside a transaction the
// refusals are also checked before the write, so a refused change is not
// half-made; only a race with a seat taken between that check and the write
// could then leave the room changed and the error returned.
func (s *Service) RoomHook() ent.Hook {
	return hook.On(func(next ent.Mutator) ent.Mutator {
		return hook.RoomFunc(func(ctx context.Context, m *ent.RoomMutation) (ent.Value, error) {
			newCap, capSet := m.Capacity()
			added, addSet := m.AddedCapacity()
			disabled, disSet := m.Disabled()
			if !capSet && !addSet && !(disSet && disabled) {
				return next.Mutate(ctx, m)
			}
			sys := viewer.SystemContext(ctx)
			c := m.Client()
			ids, err := m.IDs(sys) // before the write: a bulk update's predicate may stop matching
			if err != nil {
				return nil, err
			}
			now := s.now()
			// Outside a transaction a refusal after the write could not undo
			// it, so refuse first. Inside one, privacy answers first (another
			// site learns nothing about the room) and followRoom refuses.
			if _, err := m.Tx(); err != nil {
				for _, id := range ids {
					r, err := c.Room.Get(sys, id)
					if err != nil {
						return nil, err
					}
					capacity, off := r.Capacity, r.Disabled
					if capSet {
						capacity = newCap
					}
					if addSet {
						capacity += added
					}
					if disSet {
						off = disabled
					}
					if err := refuseRoomChange(sys, c, id, capacity, off, now); err != nil {
						return nil, err
					}
				}
			}
			v, err := next.Mutate(ctx, m)
			if err != nil {
				return nil, err
			}
			for _, id := range ids {
				if err := s.followRoom(ctx, c, id, now); err != nil {
					return nil, err
				}
			}
			return v, nil
		})
	}, ent.OpUpdate|ent.OpUpdateOne)
}

// liveSessions are the room's sessions that are scheduled or running and
// have not ended at now.
func liveSessions(ctx context.Context, c *ent.Client, roomID int, now time.Time) ([]*ent.ExamSession, error) {
	xs, err := c.ExamSession.Query().Where(examsession.RoomID(roomID),
		examsession.StatusIn(examsession.StatusSCHEDULED, examsession.StatusOPEN),
		examsession.StartsAtGT(now.Add(-maxDuration))).All(ctx)
	if err != nil {
		return nil, err
	}
	out := xs[:0]
	for _, x := range xs {
		if x.StartsAt.Add(time.Duration(x.DurationMinutes) * time.Minute).After(now) {
			out = append(out, x)
		}
	}
	return out, nil
}

// refuseRoomChange reports the refusal a room change meets, without writing.
func refuseRoomChange(ctx context.Context, c *ent.Client, roomID, capacity int, disabled bool, now time.Time) error {
	xs, err := liveSessions(ctx, c, roomID, now)
	if err != nil {
		return err
	}
	most := 0
	for _, x := range xs {
		most = max(most, x.Taken)
	}
	if disabled && most > 0 {
		return apperr.New(apperr.Conflict, MsgRoomSeatsHeld).With("field", "disabled")
	}
	if most > capacity {
		return apperr.New(apperr.Conflict, fmt.Sprintf(MsgRoomShrinkFmt, most, most)).With("field", "capacity")
	}
	return nil
}

// followRoom makes the room's live sessions follow the room as written:
// cancelled when it is disabled, cut down to its capacity otherwise. Every
// write is conditional on the seats, so a seat taken meanwhile fails it.
func (s *Service) followRoom(ctx context.Context, c *ent.Client, roomID int, now time.Time) error {
	sys := viewer.SystemContext(ctx)
	r, err := c.Room.Query().Where(room.ID(roomID)).Only(sys)
	if err != nil {
		return err
	}
	// The refusal, with the figures a person needs to fix it.
	refuse := func() error {
		if err := refuseRoomChange(sys, c, roomID, r.Capacity, r.Disabled, now); err != nil {
			return err
		}
		return apperr.New(apperr.Conflict, MsgStateChanged)
	}
	if err := refuseRoomChange(sys, c, roomID, r.Capacity, r.Disabled, now); err != nil {
		return err
	}
	xs, err := liveSessions(sys, c, roomID, now)
	if err != nil {
		return err
	}
	for _, x := range xs {
		switch {
		case r.Disabled:
			_, err := c.ExamSession.UpdateOneID(x.ID).Where(examsession.TakenEQ(0)).
				SetStatus(examsession.StatusCANCELLED).Save(sys)
			if ent.IsNotFound(err) {
				return refuse()
			} else if err != nil {
				return err
			}
			p, err := c.ExamPlan.Get(sys, x.PlanID)
			if err != nil {
				return err
			}
			if err := s.notifyOrg(ctx, c, p.TrainingOrgID, KindSessionCancelled, "考场停用，考试场次已取消",
				fmt.Sprintf("考场「%s」已停用，考试计划「%s」中 %s 开始的场次已取消。", r.Name, p.Name,
					x.StartsAt.In(cst).Format("2006-01-02 15:04"))); err != nil {
				return err
			}
		case x.Capacity > r.Capacity:
			_, err := c.ExamSession.UpdateOneID(x.ID).Where(examsession.TakenLTE(r.Capacity)).
				SetCapacity(r.Capacity).Save(sys)
			if ent.IsNotFound(err) {
				return refuse()
			} else if err != nil {
				return err
			}
		}
	}
	return nil
}
