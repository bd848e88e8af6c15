package enrollment_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/auditlog"
	"github.com/kaowu/kaowu/ent/enrollment"
	"github.com/kaowu/kaowu/ent/profile"
	"github.com/kaowu/kaowu/internal/apperr"
	enr "github.com/kaowu/kaowu/internal/enrollment"
	"github.com/kaowu/kaowu/internal/testenv"
)

func TestReview(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url)

		t.Run("approve records reviewer, department and time, and notifies", func(t *testing.T) {
			s := e.session(e.plan, e.subj, 5, 21)
			u := e.candidate(true, e.company)
			got, err := e.svc.EnrollStaff(e.as(e.companyUser), s.ID, []int{u.ID}, true)
			mustOK(t, err)
			e.clock.Set(t0.Add(2 * time.Hour))
			defer e.clock.Set(t0)
			r, err := e.svc.Review(e.as(e.reviewer), got[0].ID, true, "")
			mustOK(t, err)
			if r.Status != enrollment.StatusAPPROVED || *r.ReviewerID != e.reviewer.ID || *r.ReviewDepartmentID != e.dept.ID ||
				!r.ReviewedAt.Equal(t0.Add(2*time.Hour)) || *r.SessionID != s.ID {
				t.Fatalf("row %+v", r)
			}
			if e.taken(s.ID) != 1 {
				t.Fatal("approval changed the seat")
			}
			if len(e.notes(u, enr.KindApproved)) != 1 || len(e.notes(e.companyUser, enr.KindApproved)) != 1 {
				t.Fatal("candidate and company must be notified")
			}
			_, err = e.svc.Review(e.as(e.reviewer), got[0].ID, false, "重复")
			if ae := wantCode(t, err, apperr.Conflict); ae.Message != enr.MsgReviewed {
				t.Fatalf("message %q", ae.Message)
			}
		})

		t.Run("reject needs a reason, releases the seat; my reviews shows it", func(t *testing.T) {
			s := e.session(e.plan, e.subj, 1, 22)
			u := e.candidate(true, nil)
			en := e.enroll(u, s)
			_, err := e.svc.Review(e.as(e.reviewer), en.ID, false, "  ")
			wantField(t, err, "reason")
			_, err = e.svc.Review(e.as(e.reviewer), en.ID, false, strings.Repeat("长", 501))
			wantField(t, err, "reason")
			if e.get(en.ID).Status != enrollment.StatusPENDING_REVIEW || e.taken(s.ID) != 1 {
				t.Fatal("bad input changed the enrollment")
			}
			r, err := e.svc.Review(e.as(e.reviewer), en.ID, false, "学历证书照片不清晰")
			mustOK(t, err)
			if r.Status != enrollment.StatusREJECTED || r.ReviewReason != "学历证书照片不清晰" || r.SessionID != nil || r.SiteID != nil {
				t.Fatalf("row %+v", r)
			}
			if e.taken(s.ID) != 0 {
				t.Fatal("rejection kept the seat")
			}
			notes := e.notes(u, enr.KindRejected)
			if len(notes) != 1 || !strings.Contains(notes[0].Body, "学历证书照片不清晰") {
				t.Fatalf("notes %+v", notes)
			}
			// The freed seat is someone else's now.
			e.enroll(e.candidate(true, nil), s)

			mine, err := e.svc.MyEnrollments(e.as(u))
			mustOK(t, err)
			if len(mine) != 1 {
				t.Fatalf("mine %d", len(mine))
			}
			m := mine[0]
			if m.Status != enrollment.StatusREJECTED || m.ReviewReason != "学历证书照片不清晰" || !m.ReviewedAt.Equal(t0) ||
				m.Edges.ReviewDepartment == nil || m.Edges.ReviewDepartment.Name != e.dept.Name || m.Edges.Subject.Name != e.subj.Name {
				t.Fatalf("my review %+v", m)
			}
			// Nobody else sees it.
			theirs, err := e.svc.MyEnrollments(e.as(e.candidate(true, nil)))
			mustOK(t, err)
			if len(theirs) != 0 {
				t.Fatal("another candidate sees it")
			}
			_, err = e.svc.MyEnrollments(e.as(e.reviewer))
			wantCode(t, err, apperr.Forbidden)
		})

		t.Run("only reviewers with a department, and admins, review", func(t *testing.T) {
			s := e.session(e.plan, e.subj, 5, 23)
			u := e.candidate(true, nil)
			en := e.enroll(u, s)
			_, err := e.svc.Review(e.ctx, en.ID, true, "")
			wantCode(t, err, apperr.Unauthenticated)
			for _, who := range []*ent.User{u, e.companyUser, e.user("EXAM_SITE", e.site), e.user("REVIEWER", nil)} {
				_, err = e.svc.Review(e.as(who), en.ID, true, "")
				wantCode(t, err, apperr.Forbidden)
			}
			_, err = e.svc.Review(e.as(e.reviewer), 987654, true, "")
			wantCode(t, err, apperr.NotFound)
			if e.get(en.ID).Status != enrollment.StatusPENDING_REVIEW {
				t.Fatal("changed")
			}
			admin := e.user("ADMIN", nil)
			r, err := e.svc.Review(e.as(admin), en.ID, true, "")
			mustOK(t, err)
			if r.ReviewDepartmentID != nil || *r.ReviewerID != admin.ID {
				t.Fatalf("admin review %+v", r)
			}
		})

		t.Run("two reviewers at once: exactly one decides", func(t *testing.T) {
			s := e.session(e.plan, e.subj, 5, 24)
			en := e.enroll(e.candidate(true, nil), s)
			other := e.user("REVIEWER", e.dept)
			const n = 8
			var wg sync.WaitGroup
			errs := make([]error, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					who := e.reviewer
					if i%2 == 1 {
						who = other
					}
					_, errs[i] = e.svc.Review(e.as(who), en.ID, i%2 == 0, "资料不全")
				}()
			}
			wg.Wait()
			won := 0
			for _, err := range errs {
				if err == nil {
					won++
				} else {
					wantCode(t, err, apperr.Conflict)
				}
			}
			got := e.get(en.ID)
			wantTaken := 1
			if got.Status == enrollment.StatusREJECTED {
				wantTaken = 0
			}
			if won != 1 || e.taken(s.ID) != wantTaken {
				t.Fatalf("won %d status %s taken %d", won, got.Status, e.taken(s.ID))
			}
		})
		e.checkSeats()
	})
}

func TestResubmitAndCancel(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url)

		t.Run("a rejected enrollment is corrected and resubmitted", func(t *testing.T) {
			s := e.session(e.plan, e.subj, 5, 21)
			s2 := e.session(e.plan, e.subj, 1, 22)
			u := e.candidate(true, nil)
			en := e.enroll(u, s)
			_, err := e.svc.Review(e.as(e.reviewer), en.ID, false, "照片不合格")
			mustOK(t, err)

			in := enr.ResubmitInput{SessionID: s2.ID, PledgeAccepted: true}
			_, err = e.svc.Resubmit(e.as(u), en.ID, enr.ResubmitInput{SessionID: s2.ID})
			wantField(t, err, "pledgeAccepted")
			_, err = e.svc.Resubmit(e.as(e.candidate(true, nil)), en.ID, in)
			wantCode(t, err, apperr.NotFound) // privacy hides it
			otherSubj := e.session(e.plan, e.subject("OTHER", 100), 5, 22)
			_, err = e.svc.Resubmit(e.as(u), en.ID, enr.ResubmitInput{SessionID: otherSubj.ID, PledgeAccepted: true})
			wantField(t, err, "sessionID")
			otherPlan := e.session(e.newPlan(e.region.ID), e.subj, 5, 22)
			_, err = e.svc.Resubmit(e.as(u), en.ID, enr.ResubmitInput{SessionID: otherPlan.ID, PledgeAccepted: true})
			wantField(t, err, "sessionID")
			// Still incomplete after "correction": refused.
			e.client.Profile.Update().Where(profile.UserID(u.ID)).ClearEducation().ExecX(e.sys)
			_, err = e.svc.Resubmit(e.as(u), en.ID, in)
			wantField(t, err, "profile")
			e.client.Profile.Update().Where(profile.UserID(u.ID)).SetEducation(profile.EducationBACHELOR).ExecX(e.sys)
			// A full target keeps it rejected.
			filler := e.enroll(e.candidate(true, nil), s2)
			_, err = e.svc.Resubmit(e.as(u), en.ID, in)
			wantFull(t, err)
			if got := e.get(en.ID); got.Status != enrollment.StatusREJECTED || got.SessionID != nil {
				t.Fatalf("after failed resubmit %+v", got)
			}
			_, err = e.svc.Cancel(e.as(e.client.User.GetX(e.sys, filler.CandidateID)), filler.ID)
			mustOK(t, err)

			e.clock.Set(t0.Add(time.Hour))
			defer e.clock.Set(t0)
			r, err := e.svc.Resubmit(e.as(u), en.ID, in)
			mustOK(t, err)
			if r.Status != enrollment.StatusPENDING_REVIEW || *r.SessionID != s2.ID || r.ReviewReason != "" || r.ReviewedAt != nil ||
				r.ReviewerID != nil || r.ReviewDepartmentID != nil || !r.SubmittedAt.Equal(t0.Add(time.Hour)) {
				t.Fatalf("resubmitted %+v", r)
			}
			if e.taken(s2.ID) != 1 || e.taken(s.ID) != 0 {
				t.Fatal("seats")
			}
			_, err = e.svc.Resubmit(e.as(u), en.ID, in)
			wantCode(t, err, apperr.Conflict)
			// History stays in the audit log: created, rejected, resubmitted.
			n := e.client.AuditLog.Query().Where(auditlog.EntityType(ent.TypeEnrollment), auditlog.EntityID(en.ID)).CountX(e.sys)
			if n < 3 {
				t.Fatalf("audit rows %d", n)
			}
		})

		t.Run("resubmit conflicts with a newer live enrollment", func(t *testing.T) {
			s := e.session(e.plan, e.subj, 5, 23)
			u := e.candidate(true, nil)
			en := e.enroll(u, s)
			_, err := e.svc.Review(e.as(e.reviewer), en.ID, false, "资料不全")
			mustOK(t, err)
			e.enroll(u, s) // a fresh enrollment instead
			_, err = e.svc.Resubmit(e.as(u), en.ID, enr.ResubmitInput{SessionID: s.ID, PledgeAccepted: true})
			wantCode(t, err, apperr.Conflict)
			if e.taken(s.ID) != 1 || e.get(en.ID).Status != enrollment.StatusREJECTED {
				t.Fatal("changed")
			}
		})

		t.Run("cancel before payment releases the seat", func(t *testing.T) {
			s := e.session(e.plan, e.subj, 5, 24)
			u := e.candidate(true, nil)
			en := e.enroll(u, s)
			_, err := e.svc.Cancel(e.as(e.candidate(true, nil)), en.ID)
			wantCode(t, err, apperr.NotFound)
			_, err = e.svc.Cancel(e.as(e.companyUser), en.ID)
			wantCode(t, err, apperr.NotFound) // not the company's
			_, err = e.svc.Cancel(e.as(e.reviewer), en.ID)
			wantCode(t, err, apperr.Forbidden)
			r, err := e.svc.Cancel(e.as(u), en.ID)
			mustOK(t, err)
			if r.Status != enrollment.StatusCANCELLED || r.SessionID != nil || e.taken(s.ID) != 0 {
				t.Fatalf("cancelled %+v taken %d", r, e.taken(s.ID))
			}
			_, err = e.svc.Cancel(e.as(u), en.ID)
			wantCode(t, err, apperr.Conflict)
			_, err = e.svc.Review(e.as(e.reviewer), en.ID, true, "")
			wantCode(t, err, apperr.Conflict)
		})

		t.Run("the company cancels its staff's; the candidate is told", func(t *testing.T) {
			s := e.session(e.plan, e.subj, 5, 24)
			u := e.candidate(true, e.company)
			got, err := e.svc.EnrollStaff(e.as(e.companyUser), s.ID, []int{u.ID}, true)
			mustOK(t, err)
			_, err = e.svc.Cancel(e.as(e.companyUser), got[0].ID)
			mustOK(t, err)
			if e.taken(s.ID) != 0 || len(e.notes(u, enr.KindCancelled)) != 1 {
				t.Fatal("seat or notification")
			}
		})

		t.Run("no cancel once paying", func(t *testing.T) {
			s := e.session(e.plan, e.subj, 5, 25)
			u := e.candidate(true, nil)
			en := e.enroll(u, s)
			_, err := e.svc.Review(e.as(e.reviewer), en.ID, true, "")
			mustOK(t, err)
			mustOK(t, e.svc.MarkPaymentPending(e.sys, []int{en.ID}))
			_, err = e.svc.Cancel(e.as(u), en.ID)
			wantCode(t, err, apperr.Conflict)
			mustOK(t, e.svc.MarkPaid(e.sys, []int{en.ID}, t0))
			_, err = e.svc.Cancel(e.as(u), en.ID)
			wantCode(t, err, apperr.Conflict)
			if e.taken(s.ID) != 1 || e.get(en.ID).Status != enrollment.StatusAPPROVED {
				t.Fatal("changed")
			}
		})
		e.checkSeats()
	})
}
