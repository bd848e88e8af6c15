package plans_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/enrollment"
	"github.com/kaowu/kaowu/ent/schematype"
	"github.com/kaowu/kaowu/ent/trainingrecord"
	"github.com/kaowu/kaowu/ent/user"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/plans"
	"github.com/kaowu/kaowu/internal/testenv"
)

// mapping is candidate → session of a set of enrollments.
func mapping(es []*ent.Enrollment) map[int]int {
	out := make(map[int]int, len(es))
	for _, e := range es {
		out[e.CandidateID] = *e.SessionID
	}
	return out
}

func TestAutoAssign(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		r1, r2, r3 := e.room(e.site, "101", 40), e.room(e.site, "102", 40), e.room(e.site2, "F1", 30)
		eligible := e.trainees(130, e.trainer, schematype.CategoryA, trainingrecord.StatusAPPROVED)
		// Not eligible: another category, not yet approved, another
		// institution, failed training, a disabled account.
		wrongCat := e.trainees(5, e.trainer, schematype.CategoryB, trainingrecord.StatusAPPROVED)
		pending := e.trainees(5, e.trainer, schematype.CategoryA, trainingrecord.StatusPENDING)
		foreign := e.trainees(5, e.trainer2, schematype.CategoryA, trainingrecord.StatusAPPROVED)
		failed := e.trainees(3, e.trainer, schematype.CategoryA, trainingrecord.StatusAPPROVED)
		must(e.client.TrainingRecord.Update().Where(trainingrecord.CandidateIDIn(failed...)).SetResult(trainingrecord.ResultFAIL).Save(e.sys))(t)
		disabled := e.trainees(2, e.trainer, schematype.CategoryA, trainingrecord.StatusAPPROVED)
		must(e.client.User.Update().Where(user.IDIn(disabled...)).SetStatus(user.StatusDISABLED).Save(e.sys))(t)
		notEligible := slices.Concat(wrongCat, pending, foreign, failed, disabled)
		// A second approved record must not make a candidate count twice.
		must(e.client.TrainingRecord.Create().SetCandidateID(eligible[0]).SetTrainingOrgID(e.trainer.ID).
			SetCategory(schematype.CategoryA).SetHours(8).SetStatus(trainingrecord.StatusAPPROVED).Save(e.sys))(t)

		p := e.plan(e.trainU)
		s1, s2, s3 := e.session(e.trainU, p, e.subjA, r1, 10, 9), e.session(e.trainU, p, e.subjA, r2, 10, 9), e.session(e.trainU, p, e.subjA, r3, 10, 9)
		sessionIDs := []int{s1.ID, s2.ID, s3.ID}
		in := plans.AutoAssignInput{PlanID: p.ID, SubjectID: e.subjA.ID, SessionIDs: sessionIDs, Count: 100}

		t.Run("more than the free seats is refused and nothing is written", func(t *testing.T) {
			bad := in
			bad.Count = 120
			_, err := e.svc.AutoAssign(e.as(e.trainU), bad)
			wantMsg(t, err, apperr.BadInput, "sessionIDs", "所选考场剩余座位不足：需要 120，剩余 110")
			if e.enrollments() != 0 || e.totalTaken() != 0 {
				t.Fatal("a refused assignment wrote something")
			}
		})
		t.Run("the same seed draws the same assignment", func(t *testing.T) {
			e.svc.Rand = rand.New(rand.NewPCG(7, 7))
			var first map[int]int
			err := e.rolledBack(e.as(e.trainU), func(ctx context.Context) error {
				es, err := e.svc.AutoAssign(ctx, in)
				first = mapping(es)
				return err
			})
			mustOK(t, err)
			if e.enrollments() != 0 || e.totalTaken() != 0 {
				t.Fatal("rolled-back assignment left rows")
			}
			e.svc.Rand = rand.New(rand.NewPCG(8, 8))
			var other map[int]int
			mustOK(t, e.rolledBack(e.as(e.trainU), func(ctx context.Context) error {
				es, err := e.svc.AutoAssign(ctx, in)
				other = mapping(es)
				return err
			}))
			e.svc.Rand = rand.New(rand.NewPCG(7, 7))
			es := must(e.svc.AutoAssign(e.as(e.trainU), in))(t)
			got := mapping(es)
			if len(got) != 100 || !mapsEqual(got, first) {
				t.Fatal("the same seed gave a different assignment")
			}
			if mapsEqual(got, other) {
				t.Fatal("a different seed gave the same assignment")
			}
		})
		t.Run("100 over 40/40/30: within capacity, round-robin, all eligible, correct enrollments", func(t *testing.T) {
			es := must(e.client.Enrollment.Query().All(e.sys))(t)
			if len(es) != 100 {
				t.Fatalf("%d enrollments", len(es))
			}
			per := map[int]int{}
			for _, en := range es {
				per[*en.SessionID]++
				if !slices.Contains(eligible, en.CandidateID) || slices.Contains(notEligible, en.CandidateID) {
					t.Fatalf("candidate %d is not eligible", en.CandidateID)
				}
				if en.Source != enrollment.SourcePLAN || en.Status != enrollment.StatusPENDING_REVIEW || en.PlanID != p.ID ||
					en.SubjectID != e.subjA.ID || en.FeeCents != 12000 || en.TrainingOrgID == nil || *en.TrainingOrgID != e.trainer.ID ||
					en.EnrolledByID == nil || *en.EnrolledByID != e.trainU.ID || !en.PledgeAcceptedAt.Equal(e.clock.Now()) ||
					!en.SubmittedAt.Equal(e.clock.Now()) || en.PaymentStatus != enrollment.PaymentStatusUNPAID {
					t.Fatalf("enrollment %+v", en)
				}
				want := e.site.ID
				if *en.SessionID == s3.ID {
					want = e.site2.ID
				}
				if en.SiteID == nil || *en.SiteID != want {
					t.Fatalf("enrollment site %v, want %d", en.SiteID, want)
				}
			}
			if per[s1.ID] != 35 || per[s2.ID] != 35 || per[s3.ID] != 30 {
				t.Fatalf("spread %v, want 35/35/30 (round-robin, 30 fills up)", per)
			}
			for _, id := range sessionIDs {
				if x := e.sess(id); x.Taken != per[id] || x.Taken > x.Capacity {
					t.Fatalf("session %d: taken %d of %d, %d enrollments", id, x.Taken, x.Capacity, per[id])
				}
			}
			e.consistent()
			cand := must(e.client.User.Get(e.sys, es[0].CandidateID))(t)
			if e.notes(cand, plans.KindAssigned) != 1 {
				t.Fatal("candidate not notified")
			}
		})
		t.Run("candidates already in the plan are not drawn again", func(t *testing.T) {
			big := e.room(e.site, "大厅", 200)
			s4 := e.session(e.trainU, p, e.subjA, big, 11, 9)
			_, err := e.svc.AutoAssign(e.as(e.trainU), plans.AutoAssignInput{PlanID: p.ID, SubjectID: e.subjA.ID, SessionIDs: []int{s4.ID}, Count: 31})
			wantMsg(t, err, apperr.BadInput, "count", "可分配考生不足：需要 31，可分配 30")
			es := must(e.svc.AutoAssign(e.as(e.trainU), plans.AutoAssignInput{PlanID: p.ID, SubjectID: e.subjA.ID, SessionIDs: []int{s4.ID}, Count: 30}))(t)
			all := must(e.client.Enrollment.Query().Select(enrollment.FieldCandidateID).Ints(e.sys))(t)
			slices.Sort(all)
			if len(es) != 30 || len(slices.Compact(all)) != 130 {
				t.Fatalf("%d new, %d distinct candidates", len(es), len(slices.Compact(all)))
			}
			e.consistent()
		})
		t.Run("bad input and foreign plans change nothing", func(t *testing.T) {
			before, taken := e.enrollments(), e.totalTaken()
			other := e.plan(e.trainU)
			os := e.session(e.trainU, other, e.subjA, r1, 12, 9)
			osB := e.session(e.trainU, other, e.subjB, r2, 12, 9)
			osOther := e.session(e.trainU, other, e.subjOther, r3, 12, 9)
			adminPlan := e.plan(e.admin)
			as := e.session(e.admin, adminPlan, e.subjA, r1, 13, 9)
			cases := []struct {
				name  string
				u     *ent.User
				in    plans.AutoAssignInput
				code  apperr.Code
				field string
			}{
				{"count 0", e.trainU, plans.AutoAssignInput{PlanID: other.ID, SubjectID: e.subjA.ID, SessionIDs: []int{os.ID}}, apperr.BadInput, "count"},
				{"no sessions", e.trainU, plans.AutoAssignInput{PlanID: other.ID, SubjectID: e.subjA.ID, Count: 1}, apperr.BadInput, "sessionIDs"},
				{"duplicate sessions", e.trainU, plans.AutoAssignInput{PlanID: other.ID, SubjectID: e.subjA.ID, SessionIDs: []int{os.ID, os.ID}, Count: 1}, apperr.BadInput, "sessionIDs"},
				{"session of another plan", e.trainU, plans.AutoAssignInput{PlanID: other.ID, SubjectID: e.subjA.ID, SessionIDs: []int{s1.ID}, Count: 1}, apperr.BadInput, "sessionIDs"},
				{"session of another subject", e.trainU, plans.AutoAssignInput{PlanID: other.ID, SubjectID: e.subjA.ID, SessionIDs: []int{osB.ID}, Count: 1}, apperr.BadInput, "sessionIDs"},
				{"unknown subject", e.trainU, plans.AutoAssignInput{PlanID: other.ID, SubjectID: 999999, SessionIDs: []int{os.ID}, Count: 1}, apperr.BadInput, "subjectID"},
				{"subject without a training category", e.trainU, plans.AutoAssignInput{PlanID: other.ID, SubjectID: e.subjOther.ID, SessionIDs: []int{osOther.ID}, Count: 1}, apperr.BadInput, "subjectID"},
				{"another institution", e.train2U, plans.AutoAssignInput{PlanID: other.ID, SubjectID: e.subjA.ID, SessionIDs: []int{os.ID}, Count: 1}, apperr.Forbidden, ""},
				{"an exam site", e.siteU, plans.AutoAssignInput{PlanID: other.ID, SubjectID: e.subjA.ID, SessionIDs: []int{os.ID}, Count: 1}, apperr.Forbidden, ""},
				{"a plan without institution", e.admin, plans.AutoAssignInput{PlanID: adminPlan.ID, SubjectID: e.subjA.ID, SessionIDs: []int{as.ID}, Count: 1}, apperr.BadInput, "planID"},
				{"unknown plan", e.trainU, plans.AutoAssignInput{PlanID: 999999, SubjectID: e.subjA.ID, SessionIDs: []int{os.ID}, Count: 1}, apperr.NotFound, ""},
				{"too many", e.trainU, plans.AutoAssignInput{PlanID: other.ID, SubjectID: e.subjA.ID, SessionIDs: []int{os.ID}, Count: plans.MaxAutoAssign + 1}, apperr.BadInput, "count"},
			}
			for _, c := range cases {
				_, err := e.svc.AutoAssign(e.as(c.u), c.in)
				if err == nil {
					t.Fatalf("%s: accepted", c.name)
				}
				wantCode(t, err, c.code, c.field)
			}
			if e.enrollments() != before || e.totalTaken() != taken {
				t.Fatal("a refused assignment wrote something")
			}
			// Admin may assign on an institution's plan, from that institution's pool.
			es := must(e.svc.AutoAssign(e.as(e.admin), plans.AutoAssignInput{PlanID: other.ID, SubjectID: e.subjA.ID, SessionIDs: []int{os.ID}, Count: 3}))(t)
			if len(es) != 3 || *es[0].TrainingOrgID != e.trainer.ID || *es[0].EnrolledByID != e.admin.ID {
				t.Fatalf("admin assignment %+v", es[0])
			}
		})
		t.Run("a session that has started cannot be assigned to", func(t *testing.T) {
			other := e.plan(e.trainU)
			os := e.session(e.trainU, other, e.subjA, r2, 14, 9)
			e.clock.Set(day(time.April, 14, 9, 1))
			_, err := e.svc.AutoAssign(e.as(e.trainU), plans.AutoAssignInput{PlanID: other.ID, SubjectID: e.subjA.ID, SessionIDs: []int{os.ID}, Count: 1})
			e.clock.Set(day(time.March, 1, 9, 0))
			wantCode(t, err, apperr.BadInput, "sessionIDs")
		})
	})
}

func mapsEqual(a, b map[int]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestAutoAssignConcurrent runs four assignments of one plan at once, with
// seats for all but candidates for one: the plan lock serialises them, so
// one wins and the others are told the candidates are gone (without the
// lock they would draw the same people and fail on the unique index).
func TestAutoAssignConcurrent(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		e.trainees(130, e.trainer, schematype.CategoryA, trainingrecord.StatusAPPROVED)
		p := e.plan(e.trainU)
		s1 := e.session(e.trainU, p, e.subjA, e.room(e.site, "101", 300), 10, 9)
		s2 := e.session(e.trainU, p, e.subjA, e.room(e.site, "102", 300), 10, 9)
		in := plans.AutoAssignInput{PlanID: p.ID, SubjectID: e.subjA.ID, SessionIDs: []int{s1.ID, s2.ID}, Count: 70}
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = e.svc.AutoAssign(e.as(e.trainU), in)
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case apperr.Is(err, apperr.BadInput) && err.(*apperr.Error).Field == "count":
			default:
				t.Fatalf("unexpected error: %v", err)
			}
		}
		if ok != 1 || e.enrollments() != 70 || e.totalTaken() != 70 {
			t.Fatalf("%d succeeded, %d enrollments, %d taken", ok, e.enrollments(), e.totalTaken())
		}
		e.consistent()
	})
}

func TestManualAssign(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		ids := e.trainees(10, e.trainer, schematype.CategoryA, trainingrecord.StatusAPPROVED)
		bOnly := e.trainees(1, e.trainer, schematype.CategoryB, trainingrecord.StatusAPPROVED)
		foreign := e.trainees(1, e.trainer2, schematype.CategoryA, trainingrecord.StatusAPPROVED)
		p := e.plan(e.trainU)
		small := e.session(e.trainU, p, e.subjA, e.room(e.site, "小", 3), 10, 9)
		s := e.session(e.trainU, p, e.subjA, e.room(e.site, "101", 40), 10, 9)

		t.Run("over capacity is refused atomically", func(t *testing.T) {
			_, err := e.svc.ManualAssign(e.as(e.trainU), plans.ManualAssignInput{PlanID: p.ID, SessionID: small.ID, CandidateIDs: ids[:4]})
			wantMsg(t, err, apperr.BadInput, "sessionID", "所选考场剩余座位不足：需要 4，剩余 3")
			if e.enrollments() != 0 || e.sess(small.ID).Taken != 0 {
				t.Fatal("partial assignment")
			}
		})
		t.Run("selected candidates go to the session", func(t *testing.T) {
			es := must(e.svc.ManualAssign(e.as(e.trainU), plans.ManualAssignInput{PlanID: p.ID, SessionID: small.ID, CandidateIDs: ids[:3]}))(t)
			if len(es) != 3 || e.sess(small.ID).Taken != 3 {
				t.Fatalf("%d enrollments, taken %d", len(es), e.sess(small.ID).Taken)
			}
			for i, en := range es {
				if en.CandidateID != ids[i] || *en.SessionID != small.ID || en.Source != enrollment.SourcePLAN {
					t.Fatalf("%+v", en)
				}
			}
			e.consistent()
		})
		t.Run("a full session refuses even one more", func(t *testing.T) {
			_, err := e.svc.ManualAssign(e.as(e.trainU), plans.ManualAssignInput{PlanID: p.ID, SessionID: small.ID, CandidateIDs: ids[3:4]})
			wantMsg(t, err, apperr.BadInput, "sessionID", "所选考场剩余座位不足：需要 1，剩余 0")
		})
		t.Run("one ineligible candidate refuses the whole selection", func(t *testing.T) {
			before, taken := e.enrollments(), e.sess(s.ID).Taken
			for _, sel := range [][]int{
				{ids[3], bOnly[0]},            // trained in another category
				{ids[3], foreign[0]},          // trained elsewhere
				{ids[3], ids[0]},              // already in the plan for the subject
				{ids[3], ids[3]},              // selected twice
				{ids[3], e.candU.ID, ids[4]},  // no training record
				{ids[3], e.trainU.ID, ids[4]}, // not a candidate
			} {
				_, err := e.svc.ManualAssign(e.as(e.trainU), plans.ManualAssignInput{PlanID: p.ID, SessionID: s.ID, CandidateIDs: sel})
				wantCode(t, err, apperr.BadInput, "candidateIDs")
			}
			_, err := e.svc.ManualAssign(e.as(e.trainU), plans.ManualAssignInput{PlanID: p.ID, SessionID: s.ID})
			wantCode(t, err, apperr.BadInput, "candidateIDs")
			if e.enrollments() != before || e.sess(s.ID).Taken != taken {
				t.Fatal("a refused selection wrote something")
			}
			_, err = e.svc.ManualAssign(e.as(e.trainU), plans.ManualAssignInput{PlanID: p.ID, SessionID: s.ID, CandidateIDs: []int{ids[3], bOnly[0]}})
			if ae, _ := apperr.As(err); ae == nil || !strings.Contains(ae.Message, "（"+strconv.Itoa(bOnly[0])+"）") {
				t.Fatalf("the refusal does not name the candidate: %v", err)
			}
		})
		t.Run("another institution cannot touch the plan", func(t *testing.T) {
			_, err := e.svc.ManualAssign(e.as(e.train2U), plans.ManualAssignInput{PlanID: p.ID, SessionID: s.ID, CandidateIDs: foreign})
			wantMsg(t, err, apperr.Forbidden, "", plans.MsgNotOwner)
			_, err = e.svc.ManualAssign(e.as(e.trainU), plans.ManualAssignInput{PlanID: p.ID, SessionID: 999999, CandidateIDs: ids[3:4]})
			wantCode(t, err, apperr.BadInput, "sessionID")
		})
	})
}

func TestUnassign(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		ids := e.trainees(4, e.trainer, schematype.CategoryA, trainingrecord.StatusAPPROVED)
		p := e.plan(e.trainU)
		s := e.session(e.trainU, p, e.subjA, e.room(e.site, "101", 40), 10, 9)
		es := must(e.svc.ManualAssign(e.as(e.trainU), plans.ManualAssignInput{PlanID: p.ID, SessionID: s.ID, CandidateIDs: ids}))(t)

		got := must(e.svc.Unassign(e.as(e.trainU), es[0].ID))(t)
		if got.Status != enrollment.StatusCANCELLED || got.SessionID != nil || got.SiteID != nil || e.sess(s.ID).Taken != 3 {
			t.Fatalf("after unassign: %+v, taken %d", got, e.sess(s.ID).Taken)
		}
		cand := must(e.client.User.Get(e.sys, ids[0]))(t)
		if e.notes(cand, plans.KindUnassigned) != 1 {
			t.Fatal("candidate not told")
		}
		e.consistent()
		_, err := e.svc.Unassign(e.as(e.trainU), es[0].ID)
		wantCode(t, err, apperr.Conflict, "")
		// The candidate can be assigned again (the cancelled one does not count).
		must(e.svc.ManualAssign(e.as(e.trainU), plans.ManualAssignInput{PlanID: p.ID, SessionID: s.ID, CandidateIDs: ids[:1]}))(t)

		// Another institution does not even see the enrollment.
		_, err = e.svc.Unassign(e.as(e.train2U), es[1].ID)
		wantCode(t, err, apperr.NotFound, "")
		_, err = e.svc.Unassign(e.as(e.siteU), es[1].ID)
		wantCode(t, err, apperr.Forbidden, "")
		_, err = e.svc.Unassign(e.as(e.trainU), 999999)
		wantCode(t, err, apperr.NotFound, "")

		// Paid: the seat stays.
		must(e.client.Enrollment.UpdateOneID(es[1].ID).SetPaymentStatus(enrollment.PaymentStatusPAID).Save(e.sys))(t)
		_, err = e.svc.Unassign(e.as(e.trainU), es[1].ID)
		wantCode(t, err, apperr.Conflict, "")

		// A self enrollment in the plan is not the institution's to cancel.
		self := must(e.client.Enrollment.Create().SetCandidateID(e.candU.ID).SetPlanID(p.ID).SetSubjectID(e.subjA.ID).
			SetTrainingOrgID(e.trainer.ID).SetPledgeAcceptedAt(e.clock.Now()).SetSubmittedAt(e.clock.Now()).SetFeeCents(1).Save(e.sys))(t)
		_, err = e.svc.Unassign(e.as(e.trainU), self.ID)
		wantCode(t, err, apperr.BadInput, "enrollmentID")

		// Admin may; then the plan is submitted and nothing more changes.
		must(e.svc.Unassign(e.as(e.admin), es[2].ID))(t)
		must(e.svc.SubmitPlan(e.as(e.reviewer), p.ID))(t)
		_, err = e.svc.Unassign(e.as(e.trainU), es[3].ID)
		wantMsg(t, err, apperr.Conflict, "", plans.MsgSubmitted)
		if x := e.sess(s.ID); x.Taken != 3 {
			t.Fatalf("taken %d", x.Taken)
		}
	})
}
