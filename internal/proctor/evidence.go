package proctor

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	entsql "entgo.io/ent/dialect/sql"
	"github.com/kaowu/kaowu/ent"

	"github.com/kaowu/kaowu/ent/attempt"
	"github.com/kaowu/kaowu/ent/evidencerecord"
	"github.com/kaowu/kaowu/ent/examsession"
	"github.com/kaowu/kaowu/ent/predicate"
	"github.com/kaowu/kaowu/ent/proctorassignment"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/authz"
	"github.com/kaowu/kaowu/internal/evidence"
	"github.com/kaowu/kaowu/internal/viewer"
)

// MaxEvidencePage bounds one page of an attempt's evidence.
const MaxEvidencePage = 500

// EvidenceView is an attempt's evidence as a reviewer or proctor sees it:
// the whole chain verified, and one page of its records with signed URLs
// for the snapshots.
type EvidenceView struct {
	Report *evidence.Report
	Items  []EvidenceItem
}

// EvidenceItem is one record of the chain.
type EvidenceItem struct {
	Seq     int
	Kind    string
	At      time.Time
	ActorID *int
	// Data is the record's payload as stored (JSON).
	Data string
	Hash string
	// SnapshotURL is set for snapshot records whose image is still stored.
	SnapshotURL *string
}

// Evidence verifies an attempt's chain and returns records with
// seq > afterSeq (at most limit) for those who may watch its session:
// ADMIN, REVIEWER, the session's PROCTORs and its EXAM_SITE. Verification
// always covers the whole chain, so a page never looks sound while a link
// elsewhere is broken.
func (s *Service) Evidence(ctx context.Context, attemptID, afterSeq, limit int) (*EvidenceView, error) {
	if limit < 1 || limit > MaxEvidencePage {
		return nil, apperr.Input("limit", "每次最多查看 500 条证据")
	}
	if afterSeq < 0 {
		return nil, apperr.Input("afterSeq", "起始序号无效")
	}
	a, err := s.attempt(ctx, attemptID)
	if err != nil {
		return nil, err
	}
	if err := s.mayWatch(ctx, a.SessionID, a.SiteID); err != nil {
		return nil, err
	}
	sys := viewer.SystemContext(ctx)
	chain := evidence.Chain("attempt", a.ID)
	rep, err := evidence.VerifyAttempt(sys, s.db(ctx), a, s.SealKey)
	if err != nil {
		return nil, err
	}
	recs, err := s.db(ctx).EvidenceRecord.Query().
		Where(evidencerecord.Chain(chain), evidencerecord.SeqGT(afterSeq)).
		Order(evidencerecord.BySeq()).Limit(limit).All(sys)
	if err != nil {
		return nil, err
	}
	now := s.now()
	prefix := fmt.Sprintf("attempts/%d/", a.ID)
	view := &EvidenceView{Report: rep, Items: make([]EvidenceItem, 0, len(recs))}
	for _, r := range recs {
		it := EvidenceItem{Seq: r.Seq, Kind: r.Kind, At: r.At, ActorID: r.ActorID, Data: string(r.Payload), Hash: r.Hash}
		if r.Kind == evidence.KindSnapshotPC || r.Kind == evidence.KindSnapshotPhone {
			var p struct {
				Key string `json:"key"`
			}
			// Only keys under this attempt are signed: a record is evidence,
			// not a capability to read other blobs.
			if json.Unmarshal(r.Payload, &p) == nil && strings.HasPrefix(p.Key, prefix) {
				u := s.Signer.URL(s.urlPrefix(), p.Key, SnapshotURLTTL, now)
				it.SnapshotURL = &u
			}
		}
		view.Items = append(view.Items, it)
	}
	return view, nil
}

// MySessions lists the exam sessions the calling PROCTOR is assigned to,
// latest first.
func (s *Service) MySessions(ctx context.Context) ([]*ent.ExamSession, error) {
	v, err := authz.Require(ctx, "只有监考人员可以查看监考安排", viewer.Proctor)
	if err != nil {
		return nil, err
	}
	sys := viewer.SystemContext(ctx)
	ids, err := s.db(ctx).ProctorAssignment.Query().
		Where(proctorassignment.ProctorID(v.UserID)).
		Select(proctorassignment.FieldSessionID).Ints(sys)
	if err != nil {
		return nil, err
	}
	return s.db(ctx).ExamSession.Query().Where(examsession.IDIn(ids...)).
		Order(examsession.ByStartsAt(entsql.OrderDesc())).All(sys)
}

// OK, Records, Head and FirstBroken expose the chain report to GraphQL.
func (v *EvidenceView) OK() bool                      { return v.Report.OK }
func (v *EvidenceView) Records() int                  { return v.Report.Records }
func (v *EvidenceView) Head() string                  { return v.Report.Head }
func (v *EvidenceView) FirstBroken() *evidence.Broken { return v.Report.FirstBroken }

// LatestSnapshot is the newest snapshot of one device of an attempt.
type LatestSnapshot struct {
	AttemptID    int
	Source       Source
	At           time.Time
	URL          string
	URLExpiresAt time.Time
}

// SessionSnapshots returns, for a dashboard opening on a session, the
// newest PC and phone snapshot of each attempt in progress, so its tiles
// need not wait for the next capture. Two queries whatever the number of
// attempts: the newest seq per (chain, kind), then those records.
func (s *Service) SessionSnapshots(ctx context.Context, sessionID int) ([]LatestSnapshot, error) {
	if err := s.MayWatch(ctx, sessionID); err != nil {
		return nil, err
	}
	sys := viewer.SystemContext(ctx)
	ids, err := s.db(ctx).Attempt.Query().
		Where(attempt.SessionID(sessionID), attempt.StatusEQ(attempt.StatusIN_PROGRESS)).IDs(sys)
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	chains := make([]string, len(ids))
	for i, id := range ids {
		chains[i] = evidence.Chain("attempt", id)
	}
	kinds := []string{evidence.KindSnapshotPC, evidence.KindSnapshotPhone}
	// The newest seq of each (chain, kind).
	type head struct {
		Chain string `json:"chain"`
		Kind  string `json:"kind"`
		Max   int    `json:"max"`
	}
	var heads []head
	// Chunks keep the statements under SQLite's bound-parameter limit.
	const chunk = 300
	for i := 0; i < len(chains); i += chunk {
		part := chains[i:min(i+chunk, len(chains))]
		var rows []head
		if err := s.db(ctx).EvidenceRecord.Query().
			Where(evidencerecord.ChainIn(part...), evidencerecord.KindIn(kinds...)).
			GroupBy(evidencerecord.FieldChain, evidencerecord.FieldKind).
			Aggregate(ent.Max(evidencerecord.FieldSeq)).Scan(sys, &rows); err != nil {
			return nil, err
		}
		heads = append(heads, rows...)
	}
	now := s.now()
	var out []LatestSnapshot
	for i := 0; i < len(heads); i += chunk {
		part := heads[i:min(i+chunk, len(heads))]
		ps := make([]predicate.EvidenceRecord, len(part))
		for j, h := range part {
			ps[j] = evidencerecord.And(evidencerecord.Chain(h.Chain), evidencerecord.Seq(h.Max))
		}
		recs, err := s.db(ctx).EvidenceRecord.Query().Where(evidencerecord.Or(ps...)).All(sys)
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			var attemptID int
			var p struct {
				Key string `json:"key"`
			}
			if _, err := fmt.Sscanf(r.Chain, "attempt:%d", &attemptID); err != nil || json.Unmarshal(r.Payload, &p) != nil {
				continue
			}
			if !strings.HasPrefix(p.Key, fmt.Sprintf("attempts/%d/", attemptID)) {
				continue
			}
			src := SourcePC
			if r.Kind == evidence.KindSnapshotPhone {
				src = SourcePhone
			}
			out = append(out, LatestSnapshot{AttemptID: attemptID, Source: src, At: r.At,
				URL:          s.Signer.URL(s.urlPrefix(), p.Key, SnapshotURLTTL, now),
				URLExpiresAt: time.Unix(now.Add(SnapshotURLTTL).Unix(), 0)})
		}
	}
	slices.SortFunc(out, func(a, b LatestSnapshot) int {
		return cmp.Or(cmp.Compare(a.AttemptID, b.AttemptID), cmp.Compare(a.Source, b.Source))
	})
	return out, nil
}
