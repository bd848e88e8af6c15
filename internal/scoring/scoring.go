// Package scoring decides and shows exam results (DOMAIN.md step 14).
//
// An attempt's objective score and first result are set on submission by
// the exam package: below the pass mark FAIL, otherwise PENDING_REVIEW. This
// package holds what follows:
//
//   - EnterPractical: the exam site records the practical score of a subject
//     that has a practical part (0–100), once, before the review.
//   - Review: a REVIEWER (or ADMIN) passes or fails a FORMAL attempt waiting
//     for review, only on intact evidence (the attempt's hash chain must
//     verify and be non-empty). Rule for subjects with a practical part: the
//     practical score must have been entered, and PASS requires practical ≥
//     the subject's pass mark (the theory score is already ≥ the paper's pass
//     mark, or the attempt would not be waiting for review). FAIL is always
//     possible and needs a reason.
//   - MyResults: a candidate's own formal results.
//   - Lookup: the public result lookup by name + ID number, rate-limited in
//     the database (so every replica counts together), answering the same
//     empty list for an unknown person and a wrong name, and never showing
//     the full ID number.
//
// Retakes (补考): a failed candidate enrolls again in another plan through
// internal/enrollment; its duplicate rule (one live enrollment per
// candidate + plan + subject) does not look at results, so nothing here
// blocks it, and each enrollment has its own formal attempt.
package scoring

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/attempt"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/authz"
	"github.com/kaowu/kaowu/internal/evidence"
	"github.com/kaowu/kaowu/internal/notify"
	"github.com/kaowu/kaowu/internal/txn"
	"github.com/kaowu/kaowu/internal/viewer"
)

// Evidence kinds written by this package (REVIEW_DECISION is evidence's own).
const KindPracticalScore = "PRACTICAL_SCORE"

// Notification kind of a review decision.
const KindReviewed = "SCORE_REVIEWED"

// Messages users see; tests compare some of them exactly.
const (
	MsgReviewed        = "该成绩已审核，不能重复审核"
	MsgNotPending      = "该考试不在待审核状态"
	MsgMock            = "模拟考试不需要审核"
	MsgPracticalFirst  = "该科目含实操考试，请先由考点录入实操成绩再审核"
	MsgNoPractical     = "该科目没有实操考试，不能录入实操成绩"
	MsgPracticalTwice  = "实操成绩已录入，不能重复录入"
	MsgPracticalLocked = "该成绩已审核，不能再录入实操成绩"
	MsgEvidenceEmpty   = "该考试没有任何证据记录，不能审核，请联系管理员核查"
)

// Service implements score entry, review and result queries.
type Service struct {
	Client   *ent.Client
	Notifier *notify.Notifier
	// Now is the clock (review times, rate-limit windows); time.Now when nil.
	Now func() time.Time
	// SealKey checks the evidence seals made at submission (exam.Service.SealKey).
	SealKey []byte
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// loadAttempt reads the attempt with the caller's privacy (a site sees only
// its own attempts: others are NOT_FOUND, which leaks nothing).
func loadAttempt(ctx context.Context, c *ent.Client, id int) (*ent.Attempt, error) {
	a, err := c.Attempt.Get(ctx, id)
	if ent.IsNotFound(err) {
		return nil, apperr.New(apperr.NotFound, "考试记录不存在").With("field", "attemptID")
	}
	return a, err
}

// subjectOf returns the subject of the attempt's enrollment (read as the
// system: the caller has already been allowed to act on the attempt).
func subjectOf(ctx context.Context, c *ent.Client, a *ent.Attempt) (*ent.Subject, error) {
	sys := viewer.SystemContext(ctx)
	e, err := c.Enrollment.Get(sys, a.EnrollmentID)
	if err != nil {
		return nil, err
	}
	return c.Subject.Get(sys, e.SubjectID)
}

// Review passes (pass = true) or fails the FORMAL attempt attemptID, which
// must be waiting for review, for a REVIEWER or ADMIN. A FAIL needs a reason
// (≤ 500 characters). The attempt's evidence chain must verify: on a broken
// or empty chain the review is refused (CONFLICT, naming the first broken
// link) so that nobody decides on tampered evidence. The decision is a
// conditional update on the result, so of two reviewers only one decides;
// it is appended to the evidence chain and the candidate is notified.
func (s *Service) Review(ctx context.Context, attemptID int, pass bool, reason string) (*ent.Attempt, error) {
	v, err := authz.Require(ctx, "只有审核人员可以审核成绩", viewer.Reviewer, viewer.Admin)
	if err != nil {
		return nil, err
	}
	reason = strings.TrimSpace(reason)
	if !pass && reason == "" {
		return nil, apperr.Input("reason", "评为不合格时必须填写原因")
	}
	if utf8.RuneCountInString(reason) > 500 {
		return nil, apperr.Input("reason", "原因不能超过500个字")
	}
	var out *ent.Attempt
	err = txn.WithTx(ctx, s.Client, func(ctx context.Context) error {
		c := txn.Client(ctx, s.Client)
		a, err := loadAttempt(ctx, c, attemptID)
		if err != nil {
			return err
		}
		if a.Kind != attempt.KindFORMAL {
			return apperr.New(apperr.Conflict, MsgMock)
		}
		switch {
		case a.ReviewedAt != nil:
			return apperr.New(apperr.Conflict, MsgReviewed)
		case a.Status != attempt.StatusSUBMITTED || a.Result == nil || *a.Result != attempt.ResultPENDING_REVIEW:
			return apperr.New(apperr.Conflict, MsgNotPending)
		}
		if err := s.checkEvidence(ctx, c, a.ID); err != nil {
			return err
		}
		subj, err := subjectOf(ctx, c, a)
		if err != nil {
			return err
		}
		if subj.HasPractical {
			if a.PracticalScore == nil {
				return apperr.New(apperr.Conflict, MsgPracticalFirst)
			}
			if pass && *a.PracticalScore < subj.PassMark {
				return apperr.Input("pass", fmt.Sprintf("实操成绩 %d 分低于合格线 %d 分，不能评为合格", *a.PracticalScore, subj.PassMark))
			}
		}
		now := s.now()
		result := attempt.ResultFAIL
		if pass {
			result = attempt.ResultPASS
		}
		// Conditional on the state read above: a second reviewer, or a
		// practical score changed in between, makes this update a no-op.
		upd := c.Attempt.Update().Where(attempt.ID(a.ID), attempt.ResultEQ(attempt.ResultPENDING_REVIEW), attempt.ReviewedAtIsNil())
		if a.PracticalScore != nil {
			upd.Where(attempt.PracticalScore(*a.PracticalScore))
		} else {
			upd.Where(attempt.PracticalScoreIsNil())
		}
		n, err := upd.SetResult(result).SetReviewedByID(v.UserID).SetReviewedAt(now).SetReviewReason(reason).
			Save(viewer.SystemContext(ctx))
		if err != nil {
			return err
		}
		if n == 0 {
			return apperr.New(apperr.Conflict, MsgReviewed)
		}
		payload := map[string]any{"decision": string(result), "reason": reason, "score": a.Score, "practicalScore": a.PracticalScore}
		actor := v.UserID
		if _, err := evidence.Append(ctx, c, evidence.Chain("attempt", a.ID), evidence.KindReviewDecision, &actor, now, payload); err != nil {
			return err
		}
		word := "不合格"
		if pass {
			word = "合格"
		}
		body := fmt.Sprintf("您参加的《%s》考试成绩已审核，结果：%s。", subj.Name, word)
		if !pass {
			body += "原因：" + reason + "。您可以报名参加补考。"
		}
		if err := s.Notifier.Notify(ctx, a.CandidateID, KindReviewed, "成绩已审核："+word, body); err != nil {
			return err
		}
		out, err = c.Attempt.Get(viewer.SystemContext(ctx), a.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// checkEvidence refuses a review on a broken or empty evidence chain.
func (s *Service) checkEvidence(ctx context.Context, c *ent.Client, attemptID int) error {
	sys := viewer.SystemContext(ctx)
	a, err := c.Attempt.Get(sys, attemptID)
	if err != nil {
		return err
	}
	rep, err := evidence.VerifyAttempt(sys, c, a, s.SealKey)
	if err != nil {
		return err
	}
	if rep.Records == 0 {
		return apperr.New(apperr.Conflict, MsgEvidenceEmpty)
	}
	if !rep.OK {
		b := rep.FirstBroken
		return apperr.Newf(apperr.Conflict, "证据链已被破坏，不能审核：第一处断裂在第 %d 条（%s），请联系管理员核查", b.Seq, b.Detail).
			With("brokenSeq", b.Seq).With("brokenReason", string(b.Reason))
	}
	return nil
}

// EnterPractical records the practical score (0–100) of a FORMAL submitted
// attempt, for the EXAM_SITE account of the attempt's site, when the
// subject has a practical part. It is entered once (CONFLICT afterwards: a
// correction needs an administrator, since the reviewer may already have
// looked at it) and only before the review; it is appended to the evidence
// chain. A theory FAIL may still have its practical score recorded.
func (s *Service) EnterPractical(ctx context.Context, attemptID, score int) (*ent.Attempt, error) {
	v, err := authz.Require(ctx, "只有考点可以录入实操成绩", viewer.ExamSite)
	if err != nil {
		return nil, err
	}
	if score < 0 || score > 100 {
		return nil, apperr.Input("score", "实操成绩应在0到100分之间")
	}
	var out *ent.Attempt
	err = txn.WithTx(ctx, s.Client, func(ctx context.Context) error {
		c := txn.Client(ctx, s.Client)
		a, err := loadAttempt(ctx, c, attemptID)
		if err != nil {
			return err
		}
		if v.OrgID == 0 || a.SiteID != v.OrgID {
			return apperr.New(apperr.Forbidden, "只能录入本考点考生的实操成绩")
		}
		if a.Kind != attempt.KindFORMAL {
			return apperr.New(apperr.Conflict, "模拟考试没有实操成绩")
		}
		if a.Status != attempt.StatusSUBMITTED {
			return apperr.New(apperr.Conflict, "理论考试尚未交卷，暂不能录入实操成绩")
		}
		subj, err := subjectOf(ctx, c, a)
		if err != nil {
			return err
		}
		if !subj.HasPractical {
			return apperr.New(apperr.Conflict, MsgNoPractical)
		}
		if a.ReviewedAt != nil {
			return apperr.New(apperr.Conflict, MsgPracticalLocked)
		}
		if a.PracticalScore != nil {
			return apperr.New(apperr.Conflict, MsgPracticalTwice)
		}
		n, err := c.Attempt.Update().
			Where(attempt.ID(a.ID), attempt.PracticalScoreIsNil(), attempt.ReviewedAtIsNil()).
			SetPracticalScore(score).Save(viewer.SystemContext(ctx))
		if err != nil {
			return err
		}
		if n == 0 {
			return apperr.New(apperr.Conflict, MsgPracticalTwice)
		}
		actor := v.UserID
		if _, err := evidence.Append(ctx, c, evidence.Chain("attempt", a.ID), KindPracticalScore, &actor, s.now(),
			map[string]any{"practicalScore": score}); err != nil {
			return err
		}
		out, err = c.Attempt.Get(viewer.SystemContext(ctx), a.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
