package enrollment_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/enrollment"
	"github.com/kaowu/kaowu/ent/examsession"
	"github.com/kaowu/kaowu/ent/organization"
	"github.com/kaowu/kaowu/ent/schematype"
	"github.com/kaowu/kaowu/ent/subject"
	"github.com/kaowu/kaowu/internal/apperr"
	enr "github.com/kaowu/kaowu/internal/enrollment"
	"github.com/kaowu/kaowu/internal/seats"
	"github.com/kaowu/kaowu/internal/testenv"
	"github.com/kaowu/kaowu/internal/txn"
	"github.com/kaowu/kaowu/internal/viewer"
)

func TestEnroll(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url)

		t.Run("enrolls, snapshots the fee and holds a seat", func(t *testing.T) {
			s := e.session(e.plan, e.subj, 3, 21)
			u := e.candidate(true, nil)
			en := e.enroll(u, s)
			got := e.get(en.ID)
			if got.Status != enrollment.StatusPENDING_REVIEW || got.Source != enrollment.SourceSELF ||
				got.PaymentStatus != enrollment.PaymentStatusUNPAID {
				t.Fatalf("status %s source %s payment %s", got.Status, got.Source, got.PaymentStatus)
			}
			if got.CandidateID != u.ID || got.PlanID != e.plan.ID || got.SubjectID != e.subj.ID ||
				got.SessionID == nil || *got.SessionID != s.ID || got.SiteID == nil || *got.SiteID != e.site.ID ||
				got.EnrolledByID == nil || *got.EnrolledByID != u.ID || got.CompanyID != nil {
				t.Fatalf("row %+v", got)
			}
			if got.FeeCents != 6000 || !got.SubmittedAt.Equal(t0) || !got.PledgeAcceptedAt.Equal(t0) {
				t.Fatalf("fee %d submitted %v pledge %v", got.FeeCents, got.SubmittedAt, got.PledgeAcceptedAt)
			}
			if e.taken(s.ID) != 1 {
				t.Fatalf("taken %d", e.taken(s.ID))
			}
			// A later fee change does not touch the snapshot.
			e.client.Subject.UpdateOneID(e.subj.ID).SetFeeCents(9900).ExecX(e.sys)
			if e.get(en.ID).FeeCents != 6000 {
				t.Fatal("fee snapshot changed")
			}
			e.client.Subject.UpdateOneID(e.subj.ID).SetFeeCents(6000).ExecX(e.sys)
		})

		t.Run("refusals leave no seat and no row", func(t *testing.T) {
			s := e.session(e.plan, e.subj, 2, 22)
			u := e.candidate(true, nil)
			before := e.enrollments()
			check := func(t *testing.T) {
				t.Helper()
				if e.taken(s.ID) != 0 || e.enrollments() != before {
					t.Fatalf("taken %d rows %d→%d", e.taken(s.ID), before, e.enrollments())
				}
			}
			in := enr.EnrollInput{SessionID: s.ID, PledgeAccepted: true}

			_, err := e.svc.Enroll(e.ctx, in)
			wantCode(t, err, apperr.Unauthenticated)
			_, err = e.svc.Enroll(e.as(e.companyUser), in)
			wantCode(t, err, apperr.Forbidden)
			_, err = e.svc.Enroll(e.as(e.reviewer), in)
			wantCode(t, err, apperr.Forbidden)

			_, err = e.svc.Enroll(e.as(u), enr.EnrollInput{SessionID: s.ID})
			if ae := wantField(t, err, "pledgeAccepted"); ae.Message != enr.MsgPledge {
				t.Fatalf("message %q", ae.Message)
			}
			_, err = e.svc.Enroll(e.as(u), enr.EnrollInput{SessionID: 987654, PledgeAccepted: true})
			wantField(t, err, "sessionID")

			// Enrollment window: before it opens and once it closed.
			e.clock.Set(t0.Add(-48 * time.Hour))
			_, err = e.svc.Enroll(e.as(u), in)
			wantField(t, err, "sessionID")
			e.clock.Set(e.plan.EnrollEndsAt)
			_, err = e.svc.Enroll(e.as(u), in)
			wantField(t, err, "sessionID")
			e.clock.Set(t0)

			// Session not SCHEDULED.
			e.setSessionStatus(s, examsession.StatusCANCELLED)
			_, err = e.svc.Enroll(e.as(u), in)
			wantField(t, err, "sessionID")
			e.setSessionStatus(s, examsession.StatusSCHEDULED)

			// Inactive subject.
			e.client.Subject.UpdateOneID(e.subj.ID).SetActive(false).ExecX(e.sys)
			_, err = e.svc.Enroll(e.as(u), in)
			wantField(t, err, "sessionID")
			e.client.Subject.UpdateOneID(e.subj.ID).SetActive(true).ExecX(e.sys)

			// Incomplete profile: the missing items are named.
			inc := e.candidate(false, nil)
			_, err = e.svc.Enroll(e.as(inc), in)
			ae := wantField(t, err, "profile")
			if m, _ := ae.Extra["missing"].([]string); !slices.Equal(m, []string{"学历", "通讯地址"}) ||
				ae.Message != "个人资料不完整，请先补充：学历、通讯地址" {
				t.Fatalf("missing %v message %q", ae.Extra["missing"], ae.Message)
			}
			noProfile := e.user("CANDIDATE", nil)
			_, err = e.svc.Enroll(e.as(noProfile), in)
			wantField(t, err, "profile")
			check(t)
		})

		t.Run("category must match the A/B/C exams", func(t *testing.T) {
			catB := e.subject(subject.CategoryB, 12000)
			s := e.session(e.plan, catB, 5, 23)
			u := e.candidate(true, nil)
			e.setCategory(u, schematype.CategoryA)
			_, err := e.svc.Enroll(e.as(u), enr.EnrollInput{SessionID: s.ID, PledgeAccepted: true})
			wantField(t, err, "sessionID")
			if e.taken(s.ID) != 0 {
				t.Fatal("seat taken")
			}
			e.setCategory(u, schematype.CategoryB)
			e.enroll(u, s)
			// OTHER subjects take anyone.
			e.enroll(u, e.session(e.plan, e.subj, 5, 23))
		})

		t.Run("one live enrollment per plan and subject", func(t *testing.T) {
			s := e.session(e.plan, e.subj, 5, 24)
			other := e.session(e.plan, e.subj, 5, 25)
			u := e.candidate(true, nil)
			first := e.enroll(u, s)
			_, err := e.svc.Enroll(e.as(u), enr.EnrollInput{SessionID: other.ID, PledgeAccepted: true})
			if ae := wantCode(t, err, apperr.Conflict); ae.Message != enr.MsgDuplicate {
				t.Fatalf("message %q", ae.Message)
			}
			if e.taken(s.ID) != 1 || e.taken(other.ID) != 0 {
				t.Fatal("duplicate changed seats")
			}
			// Another plan or subject is fine; a cancelled one frees the place.
			e.enroll(u, e.session(e.newPlan(e.region.ID), e.subj, 5, 24))
			e.enroll(u, e.session(e.plan, e.subject(subject.CategoryOTHER, 100), 5, 24))
			_, err = e.svc.Cancel(e.as(u), first.ID)
			mustOK(t, err)
			e.enroll(u, other)
			e.checkSeats()
		})

		t.Run("concurrent duplicates: one wins, the rest CONFLICT", func(t *testing.T) {
			s := e.session(e.plan, e.subj, 10, 26)
			u := e.candidate(true, nil)
			const n = 10
			var wg sync.WaitGroup
			errs := make([]error, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[i] = e.svc.Enroll(e.as(u), enr.EnrollInput{SessionID: s.ID, PledgeAccepted: true})
				}()
			}
			wg.Wait()
			ok := 0
			for _, err := range errs {
				if err == nil {
					ok++
					continue
				}
				if ae := wantCode(t, err, apperr.Conflict); ae.Message != enr.MsgDuplicate {
					t.Fatalf("message %q", ae.Message)
				}
			}
			if ok != 1 || e.taken(s.ID) != 1 {
				t.Fatalf("ok %d taken %d", ok, e.taken(s.ID))
			}
		})

		t.Run("a full session refuses with the exact message", func(t *testing.T) {
			s := e.session(e.plan, e.subj, 1, 27)
			e.enroll(e.candidate(true, nil), s)
			before := e.enrollments()
			_, err := e.svc.Enroll(e.as(e.candidate(true, nil)), enr.EnrollInput{SessionID: s.ID, PledgeAccepted: true})
			wantFull(t, err)
			if !errors.Is(err, seats.ErrFull) || e.taken(s.ID) != 1 || e.enrollments() != before {
				t.Fatal("full session changed")
			}
		})

		t.Run("joins the caller's transaction: a rollback frees the seat", func(t *testing.T) {
			s := e.session(e.plan, e.subj, 1, 27)
			u := e.candidate(true, nil)
			before := e.enrollments()
			err := txn.WithTx(e.as(u), e.client, func(ctx context.Context) error {
				if _, err := e.svc.Enroll(ctx, enr.EnrollInput{SessionID: s.ID, PledgeAccepted: true}); err != nil {
					return err
				}
				return errRollback
			})
			if !errors.Is(err, errRollback) || e.taken(s.ID) != 0 || e.enrollments() != before {
				t.Fatalf("err %v taken %d", err, e.taken(s.ID))
			}
			e.enroll(u, s) // the seat is really free
		})
		e.checkSeats()
	})
}

// TestOversell: many more candidates than seats enroll at once; exactly
// capacity of them get a seat and every other gets the full message.
func TestOversell(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		capacity, n := 50, 500
		if e.d.Dialect != "postgres" {
			capacity, n = 20, 100 // SQLite serialises writers; fewer goroutines suffice
		}
		s := e.session(e.plan, e.subj, capacity, 21)
		people := e.candidates(n)
		// Failed enrollments first: they must not take a seat.
		inc := e.candidate(false, nil)
		_, err := e.svc.Enroll(e.as(inc), enr.EnrollInput{SessionID: s.ID, PledgeAccepted: true})
		wantField(t, err, "profile")

		var wg sync.WaitGroup
		errs := make([]error, n)
		start := make(chan struct{})
		for i, u := range people {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, errs[i] = e.svc.Enroll(e.as(u), enr.EnrollInput{SessionID: s.ID, PledgeAccepted: true})
			}()
		}
		close(start)
		wg.Wait()
		ok, full := 0, 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case errors.Is(err, seats.ErrFull):
				wantFull(t, err)
				full++
			default:
				t.Fatalf("unexpected error: %v", err)
			}
		}
		rows := e.client.Enrollment.Query().Where(enrollment.SessionID(s.ID)).CountX(e.sys)
		if ok != capacity || full != n-capacity || e.taken(s.ID) != capacity || rows != capacity {
			t.Fatalf("ok %d full %d taken %d rows %d; want %d/%d/%d/%d", ok, full, e.taken(s.ID), rows, capacity, n-capacity, capacity, capacity)
		}
		// And a duplicate after the fact still leaves taken alone.
		winner := e.client.Enrollment.Query().Where(enrollment.SessionID(s.ID)).FirstX(e.sys)
		_, err = e.svc.Enroll(viewer.NewContext(e.ctx, &viewer.Viewer{UserID: winner.CandidateID, Role: viewer.Candidate}),
			enr.EnrollInput{SessionID: s.ID, PledgeAccepted: true})
		wantCode(t, err, apperr.Conflict)
		if e.taken(s.ID) != capacity {
			t.Fatal("taken changed")
		}
		e.checkSeats()
	})
}

func TestEnrollStaff(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		staff := func(n int) []int {
			var ids []int
			for range n {
				ids = append(ids, e.candidate(true, e.company).ID)
			}
			return ids
		}

		t.Run("enrolls staff in bulk and tells each of them", func(t *testing.T) {
			s := e.session(e.plan, e.subj, 5, 21)
			ids := staff(3)
			got, err := e.svc.EnrollStaff(e.as(e.companyUser), s.ID, ids, true)
			mustOK(t, err)
			if len(got) != 3 || e.taken(s.ID) != 3 {
				t.Fatalf("got %d taken %d", len(got), e.taken(s.ID))
			}
			for _, en := range got {
				r := e.get(en.ID)
				if r.Source != enrollment.SourceCOMPANY || r.CompanyID == nil || *r.CompanyID != e.company.ID ||
					*r.EnrolledByID != e.companyUser.ID || r.Status != enrollment.StatusPENDING_REVIEW || r.FeeCents != 6000 {
					t.Fatalf("row %+v", r)
				}
				if len(e.notes(e.client.User.GetX(e.sys, r.CandidateID), enr.KindEnrolledByCompany)) != 1 {
					t.Fatal("candidate not notified")
				}
			}
			// The company sees them as its own.
			mine, err := e.svc.MyEnrollments(e.as(e.companyUser))
			mustOK(t, err)
			if len(mine) != 3 {
				t.Fatalf("company sees %d", len(mine))
			}
		})

		t.Run("all or nothing when seats run out", func(t *testing.T) {
			s := e.session(e.plan, e.subj, 4, 22)
			e.enroll(e.candidate(true, nil), s)
			before := e.enrollments()
			_, err := e.svc.EnrollStaff(e.as(e.companyUser), s.ID, staff(4), true)
			ae := wantCode(t, err, apperr.Conflict)
			if !errors.Is(err, seats.ErrFull) || ae.Extra["remaining"] != 3 {
				t.Fatalf("%v %v", err, ae.Extra)
			}
			if e.taken(s.ID) != 1 || e.enrollments() != before {
				t.Fatalf("taken %d rows %d→%d", e.taken(s.ID), before, e.enrollments())
			}
			// Fits exactly.
			_, err = e.svc.EnrollStaff(e.as(e.companyUser), s.ID, staff(3), true)
			mustOK(t, err)
			_, err = e.svc.EnrollStaff(e.as(e.companyUser), s.ID, staff(1), true)
			wantFull(t, err)
		})

		t.Run("refusals write nothing", func(t *testing.T) {
			s := e.session(e.plan, e.subj, 10, 23)
			before := e.enrollments()
			ids := staff(2)
			outsider := e.candidate(true, nil).ID
			otherCo := e.org(organization.KindCOMPANY, "别家公司", organization.StatusAPPROVED)
			foreign := e.candidate(true, otherCo).ID
			incomplete := e.candidate(false, e.company).ID

			_, err := e.svc.EnrollStaff(e.as(e.candidate(true, nil)), s.ID, ids, true)
			wantCode(t, err, apperr.Forbidden)
			_, err = e.svc.EnrollStaff(e.as(e.companyUser), s.ID, ids, false)
			wantField(t, err, "pledgeAccepted")
			_, err = e.svc.EnrollStaff(e.as(e.companyUser), s.ID, nil, true)
			wantField(t, err, "candidateIDs")
			_, err = e.svc.EnrollStaff(e.as(e.companyUser), s.ID, []int{ids[0], ids[1], ids[0]}, true)
			wantField(t, err, "candidateIDs")
			_, err = e.svc.EnrollStaff(e.as(e.companyUser), s.ID, append(slices.Clone(ids), outsider), true)
			if ae := wantField(t, err, "candidateIDs"); !slices.Equal(ae.Extra["candidateIDs"].([]int), []int{outsider}) {
				t.Fatalf("strangers %v", ae.Extra["candidateIDs"])
			}
			_, err = e.svc.EnrollStaff(e.as(e.companyUser), s.ID, append(slices.Clone(ids), foreign), true)
			wantField(t, err, "candidateIDs")
			_, err = e.svc.EnrollStaff(e.as(e.companyUser), s.ID, append(slices.Clone(ids), incomplete), true)
			if ae := wantField(t, err, "profile"); ae.Extra["candidateID"] != incomplete {
				t.Fatalf("%+v", ae)
			}
			// One already enrolled: nobody is.
			e.enroll(e.client.User.GetX(e.sys, ids[1]), s)
			_, err = e.svc.EnrollStaff(e.as(e.companyUser), s.ID, ids, true)
			if ae := wantCode(t, err, apperr.Conflict); !slices.Equal(ae.Extra["candidateIDs"].([]int), []int{ids[1]}) {
				t.Fatalf("%+v", ae)
			}
			if e.taken(s.ID) != 1 || e.enrollments() != before+1 {
				t.Fatalf("taken %d rows %d→%d", e.taken(s.ID), before, e.enrollments())
			}
		})

		t.Run("a company not yet approved cannot enroll", func(t *testing.T) {
			s := e.session(e.plan, e.subj, 10, 24)
			pending := e.org(organization.KindCOMPANY, "新公司", organization.StatusPENDING)
			acct := e.user("COMPANY", pending)
			c := e.candidate(true, pending)
			_, err := e.svc.EnrollStaff(e.as(acct), s.ID, []int{c.ID}, true)
			if ae := wantCode(t, err, apperr.Forbidden); ae.Message != enr.MsgCompanyPending {
				t.Fatalf("message %q", ae.Message)
			}
			if e.taken(s.ID) != 0 {
				t.Fatal("seat taken")
			}
		})
		e.checkSeats()
	})
}

func TestSearchSessions(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		other := e.client.Region.Create().SetCode("440100").SetName("广州市").SaveX(e.sys)
		sz1 := e.session(e.plan, e.subj, 2, 21)
		sz2 := e.session(e.plan, e.subj, 1, 25)
		subj2 := e.subject(subject.CategoryOTHER, 100)
		sz3 := e.session(e.plan, subj2, 2, 22)
		gzPlan := e.newPlan(other.ID)
		gz := e.session(gzPlan, e.subj, 2, 21)
		closed := e.client.ExamPlan.Create().SetName("已截止").SetRegionID(e.region.ID).
			SetEnrollStartsAt(t0.Add(-48 * time.Hour)).SetEnrollEndsAt(t0.Add(-time.Hour)).
			SetExamFrom(t0.Add(20 * 24 * time.Hour)).SetExamTo(t0.Add(30 * 24 * time.Hour)).SaveX(e.sys)
		e.session(closed, e.subj, 2, 21)
		cancelled := e.session(e.plan, e.subj, 2, 21)
		e.setSessionStatus(cancelled, examsession.StatusCANCELLED)
		e.enroll(e.candidate(true, nil), sz2) // now full

		ids := func(list []*ent.ExamSession) []int {
			var out []int
			for _, s := range list {
				out = append(out, s.ID)
			}
			return out
		}
		from, to := t0.Add(20*24*time.Hour), t0.Add(31*24*time.Hour)
		anon := context.Background()

		got, err := e.svc.SearchSessions(anon, enr.SearchInput{From: from, To: to, RegionID: &e.region.ID})
		mustOK(t, err)
		if want := []int{sz1.ID, sz3.ID, sz2.ID}; !slices.Equal(ids(got), want) {
			t.Fatalf("region: %v want %v", ids(got), want)
		}
		if enr.Remaining(got[2]) != 0 || enr.Remaining(got[0]) != 2 {
			t.Fatal("remaining seats")
		}
		got, _ = e.svc.SearchSessions(anon, enr.SearchInput{From: from, To: to, RegionID: &e.region.ID, OnlyAvailable: true})
		if want := []int{sz1.ID, sz3.ID}; !slices.Equal(ids(got), want) {
			t.Fatalf("available: %v want %v", ids(got), want)
		}
		got, _ = e.svc.SearchSessions(anon, enr.SearchInput{From: from, To: to, SubjectID: &subj2.ID})
		if want := []int{sz3.ID}; !slices.Equal(ids(got), want) {
			t.Fatalf("subject: %v want %v", ids(got), want)
		}
		got, _ = e.svc.SearchSessions(anon, enr.SearchInput{From: from, To: to})
		if want := []int{sz1.ID, gz.ID, sz3.ID, sz2.ID}; !slices.Equal(ids(got), want) {
			t.Fatalf("all: %v want %v", ids(got), want)
		}
		// Date range: only day 21–22.
		got, _ = e.svc.SearchSessions(anon, enr.SearchInput{From: t0.Add(21 * 24 * time.Hour), To: t0.Add(23 * 24 * time.Hour), RegionID: &e.region.ID})
		if want := []int{sz1.ID, sz3.ID}; !slices.Equal(ids(got), want) {
			t.Fatalf("range: %v want %v", ids(got), want)
		}
		// After the window closes nothing is listed.
		e.clock.Set(e.plan.EnrollEndsAt)
		got, _ = e.svc.SearchSessions(anon, enr.SearchInput{From: from, To: to})
		if len(got) != 0 {
			t.Fatalf("after window: %v", ids(got))
		}
		e.clock.Set(t0)

		_, err = e.svc.SearchSessions(anon, enr.SearchInput{To: to})
		wantField(t, err, "from")
		_, err = e.svc.SearchSessions(anon, enr.SearchInput{From: to, To: from})
		wantField(t, err, "to")
		_, err = e.svc.SearchSessions(anon, enr.SearchInput{From: from, To: from.Add(400 * 24 * time.Hour)})
		wantField(t, err, "to")
	})
}
