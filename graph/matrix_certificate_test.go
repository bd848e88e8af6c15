package graph_test

// Rows of the authorization matrix for certificates
// (graph/certificate.graphqls). Certificates acted on by the CANDIDATE row
// belong to the demo candidate (the matrix's CANDIDATE login); each run
// gets a fresh one, so one run's request does not block the next.

import (
	"context"
	"testing"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/user"
	"github.com/kaowu/kaowu/internal/certificate"
	"github.com/kaowu/kaowu/internal/demo"
	"github.com/kaowu/kaowu/internal/viewer"
)

func init() {
	fx := func(t *testing.T, m *matrixEnv) *exFx { return exFixtures(t, m.Env) }
	cert := func(t *testing.T, m *matrixEnv) *ent.Certificate {
		f := fx(t, m)
		c := f.issued(t, f.cand)
		f.release(t)
		return c
	}
	holderCtx := func(m *matrixEnv) context.Context {
		id := m.App.Client.User.Query().Where(user.Login(demo.CandidateID)).OnlyIDX(enrSys())
		return viewer.NewContext(context.Background(), &viewer.Viewer{UserID: id, Role: viewer.Candidate})
	}
	pendingReq := func(t *testing.T, m *matrixEnv) *ent.CertificateRequest {
		c := cert(t, m)
		r, err := m.App.Certificates.RequestCancellation(holderCtx(m), c.ID, "本人自愿申请注销该证书")
		if err != nil {
			t.Fatalf("request: %v", err)
		}
		return r
	}
	id := func(n int) map[string]any { return map[string]any{"c": n} }
	cand, site, admin := only(viewer.Candidate), only(viewer.ExamSite), only(viewer.Admin)
	register(map[string]op{
		"myCertificates":             {doc: ctMine, vars: fixed(nil), allowed: cand},
		"pendingCertificates":        {doc: ctPending, vars: fixed(nil), allowed: admin},
		"pendingCertificateRequests": {doc: ctRequests, vars: fixed(nil), allowed: only(viewer.ExamSite, viewer.Admin)},
		"lookupCertificates":         {doc: ctLookup, vars: fixed(map[string]any{"n": "张三", "i": demo.CandidateID}), allowed: all},
		"lookupCertificate":          {doc: ctNumber, vars: fixed(map[string]any{"n": "KW-X-2026-000001"}), allowed: all},
		"verifyCertificate":          {doc: ctVerify, vars: fixed(map[string]any{"c": "https://kaowu.example/verify/abc"}), allowed: all},
		"certificateNameMatches": {doc: ctName, vars: func(t *testing.T, m *matrixEnv, _, _ string) map[string]any {
			c := cert(t, m)
			code, err := m.App.Certificates.Link(c)
			if err != nil {
				t.Fatal(err)
			}
			return map[string]any{"c": code, "n": "张三"}
		}, allowed: all},
		"certificates": {doc: `query{certificates(first:5){edges{node{id number holderIDMasked}}}}`, vars: fixed(nil),
			allowed: only(viewer.Candidate, viewer.ExamSite, viewer.Admin)},
		"certificateRequests": {doc: `query{certificateRequests(first:5){edges{node{id kind status}}}}`, vars: fixed(nil),
			allowed: only(viewer.Candidate, viewer.ExamSite, viewer.Admin)},
		"issueCertificates": {doc: ctIssue, vars: func(t *testing.T, m *matrixEnv, _, _ string) map[string]any {
			f := fx(t, m)
			a := f.passed(t, f.cand)
			f.release(t)
			return map[string]any{"ids": []any{a.ID}}
		}, allowed: admin},
		"recordCertificateFee": {doc: ctFee, vars: func(t *testing.T, m *matrixEnv, _, _ string) map[string]any {
			return id(cert(t, m).ID)
		}, allowed: site},
		"recordCertificateCollection": {doc: ctCollect, vars: func(t *testing.T, m *matrixEnv, _, _ string) map[string]any {
			c := cert(t, m)
			site := m.App.Client.User.Query().Where(user.Login("site")).OnlyX(enrSys())
			ctx := viewer.NewContext(context.Background(), &viewer.Viewer{UserID: site.ID, Role: viewer.ExamSite, OrgID: *site.OrganizationID})
			if _, err := m.App.Certificates.RecordFee(ctx, c.ID, certificate.FeeInput{AmountCents: 1000, Method: "CASH"}); err != nil {
				t.Fatalf("fee: %v", err)
			}
			return id(c.ID)
		}, allowed: site},
		"requestCertificateChange": {doc: ctChange, vars: func(t *testing.T, m *matrixEnv, _, _ string) map[string]any {
			f := fx(t, m)
			return map[string]any{"c": cert(t, m).ID, "a": []any{f.proof(t, f.cand)}}
		}, allowed: cand},
		"requestCertificateRenewal": {doc: ctRenew, vars: func(t *testing.T, m *matrixEnv, _, _ string) map[string]any {
			c := cert(t, m)
			fx(t, m).renewable(t, c)
			return id(c.ID)
		}, allowed: cand},
		"requestCertificateCancellation": {doc: ctCancel, vars: func(t *testing.T, m *matrixEnv, _, _ string) map[string]any {
			return id(cert(t, m).ID)
		}, allowed: cand},
		"withdrawCertificateRequest": {doc: ctWithdraw, vars: func(t *testing.T, m *matrixEnv, _, _ string) map[string]any {
			return map[string]any{"id": pendingReq(t, m).ID}
		}, allowed: cand},
		"reviewCertificateRequest": {doc: ctReview, vars: func(t *testing.T, m *matrixEnv, _, _ string) map[string]any {
			return map[string]any{"id": pendingReq(t, m).ID, "ok": true}
		}, allowed: site},
	})
}
