package graph_test

// API tests of exam plans (graph/plans.graphqls) and payment
// (graph/payment.graphqls) through the real HTTP server, on SQLite and
// PostgreSQL. Online payment follows the simulated gateway as a browser
// would: open the pay page, submit its form; the gateway then notifies
// kaowu at /payments/notify.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/attachment"
	"github.com/kaowu/kaowu/ent/enrollment"
	"github.com/kaowu/kaowu/ent/examplan"
	"github.com/kaowu/kaowu/ent/examsession"
	"github.com/kaowu/kaowu/ent/organization"
	"github.com/kaowu/kaowu/ent/payment"
	"github.com/kaowu/kaowu/ent/region"
	"github.com/kaowu/kaowu/ent/schematype"
	"github.com/kaowu/kaowu/ent/subject"
	"github.com/kaowu/kaowu/ent/trainingrecord"
	"github.com/kaowu/kaowu/ent/user"
	"github.com/kaowu/kaowu/graph/graphtest"
	"github.com/kaowu/kaowu/internal/auth"
	"github.com/kaowu/kaowu/internal/config"
	"github.com/kaowu/kaowu/internal/demo"
	enrollsvc "github.com/kaowu/kaowu/internal/enrollment"
	"github.com/kaowu/kaowu/internal/idcard"
	pay "github.com/kaowu/kaowu/internal/payment"
	"github.com/kaowu/kaowu/internal/plans"
	"github.com/kaowu/kaowu/internal/seats"
	"github.com/kaowu/kaowu/internal/testenv"
	"github.com/kaowu/kaowu/internal/viewer"
)

func TestPaymentPlansAPI(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, dbURL string) {
		e, front := ppPayEnv(t, dbURL)
		e.Seed()
		t.Run("exam plan: draft, sessions, assignment, submission", func(t *testing.T) { ppPlanFlow(t, e) })
		t.Run("a plan's times given in China time read back", func(t *testing.T) { ppChinaTime(t, e) })
		t.Run("online payment through the simulated gateway", func(t *testing.T) { ppOnline(t, e, front) })
		t.Run("a company pays for its staff at once", func(t *testing.T) { ppCompanyOnline(t, e) })
		t.Run("forged gateway notifications change nothing", func(t *testing.T) { ppForged(t, e, front) })
		t.Run("online payment resumed and cancelled", func(t *testing.T) { ppCancelResume(t, e, front) })
		t.Run("bank transfer confirmed by a reviewer", func(t *testing.T) { ppBankConfirmed(t, e) })
		t.Run("bank transfer rejected", func(t *testing.T) { ppBankRejected(t, e) })
		t.Run("on-site payment", func(t *testing.T) { ppOnsite(t, e) })
		t.Run("invoice details", func(t *testing.T) { ppInvoice(t, e) })
	})
}

// TestOnlinePaymentOff: with online payment switched off
// (KAOWU_PAYMENT_GATEWAY=none) the payer is told what still works, nothing
// is written, and a bank transfer is accepted.
func TestOnlinePaymentOff(t *testing.T) {
	e := graphtest.New(t, t.TempDir()+"/kaowu.db", func(c *config.Config) { c.PaymentGateway = "none" })
	e.Seed()
	cand := e.DemoLogin("CANDIDATE")
	en, payer := ppPayable(t, e, "CANDIDATE", enrollment.PaymentStatusUNPAID)
	ids := []string{ppID(en.ID)}
	r := e.Do(cand, ppStart, map[string]any{"ids": ids})
	if r.Code() != "BAD_USER_INPUT" || !strings.Contains(r.Errors[0].Message, "银行转账") {
		t.Errorf("online payment while off: %+v, want BAD_USER_INPUT naming the other ways to pay", r.Errors)
	}
	if n := e.App.Client.Payment.Query().CountX(ppSys); n != 0 {
		t.Errorf("%d payments written", n)
	}
	if ev := ppEnrollmentOf(t, e, cand, en.ID); ev.PaymentStatus != "UNPAID" {
		t.Errorf("enrollment %+v", ev)
	}
	var sub struct{ SubmitBankTransfer struct{ Status string } }
	ppDo(t, e, cand, ppBank, map[string]any{"ids": ids, "p": ppID(ppProof(t, e, payer.ID, attachment.KindPAYMENT_PROOF))}, &sub)
	if sub.SubmitBankTransfer.Status != "PENDING_CONFIRMATION" {
		t.Errorf("bank transfer while online payment is off: %+v", sub)
	}
}

// ppPayEnv starts kaowu with the simulated gateway; graphtest makes the
// server's own address the public URL the gateway's links and
// notifications use.
func ppPayEnv(t *testing.T, dbURL string) (*graphtest.Env, string) {
	e := graphtest.New(t, dbURL, func(c *config.Config) { c.PaymentGateway = "sim" })
	return e, e.Server.URL
}

// ---- GraphQL helpers

// ppDo runs an operation that must succeed and decodes its data into out.
func ppDo(t *testing.T, e *graphtest.Env, tok, doc string, vars map[string]any, out any) {
	t.Helper()
	r := e.Do(tok, doc, vars)
	if len(r.Errors) > 0 {
		t.Fatalf("%s: %+v", ppFirstLine(doc), r.Errors)
	}
	if out != nil {
		if err := json.Unmarshal(r.Data, out); err != nil {
			t.Fatalf("decode %s: %v", r.Data, err)
		}
	}
}

// ppRefused runs an operation that must fail with code (and, when given,
// extensions.field); it returns the error message.
func ppRefused(t *testing.T, e *graphtest.Env, tok, doc string, vars map[string]any, code, field string) string {
	t.Helper()
	r := e.Do(tok, doc, vars)
	if r.Code() != code {
		t.Fatalf("%s: code %q, want %q (%+v, data %s)", ppFirstLine(doc), r.Code(), code, r.Errors, r.Data)
	}
	if field != "" && r.Errors[0].Extensions["field"] != field {
		t.Errorf("%s: field %v, want %s (%+v)", ppFirstLine(doc), r.Errors[0].Extensions["field"], field, r.Errors)
	}
	msg := r.Errors[0].Message
	if msg == "" || strings.Contains(msg, "ent:") || strings.Contains(msg, "sql") {
		t.Errorf("%s: message not for people: %q", ppFirstLine(doc), msg)
	}
	return msg
}

func ppFirstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > 80 {
		s = s[:80]
	}
	return s
}

func ppID(v int) string { return fmt.Sprint(v) }

// ppIDv reads an id field whether the schema types it ID (a JSON string) or
// Int (a number: foreign ids without an edge, e.g. confirmedByID).
type ppIDv string

func (v *ppIDv) UnmarshalJSON(b []byte) error {
	*v = ppIDv(strings.Trim(string(b), `"`))
	return nil
}

func ppAtoi(t *testing.T, s string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatalf("id %q: %v", s, err)
	}
	return n
}

// ppNotified counts the account's notifications of kind.
func ppNotified(t *testing.T, e *graphtest.Env, tok, kind string) int {
	t.Helper()
	var out struct{ Notifications struct{ TotalCount int } }
	ppDo(t, e, tok, `query($k:String!){notifications(where:{kind:$k}){totalCount}}`, map[string]any{"k": kind}, &out)
	return out.Notifications.TotalCount
}

// ---- exam plans

const (
	ppCreatePlan = `mutation($in:CreateExamPlanInput!){createExamPlan(input:$in){id status trainingOrgID}}`
	ppUpdatePlan = `mutation($id:ID!,$in:UpdateExamPlanInput!){updateExamPlan(id:$id,input:$in){id name}}`
	ppSubmitPlan = `mutation($id:ID!){submitExamPlan(id:$id){id status submittedAt submittedByID}}`
	ppAddSession = `mutation($in:AddExamSessionInput!){addExamSession(input:$in){id capacity taken siteID trainingOrgID}}`
	ppUpdSession = `mutation($id:ID!,$in:UpdateExamSessionInput!){updateExamSession(id:$id,input:$in){id durationMinutes capacity}}`
	ppAutoAssign = `mutation($in:AutoAssignInput!){autoAssignCandidates(input:$in){id candidateID sessionID source status trainingOrgID}}`
	ppManual     = `mutation($in:ManualAssignInput!){manualAssignCandidates(input:$in){id candidateID sessionID source status}}`
	ppUnassign   = `mutation($id:ID!){unassignCandidate(enrollmentID:$id){id status sessionID}}`
)

type ppAssigned struct {
	ID, CandidateID, SessionID, Source, Status string
	TrainingOrgID                              *ppIDv
}

func ppPlanFlow(t *testing.T, e *graphtest.Env) {
	trainer, admin, reviewer := e.DemoLogin("TRAINING_ORG"), e.DemoLogin("ADMIN"), e.DemoLogin("REVIEWER")
	org := ppDemoOrg(t, e, "TRAINING_ORG")
	siteID := ppDemoOrg(t, e, "EXAM_SITE")
	subjA := ppSubject(t, e, "A")
	planIn := map[string]any{"name": "2026年第二批三类人员考核", "regionID": ppRegion(t, e),
		"enrollStartsAt": ppTime(ppDay(0)), "enrollEndsAt": ppTime(ppDay(49)), "examFrom": ppTime(ppDay(50)), "examTo": ppTime(ppDay(60).Add(-time.Second))}

	// Refusals before anything exists.
	ppRefused(t, e, reviewer, ppCreatePlan, map[string]any{"in": planIn}, "FORBIDDEN", "")
	bad := ppWith(planIn, "examTo", ppTime(ppDay(45)))
	ppRefused(t, e, trainer, ppCreatePlan, map[string]any{"in": bad}, "BAD_USER_INPUT", "examTo")
	ppRefused(t, e, trainer, ppCreatePlan, map[string]any{"in": ppWith(planIn, "regionID", "999999")}, "BAD_USER_INPUT", "regionID")

	var created struct {
		CreateExamPlan struct{ ID, Status, TrainingOrgID string }
	}
	ppDo(t, e, trainer, ppCreatePlan, map[string]any{"in": planIn}, &created)
	plan := created.CreateExamPlan
	if plan.Status != "DRAFT" || plan.TrainingOrgID != ppID(org) {
		t.Fatalf("created plan %+v, want DRAFT of institution %d", plan, org)
	}

	// Sessions: one by the institution (capacity from the room), one by the
	// provincial centre in another room.
	room1, room2 := ppRoom(t, e, siteID, 3), ppRoom(t, e, siteID, 2)
	at := ppDay(51).Add(9 * time.Hour)
	sessIn := func(room int, start time.Time) map[string]any {
		return map[string]any{"planID": plan.ID, "subjectID": ppID(subjA.ID), "roomID": ppID(room), "startsAt": ppTime(start), "durationMinutes": 120}
	}
	type session struct {
		ID              string
		Capacity, Taken int
		SiteID          string
		TrainingOrgID   *ppIDv
		DurationMinutes int
	}
	var s1, s2 struct{ AddExamSession session }
	ppDo(t, e, trainer, ppAddSession, map[string]any{"in": sessIn(room1, at)}, &s1)
	ppDo(t, e, admin, ppAddSession, map[string]any{"in": sessIn(room2, at)}, &s2)
	if got := s1.AddExamSession; got.Capacity != 3 || got.Taken != 0 || got.SiteID != ppID(siteID) || got.TrainingOrgID == nil || string(*got.TrainingOrgID) != ppID(org) {
		t.Fatalf("session %+v: want capacity 3 (the room's), site %d, institution %d", got, siteID, org)
	}
	sess1, sess2 := s1.AddExamSession.ID, s2.AddExamSession.ID
	ppRefused(t, e, trainer, ppAddSession, map[string]any{"in": ppWith(sessIn(room2, at.Add(24*time.Hour)), "capacity", 5)}, "BAD_USER_INPUT", "capacity")
	ppRefused(t, e, trainer, ppAddSession, map[string]any{"in": sessIn(room1, at.Add(time.Hour))}, "CONFLICT", "startsAt")
	ppRefused(t, e, trainer, ppAddSession, map[string]any{"in": sessIn(room1, ppDay(80))}, "BAD_USER_INPUT", "startsAt")
	ppRefused(t, e, trainer, ppAddSession, map[string]any{"in": ppWith(sessIn(room1, at.Add(24*time.Hour)), "durationMinutes", 5)}, "BAD_USER_INPUT", "durationMinutes")
	var upd struct{ UpdateExamSession session }
	ppDo(t, e, trainer, ppUpdSession, map[string]any{"id": sess2, "in": map[string]any{"durationMinutes": 90}}, &upd)
	if upd.UpdateExamSession.DurationMinutes != 90 {
		t.Errorf("session after update: %+v", upd.UpdateExamSession)
	}

	// The institution's candidates: four trained and approved in category A;
	// one still pending, one trained elsewhere, one in another category.
	var ready []int
	for i := range 4 {
		c := ppCandidate(t, e, fmt.Sprintf("学员%d", i))
		ppTrained(t, e, c.ID, org, schematype.CategoryA, trainingrecord.StatusAPPROVED)
		ready = append(ready, c.ID)
	}
	pending := ppCandidate(t, e, "待审学员")
	ppTrained(t, e, pending.ID, org, schematype.CategoryA, trainingrecord.StatusPENDING)
	other := e.App.Client.Organization.Create().SetKind(organization.KindTRAINING_ORG).SetName(fmt.Sprintf("另一培训机构%d", ppNext())).
		SetStatus(organization.StatusAPPROVED).SaveX(ppSys)
	elsewhere := ppCandidate(t, e, "外机构学员")
	ppTrained(t, e, elsewhere.ID, other.ID, schematype.CategoryA, trainingrecord.StatusAPPROVED)
	wrongCat := ppCandidate(t, e, "C1学员")
	ppTrained(t, e, wrongCat.ID, org, schematype.CategoryC1, trainingrecord.StatusAPPROVED)

	// Automatic assignment: five wanted, four available — nothing written.
	auto := func(n int) map[string]any {
		return map[string]any{"in": map[string]any{"planID": plan.ID, "subjectID": ppID(subjA.ID), "sessionIDs": []string{sess1, sess2}, "count": n}}
	}
	msg := ppRefused(t, e, trainer, ppAutoAssign, auto(5), "BAD_USER_INPUT", "count")
	if !strings.Contains(msg, "需要 5，可分配 4") {
		t.Errorf("short pool message %q", msg)
	}
	ppRefused(t, e, trainer, ppAutoAssign, auto(6), "BAD_USER_INPUT", "sessionIDs") // 5 seats in all
	if n := ppPlanEnrollments(t, e, ppAtoi(t, plan.ID)); n != 0 {
		t.Fatalf("refused assignment wrote %d enrollments", n)
	}
	var autoOut struct{ AutoAssignCandidates []ppAssigned }
	ppDo(t, e, trainer, ppAutoAssign, auto(3), &autoOut)
	if len(autoOut.AutoAssignCandidates) != 3 {
		t.Fatalf("auto-assigned %d, want 3", len(autoOut.AutoAssignCandidates))
	}
	assigned := map[int]ppAssigned{}
	for _, a := range autoOut.AutoAssignCandidates {
		c := ppAtoi(t, a.CandidateID)
		if !slices.Contains(ready, c) || a.Source != "PLAN" || a.Status != "PENDING_REVIEW" || a.TrainingOrgID == nil || string(*a.TrainingOrgID) != ppID(org) {
			t.Errorf("assigned %+v: want one of the approved candidates, PLAN, PENDING_REVIEW", a)
		}
		assigned[c] = a
	}
	if len(assigned) != 3 {
		t.Fatalf("a candidate was assigned twice: %+v", autoOut.AutoAssignCandidates)
	}
	if taken := ppTaken(t, e, sess1) + ppTaken(t, e, sess2); taken != 3 {
		t.Fatalf("seats taken %d, want 3", taken)
	}

	// Manual assignment of the fourth; refusals name the input.
	var last int
	for _, c := range ready {
		if _, ok := assigned[c]; !ok {
			last = c
		}
	}
	free := sess1
	if ppTaken(t, e, sess1) == 3 {
		free = sess2
	}
	manual := func(session string, ids ...int) map[string]any {
		s := make([]string, len(ids))
		for i, id := range ids {
			s[i] = ppID(id)
		}
		return map[string]any{"in": map[string]any{"planID": plan.ID, "sessionID": session, "candidateIDs": s}}
	}
	for name, c := range map[string]int{"pending record": pending.ID, "trained elsewhere": elsewhere.ID, "other category": wrongCat.ID} {
		t.Run(name, func(t *testing.T) {
			ppRefused(t, e, trainer, ppManual, manual(free, c), "BAD_USER_INPUT", "candidateIDs")
		})
	}
	var first int
	for c := range assigned {
		first = c
		break
	}
	ppRefused(t, e, trainer, ppManual, manual(free, first), "BAD_USER_INPUT", "candidateIDs") // already in the plan
	ppRefused(t, e, trainer, ppManual, manual(free, last, last), "BAD_USER_INPUT", "candidateIDs")
	var man struct{ ManualAssignCandidates []ppAssigned }
	ppDo(t, e, trainer, ppManual, manual(free, last), &man)
	if len(man.ManualAssignCandidates) != 1 || man.ManualAssignCandidates[0].CandidateID != ppID(last) || man.ManualAssignCandidates[0].SessionID != free {
		t.Fatalf("manual assignment %+v", man.ManualAssignCandidates)
	}
	if ppTaken(t, e, sess1)+ppTaken(t, e, sess2) != 4 {
		t.Fatal("manual assignment took no seat")
	}
	// A full plan: no seat left for anyone more.
	ppRefused(t, e, trainer, ppAutoAssign, auto(2), "BAD_USER_INPUT", "sessionIDs")

	// Another institution may not touch the plan, nor see its candidates.
	otherTok := ppStaff(t, e, admin, "TRAINING_ORG", other.ID)
	ppRefused(t, e, otherTok, ppUpdatePlan, map[string]any{"id": plan.ID, "in": map[string]any{"name": "别人的计划"}}, "FORBIDDEN", "")
	ppRefused(t, e, otherTok, ppAddSession, map[string]any{"in": sessIn(ppRoom(t, e, siteID, 5), at)}, "FORBIDDEN", "")
	ppRefused(t, e, otherTok, ppUnassign, map[string]any{"id": assigned[first].ID}, "NOT_FOUND", "")

	// Unassign gives the seat back.
	before := ppTaken(t, e, assigned[first].SessionID)
	var un struct{ UnassignCandidate struct{ Status string } }
	ppDo(t, e, trainer, ppUnassign, map[string]any{"id": assigned[first].ID}, &un)
	if un.UnassignCandidate.Status != "CANCELLED" || ppTaken(t, e, assigned[first].SessionID) != before-1 {
		t.Fatalf("unassign: %+v, seats %d → %d", un, before, ppTaken(t, e, assigned[first].SessionID))
	}
	ppRefused(t, e, trainer, ppUnassign, map[string]any{"id": assigned[first].ID}, "CONFLICT", "")

	// Edits while a draft.
	var renamed struct{ UpdateExamPlan struct{ Name string } }
	ppDo(t, e, trainer, ppUpdatePlan, map[string]any{"id": plan.ID, "in": map[string]any{"name": "2026年第二批三类人员考核（修订）"}}, &renamed)
	if renamed.UpdateExamPlan.Name != "2026年第二批三类人员考核（修订）" {
		t.Errorf("renamed: %+v", renamed)
	}
	ppRefused(t, e, trainer, ppUpdatePlan, map[string]any{"id": plan.ID, "in": map[string]any{"examFrom": ppTime(ppDay(55))}}, "BAD_USER_INPUT", "examFrom")

	// Submission: the department's, not the institution's.
	ppRefused(t, e, trainer, ppSubmitPlan, map[string]any{"id": plan.ID}, "FORBIDDEN", "")
	reviewerUser := ppDemoUser(t, e, "REVIEWER")
	notifiedBefore := ppNotified(t, e, trainer, plans.KindPlanSubmitted)
	var sub struct {
		SubmitExamPlan struct {
			Status        string
			SubmittedAt   *string
			SubmittedByID *ppIDv
		}
	}
	ppDo(t, e, reviewer, ppSubmitPlan, map[string]any{"id": plan.ID}, &sub)
	if s := sub.SubmitExamPlan; s.Status != "SUBMITTED" || s.SubmittedAt == nil || s.SubmittedByID == nil || string(*s.SubmittedByID) != ppID(reviewerUser.ID) {
		t.Fatalf("submitted: %+v", s)
	}
	if ppNotified(t, e, trainer, plans.KindPlanSubmitted) != notifiedBefore+1 {
		t.Error("the institution was not told of the submission")
	}

	// Afterwards nothing in the plan changes, for anyone.
	submitted := func(t *testing.T, tok, doc string, vars map[string]any) {
		t.Helper()
		if msg := ppRefused(t, e, tok, doc, vars, "CONFLICT", ""); msg != plans.MsgSubmitted {
			t.Errorf("%s: message %q, want %q", ppFirstLine(doc), msg, plans.MsgSubmitted)
		}
	}
	var remaining string
	for c, a := range assigned {
		if c != first {
			remaining = a.ID
		}
	}
	submitted(t, trainer, ppUpdatePlan, map[string]any{"id": plan.ID, "in": map[string]any{"name": "提交后改名"}})
	submitted(t, admin, ppUpdatePlan, map[string]any{"id": plan.ID, "in": map[string]any{"name": "提交后改名"}})
	submitted(t, trainer, ppAddSession, map[string]any{"in": sessIn(ppRoom(t, e, siteID, 5), at)})
	submitted(t, trainer, ppUpdSession, map[string]any{"id": sess1, "in": map[string]any{"capacity": 3, "durationMinutes": 100}})
	submitted(t, trainer, ppAutoAssign, auto(1))
	submitted(t, trainer, ppManual, manual(free, first))
	submitted(t, trainer, ppUnassign, map[string]any{"id": remaining})
	if msg := ppRefused(t, e, reviewer, ppSubmitPlan, map[string]any{"id": plan.ID}, "CONFLICT", ""); msg != plans.MsgAlreadySubmit {
		t.Errorf("second submission: %q", msg)
	}
	p := e.App.Client.ExamPlan.GetX(ppSys, ppAtoi(t, plan.ID))
	if p.Name != "2026年第二批三类人员考核（修订）" || p.Status != examplan.StatusSUBMITTED {
		t.Errorf("plan after refused edits: %q %s", p.Name, p.Status)
	}
	if n := ppPlanEnrollments(t, e, p.ID); n != 3 {
		t.Errorf("live enrollments %d, want 3", n)
	}
	ppRefused(t, e, trainer, ppSubmitPlan, map[string]any{"id": "999999"}, "FORBIDDEN", "")
	ppRefused(t, e, reviewer, ppSubmitPlan, map[string]any{"id": "999999"}, "NOT_FOUND", "")
}

// ppChinaTime creates a plan with its instants written as China time
// (+08:00, as the schema suggests for the last day's end) and reads them back.
func ppChinaTime(t *testing.T, e *graphtest.Env) {
	trainer := e.DemoLogin("TRAINING_ORG")
	cst := func(d time.Time) string { return d.In(ppCST).Format(time.RFC3339) }
	from, to := ppDay(90), ppDay(91).Add(-time.Second)
	var out struct{ CreateExamPlan struct{ ID string } }
	ppDo(t, e, trainer, ppCreatePlan, map[string]any{"in": map[string]any{"name": "中国时间的考试计划", "regionID": ppRegion(t, e),
		"enrollStartsAt": cst(ppDay(0)), "enrollEndsAt": cst(ppDay(89)), "examFrom": cst(from), "examTo": cst(to)}}, &out)
	var q struct {
		Node struct{ ExamFrom, ExamTo time.Time }
	}
	ppDo(t, e, trainer, `query($id:ID!){node(id:$id){... on ExamPlan{examFrom examTo}}}`, map[string]any{"id": out.CreateExamPlan.ID}, &q)
	if !q.Node.ExamFrom.Equal(from) || !q.Node.ExamTo.Equal(to) {
		t.Errorf("read back %v – %v, want %v – %v", q.Node.ExamFrom, q.Node.ExamTo, from, to)
	}
}

// ppWith copies m with k set to v.
func ppWith(m map[string]any, k string, v any) map[string]any {
	out := make(map[string]any, len(m)+1)
	for kk, vv := range m {
		out[kk] = vv
	}
	out[k] = v
	return out
}

// ppTaken is a session's seats taken.
func ppTaken(t *testing.T, e *graphtest.Env, id string) int {
	t.Helper()
	return e.App.Client.ExamSession.GetX(ppSys, ppAtoi(t, id)).Taken
}

// ppPlanEnrollments counts a plan's live enrollments.
func ppPlanEnrollments(t *testing.T, e *graphtest.Env, planID int) int {
	t.Helper()
	return e.App.Client.Enrollment.Query().Where(enrollment.PlanID(planID),
		enrollment.StatusIn(enrollment.StatusPENDING_REVIEW, enrollment.StatusAPPROVED)).CountX(ppSys)
}

// ppStaff creates a staff account of role at org through the API and logs it in.
func ppStaff(t *testing.T, e *graphtest.Env, admin, role string, org int) string {
	t.Helper()
	login := fmt.Sprintf("pp%s%d", strings.ToLower(strings.ReplaceAll(role, "_", "")), ppNext())
	ppDo(t, e, admin, `mutation($in:CreateStaffAccountInput!){createStaffAccount(input:$in){id}}`, map[string]any{"in": map[string]any{
		"role": role, "login": login, "name": "测试员", "organizationID": ppID(org), "password": ppPass}}, nil)
	return e.Login(login, ppPass)
}

// ---- payment

const (
	ppStart   = `mutation($ids:[ID!]!){startOnlinePayment(enrollmentIDs:$ids){payURL payment{id status method amountCents orderNo}}}`
	ppResume  = `mutation($id:ID!){resumeOnlinePayment(id:$id)}`
	ppCancel  = `mutation($id:ID!){cancelPayment(id:$id){id status}}`
	ppBank    = `mutation($ids:[ID!]!,$p:ID!){submitBankTransfer(enrollmentIDs:$ids,proofAttachmentID:$p){id status method amountCents proof{id}}}`
	ppConfirm = `mutation($id:ID!){confirmPayment(id:$id){id status confirmedByID confirmedAt paidAt}}`
	ppReject  = `mutation($id:ID!,$r:String){rejectPayment(id:$id,reason:$r){id status reason}}`
	ppOnsiteM = `mutation($ids:[ID!]!){recordOnsitePayment(enrollmentIDs:$ids){id status method payerID confirmedByID}}`
	ppPayQ    = `query($id:ID!){node(id:$id){... on Payment{id status method amountCents orderNo gatewayTxnID paidAt reason enrollments{id paymentStatus ticketNo}}}}`
	ppEnrollQ = `query($id:ID!){node(id:$id){... on Enrollment{id paymentStatus ticketNo paidAt}}}`
)

type ppPaymentView struct {
	ID, Status, Method, OrderNo string
	AmountCents                 int
	GatewayTxnID, PaidAt        *string
	Reason                      string
	Enrollments                 []ppEnrollmentView
}

type ppEnrollmentView struct {
	ID, PaymentStatus string
	TicketNo, PaidAt  *string
}

func ppPaymentOf(t *testing.T, e *graphtest.Env, tok, id string) ppPaymentView {
	t.Helper()
	var out struct{ Node ppPaymentView }
	ppDo(t, e, tok, ppPayQ, map[string]any{"id": id}, &out)
	return out.Node
}

func ppEnrollmentOf(t *testing.T, e *graphtest.Env, tok string, id int) ppEnrollmentView {
	t.Helper()
	var out struct{ Node ppEnrollmentView }
	ppDo(t, e, tok, ppEnrollQ, map[string]any{"id": ppID(id)}, &out)
	return out.Node
}

// ppEnrollDemo enrolls the demo candidate (whose profile the demo completes)
// in the demo plan's session of subject through the enrollment service, and
// has the demo reviewer approve it.
func ppEnrollDemo(t *testing.T, e *graphtest.Env, code string) *ent.Enrollment {
	t.Helper()
	c := e.App.Client
	demoPlan := c.ExamPlan.Query().Order(examplan.ByID()).FirstX(ppSys)
	sess := c.ExamSession.Query().Where(examsession.PlanID(demoPlan.ID), examsession.HasSubjectWith(subject.Code(code))).
		Order(examsession.ByID()).FirstX(ppSys)
	cand, rev := ppDemoUser(t, e, "CANDIDATE"), ppDemoUser(t, e, "REVIEWER")
	cctx := viewer.NewContext(context.Background(), &viewer.Viewer{UserID: cand.ID, Role: viewer.Candidate})
	en, err := e.App.Enrollments.Enroll(cctx, enrollsvc.EnrollInput{SessionID: sess.ID, PledgeAccepted: true})
	if err != nil {
		t.Fatalf("enroll: %v", err)
	}
	rctx := viewer.NewContext(context.Background(), &viewer.Viewer{UserID: rev.ID, Role: viewer.Reviewer, OrgID: *rev.OrganizationID})
	if en, err = e.App.Enrollments.Review(rctx, en.ID, true, ""); err != nil {
		t.Fatalf("approve: %v", err)
	}
	return en
}

// ppBrowser does not follow redirects, so each step can be checked.
var ppBrowser = &http.Client{Timeout: 20 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

var ppFormRe = regexp.MustCompile(`<form method="post" action="([^"]+)">`)

// ppPayAtGateway opens the pay page and presses 支付 as a browser would:
// GET the page, POST its form with the button's name and value. It returns
// the response to the POST.
func ppPayAtGateway(t *testing.T, payURL string) *http.Response {
	t.Helper()
	resp, err := ppBrowser.Get(payURL)
	if err != nil {
		t.Fatalf("open pay page: %v", err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("pay page: %d %s", resp.StatusCode, page)
	}
	m := ppFormRe.FindSubmatch(page)
	if m == nil || !bytes.Contains(page, []byte(`name="action" value="pay"`)) {
		t.Fatalf("pay page has no pay form: %s", page)
	}
	action, err := url.Parse(html.UnescapeString(string(m[1])))
	if err != nil {
		t.Fatal(err)
	}
	base, _ := url.Parse(payURL)
	resp, err = ppBrowser.PostForm(base.ResolveReference(action).String(), url.Values{"action": {"pay"}})
	if err != nil {
		t.Fatalf("submit pay form: %v", err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func ppOnline(t *testing.T, e *graphtest.Env, front string) {
	cand := e.DemoLogin("CANDIDATE")
	en := ppEnrollDemo(t, e, "C2")
	ids := map[string]any{"ids": []string{ppID(en.ID)}}
	var st struct {
		StartOnlinePayment struct {
			PayURL  string
			Payment struct {
				ID, Status, Method, OrderNo string
				AmountCents                 int
			}
		}
	}
	ppDo(t, e, cand, ppStart, ids, &st)
	p := st.StartOnlinePayment.Payment
	if p.Status != "CREATED" || p.Method != "ONLINE" || p.AmountCents != en.FeeCents || p.AmountCents != 12000 {
		t.Fatalf("payment %+v, want CREATED ONLINE 12000 fen", p)
	}
	if !strings.HasPrefix(st.StartOnlinePayment.PayURL, front+"/payments/sim/pay?") {
		t.Fatalf("pay URL %q is not the simulated gateway's page at %s", st.StartOnlinePayment.PayURL, front)
	}
	if got := ppEnrollmentOf(t, e, cand, en.ID); got.PaymentStatus != "PENDING" || got.TicketNo != nil {
		t.Fatalf("enrollment while paying: %+v", got)
	}
	// One open payment per enrollment.
	r := e.Do(cand, ppStart, ids)
	if r.Code() != "CONFLICT" || r.Errors[0].Extensions["enrollmentID"] != ppID(en.ID) && r.Errors[0].Extensions["enrollmentID"] != float64(en.ID) {
		t.Errorf("second start: %+v", r.Errors)
	}

	paidBefore := ppNotified(t, e, cand, enrollsvc.KindPaid)
	resp := ppPayAtGateway(t, st.StartOnlinePayment.PayURL)
	if resp.StatusCode != http.StatusSeeOther {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("pay: %d %s", resp.StatusCode, b)
	}
	loc, err := resp.Location()
	if err != nil || loc.Path != "/payments/return" || loc.Query().Get("result") != "paid" || loc.Query().Get("order") != p.OrderNo {
		t.Fatalf("redirect after paying: %v %v", loc, err)
	}
	back, err := ppBrowser.Get(loc.String())
	if err != nil {
		t.Fatal(err)
	}
	back.Body.Close()
	if back.StatusCode != http.StatusOK {
		t.Errorf("return page: %d", back.StatusCode)
	}

	got := ppPaymentOf(t, e, cand, p.ID)
	if got.Status != "PAID" || got.GatewayTxnID == nil || *got.GatewayTxnID == "" || got.PaidAt == nil {
		t.Fatalf("payment after the gateway's notification: %+v", got)
	}
	ev := ppEnrollmentOf(t, e, cand, en.ID)
	if ev.PaymentStatus != "PAID" || ev.TicketNo == nil || !enrollsvc.ValidTicketNumber(*ev.TicketNo) || ev.PaidAt == nil {
		t.Fatalf("enrollment after payment: %+v", ev)
	}
	if len(got.Enrollments) != 1 || got.Enrollments[0].ID != ppID(en.ID) {
		t.Errorf("payment's enrollments: %+v", got.Enrollments)
	}
	if ppNotified(t, e, cand, enrollsvc.KindPaid) != paidBefore+1 {
		t.Error("the candidate was not told of the payment")
	}

	// Paying the same order again is the same transaction: accepted, and
	// nothing changes.
	again := ppPayAtGateway(t, st.StartOnlinePayment.PayURL)
	if again.StatusCode != http.StatusSeeOther {
		t.Errorf("repeated pay: %d", again.StatusCode)
	}
	if g := ppPaymentOf(t, e, cand, p.ID); g.Status != "PAID" || *g.GatewayTxnID != *got.GatewayTxnID || *g.PaidAt != *got.PaidAt {
		t.Errorf("payment after a repeated notification: %+v", g)
	}
	if ev2 := ppEnrollmentOf(t, e, cand, en.ID); *ev2.TicketNo != *ev.TicketNo {
		t.Errorf("ticket changed: %v → %v", *ev.TicketNo, *ev2.TicketNo)
	}
	ppRefused(t, e, cand, ppCancel, map[string]any{"id": p.ID}, "CONFLICT", "")
	ppRefused(t, e, cand, ppResume, map[string]any{"id": p.ID}, "CONFLICT", "")
	ppRefused(t, e, cand, ppStart, ids, "CONFLICT", "enrollmentIDs")
}

func ppCompanyOnline(t *testing.T, e *graphtest.Env) {
	company, cand := e.DemoLogin("COMPANY"), e.DemoLogin("CANDIDATE")
	e1, _ := ppPayable(t, e, "COMPANY", enrollment.PaymentStatusUNPAID)
	e2, _ := ppPayable(t, e, "COMPANY", enrollment.PaymentStatusUNPAID)
	own, _ := ppPayable(t, e, "CANDIDATE", enrollment.PaymentStatusUNPAID)

	// A company pays only for the staff it enrolled; a candidate only for themself.
	ppRefused(t, e, company, ppStart, map[string]any{"ids": []string{ppID(e1.ID), ppID(own.ID)}}, "NOT_FOUND", "enrollmentIDs")
	ppRefused(t, e, cand, ppStart, map[string]any{"ids": []string{ppID(e1.ID)}}, "NOT_FOUND", "enrollmentIDs")
	if n := e.App.Client.Enrollment.Query().Where(enrollment.IDIn(e1.ID, own.ID), enrollment.PaymentStatusNEQ(enrollment.PaymentStatusUNPAID)).CountX(ppSys); n != 0 {
		t.Fatalf("refused starts left %d enrollments pending", n)
	}

	var st struct {
		StartOnlinePayment struct {
			PayURL  string
			Payment struct {
				ID          string
				AmountCents int
			}
		}
	}
	ppDo(t, e, company, ppStart, map[string]any{"ids": []string{ppID(e1.ID), ppID(e2.ID)}}, &st)
	if st.StartOnlinePayment.Payment.AmountCents != e1.FeeCents+e2.FeeCents {
		t.Fatalf("amount %d, want %d", st.StartOnlinePayment.Payment.AmountCents, e1.FeeCents+e2.FeeCents)
	}
	before := ppNotified(t, e, company, pay.KindPaid)
	if resp := ppPayAtGateway(t, st.StartOnlinePayment.PayURL); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("pay: %d", resp.StatusCode)
	}
	got := ppPaymentOf(t, e, company, st.StartOnlinePayment.Payment.ID)
	if got.Status != "PAID" || len(got.Enrollments) != 2 {
		t.Fatalf("company payment %+v", got)
	}
	tickets := map[string]bool{}
	for _, ev := range got.Enrollments {
		if ev.PaymentStatus != "PAID" || ev.TicketNo == nil || !enrollsvc.ValidTicketNumber(*ev.TicketNo) {
			t.Errorf("staff enrollment %+v", ev)
		} else {
			tickets[*ev.TicketNo] = true
		}
	}
	if len(tickets) != 2 {
		t.Errorf("tickets %v: want one each", tickets)
	}
	if ppNotified(t, e, company, pay.KindPaid) != before+1 {
		t.Error("the paying company was not told")
	}
}

func ppForged(t *testing.T, e *graphtest.Env, front string) {
	cand := e.DemoLogin("CANDIDATE")
	en, _ := ppPayable(t, e, "CANDIDATE", enrollment.PaymentStatusUNPAID)
	var st struct {
		StartOnlinePayment struct {
			Payment struct {
				ID, OrderNo string
				AmountCents int
			}
		}
	}
	ppDo(t, e, cand, ppStart, map[string]any{"ids": []string{ppID(en.ID)}}, &st)
	p := st.StartOnlinePayment.Payment
	n := pay.Notification{OrderNo: p.OrderNo, TxnID: "FORGED0001", AmountCents: p.AmountCents, Paid: true}
	genuine, _ := pay.NewSimGateway([]byte("not the server's key"), front).SignNotification(n)

	post := func(name string, body []byte, h http.Header) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, front+"/payments/notify", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		for k, v := range h {
			req.Header[k] = v
		}
		resp, err := ppBrowser.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", name, resp.StatusCode, b)
		}
	}
	post("unsigned", genuine, nil)
	post("bad signature", genuine, http.Header{pay.SimSignatureHeader: {strings.Repeat("00", 32)}})
	_, wrongKey := pay.NewSimGateway([]byte("not the server's key"), front).SignNotification(n)
	post("signed with another key", genuine, wrongKey)
	post("not JSON", []byte("order_no="+p.OrderNo+"&trade_status=SUCCESS"), wrongKey)

	got := ppPaymentOf(t, e, cand, p.ID)
	if got.Status != "CREATED" || got.GatewayTxnID != nil || got.PaidAt != nil {
		t.Fatalf("payment after forged notifications: %+v", got)
	}
	if ev := ppEnrollmentOf(t, e, cand, en.ID); ev.PaymentStatus != "PENDING" || ev.TicketNo != nil {
		t.Fatalf("enrollment after forged notifications: %+v", ev)
	}
	var c struct{ CancelPayment struct{ Status string } }
	ppDo(t, e, cand, ppCancel, map[string]any{"id": p.ID}, &c)
	if c.CancelPayment.Status != "CANCELLED" {
		t.Errorf("cancel: %+v", c)
	}
}

func ppCancelResume(t *testing.T, e *graphtest.Env, front string) {
	cand := e.DemoLogin("CANDIDATE")
	en, _ := ppPayable(t, e, "CANDIDATE", enrollment.PaymentStatusUNPAID)
	ids := map[string]any{"ids": []string{ppID(en.ID)}}
	var st struct {
		StartOnlinePayment struct {
			PayURL  string
			Payment struct{ ID, OrderNo string }
		}
	}
	ppDo(t, e, cand, ppStart, ids, &st)
	p := st.StartOnlinePayment.Payment

	var res struct{ ResumeOnlinePayment string }
	ppDo(t, e, cand, ppResume, map[string]any{"id": p.ID}, &res)
	u, err := url.Parse(res.ResumeOnlinePayment)
	if err != nil || !strings.HasPrefix(res.ResumeOnlinePayment, front+"/payments/sim/pay?") || u.Query().Get("order") != p.OrderNo {
		t.Fatalf("resume URL %q: want the pay page of order %s", res.ResumeOnlinePayment, p.OrderNo)
	}

	// Someone else's payment is not there at all.
	stranger := ppCandidate(t, e, "路人")
	stok := e.Login(stranger.Login, ppPass)
	ppRefused(t, e, stok, ppResume, map[string]any{"id": p.ID}, "NOT_FOUND", "")
	ppRefused(t, e, stok, ppCancel, map[string]any{"id": p.ID}, "NOT_FOUND", "")
	ppRefused(t, e, stok, ppStart, ids, "NOT_FOUND", "enrollmentIDs")
	ppRefused(t, e, "", ppCancel, map[string]any{"id": p.ID}, "UNAUTHENTICATED", "")

	var c struct{ CancelPayment struct{ ID, Status string } }
	ppDo(t, e, cand, ppCancel, map[string]any{"id": p.ID}, &c)
	if c.CancelPayment.Status != "CANCELLED" {
		t.Fatalf("cancel: %+v", c)
	}
	if ev := ppEnrollmentOf(t, e, cand, en.ID); ev.PaymentStatus != "UNPAID" {
		t.Fatalf("enrollment after cancel: %+v", ev)
	}
	ppRefused(t, e, cand, ppCancel, map[string]any{"id": p.ID}, "CONFLICT", "")
	ppRefused(t, e, cand, ppResume, map[string]any{"id": p.ID}, "CONFLICT", "")
	// A cancelled order paid late at the gateway is refunded by hand, never
	// applied: the enrollment stays unpaid.
	if resp := ppPayAtGateway(t, st.StartOnlinePayment.PayURL); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("late pay: %d", resp.StatusCode)
	}
	if g := ppPaymentOf(t, e, cand, p.ID); g.Status != "CANCELLED" {
		t.Errorf("cancelled payment after a late notification: %+v", g)
	}
	if ev := ppEnrollmentOf(t, e, cand, en.ID); ev.PaymentStatus != "UNPAID" {
		t.Errorf("enrollment after a late notification: %+v", ev)
	}

	// The enrollment can be paid anew.
	var again struct {
		StartOnlinePayment struct{ Payment struct{ ID string } }
	}
	ppDo(t, e, cand, ppStart, ids, &again)
	if again.StartOnlinePayment.Payment.ID == p.ID {
		t.Error("a new start reused the cancelled payment")
	}
	ppRefused(t, e, cand, ppStart, map[string]any{"ids": []string{}}, "BAD_USER_INPUT", "enrollmentIDs")
	ppRefused(t, e, cand, ppStart, map[string]any{"ids": []string{ppID(en.ID), ppID(en.ID)}}, "BAD_USER_INPUT", "enrollmentIDs")
}

func ppBankConfirmed(t *testing.T, e *graphtest.Env) {
	cand, reviewer := e.DemoLogin("CANDIDATE"), e.DemoLogin("REVIEWER")
	candUser, revUser := ppDemoUser(t, e, "CANDIDATE"), ppDemoUser(t, e, "REVIEWER")
	en := ppEnrollDemo(t, e, "CITY-SAFETY")
	ids := []string{ppID(en.ID)}

	// The proof must be the payer's own PAYMENT_PROOF.
	ppRefused(t, e, cand, ppBank, map[string]any{"ids": ids, "p": ppID(ppProof(t, e, candUser.ID, attachment.KindOTHER))}, "BAD_USER_INPUT", "proofAttachmentID")
	ppRefused(t, e, cand, ppBank, map[string]any{"ids": ids, "p": ppID(ppProof(t, e, ppCandidate(t, e, "别人").ID, attachment.KindPAYMENT_PROOF))}, "BAD_USER_INPUT", "proofAttachmentID")
	ppRefused(t, e, cand, ppBank, map[string]any{"ids": ids, "p": "999999"}, "BAD_USER_INPUT", "proofAttachmentID")
	if ev := ppEnrollmentOf(t, e, cand, en.ID); ev.PaymentStatus != "UNPAID" {
		t.Fatalf("refused transfers left %+v", ev)
	}

	proof := ppProof(t, e, candUser.ID, attachment.KindPAYMENT_PROOF)
	var sub struct {
		SubmitBankTransfer struct {
			ID, Status, Method string
			AmountCents        int
			Proof              struct{ ID string }
		}
	}
	ppDo(t, e, cand, ppBank, map[string]any{"ids": ids, "p": ppID(proof)}, &sub)
	p := sub.SubmitBankTransfer
	if p.Status != "PENDING_CONFIRMATION" || p.Method != "BANK_TRANSFER" || p.AmountCents != en.FeeCents || p.Proof.ID != ppID(proof) {
		t.Fatalf("transfer %+v", p)
	}
	if ev := ppEnrollmentOf(t, e, cand, en.ID); ev.PaymentStatus != "PENDING" {
		t.Fatalf("enrollment awaiting confirmation: %+v", ev)
	}
	// One proof, one open payment.
	other, _ := ppPayable(t, e, "CANDIDATE", enrollment.PaymentStatusUNPAID)
	ppRefused(t, e, cand, ppBank, map[string]any{"ids": []string{ppID(other.ID)}, "p": ppID(proof)}, "CONFLICT", "proofAttachmentID")

	// The reviewer's queue holds it; only a reviewer decides.
	var queue struct {
		Payments struct {
			Edges []struct{ Node struct{ ID string } }
		}
	}
	ppDo(t, e, reviewer, `{payments(first:100,where:{method:BANK_TRANSFER,status:PENDING_CONFIRMATION}){edges{node{id}}}}`, nil, &queue)
	if !slices.ContainsFunc(queue.Payments.Edges, func(x struct{ Node struct{ ID string } }) bool { return x.Node.ID == p.ID }) {
		t.Error("transfer missing from the reviewer's queue")
	}
	ppRefused(t, e, cand, ppConfirm, map[string]any{"id": p.ID}, "FORBIDDEN", "")
	ppRefused(t, e, e.DemoLogin("EXAM_SITE"), ppConfirm, map[string]any{"id": p.ID}, "FORBIDDEN", "")
	ppRefused(t, e, reviewer, ppReject, map[string]any{"id": p.ID}, "BAD_USER_INPUT", "reason")
	ppRefused(t, e, reviewer, ppReject, map[string]any{"id": p.ID, "r": "   "}, "BAD_USER_INPUT", "reason")
	ppRefused(t, e, reviewer, ppConfirm, map[string]any{"id": "999999"}, "NOT_FOUND", "")

	var conf struct {
		ConfirmPayment struct {
			Status              string
			ConfirmedByID       *ppIDv
			ConfirmedAt, PaidAt *string
		}
	}
	ppDo(t, e, reviewer, ppConfirm, map[string]any{"id": p.ID}, &conf)
	if c := conf.ConfirmPayment; c.Status != "PAID" || c.ConfirmedByID == nil || string(*c.ConfirmedByID) != ppID(revUser.ID) || c.ConfirmedAt == nil || c.PaidAt == nil {
		t.Fatalf("confirmed: %+v", c)
	}
	ev := ppEnrollmentOf(t, e, cand, en.ID)
	if ev.PaymentStatus != "PAID" || ev.TicketNo == nil || !enrollsvc.ValidTicketNumber(*ev.TicketNo) {
		t.Fatalf("enrollment after confirmation: %+v", ev)
	}
	ppRefused(t, e, reviewer, ppConfirm, map[string]any{"id": p.ID}, "CONFLICT", "")
	ppRefused(t, e, reviewer, ppReject, map[string]any{"id": p.ID, "r": "晚了"}, "CONFLICT", "")
	// Only bank transfers wait for a reviewer.
	onl, payer := ppPayable(t, e, "CANDIDATE", enrollment.PaymentStatusPENDING)
	online := ppPayment(t, e, payer, payment.MethodONLINE, payment.StatusCREATED, onl)
	ppRefused(t, e, reviewer, ppConfirm, map[string]any{"id": ppID(online.ID)}, "BAD_USER_INPUT", "id")
}

func ppBankRejected(t *testing.T, e *graphtest.Env) {
	cand, admin := e.DemoLogin("CANDIDATE"), e.DemoLogin("ADMIN")
	candUser := ppDemoUser(t, e, "CANDIDATE")
	en, _ := ppPayable(t, e, "CANDIDATE", enrollment.PaymentStatusUNPAID)
	ids := []string{ppID(en.ID)}
	proof := ppProof(t, e, candUser.ID, attachment.KindPAYMENT_PROOF)
	var sub struct{ SubmitBankTransfer struct{ ID string } }
	ppDo(t, e, cand, ppBank, map[string]any{"ids": ids, "p": ppID(proof)}, &sub)

	before := ppNotified(t, e, cand, pay.KindRejected)
	var rej struct {
		RejectPayment struct{ Status, Reason string }
	}
	ppDo(t, e, admin, ppReject, map[string]any{"id": sub.SubmitBankTransfer.ID, "r": "  回单金额与应缴金额不符  "}, &rej)
	if rej.RejectPayment.Status != "REJECTED" || rej.RejectPayment.Reason != "回单金额与应缴金额不符" {
		t.Fatalf("rejected: %+v", rej)
	}
	if ev := ppEnrollmentOf(t, e, cand, en.ID); ev.PaymentStatus != "UNPAID" {
		t.Fatalf("enrollment after rejection: %+v", ev)
	}
	if ppNotified(t, e, cand, pay.KindRejected) != before+1 {
		t.Error("the payer was not told why")
	}
	ppRefused(t, e, admin, ppConfirm, map[string]any{"id": sub.SubmitBankTransfer.ID}, "CONFLICT", "")
	// The proof of a rejected transfer may be sent again.
	var again struct{ SubmitBankTransfer struct{ Status string } }
	ppDo(t, e, cand, ppBank, map[string]any{"ids": ids, "p": ppID(proof)}, &again)
	if again.SubmitBankTransfer.Status != "PENDING_CONFIRMATION" {
		t.Errorf("resubmitted: %+v", again)
	}
}

func ppOnsite(t *testing.T, e *graphtest.Env) {
	site, cand := e.DemoLogin("EXAM_SITE"), e.DemoLogin("CANDIDATE")
	siteUser, candUser := ppDemoUser(t, e, "EXAM_SITE"), ppDemoUser(t, e, "CANDIDATE")
	en, _ := ppPayable(t, e, "CANDIDATE", enrollment.PaymentStatusUNPAID) // seated at the demo site

	// An enrollment seated at another site is not this operator's.
	otherSite := e.App.Client.Organization.Query().Where(organization.KindEQ(organization.KindEXAM_SITE), organization.IDNEQ(*siteUser.OrganizationID)).FirstX(ppSys)
	elsewhere := ppEnroll(t, e, ppEnrollSpec{candidate: candUser.ID,
		session: ppSession(t, e, ppPlan(t, e, nil), ppSubject(t, e, "CITY-SAFETY").ID, otherSite.ID, 10)})
	ppRefused(t, e, site, ppOnsiteM, map[string]any{"ids": []string{ppID(elsewhere.ID)}}, "NOT_FOUND", "enrollmentIDs")
	ppRefused(t, e, cand, ppOnsiteM, map[string]any{"ids": []string{ppID(en.ID)}}, "FORBIDDEN", "")

	var rec struct {
		RecordOnsitePayment struct {
			ID, Status, Method, PayerID string
			ConfirmedByID               ppIDv
		}
	}
	ppDo(t, e, site, ppOnsiteM, map[string]any{"ids": []string{ppID(en.ID)}}, &rec)
	r := rec.RecordOnsitePayment
	if r.Status != "PAID" || r.Method != "ONSITE" || r.PayerID != ppID(candUser.ID) || string(r.ConfirmedByID) != ppID(siteUser.ID) {
		t.Fatalf("on-site payment %+v", r)
	}
	if ev := ppEnrollmentOf(t, e, cand, en.ID); ev.PaymentStatus != "PAID" || ev.TicketNo == nil {
		t.Fatalf("enrollment after on-site payment: %+v", ev)
	}
	ppRefused(t, e, site, ppOnsiteM, map[string]any{"ids": []string{ppID(en.ID)}}, "CONFLICT", "enrollmentIDs")
}

func ppInvoice(t *testing.T, e *graphtest.Env) {
	company, reviewer, cand := e.DemoLogin("COMPANY"), e.DemoLogin("REVIEWER"), e.DemoLogin("CANDIDATE")
	org := ppDemoOrg(t, e, "COMPANY")
	const save = `mutation($in:SaveInvoiceProfileInput!){saveInvoiceProfile(input:$in){id organizationID title taxNumber phone bankAccount email}}`
	const mine = `{myInvoiceProfile{id title taxNumber}}`
	const theirs = `query($o:ID!){companyInvoiceProfile(organizationID:$o){id title taxNumber bankAccount}}`

	var none struct{ MyInvoiceProfile *struct{ ID string } }
	ppDo(t, e, company, mine, nil, &none)
	if none.MyInvoiceProfile != nil {
		t.Fatalf("invoice details before saving: %+v", none.MyInvoiceProfile)
	}
	in := map[string]any{"title": "深圳市安建工程有限公司", "taxNumber": "4403 0012 3456 78x", "phone": "0755-8888 6666",
		"bankName": "招商银行深圳分行", "bankAccount": "6225 8812 3456 7890", "email": "finance@anjian.example"}
	ppRefused(t, e, company, save, map[string]any{"in": ppWith(in, "taxNumber", "12345")}, "BAD_USER_INPUT", "taxNumber")
	ppRefused(t, e, company, save, map[string]any{"in": ppWith(in, "bankAccount", "12ab")}, "BAD_USER_INPUT", "bankAccount")
	ppRefused(t, e, company, save, map[string]any{"in": ppWith(in, "title", " ")}, "BAD_USER_INPUT", "title")
	ppRefused(t, e, cand, save, map[string]any{"in": in}, "FORBIDDEN", "")

	var saved struct {
		SaveInvoiceProfile struct{ ID, OrganizationID, Title, TaxNumber, Phone, BankAccount, Email string }
	}
	ppDo(t, e, company, save, map[string]any{"in": in}, &saved)
	s := saved.SaveInvoiceProfile
	if s.OrganizationID != ppID(org) || s.TaxNumber != "44030012345678X" || s.BankAccount != "6225881234567890" {
		t.Fatalf("saved %+v: want the company's, normalised", s)
	}
	// Saving replaces: an omitted optional field is cleared.
	ppDo(t, e, company, save, map[string]any{"in": map[string]any{"title": "深圳市安建工程有限公司", "taxNumber": "44030012345678X"}}, &saved)
	if saved.SaveInvoiceProfile.ID != s.ID || saved.SaveInvoiceProfile.Email != "" {
		t.Errorf("replaced %+v", saved.SaveInvoiceProfile)
	}
	var my struct {
		MyInvoiceProfile struct{ ID, TaxNumber string }
	}
	ppDo(t, e, company, mine, nil, &my)
	if my.MyInvoiceProfile.ID != s.ID {
		t.Errorf("mine: %+v", my)
	}
	var th struct {
		CompanyInvoiceProfile *struct{ ID, TaxNumber string }
	}
	ppDo(t, e, reviewer, theirs, map[string]any{"o": ppID(org)}, &th)
	if th.CompanyInvoiceProfile == nil || th.CompanyInvoiceProfile.ID != s.ID {
		t.Errorf("the department's view: %+v", th.CompanyInvoiceProfile)
	}
	ppDo(t, e, reviewer, theirs, map[string]any{"o": ppID(ppDemoOrg(t, e, "EXAM_SITE"))}, &th)
	if th.CompanyInvoiceProfile != nil {
		t.Errorf("a site has invoice details: %+v", th.CompanyInvoiceProfile)
	}
	ppRefused(t, e, company, theirs, map[string]any{"o": ppID(org)}, "FORBIDDEN", "")
	ppRefused(t, e, cand, mine, nil, "FORBIDDEN", "")
	ppRefused(t, e, "", mine, nil, "UNAUTHENTICATED", "")
}

// ---- fixtures: rows written through ent with the system context, each
// call fresh, so a test never depends on what another one left behind.

var (
	ppSeq   atomic.Int64
	ppCST   = time.FixedZone("CST", 8*3600)
	ppSys   = viewer.SystemContext(context.Background())
	ppPass  = "Pay#Plan2026ok"
	ppBirth = time.Date(1988, 8, 8, 0, 0, 0, 0, time.UTC)
)

func ppNext() int { return int(ppSeq.Add(1)) }

// ppDay is midnight in China n days from today.
func ppDay(n int) time.Time {
	now := time.Now().In(ppCST)
	return time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, ppCST).AddDate(0, 0, n)
}

// ppTime is an instant for GraphQL input, in UTC (see ppChinaTime).
func ppTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// ppDemoUser is the demo account of role.
func ppDemoUser(t testing.TB, e *graphtest.Env, role string) *ent.User {
	t.Helper()
	for _, l := range demo.Logins {
		if l.Role == role {
			return e.App.Client.User.Query().Where(user.Login(l.Login)).OnlyX(ppSys)
		}
	}
	t.Fatalf("no demo login for %s", role)
	return nil
}

// ppDemoOrg is the organisation of role's demo account.
func ppDemoOrg(t testing.TB, e *graphtest.Env, role string) int {
	t.Helper()
	u := ppDemoUser(t, e, role)
	if u.OrganizationID == nil {
		t.Fatalf("demo %s has no organisation", role)
	}
	return *u.OrganizationID
}

func ppSubject(t testing.TB, e *graphtest.Env, code string) *ent.Subject {
	t.Helper()
	return e.App.Client.Subject.Query().Where(subject.Code(code)).OnlyX(ppSys)
}

// ppRegion is a region (the demo seeds some; one is created otherwise).
func ppRegion(t testing.TB, e *graphtest.Env) int {
	t.Helper()
	c := e.App.Client
	if id, err := c.Region.Query().Order(region.ByID()).FirstID(ppSys); err == nil {
		return id
	}
	return c.Region.Create().SetCode(fmt.Sprintf("PP%d", ppNext())).SetName(fmt.Sprintf("测试地区%d", ppNext())).SaveX(ppSys).ID
}

// ppRoom is a fresh room at site: its timetable is empty, so sessions added
// to it never overlap anything else.
func ppRoom(t testing.TB, e *graphtest.Env, siteID, capacity int) int {
	t.Helper()
	return e.App.Client.Room.Create().SetSiteID(siteID).SetName(fmt.Sprintf("测试考场%d", ppNext())).
		SetCapacity(capacity).SaveX(ppSys).ID
}

// ppPlan is a fresh draft plan: enrollment open now, exams in 40 to 70 days.
func ppPlan(t testing.TB, e *graphtest.Env, trainingOrg *int) *ent.ExamPlan {
	t.Helper()
	return e.App.Client.ExamPlan.Create().SetName(fmt.Sprintf("测试计划%d", ppNext())).SetRegionID(ppRegion(t, e)).
		SetNillableTrainingOrgID(trainingOrg).SetEnrollStartsAt(ppDay(-1)).SetEnrollEndsAt(ppDay(39)).
		SetExamFrom(ppDay(40)).SetExamTo(ppDay(70)).SaveX(ppSys)
}

// ppSession is a session of plan for subject in a fresh room of site.
func ppSession(t testing.TB, e *graphtest.Env, p *ent.ExamPlan, subjectID, siteID, capacity int) *ent.ExamSession {
	t.Helper()
	room := ppRoom(t, e, siteID, capacity)
	return e.App.Client.ExamSession.Create().SetPlanID(p.ID).SetSubjectID(subjectID).SetRoomID(room).SetSiteID(siteID).
		SetNillableTrainingOrgID(p.TrainingOrgID).SetStartsAt(ppDay(41).Add(9 * time.Hour)).SetDurationMinutes(90).
		SetCapacity(capacity).SaveX(ppSys)
}

// ppCandidate registers a candidate (through the auth service) and returns it.
func ppCandidate(t testing.TB, e *graphtest.Env, name string) *ent.User {
	t.Helper()
	n := ppNext()
	id := idcard.Generate("440305", ppBirth.AddDate(0, 0, n/1000), n)
	u, err := e.App.Auth.RegisterPerson(context.Background(), auth.PersonInput{IDNumber: id, Name: name, Phone: "13912349999", Password: ppPass})
	if err != nil {
		t.Fatalf("register candidate: %v", err)
	}
	return u
}

// ppTrained records a training of the candidate at the institution.
func ppTrained(t testing.TB, e *graphtest.Env, candidateID, orgID int, cat schematype.ExamCategory, status trainingrecord.Status) {
	t.Helper()
	e.App.Client.TrainingRecord.Create().SetCandidateID(candidateID).SetTrainingOrgID(orgID).SetCategory(cat).
		SetHours(40).SetStatus(status).SaveX(ppSys)
}

// ppEnrollSpec describes an enrollment fixture.
type ppEnrollSpec struct {
	candidate   int
	session     *ent.ExamSession
	company     *int
	trainingOrg *int
	source      enrollment.Source
	status      enrollment.Status
	payStatus   enrollment.PaymentStatus
}

// ppEnroll writes an enrollment holding a seat in its session, with the
// subject's fee.
func ppEnroll(t testing.TB, e *graphtest.Env, s ppEnrollSpec) *ent.Enrollment {
	t.Helper()
	c := e.App.Client
	subj := c.Subject.GetX(ppSys, s.session.SubjectID)
	if s.source == "" {
		s.source = enrollment.SourceSELF
	}
	if s.status == "" {
		s.status = enrollment.StatusAPPROVED
	}
	if s.payStatus == "" {
		s.payStatus = enrollment.PaymentStatusUNPAID
	}
	now := time.Now()
	en := c.Enrollment.Create().SetCandidateID(s.candidate).SetPlanID(s.session.PlanID).SetSubjectID(subj.ID).
		SetSessionID(s.session.ID).SetSiteID(s.session.SiteID).SetNillableCompanyID(s.company).
		SetNillableTrainingOrgID(s.trainingOrg).SetSource(s.source).SetStatus(s.status).SetPaymentStatus(s.payStatus).
		SetPledgeAcceptedAt(now).SetSubmittedAt(now).SetFeeCents(subj.FeeCents).SaveX(ppSys)
	if err := seats.Take(ppSys, c, s.session.ID); err != nil {
		t.Fatalf("take seat: %v", err)
	}
	return en
}

// ppPayable is an APPROVED, unpaid enrollment the role may pay for: the demo
// candidate's own, or (COMPANY) a new employee's enrolled by the demo company.
// Any other role gets the demo candidate's, which it may not pay.
func ppPayable(t testing.TB, e *graphtest.Env, role string, pst enrollment.PaymentStatus) (*ent.Enrollment, *ent.User) {
	t.Helper()
	siteID := ppDemoOrg(t, e, "EXAM_SITE")
	sess := ppSession(t, e, ppPlan(t, e, nil), ppSubject(t, e, "CITY-SAFETY").ID, siteID, 30)
	if role == "COMPANY" {
		org := ppDemoOrg(t, e, "COMPANY")
		cand := ppCandidate(t, e, "员工")
		return ppEnroll(t, e, ppEnrollSpec{candidate: cand.ID, session: sess, company: &org, source: enrollment.SourceCOMPANY, payStatus: pst}),
			ppDemoUser(t, e, "COMPANY")
	}
	cand := ppDemoUser(t, e, "CANDIDATE")
	return ppEnroll(t, e, ppEnrollSpec{candidate: cand.ID, session: sess, payStatus: pst}), cand
}

// ppPayment writes a payment for enrollments (already PENDING) by payer.
func ppPayment(t testing.TB, e *graphtest.Env, payer *ent.User, m payment.Method, st payment.Status, ens ...*ent.Enrollment) *ent.Payment {
	t.Helper()
	no, err := pay.NewOrderNo(time.Now(), m)
	if err != nil {
		t.Fatal(err)
	}
	amount := 0
	ids := make([]int, len(ens))
	for i, en := range ens {
		amount += en.FeeCents
		ids[i] = en.ID
	}
	cr := e.App.Client.Payment.Create().SetPayerID(payer.ID).SetMethod(m).SetStatus(st).SetAmountCents(amount).
		SetOrderNo(no).AddEnrollmentIDs(ids...)
	if payer.Role == user.RoleCOMPANY {
		cr.SetNillableCompanyID(payer.OrganizationID)
	}
	return cr.SaveX(ppSys)
}

// ppPNG is a small PNG image (a scanned receipt stand-in).
func ppPNG() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for y := 0; y < 48; y++ {
		for x := 0; x < 64; x++ {
			img.Set(x, y, color.RGBA{uint8(4 * x), uint8(5 * y), 200, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// ppProof stores a PAYMENT_PROOF (or other kind) attachment of owner
// through the profile service.
func ppProof(t testing.TB, e *graphtest.Env, ownerID int, kind attachment.Kind) int {
	t.Helper()
	img := ppPNG()
	a, err := e.App.Profiles.Attach(ppSys, ownerID, kind, "回单.png", bytes.NewReader(img), int64(len(img)))
	if err != nil {
		t.Fatalf("attach: %v", err)
	}
	return a.ID
}
