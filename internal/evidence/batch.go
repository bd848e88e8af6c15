package evidence

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	entsql "entgo.io/ent/dialect/sql"
	"entgo.io/ent/dialect/sql/sqlgraph"
	"github.com/dgraph-io/ristretto/v2"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/evidencerecord"
	"github.com/kaowu/kaowu/internal/db"
	"github.com/kaowu/kaowu/internal/txn"
	"github.com/kaowu/kaowu/internal/viewer"
)

// Batch appends are the hot path: every device of every candidate sends a
// snapshot every 20–60 s, and each one is a record. A batch links its
// entries in memory after the ends of their chains and writes them with
// one multi-row INSERT; the (chain, seq) key, not a lock, keeps two writers
// from both taking a seq, and the loser retries with fresh ends.

// ErrRace is a batch append's answer when another writer appended to one
// of its chains after the ends were read (or a remembered end was stale):
// nothing of the batch was written, the chains' remembered ends are
// forgotten, and the transaction it ran in is spoiled (on PostgreSQL the
// unique violation aborted it). Run it again.
var ErrRace = errors.New("evidence: a chain moved during a batch append")

// Head is the end of a chain: its last seq and that record's hash (0 and
// GenesisHash for an empty chain).
type Head struct {
	Seq  int
	Hash string
}

// Heads remembers the ends of chains this process appended to, so the next
// batch on a chain need not read its end. An end may be stale (a single
// Append or another replica appended since) or dropped; neither can
// misplace a record, because only ends of committed records are stored and
// a stale one makes the insert collide on (chain, seq): the batch fails
// with ErrRace, forgets its chains and its retry reads them. A nil *Heads
// remembers nothing.
type Heads struct {
	c *ristretto.Cache[string, Head]
}

// NewHeads returns a cache of at most max chain ends (a busy server has two
// devices' snapshots of a few thousand attempts in flight).
func NewHeads(max int64) *Heads {
	c, err := ristretto.NewCache(&ristretto.Config[string, Head]{
		NumCounters: max * 10, MaxCost: max, BufferItems: 64,
		IgnoreInternalCost: true, // cost 1 per chain: max counts chains
	})
	if err != nil {
		return nil // an optimisation: run without it
	}
	return &Heads{c: c}
}

// Close releases the cache's goroutines.
func (h *Heads) Close() {
	if h != nil {
		h.c.Close()
	}
}

// Wait blocks until the ends remembered so far can be read back (a newly
// remembered chain lands asynchronously; tests wait for it).
func (h *Heads) Wait() {
	if h != nil {
		h.c.Wait()
	}
}

func (h *Heads) get(chain string) (Head, bool) {
	if h == nil {
		return Head{}, false
	}
	return h.c.Get(chain)
}

// Advance remembers the ends the committed links leave their chains at.
// Call it only once the links are durably written.
func (h *Heads) Advance(links []Link) {
	if h == nil {
		return
	}
	// One Set per chain, its last link's: a second Set of a key not yet
	// stored would be dropped by ristretto, leaving the first (stale) end.
	last := make(map[string]Head, len(links))
	for _, l := range links {
		last[l.Chain] = Head{l.Seq, l.Hash}
	}
	for ch, end := range last {
		h.c.Set(ch, end, 1)
	}
}

// Forget drops the remembered ends of chains (after a lost race, or when
// it is unknown whether a write committed).
func (h *Heads) Forget(chains []string) {
	if h == nil {
		return
	}
	for _, ch := range chains {
		h.c.Del(ch)
	}
}

// Link is an entry placed on its chain: its seq, the hash of the record
// before it and its own hash, with the time and payload as stored.
type Link struct {
	Chain    string
	Seq      int
	Kind     string
	ActorID  *int
	At       time.Time
	Payload  []byte
	PrevHash string
	Hash     string
}

// Chains lists the distinct chains of links, in order of first appearance.
func Chains(links []Link) []string {
	var out []string
	for _, l := range links {
		if !slices.Contains(out, l.Chain) {
			out = append(out, l.Chain)
		}
	}
	return out
}

// Prepare validates entries and links them (several may share a chain;
// each chain's are linked in the order given) after the ends of their
// chains: remembered ones from heads, the rest read with one query (in the
// transaction in ctx if there is one). It writes nothing.
func Prepare(ctx context.Context, client *ent.Client, heads *Heads, entries []Entry) ([]Link, error) {
	links := make([]Link, len(entries))
	var missing []string
	ends := map[string]Head{}
	for i, e := range entries {
		at, body, err := checkEntry(e)
		if err != nil {
			return nil, err
		}
		links[i] = Link{Chain: e.Chain, Kind: e.Kind, ActorID: e.ActorID, At: at, Payload: body}
		if _, seen := ends[e.Chain]; seen || slices.Contains(missing, e.Chain) {
			continue
		}
		if h, ok := heads.get(e.Chain); ok {
			ends[e.Chain] = h
		} else {
			missing = append(missing, e.Chain)
		}
	}
	if len(missing) > 0 {
		for _, ch := range missing {
			ends[ch] = Head{0, GenesisHash(ch)}
		}
		sys := viewer.SystemContext(ctx)
		// The last record of each chain, found by one backward step down the
		// (chain, seq) index per chain: id IN ((SELECT id … WHERE chain = ?
		// ORDER BY seq DESC LIMIT 1), …). It costs the same at the 500th
		// record of a chain as at the first; an anti-join on "no later seq"
		// reads the whole chain and grew with every snapshot of a long exam.
		rows, err := txn.Client(sys, client).EvidenceRecord.Query().
			Where(func(s *entsql.Selector) { s.Where(lastOfChains(s.C(evidencerecord.FieldID), missing)) }).
			Select(evidencerecord.FieldChain, evidencerecord.FieldSeq, evidencerecord.FieldHash).All(sys)
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			ends[r.Chain] = Head{r.Seq, r.Hash}
		}
	}
	for i := range links {
		l := &links[i]
		h := ends[l.Chain]
		l.Seq, l.PrevHash = h.Seq+1, h.Hash
		l.Hash = ComputeHash(l.Chain, l.Seq, l.Kind, l.ActorID, l.At, l.Payload, l.PrevHash)
		ends[l.Chain] = Head{l.Seq, l.Hash}
	}
	return links, nil
}

// lastOfChains is "id IN ((SELECT id … WHERE chain = c1 ORDER BY seq DESC
// LIMIT 1), …)": each scalar subquery is one backward index step.
func lastOfChains(idCol string, chains []string) *entsql.Predicate {
	return entsql.P(func(b *entsql.Builder) {
		b.Ident(idCol).WriteString(" IN (")
		for i, ch := range chains {
			if i > 0 {
				b.Comma()
			}
			b.Nested(func(b *entsql.Builder) {
				b.Join(entsql.Select(evidencerecord.FieldID).From(entsql.Table(evidencerecord.Table)).
					Where(entsql.EQ(evidencerecord.FieldChain, ch)).
					OrderBy(entsql.Desc(evidencerecord.FieldSeq)).Limit(1))
			})
		}
		b.WriteByte(')')
	})
}

// AppendBatch appends entries inside the transaction in ctx, which it
// requires: Prepare links them and one multi-row INSERT writes them all;
// heads (may be nil) learns the new ends when the transaction commits. A
// concurrent append to one of the chains makes it fail with ErrRace, never
// skip or double a seq. The records are returned in the order of entries.
// This is the portable path; on PostgreSQL, AppendGuardedPG does the same
// in one statement with no transaction.
func AppendBatch(ctx context.Context, client *ent.Client, heads *Heads, entries []Entry) ([]*ent.EvidenceRecord, error) {
	if ent.TxFromContext(ctx) == nil {
		return nil, errors.New("evidence: AppendBatch needs a transaction")
	}
	if len(entries) == 0 {
		return nil, nil
	}
	links, err := Prepare(ctx, client, heads, entries)
	if err != nil {
		return nil, err
	}
	sys := viewer.SystemContext(ctx)
	c := txn.Client(sys, client)
	creates := make([]*ent.EvidenceRecordCreate, len(links))
	for i, l := range links {
		creates[i] = c.EvidenceRecord.Create().SetChain(l.Chain).SetSeq(l.Seq).SetKind(l.Kind).
			SetNillableActorID(l.ActorID).SetAt(l.At).SetPayload(l.Payload).SetPrevHash(l.PrevHash).SetHash(l.Hash)
	}
	recs, err := c.EvidenceRecord.CreateBulk(creates...).Save(sys)
	if ent.IsConstraintError(err) {
		heads.Forget(Chains(links))
		return nil, ErrRace
	}
	if err != nil {
		return nil, err
	}
	txn.AfterCommit(ctx, func() { heads.Advance(links) })
	return recs, nil
}

// AppendGuardedPG appends links on PostgreSQL in one statement, so in one
// round trip and one commit, and only for the owners guard lets through:
//
//	WITH live AS (<guard>), ins AS (INSERT … WHERE owner IN live) SELECT id FROM live
//
// guard is a query over $1 (bigint[], the distinct owners) returning the
// ids whose links may be written, typically with FOR SHARE so that a state
// change waits for this commit; owners[i] owns links[i], and all links of a
// chain must share an owner (a chain is written whole or not at all). It
// returns the owners guard let through, whose links are written and whose
// chains' ends heads now remembers. A lost race for a seq is ErrRace, with
// nothing written.
func AppendGuardedPG(ctx context.Context, q db.Querier, heads *Heads, guard string, owners []int, links []Link) (map[int]bool, error) {
	n := len(links)
	if len(owners) != n {
		return nil, fmt.Errorf("evidence: %d owners for %d links", len(owners), n)
	}
	owner := make(map[string]int, n)
	var ids []int64 // the distinct owners
	for i, l := range links {
		o, ok := owner[l.Chain]
		if ok && o != owners[i] {
			return nil, fmt.Errorf("evidence: chain %s has two owners", l.Chain)
		}
		if !ok && !slices.Contains(ids, int64(owners[i])) {
			ids = append(ids, int64(owners[i]))
		}
		owner[l.Chain] = owners[i]
	}
	own, chains, seqs, actors := make([]int64, n), make([]string, n), make([]int64, n), make([]*int64, n)
	kinds, prevs, hashes := make([]string, n), make([]string, n), make([]string, n)
	ats, payloads := make([]time.Time, n), make([][]byte, n)
	for i, l := range links {
		own[i], chains[i], seqs[i], kinds[i] = int64(owners[i]), l.Chain, int64(l.Seq), l.Kind
		if l.ActorID != nil {
			a := int64(*l.ActorID)
			actors[i] = &a
		}
		ats[i], payloads[i], prevs[i], hashes[i] = l.At, l.Payload, l.PrevHash, l.Hash
	}
	live, err := db.IDSet(ctx, q, `WITH live AS (`+guard+`), ins AS (
	INSERT INTO evidence_records (chain, seq, kind, actor_id, at, payload, prev_hash, hash)
	SELECT v.chain, v.seq, v.kind, v.actor_id, v.at, v.payload, v.prev_hash, v.hash
	FROM unnest($2::bigint[], $3::text[], $4::bigint[], $5::text[], $6::bigint[], $7::timestamptz[], $8::bytea[], $9::text[], $10::text[])
		AS v(owner, chain, seq, kind, actor_id, at, payload, prev_hash, hash)
	WHERE v.owner IN (SELECT id FROM live)
	RETURNING 1
)
SELECT id FROM live`, ids, own, chains, seqs, kinds, actors, ats, payloads, prevs, hashes)
	if err == nil {
		var written []Link
		for i, l := range links {
			if live[owners[i]] {
				written = append(written, l)
			}
		}
		heads.Advance(written)
		return live, nil
	}
	heads.Forget(Chains(links))
	if sqlgraph.IsUniqueConstraintError(err) {
		return nil, ErrRace
	}
	return nil, err
}
