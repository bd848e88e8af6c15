package proctor_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/attempt"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/db"
	"github.com/kaowu/kaowu/internal/evidence"
	"github.com/kaowu/kaowu/internal/jobs"
	"github.com/kaowu/kaowu/internal/proctor"
	"github.com/kaowu/kaowu/internal/storage"
)

func TestPairing(t *testing.T) {
	eachDatabase(t, func(t *testing.T, d *db.DB, store storage.Store) {
		w := newWorld(t, d, store)
		sessCh := w.subscribe(proctor.SessionTopic(w.sess.ID))

		t.Run("refused callers", func(t *testing.T) {
			_, _, _, err := w.svc.NewPairing(w.as(w.otherU), w.att.ID)
			wantCode(t, err, apperr.Forbidden)
			_, _, _, err = w.svc.NewPairing(w.as(w.proctorU), w.att.ID)
			wantCode(t, err, apperr.Forbidden)
			_, _, _, err = w.svc.NewPairing(context.Background(), w.att.ID)
			wantCode(t, err, apperr.Unauthenticated)
			_, _, _, err = w.svc.NewPairing(w.as(w.candU), 0)
			wantCode(t, err, apperr.BadInput)
			_, _, _, err = w.svc.NewPairing(w.as(w.candU), w.otherAtt.ID+1000000)
			wantCode(t, err, apperr.NotFound)
			if a := w.reload(w.att.ID); has(a.PairTokenHash) {
				t.Fatal("a refused pairing stored a token")
			}
		})

		t.Run("single use", func(t *testing.T) {
			tok, exp, qr, err := w.svc.NewPairing(w.as(w.candU), w.att.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !exp.Equal(w.clock.Now().Add(2*time.Minute)) || qr != "https://kaowu.example.cn/#/phone?t="+tok {
				t.Fatalf("expires %v, qr %q", exp, qr)
			}
			if a := w.reload(w.att.ID); !has(a.PairTokenHash) || string(*a.PairTokenHash) == tok {
				t.Fatal("pairing token not stored hashed")
			}
			w.clock.Advance(119 * time.Second)
			pt, a, err := w.svc.Pair(context.Background(), tok)
			if err != nil {
				t.Fatal(err)
			}
			if a.ID != w.att.ID || a.PhoneState != attempt.PhoneStateCONNECTED || has(a.PairTokenHash) ||
				a.PhoneLastSeenAt == nil || !a.PhoneLastSeenAt.Equal(w.clock.Now()) {
				t.Fatalf("paired attempt %+v", a)
			}
			if e := next(t, sessCh); e.Type != proctor.EventPhoneConnected || payload(t, e)["attemptID"] != float64(w.att.ID) {
				t.Fatalf("event %s %s", e.Type, e.Payload)
			}
			id, err := w.svc.AuthenticatePhone(context.Background(), pt)
			if err != nil || id != w.att.ID {
				t.Fatalf("AuthenticatePhone = %d, %v", id, err)
			}
			_, _, err = w.svc.Pair(context.Background(), tok)
			wantCode(t, err, apperr.Unauthenticated)
			// Re-pairing replaces the phone: the old token stops working.
			pt2 := w.pair(w.candU, w.att)
			_, err = w.svc.AuthenticatePhone(context.Background(), pt)
			wantCode(t, err, apperr.Unauthenticated)
			if id, err := w.svc.AuthenticatePhone(context.Background(), pt2); err != nil || id != w.att.ID {
				t.Fatalf("AuthenticatePhone = %d, %v", id, err)
			}
			next(t, sessCh)
		})

		t.Run("expired", func(t *testing.T) {
			tok, _, _, err := w.svc.NewPairing(w.as(w.candU), w.att.ID)
			if err != nil {
				t.Fatal(err)
			}
			before := w.reload(w.att.ID)
			w.clock.Advance(2 * time.Minute)
			_, _, err = w.svc.Pair(context.Background(), tok)
			wantCode(t, err, apperr.Unauthenticated)
			after := w.reload(w.att.ID)
			if after.PhoneState != before.PhoneState || !has(after.PhoneTokenHash) || string(*after.PhoneTokenHash) != string(*before.PhoneTokenHash) {
				t.Fatal("an expired pairing changed the phone")
			}
		})

		t.Run("concurrent exchanges: one wins", func(t *testing.T) {
			tok, _, _, err := w.svc.NewPairing(w.as(w.candU), w.att.ID)
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			var won, lost atomic.Int32
			for range 8 {
				wg.Go(func() {
					_, _, err := w.svc.Pair(context.Background(), tok)
					switch {
					case err == nil:
						won.Add(1)
					case apperr.Is(err, apperr.Unauthenticated):
						lost.Add(1)
					default:
						t.Error(err)
					}
				})
			}
			wg.Wait()
			if won.Load() != 1 || lost.Load() != 7 {
				t.Fatalf("won %d, lost %d", won.Load(), lost.Load())
			}
			next(t, sessCh)
		})

		t.Run("bad tokens", func(t *testing.T) {
			for _, tok := range []string{"", "nope", strings.Repeat("x", 500)} {
				_, _, err := w.svc.Pair(context.Background(), tok)
				wantCode(t, err, apperr.Unauthenticated)
				_, err = w.svc.AuthenticatePhone(context.Background(), tok)
				wantCode(t, err, apperr.Unauthenticated)
			}
		})

		t.Run("after submission", func(t *testing.T) {
			tok, _, _, err := w.svc.NewPairing(w.as(w.otherU), w.otherAtt.ID)
			if err != nil {
				t.Fatal(err)
			}
			w.submit(w.otherAtt.ID)
			_, _, err = w.svc.Pair(context.Background(), tok)
			wantCode(t, err, apperr.Conflict)
			_, _, _, err = w.svc.NewPairing(w.as(w.otherU), w.otherAtt.ID)
			wantCode(t, err, apperr.Conflict)
			if a := w.reload(w.otherAtt.ID); a.PhoneState != attempt.PhoneStateNONE || has(a.PhoneTokenHash) {
				t.Fatalf("submitted attempt paired: %+v", a)
			}
			if n := len(w.records(w.otherAtt.ID)); n != 0 {
				t.Fatalf("%d evidence records", n)
			}
		})

		recs := w.records(w.att.ID)
		if len(recs) != 3 || recs[0].Kind != evidence.KindPhoneBack || recs[2].Kind != evidence.KindPhoneBack {
			t.Fatalf("evidence %v", kinds(recs))
		}
		w.verify(w.att.ID)
	})
}

func kinds(recs []*ent.EvidenceRecord) []string {
	var out []string
	for _, r := range recs {
		out = append(out, r.Kind)
	}
	return out
}

func TestHeartbeat(t *testing.T) {
	eachDatabase(t, func(t *testing.T, d *db.DB, store storage.Store) {
		w := newWorld(t, d, store)
		client := w.client
		ctx := context.Background()
		sessCh := w.subscribe(proctor.SessionTopic(w.sess.ID))
		pt := w.pair(w.candU, w.att)
		if e := next(t, sessCh); e.Type != proctor.EventPhoneConnected {
			t.Fatal(e.Type)
		}
		run := func() int {
			t.Helper()
			n, err := w.runner.RunDue(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}

		w.clock.Advance(20 * time.Second)
		if err := w.svc.Heartbeat(ctx, pt); err != nil {
			t.Fatal(err)
		}
		j, err := jobs.Find(w.sys, client, proctor.JobPhoneCheck, fmt.Sprintf("attempt:%d", w.att.ID))
		if err != nil || !j.RunAt.Equal(w.clock.Now().Add(30*time.Second)) {
			t.Fatalf("job %+v, %v", j, err)
		}
		// 29 s of silence: nothing is due yet.
		w.clock.Advance(29 * time.Second)
		if n := run(); n != 0 {
			t.Fatalf("ran %d", n)
		}
		if a := w.reload(w.att.ID); a.PhoneState != attempt.PhoneStateCONNECTED {
			t.Fatal(a.PhoneState)
		}
		// 30 s: LOST, once.
		w.clock.Advance(time.Second)
		if n := run(); n != 1 {
			t.Fatalf("ran %d", n)
		}
		if a := w.reload(w.att.ID); a.PhoneState != attempt.PhoneStateLOST {
			t.Fatal(a.PhoneState)
		}
		if e := next(t, sessCh); e.Type != proctor.EventPhoneLost || payload(t, e)["attemptID"] != float64(w.att.ID) {
			t.Fatalf("event %s", e.Type)
		}
		if n := run(); n != 0 {
			t.Fatalf("ran %d", n)
		}
		// The handler is idempotent: running it again reports nothing new.
		if err := w.svc.PhoneCheckHandler()(ctx, j); err != nil {
			t.Fatal(err)
		}

		// Back.
		w.clock.Advance(5 * time.Second)
		if err := w.svc.Heartbeat(ctx, pt); err != nil {
			t.Fatal(err)
		}
		if a := w.reload(w.att.ID); a.PhoneState != attempt.PhoneStateCONNECTED || !a.PhoneLastSeenAt.Equal(w.clock.Now()) {
			t.Fatalf("%+v", a)
		}
		if e := next(t, sessCh); e.Type != proctor.EventPhoneBack {
			t.Fatalf("event %s", e.Type)
		}
		// A heartbeat while connected is no event.
		w.clock.Advance(10 * time.Second)
		if err := w.svc.Heartbeat(ctx, pt); err != nil {
			t.Fatal(err)
		}

		// Bad token: refused, nothing changes.
		err = w.svc.Heartbeat(ctx, "forged")
		wantCode(t, err, apperr.Unauthenticated)

		// The phone page ends before the PC submitted: an event in itself.
		if err := w.svc.EndPhone(ctx, pt); err != nil {
			t.Fatal(err)
		}
		if e := next(t, sessCh); e.Type != proctor.EventPhoneEnded {
			t.Fatalf("event %s", e.Type)
		}
		wantCode(t, w.svc.Heartbeat(ctx, pt), apperr.Unauthenticated)
		wantCode(t, w.svc.EndPhone(ctx, pt), apperr.Unauthenticated)
		if a := w.reload(w.att.ID); a.PhoneState != attempt.PhoneStateNONE || has(a.PhoneTokenHash) {
			t.Fatalf("%+v", a)
		}
		w.clock.Advance(time.Minute)
		if n := run(); n != 0 { // the check was cancelled
			t.Fatalf("ran %d", n)
		}
		w.nothingBut(sessCh, proctor.SessionTopic(w.sess.ID))

		got := kinds(w.records(w.att.ID))
		want := []string{evidence.KindPhoneBack, evidence.KindPhoneLost, evidence.KindPhoneBack, proctor.KindPhoneEnded}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("evidence %v, want %v", got, want)
		}
		w.verify(w.att.ID)

		t.Run("submitted attempt", func(t *testing.T) {
			pt := w.pair(w.otherU, w.otherAtt)
			w.submit(w.otherAtt.ID)
			wantCode(t, w.svc.Heartbeat(ctx, pt), apperr.Conflict)
			// No PHONE_LOST for a submitted attempt.
			w.clock.Advance(time.Minute)
			run()
			if a := w.reload(w.otherAtt.ID); a.PhoneState != attempt.PhoneStateCONNECTED {
				t.Fatal(a.PhoneState)
			}
			// Ending the phone after the PC submitted only logs it out.
			if err := w.svc.EndPhone(ctx, pt); err != nil {
				t.Fatal(err)
			}
			if got := kinds(w.records(w.otherAtt.ID)); fmt.Sprint(got) != fmt.Sprint([]string{evidence.KindPhoneBack}) {
				t.Fatalf("evidence %v", got)
			}
		})
	})
}

// has reports whether a nillable bytes field holds a value (ent loads NULL
// as a pointer to a nil slice).
func has(p *[]byte) bool { return p != nil && len(*p) > 0 }
