package proctor_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/attempt"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/db"
	"github.com/kaowu/kaowu/internal/evidence"
	"github.com/kaowu/kaowu/internal/media"
	"github.com/kaowu/kaowu/internal/proctor"
	"github.com/kaowu/kaowu/internal/storage"
)

func TestUpload(t *testing.T) {
	eachBackend(t, func(t *testing.T, d *db.DB, store storage.Store) {
		w := newWorld(t, d, store)
		sessCh := w.subscribe(proctor.SessionTopic(w.sess.ID))
		pt := w.pair(w.candU, w.att)
		next(t, sessCh) // PHONE_CONNECTED
		jpg := picture(t, "jpeg", 320, 240)

		check := func(t *testing.T, snap *proctor.Snapshot, src proctor.Source, rec *ent.EvidenceRecord, kind string, extra map[string]any) {
			t.Helper()
			prefix := fmt.Sprintf("attempts/%d/%s/", w.att.ID, strings.ToLower(string(src)))
			if !strings.HasPrefix(snap.Key, prefix) || !strings.HasSuffix(snap.Key, ".jpg") || !snap.At.Equal(w.clock.Now()) {
				t.Fatalf("snapshot %+v", snap)
			}
			// The stored object is the upload, and its sha256 is the recorded one.
			rc, info, err := w.store.Get(context.Background(), snap.Key)
			if err != nil {
				t.Fatal(err)
			}
			data, err := io.ReadAll(rc)
			_ = rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(data)
			if !bytes.Equal(data, jpg) || hex.EncodeToString(sum[:]) != snap.SHA256 || info.SHA256 != snap.SHA256 ||
				info.ContentType != "image/jpeg" || snap.Size != int64(len(jpg)) {
				t.Fatalf("stored object differs: %+v", info)
			}
			want := map[string]any{"key": snap.Key, "sha256": snap.SHA256, "size": float64(len(jpg))}
			for k, v := range extra {
				want[k] = v
			}
			var got map[string]any
			if err := json.Unmarshal(rec.Payload, &got); err != nil {
				t.Fatal(err)
			}
			if rec.Kind != kind || fmt.Sprint(got) != fmt.Sprint(want) || rec.ActorID != nil {
				t.Fatalf("evidence %s %s, want %v", rec.Kind, rec.Payload, want)
			}
			e := next(t, sessCh)
			p := payload(t, e)
			if e.Type != proctor.EventSnapshot || len(p) != 3 || p["attemptID"] != float64(w.att.ID) ||
				p["source"] != string(src) || p["key"] != snap.Key || len(e.Payload) > 200 {
				t.Fatalf("event %s %s", e.Type, e.Payload)
			}
		}

		t.Run("pc", func(t *testing.T) {
			w.rand.Store(0)
			snap, err := w.svc.Upload(w.as(w.candU), proctor.UploadInput{
				Source: proctor.SourcePC, AttemptID: w.att.ID, Body: bytes.NewReader(jpg), Size: int64(len(jpg))})
			if err != nil {
				t.Fatal(err)
			}
			if snap.NextInSeconds != 20 || w.randN.Load() != 41 {
				t.Fatalf("next in %d (rand n %d)", snap.NextInSeconds, w.randN.Load())
			}
			recs := w.records(w.att.ID)
			check(t, snap, proctor.SourcePC, recs[len(recs)-1], evidence.KindSnapshotPC, nil)
		})

		t.Run("phone in foreground", func(t *testing.T) {
			w.rand.Store(40)
			w.clock.Advance(33 * time.Millisecond) // keys differ by time too
			snap, err := w.svc.Upload(context.Background(), proctor.UploadInput{
				Source: proctor.SourcePhone, PhoneToken: pt, Foreground: true, Body: bytes.NewReader(jpg), Size: -1})
			if err != nil {
				t.Fatal(err)
			}
			if snap.NextInSeconds != 60 {
				t.Fatalf("next in %d", snap.NextInSeconds)
			}
			recs := w.records(w.att.ID)
			check(t, snap, proctor.SourcePhone, recs[len(recs)-1], evidence.KindSnapshotPhone, map[string]any{"foreground": true})
		})

		t.Run("next in stays within 20-60", func(t *testing.T) {
			real := &proctor.Service{}
			for range 500 {
				if n := real.NextSnapshotIn(); n < 20 || n > 60 {
					t.Fatalf("next in %d", n)
				}
			}
		})

		// Every refusal leaves no object, no evidence and no event.
		refused := func(t *testing.T, ctx context.Context, in proctor.UploadInput, code apperr.Code) {
			t.Helper()
			blobs, recs := len(w.store.present(t)), len(w.records(w.att.ID))
			_, err := w.svc.Upload(ctx, in)
			wantCode(t, err, code)
			if len(w.store.present(t)) != blobs || len(w.records(w.att.ID)) != recs {
				t.Fatal("a refused upload left something behind")
			}
		}
		pc := func(body []byte) proctor.UploadInput {
			return proctor.UploadInput{Source: proctor.SourcePC, AttemptID: w.att.ID, Body: bytes.NewReader(body), Size: int64(len(body))}
		}
		t.Run("bad uploads", func(t *testing.T) {
			refused(t, w.as(w.candU), pc(picture(t, "png", 320, 240)), apperr.BadInput)
			refused(t, w.as(w.candU), pc([]byte("GIF89a not a jpeg at all")), apperr.BadInput)
			refused(t, w.as(w.candU), pc(append([]byte{0xFF, 0xD8, 0xFF}, make([]byte, 100)...)), apperr.BadInput)
			refused(t, w.as(w.candU), pc(nil), apperr.BadInput)
			short := pc(jpg)
			short.Size = int64(len(jpg)) + 1
			refused(t, w.as(w.candU), short, apperr.BadInput)
			refused(t, w.as(w.candU), proctor.UploadInput{Source: "TABLET", AttemptID: w.att.ID, Body: bytes.NewReader(jpg)}, apperr.BadInput)
		})
		t.Run("too large", func(t *testing.T) {
			big := picture(t, "jpeg", 640, 480)
			small := *w.svc
			small.Limits = media.Limits{MaxImageBytes: int64(len(big)) - 1}
			for _, size := range []int64{int64(len(big)), -1} {
				blobs := len(w.store.present(t))
				_, err := small.Upload(w.as(w.candU), proctor.UploadInput{
					Source: proctor.SourcePC, AttemptID: w.att.ID, Body: bytes.NewReader(big), Size: size})
				if e := wantCode(t, err, apperr.BadInput); e.Field != media.ErrField {
					t.Fatal(e.Field)
				}
				if len(w.store.present(t)) != blobs {
					t.Fatal("blob left behind")
				}
			}
		})
		t.Run("wrong people", func(t *testing.T) {
			refused(t, w.as(w.otherU), pc(jpg), apperr.Forbidden)
			refused(t, w.as(w.proctorU), pc(jpg), apperr.Forbidden)
			refused(t, context.Background(), pc(jpg), apperr.Unauthenticated)
			refused(t, context.Background(), proctor.UploadInput{Source: proctor.SourcePhone, PhoneToken: "forged", Body: bytes.NewReader(jpg), Size: -1}, apperr.Unauthenticated)
		})
		t.Run("after submission", func(t *testing.T) {
			w.submit(w.att.ID)
			refused(t, w.as(w.candU), pc(jpg), apperr.Conflict)
			refused(t, context.Background(), proctor.UploadInput{Source: proctor.SourcePhone, PhoneToken: pt, Body: bytes.NewReader(jpg), Size: -1}, apperr.Conflict)
		})
		w.nothingBut(sessCh, proctor.SessionTopic(w.sess.ID))
		w.verify(w.att.ID)

		t.Run("snapshot URL", func(t *testing.T) {
			recs := w.records(w.att.ID)
			var key string
			for _, r := range recs {
				if r.Kind == evidence.KindSnapshotPC {
					var p map[string]any
					_ = json.Unmarshal(r.Payload, &p)
					key = p["key"].(string)
				}
			}
			if _, err := w.svc.Assign(w.as(w.siteU), w.proctorU.ID, w.sess.ID); err != nil {
				t.Fatal(err)
			}
			// Who may watch the session gets the snapshot's URL (signed for
			// every watcher alike); others are refused at MayWatch.
			for _, u := range []*ent.User{w.proctorU, w.siteU, w.reviewer, w.admin} {
				if err := w.svc.MayWatch(w.as(u), w.sess.ID); err != nil {
					t.Fatalf("%s: %v", u.Role, err)
				}
			}
			raw, exp, err := w.svc.SignSnapshot(w.att.ID, key)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(raw, "/blobs/"+key+"?") || exp.Sub(w.clock.Now()) > proctor.SnapshotURLTTL {
				t.Fatalf("url %s exp %v", raw, exp)
			}
			q, _ := url.ParseQuery(raw[strings.Index(raw, "?")+1:])
			if err := w.signer.Verify(key, q.Get("exp"), q.Get("sig"), w.clock.Now()); err != nil {
				t.Fatal(err)
			}
			if err := w.signer.Verify(key, q.Get("exp"), q.Get("sig"), exp.Add(1e9)); err == nil {
				t.Fatal("URL outlives its TTL")
			}
			for _, u := range []*ent.User{w.proctor2U, w.foreign, w.site2U, w.candU} {
				wantCode(t, w.svc.MayWatch(w.as(u), w.sess.ID), apperr.Forbidden)
			}
			// Only keys of that attempt are signed.
			_, _, err = w.svc.SignSnapshot(w.otherAtt.ID, key)
			wantCode(t, err, apperr.BadInput)
			_, _, err = w.svc.SignSnapshot(w.att.ID, "../"+key)
			wantCode(t, err, apperr.BadInput)
		})
	})
}

// TestSnapshotsRacingSubmit: snapshots arriving while the attempt is
// submitted are each either recorded (their batch committed before the
// submission) or refused with CONFLICT and their blob removed; none is
// recorded without being acknowledged, none acknowledged without a record.
// On PostgreSQL this is the one-statement batch's share lock at work.
func TestSnapshotsRacingSubmit(t *testing.T) {
	eachDatabase(t, func(t *testing.T, d *db.DB, store storage.Store) {
		w := newWorld(t, d, store)
		jpg := picture(t, "jpeg", 160, 120)
		base := len(w.records(w.att.ID))
		const n = 24
		errs := make(chan error, n)
		first := make(chan struct{})
		var once sync.Once
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { // the submission, once the race is under way
			defer wg.Done()
			<-first
			w.submit(w.att.ID)
		}()
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := w.svc.Upload(w.as(w.candU), proctor.UploadInput{Source: proctor.SourcePC, AttemptID: w.att.ID,
					Body: bytes.NewReader(jpg), Size: int64(len(jpg))})
				once.Do(func() { close(first) })
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		ok := 0
		for err := range errs {
			if err == nil {
				ok++
				continue
			}
			wantCode(t, err, apperr.Conflict)
		}
		t.Logf("%d recorded, %d refused", ok, n-ok)
		if got := len(w.records(w.att.ID)) - base; got != ok {
			t.Fatalf("%d snapshots acknowledged, %d recorded", ok, got)
		}
		if blobs := len(w.store.present(t)); blobs != ok {
			t.Fatalf("%d snapshots acknowledged, %d blobs kept", ok, blobs)
		}
		if w.reload(w.att.ID).Status != attempt.StatusSUBMITTED {
			t.Fatal("attempt not submitted")
		}
		w.verify(w.att.ID)
	})
}
