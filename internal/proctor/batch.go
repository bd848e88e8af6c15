package proctor

import (
	"context"
	"errors"
	"time"

	"github.com/kaowu/kaowu/internal/evidence"
	"github.com/kaowu/kaowu/internal/groupcommit"
	"github.com/kaowu/kaowu/internal/txn"
	"github.com/kaowu/kaowu/internal/viewer"
)

// A snapshot's record is the write every device repeats all through the
// paper (two devices × every candidate, every 20–60 s), so uploads that do
// not run inside a caller's transaction are group-committed: a batch is one
// transaction with one guard query for all its attempts, one query for the
// ends of their evidence chains, one multi-row INSERT and the events after
// commit, instead of five round trips and a commit per snapshot.

// snapRecord is one stored snapshot waiting for its evidence record.
type snapRecord struct {
	attemptID, sessionID int
	kind                 string
	source               Source
	key                  string
	at                   time.Time
	payload              map[string]any
	err                  error // the outcome, set by the batch
}

// snapBatchRetries bounds the reruns of a batch that lost a race for a
// chain's next seq to a single append (a focus loss, a proctor's note).
const snapBatchRetries = 20

// SnapshotBatches returns how many transactions have recorded batched
// snapshots (for the benchmark's uploads per transaction).
func (s *Service) SnapshotBatches() int64 { return s.snapGroup().Batches() }

func (s *Service) snapGroup() *groupcommit.Group[*snapRecord] {
	lazyInit.Lock()
	defer lazyInit.Unlock()
	if s.snaps == nil {
		s.snaps = &groupcommit.Group[*snapRecord]{
			Flush: s.recordSnapshots,
			Failed: func(items []*snapRecord, err error) {
				for _, r := range items {
					r.err = err
				}
			},
		}
	}
	return s.snaps
}

// recordSnapshots writes one batch in a transaction of its own (the
// system's: the records are the server's, not one candidate's).
func (s *Service) recordSnapshots(items []*snapRecord) {
	ctx := viewer.SystemContext(context.Background())
	for try := 0; ; try++ {
		err := txn.WithTx(ctx, s.Client, func(ctx context.Context) error {
			return s.recordSnapshotsTx(ctx, items)
		})
		if errors.Is(err, evidence.ErrRace) && try < snapBatchRetries && evidence.Backoff(ctx, try) == nil {
			continue
		}
		if err != nil {
			for _, r := range items {
				if r.err == nil {
					r.err = err
				}
			}
		}
		return
	}
}

func (s *Service) recordSnapshotsTx(ctx context.Context, items []*snapRecord) error {
	ids := make([]int, 0, len(items))
	for _, r := range items {
		r.err = nil
		ids = append(ids, r.attemptID)
	}
	live, err := s.liveAttempts(ctx, ids)
	if err != nil {
		return err
	}
	entries := make([]evidence.Entry, 0, len(items))
	var ok []*snapRecord
	for _, r := range items {
		if !live[r.attemptID] {
			r.err = errEnded()
			continue
		}
		entries = append(entries, evidence.Entry{Chain: evidence.Chain("attempt", r.attemptID), Kind: r.kind, At: r.at, Payload: r.payload})
		ok = append(ok, r)
	}
	if len(entries) == 0 {
		return nil
	}
	if _, err := evidence.AppendBatch(ctx, s.Client, entries); err != nil {
		return err
	}
	for _, r := range ok {
		s.publishSnapshot(ctx, r)
	}
	return nil
}

// recordSnapshotJoined writes one record inside the caller's transaction:
// Append absorbs a lost race for the seq without spoiling that transaction,
// which a batch insert could not.
func (s *Service) recordSnapshotJoined(ctx context.Context, r *snapRecord) error {
	if err := s.guard(ctx, r.attemptID); err != nil {
		return err
	}
	if _, err := evidence.Append(ctx, s.Client, evidence.Chain("attempt", r.attemptID), r.kind, nil, r.at, r.payload); err != nil {
		return err
	}
	s.publishSnapshot(ctx, r)
	return nil
}

// publishSnapshot announces a recorded snapshot on its session's topic
// after commit.
func (s *Service) publishSnapshot(ctx context.Context, r *snapRecord) {
	s.publish(ctx, EventSnapshot, r.at, map[string]any{"attemptID": r.attemptID, "source": string(r.source), "key": r.key},
		SessionTopic(r.sessionID))
}
