package scoring_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/attempt"
	"github.com/kaowu/kaowu/ent/user"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/evidence"
	"github.com/kaowu/kaowu/internal/scoring"
	"github.com/kaowu/kaowu/internal/testenv"
)

// unchanged fails unless the attempt is still undecided, with its evidence
// chain as long as before.
func (e *env) unchanged(t *testing.T, a *ent.Attempt, records int) {
	t.Helper()
	got := e.get(a.ID)
	if got.Result == nil || *got.Result != *a.Result || got.ReviewedAt != nil || got.ReviewedByID != nil || got.ReviewReason != "" {
		t.Fatalf("attempt changed: result %v reviewed %v by %v reason %q", got.Result, got.ReviewedAt, got.ReviewedByID, got.ReviewReason)
	}
	if n := len(e.records(a)); n != records {
		t.Fatalf("evidence records %d, want %d", n, records)
	}
}

func TestReview(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url)

		t.Run("pass", func(t *testing.T) {
			c := e.candidate("张三")
			a := e.submitted(c, e.theory, 85)
			got, err := e.svc.Review(e.as(e.reviewer), a.ID, true, "")
			mustOK(t, err)
			if *got.Result != attempt.ResultPASS || *got.ReviewedByID != e.reviewer.ID || !got.ReviewedAt.Equal(t0) {
				t.Fatalf("got %v by %v at %v", *got.Result, got.ReviewedByID, got.ReviewedAt)
			}
			recs := e.records(a)
			last := recs[len(recs)-1]
			if len(recs) != 3 || last.Kind != evidence.KindReviewDecision || *last.ActorID != e.reviewer.ID ||
				!strings.Contains(string(last.Payload), `"decision":"PASS"`) {
				t.Fatalf("evidence: %d records, last %s by %v %s", len(recs), last.Kind, last.ActorID, last.Payload)
			}
			rep, err := evidence.Verify(e.sys, e.client, evidence.Chain("attempt", a.ID))
			mustOK(t, err)
			if !rep.OK {
				t.Fatalf("chain broken after review: %+v", rep.FirstBroken)
			}
			notes := e.notes(c)
			if len(notes) != 1 || notes[0].Title != "成绩已审核：合格" {
				t.Fatalf("notes %v", notes)
			}
			if m, ok := e.sms.Last(c.Phone); !ok || m.Text != "成绩已审核：合格" {
				t.Fatalf("sms %+v", m)
			}
		})

		t.Run("fail needs a reason", func(t *testing.T) {
			c := e.candidate("李四")
			a := e.submitted(c, e.theory, 70)
			_, err := e.svc.Review(e.as(e.reviewer), a.ID, false, "   ")
			wantField(t, err, "reason")
			_, err = e.svc.Review(e.as(e.reviewer), a.ID, false, strings.Repeat("长", 501))
			wantField(t, err, "reason")
			e.unchanged(t, a, 2)
			if len(e.notes(c)) != 0 {
				t.Fatal("notified on a refused review")
			}

			got, err := e.svc.Review(e.as(e.admin), a.ID, false, " 视频中有他人代答 ")
			mustOK(t, err)
			if *got.Result != attempt.ResultFAIL || got.ReviewReason != "视频中有他人代答" || *got.ReviewedByID != e.admin.ID {
				t.Fatalf("got %v %q by %v", *got.Result, got.ReviewReason, got.ReviewedByID)
			}
			if notes := e.notes(c); len(notes) != 1 || notes[0].Title != "成绩已审核：不合格" || !strings.Contains(notes[0].Body, "他人代答") {
				t.Fatalf("notes %v", notes)
			}
		})

		t.Run("only reviewers and admins", func(t *testing.T) {
			c := e.candidate("王五")
			a := e.submitted(c, e.theory, 90)
			for _, u := range []*ent.User{c, e.siteUser, e.user(user.RolePROCTOR, e.site), e.user(user.RoleCOMPANY, nil)} {
				_, err := e.svc.Review(e.as(u), a.ID, true, "")
				wantCode(t, err, apperr.Forbidden)
			}
			_, err := e.svc.Review(e.ctx, a.ID, true, "")
			wantCode(t, err, apperr.Unauthenticated)
			e.unchanged(t, a, 2)
		})

		t.Run("only formal attempts waiting for review", func(t *testing.T) {
			c := e.candidate("赵六")
			failed := e.submitted(c, e.theory, 59)
			_, err := e.svc.Review(e.as(e.reviewer), failed.ID, true, "")
			ae := wantCode(t, err, apperr.Conflict)
			if ae.Message != scoring.MsgNotPending {
				t.Fatalf("message %q", ae.Message)
			}
			e.unchanged(t, failed, 2)

			running := e.submitted(e.candidate("孙七"), e.theory, 90)
			e.client.Attempt.UpdateOneID(running.ID).SetStatus(attempt.StatusIN_PROGRESS).ExecX(e.sys)
			_, err = e.svc.Review(e.as(e.reviewer), running.ID, true, "")
			wantCode(t, err, apperr.Conflict)

			// A mock attempt (kind is immutable: made as MOCK from the start).
			mc := e.candidate("钱八")
			f := e.submitted(mc, e.theory, 90)
			fe := e.client.Enrollment.GetX(e.sys, f.EnrollmentID)
			mock := e.client.Attempt.Create().SetEnrollmentID(fe.ID).SetCandidateID(mc.ID).SetSessionID(f.SessionID).
				SetSiteID(f.SiteID).SetTemplateID(f.TemplateID).SetKind(attempt.KindMOCK).SetSeed(1).
				SetStatus(attempt.StatusSUBMITTED).SetStartedAt(t0).SetDeadline(t0).SetConsentText("同意").SetConsentAt(t0).
				SetScore(90).SetPassMark(60).SetResult(attempt.ResultPENDING_REVIEW).SaveX(e.sys)
			_, err = e.svc.Review(e.as(e.reviewer), mock.ID, true, "")
			if ae := wantCode(t, err, apperr.Conflict); ae.Message != scoring.MsgMock {
				t.Fatalf("message %q", ae.Message)
			}

			_, err = e.svc.Review(e.as(e.reviewer), 999999, true, "")
			wantCode(t, err, apperr.NotFound)
		})

		t.Run("double review", func(t *testing.T) {
			c := e.candidate("周八")
			a := e.submitted(c, e.theory, 88)
			_, err := e.svc.Review(e.as(e.reviewer), a.ID, true, "")
			mustOK(t, err)
			other := e.user(user.RoleREVIEWER, nil)
			_, err = e.svc.Review(e.as(other), a.ID, false, "改判")
			ae := wantCode(t, err, apperr.Conflict)
			if ae.Message != scoring.MsgReviewed {
				t.Fatalf("message %q", ae.Message)
			}
			got := e.get(a.ID)
			if *got.Result != attempt.ResultPASS || *got.ReviewedByID != e.reviewer.ID || len(e.records(a)) != 3 || len(e.notes(c)) != 1 {
				t.Fatal("second review changed something")
			}
		})

		t.Run("concurrent reviewers: exactly one decides", func(t *testing.T) {
			c := e.candidate("吴九")
			a := e.submitted(c, e.theory, 75)
			reviewers := []*ent.User{e.reviewer, e.user(user.RoleREVIEWER, nil), e.user(user.RoleREVIEWER, nil), e.admin}
			errs := make([]error, len(reviewers))
			var wg sync.WaitGroup
			for i, r := range reviewers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					// Two services, as two replicas.
					svc := e.svc
					if i%2 == 1 {
						svc = e.service()
					}
					_, errs[i] = svc.Review(e.as(r), a.ID, i%2 == 0, "不合格")
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
				t.Fatalf("%d reviews succeeded: %v", ok, errs)
			}
			if n := len(e.records(a)); n != 3 {
				t.Fatalf("%d evidence records, want 3", n)
			}
			if n := len(e.notes(c)); n != 1 {
				t.Fatalf("%d notifications", n)
			}
		})
	})
}

func TestReviewRefusesTamperedEvidence(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url)

		t.Run("changed payload", func(t *testing.T) {
			a := e.submitted(e.candidate("郑十"), e.theory, 90)
			recs := e.records(a)
			e.exec("UPDATE evidence_records SET payload = ? WHERE id = ?", []byte(`{"score":100}`), recs[1].ID)
			_, err := e.svc.Review(e.as(e.reviewer), a.ID, true, "")
			ae := wantCode(t, err, apperr.Conflict)
			if !strings.Contains(ae.Message, "证据链已被破坏") || !strings.Contains(ae.Message, "第 2 条") ||
				ae.Extra["brokenSeq"] != 2 || ae.Extra["brokenReason"] != string(evidence.ReasonHashMismatch) {
				t.Fatalf("error %q %v", ae.Message, ae.Extra)
			}
			e.unchanged(t, a, 2)
		})

		t.Run("deleted record", func(t *testing.T) {
			a := e.submitted(e.candidate("钱一"), e.theory, 90)
			e.exec("DELETE FROM evidence_records WHERE id = ?", e.records(a)[0].ID)
			_, err := e.svc.Review(e.as(e.reviewer), a.ID, false, "作弊")
			ae := wantCode(t, err, apperr.Conflict)
			if ae.Extra["brokenSeq"] != 1 || ae.Extra["brokenReason"] != string(evidence.ReasonGap) {
				t.Fatalf("error %q %v", ae.Message, ae.Extra)
			}
			e.unchanged(t, a, 1)
		})

		t.Run("no evidence at all", func(t *testing.T) {
			a := e.submitted(e.candidate("孙二"), e.theory, 90)
			for _, r := range e.records(a) {
				e.exec("DELETE FROM evidence_records WHERE id = ?", r.ID)
			}
			_, err := e.svc.Review(e.as(e.reviewer), a.ID, true, "")
			ae := wantCode(t, err, apperr.Conflict)
			if ae.Message != scoring.MsgEvidenceEmpty {
				t.Fatalf("message %q", ae.Message)
			}
			e.unchanged(t, a, 0)
		})
	})
}

func TestPractical(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url)

		t.Run("review waits for the practical score", func(t *testing.T) {
			c := e.candidate("李雷")
			a := e.submitted(c, e.practical, 80)
			_, err := e.svc.Review(e.as(e.reviewer), a.ID, true, "")
			ae := wantCode(t, err, apperr.Conflict)
			if ae.Message != scoring.MsgPracticalFirst {
				t.Fatalf("message %q", ae.Message)
			}
			e.unchanged(t, a, 2)

			got, err := e.svc.EnterPractical(e.as(e.siteUser), a.ID, 75)
			mustOK(t, err)
			if *got.PracticalScore != 75 {
				t.Fatalf("practical %v", got.PracticalScore)
			}
			recs := e.records(a)
			if last := recs[len(recs)-1]; last.Kind != scoring.KindPracticalScore || *last.ActorID != e.siteUser.ID {
				t.Fatalf("evidence %s by %v", last.Kind, last.ActorID)
			}
			// Entered once.
			_, err = e.svc.EnterPractical(e.as(e.siteUser), a.ID, 90)
			ae = wantCode(t, err, apperr.Conflict)
			if ae.Message != scoring.MsgPracticalTwice {
				t.Fatalf("message %q", ae.Message)
			}
			if *e.get(a.ID).PracticalScore != 75 || len(e.records(a)) != 3 {
				t.Fatal("second entry changed something")
			}
			_, err = e.svc.Review(e.as(e.reviewer), a.ID, true, "")
			mustOK(t, err)
			// Locked after review.
			_, err = e.svc.EnterPractical(e.as(e.siteUser), a.ID, 10)
			wantCode(t, err, apperr.Conflict)
		})

		t.Run("pass needs practical at the pass mark", func(t *testing.T) {
			a := e.submitted(e.candidate("韩梅梅"), e.practical, 95)
			_, err := e.svc.EnterPractical(e.as(e.siteUser), a.ID, 59)
			mustOK(t, err)
			_, err = e.svc.Review(e.as(e.reviewer), a.ID, true, "")
			wantField(t, err, "pass")
			e.unchanged(t, a, 3)
			got, err := e.svc.Review(e.as(e.reviewer), a.ID, false, "实操成绩不合格")
			mustOK(t, err)
			if *got.Result != attempt.ResultFAIL {
				t.Fatalf("result %v", *got.Result)
			}
		})

		t.Run("bad entries", func(t *testing.T) {
			a := e.submitted(e.candidate("林涛"), e.practical, 80)
			for _, s := range []int{-1, 101} {
				_, err := e.svc.EnterPractical(e.as(e.siteUser), a.ID, s)
				wantField(t, err, "score")
			}
			// Another site: its privacy hides the attempt.
			other := e.org("EXAM_SITE", "福田考点")
			_, err := e.svc.EnterPractical(e.as(e.user(user.RoleEXAM_SITE, other)), a.ID, 80)
			wantCode(t, err, apperr.NotFound)
			for _, u := range []*ent.User{e.reviewer, e.admin, e.candidate("路人")} {
				_, err := e.svc.EnterPractical(e.as(u), a.ID, 80)
				wantCode(t, err, apperr.Forbidden)
			}
			theory := e.submitted(e.candidate("王芳"), e.theory, 80)
			_, err = e.svc.EnterPractical(e.as(e.siteUser), theory.ID, 80)
			ae := wantCode(t, err, apperr.Conflict)
			if ae.Message != scoring.MsgNoPractical {
				t.Fatalf("message %q", ae.Message)
			}
			if e.get(a.ID).PracticalScore != nil || e.get(theory.ID).PracticalScore != nil || len(e.records(a)) != 2 {
				t.Fatal("refused entry changed something")
			}
			// 0 and 100 are valid.
			_, err = e.svc.EnterPractical(e.as(e.siteUser), a.ID, 0)
			mustOK(t, err)
		})
	})
}
