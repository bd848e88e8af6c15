package profile

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/enrollment"
	"github.com/kaowu/kaowu/ent/organization"
	entprofile "github.com/kaowu/kaowu/ent/profile"
	"github.com/kaowu/kaowu/ent/schematype"
	"github.com/kaowu/kaowu/ent/user"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/authz"
	"github.com/kaowu/kaowu/internal/idcard"
	"github.com/kaowu/kaowu/internal/training"
	"github.com/kaowu/kaowu/internal/txn"
	"github.com/kaowu/kaowu/internal/viewer"
)

// UpdateInput changes the viewer's profile. A nil field is left as it is; an
// empty string clears a text field.
type UpdateInput struct {
	CandidateType *entprofile.CandidateType
	// Category: SOCIAL candidates choose it; for NON_SOCIAL ones it follows
	// their approved training and a different choice is refused.
	Category *schematype.ExamCategory
	// Sex and BirthDate are derived from a resident ID number (a different
	// value is refused); holders of other documents enter them.
	Sex       *entprofile.Sex
	BirthDate *time.Time
	// CompanyName is the employer as written on the commitment letter. When
	// it is exactly the name of a registered company (not rejected), the
	// profile is linked to it (companyID): that company then sees the
	// profile and may enroll the candidate.
	CompanyName  *string
	YearsInTrade *int
	Education    *entprofile.Education
	// Ethnicity is one of Ethnicities() ("汉" is read as "汉族").
	Ethnicity *string
	Address   *string
	Title     *string // 专业技术职务, optional
	PostCode  *string // 6 digits, optional
}

// Field limits (the schema's, in characters).
const (
	maxCompanyRunes = 128
	maxAddressRunes = 256
	maxTitleRunes   = 64
	maxYearsInTrade = 70
)

var minBirth = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)

// MyProfile returns the viewer's profile, or nil when none was saved yet.
func (s *Service) MyProfile(ctx context.Context) (*ent.Profile, error) {
	v, err := authz.Require(ctx, "")
	if err != nil {
		return nil, err
	}
	p, err := s.db(ctx).Profile.Query().Where(entprofile.UserID(v.UserID)).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, nil
	}
	return p, err
}

// Update saves the viewer's own profile, creating it on first save. Only
// candidates have profiles. A refused update changes nothing.
func (s *Service) Update(ctx context.Context, in UpdateInput) (*ent.Profile, error) {
	v, err := authz.Require(ctx, "只有考生需要填写个人资料", viewer.Candidate)
	if err != nil {
		return nil, err
	}
	var out *ent.Profile
	err = txn.WithTx(ctx, s.Client, func(ctx context.Context) error {
		var err error
		out, err = s.update(ctx, v, in)
		return err
	})
	if ent.IsConstraintError(err) {
		// Two first saves raced on the unique user_id.
		return nil, apperr.Wrap(err, apperr.Conflict, "个人资料正在被另一处同时保存，请刷新后重试")
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Service) update(ctx context.Context, v *viewer.Viewer, in UpdateInput) (*ent.Profile, error) {
	db := s.db(ctx)
	sys := viewer.SystemContext(ctx)
	u, err := db.User.Get(sys, v.UserID)
	if err != nil {
		return nil, err
	}
	cur, err := db.Profile.Query().Where(entprofile.UserID(v.UserID)).Only(ctx)
	if err != nil && !ent.IsNotFound(err) {
		return nil, err
	}
	// The state after the update, built from the current row and the input.
	next := &ent.Profile{UserID: v.UserID}
	if cur != nil {
		c := *cur
		next = &c
	}

	// Identity: derived from a resident ID number, entered otherwise.
	if res, ok := resident(u); ok {
		sex, birth := entprofile.Sex(res.Sex), res.BirthDate
		if in.Sex != nil && *in.Sex != sex {
			return nil, apperr.Input("sex", "性别由身份证号码确定，不能修改")
		}
		if in.BirthDate != nil && !sameDay(*in.BirthDate, birth) {
			return nil, apperr.Input("birthDate", "出生日期由身份证号码确定，不能修改")
		}
		next.Sex, next.BirthDate = &sex, &birth
	} else {
		if in.Sex != nil {
			if entprofile.SexValidator(*in.Sex) != nil {
				return nil, apperr.Input("sex", "性别不正确")
			}
			next.Sex = in.Sex
		}
		if in.BirthDate != nil {
			b := calendarDay(*in.BirthDate)
			if b.Before(minBirth) || b.After(calendarDay(s.now())) {
				return nil, apperr.Input("birthDate", "出生日期不正确")
			}
			next.BirthDate = &b
		}
	}

	if in.CompanyName != nil {
		name, err := cleanText("companyName", "单位名称", *in.CompanyName, maxCompanyRunes)
		if err != nil {
			return nil, err
		}
		next.CompanyName = name
		next.CompanyID = nil
		if name != "" {
			// Exact name of a registered company (unique per kind).
			org, err := db.Organization.Query().Where(
				organization.KindEQ(organization.KindCOMPANY), organization.Name(name),
				organization.StatusNEQ(organization.StatusREJECTED),
			).Only(sys)
			if err == nil {
				next.CompanyID = &org.ID
			} else if !ent.IsNotFound(err) {
				return nil, err
			}
		}
	} else if cur == nil && u.OrganizationID != nil {
		// An account registered under a company starts linked to it.
		org, err := db.Organization.Get(sys, *u.OrganizationID)
		if err != nil {
			return nil, err
		}
		if org.Kind == organization.KindCOMPANY {
			next.CompanyName, next.CompanyID = org.Name, &org.ID
		}
	}
	if in.YearsInTrade != nil {
		if y := *in.YearsInTrade; y < 0 || y > maxYearsInTrade {
			return nil, apperr.Input("yearsInTrade", fmt.Sprintf("从业年限应在0到%d年之间", maxYearsInTrade))
		}
		if next.BirthDate != nil && *in.YearsInTrade > ageAt(*next.BirthDate, s.now()) {
			return nil, apperr.Input("yearsInTrade", "从业年限不能超过年龄")
		}
		next.YearsInTrade = in.YearsInTrade
	}
	if in.Education != nil {
		if entprofile.EducationValidator(*in.Education) != nil {
			return nil, apperr.Input("education", "学历不正确")
		}
		next.Education = in.Education
	}
	if in.Ethnicity != nil {
		e, err := NormalizeEthnicity(*in.Ethnicity)
		if err != nil {
			return nil, err
		}
		next.Ethnicity = e
	}
	if in.Address != nil {
		if next.Address, err = cleanText("address", "家庭住址", *in.Address, maxAddressRunes); err != nil {
			return nil, err
		}
	}
	if in.Title != nil {
		if next.Title, err = cleanText("title", "专业技术职务", *in.Title, maxTitleRunes); err != nil {
			return nil, err
		}
	}
	if in.PostCode != nil {
		pc := strings.TrimSpace(halfWidth(*in.PostCode))
		if pc != "" && !isPostCode(pc) {
			return nil, apperr.Input("postCode", "邮政编码应为6位数字")
		}
		next.PostCode = pc
	}

	if err := s.applyType(ctx, u, cur, next, in); err != nil {
		return nil, err
	}
	if cur == nil {
		return db.Profile.Create().
			SetUserID(v.UserID).SetNillableCandidateType(next.CandidateType).SetNillableCategory(next.Category).
			SetNillableSex(next.Sex).SetNillableBirthDate(next.BirthDate).
			SetCompanyName(next.CompanyName).SetNillableCompanyID(next.CompanyID).
			SetNillableYearsInTrade(next.YearsInTrade).SetNillableEducation(next.Education).
			SetEthnicity(next.Ethnicity).SetAddress(next.Address).SetTitle(next.Title).SetPostCode(next.PostCode).
			Save(ctx)
	}
	upd := db.Profile.UpdateOneID(cur.ID).
		SetNillableCandidateType(next.CandidateType).SetNillableSex(next.Sex).SetNillableBirthDate(next.BirthDate).
		SetCompanyName(next.CompanyName).SetNillableYearsInTrade(next.YearsInTrade).SetNillableEducation(next.Education).
		SetEthnicity(next.Ethnicity).SetAddress(next.Address).SetTitle(next.Title).SetPostCode(next.PostCode)
	if next.Category != nil {
		upd.SetCategory(*next.Category)
	} else {
		upd.ClearCategory()
	}
	if next.CompanyID != nil {
		upd.SetCompanyID(*next.CompanyID)
	} else {
		upd.ClearCompanyID()
	}
	return upd.Save(ctx)
}

// applyType sets the candidate type and category of next: a social
// candidate's choice, or the category a non-social candidate's approved
// training gives. Neither may change while an enrollment is under review or
// approved: the enrollment was made for them.
func (s *Service) applyType(ctx context.Context, u *ent.User, cur, next *ent.Profile, in UpdateInput) error {
	if in.CandidateType != nil {
		if entprofile.CandidateTypeValidator(*in.CandidateType) != nil {
			return apperr.Input("candidateType", "考生类型不正确")
		}
		next.CandidateType = in.CandidateType
	}
	if in.Category != nil && entprofile.CategoryValidator(*in.Category) != nil {
		return apperr.Input("category", "考试类别只能是 A、B、C1 或 C2")
	}
	switch {
	case next.CandidateType != nil && *next.CandidateType == entprofile.CandidateTypeNON_SOCIAL:
		sum, err := training.ApprovedOf(ctx, s.db(ctx), []int{u.ID})
		if err != nil {
			return err
		}
		cat := sum[u.ID].Category
		if in.Category != nil && (cat == nil || *cat != *in.Category) {
			return apperr.Input("category", "非社会化考生的考试类别由培训记录确定，不能自行选择")
		}
		next.Category = cat
	case in.Category != nil:
		if next.CandidateType == nil {
			return apperr.Input("candidateType", "请先选择考生类型")
		}
		next.Category = in.Category
	}
	if cur == nil || (eqPtr(cur.CandidateType, next.CandidateType) && eqPtr(cur.Category, next.Category)) {
		return nil
	}
	live, err := s.db(ctx).Enrollment.Query().Where(
		enrollment.CandidateID(u.ID),
		enrollment.StatusIn(enrollment.StatusPENDING_REVIEW, enrollment.StatusAPPROVED),
	).Exist(viewer.SystemContext(ctx))
	if err != nil {
		return err
	}
	if live {
		field := "candidateType"
		if eqPtr(cur.CandidateType, next.CandidateType) {
			field = "category"
		}
		return apperr.Input(field, "已有审核中或已通过的报名，不能更改考生类型或考试类别")
	}
	return nil
}

func eqPtr[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// resident parses the account's resident ID number, if it has one.
func resident(u *ent.User) (idcard.Resident, bool) {
	if u.IDNumber == nil || (u.IDType != nil && *u.IDType != user.IDTypeRESIDENT_ID) {
		return idcard.Resident{}, false
	}
	r, err := idcard.Parse(*u.IDNumber)
	return r, err == nil
}

// chinaTZ gives dates their calendar day; China has no DST.
var chinaTZ = time.FixedZone("CST", 8*3600)

// calendarDay is the day of t in China as midnight UTC, the convention of
// idcard birth dates.
func calendarDay(t time.Time) time.Time {
	y, m, d := t.In(chinaTZ).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// sameDay compares an input date with a stored one (midnight UTC).
func sameDay(in, stored time.Time) bool {
	return calendarDay(in).Equal(stored) || in.UTC().Equal(stored)
}

func ageAt(birth, now time.Time) int {
	n := calendarDay(now)
	age := n.Year() - birth.Year()
	if n.Month() < birth.Month() || (n.Month() == birth.Month() && n.Day() < birth.Day()) {
		age--
	}
	return age
}

// cleanText trims a single-line text field and checks its length and
// characters.
func cleanText(field, label, s string, maxRunes int) (string, error) {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) {
		return "", apperr.Input(field, label+"含有无效字符")
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return "", apperr.Input(field, label+"不能包含换行或不可见字符")
		}
	}
	if utf8.RuneCountInString(s) > maxRunes {
		return "", apperr.Input(field, fmt.Sprintf("%s不能超过%d个字", label, maxRunes))
	}
	return s, nil
}

// halfWidth maps full-width digits and letters (common with Chinese IMEs)
// to ASCII.
func halfWidth(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 0xFF01 && r <= 0xFF5E {
			return r - 0xFEE0
		}
		if r == 0x3000 {
			return ' '
		}
		return r
	}, s)
}

func isPostCode(s string) bool {
	if len(s) != 6 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ethnicities are the 56 ethnic groups in the order and spelling of
// GB/T 3304, then the two non-group entries of that standard for
// naturalised citizens and everyone else.
var ethnicities = []string{
	"汉族", "蒙古族", "回族", "藏族", "维吾尔族", "苗族", "彝族", "壮族", "布依族", "朝鲜族",
	"满族", "侗族", "瑶族", "白族", "土家族", "哈尼族", "哈萨克族", "傣族", "黎族", "傈僳族",
	"佤族", "畲族", "高山族", "拉祜族", "水族", "东乡族", "纳西族", "景颇族", "柯尔克孜族", "土族",
	"达斡尔族", "仫佬族", "羌族", "布朗族", "撒拉族", "毛南族", "仡佬族", "锡伯族", "阿昌族", "普米族",
	"塔吉克族", "怒族", "乌孜别克族", "俄罗斯族", "鄂温克族", "德昂族", "保安族", "裕固族", "京族", "塔塔尔族",
	"独龙族", "鄂伦春族", "赫哲族", "门巴族", "珞巴族", "基诺族",
	"外国血统中国籍人士", "其他",
}

// Ethnicities returns the accepted values of the ethnicity field, for
// pickers: the 56 groups, "外国血统中国籍人士" and "其他" (foreign
// nationals and undetermined groups).
func Ethnicities() []string { return slices.Clone(ethnicities) }

// NormalizeEthnicity accepts a listed value, or a group name without its
// "族" suffix; "" clears the field.
func NormalizeEthnicity(s string) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "" || slices.Contains(ethnicities, s):
		return s, nil
	case slices.Contains(ethnicities[:56], s+"族"):
		return s + "族", nil
	}
	return "", apperr.Input("ethnicity", "请从列表中选择民族")
}
