package profile_test

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/enrollment"
	"github.com/kaowu/kaowu/ent/organization"
	entprofile "github.com/kaowu/kaowu/ent/profile"
	"github.com/kaowu/kaowu/ent/schematype"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/profile"
	"github.com/kaowu/kaowu/internal/testenv"
	"github.com/kaowu/kaowu/internal/training"
)

func (e *env) profileOf(t *testing.T, userID int) *ent.Profile {
	t.Helper()
	p, err := e.client.Profile.Query().Where(entprofile.UserID(userID)).Only(e.sys)
	if ent.IsNotFound(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// same compares the stored fields of two profiles (times aside).
func same(a, b *ent.Profile) bool {
	if a == nil || b == nil {
		return a == b
	}
	x, y := *a, *b
	x.CreatedAt, y.CreatedAt, x.UpdatedAt, y.UpdatedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	x.Edges, y.Edges = ent.ProfileEdges{}, ent.ProfileEdges{}
	bx, by := x.BirthDate, y.BirthDate
	x.BirthDate, y.BirthDate = nil, nil
	return x.String() == y.String() && ((bx == nil) == (by == nil)) && (bx == nil || bx.Equal(*by))
}

func TestUpdate(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, dbURL string) {
		e := localEnv(t, dbURL)

		t.Run("resident: sex and birth date come from the ID number", func(t *testing.T) {
			u := e.candidate("张三")
			p, err := e.svc.Update(as(u), profile.UpdateInput{
				CompanyName: ptr("  某某建筑公司 "), YearsInTrade: ptr(5), Education: ptr(entprofile.EducationBACHELOR),
				Ethnicity: ptr("汉"), Address: ptr("深圳市南山区科技园1号"), Title: ptr("工程师"), PostCode: ptr("５１８０５７"),
			})
			if err != nil {
				t.Fatal(err)
			}
			wantSex := entprofile.SexFEMALE
			if e.seq%2 == 1 {
				wantSex = entprofile.SexMALE
			}
			if *p.Sex != wantSex || !p.BirthDate.Equal(residentBirth) {
				t.Fatalf("sex %v birth %v", *p.Sex, p.BirthDate)
			}
			if p.CompanyName != "某某建筑公司" || p.CompanyID != nil || *p.YearsInTrade != 5 || p.Ethnicity != "汉族" ||
				p.PostCode != "518057" || p.Title != "工程师" || p.UserID != u.ID {
				t.Fatalf("profile %+v", p)
			}
			// The same values may be sent back; different ones are refused.
			if _, err := e.svc.Update(as(u), profile.UpdateInput{Sex: &wantSex, BirthDate: ptr(residentBirth.In(time.FixedZone("CST", 8*3600)))}); err != nil {
				t.Fatalf("echoing derived values: %v", err)
			}
			other := entprofile.SexMALE
			if wantSex == other {
				other = entprofile.SexFEMALE
			}
			before := e.profileOf(t, u.ID)
			_, err = e.svc.Update(as(u), profile.UpdateInput{Sex: &other, Address: ptr("别处")})
			wantCode(t, err, apperr.BadInput, "sex")
			_, err = e.svc.Update(as(u), profile.UpdateInput{BirthDate: ptr(residentBirth.AddDate(1, 0, 0))})
			wantCode(t, err, apperr.BadInput, "birthDate")
			if !same(before, e.profileOf(t, u.ID)) {
				t.Fatal("refused update changed the profile")
			}
			// Partial update keeps everything else.
			p, err = e.svc.Update(as(u), profile.UpdateInput{Title: ptr("")})
			if err != nil || p.Title != "" || p.Address != "深圳市南山区科技园1号" || *p.YearsInTrade != 5 {
				t.Fatalf("partial update: %+v %v", p, err)
			}
			got, err := e.svc.MyProfile(as(u))
			if err != nil || got.ID != p.ID {
				t.Fatalf("MyProfile %v %v", got, err)
			}
		})

		t.Run("other documents enter sex and birth date", func(t *testing.T) {
			u := e.passportHolder("John")
			birth := time.Date(1990, 2, 3, 0, 0, 0, 0, time.UTC)
			p, err := e.svc.Update(as(u), profile.UpdateInput{Sex: ptr(entprofile.SexMALE), BirthDate: ptr(birth.Add(20 * time.Hour)), Ethnicity: ptr("其他")})
			if err != nil {
				t.Fatal(err)
			}
			// 20:00 UTC is the next morning in China: the calendar day counts.
			if *p.Sex != entprofile.SexMALE || !p.BirthDate.Equal(birth.AddDate(0, 0, 1)) || p.Ethnicity != "其他" {
				t.Fatalf("profile %+v", p)
			}
			_, err = e.svc.Update(as(u), profile.UpdateInput{BirthDate: ptr(e.clock.Now().Add(48 * time.Hour))})
			wantCode(t, err, apperr.BadInput, "birthDate")
			_, err = e.svc.Update(as(u), profile.UpdateInput{BirthDate: ptr(time.Date(1850, 1, 1, 0, 0, 0, 0, time.UTC))})
			wantCode(t, err, apperr.BadInput, "birthDate")
			_, err = e.svc.Update(as(u), profile.UpdateInput{Sex: ptr(entprofile.Sex("X"))})
			wantCode(t, err, apperr.BadInput, "sex")
			if none, err := e.svc.MyProfile(as(e.passportHolder("Jane"))); none != nil || err != nil {
				t.Fatalf("MyProfile without a profile: %v %v", none, err)
			}
		})

		t.Run("bad input changes nothing", func(t *testing.T) {
			u := e.candidate("李四")
			if _, err := e.svc.Update(as(u), profile.UpdateInput{Address: ptr("原地址")}); err != nil {
				t.Fatal(err)
			}
			before := e.profileOf(t, u.ID)
			cases := []struct {
				name  string
				in    profile.UpdateInput
				field string
			}{
				{"ethnicity not in the list", profile.UpdateInput{Ethnicity: ptr("火星族")}, "ethnicity"},
				{"post code 5 digits", profile.UpdateInput{PostCode: ptr("12345")}, "postCode"},
				{"post code letters", profile.UpdateInput{PostCode: ptr("51805a")}, "postCode"},
				{"years negative", profile.UpdateInput{YearsInTrade: ptr(-1)}, "yearsInTrade"},
				{"years absurd", profile.UpdateInput{YearsInTrade: ptr(71)}, "yearsInTrade"},
				{"years over age", profile.UpdateInput{YearsInTrade: ptr(45)}, "yearsInTrade"},
				{"company name too long", profile.UpdateInput{CompanyName: ptr(strings.Repeat("公", 129))}, "companyName"},
				{"address too long", profile.UpdateInput{Address: ptr(strings.Repeat("路", 257))}, "address"},
				{"address with a newline", profile.UpdateInput{Address: ptr("一行\n两行")}, "address"},
				{"title too long", profile.UpdateInput{Title: ptr(strings.Repeat("工", 65))}, "title"},
				{"bad education", profile.UpdateInput{Education: ptr(entprofile.Education("PRIMARY"))}, "education"},
				{"bad candidate type", profile.UpdateInput{CandidateType: ptr(entprofile.CandidateType("OTHER"))}, "candidateType"},
				{"bad category", profile.UpdateInput{CandidateType: ptr(entprofile.CandidateTypeSOCIAL), Category: ptr(schematype.ExamCategory("D"))}, "category"},
				{"category before type", profile.UpdateInput{Category: ptr(schematype.CategoryA)}, "candidateType"},
				// A good field next to a bad one is not saved either.
				{"mixed", profile.UpdateInput{Address: ptr("新地址"), PostCode: ptr("1")}, "postCode"},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					_, err := e.svc.Update(as(u), c.in)
					wantCode(t, err, apperr.BadInput, c.field)
				})
			}
			if !same(before, e.profileOf(t, u.ID)) {
				t.Fatalf("refused updates changed the profile:\n%v\n%v", before, e.profileOf(t, u.ID))
			}
		})

		t.Run("only candidates", func(t *testing.T) {
			for _, u := range []*ent.User{e.companyU, e.reviewer, e.trainer, e.admin} {
				_, err := e.svc.Update(as(u), profile.UpdateInput{Address: ptr("x")})
				wantCode(t, err, apperr.Forbidden, "")
			}
			_, err := e.svc.Update(context.Background(), profile.UpdateInput{})
			wantCode(t, err, apperr.Unauthenticated, "")
			_, err = e.svc.MyProfile(context.Background())
			wantCode(t, err, apperr.Unauthenticated, "")
		})

		t.Run("company link follows the company name", func(t *testing.T) {
			u := e.candidate("王五")
			p, err := e.svc.Update(as(u), profile.UpdateInput{CompanyName: ptr(e.company.Name)})
			if err != nil || p.CompanyID == nil || *p.CompanyID != e.company.ID {
				t.Fatalf("linked: %+v %v", p, err)
			}
			// The linked company now sees the profile.
			if n, err := e.client.Profile.Query().Where(entprofile.UserID(u.ID)).Count(as(e.companyU)); err != nil || n != 1 {
				t.Fatalf("company sees %d (%v)", n, err)
			}
			p, err = e.svc.Update(as(u), profile.UpdateInput{CompanyName: ptr("另一家公司")})
			if err != nil || p.CompanyID != nil || p.CompanyName != "另一家公司" {
				t.Fatalf("unlinked: %+v %v", p, err)
			}
			rejected := e.org(organization.KindCOMPANY, "被驳回公司")
			if err := e.client.Organization.UpdateOne(rejected).SetStatus(organization.StatusREJECTED).Exec(e.sys); err != nil {
				t.Fatal(err)
			}
			if p, _ = e.svc.Update(as(u), profile.UpdateInput{CompanyName: ptr("被驳回公司")}); p.CompanyID != nil {
				t.Fatal("linked to a rejected company")
			}
			// An account registered under a company starts linked to it.
			staff := e.candidate("员工")
			if err := e.client.User.UpdateOne(staff).SetOrganization(e.company).Exec(e.sys); err != nil {
				t.Fatal(err)
			}
			staff.OrganizationID = &e.company.ID
			p, err = e.svc.Update(as(staff), profile.UpdateInput{Address: ptr("宿舍")})
			if err != nil || p.CompanyID == nil || *p.CompanyID != e.company.ID || p.CompanyName != e.company.Name {
				t.Fatalf("staff profile %+v %v", p, err)
			}
		})

		t.Run("social candidates choose their category", func(t *testing.T) {
			u := e.candidate("社会化")
			p, err := e.svc.Update(as(u), profile.UpdateInput{CandidateType: ptr(entprofile.CandidateTypeSOCIAL), Category: ptr(schematype.CategoryC2)})
			if err != nil || *p.CandidateType != entprofile.CandidateTypeSOCIAL || *p.Category != schematype.CategoryC2 {
				t.Fatalf("%+v %v", p, err)
			}
			if p, err = e.svc.Update(as(u), profile.UpdateInput{Category: ptr(schematype.CategoryA)}); err != nil || *p.Category != schematype.CategoryA {
				t.Fatalf("%+v %v", p, err)
			}
		})

		t.Run("non-social category follows training", func(t *testing.T) {
			u := e.candidate("非社会化")
			p, err := e.svc.Update(as(u), profile.UpdateInput{CandidateType: ptr(entprofile.CandidateTypeNON_SOCIAL)})
			if err != nil || p.Category != nil {
				t.Fatalf("%+v %v", p, err)
			}
			_, err = e.svc.Update(as(u), profile.UpdateInput{Category: ptr(schematype.CategoryA)})
			ae := wantCode(t, err, apperr.BadInput, "category")
			if !strings.Contains(ae.Message, "培训记录") {
				t.Fatal(ae.Message)
			}
			e.trainHours(t, u, schematype.CategoryB, 8, true)
			// Approval already moved the category; saving keeps it, and
			// echoing it back is fine, choosing another is not.
			if p = e.profileOf(t, u.ID); p.Category == nil || *p.Category != schematype.CategoryB {
				t.Fatalf("category after approval: %v", p.Category)
			}
			if p, err = e.svc.Update(as(u), profile.UpdateInput{Category: ptr(schematype.CategoryB)}); err != nil || *p.Category != schematype.CategoryB {
				t.Fatalf("%+v %v", p, err)
			}
			_, err = e.svc.Update(as(u), profile.UpdateInput{Category: ptr(schematype.CategoryC1)})
			wantCode(t, err, apperr.BadInput, "category")
			// Switching from social to non-social replaces the chosen category.
			s := e.candidate("转非社会化")
			if _, err := e.svc.Update(as(s), profile.UpdateInput{CandidateType: ptr(entprofile.CandidateTypeSOCIAL), Category: ptr(schematype.CategoryA)}); err != nil {
				t.Fatal(err)
			}
			e.trainHours(t, s, schematype.CategoryC2, 8, true)
			p, err = e.svc.Update(as(s), profile.UpdateInput{CandidateType: ptr(entprofile.CandidateTypeNON_SOCIAL)})
			if err != nil || *p.Category != schematype.CategoryC2 {
				t.Fatalf("%+v %v", p, err)
			}
		})

		t.Run("type and category are locked by a live enrollment", func(t *testing.T) {
			u := e.candidate("已报名")
			if _, err := e.svc.Update(as(u), profile.UpdateInput{CandidateType: ptr(entprofile.CandidateTypeSOCIAL), Category: ptr(schematype.CategoryA)}); err != nil {
				t.Fatal(err)
			}
			enr := e.enroll(t, u)
			_, err := e.svc.Update(as(u), profile.UpdateInput{Category: ptr(schematype.CategoryB)})
			wantCode(t, err, apperr.BadInput, "category")
			_, err = e.svc.Update(as(u), profile.UpdateInput{CandidateType: ptr(entprofile.CandidateTypeNON_SOCIAL)})
			wantCode(t, err, apperr.BadInput, "candidateType")
			// Other fields stay editable, and the same values are fine.
			if _, err := e.svc.Update(as(u), profile.UpdateInput{Address: ptr("新地址"), Category: ptr(schematype.CategoryA)}); err != nil {
				t.Fatal(err)
			}
			// A rejected enrollment no longer holds the profile.
			if err := e.client.Enrollment.UpdateOne(enr).SetStatus(enrollment.StatusREJECTED).Exec(e.sys); err != nil {
				t.Fatal(err)
			}
			if _, err := e.svc.Update(as(u), profile.UpdateInput{Category: ptr(schematype.CategoryB)}); err != nil {
				t.Fatal(err)
			}
		})
	})
}

// trainHours records training for u at the env's institution, approved or not.
func (e *env) trainHours(t *testing.T, u *ent.User, cat schematype.ExamCategory, hours float64, approve bool) *ent.TrainingRecord {
	t.Helper()
	e.seq++
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, e.seq)
	r, err := e.train.Record(as(e.trainer), training.RecordInput{CandidateIDNumber: u.Login, Details: training.Details{
		Category: cat, Hours: hours, StartedOn: start, FinishedOn: ptr(start.AddDate(0, 0, 10)),
	}})
	if err != nil {
		t.Fatal(err)
	}
	if approve {
		if r, err = e.train.Review(as(e.trainer), r.ID, true, ""); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// enroll writes a pending enrollment for u directly (the enrollment service
// is another package's).
func (e *env) enroll(t *testing.T, u *ent.User) *ent.Enrollment {
	t.Helper()
	e.seq++
	now := e.clock.Now()
	reg := e.client.Region.Create().SetCode("R" + itoa(e.seq)).SetName("区域" + itoa(e.seq)).SaveX(e.sys)
	subj := e.client.Subject.Create().SetCode("S" + itoa(e.seq)).SetName("A类").SetFeeCents(100).SaveX(e.sys)
	plan := e.client.ExamPlan.Create().SetName("计划").SetRegionID(reg.ID).SetEnrollStartsAt(now).SetEnrollEndsAt(now.Add(time.Hour)).
		SetExamFrom(now).SetExamTo(now.Add(48 * time.Hour)).SaveX(e.sys)
	return e.client.Enrollment.Create().SetCandidateID(u.ID).SetPlanID(plan.ID).SetSubjectID(subj.ID).
		SetPledgeAcceptedAt(now).SetSubmittedAt(now).SetFeeCents(100).SaveX(e.sys)
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestEthnicities(t *testing.T) {
	list := profile.Ethnicities()
	if len(list) != 58 || list[0] != "汉族" || list[55] != "基诺族" || list[57] != "其他" {
		t.Fatalf("%d entries: %v", len(list), list)
	}
	seen := map[string]bool{}
	for _, e := range list {
		if seen[e] {
			t.Fatalf("duplicate %s", e)
		}
		seen[e] = true
	}
	for in, want := range map[string]string{"汉": "汉族", " 维吾尔族 ": "维吾尔族", "土": "土族", "": ""} {
		if got, err := profile.NormalizeEthnicity(in); err != nil || got != want {
			t.Errorf("NormalizeEthnicity(%q) = %q %v", in, got, err)
		}
	}
	for _, bad := range []string{"其他族", "外国血统中国籍人士族", "汉人", "Han"} {
		if _, err := profile.NormalizeEthnicity(bad); err == nil {
			t.Errorf("NormalizeEthnicity(%q) accepted", bad)
		}
	}
	list[0] = "改"
	if profile.Ethnicities()[0] != "汉族" {
		t.Fatal("Ethnicities shares its slice")
	}
}

// Racing first saves leave one profile; losers get CONFLICT, never a
// second row or an internal error.
func TestConcurrentFirstSave(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, dbURL string) {
		e := localEnv(t, dbURL)
		u := e.candidate("并发")
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Go(func() {
				_, errs[i] = e.svc.Update(as(u), profile.UpdateInput{Address: ptr("地址" + strconv.Itoa(i))})
			})
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case apperr.Is(err, apperr.Conflict):
			default:
				t.Errorf("unexpected: %v", err)
			}
		}
		n, err := e.client.Profile.Query().Where(entprofile.UserID(u.ID)).Count(e.sys)
		if ok == 0 || n != 1 || err != nil {
			t.Fatalf("%d saves succeeded, %d profiles (%v)", ok, n, err)
		}
	})
}
