// Package demo creates a demonstration data set: one account per role, a
// catalogue, sites and rooms, an announcement, and an online exam open now
// (a question bank, papers, a candidate ready to start, one whose formal
// paper awaits review). It is idempotent: a second run changes nothing.
package demo

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"strings"
	"time"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/attachment"
	"github.com/kaowu/kaowu/ent/organization"
	entprofile "github.com/kaowu/kaowu/ent/profile"
	"github.com/kaowu/kaowu/ent/room"
	"github.com/kaowu/kaowu/ent/schematype"
	"github.com/kaowu/kaowu/ent/subject"
	"github.com/kaowu/kaowu/ent/user"
	"github.com/kaowu/kaowu/internal/auth/password"
	"github.com/kaowu/kaowu/internal/certificate"
	"github.com/kaowu/kaowu/internal/exam"
	"github.com/kaowu/kaowu/internal/exam/bank"
	"github.com/kaowu/kaowu/internal/idcard"
	"github.com/kaowu/kaowu/internal/proctor"
	"github.com/kaowu/kaowu/internal/profile"
	"github.com/kaowu/kaowu/internal/viewer"
)

// Login is one demo account.
type Login struct {
	Role, Login, Password, Name string
}

// CandidateID is the demo candidate's resident ID number (valid check digit).
var CandidateID = idcard.Generate("440304", time.Date(1990, 5, 17, 0, 0, 0, 0, time.UTC), 123)

// Logins are the demo accounts.
var Logins = []Login{
	{"ADMIN", "admin", "Admin@2026", "省总站管理员"},
	{"REVIEWER", "reviewer", "Review@2026", "安全监管处审核员"},
	{"EXAM_SITE", "site", "Site@2026!", "南山考点操作员"},
	{"PROCTOR", "proctor", "Proctor@2026", "监考员王老师"},
	{"TRAINING_ORG", "trainer", "Train@2026!", "安培培训中心"},
	{"COMPANY", "company", "Company@2026", "深圳市安建工程有限公司"},
	{"CANDIDATE", CandidateID, "Candidate@2026", "张三"},
	{"CANDIDATE", ExamineeID, "Examinee@2026", "李明"},   // online exam open now, not started
	{"CANDIDATE", Examinee2ID, "Examinee2@2026", "赵强"}, // the same, for the proctoring demo
	{"CANDIDATE", RevieweeID, "Reviewee@2026", "王芳"},   // formal paper submitted, pending review
}

// Deps are what seeding needs.
type Deps struct {
	Client   *ent.Client
	Hasher   *password.Hasher
	Profiles *profile.Service // for the demo candidate's profile and files; optional
	// Exam and Proctor take the reviewee's demo attempts (the app's own
	// services, so events and jobs are wired). When nil, seeding builds
	// plain ones on Client; snapshots then use Profiles' blob store (none
	// without Profiles).
	Exam    *exam.Service
	Proctor *proctor.Service
	// Certificates issues the demo candidate's certificates; when nil, only
	// the passed exam awaiting approval is seeded.
	Certificates *certificate.Service
}

// Seed creates the data set unless it exists.
func Seed(ctx context.Context, d Deps, out io.Writer) error {
	client, hasher := d.Client, d.Hasher
	ctx = viewer.SystemContext(ctx)
	if ok, err := client.User.Query().Where(user.Login("admin")).Exist(ctx); err != nil {
		return err
	} else if ok {
		fmt.Fprintln(out, "demo data already present")
		printLogins(out)
		return nil
	}
	tx, err := client.Tx(ctx)
	if err != nil {
		return err
	}
	if err := seed(ctx, tx.Client(), hasher); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	if d.Profiles != nil {
		for _, login := range []string{CandidateID, ExamineeID, Examinee2ID, RevieweeID} {
			if err := candidateProfile(ctx, client, d.Profiles, login); err != nil {
				return fmt.Errorf("demo candidate profile: %w", err)
			}
		}
	}
	ex, pr := d.Exam, d.Proctor
	if ex == nil {
		ex = &exam.Service{Client: client, Bank: &bank.Service{Client: client}}
	}
	if pr == nil {
		pr = &proctor.Service{Client: client}
		if d.Profiles != nil {
			pr.Store = d.Profiles.Store
		}
	}
	if err := examActivity(ctx, client, ex, pr); err != nil {
		return fmt.Errorf("demo exam attempts: %w", err)
	}
	var sealKey []byte
	if d.Exam != nil {
		sealKey = d.Exam.SealKey
	}
	if err := certificateActivity(ctx, client, d.Certificates, sealKey); err != nil {
		return fmt.Errorf("demo certificates: %w", err)
	}
	printLogins(out)
	return nil
}

// candidateProfile completes a demo candidate's profile (SOCIAL, C2) with
// generated images for every required attachment, so it can enroll at once.
func candidateProfile(ctx context.Context, c *ent.Client, p *profile.Service, login string) error {
	u, err := c.User.Query().Where(user.Login(login)).Only(ctx)
	if err != nil {
		return err
	}
	vctx := viewer.NewContext(context.WithoutCancel(ctx), &viewer.Viewer{UserID: u.ID, Role: viewer.Candidate})
	social, cat := entprofile.CandidateTypeSOCIAL, schematype.CategoryC2
	company, edu := "深圳市安建工程有限公司", entprofile.EducationBACHELOR
	years, eth, addr, post, title := 6, "汉族", "深圳市南山区科技园南区8栋", "518057", "工程师"
	if _, err := p.Update(vctx, profile.UpdateInput{CandidateType: &social, Category: &cat, CompanyName: &company,
		YearsInTrade: &years, Education: &edu, Ethnicity: &eth, Address: &addr, PostCode: &post, Title: &title}); err != nil {
		return err
	}
	for _, k := range []attachment.Kind{attachment.KindID_PHOTO, attachment.KindID_CARD_FRONT, attachment.KindID_CARD_BACK,
		attachment.KindEDUCATION_CERT, attachment.KindCOMMITMENT_LETTER, attachment.KindSTUDY_PROOF} {
		img := demoImage(k)
		if _, err := p.Upload(vctx, k, strings.ToLower(string(k))+".jpg", bytes.NewReader(img), int64(len(img))); err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
	}
	return nil
}

// demoImage is a small JPEG standing in for a scanned document.
func demoImage(k attachment.Kind) []byte {
	w, h := 480, 300
	if k == attachment.KindID_PHOTO {
		w, h = 300, 400
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(200 + x%40), uint8(210 + y%30), 230, 255})
		}
	}
	var buf bytes.Buffer
	_ = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 80})
	return buf.Bytes()
}

func printLogins(out io.Writer) {
	fmt.Fprintln(out, "demo logins (role, login, password):")
	for _, l := range Logins {
		fmt.Fprintf(out, "  %-13s %-20s %s\n", l.Role, l.Login, l.Password)
	}
}

func seed(ctx context.Context, c *ent.Client, hasher *password.Hasher) error {
	mkOrg := func(kind organization.Kind, name, region, addr string) (*ent.Organization, error) {
		return c.Organization.Create().SetKind(kind).SetName(name).SetRegion(region).SetAddress(addr).
			SetStatus(organization.StatusAPPROVED).Save(ctx)
	}
	dept, err := mkOrg(organization.KindDEPARTMENT, "深圳市应急管理局安全监管处", "深圳市", "深圳市福田区")
	if err != nil {
		return err
	}
	site, err := mkOrg(organization.KindEXAM_SITE, "南山安全生产考试考点", "深圳市南山区", "深圳市南山区科技园考试中心3楼")
	if err != nil {
		return err
	}
	site2, err := mkOrg(organization.KindEXAM_SITE, "龙岗安全生产考试考点", "深圳市龙岗区", "深圳市龙岗区龙城街道")
	if err != nil {
		return err
	}
	trainer, err := mkOrg(organization.KindTRAINING_ORG, "深圳安培安全培训中心", "深圳市", "深圳市宝安区")
	if err != nil {
		return err
	}
	company, err := mkOrg(organization.KindCOMPANY, "深圳市安建工程有限公司", "深圳市", "深圳市罗湖区")
	if err != nil {
		return err
	}
	orgOf := map[string]*ent.Organization{"REVIEWER": dept, "EXAM_SITE": site, "PROCTOR": site, "TRAINING_ORG": trainer, "COMPANY": company}
	for i, l := range Logins {
		hash, err := hasher.Hash(ctx, l.Password)
		if err != nil {
			return err
		}
		u := c.User.Create().SetRole(user.Role(l.Role)).SetLogin(l.Login).SetName(l.Name).SetPasswordHash(hash).
			SetPhone(fmt.Sprintf("1380013800%d", i)).SetPasswordChangedAt(time.Now())
		if o := orgOf[l.Role]; o != nil {
			u.SetOrganization(o)
		}
		if l.Role == "CANDIDATE" {
			u.SetIDType(user.IDTypeRESIDENT_ID).SetIDNumber(l.Login)
		}
		if _, err := u.Save(ctx); err != nil {
			return err
		}
	}
	subjects := []struct {
		code, name string
		cat        subject.Category
		fee        int
		practical  bool
	}{
		{"A", "建筑施工企业主要负责人（A类）", subject.CategoryA, 12000, false},
		{"B", "建筑施工企业项目负责人（B类）", subject.CategoryB, 12000, false},
		{"C1", "机械类专职安全生产管理人员（C1类）", subject.CategoryC1, 12000, false},
		{"C2", "土建类专职安全生产管理人员（C2类）", subject.CategoryC2, 12000, false},
		{"CITY-SAFETY", "市安规考试", subject.CategoryOTHER, 6000, false},
		{"CITY-TWO", "市两种人考试", subject.CategoryOTHER, 11000, true},
	}
	for _, s := range subjects {
		if _, err := c.Subject.Create().SetCode(s.code).SetName(s.name).SetCategory(s.cat).SetFeeCents(s.fee).
			SetHasPractical(s.practical).Save(ctx); err != nil {
			return err
		}
	}
	for _, r := range []struct {
		site *ent.Organization
		name string
		cap  int
	}{{site, "第一考场", 40}, {site, "第二考场", 40}, {site, "机房A", 60}, {site2, "第一考场", 50}} {
		if _, err := c.Room.Create().SetSiteID(r.site.ID).SetName(r.name).SetCapacity(r.cap).
			SetLocation(r.site.Address).Save(ctx); err != nil {
			return err
		}
	}
	if err := seedPlan(ctx, c, site); err != nil {
		return err
	}
	if err := seedExam(ctx, c, site); err != nil {
		return err
	}
	_, err = c.Announcement.Create().SetTitle("关于2026年度安全生产考核报名的通知").
		SetBody("2026年度建筑施工企业“三类人员”安全生产考核开始报名。请考生完善个人资料后在线报名，单位可为员工批量报名并统一缴费。").
		Save(ctx)
	return err
}

// seedPlan adds regions and an open plan (enrollment running now, exams in
// two to four weeks) with sessions in every room of the first site.
func seedPlan(ctx context.Context, c *ent.Client, site *ent.Organization) error {
	sz, err := c.Region.Create().SetCode("440300").SetName("深圳市").Save(ctx)
	if err != nil {
		return err
	}
	if _, err := c.Region.Create().SetCode("440100").SetName("广州市").Save(ctx); err != nil {
		return err
	}
	cst := time.FixedZone("CST", 8*3600)
	today := time.Now().In(cst)
	day := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, cst)
	plan, err := c.ExamPlan.Create().SetName(fmt.Sprintf("%d年第一批安全生产考核", day.Year())).SetRegionID(sz.ID).
		SetEnrollStartsAt(day.AddDate(0, 0, -1)).SetEnrollEndsAt(day.AddDate(0, 0, 12)).
		SetExamFrom(day.AddDate(0, 0, 14)).SetExamTo(day.AddDate(0, 0, 28)).Save(ctx)
	if err != nil {
		return err
	}
	rooms, err := c.Room.Query().Where(room.SiteID(site.ID)).Order(room.ByID()).All(ctx)
	if err != nil {
		return err
	}
	subjects, err := c.Subject.Query().Where(subject.CodeIn("C2", "CITY-SAFETY", "A")).Order(subject.ByID()).All(ctx)
	if err != nil {
		return err
	}
	for i, r := range rooms {
		for j, sub := range subjects {
			start := day.AddDate(0, 0, 14+i).Add(time.Duration(9+3*j) * time.Hour)
			if _, err := c.ExamSession.Create().SetPlanID(plan.ID).SetSubjectID(sub.ID).SetRoomID(r.ID).SetSiteID(site.ID).
				SetStartsAt(start).SetDurationMinutes(90).SetCapacity(r.Capacity).Save(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}
