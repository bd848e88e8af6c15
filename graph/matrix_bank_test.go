package graph_test

// Rows of the authorization matrix for the question bank
// (graph/bank.graphqls) and the evidence and proctor-session queries.

import (
	"fmt"
	"testing"

	"github.com/kaowu/kaowu/internal/viewer"
)

func init() {
	fx := func(t *testing.T, m *matrixEnv) *exFx { return exFixtures(t, m.Env) }
	register(map[string]op{
		"importQuestions": {doc: bkImport,
			vars: func(t *testing.T, m *matrixEnv, _, _ string) map[string]any {
				csv := bkCSVHeader + fmt.Sprintf("判断题,矩阵,矩阵测试题%d,,,,,,,,,对,,1\n", m.next())
				// A fresh subject: imports into a shared one would change other rows' papers.
				return map[string]any{"s": fx(t, m).subject(t, false).s.ID, "f": pcFile{"bank.csv", []byte(csv)}}
			}, allowed: only(viewer.Admin)},
		"savePaperTemplate": {doc: bkTemplate,
			vars: func(t *testing.T, m *matrixEnv, _, _ string) map[string]any {
				return map[string]any{"in": map[string]any{"subjectID": fx(t, m).subject(t, false).s.ID, "kind": "MOCK",
					"name": fmt.Sprintf("矩阵试卷%d", m.next()), "durationMinutes": 30,
					"rules": []any{map[string]any{"type": "TRUE_FALSE", "count": 2, "points": 50}}}}
			}, allowed: only(viewer.Admin)},
		"attemptEvidence": {doc: bkEvidence,
			vars: func(t *testing.T, m *matrixEnv, _, _ string) map[string]any {
				f := fx(t, m)
				u, _ := enrFixtures(t, m.Env).register(t)
				a := f.mock(t, u.ID)
				f.assign(t, a)
				return map[string]any{"a": a.ID}
			}, allowed: only(viewer.Admin, viewer.Reviewer, viewer.Proctor, viewer.ExamSite)},
		"myProctorSessions": {doc: bkSessions, vars: fixed(nil), allowed: only(viewer.Proctor)},
		"sessionProctors": {doc: bkProctorsQ,
			vars: func(t *testing.T, m *matrixEnv, _, _ string) map[string]any {
				f := fx(t, m)
				u, _ := enrFixtures(t, m.Env).register(t)
				return map[string]any{"s": f.mock(t, u.ID).SessionID}
			}, allowed: only(viewer.Admin, viewer.ExamSite)},
		"unassignProctor": {doc: bkUnassign,
			vars: func(t *testing.T, m *matrixEnv, _, _ string) map[string]any {
				f := fx(t, m)
				u, _ := enrFixtures(t, m.Env).register(t)
				a := f.mock(t, u.ID)
				f.assign(t, a)
				return map[string]any{"p": f.proctor, "s": a.SessionID}
			}, allowed: only(viewer.Admin, viewer.ExamSite)},
		"sessionSnapshots": {doc: bkSnapshots,
			vars: func(t *testing.T, m *matrixEnv, _, _ string) map[string]any {
				f := fx(t, m)
				u, _ := enrFixtures(t, m.Env).register(t)
				a := f.mock(t, u.ID)
				f.assign(t, a)
				return map[string]any{"s": a.SessionID}
			}, allowed: only(viewer.Admin, viewer.Reviewer, viewer.Proctor, viewer.ExamSite)},
	})
}
