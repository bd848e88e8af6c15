package certificate

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	entsql "entgo.io/ent/dialect/sql"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/attempt"
	entcert "github.com/kaowu/kaowu/ent/certificate"
	"github.com/kaowu/kaowu/ent/certificatecounter"
	"github.com/kaowu/kaowu/ent/enrollment"
	"github.com/kaowu/kaowu/ent/examplan"
	"github.com/kaowu/kaowu/ent/examsession"
	"github.com/kaowu/kaowu/ent/organization"
	"github.com/kaowu/kaowu/ent/profile"
	"github.com/kaowu/kaowu/ent/region"
	"github.com/kaowu/kaowu/ent/subject"
	"github.com/kaowu/kaowu/ent/user"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/authz"
	"github.com/kaowu/kaowu/internal/idcard"
	"github.com/kaowu/kaowu/internal/txn"
	"github.com/kaowu/kaowu/internal/viewer"
)

// categoryCode is the category part of a number: the subject's category,
// X for subjects outside A/B/C1/C2.
func categoryCode(c subject.Category) string {
	if c == subject.CategoryOTHER {
		return "X"
	}
	return string(c)
}

// FormatNumber builds a certificate number: <prefix>-<category>-<year>-<seq>,
// the sequence zero-padded to six digits (e.g. KW-C1-2026-000042).
func FormatNumber(prefix, category string, year, seq int) string {
	return fmt.Sprintf("%s-%s-%d-%06d", prefix, category, year, seq)
}

// Pending is a passed FORMAL attempt awaiting certificate approval.
type Pending struct {
	AttemptID      int
	CandidateID    int
	Name           string
	MaskedID       string
	SubjectID      int
	SubjectCode    string
	SubjectName    string
	SiteID         int
	SiteName       string
	ExamDate       time.Time
	Score          *int
	PracticalScore *int
	ReviewedAt     *time.Time
}

// noCertificate keeps attempts that have no certificate yet.
func noCertificate(s *entsql.Selector) {
	t := entsql.Table(entcert.Table)
	s.Where(entsql.NotIn(s.C(attempt.FieldID), entsql.Select(t.C(entcert.FieldAttemptID)).From(t)))
}

// PendingIssue lists, for ADMIN, the PASS results of FORMAL attempts that
// have no certificate yet, oldest decision first.
func (s *Service) PendingIssue(ctx context.Context) ([]Pending, error) {
	if _, err := authz.Require(ctx, "只有省总站管理员可以审批发证", viewer.Admin); err != nil {
		return nil, err
	}
	sys := viewer.SystemContext(ctx)
	c := s.db(ctx)
	atts, err := c.Attempt.Query().
		Where(attempt.KindEQ(attempt.KindFORMAL), attempt.ResultEQ(attempt.ResultPASS), noCertificate).
		Order(attempt.ByReviewedAt(), attempt.ByID()).All(sys)
	if err != nil || len(atts) == 0 {
		return []Pending{}, err
	}
	var userIDs, enrIDs, siteIDs, sessIDs []int
	for _, a := range atts {
		userIDs = append(userIDs, a.CandidateID)
		enrIDs = append(enrIDs, a.EnrollmentID)
		siteIDs = append(siteIDs, a.SiteID)
		sessIDs = append(sessIDs, a.SessionID)
	}
	users, err := c.User.Query().Where(user.IDIn(userIDs...)).All(sys)
	if err != nil {
		return nil, err
	}
	enrs, err := c.Enrollment.Query().Where(enrollment.IDIn(enrIDs...)).All(sys)
	if err != nil {
		return nil, err
	}
	var subjIDs []int
	for _, e := range enrs {
		subjIDs = append(subjIDs, e.SubjectID)
	}
	subjs, err := c.Subject.Query().Where(subject.IDIn(subjIDs...)).All(sys)
	if err != nil {
		return nil, err
	}
	sites, err := c.Organization.Query().Where(organization.IDIn(siteIDs...)).All(sys)
	if err != nil {
		return nil, err
	}
	sess, err := c.ExamSession.Query().Where(examsession.IDIn(sessIDs...)).All(sys)
	if err != nil {
		return nil, err
	}
	userBy := byID(users, func(x *ent.User) int { return x.ID })
	enrBy := byID(enrs, func(x *ent.Enrollment) int { return x.ID })
	subjBy := byID(subjs, func(x *ent.Subject) int { return x.ID })
	siteBy := byID(sites, func(x *ent.Organization) int { return x.ID })
	sessBy := byID(sess, func(x *ent.ExamSession) int { return x.ID })
	out := make([]Pending, 0, len(atts))
	for _, a := range atts {
		p := Pending{AttemptID: a.ID, CandidateID: a.CandidateID, SiteID: a.SiteID, Score: a.Score,
			PracticalScore: a.PracticalScore, ReviewedAt: a.ReviewedAt}
		if u := userBy[a.CandidateID]; u != nil {
			p.Name = u.Name
			if u.IDNumber != nil {
				p.MaskedID = idcard.Mask(*u.IDNumber)
			}
		}
		if e := enrBy[a.EnrollmentID]; e != nil {
			if sj := subjBy[e.SubjectID]; sj != nil {
				p.SubjectID, p.SubjectCode, p.SubjectName = sj.ID, sj.Code, sj.Name
			}
		}
		if st := siteBy[a.SiteID]; st != nil {
			p.SiteName = st.Name
		}
		if se := sessBy[a.SessionID]; se != nil {
			p.ExamDate = se.StartsAt
		}
		out = append(out, p)
	}
	return out, nil
}

func byID[T any](rows []T, id func(T) int) map[int]T {
	m := make(map[int]T, len(rows))
	for _, r := range rows {
		m[id(r)] = r
	}
	return m
}

// batchError names the attempt at fault.
func batchError(code apperr.Code, id int, format string, args ...any) *apperr.Error {
	e := apperr.Newf(code, format, args...).With("attemptID", id)
	e.Field = "attemptIDs"
	return e
}

// draft is one certificate being issued, before its number is allocated.
type draft struct {
	create   *ent.CertificateCreate
	counter  string // counter prefix: <prefix>-<category>
	prefix   string
	category string
	holder   int
	subject  string
}

// IssueBatch issues certificates, for ADMIN, for the given FORMAL attempts
// with result PASS and no certificate yet, in one transaction: if any id
// is bad (unknown, mock, not passed, already issued, repeated) nothing is
// issued and the error names it (extensions.attemptID). Numbers are
// allocated per counter in a fixed order so concurrent batches cannot
// deadlock; holders are notified after commit.
func (s *Service) IssueBatch(ctx context.Context, attemptIDs []int) ([]*ent.Certificate, error) {
	v, err := authz.Require(ctx, "只有省总站管理员可以审批发证", viewer.Admin)
	if err != nil {
		return nil, err
	}
	if len(attemptIDs) == 0 {
		return nil, apperr.Input("attemptIDs", "请选择要发证的考试记录")
	}
	if len(attemptIDs) > MaxBatch {
		return nil, apperr.Input("attemptIDs", fmt.Sprintf("一次最多发放 %d 本证书", MaxBatch))
	}
	seen := map[int]bool{}
	for _, id := range attemptIDs {
		if seen[id] {
			return nil, batchError(apperr.BadInput, id, "考试记录 %d 重复选择", id)
		}
		seen[id] = true
	}
	now := s.now()
	var out []*ent.Certificate
	err = txn.WithTx(ctx, s.Client, func(ctx context.Context) error {
		c := s.db(ctx)
		drafts := make([]*draft, 0, len(attemptIDs))
		for _, id := range attemptIDs {
			d, err := s.prepare(ctx, c, v, id, now)
			if err != nil {
				return err
			}
			drafts = append(drafts, d)
		}
		// Allocate per counter, counters in sorted order: every batch locks
		// counter rows in the same order.
		count := map[string]int{}
		for _, d := range drafts {
			count[d.counter]++
		}
		keys := make([]string, 0, len(count))
		for k := range count {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		year := now.In(ChinaTZ).Year()
		next := map[string]int{}
		for _, k := range keys {
			last, err := s.allocate(ctx, c, k, year, count[k])
			if err != nil {
				return err
			}
			next[k] = last - count[k] + 1
		}
		out = make([]*ent.Certificate, 0, len(drafts))
		for i, d := range drafts {
			number := FormatNumber(d.prefix, d.category, year, next[d.counter])
			next[d.counter]++
			cert, err := d.create.SetNumber(number).Save(viewer.SystemContext(ctx))
			if ent.IsConstraintError(err) {
				// Another batch issued this attempt first (unique attempt_id).
				return batchError(apperr.Conflict, attemptIDs[i], "考试记录 %d 已发证，不能重复发证", attemptIDs[i])
			} else if err != nil {
				return err
			}
			body := fmt.Sprintf("您的《%s》证书已发放，证书编号 %s，有效期至 %s。可在“我的证书”中查看和下载。",
				d.subject, number, date(lastDay(cert.ValidUntil)))
			if err := s.Notifier.Notify(ctx, d.holder, KindIssued, "证书已发放", body); err != nil {
				return err
			}
			out = append(out, cert)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// prepare checks attempt id and builds its certificate from snapshots.
func (s *Service) prepare(ctx context.Context, c *ent.Client, v *viewer.Viewer, id int, now time.Time) (*draft, error) {
	sys := viewer.SystemContext(ctx)
	a, err := c.Attempt.Get(sys, id)
	if ent.IsNotFound(err) {
		return nil, batchError(apperr.NotFound, id, "考试记录 %d 不存在", id)
	} else if err != nil {
		return nil, err
	}
	switch {
	case a.Kind != attempt.KindFORMAL:
		return nil, batchError(apperr.Conflict, id, "考试记录 %d 是模拟考试，不能发证", id)
	case a.Result == nil || *a.Result != attempt.ResultPASS:
		return nil, batchError(apperr.Conflict, id, "考试记录 %d 的成绩尚未审核为合格，不能发证", id)
	}
	if old, err := c.Certificate.Query().Where(entcert.AttemptID(id)).Only(sys); err == nil {
		return nil, batchError(apperr.Conflict, id, "考试记录 %d 已发证（证书编号 %s），不能重复发证", id, old.Number)
	} else if !ent.IsNotFound(err) {
		return nil, err
	}
	holder, err := c.User.Get(sys, a.CandidateID)
	if err != nil {
		return nil, err
	}
	enr, err := c.Enrollment.Get(sys, a.EnrollmentID)
	if err != nil {
		return nil, err
	}
	subj, err := c.Subject.Get(sys, enr.SubjectID)
	if err != nil {
		return nil, err
	}
	site, err := c.Organization.Get(sys, a.SiteID)
	if err != nil {
		return nil, err
	}
	reg, err := c.ExamPlan.Query().Where(examplan.ID(enr.PlanID)).QueryRegion().Only(sys)
	if err != nil && !ent.IsNotFound(err) {
		return nil, err
	}
	employer, err := employerOf(sys, c, holder.ID, enr)
	if err != nil {
		return nil, err
	}
	idNumber, idType := "", ""
	if holder.IDNumber != nil {
		idNumber = *holder.IDNumber
	}
	if holder.IDType != nil {
		idType = string(*holder.IDType)
	}
	from := startOfDay(now)
	create := c.Certificate.Create().
		SetHolderID(holder.ID).SetHolderName(holder.Name).SetHolderIDType(idType).
		SetHolderIDNumber(idNumber).SetHolderIDMasked(idcard.Mask(idNumber)).
		SetAttemptID(a.ID).SetEnrollmentID(enr.ID).
		SetSubjectID(subj.ID).SetSubjectCode(subj.Code).SetSubjectName(subj.Name).SetCategory(string(subj.Category)).
		SetEmployer(employer).SetSiteID(site.ID).SetSiteName(site.Name).SetAuthority(s.authority()).
		SetIssuedByID(v.UserID).SetIssuedAt(now.UTC()).
		SetValidFrom(from.UTC()).SetValidUntil(addMonths(from, 12*s.years()).UTC())
	if reg != nil {
		create.SetRegionCode(reg.Code).SetRegionName(reg.Name)
	}
	cat := categoryCode(subj.Category)
	return &draft{create: create, counter: s.prefix() + "-" + cat, prefix: s.prefix(), category: cat,
		holder: holder.ID, subject: subj.Name}, nil
}

// employerOf is the holder's employer at issue: the company name in the
// profile, else the profile's or the enrollment's company organisation.
func employerOf(sys context.Context, c *ent.Client, holderID int, enr *ent.Enrollment) (string, error) {
	p, err := c.Profile.Query().Where(profile.UserID(holderID)).Only(sys)
	if err != nil && !ent.IsNotFound(err) {
		return "", err
	}
	if p != nil && strings.TrimSpace(p.CompanyName) != "" {
		return strings.TrimSpace(p.CompanyName), nil
	}
	var orgID *int
	if p != nil && p.CompanyID != nil {
		orgID = p.CompanyID
	} else if enr.CompanyID != nil {
		orgID = enr.CompanyID
	}
	if orgID == nil {
		return "", nil
	}
	o, err := c.Organization.Get(sys, *orgID)
	if ent.IsNotFound(err) {
		return "", nil
	} else if err != nil {
		return "", err
	}
	return o.Name, nil
}

// allocate reserves n numbers of counter prefix in year and returns the
// last one. The upsert increments the row in one statement; the row stays
// locked (PostgreSQL) or the database write-locked (SQLite) until the
// issuing transaction ends, so no two transactions get the same numbers,
// and a rolled-back batch gives its numbers back.
func (s *Service) allocate(ctx context.Context, c *ent.Client, prefix string, year, n int) (int, error) {
	sys := viewer.SystemContext(ctx)
	err := c.CertificateCounter.Create().SetPrefix(prefix).SetYear(year).SetSeq(n).
		OnConflictColumns(certificatecounter.FieldPrefix, certificatecounter.FieldYear).
		AddSeq(n).Exec(sys)
	if err != nil {
		return 0, err
	}
	row, err := c.CertificateCounter.Query().
		Where(certificatecounter.Prefix(prefix), certificatecounter.Year(year)).Only(sys)
	if err != nil {
		return 0, err
	}
	return row.Seq, nil
}

// regionByCode finds a region by its code.
func regionByCode(ctx context.Context, c *ent.Client, code string) (*ent.Region, error) {
	r, err := c.Region.Query().Where(region.Code(code)).Only(viewer.SystemContext(ctx))
	if ent.IsNotFound(err) {
		return nil, nil
	}
	return r, err
}
