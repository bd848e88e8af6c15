package scoring_test

import (
	"context"
	"testing"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/attempt"
	"github.com/kaowu/kaowu/ent/enrollment"
	"github.com/kaowu/kaowu/ent/profile"
	"github.com/kaowu/kaowu/internal/apperr"
	enr "github.com/kaowu/kaowu/internal/enrollment"
	"github.com/kaowu/kaowu/internal/testenv"
	"github.com/kaowu/kaowu/internal/txn"
)

// rowChecker is a real enrollment.ProfileChecker: the profile row must exist
// and name an education and an address (the enrollment tests' pattern).
type rowChecker struct{ client *ent.Client }

func (c rowChecker) Completeness(ctx context.Context, userID int) (bool, []string, string, error) {
	p, err := txn.Client(ctx, c.client).Profile.Query().Where(profile.UserID(userID)).Only(ctx)
	if ent.IsNotFound(err) {
		return false, []string{"个人资料"}, "", nil
	} else if err != nil {
		return false, nil, "", err
	}
	var missing []string
	if p.Education == nil {
		missing = append(missing, "学历")
	}
	if p.Address == "" {
		missing = append(missing, "通讯地址")
	}
	return len(missing) == 0, missing, "", nil
}

// A failed candidate enrolls again (补考) in a new plan: the failed result
// blocks nothing; the old enrollment keeps its attempt and result.
func TestRetakeAfterFail(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		enrollments := &enr.Service{Client: e.client, Notifier: e.notify, Profiles: rowChecker{client: e.client}, Now: e.clock.Now}
		c := e.candidate("补考生")

		first, err := enrollments.Enroll(e.as(c), enr.EnrollInput{SessionID: e.session(e.plan, e.theory).ID, PledgeAccepted: true})
		mustOK(t, err)
		// Bring it to a reviewed-FAIL formal attempt (approval and payment as
		// the enrollment package records them; the attempt as the exam package would).
		e.client.Enrollment.UpdateOneID(first.ID).SetStatus(enrollment.StatusAPPROVED).
			SetPaymentStatus(enrollment.PaymentStatusPAID).SetPaidAt(t0).ExecX(e.sys)
		first = e.client.Enrollment.GetX(e.sys, first.ID)
		sess := e.client.ExamSession.GetX(e.sys, *first.SessionID)
		a := e.submittedWith(c, first, sess, 72)
		_, err = e.svc.Review(e.as(e.reviewer), a.ID, false, "考试期间离开座位")
		mustOK(t, err)

		// The same plan and subject is still one live enrollment: refused by
		// enrollment's duplicate rule, not by the result.
		_, err = enrollments.Enroll(e.as(c), enr.EnrollInput{SessionID: e.session(e.plan, e.theory).ID, PledgeAccepted: true})
		if ae := wantCode(t, err, apperr.Conflict); ae.Message != enr.MsgDuplicate {
			t.Fatalf("message %q", ae.Message)
		}

		// A new plan: the retake goes through.
		retake, err := enrollments.Enroll(e.as(c), enr.EnrollInput{SessionID: e.session(e.newPlan(), e.theory).ID, PledgeAccepted: true})
		mustOK(t, err)
		if retake.Status != enrollment.StatusPENDING_REVIEW || retake.SubjectID != e.theory.ID {
			t.Fatalf("retake %+v", retake)
		}
		if got := e.get(a.ID); *got.Result != attempt.ResultFAIL {
			t.Fatalf("old result %v", *got.Result)
		}
	})
}
