package exam

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/attempt"
	"github.com/kaowu/kaowu/ent/attemptanswer"
	"github.com/kaowu/kaowu/ent/question"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/authz"
	"github.com/kaowu/kaowu/internal/db"
	"github.com/kaowu/kaowu/internal/exam/bank"
	"github.com/kaowu/kaowu/internal/groupcommit"
	"github.com/kaowu/kaowu/internal/txn"
	"github.com/kaowu/kaowu/internal/viewer"
)

// SaveInput is one answer save. Seq is the client's sequence number for
// the attempt (increasing with every save it sends).
type SaveInput struct {
	AttemptID  int
	QuestionID int
	Response   bank.Response
	Seq        int64
}

// SaveAnswer saves one answer and returns once it is committed. A replayed
// or older seq changes nothing (and still succeeds: the client's state is
// already at least as new). Refused: other people's attempts, submitted
// attempts, after the deadline (server clock), questions not in the paper,
// responses the question cannot take.
//
// The checks use facts cached per attempt (no query per save); the status
// is re-checked for the whole window in the Saver's transaction.
func (s *Service) SaveAnswer(ctx context.Context, in SaveInput) error {
	v, err := authz.Require(ctx, "只有考生本人可以作答", viewer.Candidate)
	if err != nil {
		return err
	}
	if in.Seq < 1 {
		return apperr.Input("seq", "保存序号必须为正整数")
	}
	sv := s.Saver()
	f, err := sv.lookup(ctx, in.AttemptID)
	if err != nil {
		return err
	}
	if f.candidateID != v.UserID {
		return apperr.New(apperr.NotFound, "考试记录不存在")
	}
	now := s.now()
	if !now.Before(f.deadline) {
		return apperr.New(apperr.Conflict, "考试时间已到，不能再保存答案")
	}
	it, ok := f.items[in.QuestionID]
	if !ok {
		return apperr.Input("questionId", "该题不在本试卷中")
	}
	if err := checkResponse(it, in.Response); err != nil {
		return err
	}
	return sv.save(ctx, &pending{attemptID: in.AttemptID, questionID: in.QuestionID,
		response: fromResponse(in.Response), seq: in.Seq, at: now})
}

// checkResponse: display indexes in range and distinct; one option for
// SINGLE; a bool (and no options) for TRUE_FALSE. Empty clears the answer.
func checkResponse(it bank.Item, r bank.Response) error {
	if it.Type == question.TypeTRUE_FALSE {
		if len(r.Options) > 0 {
			return apperr.Input("response", "判断题只能回答对或错")
		}
		return nil
	}
	if r.True != nil {
		return apperr.Input("response", "选择题请选择选项")
	}
	if it.Type == question.TypeSINGLE && len(r.Options) > 1 {
		return apperr.Input("response", "单选题只能选择一个选项")
	}
	seen := map[int]bool{}
	for _, o := range r.Options {
		if o < 0 || o >= len(it.Options) || seen[o] {
			return apperr.Input("response", "选项无效")
		}
		seen[o] = true
	}
	return nil
}

// attemptFacts are what never changes for an attempt once started.
type attemptFacts struct {
	candidateID int
	deadline    time.Time
	items       map[int]bank.Item
}

// facts loads an attempt's immutable facts (three queries, once per attempt
// while it stays in the cache).
func (s *Service) facts(ctx context.Context, id int) (*attemptFacts, error) {
	sys := viewer.SystemContext(ctx)
	a, err := s.Client.Attempt.Get(sys, id)
	if ent.IsNotFound(err) {
		return nil, apperr.New(apperr.NotFound, "考试记录不存在")
	} else if err != nil {
		return nil, err
	}
	p, err := s.Bank.PaperOf(sys, a.TemplateID, a.Seed, a.Layout)
	if err != nil {
		return nil, err
	}
	f := &attemptFacts{candidateID: a.CandidateID, deadline: a.Deadline, items: make(map[int]bank.Item, len(p.Items))}
	for _, it := range p.Items {
		f.items[it.QuestionID] = it
	}
	return f, nil
}

// maxCached bounds the facts cache: a busy server holds a few thousand
// attempts in progress; beyond that an entry is dropped and reloaded.
const maxCached = 4096

// Saver group-commits answer saves (internal/groupcommit): each batch is
// one transaction that re-checks the status of every attempt in it with
// one locking query and writes all its answers with one multi-row upsert;
// every caller is answered after the commit, with the batch's error if it
// failed.
type Saver struct {
	Client *ent.Client
	// Dialect is the database's (dialect.Postgres gets the one-statement
	// batch, see flushPostgres); empty means the portable path.
	Dialect string
	Now     func() time.Time
	// Window, when set, makes a batch linger that long before it is written
	// even when nothing else is (tests use it to prove batching); default 0.
	Window      time.Duration
	MaxBatch    int // default 200
	MaxInFlight int // batches written at once; default 1

	facts func(ctx context.Context, id int) (*attemptFacts, error)

	groupOnce sync.Once
	group     *groupcommit.Group[*pending]

	cacheMu sync.Mutex
	cache   map[int]*attemptFacts

	saves atomic.Int64
}

type pending struct {
	attemptID, questionID int
	response              map[string]any
	seq                   int64
	at                    time.Time
	err                   error
}

// Stats returns the saves written and the transactions used for them.
func (s *Saver) Stats() (saves, batches int64) { return s.saves.Load(), s.groupOf().Batches() }

// Forget drops an attempt's cached facts (e.g. after its deadline moved).
func (s *Saver) Forget(attemptID int) {
	s.cacheMu.Lock()
	delete(s.cache, attemptID)
	s.cacheMu.Unlock()
}

func (s *Saver) lookup(ctx context.Context, id int) (*attemptFacts, error) {
	s.cacheMu.Lock()
	f := s.cache[id]
	s.cacheMu.Unlock()
	if f != nil {
		return f, nil
	}
	f, err := s.facts(ctx, id)
	if err != nil {
		return nil, err
	}
	s.cacheMu.Lock()
	if s.cache == nil {
		s.cache = make(map[int]*attemptFacts)
	}
	if len(s.cache) >= maxCached {
		for k := range s.cache { // drop an arbitrary entry
			delete(s.cache, k)
			break
		}
	}
	s.cache[id] = f
	s.cacheMu.Unlock()
	return f, nil
}

func (s *Saver) groupOf() *groupcommit.Group[*pending] {
	s.groupOnce.Do(func() {
		s.group = &groupcommit.Group[*pending]{
			Window: s.Window, MaxBatch: s.MaxBatch, MaxInFlight: s.MaxInFlight,
			// A context of its own: one caller's cancellation must not fail
			// the others' saves, and the batch is written by the system, not
			// by the caller (the audit trail must not name one candidate for all).
			Flush:  func(items []*pending) { s.flush(viewer.SystemContext(context.Background()), items) },
			Failed: s.failAll,
		}
	})
	return s.group
}

// save queues p and waits for its commit.
func (s *Saver) save(_ context.Context, p *pending) error {
	s.groupOf().Do(p)
	return p.err
}

// flush writes one window. Items refused individually get their own error;
// a failed transaction gives its error to every item.
func (s *Saver) flush(ctx context.Context, items []*pending) {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	if s.Dialect == dialect.Postgres {
		s.flushPostgres(ctx, items, now())
		return
	}
	err := txn.WithTx(ctx, s.Client, func(ctx context.Context) error {
		c := txn.Client(ctx, s.Client)
		ids := make([]int, 0, len(items))
		for _, p := range items {
			p.err = nil
			ids = append(ids, p.attemptID)
		}
		slices.Sort(ids)
		ids = slices.Compact(ids)
		// Share-lock the attempts (PostgreSQL): a submit waits for this
		// window's commit, and a submit that committed first is seen here.
		// SQLite serialises write transactions anyway.
		rows, err := c.Attempt.Query().Where(attempt.IDIn(ids...)).
			Select(attempt.FieldID, attempt.FieldStatus, attempt.FieldDeadline).
			Order(attempt.ByID()).
			Modify(func(sel *entsql.Selector) {
				if sel.Dialect() == dialect.Postgres {
					sel.ForShare()
				}
			}).All(ctx)
		if err != nil {
			return err
		}
		t := now()
		open := make(map[int]bool, len(rows))
		for _, a := range rows {
			open[a.ID] = a.Status == attempt.StatusIN_PROGRESS && t.Before(a.Deadline)
		}
		newest := newestPerAnswer(items, func(p *pending) bool {
			if !open[p.attemptID] {
				p.err = errClosed()
			}
			return p.err == nil
		})
		if len(newest) == 0 {
			return nil
		}
		creates := make([]*ent.AttemptAnswerCreate, 0, len(newest))
		for _, p := range newest {
			creates = append(creates, c.AttemptAnswer.Create().SetAttemptID(p.attemptID).
				SetQuestionID(p.questionID).SetResponse(p.response).SetSeq(p.seq).SetSavedAt(p.at))
		}
		return c.AttemptAnswer.CreateBulk(creates...).OnConflict(
			entsql.ConflictColumns(attemptanswer.FieldAttemptID, attemptanswer.FieldQuestionID),
			entsql.ResolveWith(func(u *entsql.UpdateSet) {
				u.SetExcluded(attemptanswer.FieldResponse)
				u.SetExcluded(attemptanswer.FieldSeq)
				u.SetExcluded(attemptanswer.FieldSavedAt)
			}),
			// Only a newer save applies: replays and late arrivals are no-ops.
			entsql.UpdateWhere(entsql.P(func(b *entsql.Builder) {
				b.WriteString(fmt.Sprintf("%s.%s < %s.%s",
					b.Quote(attemptanswer.Table), b.Quote(attemptanswer.FieldSeq),
					b.Quote("excluded"), b.Quote(attemptanswer.FieldSeq)))
			})),
		).Exec(ctx)
	})
	if err != nil {
		for _, p := range items {
			if p.err == nil {
				p.err = err
			}
		}
		return
	}
	for _, p := range items {
		if p.err == nil {
			s.saves.Add(1)
		}
	}
}

// saveBatchPG is a whole batch in one statement, so in one round trip and
// one commit: share-lock the batch's attempts that are still open (a submit
// waits for this commit; one that committed first is seen, and its attempt
// left out), upsert the answers of those attempts keeping only newer seqs,
// and return the open attempts, which tell refused saves from no-ops.
const saveBatchPG = `WITH live AS (
	SELECT id FROM attempts
	WHERE id = ANY($1::bigint[]) AND status = 'IN_PROGRESS' AND deadline > $2
	ORDER BY id FOR SHARE
), saved AS (
	INSERT INTO attempt_answers AS a (attempt_id, question_id, response, seq, saved_at)
	SELECT v.attempt_id, v.question_id, v.response::jsonb, v.seq, v.saved_at
	FROM unnest($3::bigint[], $4::bigint[], $5::text[], $6::bigint[], $7::timestamptz[])
		AS v(attempt_id, question_id, response, seq, saved_at)
	WHERE v.attempt_id IN (SELECT id FROM live)
	ON CONFLICT (attempt_id, question_id) DO UPDATE
		SET response = excluded.response, seq = excluded.seq, saved_at = excluded.saved_at
		WHERE a.seq < excluded.seq
	RETURNING 1
)
SELECT id FROM live`

// flushPostgres writes a batch with saveBatchPG. The other path's
// BEGIN, locking read, upsert and COMMIT are four round trips, each
// waiting its turn on a busy machine; this is one.
func (s *Saver) flushPostgres(ctx context.Context, items []*pending, t time.Time) {
	for _, p := range items {
		p.err = nil
	}
	rows := newestPerAnswer(items, func(*pending) bool { return true })
	var ids []int64
	n := len(rows)
	aids, qids, seqs := make([]int64, n), make([]int64, n), make([]int64, n)
	resps, ats := make([]string, n), make([]time.Time, n)
	for i, p := range rows {
		if i == 0 || p.attemptID != rows[i-1].attemptID {
			ids = append(ids, int64(p.attemptID))
		}
		b, err := json.Marshal(p.response)
		if err != nil {
			s.failAll(items, err)
			return
		}
		aids[i], qids[i], resps[i], seqs[i], ats[i] = int64(p.attemptID), int64(p.questionID), string(b), p.seq, p.at
	}
	open, err := db.IDSet(ctx, s.Client, saveBatchPG, ids, t, aids, qids, resps, seqs, ats)
	if err != nil {
		s.failAll(items, err)
		return
	}
	for _, p := range items {
		if !open[p.attemptID] {
			p.err = errClosed()
			continue
		}
		s.saves.Add(1)
	}
}

// newestPerAnswer keeps, of the items keep accepts, the highest seq of each
// (attempt, question), in (attempt, question) order: PostgreSQL refuses an
// upsert that touches a row twice, and batches that lock rows in one order
// cannot deadlock each other.
func newestPerAnswer(items []*pending, keep func(*pending) bool) []*pending {
	type key struct{ a, q int }
	best := make(map[key]*pending, len(items))
	for _, p := range items {
		if !keep(p) {
			continue
		}
		k := key{p.attemptID, p.questionID}
		if b := best[k]; b == nil || p.seq > b.seq {
			best[k] = p
		}
	}
	out := make([]*pending, 0, len(best))
	for _, p := range best {
		out = append(out, p)
	}
	slices.SortFunc(out, func(x, y *pending) int {
		if x.attemptID != y.attemptID {
			return x.attemptID - y.attemptID
		}
		return x.questionID - y.questionID
	})
	return out
}

func errClosed() error {
	return apperr.New(apperr.Conflict, "试卷已提交或考试时间已到，不能再保存答案")
}

// failAll gives err to every save of a batch that was not written (a
// failed statement, or a write that panicked, as groupcommit reports it).
func (s *Saver) failAll(items []*pending, err error) {
	err = fmt.Errorf("exam: answer %w", err)
	for _, p := range items {
		p.err = err
	}
}
