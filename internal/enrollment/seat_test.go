package enrollment_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kaowu/kaowu/ent/enrollment"
	"github.com/kaowu/kaowu/ent/examsession"
	"github.com/kaowu/kaowu/internal/apperr"
	enr "github.com/kaowu/kaowu/internal/enrollment"
	"github.com/kaowu/kaowu/internal/seats"
	"github.com/kaowu/kaowu/internal/testenv"
)

func TestMoveSeat(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		site2 := e.org("EXAM_SITE", "龙岗考点", "APPROVED")
		room2 := e.client.Room.Create().SetSiteID(site2.ID).SetName("一").SetCapacity(100).SaveX(e.sys)

		t.Run("moves a paid seat to another session of the subject", func(t *testing.T) {
			a := e.session(e.plan, e.subj, 5, 21)
			b := e.client.ExamSession.Create().SetPlanID(e.plan.ID).SetSubjectID(e.subj.ID).SetRoomID(room2.ID).SetSiteID(site2.ID).
				SetStartsAt(t0.Add(22 * 24 * time.Hour)).SetDurationMinutes(90).SetCapacity(2).SaveX(e.sys)
			u := e.candidate(true, nil)
			en := e.paid(u, a)
			r, err := e.svc.MoveSeat(e.as(u), en.ID, b.ID)
			mustOK(t, err)
			if *r.SessionID != b.ID || *r.SiteID != site2.ID || *r.TicketNo != *en.TicketNo {
				t.Fatalf("moved %+v", r)
			}
			if e.taken(a.ID) != 0 || e.taken(b.ID) != 1 {
				t.Fatalf("taken a %d b %d", e.taken(a.ID), e.taken(b.ID))
			}
			_, err = e.svc.MoveSeat(e.as(u), en.ID, b.ID)
			wantField(t, err, "toSessionID")
		})

		t.Run("a full target keeps the old seat", func(t *testing.T) {
			a := e.session(e.plan, e.subj, 5, 21)
			full := e.session(e.plan, e.subj, 1, 23)
			u := e.candidate(true, nil)
			en := e.paid(u, a)
			e.enroll(e.candidate(true, nil), full)
			_, err := e.svc.MoveSeat(e.as(u), en.ID, full.ID)
			wantFull(t, err)
			if got := e.get(en.ID); *got.SessionID != a.ID || *got.SiteID != e.site.ID {
				t.Fatalf("enrollment moved: %+v", got)
			}
			if e.taken(a.ID) != 1 || e.taken(full.ID) != 1 {
				t.Fatalf("taken a %d full %d", e.taken(a.ID), e.taken(full.ID))
			}
		})

		t.Run("refusals", func(t *testing.T) {
			a := e.session(e.plan, e.subj, 5, 21)
			b := e.session(e.plan, e.subj, 5, 24)
			u := e.candidate(true, nil)
			unpaid := e.enroll(u, a)
			_, err := e.svc.MoveSeat(e.as(u), unpaid.ID, b.ID)
			wantCode(t, err, apperr.Conflict)
			_, err = e.svc.Review(e.as(e.reviewer), unpaid.ID, true, "")
			mustOK(t, err)
			_, err = e.svc.MoveSeat(e.as(u), unpaid.ID, b.ID)
			wantCode(t, err, apperr.Conflict) // approved but not paid

			v := e.candidate(true, nil)
			en := e.paid(v, a)
			_, err = e.svc.MoveSeat(e.as(u), en.ID, b.ID)
			wantCode(t, err, apperr.NotFound)
			_, err = e.svc.MoveSeat(e.as(e.reviewer), en.ID, b.ID)
			wantCode(t, err, apperr.Forbidden)
			_, err = e.svc.MoveSeat(e.as(v), en.ID, 987654)
			wantField(t, err, "toSessionID")
			_, err = e.svc.MoveSeat(e.as(v), en.ID, e.session(e.plan, e.subject("OTHER", 1), 5, 24).ID)
			wantField(t, err, "toSessionID")
			_, err = e.svc.MoveSeat(e.as(v), en.ID, e.session(e.newPlan(e.region.ID), e.subj, 5, 24).ID)
			wantField(t, err, "toSessionID")
			closed := e.session(e.plan, e.subj, 5, 24)
			e.setSessionStatus(closed, examsession.StatusCLOSED)
			_, err = e.svc.MoveSeat(e.as(v), en.ID, closed.ID)
			wantField(t, err, "toSessionID")
			// Once the current sitting started, no moves.
			e.clock.Set(e.client.ExamSession.GetX(e.sys, a.ID).StartsAt)
			_, err = e.svc.MoveSeat(e.as(v), en.ID, b.ID)
			wantCode(t, err, apperr.Conflict)
			e.clock.Set(t0)
			// Nor after check-in.
			e.client.Enrollment.UpdateOneID(en.ID).SetCheckedInAt(t0).ExecX(e.sys)
			_, err = e.svc.MoveSeat(e.as(v), en.ID, b.ID)
			wantCode(t, err, apperr.Conflict)
			if e.taken(b.ID) != 0 || *e.get(en.ID).SessionID != a.ID {
				t.Fatal("a refused move changed something")
			}
		})

		t.Run("the company moves its staff; the candidate is told", func(t *testing.T) {
			a := e.session(e.plan, e.subj, 5, 21)
			b := e.session(e.plan, e.subj, 5, 25)
			u := e.candidate(true, e.company)
			got, err := e.svc.EnrollStaff(e.as(e.companyUser), a.ID, []int{u.ID}, true)
			mustOK(t, err)
			_, err = e.svc.Review(e.as(e.reviewer), got[0].ID, true, "")
			mustOK(t, err)
			mustOK(t, e.svc.MarkPaymentPending(e.sys, []int{got[0].ID}))
			mustOK(t, e.svc.MarkPaid(e.sys, []int{got[0].ID}, t0))
			_, err = e.svc.MoveSeat(e.as(e.companyUser), got[0].ID, b.ID)
			mustOK(t, err)
			if len(e.notes(u, enr.KindSeatMoved)) != 1 || e.taken(b.ID) != 1 || e.taken(a.ID) != 0 {
				t.Fatal("company move")
			}
		})

		t.Run("concurrent moves into the last seat: one wins", func(t *testing.T) {
			a := e.session(e.plan, e.subj, 10, 21)
			last := e.session(e.plan, e.subj, 1, 26)
			const n = 6
			var ens []*enrollmentRef
			for range n {
				u := e.candidate(true, nil)
				ens = append(ens, &enrollmentRef{user: u.ID, id: e.paid(u, a).ID})
			}
			var wg sync.WaitGroup
			errs := make([]error, n)
			for i, r := range ens {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[i] = e.svc.MoveSeat(e.as(e.client.User.GetX(e.sys, r.user)), r.id, last.ID)
				}()
			}
			wg.Wait()
			ok := 0
			for _, err := range errs {
				if err == nil {
					ok++
				} else if !errors.Is(err, seats.ErrFull) {
					t.Fatalf("unexpected %v", err)
				}
			}
			if ok != 1 || e.taken(last.ID) != 1 || e.taken(a.ID) != n-1 {
				t.Fatalf("ok %d last %d a %d", ok, e.taken(last.ID), e.taken(a.ID))
			}
		})
		e.checkSeats()
	})
}

type enrollmentRef struct{ user, id int }

func TestPaymentStatus(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		s := e.session(e.plan, e.subj, 10, 21)
		approved := func() (int, int) {
			u := e.candidate(true, nil)
			en := e.enroll(u, s)
			_, err := e.svc.Review(e.as(e.reviewer), en.ID, true, "")
			mustOK(t, err)
			return en.ID, u.ID
		}
		a, ua := approved()
		b, _ := approved()
		pending := e.enroll(e.candidate(true, nil), s)

		// Paid only after MarkPaymentPending.
		wantCode(t, e.svc.MarkPaid(e.sys, []int{a}, t0), apperr.Conflict)
		// All or nothing: one unapproved enrollment refuses the batch.
		wantCode(t, e.svc.MarkPaymentPending(e.sys, []int{a, pending.ID}), apperr.Conflict)
		if e.get(a).PaymentStatus != enrollment.PaymentStatusUNPAID || e.get(a).TicketNo != nil {
			t.Fatal("partial payment")
		}
		wantField(t, e.svc.MarkPaid(e.sys, nil, t0), "enrollmentIDs")
		wantField(t, e.svc.MarkPaid(e.sys, []int{a, a}, t0), "enrollmentIDs")
		wantCode(t, e.svc.MarkUnpaid(e.sys, []int{a}), apperr.Conflict) // not pending

		mustOK(t, e.svc.MarkPaymentPending(e.sys, []int{a}))
		if e.get(a).PaymentStatus != enrollment.PaymentStatusPENDING {
			t.Fatal("pending")
		}
		wantCode(t, e.svc.MarkPaymentPending(e.sys, []int{a, b}), apperr.Conflict)
		if e.get(b).PaymentStatus != enrollment.PaymentStatusUNPAID {
			t.Fatal("partial pending")
		}
		mustOK(t, e.svc.MarkUnpaid(e.sys, []int{a}))
		mustOK(t, e.svc.MarkPaymentPending(e.sys, []int{a}))
		mustOK(t, e.svc.MarkPaymentPending(e.sys, []int{b}))
		// One enrollment not pending refuses the whole batch.
		wantCode(t, e.svc.MarkPaid(e.sys, []int{a, b, pending.ID}, t0), apperr.Conflict)
		if e.get(a).PaymentStatus != enrollment.PaymentStatusPENDING || e.get(a).TicketNo != nil {
			t.Fatal("partial payment")
		}

		paidAt := t0.Add(3 * time.Hour)
		mustOK(t, e.svc.MarkPaid(e.sys, []int{a, b}, paidAt))
		ga, gb := e.get(a), e.get(b)
		if ga.PaymentStatus != enrollment.PaymentStatusPAID || !ga.PaidAt.Equal(paidAt) || ga.TicketNo == nil || gb.TicketNo == nil {
			t.Fatalf("paid %+v", ga)
		}
		if *ga.TicketNo == *gb.TicketNo || !enr.ValidTicketNumber(*ga.TicketNo) || !strings.HasPrefix(*ga.TicketNo, "2026") {
			t.Fatalf("tickets %s %s", *ga.TicketNo, *gb.TicketNo)
		}
		notes := e.notes(e.client.User.GetX(e.sys, ua), enr.KindPaid)
		if len(notes) != 1 || !strings.Contains(notes[0].Body, *ga.TicketNo) {
			t.Fatalf("notes %+v", notes)
		}
		// Paying twice is refused.
		wantCode(t, e.svc.MarkPaid(e.sys, []int{a}, paidAt), apperr.Conflict)
	})
}

func TestTicketNumber(t *testing.T) {
	if got := enr.TicketNumber(2026, 1234); got != "2026000012347" {
		t.Fatalf("got %s", got)
	}
	seen := map[string]bool{}
	for _, year := range []int{2026, 2027} {
		for _, id := range []int{1, 9, 10, 99999999, 100000000, 123456789} {
			tn := enr.TicketNumber(year, id)
			if seen[tn] || !enr.ValidTicketNumber(tn) {
				t.Fatalf("%d/%d: %s (dup %v)", year, id, tn, seen[tn])
			}
			seen[tn] = true
		}
	}
	good := enr.TicketNumber(2026, 1234)
	for i := range good {
		for d := byte('0'); d <= '9'; d++ {
			if d == good[i] {
				continue
			}
			bad := good[:i] + string(d) + good[i+1:]
			if enr.ValidTicketNumber(bad) {
				t.Fatalf("one wrong digit accepted: %s", bad)
			}
		}
	}
	for _, bad := range []string{"", "2026", "2026x00012347", "20260000123470"} {
		if enr.ValidTicketNumber(bad) {
			t.Fatalf("accepted %q", bad)
		}
	}
}

// Moves in opposite directions at once must not deadlock: each takes the
// two session rows in the same order.
func TestCrossingMoves(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		a := e.session(e.plan, e.subj, 100, 21)
		b := e.session(e.plan, e.subj, 100, 22)
		const n = 15
		type job struct{ user, id, to int }
		var jobs []job
		for i := range 2 * n {
			from, to := a, b
			if i%2 == 1 {
				from, to = b, a
			}
			u := e.candidate(true, nil)
			jobs = append(jobs, job{u.ID, e.paid(u, from).ID, to.ID})
		}
		var wg sync.WaitGroup
		errs := make([]error, len(jobs))
		start := make(chan struct{})
		for i, j := range jobs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, errs[i] = e.svc.MoveSeat(e.as(e.client.User.GetX(e.sys, j.user)), j.id, j.to)
			}()
		}
		close(start)
		wg.Wait()
		for _, err := range errs {
			mustOK(t, err)
		}
		if e.taken(a.ID) != n || e.taken(b.ID) != n {
			t.Fatalf("taken a %d b %d", e.taken(a.ID), e.taken(b.ID))
		}
		e.checkSeats()
	})
}
