// Package exam runs attempts: starting a mock or formal paper, the server's
// clock and deadline, answer saves (group-committed, see Saver), focus-loss
// counting and submission with objective grading.
//
// Decisions:
//   - A session is open for starting when its status is OPEN, or when it is
//     SCHEDULED and the server clock is inside starts_at .. starts_at+duration
//     (sites need not flip the status by hand). CLOSED and CANCELLED refuse.
//   - Start is idempotent: starting a kind that is already IN_PROGRESS for
//     the enrollment returns that attempt (a reload or second tab resumes);
//     a SUBMITTED one refuses with CONFLICT. The unique index (enrollment,
//     kind) turns a concurrent double start into CONFLICT.
//   - Scores are on a 100-point scale: floor(points × 100 / total points),
//     compared with the template's pass mark (a paper of 100 points scores
//     its points). FORMAL attempts get FAIL or PENDING_REVIEW; MOCK attempts
//     are scored but get no result (they are practice and never reviewed).
package exam

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/attempt"
	"github.com/kaowu/kaowu/ent/attemptanswer"
	"github.com/kaowu/kaowu/ent/enrollment"
	"github.com/kaowu/kaowu/ent/examsession"
	"github.com/kaowu/kaowu/ent/papertemplate"
	"github.com/kaowu/kaowu/ent/question"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/authz"
	"github.com/kaowu/kaowu/internal/events"
	"github.com/kaowu/kaowu/internal/evidence"
	"github.com/kaowu/kaowu/internal/exam/bank"
	"github.com/kaowu/kaowu/internal/jobs"
	"github.com/kaowu/kaowu/internal/txn"
	"github.com/kaowu/kaowu/internal/viewer"
)

// JobDeadline is the job kind that submits an attempt at its deadline.
const JobDeadline = "attempt.deadline"

// FocusLossLimit is the focus loss that ends the attempt.
const FocusLossLimit = 5

// MaxConsentText bounds the consent text kept with the attempt.
const MaxConsentText = 4000

// ErrAlreadySubmitted is wrapped by the CONFLICT error of a submit that
// found the attempt already submitted (errors.Is works on it).
var ErrAlreadySubmitted = errors.New("exam: attempt already submitted")

// KeepAliver keeps a login session alive until a time (auth.Service).
type KeepAliver interface {
	KeepAlive(ctx context.Context, sessionID int, until time.Time) error
}

// Service runs attempts. Set the fields, then use it from any goroutine.
type Service struct {
	Client *ent.Client
	Bank   *bank.Service
	Bus    events.Bus
	Auth   KeepAliver       // optional
	Now    func() time.Time // default time.Now
	Log    *slog.Logger     // default slog.Default()

	// Dialect is the database's (db.DB.Dialect); on PostgreSQL the answer
	// Saver writes a batch in one statement.
	Dialect string
	// Window and MaxBatch tune the answer Saver (defaults: no linger, 200).
	Window   time.Duration
	MaxBatch int
	// SaveWrites is how many answer batches one process writes at once
	// (default 1). With a batch written in one statement, a second one in
	// flight only made batches smaller (cmd/kaowu-bench saves: 1.26–1.29 of
	// the raw upsert with one, 1.16–1.22 with two, 1.00–1.12 with three).
	SaveWrites int
	// SealKey MACs the evidence chain's seal at submission (see
	// evidence.Seal); without it attempts are submitted unsealed.
	SealKey []byte

	once  sync.Once
	saver *Saver
}

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

// Saver returns the service's group-commit saver (built on first use).
func (s *Service) Saver() *Saver {
	s.once.Do(func() {
		s.saver = &Saver{Client: s.Client, Dialect: s.Dialect, Now: s.now, Window: s.Window, MaxBatch: s.MaxBatch, MaxInFlight: s.SaveWrites, facts: s.facts}
	})
	return s.saver
}

func (s *Service) db(ctx context.Context) *ent.Client { return txn.Client(ctx, s.Client) }

// StartInput starts a paper of an enrollment.
type StartInput struct {
	EnrollmentID    int
	Kind            attempt.Kind
	ConsentText     string
	ConsentAccepted bool
}

// Start starts (or resumes, when already in progress) the candidate's
// attempt of kind for their enrollment. See the package doc for the rules.
func (s *Service) Start(ctx context.Context, in StartInput) (*ent.Attempt, error) {
	v, err := authz.Require(ctx, "只有考生本人可以开始考试", viewer.Candidate)
	if err != nil {
		return nil, err
	}
	if attempt.KindValidator(in.Kind) != nil {
		return nil, apperr.Input("kind", "试卷类型无效")
	}
	text := strings.TrimSpace(in.ConsentText)
	if !in.ConsentAccepted {
		return nil, apperr.Input("consentAccepted", "开始考试前必须同意考试期间摄像头采集人脸图像")
	}
	if text == "" {
		return nil, apperr.Input("consentText", "缺少摄像头采集同意书内容")
	}
	if utf8.RuneCountInString(text) > MaxConsentText {
		return nil, apperr.Input("consentText", fmt.Sprintf("同意书内容不能超过 %d 个字", MaxConsentText))
	}
	sys := viewer.SystemContext(ctx)
	now := s.now()
	var out *ent.Attempt
	err = txn.WithTx(sys, s.Client, func(ctx context.Context) error {
		c := s.db(ctx)
		e, err := c.Enrollment.Get(ctx, in.EnrollmentID)
		if ent.IsNotFound(err) || (err == nil && e.CandidateID != v.UserID) {
			return apperr.New(apperr.NotFound, "报名记录不存在")
		} else if err != nil {
			return err
		}
		if prev, err := c.Attempt.Query().Where(attempt.EnrollmentID(e.ID), attempt.KindEQ(in.Kind)).Only(ctx); err == nil {
			if prev.Status == attempt.StatusIN_PROGRESS && prev.Deadline.After(now) {
				out = prev
				return nil
			}
			return apperr.Wrap(ErrAlreadySubmitted, apperr.Conflict, "该试卷已提交，不能再次开始")
		} else if !ent.IsNotFound(err) {
			return err
		}
		switch {
		case e.Status != enrollment.StatusAPPROVED:
			return apperr.New(apperr.Conflict, "报名尚未审核通过，不能开始考试")
		case e.PaymentStatus != enrollment.PaymentStatusPAID:
			return apperr.New(apperr.Conflict, "报名尚未缴费，不能开始考试")
		case e.SessionID == nil:
			return apperr.New(apperr.Conflict, "尚未分配考场，不能开始考试")
		}
		sess, err := c.ExamSession.Get(ctx, *e.SessionID)
		if err != nil {
			return err
		}
		sessEnd := sess.StartsAt.Add(time.Duration(sess.DurationMinutes) * time.Minute)
		open := sess.Status == examsession.StatusOPEN ||
			(sess.Status == examsession.StatusSCHEDULED && !now.Before(sess.StartsAt) && now.Before(sessEnd))
		if !open || !now.Before(sessEnd) {
			return apperr.New(apperr.Conflict, "考试场次未开放，不能开始考试")
		}
		if sess.Onsite && e.CheckedInAt == nil {
			return apperr.New(apperr.Conflict, "请先在考点完成实名认证签到")
		}
		if in.Kind == attempt.KindFORMAL {
			ok, err := c.Attempt.Query().Where(attempt.EnrollmentID(e.ID), attempt.KindEQ(attempt.KindMOCK),
				attempt.StatusEQ(attempt.StatusSUBMITTED)).Exist(ctx)
			if err != nil {
				return err
			}
			if !ok {
				return apperr.New(apperr.Conflict, "请先完成测试试卷")
			}
		}
		tpl, err := c.PaperTemplate.Query().Where(papertemplate.SubjectID(e.SubjectID),
			papertemplate.KindEQ(papertemplate.Kind(in.Kind)), papertemplate.Active(true)).
			Order(ent.Desc(papertemplate.FieldID)).First(ctx)
		if ent.IsNotFound(err) {
			return apperr.New(apperr.Conflict, "该科目尚未设置可用的试卷")
		} else if err != nil {
			return err
		}
		seed, err := randomSeed()
		if err != nil {
			return err
		}
		// Draw now, once: a bank too small for the template refuses here,
		// and the paper is stored so later bank edits cannot change it.
		paper, err := s.Bank.DrawFor(ctx, tpl.ID, seed)
		if err != nil {
			return err
		}
		deadline := now.Add(time.Duration(tpl.DurationMinutes) * time.Minute)
		if sessEnd.Before(deadline) {
			deadline = sessEnd
		}
		a, err := c.Attempt.Create().SetEnrollmentID(e.ID).SetCandidateID(v.UserID).SetSessionID(sess.ID).
			SetSiteID(sess.SiteID).SetTemplateID(tpl.ID).SetKind(in.Kind).SetSeed(seed).SetLayout(paper.Layout()).
			SetStartedAt(now).SetDeadline(deadline).SetConsentText(text).SetConsentAt(now).
			SetPassMark(tpl.PassMark).Save(ctx)
		if ent.IsConstraintError(err) {
			return apperr.New(apperr.Conflict, "考试已经开始，请刷新页面")
		} else if err != nil {
			return err
		}
		if err := jobs.Schedule(ctx, s.Client, JobDeadline, jobKey(a.ID), deadline, deadlinePayload{AttemptID: a.ID}); err != nil {
			return err
		}
		sum := sha256.Sum256([]byte(text))
		if _, err := evidence.Append(ctx, s.Client, chain(a.ID), evidence.KindConsent, &v.UserID, now,
			map[string]any{"textSha256": hex.EncodeToString(sum[:]), "kind": string(in.Kind)}); err != nil {
			return err
		}
		s.publish(ctx, sess.ID, "ATTEMPT_STARTED", map[string]any{"attemptID": a.ID, "candidateID": v.UserID, "kind": a.Kind, "deadline": deadline})
		out = a
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Keep the login alive for the whole paper. Its own statement on the
	// sessions table, after commit (on SQLite a second writer inside our
	// transaction would wait for it); a failure only logs: the client's
	// requests keep the session alive anyway, and a resumed Start retries.
	if s.Auth != nil && v.SessionID != 0 {
		until := out.Deadline
		txn.AfterCommit(ctx, func() {
			if err := s.Auth.KeepAlive(context.WithoutCancel(ctx), v.SessionID, until); err != nil {
				s.log().Warn("exam: keep session alive", "session", v.SessionID, "err", err)
			}
		})
	}
	return out, nil
}

type deadlinePayload struct {
	AttemptID int `json:"attemptId"`
}

func jobKey(id int) string { return fmt.Sprintf("attempt:%d", id) }
func chain(id int) string  { return evidence.Chain("attempt", id) }

func randomSeed() (int64, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return 0, err
	}
	return int64(binary.LittleEndian.Uint64(b[:]) >> 1), nil
}

// publish sends an event to the session's topic after commit.
func (s *Service) publish(ctx context.Context, sessionID int, typ string, payload any) {
	if s.Bus == nil {
		return
	}
	body, _ := json.Marshal(payload)
	ev := events.Event{Topic: fmt.Sprintf("session:%d", sessionID), Type: typ, Payload: body, At: s.now()}
	txn.AfterCommit(ctx, func() {
		if err := s.Bus.Publish(context.WithoutCancel(ctx), ev); err != nil {
			s.log().Warn("exam: publish", "type", typ, "err", err)
		}
	})
}

// own loads the attempt for its candidate (NOT_FOUND for anyone else's).
func (s *Service) own(ctx context.Context, v *viewer.Viewer, id int) (*ent.Attempt, error) {
	a, err := s.db(ctx).Attempt.Get(viewer.SystemContext(ctx), id)
	if ent.IsNotFound(err) || (err == nil && a.CandidateID != v.UserID) {
		return nil, apperr.New(apperr.NotFound, "考试记录不存在")
	}
	return a, err
}

// SavedAnswer is a saved answer as the client sees it.
type SavedAnswer struct {
	QuestionID int           `json:"questionId"`
	Response   bank.Response `json:"response"`
	Seq        int64         `json:"seq"`
	SavedAt    time.Time     `json:"savedAt"`
}

// State is everything a (re)loading exam page needs.
type State struct {
	Attempt          *ent.Attempt
	Paper            bank.Paper // without option maps; never the answers
	Deadline         time.Time
	ServerNow        time.Time
	RemainingSeconds int
	Answers          []SavedAnswer
	FocusLosses      int
	Status           attempt.Status
	Result           *attempt.Result
	Score            *int
}

// State returns the attempt's paper, clock and saved answers. The candidate
// reads their own; staff who may read the attempt (privacy policy) too.
func (s *Service) State(ctx context.Context, attemptID int) (*State, error) {
	v, err := authz.Require(ctx, "")
	if err != nil {
		return nil, err
	}
	var a *ent.Attempt
	if v.Role == viewer.Candidate {
		a, err = s.own(ctx, v, attemptID)
	} else {
		a, err = s.db(ctx).Attempt.Get(ctx, attemptID) // privacy filters staff
		if ent.IsNotFound(err) {
			err = apperr.New(apperr.NotFound, "考试记录不存在")
		}
	}
	if err != nil {
		return nil, err
	}
	sys := viewer.SystemContext(ctx)
	p, err := s.Bank.PaperOf(sys, a.TemplateID, a.Seed, a.Layout)
	if err != nil {
		return nil, err
	}
	for i := range p.Items {
		p.Items[i].OptionMap = nil // the client answers in display indexes
	}
	rows, err := s.db(ctx).AttemptAnswer.Query().Where(attemptanswer.AttemptID(a.ID)).
		Order(attemptanswer.ByQuestionID()).All(sys)
	if err != nil {
		return nil, err
	}
	now := s.now()
	st := &State{Attempt: a, Paper: p, Deadline: a.Deadline, ServerNow: now, FocusLosses: a.FocusLosses,
		Status: a.Status, Result: a.Result, Score: a.Score}
	if a.Status == attempt.StatusIN_PROGRESS && a.Deadline.After(now) {
		st.RemainingSeconds = int(a.Deadline.Sub(now) / time.Second)
	}
	for _, r := range rows {
		st.Answers = append(st.Answers, SavedAnswer{QuestionID: r.QuestionID, Response: toResponse(r.Response), Seq: r.Seq, SavedAt: r.SavedAt})
	}
	return st, nil
}

func toResponse(m map[string]any) bank.Response {
	var r bank.Response
	b, _ := json.Marshal(m)
	_ = json.Unmarshal(b, &r)
	return r
}

func fromResponse(r bank.Response) map[string]any {
	m := map[string]any{}
	b, _ := json.Marshal(r)
	_ = json.Unmarshal(b, &m)
	return m
}

var focusKindRE = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,31}$`)

// FocusResult tells the candidate the count after a focus loss.
type FocusResult struct {
	Count     int
	Submitted bool // the limit was reached and the attempt submitted
}

// FocusLost records a focus loss of the candidate's attempt (kind e.g.
// BLUR, HIDDEN, CLICK_OUTSIDE); the FocusLossLimit-th submits the attempt
// with reason FOCUS_LOSS_LIMIT in the same transaction.
func (s *Service) FocusLost(ctx context.Context, attemptID int, kind string) (FocusResult, error) {
	v, err := authz.Require(ctx, "只有考生本人可以上报离开考试页面", viewer.Candidate)
	if err != nil {
		return FocusResult{}, err
	}
	if !focusKindRE.MatchString(kind) {
		return FocusResult{}, apperr.Input("kind", "离开页面的类型无效")
	}
	var res FocusResult
	err = txn.WithTx(viewer.SystemContext(ctx), s.Client, func(ctx context.Context) error {
		a, err := s.own(ctx, v, attemptID)
		if err != nil {
			return err
		}
		c := s.db(ctx)
		n, err := c.Attempt.Update().Where(attempt.ID(a.ID), attempt.StatusEQ(attempt.StatusIN_PROGRESS)).
			AddFocusLosses(1).Save(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			return apperr.Wrap(ErrAlreadySubmitted, apperr.Conflict, "试卷已提交")
		}
		// Re-read inside the transaction: the row is ours until commit.
		count, err := c.Attempt.Query().Where(attempt.ID(a.ID)).Select(attempt.FieldFocusLosses).Int(ctx)
		if err != nil {
			return err
		}
		now := s.now()
		if _, err := evidence.Append(ctx, s.Client, chain(a.ID), evidence.KindFocusLoss, &v.UserID, now,
			map[string]any{"kind": kind, "count": count}); err != nil {
			return err
		}
		s.publish(ctx, a.SessionID, "FOCUS_LOSS", map[string]any{"attemptID": a.ID, "count": count, "kind": kind})
		res.Count = count
		if count >= FocusLossLimit {
			if _, err := s.submit(ctx, a.ID, attempt.SubmitReasonFOCUS_LOSS_LIMIT, nil); err != nil {
				return err
			}
			res.Submitted = true
		}
		return nil
	})
	return res, err
}

// Submit submits the attempt. A candidate submits their own with reason
// CANDIDATE; system code (viewer.SystemContext) may give any reason. The
// loser of concurrent submits gets CONFLICT wrapping ErrAlreadySubmitted.
func (s *Service) Submit(ctx context.Context, attemptID int, reason attempt.SubmitReason) (*ent.Attempt, error) {
	if viewer.IsSystem(ctx) {
		return s.SubmitSystem(ctx, attemptID, reason)
	}
	v, err := authz.Require(ctx, "只有考生本人可以交卷", viewer.Candidate)
	if err != nil {
		return nil, err
	}
	if reason != attempt.SubmitReasonCANDIDATE {
		return nil, apperr.Input("reason", "考生交卷的原因只能是本人交卷")
	}
	var out *ent.Attempt
	err = txn.WithTx(viewer.SystemContext(ctx), s.Client, func(ctx context.Context) error {
		if _, err := s.own(ctx, v, attemptID); err != nil {
			return err
		}
		var err error
		out, err = s.submit(ctx, attemptID, reason, &v.UserID)
		return err
	})
	return out, err
}

// SubmitSystem submits the attempt for a system reason (TIME_UP,
// FOCUS_LOSS_LIMIT, PROCTOR_ENDED, or CANDIDATE on the candidate's behalf).
// For services that have already decided it must happen.
func (s *Service) SubmitSystem(ctx context.Context, attemptID int, reason attempt.SubmitReason) (*ent.Attempt, error) {
	if attempt.SubmitReasonValidator(reason) != nil {
		return nil, apperr.Input("reason", "交卷原因无效")
	}
	var out *ent.Attempt
	err := txn.WithTx(viewer.SystemContext(ctx), s.Client, func(ctx context.Context) error {
		var err error
		out, err = s.submit(ctx, attemptID, reason, nil)
		return err
	})
	return out, err
}

// submit: one conditional UPDATE decides the winner; then grading, the
// deadline job, evidence and the event, all in ctx's transaction.
func (s *Service) submit(ctx context.Context, id int, reason attempt.SubmitReason, actor *int) (*ent.Attempt, error) {
	c := s.db(ctx)
	now := s.now()
	n, err := c.Attempt.Update().Where(attempt.ID(id), attempt.StatusEQ(attempt.StatusIN_PROGRESS)).
		SetStatus(attempt.StatusSUBMITTED).SetSubmittedAt(now).SetSubmitReason(reason).Save(ctx)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		if ok, err := c.Attempt.Query().Where(attempt.ID(id)).Exist(ctx); err != nil {
			return nil, err
		} else if !ok {
			return nil, apperr.New(apperr.NotFound, "考试记录不存在")
		}
		return nil, apperr.Wrap(ErrAlreadySubmitted, apperr.Conflict, "试卷已提交")
	}
	a, err := c.Attempt.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	score, err := s.grade(ctx, a)
	if err != nil {
		return nil, err
	}
	up := c.Attempt.UpdateOneID(id).SetScore(score)
	var result *attempt.Result
	if a.Kind == attempt.KindFORMAL {
		r := attempt.ResultPENDING_REVIEW
		if score < a.PassMark {
			r = attempt.ResultFAIL
		}
		result = &r
		up.SetResult(r)
	}
	if a, err = up.Save(ctx); err != nil {
		return nil, err
	}
	// The deadline job itself runs TIME_UP; cancelling it there would mark
	// a job that did its work as CANCELLED.
	if reason != attempt.SubmitReasonTIME_UP {
		if _, err := jobs.Cancel(ctx, s.Client, JobDeadline, jobKey(id)); err != nil {
			return nil, err
		}
	}
	payload := map[string]any{"reason": string(reason), "score": score}
	if result != nil {
		payload["result"] = string(*result)
	}
	rec, err := evidence.Append(ctx, s.Client, chain(id), evidence.KindSubmit, actor, now, payload)
	if err != nil {
		return nil, err
	}
	if len(s.SealKey) > 0 {
		seal := evidence.NewSeal(s.SealKey, chain(id), rec.Seq, rec.Hash)
		if err := c.Attempt.UpdateOneID(id).SetEvidenceSealSeq(seal.Seq).SetEvidenceSealHash(seal.Hash).
			SetEvidenceSealMAC(seal.MAC).Exec(ctx); err != nil {
			return nil, err
		}
	}
	typ := "AUTO_SUBMITTED"
	if reason == attempt.SubmitReasonCANDIDATE {
		typ = "SUBMITTED"
	}
	ev := map[string]any{"attemptID": id, "candidateID": a.CandidateID, "reason": string(reason), "score": score}
	if result != nil {
		ev["result"] = string(*result)
	}
	s.publish(ctx, a.SessionID, typ, ev)
	return a, nil
}

// grade redraws the paper and grades the saved answers on a 100-point scale.
func (s *Service) grade(ctx context.Context, a *ent.Attempt) (int, error) {
	sys := viewer.SystemContext(ctx)
	p, err := s.Bank.PaperOf(sys, a.TemplateID, a.Seed, a.Layout)
	if err != nil {
		return 0, err
	}
	ids := make([]int, len(p.Items))
	for i, it := range p.Items {
		ids[i] = it.QuestionID
	}
	qs, err := s.db(ctx).Question.Query().Where(question.IDIn(ids...)).All(sys)
	if err != nil {
		return 0, err
	}
	rows, err := s.db(ctx).AttemptAnswer.Query().Where(attemptanswer.AttemptID(a.ID)).All(sys)
	if err != nil {
		return 0, err
	}
	answers := make(map[int]bank.Response, len(rows))
	for _, r := range rows {
		answers[r.QuestionID] = toResponse(r.Response)
	}
	points, _, err := bank.Grade(p, answers, qs)
	if err != nil {
		return 0, err
	}
	return Scale(points, p.TotalPoints), nil
}

// Scale converts points of total to the 100-point scale, rounding down (a
// candidate never passes on rounding).
func Scale(points, total int) int {
	if total <= 0 {
		return 0
	}
	return points * 100 / total
}

// DeadlineHandler submits an attempt with TIME_UP when its deadline job
// runs; an attempt already submitted is left as it is (idempotent).
func (s *Service) DeadlineHandler() jobs.Handler {
	return func(ctx context.Context, j *ent.Job) error {
		var p deadlinePayload
		if err := jobs.Decode(j, &p); err != nil {
			return err
		}
		sys := viewer.SystemContext(ctx)
		a, err := s.Client.Attempt.Get(sys, p.AttemptID)
		if ent.IsNotFound(err) {
			return nil
		} else if err != nil {
			return err
		}
		if a.Status != attempt.StatusIN_PROGRESS {
			return nil
		}
		if a.Deadline.After(s.now()) {
			// The deadline moved later: run again then.
			return jobs.Schedule(sys, s.Client, JobDeadline, jobKey(a.ID), a.Deadline, p)
		}
		_, err = s.SubmitSystem(sys, a.ID, attempt.SubmitReasonTIME_UP)
		if errors.Is(err, ErrAlreadySubmitted) {
			return nil
		}
		return err
	}
}
