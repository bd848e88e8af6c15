package enrollment_test

import (
	"testing"

	"github.com/kaowu/kaowu/ent/organization"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/enrollment"
	"github.com/kaowu/kaowu/internal/testenv"
)

// TestInstitutionPlansAreNotForEnrollment: a training institution's plan is
// filled by its assignments; it is neither listed for enrollment nor open to it.
func TestInstitutionPlansAreNotForEnrollment(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		trainer := e.org(organization.KindTRAINING_ORG, "安培培训中心", organization.StatusAPPROVED)
		inst := e.client.ExamPlan.Create().SetName("机构计划").SetRegionID(e.region.ID).SetTrainingOrgID(trainer.ID).
			SetEnrollStartsAt(e.plan.EnrollStartsAt).SetEnrollEndsAt(e.plan.EnrollEndsAt).
			SetExamFrom(e.plan.ExamFrom).SetExamTo(e.plan.ExamTo).SaveX(e.sys)
		sess := e.session(inst, e.subj, 10, 21)
		open := e.session(e.plan, e.subj, 10, 21)

		found, err := e.svc.SearchSessions(e.ctx, enrollment.SearchInput{From: e.plan.ExamFrom, To: e.plan.ExamTo})
		if err != nil {
			t.Fatal(err)
		}
		var sawOpen bool
		for _, s := range found {
			if s.ID == sess.ID {
				t.Error("a session of an institution's plan is listed for enrollment")
			}
			sawOpen = sawOpen || s.ID == open.ID
		}
		if !sawOpen {
			t.Error("the open plan's session is not listed")
		}
		u := e.candidate(true, nil)
		_, err = e.svc.Enroll(e.as(u), enrollment.EnrollInput{SessionID: sess.ID, PledgeAccepted: true})
		if ae := wantCode(t, err, apperr.BadInput); ae != nil && ae.Message != enrollment.MsgInstitutionPlan {
			t.Errorf("message %q", ae.Message)
		}
		if e.taken(sess.ID) != 0 || e.enrollments() != 0 {
			t.Error("a refused enrollment wrote something")
		}
	})
}
