package certificate_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/attempt"
	entcert "github.com/kaowu/kaowu/ent/certificate"
	"github.com/kaowu/kaowu/ent/profile"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/certificate"
	"github.com/kaowu/kaowu/internal/idcard"
	"github.com/kaowu/kaowu/internal/testenv"
)

func TestIssueBatch(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		admin := e.as(e.admin)
		li := e.candidate("李堃喆")
		wang := e.candidate("王珺")
		a1, a2 := e.passed(li, e.c1), e.passed(wang, e.c1)
		a3 := e.passed(wang, e.other)
		mock := e.attempt(li, e.c1, attempt.KindMOCK, attempt.ResultPASS)
		failed := e.attempt(li, e.c1, attempt.KindFORMAL, attempt.ResultFAIL)
		waiting := e.attempt(li, e.c1, attempt.KindFORMAL, attempt.ResultPENDING_REVIEW)

		t.Run("pending lists passed formal attempts only", func(t *testing.T) {
			ps, err := e.svc.PendingIssue(admin)
			mustOK(t, err)
			var ids []int
			for _, p := range ps {
				ids = append(ids, p.AttemptID)
			}
			if !slices.Equal(ids, []int{a1.ID, a2.ID, a3.ID}) {
				t.Fatalf("pending %v, want %v", ids, []int{a1.ID, a2.ID, a3.ID})
			}
			p := ps[0]
			if p.Name != "李堃喆" || p.MaskedID != idcard.Mask(*li.IDNumber) || p.SubjectCode != "C1-JZ" || p.SiteName != e.site.Name {
				t.Fatalf("pending row %+v", p)
			}
			_, err = e.svc.PendingIssue(e.as(e.siteU))
			wantCode(t, err, apperr.Forbidden)
		})

		t.Run("a bad id issues nothing and is named", func(t *testing.T) {
			for _, c := range []struct {
				ids  []int
				bad  int
				code apperr.Code
			}{
				{[]int{a1.ID, failed.ID}, failed.ID, apperr.Conflict},
				{[]int{a1.ID, waiting.ID}, waiting.ID, apperr.Conflict},
				{[]int{a1.ID, mock.ID}, mock.ID, apperr.Conflict},
				{[]int{a1.ID, a1.ID + 100000}, a1.ID + 100000, apperr.NotFound},
				{[]int{a1.ID, a2.ID, a1.ID}, a1.ID, apperr.BadInput},
			} {
				_, err := e.svc.IssueBatch(admin, c.ids)
				ae := wantCode(t, err, c.code)
				if ae.Extra["attemptID"] != c.bad || ae.Field != "attemptIDs" {
					t.Errorf("%v: names %v (%s)", c.ids, ae.Extra["attemptID"], ae.Message)
				}
			}
			_, err := e.svc.IssueBatch(admin, nil)
			wantField(t, err, "attemptIDs")
			if n := e.client.Certificate.Query().CountX(e.sys); n != 0 {
				t.Fatalf("%d certificates issued by failed batches", n)
			}
		})

		t.Run("only ADMIN", func(t *testing.T) {
			for _, u := range []*ent.User{e.reviewer, e.siteU, li} {
				_, err := e.svc.IssueBatch(e.as(u), []int{a1.ID})
				wantCode(t, err, apperr.Forbidden)
			}
			_, err := e.svc.IssueBatch(context.Background(), []int{a1.ID})
			wantCode(t, err, apperr.Unauthenticated)
		})

		certs, err := e.svc.IssueBatch(admin, []int{a1.ID, a2.ID, a3.ID})
		mustOK(t, err)
		t.Run("numbers, snapshot and validity", func(t *testing.T) {
			// The failed batches above rolled their numbers back: no gaps.
			want := []string{"KW-C1-2026-000001", "KW-C1-2026-000002", "KW-X-2026-000001"}
			for i, c := range certs {
				if c.Number != want[i] {
					t.Errorf("number %q, want %q", c.Number, want[i])
				}
			}
			c := certs[0]
			if c.HolderID != li.ID || c.HolderName != "李堃喆" || c.HolderIDNumber != *li.IDNumber ||
				c.HolderIDMasked != idcard.Mask(*li.IDNumber) || c.HolderIDType != "RESIDENT_ID" ||
				c.SubjectCode != "C1-JZ" || c.Category != "C1" || c.Employer != "深圳建工集团" ||
				c.RegionCode != "440300" || c.RegionName != "深圳市" || c.SiteID != e.site.ID || c.SiteName != e.site.Name ||
				c.Authority != "广东省安全生产考试中心" || c.IssuedByID != e.admin.ID || c.Status != entcert.StatusVALID ||
				c.Revision != 1 || c.AttemptID != a1.ID {
				t.Fatalf("certificate %+v", c)
			}
			if !c.ValidFrom.Equal(time.Date(2026, 3, 1, 0, 0, 0, 0, cst)) || !c.ValidUntil.Equal(time.Date(2029, 3, 1, 0, 0, 0, 0, cst)) {
				t.Fatalf("validity %v – %v", c.ValidFrom, c.ValidUntil)
			}
			if n := e.notes(li, certificate.KindIssued); len(n) != 1 || n[0].Title != "证书已发放" {
				t.Fatalf("notifications %v", n)
			}
			ps, err := e.svc.PendingIssue(admin)
			mustOK(t, err)
			if len(ps) != 0 {
				t.Fatalf("still pending: %+v", ps)
			}
		})

		t.Run("the snapshot does not follow the profile", func(t *testing.T) {
			e.client.User.UpdateOneID(li.ID).SetName("李四").ExecX(e.sys)
			e.client.Profile.Update().Where(profile.UserID(li.ID)).SetCompanyName("别的公司").ExecX(e.sys)
			c := e.cert(certs[0].ID)
			if c.HolderName != "李堃喆" || c.Employer != "深圳建工集团" {
				t.Fatalf("certificate changed with the profile: %q %q", c.HolderName, c.Employer)
			}
		})

		t.Run("an attempt is issued once", func(t *testing.T) {
			_, err := e.svc.IssueBatch(admin, []int{a2.ID})
			if ae := wantCode(t, err, apperr.Conflict); ae.Extra["attemptID"] != a2.ID {
				t.Fatalf("names %v", ae.Extra)
			}
		})

		t.Run("validity is configuration", func(t *testing.T) {
			svc := e.service(e.keys)
			svc.ValidityYears, svc.Prefix = 5, "GD"
			got, err := svc.IssueBatch(admin, []int{e.passed(li, e.c1).ID})
			mustOK(t, err)
			if got[0].Number != "GD-C1-2026-000001" || !got[0].ValidUntil.Equal(time.Date(2031, 3, 1, 0, 0, 0, 0, cst)) {
				t.Fatalf("%s until %v", got[0].Number, got[0].ValidUntil)
			}
		})

		t.Run("a new year starts a new sequence", func(t *testing.T) {
			e.clock.Set(time.Date(2027, 1, 1, 0, 30, 0, 0, cst))
			defer e.clock.Set(t0)
			got, err := e.svc.IssueBatch(admin, []int{e.passed(wang, e.c1).ID})
			mustOK(t, err)
			if got[0].Number != "KW-C1-2027-000001" {
				t.Fatalf("number %s", got[0].Number)
			}
		})
	})
}

// Concurrent batches never share a number, and one attempt is issued once.
func TestConcurrentIssue(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		const n = 16
		ids := make([]int, n)
		for i := range ids {
			ids[i] = e.passed(e.candidate(fmt.Sprintf("考生%d", i)), e.c1).ID
		}
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = e.service(e.keys).IssueBatch(e.as(e.admin), []int{ids[i]})
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("batch %d: %v", i, err)
			}
		}
		var numbers []string
		for _, c := range e.client.Certificate.Query().AllX(e.sys) {
			numbers = append(numbers, c.Number)
		}
		slices.Sort(numbers)
		want := make([]string, n)
		for i := range want {
			want[i] = certificate.FormatNumber("KW", "C1", 2026, i+1)
		}
		if !slices.Equal(numbers, want) {
			t.Fatalf("numbers %v, want %v", numbers, want)
		}

		t.Run("racing batches with two counters in opposite orders", func(t *testing.T) {
			var c1s, others []int
			for i := range 8 {
				u := e.candidate(fmt.Sprintf("甲%d", i))
				c1s = append(c1s, e.passed(u, e.c1).ID)
				others = append(others, e.passed(u, e.other).ID)
			}
			var wg sync.WaitGroup
			errs := make([]error, 8)
			for i := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					batch := []int{c1s[i], others[i]}
					if i%2 == 1 {
						batch = []int{others[i], c1s[i]}
					}
					_, errs[i] = e.service(e.keys).IssueBatch(e.as(e.admin), batch)
				}()
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("batch %d: %v", i, err)
				}
			}
			seen := map[string]bool{}
			for _, c := range e.client.Certificate.Query().AllX(e.sys) {
				if seen[c.Number] {
					t.Fatalf("number %s twice", c.Number)
				}
				seen[c.Number] = true
			}
			if !seen["KW-C1-2026-000024"] || !seen["KW-X-2026-000008"] || len(seen) != n+16 {
				t.Fatalf("numbers %v", seen)
			}
		})

		t.Run("the same attempt in racing batches", func(t *testing.T) {
			id := e.passed(e.candidate("乙"), e.c1).ID
			var wg sync.WaitGroup
			errs := make([]error, 4)
			for i := range errs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[i] = e.service(e.keys).IssueBatch(e.as(e.admin), []int{id})
				}()
			}
			wg.Wait()
			ok := 0
			for _, err := range errs {
				if err == nil {
					ok++
				} else {
					wantCode(t, err, apperr.Conflict)
				}
			}
			if ok != 1 {
				t.Fatalf("%d batches issued the attempt", ok)
			}
		})
	})
}
