package demo

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"time"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/attempt"
	"github.com/kaowu/kaowu/ent/enrollment"
	"github.com/kaowu/kaowu/ent/examplan"
	"github.com/kaowu/kaowu/ent/examsession"
	"github.com/kaowu/kaowu/ent/organization"
	"github.com/kaowu/kaowu/ent/papertemplate"
	"github.com/kaowu/kaowu/ent/question"
	"github.com/kaowu/kaowu/ent/region"
	"github.com/kaowu/kaowu/ent/room"
	"github.com/kaowu/kaowu/ent/schema"
	"github.com/kaowu/kaowu/ent/subject"
	"github.com/kaowu/kaowu/ent/user"
	enrollments "github.com/kaowu/kaowu/internal/enrollment"
	"github.com/kaowu/kaowu/internal/exam"
	"github.com/kaowu/kaowu/internal/exam/bank"
	"github.com/kaowu/kaowu/internal/idcard"
	"github.com/kaowu/kaowu/internal/proctor"
	"github.com/kaowu/kaowu/internal/viewer"
)

// ExamineeID is the resident ID number (and login) of the demo candidate
// who is ready to take the online exam now.
var ExamineeID = idcard.Generate("440305", time.Date(1992, 8, 21, 0, 0, 0, 0, time.UTC), 456)

// Examinee2ID is a second candidate ready to start in the same session, so
// the proctoring e2e scenario need not share the examinee's attempts.
var Examinee2ID = idcard.Generate("440307", time.Date(1995, 11, 2, 0, 0, 0, 0, time.UTC), 321)

// RevieweeID is the demo candidate whose formal paper waits for review.
var RevieweeID = idcard.Generate("440306", time.Date(1988, 3, 9, 0, 0, 0, 0, time.UTC), 789)

// Names of the online exam demo data, for tests and the e2e scenario.
const (
	ExamSubjectCode  = "C2"
	ExamPlanName     = "在线考试演示批次"
	ExamSessionHours = 8
	MockPaperName    = "C2类测试试卷（熟悉考试操作）"
	FormalPaperName  = "C2类正式考试试卷"
	// ExamConsent is the camera consent the demo attempts were started with
	// (the web client shows its own text; this one only goes into evidence).
	ExamConsent = "本人同意在考试期间由电脑摄像头及手机摄像头定时采集本人及考试环境图像，用于考试监督和事后复核。"
)

type demoQuestion struct {
	typ     question.Type
	stem    string
	options []string
	answer  schema.QuestionAnswer
	explain string
}

func tf(stem string, v bool, explain string) demoQuestion {
	return demoQuestion{typ: question.TypeTRUE_FALSE, stem: stem, answer: schema.QuestionAnswer{True: &v}, explain: explain}
}

func choice(stem string, opts []string, right ...int) demoQuestion {
	t := question.TypeSINGLE
	if len(right) > 1 {
		t = question.TypeMULTIPLE
	}
	return demoQuestion{typ: t, stem: stem, options: opts, answer: schema.QuestionAnswer{Options: right}}
}

// multi is a MULTIPLE question even when one option is right.
func multi(stem string, opts []string, right ...int) demoQuestion {
	q := choice(stem, opts, right...)
	q.typ = question.TypeMULTIPLE
	return q
}

// examQuestions is the demo C2 bank: 12 true/false, 12 single and 8
// multiple choice, enough for both templates below.
var examQuestions = []demoQuestion{
	tf("施工单位主要负责人依法对本单位的安全生产工作全面负责。", true, "《安全生产法》规定主要负责人是本单位安全生产第一责任人。"),
	tf("专职安全生产管理人员发现违章指挥、违章操作的，应当立即制止。", true, ""),
	tf("脚手架搭设完毕后无需验收即可投入使用。", false, "脚手架应分段验收，合格后方可使用。"),
	tf("进入施工现场的人员必须正确佩戴安全帽。", true, ""),
	tf("超过一定规模的深基坑工程专项施工方案，只需施工单位技术负责人审批，不需要组织专家论证。", false, "超过一定规模的危险性较大的分部分项工程须组织专家论证。"),
	tf("特种作业人员必须经专门的安全作业培训，取得相应资格后方可上岗作业。", true, ""),
	tf("施工现场临时用电工程应采用TN-S接零保护系统。", true, ""),
	tf("在建工程的外侧边缘与外电架空线路的边线之间可以不保持安全操作距离。", false, ""),
	tf("安全生产费用在资金紧张时可以挪作他用。", false, "安全生产费用应专款专用。"),
	tf("高处作业是指在坠落高度基准面2m及以上有可能坠落的高处进行的作业。", true, ""),
	tf("施工现场动火作业无需办理动火审批手续。", false, ""),
	tf("生产安全事故发生后，事故现场有关人员应当立即向本单位负责人报告。", true, ""),

	choice("施工现场专用的中性点直接接地的220/380V三相四线制低压电力系统，必须采用（ ）。",
		[]string{"TT系统", "TN-S接零保护系统", "IT系统", "TN-C系统"}, 1),
	choice("生产经营单位的从业人员有权了解其作业场所和工作岗位存在的（ ）。",
		[]string{"危险因素、防范措施及事故应急措施", "工资待遇", "企业经营状况", "人员编制"}, 0),
	choice("塑料安全帽的使用期限一般不超过（ ）。", []string{"1年", "2.5年", "5年", "10年"}, 1),
	choice("施工现场临时消防车道的净宽度和净空高度均不应小于（ ）。", []string{"2m", "3m", "3.5m", "4m"}, 3),
	choice("建筑施工企业安全生产许可证的有效期为（ ）。", []string{"1年", "2年", "3年", "5年"}, 2),
	choice("生产安全事故造成3人以上10人以下死亡的，属于（ ）。", []string{"特别重大事故", "重大事故", "较大事故", "一般事故"}, 2),
	choice("施工起重机械安装完毕后，使用单位应当组织（ ）进行验收。",
		[]string{"建设单位单独", "出租、安装、监理等有关单位", "设计单位", "质量监督机构"}, 1),
	choice("人工挖孔桩孔深超过（ ）时，应有专门向井下送风的设备。", []string{"5m", "10m", "15m", "20m"}, 1),
	choice("施工单位应当在施工现场入口处、起重机械、临时用电设施等危险部位设置明显的（ ）。",
		[]string{"宣传标语", "企业标识", "安全警示标志", "指示灯"}, 2),
	choice("作业人员对施工现场作业条件、作业程序和作业方式中存在的安全问题，有权提出（ ）。",
		[]string{"批评、检举和控告", "罢工", "索赔", "辞职"}, 0),
	choice("灭火器压力表的指针指在（ ）区域时，表示压力正常。", []string{"红色", "黄色", "白色", "绿色"}, 3),
	choice("我国安全生产工作的方针是（ ）。",
		[]string{"质量第一、安全第二", "安全第一、预防为主、综合治理", "效益优先、兼顾安全", "速度第一、安全保障"}, 1),

	multi("施工现场的“三宝”是指（ ）。", []string{"安全帽", "安全带", "安全网", "绝缘手套"}, 0, 1, 2),
	multi("施工现场“四口”防护是指（ ）的防护。", []string{"楼梯口", "电梯井口", "预留洞口", "通道口", "窗口"}, 0, 1, 2, 3),
	multi("生产经营单位的从业人员享有的权利包括（ ）。",
		[]string{"知情权", "建议权", "拒绝违章指挥和强令冒险作业", "紧急情况下停止作业和撤离", "拒绝接受安全培训"}, 0, 1, 2, 3),
	multi("下列属于危险性较大的分部分项工程的有（ ）。", []string{"基坑工程", "模板工程及支撑体系", "起重吊装工程", "室内墙面刷漆"}, 0, 1, 2),
	multi("事故处理“四不放过”原则包括（ ）。",
		[]string{"事故原因未查清不放过", "责任人员未处理不放过", "整改措施未落实不放过", "有关人员未受到教育不放过", "事故单位未罚款不放过"}, 0, 1, 2, 3),
	multi("施工用电“三级配电”是指（ ）。", []string{"总配电箱", "分配电箱", "开关箱", "照明灯具"}, 0, 1, 2),
	multi("下列人员中属于建筑施工特种作业人员的有（ ）。", []string{"建筑电工", "建筑架子工", "塔式起重机司机", "材料员"}, 0, 1, 2),
	multi("安全技术交底的内容应包括（ ）。",
		[]string{"作业的安全注意事项", "施工工艺的安全要求", "危险源及防范措施", "发生事故后的应急措施", "工程造价"}, 0, 1, 2, 3),
}

// Paper templates of the demo subject: a short mock and a 100-point formal paper.
var (
	mockRules = []schema.PaperRule{
		{Type: "TRUE_FALSE", Count: 3, Points: 10}, {Type: "SINGLE", Count: 4, Points: 10}, {Type: "MULTIPLE", Count: 3, Points: 10},
	}
	formalRules = []schema.PaperRule{
		{Type: "TRUE_FALSE", Count: 10, Points: 2}, {Type: "SINGLE", Count: 10, Points: 4}, {Type: "MULTIPLE", Count: 5, Points: 8},
	}
)

// seedExam adds, inside the seeding transaction, what the online exam needs:
// the C2 bank and templates, a plan with an online session open from now
// for ExamSessionHours in the site's computer room, and approved, paid
// enrollments of the two examinees and the reviewee in it. The attempts are
// made after commit by examActivity, through the services.
func seedExam(ctx context.Context, c *ent.Client, site *ent.Organization) error {
	sub, err := c.Subject.Query().Where(subject.Code(ExamSubjectCode)).Only(ctx)
	if err != nil {
		return err
	}
	for _, q := range examQuestions {
		b := c.Question.Create().SetSubjectID(sub.ID).SetType(q.typ).SetStem(q.stem).SetAnswer(q.answer).
			SetExplanation(q.explain).SetCategory("安全生产管理")
		if len(q.options) > 0 {
			b.SetOptions(q.options)
		}
		if _, err := b.Save(ctx); err != nil {
			return err
		}
	}
	for _, t := range []struct {
		kind     papertemplate.Kind
		name     string
		minutes  int
		rules    []schema.PaperRule
		passMark int
	}{
		{papertemplate.KindMOCK, MockPaperName, 30, mockRules, 60},
		{papertemplate.KindFORMAL, FormalPaperName, 90, formalRules, 60},
	} {
		rules, err := bank.ValidateTemplate(t.kind, t.minutes, t.passMark, t.rules)
		if err != nil {
			return fmt.Errorf("demo template %s: %w", t.name, err)
		}
		if _, err := c.PaperTemplate.Create().SetSubjectID(sub.ID).SetKind(t.kind).SetName(t.name).
			SetDurationMinutes(t.minutes).SetPassMark(t.passMark).SetRules(rules).Save(ctx); err != nil {
			return err
		}
	}
	sz, err := c.Region.Query().Where(region.Code("440300")).Only(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	cst := time.FixedZone("CST", 8*3600)
	day := time.Date(now.In(cst).Year(), now.In(cst).Month(), now.In(cst).Day(), 0, 0, 0, 0, cst)
	plan, err := c.ExamPlan.Create().SetName(ExamPlanName).SetRegionID(sz.ID).
		SetEnrollStartsAt(day.AddDate(0, 0, -14)).SetEnrollEndsAt(day.AddDate(0, 0, -2)).
		SetExamFrom(day).SetExamTo(day.AddDate(0, 0, 1)).Save(ctx)
	if err != nil {
		return err
	}
	lab, err := c.Room.Query().Where(room.SiteID(site.ID), room.Name("机房A")).Only(ctx)
	if err != nil {
		return err
	}
	// Started a few minutes ago so it is open however long seeding takes.
	sess, err := c.ExamSession.Create().SetPlanID(plan.ID).SetSubjectID(sub.ID).SetRoomID(lab.ID).SetSiteID(site.ID).
		SetStartsAt(now.Add(-5 * time.Minute).Truncate(time.Minute)).SetDurationMinutes(ExamSessionHours * 60).
		SetCapacity(lab.Capacity).SetOnsite(false).SetStatus(examsession.StatusOPEN).SetTaken(3).Save(ctx)
	if err != nil {
		return err
	}
	reviewer, err := c.User.Query().Where(user.Login("reviewer")).Only(ctx)
	if err != nil {
		return err
	}
	dept, err := c.Organization.Query().Where(organization.KindEQ(organization.KindDEPARTMENT)).First(ctx)
	if err != nil {
		return err
	}
	for _, login := range []string{ExamineeID, Examinee2ID, RevieweeID} {
		u, err := c.User.Query().Where(user.Login(login)).Only(ctx)
		if err != nil {
			return err
		}
		at := day.AddDate(0, 0, -10).Add(10 * time.Hour)
		e, err := c.Enrollment.Create().SetCandidateID(u.ID).SetPlanID(plan.ID).SetSubjectID(sub.ID).
			SetSessionID(sess.ID).SetSiteID(site.ID).SetStatus(enrollment.StatusAPPROVED).
			SetPledgeAcceptedAt(at).SetSubmittedAt(at).SetReviewedAt(at.AddDate(0, 0, 1)).
			SetReviewerID(reviewer.ID).SetReviewDepartmentID(dept.ID).SetFeeCents(sub.FeeCents).
			SetPaymentStatus(enrollment.PaymentStatusPAID).SetPaidAt(at.AddDate(0, 0, 2)).Save(ctx)
		if err != nil {
			return err
		}
		if err := c.Enrollment.UpdateOneID(e.ID).SetTicketNo(enrollments.TicketNumber(day.Year(), e.ID)).Exec(ctx); err != nil {
			return err
		}
	}
	return nil
}

// examActivity, after the seeding transaction: the demo proctor is
// assigned to the online session, and the reviewee takes the mock and the
// formal paper through the exam and proctor services — with their own
// viewers, so the evidence chains are the real thing — ending PENDING_REVIEW.
func examActivity(ctx context.Context, c *ent.Client, ex *exam.Service, pr *proctor.Service) error {
	sys := viewer.SystemContext(ctx)
	site, err := c.User.Query().Where(user.Login("site")).Only(sys)
	if err != nil {
		return err
	}
	proc, err := c.User.Query().Where(user.Login("proctor")).Only(sys)
	if err != nil {
		return err
	}
	sess, err := c.ExamSession.Query().Where(examsession.HasPlanWith(examplan.Name(ExamPlanName))).Only(sys)
	if err != nil {
		return err
	}
	siteCtx := viewer.NewContext(ctx, &viewer.Viewer{UserID: site.ID, Role: viewer.ExamSite, OrgID: *site.OrganizationID})
	if _, err := pr.Assign(siteCtx, proc.ID, sess.ID); err != nil {
		return fmt.Errorf("assign proctor: %w", err)
	}
	cand, err := c.User.Query().Where(user.Login(RevieweeID)).Only(sys)
	if err != nil {
		return err
	}
	e, err := c.Enrollment.Query().Where(enrollment.CandidateID(cand.ID), enrollment.SessionID(sess.ID)).Only(sys)
	if err != nil {
		return err
	}
	cctx := viewer.NewContext(ctx, &viewer.Viewer{UserID: cand.ID, Role: viewer.Candidate})
	pctx := viewer.NewContext(ctx, &viewer.Viewer{UserID: proc.ID, Role: viewer.Proctor, OrgID: *proc.OrganizationID})
	start := func(kind attempt.Kind) (*ent.Attempt, error) {
		return ex.Start(cctx, exam.StartInput{EnrollmentID: e.ID, Kind: kind, ConsentText: ExamConsent, ConsentAccepted: true})
	}

	mock, err := start(attempt.KindMOCK)
	if err != nil {
		return fmt.Errorf("start mock: %w", err)
	}
	if err := answerAll(cctx, c, ex, mock, func(i int) bool { return i != 1 }); err != nil {
		return fmt.Errorf("mock answers: %w", err)
	}
	if _, err := ex.Submit(cctx, mock.ID, attempt.SubmitReasonCANDIDATE); err != nil {
		return fmt.Errorf("submit mock: %w", err)
	}

	formal, err := start(attempt.KindFORMAL)
	if err != nil {
		return fmt.Errorf("start formal: %w", err)
	}
	// The phone is paired as the phone page would (QR token, then its own token).
	tok, _, _, err := pr.NewPairing(cctx, formal.ID)
	if err != nil {
		return fmt.Errorf("phone pairing: %w", err)
	}
	phone, _, err := pr.Pair(ctx, tok)
	if err != nil {
		return fmt.Errorf("pair phone: %w", err)
	}
	if pr.Store != nil {
		pc := snapshotImage(color.RGBA{70, 90, 120, 255})
		if _, err := pr.Upload(cctx, proctor.UploadInput{Source: proctor.SourcePC, AttemptID: formal.ID,
			Body: bytes.NewReader(pc), Size: int64(len(pc))}); err != nil {
			return fmt.Errorf("pc snapshot: %w", err)
		}
		ph := snapshotImage(color.RGBA{110, 100, 80, 255})
		if _, err := pr.Upload(ctx, proctor.UploadInput{Source: proctor.SourcePhone, PhoneToken: phone,
			Body: bytes.NewReader(ph), Size: int64(len(ph))}); err != nil {
			return fmt.Errorf("phone snapshot: %w", err)
		}
	}
	if err := pr.Heartbeat(ctx, phone); err != nil {
		return fmt.Errorf("phone heartbeat: %w", err)
	}
	// Four of the 25 wrong: at worst four 8-point items, 68 — above the pass mark.
	if err := answerAll(cctx, c, ex, formal, func(i int) bool { return i%6 != 5 }); err != nil {
		return fmt.Errorf("formal answers: %w", err)
	}
	for _, kind := range []string{"HIDDEN", "BLUR"} {
		if _, err := ex.FocusLost(cctx, formal.ID, kind); err != nil {
			return fmt.Errorf("focus loss: %w", err)
		}
	}
	if err := pr.Warn(pctx, formal.ID, "请保持面部在摄像头画面内，不要离开考试页面。"); err != nil {
		return fmt.Errorf("warn: %w", err)
	}
	if err := pr.Flag(pctx, formal.ID, true, "两次离开考试页面，请复核抓拍照片。"); err != nil {
		return fmt.Errorf("flag: %w", err)
	}
	if err := pr.Note(pctx, formal.ID, "考生解释为浏览器弹出系统通知，之后未再离开页面。"); err != nil {
		return fmt.Errorf("note: %w", err)
	}
	a, err := ex.Submit(cctx, formal.ID, attempt.SubmitReasonCANDIDATE)
	if err != nil {
		return fmt.Errorf("submit formal: %w", err)
	}
	if a.Result == nil || *a.Result != attempt.ResultPENDING_REVIEW {
		return fmt.Errorf("demo formal attempt ended %v (score %v), not PENDING_REVIEW", a.Result, a.Score)
	}
	// After submission ending the phone only logs it out.
	return pr.EndPhone(ctx, phone)
}

// answerAll answers every item of the attempt's paper, rightly when
// right(i) says so (wrongly otherwise), with increasing seqs.
func answerAll(cctx context.Context, c *ent.Client, ex *exam.Service, a *ent.Attempt, right func(i int) bool) error {
	sys := viewer.SystemContext(cctx)
	p, err := ex.Bank.DrawFor(sys, a.TemplateID, a.Seed)
	if err != nil {
		return err
	}
	for i, it := range p.Items {
		q, err := c.Question.Get(sys, it.QuestionID)
		if err != nil {
			return err
		}
		r := response(it, q.Answer, right(i))
		if err := ex.SaveAnswer(cctx, exam.SaveInput{AttemptID: a.ID, QuestionID: it.QuestionID, Response: r, Seq: int64(i + 1)}); err != nil {
			return err
		}
	}
	return nil
}

// response is the right (or a wrong) answer to an item, in display indexes.
func response(it bank.Item, key schema.QuestionAnswer, right bool) bank.Response {
	if it.Type == question.TypeTRUE_FALSE {
		v := *key.True == right
		return bank.Response{True: &v}
	}
	want := map[int]bool{}
	for _, o := range key.Options {
		want[o] = true
	}
	var r bank.Response
	for d, orig := range it.OptionMap {
		if want[orig] == right {
			r.Options = append(r.Options, d)
			if it.Type == question.TypeSINGLE {
				break
			}
		}
	}
	return r
}

// snapshotImage is a small JPEG standing in for a camera frame: a head and
// shoulders silhouette on a plain background.
func snapshotImage(bg color.RGBA) []byte {
	w, h := 320, 240
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	skin, shirt := color.RGBA{225, 190, 160, 255}, color.RGBA{40, 60, 110, 255}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			dx, dy := x-w/2, y-95
			switch {
			case dx*dx*4+dy*dy*3 < 45*45*3:
				img.Set(x, y, skin)
			case y > 165 && dx*dx < (y-120)*(y-120)*2:
				img.Set(x, y, shirt)
			default:
				img.Set(x, y, bg)
			}
		}
	}
	var buf bytes.Buffer
	_ = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 80})
	return buf.Bytes()
}
