package scoring_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kaowu/kaowu/ent/attempt"
	"github.com/kaowu/kaowu/ent/loginthrottle"
	"github.com/kaowu/kaowu/ent/user"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/idcard"
	"github.com/kaowu/kaowu/internal/scoring"
	"github.com/kaowu/kaowu/internal/testenv"
)

func TestLookup(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		c := e.candidate("张伟")
		id := *c.IDNumber
		passed := e.submitted(c, e.theory, 88)
		_, err := e.svc.Review(e.as(e.reviewer), passed.ID, true, "")
		mustOK(t, err)
		failed := e.submitted(c, e.practical, 40)
		_, err = e.svc.EnterPractical(e.as(e.siteUser), failed.ID, 70)
		mustOK(t, err)
		// Each case from its own address, so that the per-address limit
		// does not get in the way.
		n := 0
		ip := func() string { n++; return fmt.Sprintf("203.0.113.%d", n) }

		t.Run("match", func(t *testing.T) {
			// Full-width digits and a lower-case x are normalised like at login.
			got, err := e.svc.Lookup(e.from(ip()), " 张伟 ", strings.ToLower(id))
			mustOK(t, err)
			if len(got) != 1 || got[0].Name != "张伟" || got[0].MaskedID != idcard.Mask(id) || len(got[0].Results) != 2 {
				t.Fatalf("got %+v", got)
			}
			if strings.Contains(fmt.Sprintf("%+v", got), id) || strings.Contains(got[0].MaskedID, id[6:14]) {
				t.Fatalf("answer shows the ID number: %+v", got)
			}
			byID := map[int]scoring.Result{}
			for _, r := range got[0].Results {
				byID[r.AttemptID] = r
			}
			p, f := byID[passed.ID], byID[failed.ID]
			if p.Result != attempt.ResultPASS || *p.Score != 88 || p.SubjectName != e.theory.Name || p.ReviewedAt == nil ||
				p.ExamDate.IsZero() || p.PracticalScore != nil {
				t.Fatalf("pass result %+v", p)
			}
			if f.Result != attempt.ResultFAIL || *f.Score != 40 || *f.PracticalScore != 70 || !f.HasPractical || f.ReviewedAt != nil {
				t.Fatalf("fail result %+v", f)
			}
			// The candidate sees the same in their own records.
			mine, err := e.svc.MyResults(e.as(c))
			mustOK(t, err)
			if !reflect.DeepEqual(mine, got[0].Results) {
				t.Fatalf("my results %+v, lookup %+v", mine, got[0].Results)
			}
		})

		t.Run("mismatch answers like unknown", func(t *testing.T) {
			other := e.candidate("李娜")
			wrongName, err := e.svc.Lookup(e.from(ip()), "张卫", id)
			mustOK(t, err)
			otherID, err := e.svc.Lookup(e.from(ip()), "张伟", *other.IDNumber)
			mustOK(t, err)
			unknownID := idcard.Generate("110101", time.Date(1985, 5, 5, 0, 0, 0, 0, time.UTC), 7)
			unknown, err := e.svc.Lookup(e.from(ip()), "张伟", unknownID)
			mustOK(t, err)
			noResults, err := e.svc.Lookup(e.from(ip()), "李娜", *other.IDNumber)
			mustOK(t, err)
			for _, got := range [][]scoring.LookupResult{wrongName, otherID, noResults} {
				if !reflect.DeepEqual(got, unknown) || len(got) != 0 {
					t.Fatalf("answers differ: %+v vs %+v", got, unknown)
				}
			}
			// Staff accounts are not looked up, even with a matching name and number.
			staff := e.user(user.RoleREVIEWER, nil)
			e.client.User.UpdateOneID(staff.ID).SetIDType(user.IDTypeRESIDENT_ID).SetIDNumber(unknownID).SetName("张伟").ExecX(e.sys)
			got, err := e.svc.Lookup(e.from(ip()), "张伟", unknownID)
			mustOK(t, err)
			if len(got) != 0 {
				t.Fatalf("staff looked up: %+v", got)
			}
		})

		t.Run("bad input", func(t *testing.T) {
			_, err := e.svc.Lookup(e.from(ip()), " ", id)
			wantField(t, err, "name")
			_, err = e.svc.Lookup(e.from(ip()), "张伟", "12-4")
			wantField(t, err, "idNumber")
		})

		t.Run("my results: candidates only", func(t *testing.T) {
			_, err := e.svc.MyResults(e.as(e.reviewer))
			wantCode(t, err, apperr.Forbidden)
			_, err = e.svc.MyResults(e.ctx)
			wantCode(t, err, apperr.Unauthenticated)
			got, err := e.svc.MyResults(e.as(e.candidate("新人")))
			mustOK(t, err)
			if len(got) != 0 {
				t.Fatalf("got %+v", got)
			}
		})
	})
}

func TestLookupRateLimit(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		c := e.candidate("陈静")
		id := *c.IDNumber
		// Two instances on one database, as two replicas behind a balancer.
		replicas := []*scoring.Service{e.svc, e.service()}

		t.Run("per address, across replicas", func(t *testing.T) {
			ctx := e.from("198.51.100.7")
			for i := range scoring.LookupPerIP {
				_, err := replicas[i%2].Lookup(ctx, "陈静", id)
				mustOK(t, err)
			}
			for _, r := range replicas {
				_, err := r.Lookup(ctx, "陈静", id)
				ae := wantCode(t, err, apperr.TooManyRequests)
				if ae.Extra["retryAfterSeconds"] != 60 {
					t.Fatalf("retryAfterSeconds %v", ae.Extra["retryAfterSeconds"])
				}
			}
			// Refused requests count too: the window does not slide.
			e.clock.Advance(45 * time.Second)
			_, err := replicas[0].Lookup(ctx, "陈静", id)
			if ae := wantCode(t, err, apperr.TooManyRequests); ae.Extra["retryAfterSeconds"] != 15 {
				t.Fatalf("retryAfterSeconds %v", ae.Extra["retryAfterSeconds"])
			}
			// Bad input counts as well (it is checked after counting).
			_, err = replicas[1].Lookup(ctx, "", "")
			wantCode(t, err, apperr.TooManyRequests)
			// Another address is not affected.
			_, err = replicas[1].Lookup(e.from("198.51.100.8"), "陈静", id)
			mustOK(t, err)
			// A new window.
			e.clock.Advance(15 * time.Second)
			_, err = replicas[1].Lookup(ctx, "陈静", id)
			mustOK(t, err)
		})

		t.Run("per ID number, across addresses", func(t *testing.T) {
			e.clock.Advance(time.Hour)
			target := e.candidate("刘洋")
			tid := *target.IDNumber
			for i := range scoring.LookupPerID {
				_, err := replicas[i%2].Lookup(e.from(fmt.Sprintf("192.0.2.%d", i+1)), "随便", tid)
				mustOK(t, err)
			}
			_, err := replicas[0].Lookup(e.from("192.0.2.200"), "刘洋", tid)
			ae := wantCode(t, err, apperr.TooManyRequests)
			if s, _ := ae.Extra["retryAfterSeconds"].(int); s < 1 || s > 3600 {
				t.Fatalf("retryAfterSeconds %v", ae.Extra["retryAfterSeconds"])
			}
			// Other people's numbers still answer.
			_, err = replicas[0].Lookup(e.from("192.0.2.201"), "陈静", id)
			mustOK(t, err)
			// The counter rows never hold the ID number itself.
			for _, r := range e.client.LoginThrottle.Query().Where(loginthrottle.KeyHasPrefix("lookup:")).AllX(e.sys) {
				if strings.Contains(r.Key, tid) || strings.Contains(r.Key, id) {
					t.Fatalf("counter key holds an ID number: %s", r.Key)
				}
			}
		})
	})
}
