package plans_test

import (
	"context"
	"testing"
	"time"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/examplan"
	"github.com/kaowu/kaowu/ent/examsession"
	"github.com/kaowu/kaowu/ent/schematype"
	"github.com/kaowu/kaowu/ent/trainingrecord"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/plans"
	"github.com/kaowu/kaowu/internal/testenv"
)

func TestCreatePlan(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		plansCount := func() int { return must(e.client.ExamPlan.Query().Count(e.sys))(t) }

		t.Run("an institution's plan is its own draft", func(t *testing.T) {
			p := e.plan(e.trainU)
			if p.Status != examplan.StatusDRAFT || p.TrainingOrgID == nil || *p.TrainingOrgID != e.trainer.ID {
				t.Fatalf("plan %+v", p)
			}
			if p.Name != "2030年4月安全员考试" || !p.ExamFrom.Equal(day(time.April, 1, 0, 0)) {
				t.Fatalf("fields not kept: %+v", p)
			}
		})
		t.Run("an admin's plan belongs to no institution", func(t *testing.T) {
			p := e.plan(e.admin)
			if p.TrainingOrgID != nil || p.Status != examplan.StatusDRAFT {
				t.Fatalf("plan %+v", p)
			}
		})
		t.Run("other roles and anonymous callers are refused", func(t *testing.T) {
			before := plansCount()
			for _, u := range []*ent.User{e.reviewer, e.siteU, e.candU} {
				_, err := e.svc.CreatePlan(e.as(u), e.planInput())
				wantCode(t, err, apperr.Forbidden, "")
			}
			_, err := e.svc.CreatePlan(context.Background(), e.planInput())
			wantCode(t, err, apperr.Unauthenticated, "")
			if plansCount() != before {
				t.Fatal("a refused call wrote a plan")
			}
		})
		t.Run("bad input", func(t *testing.T) {
			before := plansCount()
			cases := []struct {
				name, field string
				edit        func(*plans.PlanInput)
			}{
				{"empty name", "name", func(in *plans.PlanInput) { in.Name = "  " }},
				{"long name", "name", func(in *plans.PlanInput) { in.Name = string(make([]rune, 129)) }},
				{"no region", "regionID", func(in *plans.PlanInput) { in.RegionID = 0 }},
				{"unknown region", "regionID", func(in *plans.PlanInput) { in.RegionID = 999999 }},
				{"no exam end", "examTo", func(in *plans.PlanInput) { in.ExamTo = time.Time{} }},
				{"window ends before it starts", "enrollEndsAt", func(in *plans.PlanInput) { in.EnrollEndsAt = in.EnrollStartsAt }},
				{"exams end before they start", "examTo", func(in *plans.PlanInput) { in.ExamTo = in.ExamFrom.Add(-time.Hour) }},
				{"window ends after the exams", "enrollEndsAt", func(in *plans.PlanInput) { in.EnrollEndsAt = in.ExamTo.Add(time.Hour) }},
				{"window opens after exams start", "enrollStartsAt", func(in *plans.PlanInput) {
					in.EnrollStartsAt, in.EnrollEndsAt = in.ExamFrom.Add(time.Hour), in.ExamFrom.Add(2*time.Hour)
				}},
				{"exams longer than a year", "examTo", func(in *plans.PlanInput) { in.ExamTo = in.ExamFrom.AddDate(1, 1, 0) }},
				{"exams start in the past", "examFrom", func(in *plans.PlanInput) {
					in.EnrollStartsAt, in.ExamFrom = day(time.February, 1, 0, 0), day(time.February, 28, 0, 0)
				}},
				{"window already closed", "enrollEndsAt", func(in *plans.PlanInput) {
					in.EnrollStartsAt, in.EnrollEndsAt = day(time.February, 1, 0, 0), day(time.March, 1, 8, 0)
				}},
			}
			for _, c := range cases {
				in := e.planInput()
				c.edit(&in)
				_, err := e.svc.CreatePlan(e.as(e.trainU), in)
				if err == nil {
					t.Fatalf("%s: accepted", c.name)
				}
				wantCode(t, err, apperr.BadInput, c.field)
			}
			if plansCount() != before {
				t.Fatal("bad input wrote a plan")
			}
		})
		t.Run("exams may start today and the window may run into them", func(t *testing.T) {
			in := e.planInput()
			in.ExamFrom = day(time.March, 1, 0, 0) // today, before the clock's 09:00
			in.EnrollStartsAt = day(time.February, 20, 0, 0)
			in.EnrollEndsAt = day(time.April, 10, 0, 0)
			must(e.svc.CreatePlan(e.as(e.trainU), in))(t)
		})
	})
}

func TestUpdatePlan(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		r := e.room(e.site, "101", 40)

		t.Run("the institution edits its draft", func(t *testing.T) {
			p := e.plan(e.trainU)
			got := must(e.svc.UpdatePlan(e.as(e.trainU), p.ID, plans.PlanUpdate{
				Name: ptr("五月批次"), ExamTo: ptr(day(time.May, 31, 23, 59)),
			}))(t)
			if got.Name != "五月批次" || !got.ExamTo.Equal(day(time.May, 31, 23, 59)) || !got.ExamFrom.Equal(p.ExamFrom) {
				t.Fatalf("after update: %+v", got)
			}
		})
		t.Run("admin edits any draft; others are refused and nothing changes", func(t *testing.T) {
			p := e.plan(e.trainU)
			must(e.svc.UpdatePlan(e.as(e.admin), p.ID, plans.PlanUpdate{Name: ptr("省站改名")}))(t)
			_, err := e.svc.UpdatePlan(e.as(e.train2U), p.ID, plans.PlanUpdate{Name: ptr("别人的")})
			wantMsg(t, err, apperr.Forbidden, "", plans.MsgNotOwner)
			_, err = e.svc.UpdatePlan(e.as(e.reviewer), p.ID, plans.PlanUpdate{Name: ptr("审核员")})
			wantCode(t, err, apperr.Forbidden, "")
			admins := e.plan(e.admin)
			_, err = e.svc.UpdatePlan(e.as(e.trainU), admins.ID, plans.PlanUpdate{Name: ptr("省站的")})
			wantCode(t, err, apperr.Forbidden, "")
			if got := must(e.client.ExamPlan.Get(e.sys, p.ID))(t); got.Name != "省站改名" {
				t.Fatalf("name %q", got.Name)
			}
			_, err = e.svc.UpdatePlan(e.as(e.trainU), 999999, plans.PlanUpdate{Name: ptr("x")})
			wantCode(t, err, apperr.NotFound, "")
		})
		t.Run("merged values are validated; sessions must stay within the dates", func(t *testing.T) {
			p := e.plan(e.trainU)
			e.session(e.trainU, p, e.subjA, r, 10, 9)
			_, err := e.svc.UpdatePlan(e.as(e.trainU), p.ID, plans.PlanUpdate{ExamTo: ptr(day(time.March, 25, 0, 0))})
			wantCode(t, err, apperr.BadInput, "examTo") // before examFrom
			_, err = e.svc.UpdatePlan(e.as(e.trainU), p.ID, plans.PlanUpdate{ExamFrom: ptr(day(time.April, 15, 0, 0))})
			wantCode(t, err, apperr.BadInput, "examFrom") // the April 10 session would fall outside
			_, err = e.svc.UpdatePlan(e.as(e.trainU), p.ID, plans.PlanUpdate{RegionID: ptr(999999)})
			wantCode(t, err, apperr.BadInput, "regionID")
			got := must(e.client.ExamPlan.Get(e.sys, p.ID))(t)
			if !got.ExamFrom.Equal(p.ExamFrom) || !got.ExamTo.Equal(p.ExamTo) || got.RegionID != p.RegionID {
				t.Fatal("a refused update changed the plan")
			}
		})
		t.Run("a running plan can be renamed: past dates are checked only when set", func(t *testing.T) {
			p := e.plan(e.trainU)
			e.clock.Set(day(time.April, 2, 9, 0)) // exams started yesterday, window closed
			t.Cleanup(func() { e.clock.Set(day(time.March, 1, 9, 0)) })
			must(e.svc.UpdatePlan(e.as(e.trainU), p.ID, plans.PlanUpdate{Name: ptr("进行中")}))(t)
			_, err := e.svc.UpdatePlan(e.as(e.trainU), p.ID, plans.PlanUpdate{EnrollEndsAt: ptr(day(time.April, 1, 12, 0))})
			wantCode(t, err, apperr.BadInput, "enrollEndsAt")
		})
	})
}

func TestSubmitPlan(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		r, r2 := e.room(e.site, "101", 40), e.room(e.site, "102", 40)
		ids := e.trainees(5, e.trainer, schematype.CategoryA, trainingrecord.StatusAPPROVED)
		p := e.plan(e.trainU)

		_, err := e.svc.SubmitPlan(e.as(e.reviewer), p.ID)
		wantMsg(t, err, apperr.Conflict, "", plans.MsgNoSessions)

		s1 := e.session(e.trainU, p, e.subjA, r, 10, 9)
		assigned := must(e.svc.ManualAssign(e.as(e.trainU), plans.ManualAssignInput{PlanID: p.ID, SessionID: s1.ID, CandidateIDs: ids[:2]}))(t)

		for _, u := range []*ent.User{e.trainU, e.siteU, e.candU} {
			_, err := e.svc.SubmitPlan(e.as(u), p.ID)
			wantCode(t, err, apperr.Forbidden, "")
		}
		_, err = e.svc.SubmitPlan(context.Background(), p.ID)
		wantCode(t, err, apperr.Unauthenticated, "")
		if got := must(e.client.ExamPlan.Get(e.sys, p.ID))(t); got.Status != examplan.StatusDRAFT {
			t.Fatal("a refused submission changed the plan")
		}
		// The institution cannot submit directly through ent either (privacy).
		_, err = e.client.ExamPlan.UpdateOneID(p.ID).SetStatus(examplan.StatusSUBMITTED).Save(e.as(e.trainU))
		wantDenied(t, err)

		got := must(e.svc.SubmitPlan(e.as(e.reviewer), p.ID))(t)
		if got.Status != examplan.StatusSUBMITTED || got.SubmittedAt == nil || !got.SubmittedAt.Equal(e.clock.Now()) ||
			got.SubmittedByID == nil || *got.SubmittedByID != e.reviewer.ID {
			t.Fatalf("after submit: %+v", got)
		}
		if e.notes(e.trainU, plans.KindPlanSubmitted) != 1 {
			t.Fatal("institution not notified")
		}
		_, err = e.svc.SubmitPlan(e.as(e.admin), p.ID)
		wantMsg(t, err, apperr.Conflict, "", plans.MsgAlreadySubmit)
		_, err = e.svc.SubmitPlan(e.as(e.reviewer), 999999)
		wantCode(t, err, apperr.NotFound, "")

		t.Run("after submission nothing in the plan changes", func(t *testing.T) {
			taken, count := e.totalTaken(), e.enrollments()
			for _, u := range []*ent.User{e.trainU, e.admin} {
				ctx := e.as(u)
				_, err := e.svc.UpdatePlan(ctx, p.ID, plans.PlanUpdate{Name: ptr("改")})
				wantMsg(t, err, apperr.Conflict, "", plans.MsgSubmitted)
				_, err = e.svc.AddSession(ctx, plans.SessionInput{PlanID: p.ID, SubjectID: e.subjA.ID, RoomID: r2.ID,
					StartsAt: day(time.April, 11, 9, 0), DurationMinutes: 90})
				wantMsg(t, err, apperr.Conflict, "", plans.MsgSubmitted)
				_, err = e.svc.UpdateSession(ctx, s1.ID, plans.SessionUpdate{Capacity: ptr(30)})
				wantMsg(t, err, apperr.Conflict, "", plans.MsgSubmitted)
				_, err = e.svc.AutoAssign(ctx, plans.AutoAssignInput{PlanID: p.ID, SubjectID: e.subjA.ID, SessionIDs: []int{s1.ID}, Count: 1})
				wantMsg(t, err, apperr.Conflict, "", plans.MsgSubmitted)
				_, err = e.svc.ManualAssign(ctx, plans.ManualAssignInput{PlanID: p.ID, SessionID: s1.ID, CandidateIDs: ids[2:3]})
				wantMsg(t, err, apperr.Conflict, "", plans.MsgSubmitted)
				_, err = e.svc.Unassign(ctx, assigned[0].ID)
				wantMsg(t, err, apperr.Conflict, "", plans.MsgSubmitted)
			}
			// Privacy is the second line: the institution's own writes through ent.
			_, err := e.client.ExamPlan.UpdateOneID(p.ID).SetName("绕过").Save(e.as(e.trainU))
			if !ent.IsNotFound(err) {
				t.Fatalf("direct edit of a submitted plan: %v", err)
			}
			_, err = e.client.ExamSession.UpdateOneID(s1.ID).SetCapacity(30).Save(e.as(e.trainU))
			if !ent.IsNotFound(err) {
				t.Fatalf("direct edit of a submitted plan's session: %v", err)
			}
			got := must(e.client.ExamPlan.Get(e.sys, p.ID))(t)
			if got.Name != p.Name || e.sess(s1.ID).Capacity != 40 || e.totalTaken() != taken || e.enrollments() != count {
				t.Fatal("a submitted plan changed")
			}
			if n := must(e.client.ExamSession.Query().Where(examsession.PlanID(p.ID)).Count(e.sys))(t); n != 1 {
				t.Fatalf("%d sessions", n)
			}
		})
	})
}

// TestPlanPrivacy checks the schema's rules for institutions writing through
// ent directly (the second line behind the service).
func TestPlanPrivacy(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		r := e.room(e.site, "101", 40)
		in := e.planInput()
		create := func(ctx context.Context) *ent.ExamPlanCreate {
			return e.client.ExamPlan.Create().SetName(in.Name).SetRegionID(in.RegionID).SetEnrollStartsAt(in.EnrollStartsAt).
				SetEnrollEndsAt(in.EnrollEndsAt).SetExamFrom(in.ExamFrom).SetExamTo(in.ExamTo)
		}
		ctx := e.as(e.trainU)
		_, err := create(ctx).SetTrainingOrgID(e.trainer2.ID).Save(ctx)
		wantDenied(t, err)
		_, err = create(ctx).SetTrainingOrgID(e.trainer.ID).SetStatus(examplan.StatusSUBMITTED).Save(ctx)
		wantDenied(t, err)
		p := must(create(ctx).SetTrainingOrgID(e.trainer.ID).Save(ctx))(t)

		sess := func() *ent.ExamSessionCreate {
			return e.client.ExamSession.Create().SetPlanID(p.ID).SetSubjectID(e.subjA.ID).SetRoomID(r.ID).SetSiteID(r.SiteID).
				SetTrainingOrgID(e.trainer.ID).SetStartsAt(day(time.April, 10, 9, 0)).SetDurationMinutes(90).SetCapacity(40)
		}
		_, err = sess().SetTaken(5).Save(ctx)
		wantDenied(t, err)
		_, err = sess().SetStatus(examsession.StatusOPEN).Save(ctx)
		wantDenied(t, err)
		s := must(sess().Save(ctx))(t)
		_, err = e.client.ExamSession.UpdateOneID(s.ID).SetTaken(3).Save(ctx)
		wantDenied(t, err)
		_, err = e.client.ExamSession.UpdateOneID(s.ID).SetCapacity(30).Save(e.as(e.train2U))
		if !ent.IsNotFound(err) {
			t.Fatalf("another institution edited the session: %v", err)
		}
		must(e.client.ExamSession.UpdateOneID(s.ID).SetCapacity(30).Save(ctx))(t)
		err = e.client.ExamPlan.DeleteOneID(p.ID).Exec(e.as(e.admin))
		wantDenied(t, err)
		err = e.client.ExamSession.DeleteOneID(s.ID).Exec(e.sys)
		wantDenied(t, err)
	})
}
