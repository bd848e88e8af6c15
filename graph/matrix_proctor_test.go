package graph_test

// Rows of the authorization matrix for live proctoring
// (graph/proctor.graphqls). The phone page's fields are authenticated by
// their token argument, not by a login: every role, anonymous included, may
// call them with a valid token. Each run gets a fresh candidate and attempt.

import (
	"context"
	"testing"

	"github.com/kaowu/kaowu/internal/viewer"
)

func init() {
	fx := func(t *testing.T, m *matrixEnv) *exFx { return exFixtures(t, m.Env) }
	// attemptOf is an IN_PROGRESS mock attempt of a fresh candidate.
	attemptOf := func(t *testing.T, m *matrixEnv) (attemptID, candID int) {
		u, _ := enrFixtures(t, m.Env).register(t)
		return fx(t, m).mock(t, u.ID).ID, u.ID
	}
	pairing := func(t *testing.T, m *matrixEnv) string {
		id, cand := attemptOf(t, m)
		tok, _, _, err := m.App.Proctor.NewPairing(candCtx(cand), id)
		if err != nil {
			t.Fatalf("new pairing: %v", err)
		}
		return tok
	}
	phone := func(t *testing.T, m *matrixEnv) string {
		tok, _, err := m.App.Proctor.Pair(context.Background(), pairing(t, m))
		if err != nil {
			t.Fatalf("pair: %v", err)
		}
		return tok
	}
	register(map[string]op{
		"uploadSnapshot": {doc: prUpload,
			vars: func(t *testing.T, m *matrixEnv, _, _ string) map[string]any {
				f := fx(t, m)
				return map[string]any{"a": f.mock(t, f.cand).ID, "f": pcFile{"cam.jpg", pcJPEG(t, 32, 24)}}
			}, after: func(t *testing.T, m *matrixEnv, _ string) { fx(t, m).release(t) },
			allowed: only(viewer.Candidate)},
		"pairPhone": {doc: prPair,
			vars: func(t *testing.T, m *matrixEnv, _, _ string) map[string]any {
				return map[string]any{"t": pairing(t, m)}
			},
			allowed: all},
		"phoneHeartbeat": {doc: prBeat,
			vars:    func(t *testing.T, m *matrixEnv, _, _ string) map[string]any { return map[string]any{"t": phone(t, m)} },
			allowed: all},
		"uploadPhoneSnapshot": {doc: prPhoneUp,
			vars: func(t *testing.T, m *matrixEnv, _, _ string) map[string]any {
				return map[string]any{"t": phone(t, m), "f": pcFile{"phone.jpg", pcJPEG(t, 32, 24)}}
			}, allowed: all},
		"endPhone": {doc: prEndPhone,
			vars:    func(t *testing.T, m *matrixEnv, _, _ string) map[string]any { return map[string]any{"t": phone(t, m)} },
			allowed: all},
	})
}
