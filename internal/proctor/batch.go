package proctor

import (
	"context"
	"errors"
	"time"

	"entgo.io/ent/dialect"

	"github.com/kaowu/kaowu/internal/evidence"
	"github.com/kaowu/kaowu/internal/groupcommit"
	"github.com/kaowu/kaowu/internal/txn"
	"github.com/kaowu/kaowu/internal/viewer"
)

// A snapshot's record is the write every device repeats all through the
// paper (two devices × every candidate, every 20–60 s), so uploads that do
// not run inside a caller's transaction are group-committed. On PostgreSQL
// a batch is one statement (share-lock the attempts still in progress,
// insert their records, return them: one round trip, one commit); the ends
// of the evidence chains it extends are remembered from the previous batch
// (evidence.Heads) and read only when unknown. Elsewhere a batch is one
// transaction: a guard query for all its attempts, the chain ends, one
// multi-row INSERT. The events follow the commit.

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

// maxHeads bounds the remembered chain ends: two devices of a few thousand
// attempts in progress; beyond that an end is dropped and read again.
const maxHeads = 16384

func (s *Service) snapGroup() *groupcommit.Group[*snapRecord] {
	lazyInit.Lock()
	defer lazyInit.Unlock()
	if s.snaps == nil {
		s.heads = evidence.NewHeads(maxHeads)
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
		var err error
		if s.Dialect == dialect.Postgres {
			err = s.recordSnapshotsPG(ctx, items)
		} else {
			err = txn.WithTx(ctx, s.Client, func(ctx context.Context) error {
				return s.recordSnapshotsTx(ctx, items)
			})
		}
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

// liveGuardPG lets through the batch's attempts still in progress,
// share-locked: a submission waits for their records, and one that
// committed first keeps them out.
const liveGuardPG = `SELECT id FROM attempts WHERE id = ANY($1::bigint[]) AND status = 'IN_PROGRESS' ORDER BY id FOR SHARE`

// recordSnapshotsPG writes a batch with evidence.AppendGuardedPG.
func (s *Service) recordSnapshotsPG(ctx context.Context, items []*snapRecord) error {
	entries, owners := make([]evidence.Entry, len(items)), make([]int, len(items))
	for i, r := range items {
		r.err = nil
		entries[i], owners[i] = r.entry(), r.attemptID
	}
	links, err := evidence.Prepare(ctx, s.Client, s.heads, entries)
	if err != nil {
		return err
	}
	live, err := evidence.AppendGuardedPG(ctx, s.Client, s.heads, liveGuardPG, owners, links)
	if err != nil {
		return err
	}
	s.settle(ctx, items, live)
	return nil
}

// settle answers a written batch: a snapshot of an attempt that was no
// longer in progress is refused, the others are announced after commit.
func (s *Service) settle(ctx context.Context, items []*snapRecord, live map[int]bool) {
	for _, r := range items {
		if !live[r.attemptID] {
			r.err = errEnded()
			continue
		}
		s.publishSnapshot(ctx, r)
	}
}

func (r *snapRecord) entry() evidence.Entry {
	return evidence.Entry{Chain: evidence.Chain("attempt", r.attemptID), Kind: r.kind, At: r.at, Payload: r.payload}
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
	for _, r := range items {
		if live[r.attemptID] {
			entries = append(entries, r.entry())
		}
	}
	if _, err := evidence.AppendBatch(ctx, s.Client, s.heads, entries); err != nil {
		return err
	}
	s.settle(ctx, items, live)
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
