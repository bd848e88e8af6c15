package demo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/attempt"
	"github.com/kaowu/kaowu/ent/enrollment"
	"github.com/kaowu/kaowu/ent/examsession"
	"github.com/kaowu/kaowu/ent/organization"
	"github.com/kaowu/kaowu/ent/papertemplate"
	"github.com/kaowu/kaowu/ent/region"
	"github.com/kaowu/kaowu/ent/room"
	"github.com/kaowu/kaowu/ent/subject"
	"github.com/kaowu/kaowu/ent/user"
	"github.com/kaowu/kaowu/internal/certificate"
	enrollments "github.com/kaowu/kaowu/internal/enrollment"
	"github.com/kaowu/kaowu/internal/evidence"
	"github.com/kaowu/kaowu/internal/viewer"
)

// Subjects of the demo candidate's (张三's) certificate history.
const (
	// CertPendingSubject: a passed formal exam awaiting provincial approval.
	CertPendingSubject = "C2"
	// CertRenewableSubject: a certificate issued about three years ago,
	// now inside its renewal window (valid for about two more months).
	CertRenewableSubject = "A"
	// CertValidSubject: a certificate issued at seeding, valid for years.
	CertValidSubject = "B"
)

// certHistory is one past formal exam of the demo candidate.
type certHistory struct {
	subject string
	plan    string
	examDay time.Time // 00:00 China time
}

// certificateActivity gives the demo candidate passed formal exams: one
// awaiting approval (for the ADMIN page) and, when certs is given, two
// issued through the service — one renewable now, one freshly issued.
// The rows behind the exams are plain data (past plans, closed sessions,
// reviewed attempts); issuing goes through the service so numbers, the
// snapshots and the holder's notifications are the real thing.
func certificateActivity(ctx context.Context, client *ent.Client, certs *certificate.Service, sealKey []byte) error {
	sys := viewer.SystemContext(ctx)
	cst := time.FixedZone("CST", 8*3600)
	now := time.Now()
	today := time.Date(now.In(cst).Year(), now.In(cst).Month(), now.In(cst).Day(), 0, 0, 0, 0, cst)
	years := certificate.DefaultValidityYears
	if certs != nil && certs.ValidityYears > 0 {
		years = certs.ValidityYears
	}
	// Issued so that its validity ends in about two months: inside the
	// three-month renewal window.
	oldIssue := today.AddDate(-years, 2, 0)
	lastYear := fmt.Sprintf("%d年第四批安全生产考核", today.Year()-1)
	history := []certHistory{
		{CertPendingSubject, lastYear, today.AddDate(0, 0, -30)},
		{CertRenewableSubject, fmt.Sprintf("%d年第二批安全生产考核", oldIssue.Year()), oldIssue.AddDate(0, 0, -30)},
		{CertValidSubject, lastYear, today.AddDate(0, 0, -29)},
	}

	tx, err := client.Tx(sys)
	if err != nil {
		return err
	}
	// The transaction rides in the context too: evidence.Append joins it.
	attempts, err := seedCertHistory(ent.NewTxContext(sys, tx), tx.Client(), history, sealKey)
	if err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	if certs == nil {
		return nil
	}
	admin, err := client.User.Query().Where(user.Login("admin")).Only(sys)
	if err != nil {
		return err
	}
	actx := viewer.NewContext(ctx, &viewer.Viewer{UserID: admin.ID, Role: viewer.Admin})
	// The renewable one as if approved back then: a copy of the service
	// whose clock reads the old issue day (10:00).
	past := *certs
	past.Now = func() time.Time { return oldIssue.Add(10 * time.Hour) }
	if _, err := past.IssueBatch(actx, []int{attempts[CertRenewableSubject]}); err != nil {
		return fmt.Errorf("issue the renewable certificate: %w", err)
	}
	if _, err := certs.IssueBatch(actx, []int{attempts[CertValidSubject]}); err != nil {
		return fmt.Errorf("issue the valid certificate: %w", err)
	}
	return nil
}

// seedCertHistory creates, for the demo candidate, a past plan per name,
// a closed session at the first site, an approved, paid, checked-in
// enrollment and a reviewed PASS formal attempt per entry; it returns the
// attempt ids by subject code.
func seedCertHistory(ctx context.Context, c *ent.Client, history []certHistory, sealKey []byte) (map[string]int, error) {
	cand, err := c.User.Query().Where(user.Login(CandidateID)).Only(ctx)
	if err != nil {
		return nil, err
	}
	reviewer, err := c.User.Query().Where(user.Login("reviewer")).Only(ctx)
	if err != nil {
		return nil, err
	}
	dept, err := c.Organization.Query().Where(organization.KindEQ(organization.KindDEPARTMENT)).First(ctx)
	if err != nil {
		return nil, err
	}
	site, err := c.Organization.Query().Where(organization.KindEQ(organization.KindEXAM_SITE)).
		Order(organization.ByID()).First(ctx)
	if err != nil {
		return nil, err
	}
	hall, err := c.Room.Query().Where(room.SiteID(site.ID)).Order(room.ByID()).First(ctx)
	if err != nil {
		return nil, err
	}
	sz, err := c.Region.Query().Where(region.Code("440300")).Only(ctx)
	if err != nil {
		return nil, err
	}
	plans := map[string]*ent.ExamPlan{}
	out := map[string]int{}
	for i, h := range history {
		plan := plans[h.plan]
		if plan == nil {
			if plan, err = c.ExamPlan.Create().SetName(h.plan).SetRegionID(sz.ID).
				SetEnrollStartsAt(h.examDay.AddDate(0, 0, -40)).SetEnrollEndsAt(h.examDay.AddDate(0, 0, -14)).
				SetExamFrom(h.examDay.AddDate(0, 0, -2)).SetExamTo(h.examDay.AddDate(0, 0, 5)).Save(ctx); err != nil {
				return nil, err
			}
			plans[h.plan] = plan
		}
		sub, err := c.Subject.Query().Where(subject.Code(h.subject)).Only(ctx)
		if err != nil {
			return nil, err
		}
		tpl, err := formalTemplate(ctx, c, sub)
		if err != nil {
			return nil, err
		}
		start := h.examDay.Add(9 * time.Hour)
		sess, err := c.ExamSession.Create().SetPlanID(plan.ID).SetSubjectID(sub.ID).SetRoomID(hall.ID).SetSiteID(site.ID).
			SetStartsAt(start).SetDurationMinutes(90).SetCapacity(hall.Capacity).SetStatus(examsession.StatusCLOSED).
			SetTaken(1).Save(ctx)
		if err != nil {
			return nil, err
		}
		applied := h.examDay.AddDate(0, 0, -30).Add(10 * time.Hour)
		e, err := c.Enrollment.Create().SetCandidateID(cand.ID).SetPlanID(plan.ID).SetSubjectID(sub.ID).
			SetSessionID(sess.ID).SetSiteID(site.ID).SetStatus(enrollment.StatusAPPROVED).
			SetPledgeAcceptedAt(applied).SetSubmittedAt(applied).SetReviewedAt(applied.AddDate(0, 0, 1)).
			SetReviewerID(reviewer.ID).SetReviewDepartmentID(dept.ID).SetFeeCents(sub.FeeCents).
			SetPaymentStatus(enrollment.PaymentStatusPAID).SetPaidAt(applied.AddDate(0, 0, 2)).
			SetCheckedInAt(start.Add(-20 * time.Minute)).Save(ctx)
		if err != nil {
			return nil, err
		}
		if err := c.Enrollment.UpdateOneID(e.ID).SetTicketNo(enrollments.TicketNumber(h.examDay.Year(), e.ID)).Exec(ctx); err != nil {
			return nil, err
		}
		score := 82 + 3*i
		a, err := c.Attempt.Create().SetEnrollmentID(e.ID).SetCandidateID(cand.ID).SetSessionID(sess.ID).
			SetSiteID(site.ID).SetTemplateID(tpl.ID).SetKind(attempt.KindFORMAL).SetSeed(int64(1000 + i)).
			SetStatus(attempt.StatusSUBMITTED).SetSubmitReason(attempt.SubmitReasonCANDIDATE).
			SetStartedAt(start).SetDeadline(start.Add(90 * time.Minute)).SetSubmittedAt(start.Add(70 * time.Minute)).
			SetConsentText(ExamConsent).SetConsentAt(start).SetScore(score).SetPassMark(tpl.PassMark).
			SetResult(attempt.ResultPASS).SetReviewedByID(reviewer.ID).SetReviewedAt(start.AddDate(0, 0, 3)).
			Save(ctx)
		if err != nil {
			return nil, err
		}
		if err := pastEvidence(ctx, c, a, reviewer.ID, sealKey); err != nil {
			return nil, err
		}
		out[h.subject] = a.ID
	}
	return out, nil
}

// pastEvidence gives a past attempt the evidence chain a real one has —
// consent, submission (sealed when the app seals), the review decision — so
// a reviewer opening it sees a sound chain, not an empty one.
func pastEvidence(ctx context.Context, c *ent.Client, a *ent.Attempt, reviewerID int, sealKey []byte) error {
	chain := evidence.Chain("attempt", a.ID)
	sum := sha256.Sum256([]byte(a.ConsentText))
	if _, err := evidence.Append(ctx, c, chain, evidence.KindConsent, &a.CandidateID, a.StartedAt,
		map[string]any{"textSha256": hex.EncodeToString(sum[:]), "kind": string(a.Kind)}); err != nil {
		return err
	}
	rec, err := evidence.Append(ctx, c, chain, evidence.KindSubmit, &a.CandidateID, *a.SubmittedAt,
		map[string]any{"reason": string(*a.SubmitReason), "score": *a.Score, "result": string(attempt.ResultPENDING_REVIEW)})
	if err != nil {
		return err
	}
	if len(sealKey) > 0 {
		s := evidence.NewSeal(sealKey, chain, rec.Seq, rec.Hash)
		if err := c.Attempt.UpdateOneID(a.ID).SetEvidenceSealSeq(s.Seq).SetEvidenceSealHash(s.Hash).
			SetEvidenceSealMAC(s.MAC).Exec(ctx); err != nil {
			return err
		}
	}
	_, err = evidence.Append(ctx, c, chain, evidence.KindReviewDecision, &reviewerID, *a.ReviewedAt,
		map[string]any{"decision": string(attempt.ResultPASS), "reason": "", "score": *a.Score, "practicalScore": nil})
	return err
}

// formalTemplate is the subject's formal paper template; subjects without
// one (the demo bank only has C2 questions) get an inactive past paper, so
// no one can start a live exam on an empty bank.
func formalTemplate(ctx context.Context, c *ent.Client, sub *ent.Subject) (*ent.PaperTemplate, error) {
	tpl, err := c.PaperTemplate.Query().
		Where(papertemplate.SubjectID(sub.ID), papertemplate.KindEQ(papertemplate.KindFORMAL)).
		Order(papertemplate.ByID()).First(ctx)
	if err == nil || !ent.IsNotFound(err) {
		return tpl, err
	}
	return c.PaperTemplate.Create().SetSubjectID(sub.ID).SetKind(papertemplate.KindFORMAL).
		SetName(sub.Code + "类正式考试试卷（往期）").SetDurationMinutes(90).SetPassMark(60).
		SetRules(formalRules).SetActive(false).Save(ctx)
}
