package plans

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/enrollment"
	"github.com/kaowu/kaowu/ent/examsession"
	"github.com/kaowu/kaowu/ent/room"
	"github.com/kaowu/kaowu/ent/schematype"
	"github.com/kaowu/kaowu/ent/subject"
	"github.com/kaowu/kaowu/ent/trainingrecord"
	"github.com/kaowu/kaowu/ent/user"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/seats"
	"github.com/kaowu/kaowu/internal/txn"
	"github.com/kaowu/kaowu/internal/viewer"
)

// Bounds of one assignment call.
const (
	MaxAutoAssign     = 2000
	MaxManualAssign   = 1000 // a room holds at most 1000
	MaxAssignSessions = 100
	createBatch       = 500 // rows per INSERT (bind-parameter limits)
)

// AutoAssignInput asks for Count candidates spread at random over sessions.
type AutoAssignInput struct {
	PlanID     int
	SubjectID  int
	SessionIDs []int
	Count      int
}

// ManualAssignInput assigns the selected candidates to one session.
type ManualAssignInput struct {
	PlanID       int
	SessionID    int
	CandidateIDs []int
}

// target is what an assignment writes into: a locked draft plan of an
// institution, its subject and the chosen sessions (with their rooms).
type target struct {
	plan     *ent.ExamPlan
	org      int
	subj     *ent.Subject
	sessions []*ent.ExamSession
	rooms    map[int]*ent.Room
}

// assignTarget locks the plan and loads and checks the subject and sessions.
func (s *Service) assignTarget(ctx context.Context, c *ent.Client, v *viewer.Viewer, planID, subjectID int, sessionIDs []int) (*target, error) {
	p, err := editablePlan(ctx, c, v, planID)
	if err != nil {
		return nil, err
	}
	// Only an institution's plan has a pool of trained candidates; plans
	// made by ADMIN are filled by online enrollment.
	if p.TrainingOrgID == nil {
		return nil, apperr.Input("planID", MsgNoPlanOrg)
	}
	sys := viewer.SystemContext(ctx)
	t := &target{plan: p, org: *p.TrainingOrgID, rooms: map[int]*ent.Room{}}
	loadSubject := func(id int) error {
		subj, err := c.Subject.Get(sys, id)
		if ent.IsNotFound(err) {
			return apperr.Input("subjectID", "科目不存在")
		} else if err != nil {
			return err
		}
		if !subj.Active {
			return apperr.Input("subjectID", "该科目已停用")
		}
		if subj.Category == subject.CategoryOTHER {
			return apperr.Input("subjectID", "该科目没有对应的培训类别（A、B、C1、C2），不能按培训记录分配考生")
		}
		t.subj = subj
		return nil
	}
	if subjectID != 0 {
		if err := loadSubject(subjectID); err != nil {
			return nil, err
		}
	}
	sessions, err := c.ExamSession.Query().Where(examsession.IDIn(sessionIDs...)).All(sys)
	if err != nil {
		return nil, err
	}
	byID := make(map[int]*ent.ExamSession, len(sessions))
	for _, x := range sessions {
		byID[x.ID] = x
	}
	now := s.now()
	field := "sessionIDs"
	if t.subj == nil { // manual: one session, whose subject it is
		field = "sessionID"
	}
	for _, id := range sessionIDs {
		x, ok := byID[id]
		if !ok || x.PlanID != p.ID {
			return nil, apperr.Input(field, "考试场次不存在或不属于该考试计划")
		}
		if subjectID == 0 {
			subjectID = x.SubjectID
		}
		if x.SubjectID != subjectID {
			return nil, apperr.Input(field, "所选考试场次不是该科目的考试")
		}
		if x.Status != examsession.StatusSCHEDULED || !x.StartsAt.After(now) {
			return nil, apperr.Input(field, "所选考试场次已开始或已取消")
		}
		t.sessions = append(t.sessions, x)
	}
	if t.subj == nil {
		if err := loadSubject(subjectID); err != nil {
			return nil, err
		}
	}
	roomIDs := make([]int, 0, len(t.sessions))
	for _, x := range t.sessions {
		roomIDs = append(roomIDs, x.RoomID)
	}
	rooms, err := c.Room.Query().Where(room.IDIn(roomIDs...)).All(sys)
	if err != nil {
		return nil, err
	}
	for _, r := range rooms {
		t.rooms[r.ID] = r
	}
	return t, nil
}

// trained returns, sorted and distinct, the active candidates with an
// APPROVED training record at the institution in the subject's category
// whose result is not FAIL (a record without a result counts: approval is
// the institution's word that training is complete). only, when non-nil,
// narrows to those candidates.
func trained(ctx context.Context, c *ent.Client, t *target, only []int) ([]int, error) {
	q := c.TrainingRecord.Query().Where(
		trainingrecord.TrainingOrgID(t.org),
		trainingrecord.StatusEQ(trainingrecord.StatusAPPROVED),
		trainingrecord.CategoryEQ(schematype.ExamCategory(t.subj.Category)),
		trainingrecord.Or(trainingrecord.ResultIsNil(), trainingrecord.ResultNEQ(trainingrecord.ResultFAIL)),
		trainingrecord.HasCandidateWith(user.RoleEQ(user.RoleCANDIDATE), user.StatusEQ(user.StatusACTIVE)),
	)
	if only != nil {
		q.Where(trainingrecord.CandidateIDIn(only...))
	}
	ids, err := q.Select(trainingrecord.FieldCandidateID).Ints(viewer.SystemContext(ctx))
	if err != nil {
		return nil, err
	}
	slices.Sort(ids)
	return slices.Compact(ids), nil
}

// enrolled returns the candidates with a live (pending or approved)
// enrollment in the plan for the subject: the partial unique index allows
// one.
func enrolled(ctx context.Context, c *ent.Client, t *target, only []int) (map[int]bool, error) {
	q := c.Enrollment.Query().Where(enrollment.PlanID(t.plan.ID), enrollment.SubjectID(t.subj.ID),
		enrollment.StatusIn(enrollment.StatusPENDING_REVIEW, enrollment.StatusAPPROVED))
	if only != nil {
		q.Where(enrollment.CandidateIDIn(only...))
	}
	ids, err := q.Select(enrollment.FieldCandidateID).Ints(viewer.SystemContext(ctx))
	if err != nil {
		return nil, err
	}
	out := make(map[int]bool, len(ids))
	for _, id := range ids {
		out[id] = true
	}
	return out, nil
}

func free(x *ent.ExamSession) int { return max(x.Capacity-x.Taken, 0) }

// shortOfSeats is the refusal when the sessions cannot hold need more.
func shortOfSeats(field string, need, left int) error {
	return apperr.Input(field, fmt.Sprintf(MsgSeatsShortFmt, need, left))
}

// remaining re-reads the free seats of sessions (after a lost race).
func remaining(ctx context.Context, c *ent.Client, ids []int) (int, error) {
	xs, err := c.ExamSession.Query().Where(examsession.IDIn(ids...)).All(viewer.SystemContext(ctx))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, x := range xs {
		n += free(x)
	}
	return n, nil
}

// deal spreads n candidates over sessions with free[i] seats round-robin: one
// to each session in turn, skipping sessions that are full, so sessions fill
// evenly until the smaller ones are full (100 over 40/40/30 → 35/35/30) and
// none past its free seats. It returns the session index of each candidate,
// in dealing order. Σfree ≥ n is required.
func deal(freeSeats []int, n int) []int {
	left := slices.Clone(freeSeats)
	out := make([]int, 0, n)
	for i := 0; len(out) < n; i = (i + 1) % len(left) {
		if left[i] > 0 {
			left[i]--
			out = append(out, i)
		}
	}
	return out
}

func (s *Service) shuffle(ids []int) {
	swap := func(i, j int) { ids[i], ids[j] = ids[j], ids[i] }
	if s.Rand == nil {
		rand.Shuffle(len(ids), swap) // the global source is safe for concurrent use
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Rand.Shuffle(len(ids), swap)
}

// AutoAssign (自动分配) picks Count of the institution's approved candidates
// for the subject who are not yet in the plan for it, shuffles them and deals
// them round-robin over the chosen sessions within their free seats (see
// deal). Seats are taken with one conditional UPDATE per session and PLAN
// enrollments created, all in one transaction: all or nothing. The plan's
// institution or ADMIN; the plan must be a draft of an institution.
func (s *Service) AutoAssign(ctx context.Context, in AutoAssignInput) ([]*ent.Enrollment, error) {
	v, err := requireManager(ctx)
	if err != nil {
		return nil, err
	}
	switch {
	case in.Count <= 0:
		return nil, apperr.Input("count", "分配人数必须大于0")
	case in.Count > MaxAutoAssign:
		return nil, apperr.Input("count", fmt.Sprintf("一次最多分配%d名考生", MaxAutoAssign))
	case in.SubjectID <= 0:
		return nil, apperr.Input("subjectID", "请选择科目")
	case len(in.SessionIDs) == 0:
		return nil, apperr.Input("sessionIDs", "请选择考试场次")
	case len(in.SessionIDs) > MaxAssignSessions:
		return nil, apperr.Input("sessionIDs", fmt.Sprintf("一次最多选择%d个考试场次", MaxAssignSessions))
	case hasDuplicates(in.SessionIDs):
		return nil, apperr.Input("sessionIDs", "考试场次重复选择")
	}
	var out []*ent.Enrollment
	err = txn.WithTx(ctx, s.Client, func(ctx context.Context) error {
		c := s.db(ctx)
		t, err := s.assignTarget(ctx, c, v, in.PlanID, in.SubjectID, in.SessionIDs)
		if err != nil {
			return err
		}
		freeSeats := make([]int, len(t.sessions))
		total := 0
		for i, x := range t.sessions {
			freeSeats[i] = free(x)
			total += freeSeats[i]
		}
		if total < in.Count {
			return shortOfSeats("sessionIDs", in.Count, total)
		}
		pool, err := trained(ctx, c, t, nil)
		if err != nil {
			return err
		}
		taken, err := enrolled(ctx, c, t, nil)
		if err != nil {
			return err
		}
		pool = slices.DeleteFunc(pool, func(id int) bool { return taken[id] })
		if len(pool) < in.Count {
			return apperr.Input("count", fmt.Sprintf("%s：需要 %d，可分配 %d", MsgNotEnough, in.Count, len(pool)))
		}
		// pool is sorted by id, so a seeded Rand gives the same draw.
		s.shuffle(pool)
		pool = pool[:in.Count]
		turns := deal(freeSeats, in.Count)
		bySession := make([][]int, len(t.sessions))
		for k, i := range turns {
			bySession[i] = append(bySession[i], pool[k])
		}
		out, err = s.assign(ctx, c, v, t, bySession, "sessionIDs")
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ManualAssign (手动分配) assigns the selected candidates to one session. Each
// must hold an APPROVED training record at the plan's institution in the
// session subject's category and no live enrollment in the plan for that
// subject. All or nothing; the session's free seats bound it.
func (s *Service) ManualAssign(ctx context.Context, in ManualAssignInput) ([]*ent.Enrollment, error) {
	v, err := requireManager(ctx)
	if err != nil {
		return nil, err
	}
	switch {
	case len(in.CandidateIDs) == 0:
		return nil, apperr.Input("candidateIDs", "请选择要分配的考生")
	case len(in.CandidateIDs) > MaxManualAssign:
		return nil, apperr.Input("candidateIDs", fmt.Sprintf("一次最多分配%d名考生", MaxManualAssign))
	case hasDuplicates(in.CandidateIDs):
		return nil, apperr.Input("candidateIDs", "考生重复选择")
	}
	var out []*ent.Enrollment
	err = txn.WithTx(ctx, s.Client, func(ctx context.Context) error {
		c := s.db(ctx)
		t, err := s.assignTarget(ctx, c, v, in.PlanID, 0, []int{in.SessionID})
		if err != nil {
			return err
		}
		if n, left := len(in.CandidateIDs), free(t.sessions[0]); n > left {
			return shortOfSeats("sessionID", n, left)
		}
		ok, err := trained(ctx, c, t, in.CandidateIDs)
		if err != nil {
			return err
		}
		taken, err := enrolled(ctx, c, t, in.CandidateIDs)
		if err != nil {
			return err
		}
		var untrained, dup []int
		for _, id := range in.CandidateIDs {
			switch {
			case taken[id]:
				dup = append(dup, id)
			case !slices.Contains(ok, id):
				untrained = append(untrained, id)
			}
		}
		if len(untrained) > 0 {
			names, err := nameList(ctx, c, untrained)
			if err != nil {
				return err
			}
			return apperr.Input("candidateIDs", "以下考生没有本机构审核通过的"+string(t.subj.Category)+"类培训记录："+names)
		}
		if len(dup) > 0 {
			names, err := nameList(ctx, c, dup)
			if err != nil {
				return err
			}
			return apperr.Input("candidateIDs", "以下考生已在该考试计划中报名此科目："+names)
		}
		out, err = s.assign(ctx, c, v, t, [][]int{in.CandidateIDs}, "sessionID")
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// assign takes the seats and writes the PLAN enrollments: candidates[i] go
// to t.sessions[i]. The institution's assignment stands in for the
// candidate's integrity pledge (诚信承诺书): pledge_accepted_at and
// submitted_at are the assignment time, and the enrollment waits for the
// department's review like any other (PENDING_REVIEW, fee of the subject).
func (s *Service) assign(ctx context.Context, c *ent.Client, v *viewer.Viewer, t *target, candidates [][]int, field string) ([]*ent.Enrollment, error) {
	sys := viewer.SystemContext(ctx)
	ids := make([]int, len(t.sessions))
	need := 0
	for i, x := range t.sessions {
		ids[i] = x.ID
		need += len(candidates[i])
	}
	for i, x := range t.sessions {
		if err := seats.TakeMany(ctx, c, x.ID, len(candidates[i])); errors.Is(err, seats.ErrFull) {
			// Someone took seats since we read them; the transaction rolls
			// back what this call already took.
			left, rerr := remaining(ctx, c, ids)
			if rerr != nil {
				return nil, rerr
			}
			return nil, shortOfSeats(field, need, left)
		} else if err != nil {
			return nil, err
		}
	}
	now := s.now()
	var builders []*ent.EnrollmentCreate
	for i, x := range t.sessions {
		for _, cand := range candidates[i] {
			builders = append(builders, c.Enrollment.Create().
				SetCandidateID(cand).SetPlanID(t.plan.ID).SetSubjectID(t.subj.ID).
				SetSessionID(x.ID).SetSiteID(x.SiteID).SetTrainingOrgID(t.org).SetEnrolledByID(v.UserID).
				SetSource(enrollment.SourcePLAN).SetStatus(enrollment.StatusPENDING_REVIEW).
				SetPledgeAcceptedAt(now).SetSubmittedAt(now).SetFeeCents(t.subj.FeeCents))
		}
	}
	out := make([]*ent.Enrollment, 0, len(builders))
	for chunk := range slices.Chunk(builders, createBatch) {
		es, err := c.Enrollment.CreateBulk(chunk...).Save(sys)
		if ent.IsConstraintError(err) {
			// The partial unique index: a candidate enrolled meanwhile.
			return nil, apperr.Wrap(err, apperr.Conflict, "有考生刚刚报名了该考试计划的此科目，请刷新后重试")
		} else if err != nil {
			return nil, err
		}
		out = append(out, es...)
	}
	for i, x := range t.sessions {
		body := fmt.Sprintf("培训机构已为您安排考试计划「%s」中「%s」的考试：%s 开始，考场「%s」。报名待管理部门审核。",
			t.plan.Name, t.subj.Name, x.StartsAt.In(cst).Format("2006-01-02 15:04"), roomName(t.rooms[x.RoomID]))
		for _, cand := range candidates[i] {
			if err := s.notify(ctx, cand, KindAssigned, "您已被安排参加考试", body); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

func roomName(r *ent.Room) string {
	if r == nil {
		return ""
	}
	return r.Name
}

// nameList names candidates for a message: "张三（12）、李四（15）".
func nameList(ctx context.Context, c *ent.Client, ids []int) (string, error) {
	us, err := c.User.Query().Where(user.IDIn(ids...)).All(viewer.SystemContext(ctx))
	if err != nil {
		return "", err
	}
	names := make(map[int]string, len(us))
	for _, u := range us {
		names[u.ID] = u.Name
	}
	parts := make([]string, 0, len(ids))
	for _, id := range ids {
		n := names[id]
		if n == "" {
			n = "未知考生"
		}
		parts = append(parts, fmt.Sprintf("%s（%d）", n, id))
	}
	return strings.Join(parts, "、"), nil
}

func hasDuplicates(ids []int) bool {
	seen := make(map[int]bool, len(ids))
	for _, id := range ids {
		if seen[id] {
			return true
		}
		seen[id] = true
	}
	return false
}

// Unassign takes a candidate off a draft plan (the institution corrects its
// plan): the PLAN enrollment becomes CANCELLED, its seat is given back and
// session_id/site_id are cleared (an enrollment without a seat holds none,
// as in internal/enrollment). Refused once paid or checked in.
func (s *Service) Unassign(ctx context.Context, enrollmentID int) (*ent.Enrollment, error) {
	v, err := requireManager(ctx)
	if err != nil {
		return nil, err
	}
	var out *ent.Enrollment
	err = txn.WithTx(ctx, s.Client, func(ctx context.Context) error {
		c := s.db(ctx)
		// The viewer's context: an institution sees only what it assigned.
		first, err := c.Enrollment.Get(ctx, enrollmentID)
		if ent.IsNotFound(err) {
			return apperr.New(apperr.NotFound, "报名记录不存在")
		} else if err != nil {
			return err
		}
		if _, err := editablePlan(ctx, c, v, first.PlanID); err != nil {
			return err
		}
		sys := viewer.SystemContext(ctx)
		e, err := c.Enrollment.Get(sys, enrollmentID)
		if err != nil {
			return err
		}
		switch {
		case e.Source != enrollment.SourcePLAN:
			return apperr.Input("enrollmentID", "只能取消考试计划中分配的考生，网上报名由考生或单位自行处理")
		case e.Status != enrollment.StatusPENDING_REVIEW && e.Status != enrollment.StatusAPPROVED:
			return apperr.New(apperr.Conflict, "该报名已取消或已驳回")
		case e.PaymentStatus != enrollment.PaymentStatusUNPAID:
			return apperr.New(apperr.Conflict, "考生已缴费，不能取消分配")
		case e.CheckedInAt != nil:
			return apperr.New(apperr.Conflict, "考生已签到，不能取消分配")
		case e.SessionID == nil:
			return apperr.New(apperr.Conflict, MsgStateChanged)
		}
		sessionID := *e.SessionID
		out, err = c.Enrollment.UpdateOneID(e.ID).Where(
			enrollment.StatusIn(enrollment.StatusPENDING_REVIEW, enrollment.StatusAPPROVED),
			enrollment.PaymentStatusEQ(enrollment.PaymentStatusUNPAID), enrollment.SessionID(sessionID),
		).SetStatus(enrollment.StatusCANCELLED).ClearSessionID().ClearSiteID().Save(sys)
		if ent.IsNotFound(err) {
			return apperr.New(apperr.Conflict, MsgStateChanged)
		} else if err != nil {
			return err
		}
		if err := seats.Release(ctx, c, sessionID); err != nil {
			return err
		}
		p, err := c.ExamPlan.Get(ctx, e.PlanID)
		if err != nil {
			return err
		}
		return s.notify(ctx, e.CandidateID, KindUnassigned, "考试安排已取消",
			"培训机构已将您从考试计划「"+p.Name+"」中移出，该科目的考试安排已取消。")
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
