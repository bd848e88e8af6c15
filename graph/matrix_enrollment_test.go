package graph_test

import (
	"testing"
	"time"

	"github.com/kaowu/kaowu/ent/enrollment"
	"github.com/kaowu/kaowu/internal/viewer"
)

// Rows of the authorization matrix for profiles, training, plans and
// enrollment (issue #3). Lists are readable by whoever the privacy filters
// admit; what each role sees is tested in the domain suites.
func init() {
	register(map[string]op{
		"regions":         {doc: `{regions(first:5){totalCount}}`, allowed: all},
		"examPlans":       {doc: `{examPlans(first:5){totalCount}}`, allowed: all},
		"examSessions":    {doc: `{examSessions(first:5){totalCount}}`, allowed: all},
		"profiles":        {doc: `{profiles(first:5){totalCount}}`, allowed: loggedIn},
		"trainingRecords": {doc: `{trainingRecords(first:5){totalCount}}`, allowed: only("ADMIN", "REVIEWER", "TRAINING_ORG", "CANDIDATE")},
		"enrollments":     {doc: `{enrollments(first:5){totalCount}}`, allowed: only("ADMIN", "REVIEWER", "COMPANY", "EXAM_SITE", "PROCTOR", "TRAINING_ORG", "CANDIDATE")},
		"payments":        {doc: `{payments(first:5){totalCount}}`, allowed: loggedIn},
	})
}

// Rows for enrollment, review and seats (graph/enrollment.graphqls). Every
// run gets fresh fixtures in a plan of its own (enrollment_helpers_test.go);
// the demo candidate's live enrollments are cancelled after each run so
// later rows find it as seeded.
func init() {
	fx := func(t *testing.T, m *matrixEnv) *enrFx { return enrFixtures(t, m.Env) }
	release := func(t *testing.T, m *matrixEnv, _ string) { fx(t, m).releaseDemo(t) }
	ownOrStaff := only(viewer.Candidate, viewer.Company)
	register(map[string]op{
		"searchExamSessions": {doc: `query($f:Time!,$t:Time!){searchExamSessions(input:{from:$f,to:$t}){id remainingSeats}}`,
			vars: func(*testing.T, *matrixEnv, string, string) map[string]any {
				d := enrDay0()
				return map[string]any{"f": d.Format(time.RFC3339), "t": d.AddDate(0, 0, 60).Format(time.RFC3339)}
			}, allowed: all},
		"myEnrollments": {doc: `{myEnrollments{id status reviewDepartment{name} session{id}}}`, allowed: ownOrStaff},
		"enroll": {doc: `mutation($s:ID!){enroll(input:{sessionID:$s,pledgeAccepted:true}){id status}}`,
			vars: func(t *testing.T, m *matrixEnv, _, _ string) map[string]any {
				return map[string]any{"s": fx(t, m).openSession(t, "C2", 5).ID}
			}, after: release, allowed: only(viewer.Candidate)},
		"enrollStaff": {doc: `mutation($s:ID!,$c:[ID!]!){enrollStaff(input:{sessionID:$s,candidateIDs:$c,pledgeAccepted:true}){id status}}`,
			vars: func(t *testing.T, m *matrixEnv, _, _ string) map[string]any {
				f := fx(t, m)
				staff, _ := f.candidate(t, true)
				return map[string]any{"s": f.openSession(t, "C2", 5).ID, "c": []int{staff.ID}}
			}, allowed: only(viewer.Company)},
		"reviewEnrollment": {doc: `mutation($id:ID!){reviewEnrollment(id:$id,approve:false,reason:"学习证明不清晰"){id status}}`,
			vars: func(t *testing.T, m *matrixEnv, _, _ string) map[string]any {
				f := fx(t, m)
				en := f.enrollment(t, enrSpec{candidate: f.cand, sess: f.openSession(t, "C2", 5), status: enrollment.StatusPENDING_REVIEW})
				return map[string]any{"id": en.ID}
			}, after: release, allowed: only(viewer.Reviewer, viewer.Admin)},
		"resubmitEnrollment": {doc: `mutation($id:ID!,$s:ID!){resubmitEnrollment(id:$id,input:{sessionID:$s,pledgeAccepted:true}){id status}}`,
			vars: func(t *testing.T, m *matrixEnv, _, _ string) map[string]any {
				f := fx(t, m)
				s := f.openSession(t, "C2", 5)
				en := f.enrollment(t, enrSpec{candidate: f.cand, sess: s, status: enrollment.StatusREJECTED, byCompany: true})
				return map[string]any{"id": en.ID, "s": s.ID}
			}, after: release, allowed: ownOrStaff},
		"cancelEnrollment": {doc: `mutation($id:ID!){cancelEnrollment(id:$id){id status}}`,
			vars: func(t *testing.T, m *matrixEnv, _, _ string) map[string]any {
				f := fx(t, m)
				en := f.enrollment(t, enrSpec{candidate: f.cand, sess: f.openSession(t, "C2", 5), status: enrollment.StatusPENDING_REVIEW, byCompany: true})
				return map[string]any{"id": en.ID}
			}, after: release, allowed: ownOrStaff},
		"moveSeat": {doc: `mutation($id:ID!,$to:ID!){moveSeat(id:$id,toSessionID:$to){id session{id}}}`,
			vars: func(t *testing.T, m *matrixEnv, _, _ string) map[string]any {
				f := fx(t, m)
				p := f.plan(t)
				from, to := f.session(t, p.ID, "C2", 5), f.session(t, p.ID, "C2", 5)
				en := f.enrollment(t, enrSpec{candidate: f.cand, sess: from, status: enrollment.StatusAPPROVED, paid: true, byCompany: true})
				return map[string]any{"id": en.ID, "to": to.ID}
			}, after: release, allowed: ownOrStaff},
	})
}
