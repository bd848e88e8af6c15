package evidence

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"regexp"
	"time"

	entsql "entgo.io/ent/dialect/sql"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/evidencerecord"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/txn"
	"github.com/kaowu/kaowu/internal/viewer"
)

// Kinds of records known today; other packages may add their own
// (upper-case letters, digits and '_', at most 32).
const (
	KindSnapshotPC     = "SNAPSHOT_PC"
	KindSnapshotPhone  = "SNAPSHOT_PHONE"
	KindFocusLoss      = "FOCUS_LOSS"
	KindPhoneLost      = "PHONE_LOST"
	KindPhoneBack      = "PHONE_BACK"
	KindWarning        = "WARNING"
	KindFlag           = "FLAG"
	KindNote           = "NOTE"
	KindEnd            = "END"
	KindSubmit         = "SUBMIT"
	KindReviewDecision = "REVIEW_DECISION"
	KindConsent        = "CONSENT"
)

// MaxPayload is the largest canonical payload, in bytes: payloads are small
// facts (a snapshot's blob key and sha256, a reason), never image bytes.
const MaxPayload = 4096

// maxAttempts bounds the retries of an append that lost the race for its seq.
const maxAttempts = 100

var (
	kindRE  = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,31}$`)
	chainRE = regexp.MustCompile(`^[\x21-\x7e]{1,64}$`) // printable ASCII, no spaces
)

// Chain returns the chain name for an entity, e.g. Chain("attempt", 42) = "attempt:42".
func Chain(kind string, id int) string { return fmt.Sprintf("%s:%d", kind, id) }

// Append adds a record to the end of chain and returns it. It is for
// trusted server code that has already decided the record must be written:
// it checks no caller and writes as the system (appends are system-only).
//
// Concurrency: Append reads the chain's last record and inserts seq+1 with
// INSERT … ON CONFLICT (chain, seq) DO NOTHING. A concurrent writer that
// took the seq first makes the insert a no-op; Append then reads again and
// retries (bounded), so no seq is ever skipped or doubled and there is no
// read-then-write race. Because the conflict is absorbed by ON CONFLICT
// rather than raised, it does not abort a surrounding PostgreSQL
// transaction; on SQLite transactions take the write lock at BEGIN, so
// appends are serialised outright.
//
// Transactions: inside a transaction in ctx (txn.Client / txn.WithTx) the
// record joins it and exists only if that transaction commits — the way to
// record an event atomically with the state change it explains. A joined
// PostgreSQL transaction holds the new (chain, seq) key until it commits, so
// other appenders to the same chain wait for it: keep such transactions
// short. Outside a transaction each try runs in its own short transaction.
func Append(ctx context.Context, client *ent.Client, chain, kind string, actorID *int, at time.Time, payload any) (*ent.EvidenceRecord, error) {
	at, body, err := checkEntry(Entry{Chain: chain, Kind: kind, ActorID: actorID, At: at, Payload: payload})
	if err != nil {
		return nil, err
	}
	sys := viewer.SystemContext(ctx)
	for attempt := 0; attempt < maxAttempts; attempt++ {
		var rec *ent.EvidenceRecord
		err := txn.WithTx(sys, txn.Client(sys, client), func(ctx context.Context) error {
			var err error
			rec, err = appendOnce(ctx, txn.Client(ctx, client), chain, kind, actorID, at, body)
			return err
		})
		if err == nil {
			return rec, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
		// Lost the race for this seq: back off and read the new end.
		if err := Backoff(ctx, attempt); err != nil {
			return nil, err
		}
	}
	return nil, apperr.New(apperr.Conflict, "证据记录写入繁忙，请稍后重试")
}

// Backoff waits before retry number try (from 0) of an append that lost
// the race for a seq: up to try+1 ms (at most 10), jittered so the losers
// do not collide again in lockstep. It returns ctx's error if ctx ends first.
func Backoff(ctx context.Context, try int) error {
	wait := time.Duration(rand.Int64N(int64(time.Millisecond) * int64(min(try+1, 10))))
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(wait):
		return nil
	}
}

// Entry is one record to append.
type Entry struct {
	Chain   string
	Kind    string
	ActorID *int
	At      time.Time
	Payload any
}

// checkEntry validates e and returns its time as stored (PostgreSQL keeps
// microseconds: hash what will be read back) and its canonical payload.
func checkEntry(e Entry) (time.Time, []byte, error) {
	if !chainRE.MatchString(e.Chain) {
		return time.Time{}, nil, apperr.Input("chain", "证据链名称无效")
	}
	if !kindRE.MatchString(e.Kind) {
		return time.Time{}, nil, apperr.Input("kind", "证据记录类型无效")
	}
	if e.ActorID != nil && *e.ActorID <= 0 {
		return time.Time{}, nil, apperr.Input("actorId", "操作人无效")
	}
	if e.At.IsZero() || e.At.UTC().Year() < 2000 || e.At.UTC().Year() > 9999 {
		return time.Time{}, nil, apperr.Input("at", "证据记录时间无效")
	}
	body, err := encodePayload(e.Payload)
	if err != nil {
		ae := apperr.Wrap(err, apperr.BadInput, "证据内容必须是 JSON 对象")
		ae.Field = "payload"
		return time.Time{}, nil, ae
	}
	if len(body) > MaxPayload {
		return time.Time{}, nil, apperr.Input("payload", fmt.Sprintf("证据内容过大（上限 %d 字节）", MaxPayload))
	}
	return e.At.UTC().Truncate(time.Microsecond), body, nil
}

// appendOnce inserts the record after the chain's current end; sql.ErrNoRows
// means another writer took that seq first.
func appendOnce(ctx context.Context, c *ent.Client, chain, kind string, actorID *int, at time.Time, body []byte) (*ent.EvidenceRecord, error) {
	seq, prev := 1, GenesisHash(chain)
	last, err := c.EvidenceRecord.Query().Where(evidencerecord.Chain(chain)).
		Order(evidencerecord.BySeq(entsql.OrderDesc())).First(ctx)
	switch {
	case ent.IsNotFound(err):
	case err != nil:
		return nil, err
	default:
		seq, prev = last.Seq+1, last.Hash
	}
	create := c.EvidenceRecord.Create().SetChain(chain).SetSeq(seq).SetKind(kind).
		SetNillableActorID(actorID).SetAt(at).SetPayload(body).SetPrevHash(prev).
		SetHash(ComputeHash(chain, seq, kind, actorID, at, body, prev))
	// Sets the ON CONFLICT clause on create itself; Save keeps it and
	// returns sql.ErrNoRows when the row was not inserted.
	create.OnConflictColumns(evidencerecord.FieldChain, evidencerecord.FieldSeq).DoNothing()
	return create.Save(ctx)
}

// Reason names how a link is broken.
type Reason string

// Reasons reported by Verify.
const (
	// ReasonGap: the record with this seq is missing (deleted, or seqs altered).
	ReasonGap Reason = "GAP"
	// ReasonSeqOrder: a seq appears twice or out of order.
	ReasonSeqOrder Reason = "SEQ_ORDER"
	// ReasonHashMismatch: the record's content (any field, its seq included)
	// or its stored hash was changed.
	ReasonHashMismatch Reason = "HASH_MISMATCH"
	// ReasonPrevMismatch: prev_hash is not the previous record's hash (a
	// record before it was replaced, or this one moved here).
	ReasonPrevMismatch Reason = "PREV_MISMATCH"
	// ReasonPayloadNotCanonical: the payload bytes are not canonical JSON.
	ReasonPayloadNotCanonical Reason = "PAYLOAD_NOT_CANONICAL"
	// ReasonTruncated: the chain ends before its seal (records cut off the end).
	ReasonTruncated Reason = "TRUNCATED"
	// ReasonSealMismatch: the sealed record's hash is not the one sealed (the
	// tail was rewritten with fresh hashes).
	ReasonSealMismatch Reason = "SEAL_MISMATCH"
	// ReasonSealForged: the seal itself was changed (its MAC does not verify).
	ReasonSealForged Reason = "SEAL_FORGED"
	// ReasonSealMissing: the chain should have been sealed and has no seal.
	ReasonSealMissing Reason = "SEAL_MISSING"
)

var reasonText = map[Reason]string{
	ReasonGap:                 "记录缺失（被删除或序号被改动）",
	ReasonSeqOrder:            "序号重复或顺序错乱",
	ReasonHashMismatch:        "内容与哈希不符（记录被改动）",
	ReasonPrevMismatch:        "与上一条记录的哈希不相连",
	ReasonPayloadNotCanonical: "内容不是规范 JSON",
	ReasonTruncated:           "记录缺失：证据链比交卷时封存的短（末尾记录被删除）",
	ReasonSealMismatch:        "与交卷时封存的哈希不符（记录被整体改写）",
	ReasonSealForged:          "交卷时的封存记录被篡改",
	ReasonSealMissing:         "交卷时的封存记录缺失",
}

// SealMissing marks a report broken because its chain should carry a seal
// and does not (the owner decides: an attempt is sealed when submitted).
func (r *Report) SealMissing() {
	if r.OK {
		r.OK = false
		r.FirstBroken = &Broken{Seq: r.Records, Reason: ReasonSealMissing, Detail: reasonText[ReasonSealMissing]}
	}
}

// Broken is the first broken link of a chain.
type Broken struct {
	Seq    int
	Reason Reason
	Detail string // for people (Chinese)
}

// Report is the result of verifying a chain.
type Report struct {
	Chain   string
	Records int
	OK      bool
	// FirstBroken is nil when OK.
	FirstBroken *Broken
	// Head is the last record's hash (the genesis hash for an empty chain):
	// the anchor to store elsewhere against truncation.
	Head string
}

const verifyPage = 500

// Verify recomputes every hash of chain, checks that each record links to
// the one before and that seqs run 1, 2, 3, … without gaps, and names the
// first broken link. It reads with ctx's viewer (privacy applies: admins,
// reviewers and system code may read evidence). An empty chain is OK with
// zero records; whether a chain should have records is the caller's call.
func Verify(ctx context.Context, client *ent.Client, chain string) (*Report, error) {
	return VerifySealed(ctx, client, chain, nil, nil)
}

// VerifySealed is Verify plus the chain's seal (see Seal), when it has one:
// the chain must reach the sealed seq, the record there must have the
// sealed hash, and the seal's MAC must verify with key. This catches what
// hashes alone cannot: records cut off the end, or a whole tail rewritten
// with fresh hashes by someone who can write the table but does not hold
// the server's key.
func VerifySealed(ctx context.Context, client *ent.Client, chain string, seal *Seal, key []byte) (*Report, error) {
	c := txn.Client(ctx, client)
	rep := &Report{Chain: chain, OK: true}
	prev := GenesisHash(chain)
	expect := 1
	breakAt := func(seq int, r Reason, detail string) {
		if rep.FirstBroken == nil {
			rep.OK = false
			rep.FirstBroken = &Broken{Seq: seq, Reason: r, Detail: detail}
		}
	}
	for offset := 0; ; offset += verifyPage {
		// Ordered by seq, then id: duplicates (possible only if someone
		// dropped the unique index) show up instead of being skipped.
		recs, err := c.EvidenceRecord.Query().Where(evidencerecord.Chain(chain)).
			Order(evidencerecord.BySeq(), evidencerecord.ByID()).
			Offset(offset).Limit(verifyPage).All(ctx)
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			rep.Records++
			switch {
			case r.Seq > expect:
				breakAt(expect, ReasonGap, fmt.Sprintf("第 %d 条%s；其后是第 %d 条", expect, reasonText[ReasonGap], r.Seq))
			case r.Seq < expect:
				breakAt(r.Seq, ReasonSeqOrder, fmt.Sprintf("第 %d 条%s", r.Seq, reasonText[ReasonSeqOrder]))
			case ComputeHash(r.Chain, r.Seq, r.Kind, r.ActorID, r.At, r.Payload, r.PrevHash) != r.Hash:
				breakAt(r.Seq, ReasonHashMismatch, fmt.Sprintf("第 %d 条%s", r.Seq, reasonText[ReasonHashMismatch]))
			case r.PrevHash != prev:
				breakAt(r.Seq, ReasonPrevMismatch, fmt.Sprintf("第 %d 条%s", r.Seq, reasonText[ReasonPrevMismatch]))
			case !isCanonical(r.Payload):
				breakAt(r.Seq, ReasonPayloadNotCanonical, fmt.Sprintf("第 %d 条%s", r.Seq, reasonText[ReasonPayloadNotCanonical]))
			}
			if seal != nil && r.Seq == seal.Seq && r.Hash != seal.Hash {
				breakAt(r.Seq, ReasonSealMismatch, fmt.Sprintf("第 %d 条%s", r.Seq, reasonText[ReasonSealMismatch]))
			}
			// Once broken, keep counting only; the first break is what matters.
			expect, prev = r.Seq+1, r.Hash
		}
		if len(recs) < verifyPage {
			break
		}
	}
	if seal != nil {
		switch {
		case !seal.Valid(key, chain):
			breakAt(seal.Seq, ReasonSealForged, fmt.Sprintf("第 %d 条处%s", seal.Seq, reasonText[ReasonSealForged]))
		case expect <= seal.Seq:
			breakAt(expect, ReasonTruncated, fmt.Sprintf("第 %d 条起%s", expect, reasonText[ReasonTruncated]))
		}
	}
	rep.Head = prev
	return rep, nil
}

func isCanonical(b []byte) bool {
	c, err := Canonical(b)
	return err == nil && string(c) == string(b)
}

// PrintReport prints a verification report for people to w; it is the
// body of `kaowu verify-evidence ATTEMPT`. ok is false when the chain is
// broken or has no records at all (an attempt's chain always starts with
// its consent); err is for failures to write, not for a broken chain.
func PrintReport(rep *Report, w io.Writer) (ok bool, err error) {
	chain := rep.Chain
	p := func(format string, args ...any) {
		if err == nil {
			_, err = fmt.Fprintf(w, format, args...)
		}
	}
	p("证据链 %s：共 %d 条记录\n", chain, rep.Records)
	switch {
	case rep.Records == 0:
		p("结果：没有任何证据记录（链不存在或已被整条删除）\n")
	case rep.OK:
		p("结果：完好，所有哈希与链接均已核对\n末条哈希：%s\n", rep.Head)
	default:
		b := rep.FirstBroken
		p("结果：已被破坏\n第一处断裂：第 %d 条 [%s] %s\n", b.Seq, b.Reason, b.Detail)
	}
	return err == nil && rep.OK && rep.Records > 0, err
}
