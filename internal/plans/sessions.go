package plans

import (
	"context"
	"fmt"
	"time"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/enrollment"
	"github.com/kaowu/kaowu/ent/examsession"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/txn"
	"github.com/kaowu/kaowu/internal/viewer"
)

// SessionInput adds a session (场次) to a draft plan.
type SessionInput struct {
	PlanID          int
	SubjectID       int
	RoomID          int
	StartsAt        time.Time
	DurationMinutes int
	// Capacity defaults to the room's and may not exceed it.
	Capacity *int
	// Onsite: taken at the site's computers (default true).
	Onsite *bool
}

// SessionUpdate changes a session of a draft plan; nil fields stay.
type SessionUpdate struct {
	StartsAt        *time.Time
	DurationMinutes *int
	// RoomID moves the session (its capacity must fit the new room, and the
	// new room must be free at that time).
	RoomID   *int
	Capacity *int
	Onsite   *bool
}

func checkDuration(d int) error {
	if d < 10 || d > 600 {
		return apperr.Input("durationMinutes", "考试时长须在10到600分钟之间")
	}
	return nil
}

// checkStart: in the plan's exam dates and not in the past.
func checkStart(p *ent.ExamPlan, start, now time.Time) error {
	switch {
	case start.IsZero():
		return apperr.Input("startsAt", "请填写考试开始时间")
	case !start.After(now):
		return apperr.Input("startsAt", "考试开始时间不能早于当前时间")
	case start.Before(p.ExamFrom) || start.After(p.ExamTo):
		return apperr.Input("startsAt", fmt.Sprintf("考试开始时间须在考试计划的考试日期内（%s 至 %s）",
			p.ExamFrom.In(cst).Format("2006-01-02 15:04"), p.ExamTo.In(cst).Format("2006-01-02 15:04")))
	}
	return nil
}

// checkCapacity: positive and within the room's stated capacity.
func checkCapacity(r *ent.Room, capacity int) error {
	if capacity <= 0 {
		return apperr.Input("capacity", "场次人数必须大于0")
	}
	if capacity > r.Capacity {
		return apperr.Input("capacity", fmt.Sprintf(MsgCapacityOver, r.Capacity))
	}
	return nil
}

// checkOverlap refuses a session in a room at a time that overlaps another
// live (not cancelled) session of that room, of any plan. Call it with the
// room row locked, so two concurrent additions cannot both pass.
func checkOverlap(ctx context.Context, c *ent.Client, roomID int, start time.Time, minutes, except int) error {
	end := start.Add(time.Duration(minutes) * time.Minute)
	others, err := c.ExamSession.Query().Where(
		examsession.RoomID(roomID), examsession.IDNEQ(except),
		examsession.StatusNEQ(examsession.StatusCANCELLED),
		examsession.StartsAtLT(end), examsession.StartsAtGT(start.Add(-maxDuration)),
	).All(viewer.SystemContext(ctx))
	if err != nil {
		return err
	}
	for _, o := range others {
		if o.StartsAt.Add(time.Duration(o.DurationMinutes) * time.Minute).After(start) {
			return apperr.New(apperr.Conflict, fmt.Sprintf("%s（%s 开始，%d 分钟）", MsgOverlap,
				o.StartsAt.In(cst).Format("2006-01-02 15:04"), o.DurationMinutes)).With("field", "startsAt")
		}
	}
	return nil
}

// usableRoom locks the room and checks that it can hold sessions.
func usableRoom(ctx context.Context, c *ent.Client, id int) (*ent.Room, error) {
	r, err := lockRoom(ctx, c, id, "roomID")
	if err != nil {
		return nil, err
	}
	if r.Disabled {
		return nil, apperr.Input("roomID", MsgRoomDisabled)
	}
	return r, nil
}

// AddSession adds a session to a draft plan: the plan's institution or ADMIN.
// site_id is the room's site and training_org_id the plan's institution.
func (s *Service) AddSession(ctx context.Context, in SessionInput) (*ent.ExamSession, error) {
	v, err := requireManager(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkDuration(in.DurationMinutes); err != nil {
		return nil, err
	}
	if in.Capacity != nil && *in.Capacity <= 0 {
		return nil, apperr.Input("capacity", "场次人数必须大于0")
	}
	var out *ent.ExamSession
	err = txn.WithTx(ctx, s.Client, func(ctx context.Context) error {
		c := s.db(ctx)
		p, err := editablePlan(ctx, c, v, in.PlanID)
		if err != nil {
			return err
		}
		if err := checkStart(p, in.StartsAt, s.now()); err != nil {
			return err
		}
		subj, err := c.Subject.Get(ctx, in.SubjectID)
		if ent.IsNotFound(err) {
			return apperr.Input("subjectID", "科目不存在")
		} else if err != nil {
			return err
		}
		if !subj.Active {
			return apperr.Input("subjectID", "该科目已停用")
		}
		r, err := usableRoom(ctx, c, in.RoomID)
		if err != nil {
			return err
		}
		capacity := r.Capacity
		if in.Capacity != nil {
			capacity = *in.Capacity
		}
		if err := checkCapacity(r, capacity); err != nil {
			return err
		}
		if err := checkOverlap(ctx, c, r.ID, in.StartsAt, in.DurationMinutes, 0); err != nil {
			return err
		}
		create := c.ExamSession.Create().SetPlanID(p.ID).SetSubjectID(subj.ID).SetRoomID(r.ID).SetSiteID(r.SiteID).
			SetNillableTrainingOrgID(p.TrainingOrgID).SetStartsAt(in.StartsAt).SetDurationMinutes(in.DurationMinutes).
			SetCapacity(capacity).SetNillableOnsite(in.Onsite)
		out, err = create.Save(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// UpdateSession changes time, duration, room, capacity or onsite of a
// session of a draft plan that has not started. Capacity never goes below
// the seats taken; a move re-checks the new room's capacity and timetable,
// and the assigned candidates' enrollments follow the room's site. Assigned
// candidates are told when the time or room changes.
func (s *Service) UpdateSession(ctx context.Context, id int, in SessionUpdate) (*ent.ExamSession, error) {
	v, err := requireManager(ctx)
	if err != nil {
		return nil, err
	}
	if in.DurationMinutes != nil {
		if err := checkDuration(*in.DurationMinutes); err != nil {
			return nil, err
		}
	}
	var out *ent.ExamSession
	err = txn.WithTx(ctx, s.Client, func(ctx context.Context) error {
		c := s.db(ctx)
		first, err := c.ExamSession.Get(ctx, id)
		if ent.IsNotFound(err) {
			return apperr.New(apperr.NotFound, "考试场次不存在")
		} else if err != nil {
			return err
		}
		p, err := editablePlan(ctx, c, v, first.PlanID)
		if err != nil {
			return err
		}
		// Read again under the plan lock.
		sess, err := c.ExamSession.Get(ctx, id)
		if err != nil {
			return err
		}
		now := s.now()
		if sess.Status != examsession.StatusSCHEDULED || !sess.StartsAt.After(now) {
			return apperr.New(apperr.Conflict, MsgSessionStarted)
		}
		start, minutes, roomID, capacity := sess.StartsAt, sess.DurationMinutes, sess.RoomID, sess.Capacity
		if in.StartsAt != nil {
			start = *in.StartsAt
		}
		if in.DurationMinutes != nil {
			minutes = *in.DurationMinutes
		}
		if in.RoomID != nil {
			roomID = *in.RoomID
		}
		if in.Capacity != nil {
			capacity = *in.Capacity
		}
		moved := roomID != sess.RoomID
		retimed := !start.Equal(sess.StartsAt) || minutes != sess.DurationMinutes
		if !start.Equal(sess.StartsAt) {
			if err := checkStart(p, start, now); err != nil {
				return err
			}
		}
		r, err := lockRoom(ctx, c, roomID, "roomID")
		if err != nil {
			return err
		}
		if moved && r.Disabled {
			return apperr.Input("roomID", MsgRoomDisabled)
		}
		if err := checkCapacity(r, capacity); err != nil {
			return err
		}
		if capacity < sess.Taken {
			return apperr.Input("capacity", fmt.Sprintf(MsgCapacityBelow, sess.Taken))
		}
		if moved || retimed {
			if err := checkOverlap(ctx, c, roomID, start, minutes, id); err != nil {
				return err
			}
		}
		// taken ≤ capacity is the condition of the write itself: seats are
		// taken by single UPDATEs that do not take the plan lock.
		upd := c.ExamSession.UpdateOneID(id).Where(examsession.TakenLTE(capacity)).
			SetStartsAt(start).SetDurationMinutes(minutes).SetRoomID(roomID).SetCapacity(capacity).SetNillableOnsite(in.Onsite)
		if moved {
			upd.SetSiteID(r.SiteID)
		}
		out, err = upd.Save(ctx)
		if ent.IsNotFound(err) {
			cur, gerr := c.ExamSession.Get(viewer.SystemContext(ctx), id)
			if gerr != nil {
				return gerr
			}
			return apperr.Input("capacity", fmt.Sprintf(MsgCapacityBelow, cur.Taken))
		} else if err != nil {
			return err
		}
		if moved && r.SiteID != sess.SiteID {
			if _, err := c.Enrollment.Update().Where(enrollment.SessionID(id)).SetSiteID(r.SiteID).
				Save(viewer.SystemContext(ctx)); err != nil {
				return err
			}
		}
		if moved || retimed {
			return s.tellSeated(ctx, c, id, KindSessionChanged, "考试安排已变更",
				fmt.Sprintf("您在考试计划「%s」中的考试已调整为 %s 开始，考场「%s」。", p.Name, start.In(cst).Format("2006-01-02 15:04"), r.Name))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// tellSeated notifies every candidate holding a seat in the session.
func (s *Service) tellSeated(ctx context.Context, c *ent.Client, sessionID int, kind, title, body string) error {
	if s.Notifier == nil {
		return nil
	}
	ids, err := c.Enrollment.Query().Where(enrollment.SessionID(sessionID)).
		Select(enrollment.FieldCandidateID).Ints(viewer.SystemContext(ctx))
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := s.notify(ctx, id, kind, title, body); err != nil {
			return err
		}
	}
	return nil
}
