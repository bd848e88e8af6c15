package graph_test

import (
	"testing"
	"time"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/attachment"
	"github.com/kaowu/kaowu/ent/enrollment"
	"github.com/kaowu/kaowu/ent/payment"
	"github.com/kaowu/kaowu/ent/schematype"
	"github.com/kaowu/kaowu/ent/trainingrecord"
)

// Rows of the authorization matrix for payment (graph/payment.graphqls) and
// exam plans (graph/plans.graphqls). Every run gets fresh fixtures, so an
// allowed role succeeds and a denied one is refused for its role alone.
func init() {
	register(map[string]op{
		// ---- payment
		"myInvoiceProfile": {doc: `{myInvoiceProfile{id}}`, allowed: only("COMPANY")},
		"companyInvoiceProfile": {doc: `query($o:ID!){companyInvoiceProfile(organizationID:$o){id}}`,
			vars: func(t *testing.T, m *matrixEnv, _, _ string) map[string]any {
				return map[string]any{"o": ppDemoOrg(t, m.Env, "COMPANY")}
			}, allowed: only("REVIEWER", "ADMIN")},
		"saveInvoiceProfile": {doc: `mutation{saveInvoiceProfile(input:{title:"深圳市安建工程有限公司",taxNumber:"440300123456789",phone:"0755-12345678"}){id}}`,
			allowed: only("COMPANY")},
		"startOnlinePayment": {doc: `mutation($ids:[ID!]!){startOnlinePayment(enrollmentIDs:$ids){payURL payment{id}}}`,
			vars: func(t *testing.T, m *matrixEnv, role, _ string) map[string]any {
				en, _ := ppPayable(t, m.Env, role, enrollment.PaymentStatusUNPAID)
				return map[string]any{"ids": []int{en.ID}}
			}, allowed: only("CANDIDATE", "COMPANY")},
		"resumeOnlinePayment": {doc: `mutation($id:ID!){resumeOnlinePayment(id:$id)}`,
			vars: func(t *testing.T, m *matrixEnv, role, _ string) map[string]any {
				en, payer := ppPayable(t, m.Env, role, enrollment.PaymentStatusPENDING)
				return map[string]any{"id": ppPayment(t, m.Env, payer, payment.MethodONLINE, payment.StatusCREATED, en).ID}
			}, allowed: only("CANDIDATE", "COMPANY")},
		"cancelPayment": {doc: `mutation($id:ID!){cancelPayment(id:$id){id status}}`,
			vars: func(t *testing.T, m *matrixEnv, role, _ string) map[string]any {
				en, payer := ppPayable(t, m.Env, role, enrollment.PaymentStatusPENDING)
				return map[string]any{"id": ppPayment(t, m.Env, payer, payment.MethodONLINE, payment.StatusCREATED, en).ID}
			}, allowed: only("CANDIDATE", "COMPANY")},
		"submitBankTransfer": {doc: `mutation($ids:[ID!]!,$p:ID!){submitBankTransfer(enrollmentIDs:$ids,proofAttachmentID:$p){id status}}`,
			vars: func(t *testing.T, m *matrixEnv, role, _ string) map[string]any {
				en, payer := ppPayable(t, m.Env, role, enrollment.PaymentStatusUNPAID)
				return map[string]any{"ids": []int{en.ID}, "p": ppProof(t, m.Env, payer.ID, attachment.KindPAYMENT_PROOF)}
			}, allowed: only("CANDIDATE", "COMPANY")},
		"confirmPayment": {doc: `mutation($id:ID!){confirmPayment(id:$id){id status}}`,
			vars: func(t *testing.T, m *matrixEnv, _, _ string) map[string]any {
				en, payer := ppPayable(t, m.Env, "CANDIDATE", enrollment.PaymentStatusPENDING)
				return map[string]any{"id": ppPayment(t, m.Env, payer, payment.MethodBANK_TRANSFER, payment.StatusPENDING_CONFIRMATION, en).ID}
			}, allowed: only("REVIEWER", "ADMIN")},
		"rejectPayment": {doc: `mutation($id:ID!){rejectPayment(id:$id,reason:"转账金额不符"){id status}}`,
			vars: func(t *testing.T, m *matrixEnv, _, _ string) map[string]any {
				en, payer := ppPayable(t, m.Env, "CANDIDATE", enrollment.PaymentStatusPENDING)
				return map[string]any{"id": ppPayment(t, m.Env, payer, payment.MethodBANK_TRANSFER, payment.StatusPENDING_CONFIRMATION, en).ID}
			}, allowed: only("REVIEWER", "ADMIN")},
		"recordOnsitePayment": {doc: `mutation($ids:[ID!]!){recordOnsitePayment(enrollmentIDs:$ids){id status}}`,
			vars: func(t *testing.T, m *matrixEnv, _, _ string) map[string]any {
				// seated at the demo site, whose operator is the EXAM_SITE account
				en, _ := ppPayable(t, m.Env, "CANDIDATE", enrollment.PaymentStatusUNPAID)
				return map[string]any{"ids": []int{en.ID}}
			}, allowed: only("EXAM_SITE")},

		// ---- exam plans
		"createExamPlan": {doc: `mutation($r:ID!,$es:Time!,$ee:Time!,$f:Time!,$to:Time!){createExamPlan(input:{name:"矩阵考试计划",regionID:$r,enrollStartsAt:$es,enrollEndsAt:$ee,examFrom:$f,examTo:$to}){id}}`,
			vars: func(t *testing.T, m *matrixEnv, _, _ string) map[string]any {
				return map[string]any{"r": ppRegion(t, m.Env), "es": ppTime(ppDay(0)), "ee": ppTime(ppDay(30)), "f": ppTime(ppDay(31)), "to": ppTime(ppDay(60))}
			}, allowed: only("TRAINING_ORG", "ADMIN")},
		"updateExamPlan": {doc: `mutation($id:ID!){updateExamPlan(id:$id,input:{name:"改名的考试计划"}){id}}`,
			vars: func(t *testing.T, m *matrixEnv, _, _ string) map[string]any {
				return map[string]any{"id": ppTrainerPlan(t, m).ID}
			}, allowed: only("TRAINING_ORG", "ADMIN")},
		"submitExamPlan": {doc: `mutation($id:ID!){submitExamPlan(id:$id){id status}}`,
			vars: func(t *testing.T, m *matrixEnv, _, _ string) map[string]any {
				p := ppTrainerPlan(t, m)
				ppSession(t, m.Env, p, ppSubject(t, m.Env, "A").ID, m.siteID, 20)
				return map[string]any{"id": p.ID}
			}, allowed: only("REVIEWER", "ADMIN")},
		"addExamSession": {doc: `mutation($p:ID!,$s:ID!,$r:ID!,$at:Time!){addExamSession(input:{planID:$p,subjectID:$s,roomID:$r,startsAt:$at,durationMinutes:120,capacity:20}){id}}`,
			vars: func(t *testing.T, m *matrixEnv, _, _ string) map[string]any {
				return map[string]any{"p": ppTrainerPlan(t, m).ID, "s": ppSubject(t, m.Env, "A").ID,
					"r": ppRoom(t, m.Env, m.siteID, 30), "at": ppTime(ppDay(45).Add(9 * time.Hour))}
			}, allowed: only("TRAINING_ORG", "ADMIN")},
		"updateExamSession": {doc: `mutation($id:ID!){updateExamSession(id:$id,input:{durationMinutes:100,capacity:15}){id}}`,
			vars: func(t *testing.T, m *matrixEnv, _, _ string) map[string]any {
				return map[string]any{"id": ppSession(t, m.Env, ppTrainerPlan(t, m), ppSubject(t, m.Env, "A").ID, m.siteID, 20).ID}
			}, allowed: only("TRAINING_ORG", "ADMIN")},
		"autoAssignCandidates": {doc: `mutation($p:ID!,$s:ID!,$x:ID!){autoAssignCandidates(input:{planID:$p,subjectID:$s,sessionIDs:[$x],count:1}){id}}`,
			vars: func(t *testing.T, m *matrixEnv, _, _ string) map[string]any {
				p, sess, _ := ppAssignable(t, m)
				return map[string]any{"p": p.ID, "s": sess.SubjectID, "x": sess.ID}
			}, allowed: only("TRAINING_ORG", "ADMIN")},
		"manualAssignCandidates": {doc: `mutation($p:ID!,$x:ID!,$c:ID!){manualAssignCandidates(input:{planID:$p,sessionID:$x,candidateIDs:[$c]}){id}}`,
			vars: func(t *testing.T, m *matrixEnv, _, _ string) map[string]any {
				p, sess, cand := ppAssignable(t, m)
				return map[string]any{"p": p.ID, "x": sess.ID, "c": cand}
			}, allowed: only("TRAINING_ORG", "ADMIN")},
		"unassignCandidate": {doc: `mutation($id:ID!){unassignCandidate(enrollmentID:$id){id status}}`,
			vars: func(t *testing.T, m *matrixEnv, _, _ string) map[string]any {
				p, sess, cand := ppAssignable(t, m)
				en := ppEnroll(t, m.Env, ppEnrollSpec{candidate: cand, session: sess, trainingOrg: p.TrainingOrgID,
					source: enrollment.SourcePLAN, status: enrollment.StatusPENDING_REVIEW})
				return map[string]any{"id": en.ID}
			}, allowed: only("TRAINING_ORG", "ADMIN")},
	})
}

// ppTrainerPlan is a fresh draft plan of the demo training institution.
func ppTrainerPlan(t *testing.T, m *matrixEnv) *ent.ExamPlan {
	org := ppDemoOrg(t, m.Env, "TRAINING_ORG")
	return ppPlan(t, m.Env, &org)
}

// ppAssignable is a draft plan of the demo institution with a category A
// session and one candidate it trained (APPROVED) and may assign.
func ppAssignable(t *testing.T, m *matrixEnv) (*ent.ExamPlan, *ent.ExamSession, int) {
	org := ppDemoOrg(t, m.Env, "TRAINING_ORG")
	p := ppPlan(t, m.Env, &org)
	sess := ppSession(t, m.Env, p, ppSubject(t, m.Env, "A").ID, m.siteID, 20)
	cand := ppCandidate(t, m.Env, "培训学员")
	ppTrained(t, m.Env, cand.ID, org, schematype.CategoryA, trainingrecord.StatusAPPROVED)
	return p, sess, cand.ID
}
