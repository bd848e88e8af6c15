package proctor

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/attempt"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/evidence"
	"github.com/kaowu/kaowu/internal/media"
	"github.com/kaowu/kaowu/internal/storage"
	"github.com/kaowu/kaowu/internal/txn"
)

// Source is the device a snapshot comes from.
type Source string

// Sources.
const (
	SourcePC    Source = "PC"
	SourcePhone Source = "PHONE"
)

// UploadInput is one snapshot. PC snapshots are sent by the candidate
// (logged in) for AttemptID; phone snapshots carry PhoneToken instead.
type UploadInput struct {
	Source     Source
	AttemptID  int    // SourcePC
	PhoneToken string // SourcePhone
	// Foreground marks a phone snapshot taken on returning to the
	// foreground (recorded in the evidence).
	Foreground bool
	Body       io.Reader
	Size       int64 // declared size; -1 when unknown
}

// Snapshot is a stored snapshot and when the device should take its next.
type Snapshot struct {
	AttemptID     int
	Source        Source
	Key           string
	SHA256        string
	Size          int64
	At            time.Time
	NextInSeconds int
}

// cleanupTimeout bounds removing the blob of a snapshot that did not commit.
const cleanupTimeout = 30 * time.Second

// maxSnapshotBytes is the largest snapshot accepted.
func (s *Service) maxSnapshotBytes() int64 { return s.Limits.WithDefaults().MaxImageBytes }

// Upload stores a JPEG snapshot under the attempt, appends SNAPSHOT_PC or
// SNAPSHOT_PHONE evidence {key, sha256, size[, foreground]} and publishes
// SNAPSHOT {attemptID, source, key} on the session's topic. Only while the
// attempt is IN_PROGRESS. A refused upload stores and writes nothing.
func (s *Service) Upload(ctx context.Context, in UploadInput) (*Snapshot, error) {
	var a *ent.Attempt
	var err error
	switch in.Source {
	case SourcePC:
		a, err = s.ownAttemptRef(ctx, in.AttemptID)
	case SourcePhone:
		if a, err = s.phoneAttempt(ctx, in.PhoneToken); err == nil && a.Status != attempt.StatusIN_PROGRESS {
			err = errEnded()
		}
	default:
		err = apperr.Input("source", "拍照设备无效")
	}
	if err != nil {
		return nil, err
	}
	limit := s.maxSnapshotBytes()
	if in.Body == nil {
		return nil, apperr.Input(media.ErrField, "照片为空，请重新拍摄")
	}
	l := s.Limits.WithDefaults()
	l.MaxUploadBytes = limit
	f, err := media.InspectSized(in.Body, in.Size, l)
	if err != nil {
		return nil, err
	}
	if f.Kind != media.JPEG {
		return nil, apperr.Input(media.ErrField, "抓拍照片必须是 JPEG 图片")
	}

	now := s.now()
	src := strings.ToLower(string(in.Source))
	key := fmt.Sprintf("attempts/%d/%s/%s-%s.jpg", a.ID, src, now.UTC().Format("20060102T150405.000000Z"), randomHex(6))
	// The blob goes in before the transaction (a slow upload must not hold
	// the attempt's row) and is removed if the transaction does not commit.
	info, err := s.Store.Put(ctx, key, bytes.NewBuffer(f.Data), int64(len(f.Data)), media.JPEG.ContentType())
	if err != nil {
		return nil, fmt.Errorf("proctor: store snapshot: %w", err)
	}
	remove := func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		if err := s.Store.Delete(cctx, key); err != nil {
			s.log().WarnContext(cctx, "snapshot left behind", "key", key, "err", err)
		}
	}
	kind := evidence.KindSnapshotPC
	payload := map[string]any{"key": key, "sha256": info.SHA256, "size": info.Size}
	if in.Source == SourcePhone {
		kind = evidence.KindSnapshotPhone
		payload["foreground"] = in.Foreground
	}
	rec := &snapRecord{attemptID: a.ID, sessionID: a.SessionID, kind: kind, source: in.Source, key: key, at: now, payload: payload}
	if ent.TxFromContext(ctx) != nil {
		// The record joins the caller's transaction (and the blob goes if it
		// rolls back).
		rec.err = s.recordSnapshotJoined(ctx, rec)
		if rec.err == nil {
			txn.AfterRollback(ctx, remove)
		}
	} else {
		s.snapGroup().Do(rec)
	}
	if err := rec.err; err != nil {
		if e, ok := apperr.As(err); ok && e.Code == apperr.Conflict {
			s.refCache().forget(a.ID) // ended: the next upload reads the row again
		}
		remove()
		return nil, err
	}
	return &Snapshot{
		AttemptID: a.ID, Source: in.Source, Key: key, SHA256: info.SHA256, Size: info.Size, At: now,
		NextInSeconds: s.NextSnapshotIn(),
	}, nil
}

// NextSnapshotIn draws the delay before a device's next snapshot, in
// seconds, uniformly in [MinSnapshotGap, MaxSnapshotGap].
func (s *Service) NextSnapshotIn() int {
	return MinSnapshotGap + s.intn(MaxSnapshotGap-MinSnapshotGap+1)
}

// SignSnapshot signs a short-lived URL of a snapshot key published on a
// session topic, for a subscriber already admitted to that session. It
// only checks that the key is a snapshot of that attempt; it makes no
// query, so it costs the same for 5 watchers or 500.
func (s *Service) SignSnapshot(attemptID int, key string) (string, time.Time, error) {
	if storage.ValidKey(key) != nil || !strings.HasPrefix(key, fmt.Sprintf("attempts/%d/", attemptID)) {
		return "", time.Time{}, apperr.Input("key", "照片编号无效")
	}
	now := s.now()
	return s.Signer.URL(s.urlPrefix(), key, SnapshotURLTTL, now), time.Unix(now.Add(SnapshotURLTTL).Unix(), 0), nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
