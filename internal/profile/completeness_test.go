package profile_test

import (
	"context"
	"image/color"
	"reflect"
	"testing"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/attachment"
	entprofile "github.com/kaowu/kaowu/ent/profile"
	"github.com/kaowu/kaowu/ent/schematype"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/profile"
	"github.com/kaowu/kaowu/internal/testenv"
	"github.com/kaowu/kaowu/internal/txn"
)

// fill saves every required field of u's profile.
func (e *env) fill(t *testing.T, u *ent.User, in profile.UpdateInput) {
	t.Helper()
	base := profile.UpdateInput{
		CompanyName: ptr("某某建筑公司"), YearsInTrade: ptr(3), Education: ptr(entprofile.EducationJUNIOR_COLLEGE),
		Ethnicity: ptr("回族"), Address: ptr("呼和浩特市新城区"),
	}
	if _, err := e.svc.Update(as(u), base); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Update(as(u), in); err != nil {
		t.Fatal(err)
	}
}

// attach uploads the given kinds for u.
func (e *env) attach(t *testing.T, u *ent.User, kinds ...attachment.Kind) {
	t.Helper()
	for _, k := range kinds {
		if k == attachment.KindID_PHOTO {
			e.upload(u, k, jpegOf(t, 60, 80, color.White))
		} else {
			e.upload(u, k, []byte(tinyPDF))
		}
	}
}

var everyoneNeeds = []attachment.Kind{
	attachment.KindID_PHOTO, attachment.KindID_CARD_FRONT, attachment.KindID_CARD_BACK,
	attachment.KindEDUCATION_CERT, attachment.KindCOMMITMENT_LETTER,
}

func (e *env) completeness(t *testing.T, ctx context.Context, u *ent.User) *profile.Completeness {
	t.Helper()
	c, err := e.svc.Completeness(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func wantMissing(t *testing.T, c *profile.Completeness, want ...profile.Missing) {
	t.Helper()
	if len(want) == 0 {
		want = nil
	}
	if !reflect.DeepEqual(c.Missing, want) {
		t.Fatalf("missing:\n got %v\nwant %v", c.Missing, want)
	}
	if c.Complete != (len(want) == 0) {
		t.Fatalf("Complete = %v with %d missing", c.Complete, len(want))
	}
}

func TestCompleteness(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, dbURL string) {
		e := localEnv(t, dbURL)

		t.Run("nothing saved", func(t *testing.T) {
			u := e.candidate("新考生")
			wantMissing(t, e.completeness(t, as(u), u),
				profile.Missing{Field: "candidateType", Label: "考生类型"},
				profile.Missing{Field: "category", Label: "考试类别"},
				profile.Missing{Field: "sex", Label: "性别"},
				profile.Missing{Field: "birthDate", Label: "出生日期"},
				profile.Missing{Field: "companyName", Label: "单位名称"},
				profile.Missing{Field: "yearsInTrade", Label: "从业年限"},
				profile.Missing{Field: "education", Label: "学历"},
				profile.Missing{Field: "ethnicity", Label: "民族"},
				profile.Missing{Field: "address", Label: "家庭住址"},
				profile.Missing{Field: "ID_PHOTO", Label: "证件照"},
				profile.Missing{Field: "ID_CARD_FRONT", Label: "身份证正面"},
				profile.Missing{Field: "ID_CARD_BACK", Label: "身份证反面"},
				profile.Missing{Field: "EDUCATION_CERT", Label: "学历证书"},
				profile.Missing{Field: "COMMITMENT_LETTER", Label: "单位承诺书（须加盖公章）"},
			)
		})

		t.Run("social candidate needs a study proof", func(t *testing.T) {
			u := e.candidate("社会化")
			e.fill(t, u, profile.UpdateInput{CandidateType: ptr(entprofile.CandidateTypeSOCIAL), Category: ptr(schematype.CategoryB)})
			e.attach(t, u, everyoneNeeds...)
			c := e.completeness(t, as(u), u)
			wantMissing(t, c, profile.Missing{Field: "STUDY_PROOF", Label: "学习证明（社会化考生，须加盖培训机构公章）"})
			if *c.CandidateType != entprofile.CandidateTypeSOCIAL || *c.Category != schematype.CategoryB || c.RequiredHours != 0 {
				t.Fatalf("%+v", c)
			}
			// Another candidate's study proof does not count.
			other := e.candidate("别人")
			e.attach(t, other, attachment.KindSTUDY_PROOF)
			wantMissing(t, e.completeness(t, as(u), u), profile.Missing{Field: "STUDY_PROOF", Label: "学习证明（社会化考生，须加盖培训机构公章）"})
			e.attach(t, u, attachment.KindSTUDY_PROOF)
			wantMissing(t, e.completeness(t, as(u), u))
		})

		t.Run("non-social candidate with 31.5 hours is incomplete", func(t *testing.T) {
			u := e.candidate("非社会化")
			e.fill(t, u, profile.UpdateInput{CandidateType: ptr(entprofile.CandidateTypeNON_SOCIAL)})
			e.attach(t, u, everyoneNeeds...)
			wantMissing(t, e.completeness(t, as(u), u),
				profile.Missing{Field: "category", Label: "考试类别（由培训记录确定，暂无审核通过的培训记录）"},
				profile.Missing{Field: "trainingHours", Label: "学时不足：已完成 0 学时，需满 32 学时"},
			)
			e.trainHours(t, u, schematype.CategoryC1, 20, true)
			e.trainHours(t, u, schematype.CategoryC1, 11.5, true)
			e.trainHours(t, u, schematype.CategoryC1, 30, false) // pending: not counted
			rejected := e.trainHours(t, u, schematype.CategoryC1, 30, false)
			if _, err := e.train.Review(as(e.trainer), rejected.ID, false, "无签到"); err != nil {
				t.Fatal(err)
			}
			c := e.completeness(t, as(u), u)
			wantMissing(t, c, profile.Missing{Field: "trainingHours", Label: "学时不足：已完成 31.5 学时，需满 32 学时"})
			if *c.Category != schematype.CategoryC1 || c.ApprovedHours != 31.5 || c.RequiredHours != 32 {
				t.Fatalf("%+v", c)
			}
			e.trainHours(t, u, schematype.CategoryC1, 0.5, true)
			c = e.completeness(t, as(u), u)
			wantMissing(t, c)
			if c.ApprovedHours != 32 {
				t.Fatalf("hours %v", c.ApprovedHours)
			}
			// No study proof is asked of non-social candidates.
		})

		t.Run("other documents", func(t *testing.T) {
			labels := func(u *ent.User) map[string]string {
				out := map[string]string{}
				for _, m := range e.completeness(t, as(u), u).Missing {
					out[m.Field] = m.Label
				}
				return out
			}
			// A passport has an information page and no back.
			pp := labels(e.passportHolder("Anna"))
			if _, back := pp["ID_CARD_BACK"]; pp["ID_CARD_FRONT"] != "护照信息页" || back {
				t.Fatalf("passport labels %v", pp)
			}
			hk, err := e.client.User.Create().SetRole("CANDIDATE").SetLogin("H12345678").SetIDType("HK_MACAO_PERMIT").
				SetIDNumber("H12345678").SetName("陈大文").SetPasswordHash("x").Save(e.sys)
			if err != nil {
				t.Fatal(err)
			}
			if l := labels(hk); l["ID_CARD_FRONT"] != "证件正面" || l["ID_CARD_BACK"] != "证件反面" {
				t.Fatalf("permit labels %v", l)
			}
		})

		t.Run("company letter counts for the company's own accounts only", func(t *testing.T) {
			e.attach(t, e.companyU, attachment.KindCOMMITMENT_LETTER)
			member := e.candidate("员工")
			if err := e.client.User.UpdateOne(member).SetOrganization(e.company).Exec(e.sys); err != nil {
				t.Fatal(err)
			}
			member.OrganizationID = &e.company.ID
			e.fill(t, member, profile.UpdateInput{CompanyName: ptr(e.company.Name), CandidateType: ptr(entprofile.CandidateTypeSOCIAL), Category: ptr(schematype.CategoryA)})
			e.attach(t, member, attachment.KindID_PHOTO, attachment.KindID_CARD_FRONT, attachment.KindID_CARD_BACK, attachment.KindEDUCATION_CERT, attachment.KindSTUDY_PROOF)
			wantMissing(t, e.completeness(t, as(member), member))

			// Someone who merely names the company must bring their own letter.
			claimant := e.candidate("自称员工")
			e.fill(t, claimant, profile.UpdateInput{CompanyName: ptr(e.company.Name), CandidateType: ptr(entprofile.CandidateTypeSOCIAL), Category: ptr(schematype.CategoryA)})
			e.attach(t, claimant, attachment.KindID_PHOTO, attachment.KindID_CARD_FRONT, attachment.KindID_CARD_BACK, attachment.KindEDUCATION_CERT, attachment.KindSTUDY_PROOF)
			wantMissing(t, e.completeness(t, as(claimant), claimant), profile.Missing{Field: "COMMITMENT_LETTER", Label: "单位承诺书（须加盖公章）"})
		})

		t.Run("who may ask", func(t *testing.T) {
			u := e.candidate("隐私")
			other := e.candidate("旁人")
			if _, err := e.svc.Update(as(u), profile.UpdateInput{CompanyName: ptr(e.company.Name)}); err != nil {
				t.Fatal(err)
			}
			for _, ctx := range []context.Context{as(u), as(e.reviewer), as(e.admin), as(e.companyU), e.sys} {
				if _, err := e.svc.Completeness(ctx, u.ID); err != nil {
					t.Fatal(err)
				}
			}
			for _, who := range []*ent.User{other, e.trainer, e.site} {
				_, err := e.svc.Completeness(as(who), u.ID)
				wantCode(t, err, apperr.Forbidden, "")
			}
			// A company for a candidate who does not name it.
			_, err := e.svc.Completeness(as(e.companyU), other.ID)
			wantCode(t, err, apperr.Forbidden, "")
			_, err = e.svc.Completeness(context.Background(), u.ID)
			wantCode(t, err, apperr.Unauthenticated, "")
			for _, id := range []int{e.companyU.ID, 1 << 30} {
				_, err = e.svc.Completeness(e.sys, id)
				wantCode(t, err, apperr.NotFound, "")
			}
			// All or nothing in bulk.
			_, err = e.svc.CompletenessOf(as(e.companyU), []int{u.ID, other.ID})
			wantCode(t, err, apperr.Forbidden, "")
		})

		t.Run("bulk: three statements whatever the number", func(t *testing.T) {
			var ids []int
			for i := range 12 {
				u := e.candidate("批量")
				ct := entprofile.CandidateTypeSOCIAL
				if i%2 == 0 {
					ct = entprofile.CandidateTypeNON_SOCIAL
				}
				e.fill(t, u, profile.UpdateInput{CandidateType: &ct})
				e.attach(t, u, attachment.KindID_PHOTO)
				if i%3 == 0 {
					e.trainHours(t, u, schematype.CategoryA, 32, true)
				}
				ids = append(ids, u.ID)
			}
			before := e.d.Queries()
			got, err := e.svc.CompletenessOf(e.sys, append(ids, ids[0]))
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d statements for %d candidates", e.d.Queries()-before, len(ids))
			if n := e.d.Queries() - before; n > 3 {
				t.Fatalf("%d statements for %d candidates", n, len(ids))
			}
			if len(got) != len(ids) {
				t.Fatalf("%d results", len(got))
			}
			for i, id := range ids {
				c := got[id]
				if c.Complete || (i%6 == 0) != (c.ApprovedHours == 32) {
					t.Fatalf("candidate %d: %+v", i, c)
				}
			}
		})

		t.Run("enrollment checker inside a transaction", func(t *testing.T) {
			u := e.candidate("报名")
			e.fill(t, u, profile.UpdateInput{CandidateType: ptr(entprofile.CandidateTypeSOCIAL), Category: ptr(schematype.CategoryC2)})
			e.attach(t, u, everyoneNeeds...)
			checker := profile.Checker{S: e.svc}
			err := txn.WithTx(e.sys, e.client, func(ctx context.Context) error {
				ok, missing, category, err := checker.Completeness(ctx, u.ID)
				if err != nil {
					return err
				}
				if ok || len(missing) != 1 || missing[0] != "学习证明（社会化考生，须加盖培训机构公章）" || category != "C2" {
					t.Errorf("checker: %v %v %q", ok, missing, category)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if _, _, _, err := checker.Completeness(e.sys, 1<<30); !apperr.Is(err, apperr.NotFound) {
				t.Fatalf("unknown user: %v", err)
			}
		})
	})
}
