package graph_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/kaowu/kaowu/graph/graphtest"
	"github.com/kaowu/kaowu/internal/exam"
	"github.com/kaowu/kaowu/internal/testenv"
)

func TestExamAPI(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		examSuite(t, graphtest.New(t, url))
	})
}

const (
	exStart  = `mutation($e:ID!,$k:AttemptKind!,$ok:Boolean!){startAttempt(input:{enrollmentID:$e,kind:$k,consentText:"本人同意摄像头采集",consentAccepted:$ok}){id kind status}}`
	exStateQ = `query($id:ID!){attemptState(id:$id){deadline serverNow remainingSeconds status result score focusLosses attempt{submitReason} paper{totalPoints items{questionID type stem options points}} answers{questionID seq response{isTrue options}}}}`
	exSave   = `mutation($a:ID!,$q:ID!,$v:Boolean!,$s:Int!){saveAnswer(input:{attemptID:$a,questionID:$q,response:{isTrue:$v},seq:$s}){attemptID questionID seq}}`
	exFocus  = `mutation($id:ID!){reportFocusLoss(attemptID:$id,kind:"BLUR"){count submitted}}`
	exSubmit = `mutation($id:ID!){submitAttempt(id:$id){id status score result submitReason}}`
)

type exStateView struct {
	RemainingSeconds int
	Status           string
	Result           *string
	Score            *int
	FocusLosses      int
	Attempt          struct{ SubmitReason *string }
	Paper            struct {
		TotalPoints int
		Items       []struct {
			QuestionID string
			Type, Stem string
			Points     int
		}
	}
	Answers []struct {
		QuestionID string
		Seq        int
		Response   struct{ IsTrue *bool }
	}
}

type exAttempt struct {
	ID, Kind, Status string
	Score            *int
	Result           *string
	SubmitReason     *string
}

func examSuite(t *testing.T, e *graphtest.Env) {
	e.Seed()
	f := exFixtures(t, e)
	ef := enrFixtures(t, e)
	u, login := ef.register(t)
	tok := e.Login(login, enrPassword)
	en, _ := f.ready(t, u.ID, f.theory)

	wantCode := func(r *graphtest.Result, code string) {
		t.Helper()
		if r.Code() != code {
			t.Fatalf("want %s, got %+v", code, r.Errors)
		}
	}
	start := func(tok string, enrID int, kind string) exAttempt {
		t.Helper()
		var out struct{ StartAttempt exAttempt }
		e.Do(tok, exStart, map[string]any{"e": enrID, "k": kind, "ok": true}).Decode(t, &out)
		return out.StartAttempt
	}
	state := func(tok, id string) exStateView {
		t.Helper()
		var out struct{ AttemptState exStateView }
		e.Do(tok, exStateQ, map[string]any{"id": id}).Decode(t, &out)
		return out.AttemptState
	}
	save := func(tok, a, q string, v bool, seq int) *graphtest.Result {
		return e.Do(tok, exSave, map[string]any{"a": a, "q": q, "v": v, "s": seq})
	}

	// Bad starts: no consent; formal before the mock.
	wantCode(e.Do(tok, exStart, map[string]any{"e": en.ID, "k": "MOCK", "ok": false}), "BAD_USER_INPUT")
	wantCode(e.Do(tok, exStart, map[string]any{"e": en.ID, "k": "FORMAL", "ok": true}), "CONFLICT")
	wantCode(e.Do("", exStart, map[string]any{"e": en.ID, "k": "MOCK", "ok": true}), "UNAUTHENTICATED")

	// Mock: start (resumable), paper without answers, saves, submit.
	m := start(tok, en.ID, "MOCK")
	if m.Status != "IN_PROGRESS" || m.Kind != "MOCK" {
		t.Fatalf("mock: %+v", m)
	}
	if again := start(tok, en.ID, "MOCK"); again.ID != m.ID {
		t.Fatalf("restart gave a new attempt %s, want %s", again.ID, m.ID)
	}
	st := state(tok, m.ID)
	if len(st.Paper.Items) != 10 || st.Paper.TotalPoints != 100 || st.RemainingSeconds <= 0 || len(st.Answers) != 0 {
		t.Fatalf("mock state: %+v", st)
	}
	q := st.Paper.Items[0].QuestionID
	var ack struct{ SaveAnswer struct{ Seq int } }
	save(tok, m.ID, q, true, 1).Decode(t, &ack)
	if ack.SaveAnswer.Seq != 1 {
		t.Fatalf("ack: %+v", ack)
	}
	save(tok, m.ID, q, false, 1).Decode(t, &ack) // replay: no-op, still acknowledged
	st = state(tok, m.ID)
	if len(st.Answers) != 1 || st.Answers[0].Seq != 1 || st.Answers[0].Response.IsTrue == nil || !*st.Answers[0].Response.IsTrue {
		t.Fatalf("after replay: %+v", st.Answers)
	}
	save(tok, m.ID, q, false, 2).Decode(t, &ack)
	if st = state(tok, m.ID); st.Answers[0].Seq != 2 || *st.Answers[0].Response.IsTrue {
		t.Fatalf("after seq 2: %+v", st.Answers)
	}
	// Someone else's attempt; a question not in the paper; a mixed request.
	demoTok := e.DemoLogin("CANDIDATE")
	wantCode(save(demoTok, m.ID, q, true, 3), "NOT_FOUND")
	wantCode(save(tok, m.ID, "999999", true, 3), "BAD_USER_INPUT")
	wantCode(e.Do(tok, `mutation($a:ID!,$q:ID!){saveAnswer(input:{attemptID:$a,questionID:$q,response:{isTrue:true},seq:4}){seq} logout}`,
		map[string]any{"a": m.ID, "q": q}), "BAD_USER_INPUT")
	wantCode(e.Do(demoTok, exStateQ, map[string]any{"id": m.ID}), "NOT_FOUND")

	var sub struct{ SubmitAttempt exAttempt }
	e.Do(tok, exSubmit, map[string]any{"id": m.ID}).Decode(t, &sub)
	if sub.SubmitAttempt.Status != "SUBMITTED" || sub.SubmitAttempt.Score == nil || sub.SubmitAttempt.Result != nil {
		t.Fatalf("mock submitted: %+v", sub.SubmitAttempt)
	}
	wantCode(e.Do(tok, exSubmit, map[string]any{"id": m.ID}), "CONFLICT")
	if r := save(tok, m.ID, q, true, 5); len(r.Errors) == 0 {
		t.Fatal("save after submit succeeded")
	}

	// Formal: the fifth focus loss submits with FOCUS_LOSS_LIMIT.
	fa := start(tok, en.ID, "FORMAL")
	for i := 1; i <= exam.FocusLossLimit; i++ {
		var out struct {
			ReportFocusLoss struct {
				Count     int
				Submitted bool
			}
		}
		e.Do(tok, exFocus, map[string]any{"id": fa.ID}).Decode(t, &out)
		if out.ReportFocusLoss.Count != i || out.ReportFocusLoss.Submitted != (i == exam.FocusLossLimit) {
			t.Fatalf("focus loss %d: %+v", i, out.ReportFocusLoss)
		}
	}
	st = state(tok, fa.ID)
	if st.Status != "SUBMITTED" || st.Attempt.SubmitReason == nil || *st.Attempt.SubmitReason != "FOCUS_LOSS_LIMIT" ||
		st.Result == nil || *st.Result != "FAIL" || st.FocusLosses != exam.FocusLossLimit {
		t.Fatalf("formal after focus losses: %+v", st)
	}
	wantCode(e.Do(tok, exFocus, map[string]any{"id": fa.ID}), "CONFLICT")

	// A second candidate answers everything right: PENDING_REVIEW, then PASS.
	u2, login2 := ef.register(t)
	tok2 := e.Login(login2, enrPassword)
	en2, _ := f.ready(t, u2.ID, f.theory)
	m2 := start(tok2, en2.ID, "MOCK")
	e.Do(tok2, exSubmit, map[string]any{"id": m2.ID}).Decode(t, &sub)
	f2 := start(tok2, en2.ID, "FORMAL")
	st = state(tok2, f2.ID)
	for i, it := range st.Paper.Items {
		var id int
		for qid, v := range f.theory.keys {
			if itoa(qid) == it.QuestionID {
				id = qid
				save(tok2, f2.ID, it.QuestionID, v, i+1).Decode(t, &ack)
			}
		}
		if id == 0 {
			t.Fatalf("item %s not in the bank", it.QuestionID)
		}
	}
	e.Do(tok2, exSubmit, map[string]any{"id": f2.ID}).Decode(t, &sub)
	if r := sub.SubmitAttempt; r.Result == nil || *r.Result != "PENDING_REVIEW" || r.Score == nil || *r.Score != 100 {
		t.Fatalf("formal submitted: %+v", r)
	}
	const review = `mutation($id:ID!,$p:Boolean!){reviewAttempt(id:$id,pass:$p){id result reviewedAt}}`
	wantCode(e.Do(tok2, review, map[string]any{"id": f2.ID, "p": true}), "FORBIDDEN")
	rev := e.DemoLogin("REVIEWER")
	wantCode(e.Do(rev, review, map[string]any{"id": f2.ID, "p": false}), "BAD_USER_INPUT") // FAIL needs a reason
	var rv struct{ ReviewAttempt exAttempt }
	e.Do(rev, review, map[string]any{"id": f2.ID, "p": true}).Decode(t, &rv)
	if rv.ReviewAttempt.Result == nil || *rv.ReviewAttempt.Result != "PASS" {
		t.Fatalf("review: %+v", rv.ReviewAttempt)
	}
	wantCode(e.Do(rev, review, map[string]any{"id": f2.ID, "p": true}), "CONFLICT")
	wantCode(e.Do(rev, review, map[string]any{"id": m.ID, "p": true}), "CONFLICT") // mock

	var mine struct {
		MyResults []struct {
			AttemptID, Result string
			Score             *int
		}
	}
	e.Do(tok2, `{myResults{attemptID result score}}`, nil).Decode(t, &mine)
	if len(mine.MyResults) != 1 || mine.MyResults[0].AttemptID != f2.ID || mine.MyResults[0].Result != "PASS" {
		t.Fatalf("myResults: %+v", mine.MyResults)
	}

	// Public lookup: masked ID; a wrong name finds nothing.
	const lookup = `query($n:String!,$i:String!){lookupResults(name:$n,idNumber:$i){name maskedID results{attemptID result score}}}`
	var lk struct {
		LookupResults []struct {
			Name, MaskedID string
			Results        []struct{ AttemptID, Result string }
		}
	}
	e.Do("", lookup, map[string]any{"n": u2.Name, "i": login2}).Decode(t, &lk)
	if len(lk.LookupResults) != 1 || len(lk.LookupResults[0].Results) != 1 || lk.LookupResults[0].Results[0].Result != "PASS" {
		t.Fatalf("lookup: %+v", lk)
	}
	if mk := lk.LookupResults[0].MaskedID; mk == login2 || !strings.Contains(mk, "*") || strings.Contains(lk.LookupResults[0].MaskedID, login2[6:14]) {
		t.Fatalf("ID not masked: %q", mk)
	}
	e.Do("", lookup, map[string]any{"n": "别人", "i": login2}).Decode(t, &lk)
	if len(lk.LookupResults) != 0 {
		t.Fatalf("lookup with a wrong name: %+v", lk)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
