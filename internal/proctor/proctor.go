// Package proctor is the live side of an online exam (DOMAIN.md steps 12–13):
// pairing the phone companion by QR code, its heartbeat (PHONE_LOST after
// 30 s of silence, PHONE_BACK on return), snapshots from the PC and the
// phone into the blob store, and what proctors do to an attempt (flag, note,
// warn, end). Everything that happens is appended to the attempt's evidence
// chain ("attempt:<id>", internal/evidence) in the same transaction as the
// state it explains, and announced after commit on the session's topic
// (proctor dashboards) and, where the candidate must hear it, on the
// attempt's topic. Events carry blob keys, never bytes: proctors resolve a
// short-lived URL with SnapshotURL.
package proctor

import (
	"context"
	"encoding/json"
	"log/slog"
	mrand "math/rand/v2"
	"strconv"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/attempt"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/events"
	"github.com/kaowu/kaowu/internal/evidence"
	"github.com/kaowu/kaowu/internal/groupcommit"
	"github.com/kaowu/kaowu/internal/media"
	"github.com/kaowu/kaowu/internal/storage"
	"github.com/kaowu/kaowu/internal/txn"
	"github.com/kaowu/kaowu/internal/viewer"
)

// Ender ends an attempt on the system's behalf (implemented by the exam
// service): it submits and grades an IN_PROGRESS attempt with reason.
type Ender interface {
	SubmitSystem(ctx context.Context, attemptID int, reason string) error
}

// Service runs pairing, heartbeats, snapshots and proctor actions.
type Service struct {
	Client *ent.Client
	Store  storage.Store
	Signer *storage.Signer
	Bus    events.Bus
	// Limits bound snapshots: a snapshot may be at most Limits.MaxImageBytes
	// (media.DefaultLimits when zero) and MaxPixels; snapshots are stored as
	// sent (they are evidence), never re-encoded.
	Limits media.Limits
	Now    func() time.Time // server clock; time.Now when nil
	// Rand returns a uniform int in [0, n); math/rand/v2 when nil. It draws
	// the delay before each device's next snapshot.
	Rand func(n int) int
	// BaseURL is the web client's address, e.g. "https://kaowu.example.cn";
	// the QR payload is BaseURL + "/#/phone?t=<token>".
	BaseURL string
	// URLPrefix is where signed blob URLs are served; default "/blobs/".
	URLPrefix string
	Ender     Ender
	Log       *slog.Logger
	// SealKey checks the evidence seals made at submission (exam.Service.SealKey).
	SealKey []byte

	// Dialect is the database's (db.DB.Dialect); on PostgreSQL a batch of
	// snapshot records is one statement (see recordSnapshotsPG).
	Dialect string

	refs  *attemptRefs                    // see refCache
	snaps *groupcommit.Group[*snapRecord] // see snapGroup
	heads *evidence.Heads                 // chain ends of snapshot batches, made with snaps
}

// Timings of the phone companion and snapshots.
const (
	PairTTL        = 2 * time.Minute  // a QR pairing token is good for this long, once
	PhoneTimeout   = 30 * time.Second // silence after which the phone is LOST
	SnapshotURLTTL = 2 * time.Minute  // lifetime of a proctor's snapshot URL
	MinSnapshotGap = 20               // seconds; the next snapshot is due in [Min, Max]
	MaxSnapshotGap = 60
)

// JobPhoneCheck is the job kind that looks for a lost phone.
const JobPhoneCheck = "attempt.phone"

// Event types published by this package.
const (
	EventPhoneConnected = "PHONE_CONNECTED"
	EventPhoneLost      = "PHONE_LOST"
	EventPhoneBack      = "PHONE_BACK"
	EventPhoneEnded     = "PHONE_ENDED"
	EventSnapshot       = "SNAPSHOT"
	EventWarning        = "WARNING"
	EventFlag           = "FLAG"
	EventNote           = "NOTE"
)

// KindPhoneEnded is the evidence kind for a phone page ended before the PC
// submitted (an event in itself, DOMAIN.md step 12).
const KindPhoneEnded = "PHONE_ENDED"

// SessionTopic is the event topic of one exam session (proctor dashboards).
func SessionTopic(sessionID int) string { return "session:" + strconv.Itoa(sessionID) }

// AttemptTopic is the event topic of one attempt (the candidate's own pages).
func AttemptTopic(attemptID int) string { return "attempt:" + strconv.Itoa(attemptID) }

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

func (s *Service) intn(n int) int {
	if s.Rand != nil {
		return s.Rand(n)
	}
	return mrand.IntN(n)
}

func (s *Service) urlPrefix() string {
	if s.URLPrefix != "" {
		return s.URLPrefix
	}
	return "/blobs/"
}

func (s *Service) db(ctx context.Context) *ent.Client { return txn.Client(ctx, s.Client) }

// attempt loads an attempt as the system (callers have been identified;
// what they may do with it is decided by the caller of this helper).
func (s *Service) attempt(ctx context.Context, id int) (*ent.Attempt, error) {
	if id <= 0 {
		return nil, apperr.Input("attemptID", "请指定考试")
	}
	a, err := s.db(ctx).Attempt.Get(viewer.SystemContext(ctx), id)
	if ent.IsNotFound(err) {
		return nil, &apperr.Error{Code: apperr.NotFound, Message: "考试记录不存在", Field: "attemptID"}
	}
	return a, err
}

// errEnded refuses work on a submitted attempt.
func errEnded() error {
	return apperr.New(apperr.Conflict, "本场考试已结束").With("reason", "ATTEMPT_ENDED")
}

// guard proves, inside the transaction, that the attempt is still
// IN_PROGRESS (liveAttempts for one attempt).
func (s *Service) guard(ctx context.Context, id int) error {
	live, err := s.liveAttempts(ctx, []int{id})
	if err != nil {
		return err
	}
	if !live[id] {
		return errEnded()
	}
	return nil
}

// liveAttempts reports which of ids are IN_PROGRESS. On PostgreSQL it
// share-locks their rows until commit, so a submission (an UPDATE of the
// row) is ordered before or after this write; SQLite serialises write
// transactions anyway. A read, not an update: no row version, no audit
// record for every snapshot.
func (s *Service) liveAttempts(ctx context.Context, ids []int) (map[int]bool, error) {
	rows, err := s.db(ctx).Attempt.Query().
		Where(attempt.IDIn(ids...), attempt.StatusEQ(attempt.StatusIN_PROGRESS)).
		Select(attempt.FieldID).Order(attempt.ByID()).
		Modify(func(sel *entsql.Selector) {
			if sel.Dialect() == dialect.Postgres {
				sel.ForShare()
			}
		}).All(viewer.SystemContext(ctx))
	if err != nil {
		return nil, err
	}
	live := make(map[int]bool, len(rows))
	for _, a := range rows {
		live[a.ID] = true
	}
	return live, nil
}

// publish sends one event to each topic after the transaction in ctx
// commits. Best effort: dashboards refetch when they resubscribe.
func (s *Service) publish(ctx context.Context, typ string, at time.Time, payload any, topics ...string) {
	body, err := json.Marshal(payload)
	if err != nil {
		s.log().Error("proctor: event payload", "type", typ, "err", err)
		return
	}
	txn.AfterCommit(ctx, func() {
		if s.Bus == nil {
			return
		}
		evts := make([]events.Event, 0, len(topics))
		for _, t := range topics {
			evts = append(evts, events.Event{Topic: t, Type: typ, Payload: body, At: at})
		}
		if err := s.Bus.Publish(context.Background(), evts...); err != nil {
			s.log().Warn("proctor: event not published", "type", typ, "err", err)
		}
	})
}
