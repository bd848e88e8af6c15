package graph_test

// API tests of live proctoring (graph/proctor.graphqls): session and attempt
// event feeds over websocket, PC and phone snapshots, the phone page.

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/graph/graphtest"
	"github.com/kaowu/kaowu/internal/testenv"
)

const (
	prSessionSub = `subscription($s:ID!){sessionEvents(sessionID:$s){type at attemptID enrollmentID count reason source snapshotURL snapshotURLExpiresAt text flagged}}`
	prAttemptSub = `subscription($a:ID!){attemptEvents(attemptID:$a){type at attemptID reason text}}`
	prUpload     = `mutation($a:ID!,$f:Upload!){uploadSnapshot(attemptID:$a,file:$f){key at nextInSeconds}}`
	prPair       = `mutation($t:String!){pairPhone(token:$t){phoneToken attemptID}}`
	prBeat       = `mutation($t:String!){phoneHeartbeat(phoneToken:$t)}`
	prPhoneUp    = `mutation($t:String!,$f:Upload!){uploadPhoneSnapshot(phoneToken:$t,file:$f,foreground:true){key at nextInSeconds}}`
	prEndPhone   = `mutation($t:String!){endPhone(phoneToken:$t)}`
)

type prEvent struct {
	Type, At             string
	AttemptID            *string
	EnrollmentID         *string
	Count                *int
	Reason, Source, Text *string
	SnapshotURL          *string
	SnapshotURLExpiresAt *string
	Flagged              *bool
}

type prAck struct {
	Key           string
	At            string
	NextInSeconds int
}

func TestProctorAPI(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		prSuite(t, graphtest.New(t, url))
	})
}

// TestProctorPostgresMinIO: the same flow with blobs in MinIO.
func TestProctorPostgresMinIO(t *testing.T) {
	prSuite(t, graphtest.New(t, testenv.Postgres(t), graphtest.WithMinIO(t)))
}

// prSub opens a websocket as token and subscribes; waitTopic (when set) is
// the bus topic the subscription must reach before events are published.
func prSub(t *testing.T, e *graphtest.Env, token, query string, vars map[string]any, waitTopic string, n int) *graphtest.WS {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	ws, err := graphtest.DialWS(ctx, e.WSURL(), token, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ws.Close)
	if err := ws.Subscribe("1", query, vars); err != nil {
		t.Fatal(err)
	}
	if waitTopic != "" {
		e.WaitSubscribers(waitTopic, n)
	}
	return ws
}

// prNext reads events until one of type typ (others are skipped); fails on
// an error message or a timeout.
func prNext(t *testing.T, ws *graphtest.WS, field, typ string) prEvent {
	t.Helper()
	for {
		m, err := ws.Next(10 * time.Second)
		if err != nil {
			t.Fatalf("waiting for %s: %v", typ, err)
		}
		if m.Type != "next" {
			t.Fatalf("waiting for %s: %s %s", typ, m.Type, m.Payload)
		}
		var p struct {
			Data   map[string]prEvent
			Errors []any
		}
		if err := json.Unmarshal(m.Payload, &p); err != nil || len(p.Errors) > 0 {
			t.Fatalf("event %s: %v", m.Payload, err)
		}
		if ev := p.Data[field]; ev.Type == typ {
			return ev
		}
	}
}

// prRefused expects the subscription to be refused with code.
func prRefused(t *testing.T, ws *graphtest.WS, code string) {
	t.Helper()
	m, err := ws.Next(10 * time.Second)
	if err != nil {
		t.Fatalf("want %s refusal: %v", code, err)
	}
	if m.Type != "error" && !(m.Type == "next" && strings.Contains(string(m.Payload), "errors")) || !strings.Contains(string(m.Payload), code) {
		t.Fatalf("want %s refusal, got %s %s", code, m.Type, m.Payload)
	}
}

func prUploadPC(t *testing.T, e *graphtest.Env, tok string, attemptID int, jpeg []byte) prAck {
	t.Helper()
	var out struct{ UploadSnapshot prAck }
	pcDo(e, tok, prUpload, map[string]any{"a": attemptID, "f": pcFile{"cam.jpg", jpeg}}).Decode(t, &out)
	if out.UploadSnapshot.NextInSeconds < 20 || out.UploadSnapshot.NextInSeconds > 60 {
		t.Errorf("nextInSeconds %d", out.UploadSnapshot.NextInSeconds)
	}
	return out.UploadSnapshot
}

// prCandidate registers a candidate with an IN_PROGRESS mock attempt.
func prCandidate(t *testing.T, e *graphtest.Env) (*ent.Attempt, string) {
	t.Helper()
	u, login := enrFixtures(t, e).register(t)
	tok := e.Login(login, enrPassword)
	return exFixtures(t, e).mock(t, u.ID), tok
}

func prWant(t *testing.T, what string, r *graphtest.Result, code string) {
	t.Helper()
	if r.Code() != code {
		t.Fatalf("%s: want %s, got %+v", what, code, r.Errors)
	}
}

func prSuite(t *testing.T, e *graphtest.Env) {
	e.Seed()
	f := exFixtures(t, e)
	a, candTok := prCandidate(t, e)
	f.assign(t, a) // the demo proctor watches a's session only
	b, otherTok := prCandidate(t, e)
	proctorTok := e.DemoLogin("PROCTOR")
	aTopic := "session:" + itoa(a.SessionID)
	jpeg := pcJPEG(t, 64, 48)

	// Refusals: a session the proctor is not assigned to; a candidate.
	prRefused(t, prSub(t, e, proctorTok, prSessionSub, map[string]any{"s": b.SessionID}, "", 0), "FORBIDDEN")
	prRefused(t, prSub(t, e, candTok, prSessionSub, map[string]any{"s": a.SessionID}, "", 0), "FORBIDDEN")
	prRefused(t, prSub(t, e, "", prSessionSub, map[string]any{"s": a.SessionID}, "", 0), "UNAUTHENTICATED")
	prRefused(t, prSub(t, e, otherTok, prAttemptSub, map[string]any{"a": a.ID}, "", 0), "NOT_FOUND")
	prRefused(t, prSub(t, e, proctorTok, prAttemptSub, map[string]any{"a": a.ID}, "", 0), "FORBIDDEN")

	proc := prSub(t, e, proctorTok, prSessionSub, map[string]any{"s": a.SessionID}, aTopic, 1)
	site := prSub(t, e, e.DemoLogin("EXAM_SITE"), prSessionSub, map[string]any{"s": a.SessionID}, aTopic, 2)
	cand := prSub(t, e, candTok, prAttemptSub, map[string]any{"a": a.ID}, "attempt:"+itoa(a.ID), 1)

	t.Run("snapshot reaches the session's watchers only", func(t *testing.T) {
		// Another session's snapshot first: a's watchers must not see it.
		prUploadPC(t, e, otherTok, b.ID, jpeg)
		ack := prUploadPC(t, e, candTok, a.ID, jpeg)
		for _, ws := range []*graphtest.WS{proc, site} {
			ev := prNext(t, ws, "sessionEvents", "SNAPSHOT")
			if ev.AttemptID == nil || *ev.AttemptID != itoa(a.ID) || ev.Source == nil || *ev.Source != "PC" {
				t.Fatalf("snapshot event %+v (another session's leaked?)", ev)
			}
			if ev.SnapshotURL == nil || ev.SnapshotURLExpiresAt == nil {
				t.Fatalf("no snapshot URL: %+v", ev)
			}
			if strings.Contains(*ev.SnapshotURL, "base64") {
				t.Fatal("image bytes in the event")
			}
			resp, body := pcGet(t, e, "", *ev.SnapshotURL)
			if resp.StatusCode != http.StatusOK || !bytes.Equal(body, jpeg) {
				t.Fatalf("GET snapshot URL: %d, %d bytes", resp.StatusCode, len(body))
			}
		}
		if !strings.HasPrefix(ack.Key, "attempts/"+itoa(a.ID)+"/pc/") {
			t.Errorf("key %q", ack.Key)
		}
	})

	t.Run("upload bad paths", func(t *testing.T) {
		prWant(t, "someone else's attempt", pcDo(e, otherTok, prUpload, map[string]any{"a": a.ID, "f": pcFile{"c.jpg", jpeg}}), "FORBIDDEN")
		prWant(t, "proctor uploads", pcDo(e, proctorTok, prUpload, map[string]any{"a": a.ID, "f": pcFile{"c.jpg", jpeg}}), "FORBIDDEN")
		prWant(t, "anonymous", pcDo(e, "", prUpload, map[string]any{"a": a.ID, "f": pcFile{"c.jpg", jpeg}}), "UNAUTHENTICATED")
		prWant(t, "PNG", pcDo(e, candTok, prUpload, map[string]any{"a": a.ID, "f": pcFile{"c.png", pcNoisyPNG(t, 16, 16)}}), "BAD_USER_INPUT")
		prWant(t, "not an image", pcDo(e, candTok, prUpload, map[string]any{"a": a.ID, "f": pcFile{"c.jpg", []byte("hello")}}), "BAD_USER_INPUT")
	})

	t.Run("warning reaches the candidate", func(t *testing.T) {
		var ok struct{ WarnAttempt bool }
		e.Do(proctorTok, `mutation($a:ID!){warnAttempt(attemptID:$a,text:"请正视摄像头")}`, map[string]any{"a": a.ID}).Decode(t, &ok)
		ev := prNext(t, cand, "attemptEvents", "WARNING")
		if ev.Text == nil || *ev.Text != "请正视摄像头" || *ev.AttemptID != itoa(a.ID) {
			t.Fatalf("warning %+v", ev)
		}
		if ev := prNext(t, proc, "sessionEvents", "WARNING"); ev.Text == nil || *ev.Text != "请正视摄像头" {
			t.Fatalf("proctor's warning %+v", ev)
		}
		e.Do(candTok, exFocus, map[string]any{"id": a.ID}).Decode(t, &struct{}{})
		if ev := prNext(t, proc, "sessionEvents", "FOCUS_LOSS"); ev.Count == nil || *ev.Count != 1 || *ev.Reason != "BLUR" {
			t.Fatalf("focus loss %+v", ev)
		}
	})

	t.Run("phone page", func(t *testing.T) {
		var pairing struct{ NewPhonePairing struct{ Token string } }
		e.Do(candTok, `mutation($a:ID!){newPhonePairing(attemptID:$a){token}}`, map[string]any{"a": a.ID}).Decode(t, &pairing)
		var paired struct {
			PairPhone struct{ PhoneToken, AttemptID string }
		}
		e.Do("", prPair, map[string]any{"t": pairing.NewPhonePairing.Token}).Decode(t, &paired)
		phone := paired.PairPhone.PhoneToken
		if phone == "" || paired.PairPhone.AttemptID != itoa(a.ID) {
			t.Fatalf("paired %+v", paired)
		}
		prWant(t, "second pairing", e.Do("", prPair, map[string]any{"t": pairing.NewPhonePairing.Token}), "UNAUTHENTICATED")
		prWant(t, "bogus pairing", e.Do("", prPair, map[string]any{"t": "nope"}), "UNAUTHENTICATED")
		prNext(t, proc, "sessionEvents", "PHONE_CONNECTED")
		prNext(t, cand, "attemptEvents", "PHONE_CONNECTED")

		var beat struct{ PhoneHeartbeat bool }
		e.Do("", prBeat, map[string]any{"t": phone}).Decode(t, &beat)
		if !beat.PhoneHeartbeat {
			t.Fatal("heartbeat false")
		}
		prWant(t, "bogus heartbeat", e.Do("", prBeat, map[string]any{"t": "nope"}), "UNAUTHENTICATED")

		var up struct{ UploadPhoneSnapshot prAck }
		pcDo(e, "", prPhoneUp, map[string]any{"t": phone, "f": pcFile{"phone.jpg", jpeg}}).Decode(t, &up)
		if !strings.HasPrefix(up.UploadPhoneSnapshot.Key, "attempts/"+itoa(a.ID)+"/phone/") {
			t.Fatalf("phone key %q", up.UploadPhoneSnapshot.Key)
		}
		ev := prNext(t, proc, "sessionEvents", "SNAPSHOT")
		if ev.Source == nil || *ev.Source != "PHONE" || ev.SnapshotURL == nil {
			t.Fatalf("phone snapshot event %+v", ev)
		}
		if resp, body := pcGet(t, e, "", *ev.SnapshotURL); resp.StatusCode != http.StatusOK || !bytes.Equal(body, jpeg) {
			t.Fatalf("GET phone snapshot: %d", resp.StatusCode)
		}

		var end struct{ EndPhone bool }
		e.Do("", prEndPhone, map[string]any{"t": phone}).Decode(t, &end)
		if !end.EndPhone {
			t.Fatal("endPhone false")
		}
		prNext(t, proc, "sessionEvents", "PHONE_ENDED")
		prNext(t, cand, "attemptEvents", "PHONE_ENDED")
		prWant(t, "heartbeat after end", e.Do("", prBeat, map[string]any{"t": phone}), "UNAUTHENTICATED")
		prWant(t, "upload after end", pcDo(e, "", prPhoneUp, map[string]any{"t": phone, "f": pcFile{"p.jpg", jpeg}}), "UNAUTHENTICATED")
	})

	t.Run("submission", func(t *testing.T) {
		e.Do(candTok, exSubmit, map[string]any{"id": a.ID}).Decode(t, &struct{}{})
		if ev := prNext(t, cand, "attemptEvents", "SUBMITTED"); ev.AttemptID == nil || *ev.AttemptID != itoa(a.ID) || *ev.Reason != "CANDIDATE" {
			t.Fatalf("submitted %+v", ev)
		}
		prNext(t, proc, "sessionEvents", "SUBMITTED")
		prWant(t, "upload after submission", pcDo(e, candTok, prUpload, map[string]any{"a": a.ID, "f": pcFile{"c.jpg", jpeg}}), "CONFLICT")
	})
}

// TestProctorReplicas (issue #4): a proctor subscription on one server
// process receives a snapshot uploaded through another, both on the same
// PostgreSQL (LISTEN/NOTIFY) and blob store.
func TestProctorReplicas(t *testing.T) {
	dsn := testenv.Postgres(t)
	store := graphtest.WithMinIO(t)
	srvA := graphtest.New(t, dsn, store)
	srvA.Seed()
	srvB := graphtest.New(t, dsn, store)
	f := exFixtures(t, srvA)
	a, candTok := prCandidate(t, srvA)
	f.assign(t, a)
	proc := prSub(t, srvA, srvA.DemoLogin("PROCTOR"), prSessionSub, map[string]any{"s": a.SessionID}, "session:"+strconv.Itoa(a.SessionID), 1)
	jpeg := pcJPEG(t, 64, 48)
	prUploadPC(t, srvB, candTok, a.ID, jpeg)
	ev := prNext(t, proc, "sessionEvents", "SNAPSHOT")
	if ev.AttemptID == nil || *ev.AttemptID != itoa(a.ID) || ev.SnapshotURL == nil {
		t.Fatalf("snapshot event %+v", ev)
	}
	if resp, body := pcGet(t, srvA, "", *ev.SnapshotURL); resp.StatusCode != http.StatusOK || !bytes.Equal(body, jpeg) {
		t.Fatalf("GET snapshot URL on A: %d, %d bytes", resp.StatusCode, len(body))
	}
}
