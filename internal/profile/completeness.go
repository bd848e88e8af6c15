package profile

import (
	"context"
	"slices"
	"strings"
	"time"

	"entgo.io/ent/dialect/sql"

	"github.com/kaowu/kaowu/ent/attachment"
	entprofile "github.com/kaowu/kaowu/ent/profile"
	"github.com/kaowu/kaowu/ent/schematype"
	"github.com/kaowu/kaowu/ent/user"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/authz"
	"github.com/kaowu/kaowu/internal/training"
	"github.com/kaowu/kaowu/internal/viewer"
)

// Missing is one thing a profile lacks. Field is the input field
// ("companyName"), the attachment kind ("ID_PHOTO") or "trainingHours";
// Label says it in Chinese for the user.
type Missing struct {
	Field string
	Label string
}

// Completeness says whether a candidate's profile is complete enough to
// enroll, and if not, what is missing, in form order.
type Completeness struct {
	Complete bool
	Missing  []Missing
	// CandidateType as saved (nil when not chosen yet).
	CandidateType *entprofile.CandidateType
	// Category the candidate would sit: the chosen one for social
	// candidates, the one of the latest approved training for non-social.
	Category *schematype.ExamCategory
	// ApprovedHours counts for non-social candidates (in Category).
	ApprovedHours float64
	// RequiredHours is training.RequiredHours for non-social candidates, 0
	// for social ones.
	RequiredHours float64
}

// Labels returns the Chinese labels of Missing.
func (c *Completeness) Labels() []string {
	out := make([]string, len(c.Missing))
	for i, m := range c.Missing {
		out[i] = m.Label
	}
	return out
}

// Field and attachment labels, in form order.
var (
	labelCandidateType = Missing{"candidateType", "考生类型"}
	labelCategory      = Missing{"category", "考试类别"}
	labelCategoryTrain = Missing{"category", "考试类别（由培训记录确定，暂无审核通过的培训记录）"}
	labelSex           = Missing{"sex", "性别"}
	labelBirthDate     = Missing{"birthDate", "出生日期"}
	labelCompanyName   = Missing{"companyName", "单位名称"}
	labelYearsInTrade  = Missing{"yearsInTrade", "从业年限"}
	labelEducation     = Missing{"education", "学历"}
	labelEthnicity     = Missing{"ethnicity", "民族"}
	labelAddress       = Missing{"address", "家庭住址"}
)

// requiredKinds are the attachments every candidate needs; STUDY_PROOF is
// added for social candidates.
var requiredKinds = []attachment.Kind{
	attachment.KindID_PHOTO, attachment.KindID_CARD_FRONT, attachment.KindID_CARD_BACK,
	attachment.KindEDUCATION_CERT, attachment.KindCOMMITMENT_LETTER,
}

var profileKinds = append(slices.Clone(requiredKinds), attachment.KindSTUDY_PROOF)

// kindLabel names an attachment for the holder of a document type (nil:
// resident ID, the registration default).
func kindLabel(k attachment.Kind, idType *string) string {
	doc := string(user.IDTypeRESIDENT_ID)
	if idType != nil {
		doc = *idType
	}
	switch k {
	case attachment.KindID_PHOTO:
		return "证件照"
	case attachment.KindID_CARD_FRONT:
		switch doc {
		case string(user.IDTypeRESIDENT_ID):
			return "身份证正面"
		case string(user.IDTypePASSPORT):
			return "护照信息页"
		}
		return "证件正面"
	case attachment.KindID_CARD_BACK:
		if doc == string(user.IDTypeRESIDENT_ID) {
			return "身份证反面"
		}
		return "证件反面"
	case attachment.KindEDUCATION_CERT:
		return "学历证书"
	case attachment.KindCOMMITMENT_LETTER:
		return "单位承诺书（须加盖公章）"
	case attachment.KindSTUDY_PROOF:
		return "学习证明（社会化考生，须加盖培训机构公章）"
	}
	return string(k)
}

// Completeness reports on one candidate. The candidate themself, reviewers,
// admins, a company for a candidate whose profile names it, and system
// callers (the enrollment service, which has decided already) may ask.
func (s *Service) Completeness(ctx context.Context, userID int) (*Completeness, error) {
	all, err := s.CompletenessOf(ctx, []int{userID})
	if err != nil {
		return nil, err
	}
	return all[userID], nil
}

// CompletenessOf reports on several candidates with at most three
// statements whatever their number (accounts with profiles, attachments,
// approved training), for bulk enrollment. It fails whole if the caller may
// not see one of them, or one is not a candidate.
func (s *Service) CompletenessOf(ctx context.Context, userIDs []int) (map[int]*Completeness, error) {
	var v *viewer.Viewer
	if !viewer.IsSystem(ctx) {
		var err error
		if v, err = authz.Require(ctx, ""); err != nil {
			return nil, err
		}
	}
	ids := slices.Compact(slices.Sorted(slices.Values(userIDs)))
	out := make(map[int]*Completeness, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	sys := viewer.SystemContext(ctx)
	db := s.db(ctx)

	// 1. Accounts and their profiles, in one join.
	var rows []profileRow
	err := db.User.Query().Where(user.IDIn(ids...)).Modify(func(q *sql.Selector) {
		p := sql.Table(entprofile.Table)
		q.LeftJoin(p).On(q.C(user.FieldID), p.C(entprofile.FieldUserID))
		q.Select(
			q.C(user.FieldID), q.C(user.FieldRole), q.C(user.FieldIDType), sql.As(q.C(user.FieldOrganizationID), "user_org"),
			sql.As(p.C(entprofile.FieldID), "profile_id"), p.C(entprofile.FieldCandidateType), p.C(entprofile.FieldCategory),
			p.C(entprofile.FieldSex), p.C(entprofile.FieldBirthDate), p.C(entprofile.FieldCompanyName), p.C(entprofile.FieldCompanyID),
			p.C(entprofile.FieldYearsInTrade), p.C(entprofile.FieldEducation), p.C(entprofile.FieldEthnicity), p.C(entprofile.FieldAddress),
		)
	}).Scan(sys, &rows)
	if err != nil {
		return nil, err
	}
	byID := make(map[int]*profileRow, len(rows))
	for i := range rows {
		byID[rows[i].ID] = &rows[i]
	}
	var vouched []int // companies whose own commitment letter counts for a member
	var nonSocial []int
	for _, id := range ids {
		r := byID[id]
		if r == nil || r.Role != string(user.RoleCANDIDATE) {
			return nil, apperr.New(apperr.NotFound, "考生不存在").With("field", "userID")
		}
		if !mayRead(v, r) {
			return nil, apperr.New(apperr.Forbidden, "无权查看该考生的资料")
		}
		if r.companyLetterCounts() {
			vouched = append(vouched, *r.CompanyID)
		}
		if r.CandidateType != nil && *r.CandidateType == string(entprofile.CandidateTypeNON_SOCIAL) {
			nonSocial = append(nonSocial, id)
		}
	}

	// 2. Which profile attachments exist, the candidates' own and their
	// companies' letters, in one query (owner joined for the company).
	where := attachment.And(attachment.OwnerIDIn(ids...), attachment.KindIn(profileKinds...))
	if len(vouched) > 0 {
		where = attachment.Or(where, attachment.And(
			attachment.KindEQ(attachment.KindCOMMITMENT_LETTER),
			attachment.HasOwnerWith(user.RoleEQ(user.RoleCOMPANY), user.OrganizationIDIn(vouched...)),
		))
	}
	var have []attachmentRow
	err = db.Attachment.Query().Where(where).Modify(func(q *sql.Selector) {
		u := sql.Table(user.Table).As("owner")
		q.Join(u).On(q.C(attachment.FieldOwnerID), u.C(user.FieldID))
		q.Select(q.C(attachment.FieldOwnerID), q.C(attachment.FieldKind),
			sql.As(u.C(user.FieldRole), "owner_role"), sql.As(u.C(user.FieldOrganizationID), "owner_org")).Distinct()
	}).Scan(sys, &have)
	if err != nil {
		return nil, err
	}
	own := map[int]map[attachment.Kind]bool{}
	companyLetter := map[int]bool{}
	for _, a := range have {
		if a.OwnerRole == string(user.RoleCOMPANY) {
			if a.OwnerOrg != nil {
				companyLetter[*a.OwnerOrg] = true
			}
			continue
		}
		if own[a.OwnerID] == nil {
			own[a.OwnerID] = map[attachment.Kind]bool{}
		}
		own[a.OwnerID][attachment.Kind(a.Kind)] = true
	}

	// 3. Approved training of the non-social ones.
	hours, err := training.ApprovedOf(ctx, db, nonSocial)
	if err != nil {
		return nil, err
	}

	for _, id := range ids {
		r := byID[id]
		c := &Completeness{}
		miss := func(m Missing) { c.Missing = append(c.Missing, m) }
		social, nonsocial := false, false
		if r.CandidateType != nil {
			ct := entprofile.CandidateType(*r.CandidateType)
			c.CandidateType = &ct
			social, nonsocial = ct == entprofile.CandidateTypeSOCIAL, ct == entprofile.CandidateTypeNON_SOCIAL
		}
		switch {
		case social:
			if r.Category != nil {
				cat := schematype.ExamCategory(*r.Category)
				c.Category = &cat
			}
		case nonsocial:
			h := hours[id]
			c.Category, c.ApprovedHours, c.RequiredHours = h.Category, h.Hours, training.RequiredHours
		}
		if c.CandidateType == nil {
			miss(labelCandidateType)
		}
		if c.Category == nil {
			if nonsocial {
				miss(labelCategoryTrain)
			} else {
				miss(labelCategory)
			}
		}
		if r.Sex == nil {
			miss(labelSex)
		}
		if r.BirthDate == nil {
			miss(labelBirthDate)
		}
		if r.CompanyName == nil || strings.TrimSpace(*r.CompanyName) == "" {
			miss(labelCompanyName)
		}
		if r.YearsInTrade == nil {
			miss(labelYearsInTrade)
		}
		if r.Education == nil {
			miss(labelEducation)
		}
		if r.Ethnicity == nil || *r.Ethnicity == "" {
			miss(labelEthnicity)
		}
		if r.Address == nil || strings.TrimSpace(*r.Address) == "" {
			miss(labelAddress)
		}
		kinds := requiredKinds
		if social {
			kinds = profileKinds
		}
		for _, k := range kinds {
			// A passport has one page to show, not two sides.
			if k == attachment.KindID_CARD_BACK && r.IDType != nil && *r.IDType == string(user.IDTypePASSPORT) {
				continue
			}
			ok := own[id][k]
			if k == attachment.KindCOMMITMENT_LETTER && !ok && r.companyLetterCounts() {
				ok = companyLetter[*r.CompanyID]
			}
			if !ok {
				miss(Missing{string(k), kindLabel(k, r.IDType)})
			}
		}
		if nonsocial && c.ApprovedHours < training.RequiredHours {
			miss(Missing{"trainingHours", "学时不足：已完成 " + training.FormatHours(c.ApprovedHours) +
				" 学时，需满 " + training.FormatHours(training.RequiredHours) + " 学时"})
		}
		c.Complete = len(c.Missing) == 0
		out[id] = c
	}
	return out, nil
}

// profileRow is an account left-joined with its profile.
type profileRow struct {
	ID            int        `sql:"id"`
	Role          string     `sql:"role"`
	IDType        *string    `sql:"id_type"`
	UserOrg       *int       `sql:"user_org"`
	ProfileID     *int       `sql:"profile_id"`
	CandidateType *string    `sql:"candidate_type"`
	Category      *string    `sql:"category"`
	Sex           *string    `sql:"sex"`
	BirthDate     *time.Time `sql:"birth_date"`
	CompanyName   *string    `sql:"company_name"`
	CompanyID     *int       `sql:"company_id"`
	YearsInTrade  *int       `sql:"years_in_trade"`
	Education     *string    `sql:"education"`
	Ethnicity     *string    `sql:"ethnicity"`
	Address       *string    `sql:"address"`
}

// companyLetterCounts: the company's own commitment letter stands in for the
// candidate's only when the profile names the company AND the account
// belongs to it (registered by or for the company). Naming a company in a
// profile is the candidate's own claim and must not borrow its letter.
func (r *profileRow) companyLetterCounts() bool {
	return r.CompanyID != nil && r.UserOrg != nil && *r.CompanyID == *r.UserOrg
}

type attachmentRow struct {
	OwnerID   int    `sql:"owner_id"`
	Kind      string `sql:"kind"`
	OwnerRole string `sql:"owner_role"`
	OwnerOrg  *int   `sql:"owner_org"`
}

// mayRead: the candidate themself, reviewers and admins, and a company for
// candidates whose profile names it or whose account belongs to it. v is
// nil for system callers.
func mayRead(v *viewer.Viewer, r *profileRow) bool {
	switch {
	case v == nil:
		return true
	case v.UserID == r.ID, v.Is(viewer.Admin, viewer.Reviewer):
		return true
	case v.Is(viewer.Company) && v.OrgID != 0:
		return (r.CompanyID != nil && *r.CompanyID == v.OrgID) || (r.UserOrg != nil && *r.UserOrg == v.OrgID)
	}
	return false
}

// Checker adapts the service to the enrollment service's ProfileChecker
// (complete, missing labels): wire it as enrollment.Service.Profiles.
type Checker struct{ S *Service }

// Completeness implements enrollment.ProfileChecker.
func (c Checker) Completeness(ctx context.Context, userID int) (bool, []string, string, error) {
	r, err := c.S.Completeness(ctx, userID)
	if err != nil {
		return false, nil, "", err
	}
	category := ""
	if r.Category != nil {
		category = string(*r.Category)
	}
	return r.Complete, r.Labels(), category, nil
}
