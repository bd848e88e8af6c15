package tickets

import (
	"fmt"
	"strconv"
	"time"

	"github.com/kaowu/kaowu/ent/enrollment"
	"github.com/kaowu/kaowu/ent/examsession"
	"github.com/kaowu/kaowu/ent/profile"
	"github.com/kaowu/kaowu/internal/idcard"
	"github.com/kaowu/kaowu/internal/pdf"
)

// DefaultRules is the 考生须知 printed on admission tickets.
const DefaultRules = `1. 考生须凭本准考证和准考证上所列有效身份证件原件，于考试开始前30分钟到达考场，经实名认证（身份证读卡及现场拍照）后入场。
2. 考试开始30分钟后不得入场；考试开始后30分钟内不得交卷离场。
3. 除规定的文具外，不得携带手机、智能手表、耳机等通讯和电子设备及任何资料进入考场；已携带的须关机后存放在指定位置。
4. 考生须按考场安排就座，服从监考人员管理，独立作答，不得交头接耳、偷看、夹带、替考。
5. 考试过程全程录像并随机抓拍，违纪、作弊者按有关规定严肃处理，成绩无效。
6. 请妥善保管本准考证，考试结束前不得丢弃，遗失的可于开放打印期间重新打印。`

var weekdays = [...]string{"星期日", "星期一", "星期二", "星期三", "星期四", "星期五", "星期六"}

func dateCN(t time.Time) string {
	t = t.In(ChinaTZ)
	return fmt.Sprintf("%d年%02d月%02d日（%s）", t.Year(), t.Month(), t.Day(), weekdays[t.Weekday()])
}

func stamp(t time.Time) string { return t.In(ChinaTZ).Format("2006-01-02 15:04") }

func yuan(cents int) string { return fmt.Sprintf("%d.%02d 元", cents/100, cents%100) }

func sessionTime(startsAt time.Time, minutes int) string {
	start := startsAt.In(ChinaTZ)
	end := start.Add(time.Duration(minutes) * time.Minute)
	return fmt.Sprintf("%s 至 %s（%d 分钟）", start.Format("15:04"), end.Format("15:04"), minutes)
}

func (d *docData) roomLabel() string {
	if d.room == nil {
		return ""
	}
	if d.room.Location != "" {
		return d.room.Name + "（" + d.room.Location + "）"
	}
	return d.room.Name
}

// idLine is the document type and the masked number: tickets and forms never
// carry a full ID number (they are printed, photographed and shared).
func (d *docData) idLine() string {
	num := ""
	if d.cand.IDNumber != nil {
		num = idcard.Mask(*d.cand.IDNumber)
	}
	if d.cand.IDType != nil {
		if l := idcard.DocType(*d.cand.IDType).Label(); l != "" {
			return l + "  " + num
		}
	}
	return num
}

func (d *docData) siteAddress() string {
	if d.site == nil {
		return ""
	}
	return d.site.Address
}

const (
	photoW = 96.0
	photoH = 128.0
	qrSize = 96.0
	gutter = 14.0
)

// renderTicket lays out the admission ticket on one A4 page.
func (s *Service) renderTicket(d *docData) ([]byte, error) {
	ticketNo := *d.e.TicketNo
	footer := s.Footer
	if footer == "" {
		footer = DefaultFooter
	}
	doc, err := pdf.New(pdf.Options{
		Title: "准考证 " + ticketNo, Subject: d.subj.Name, Created: s.now(),
		Footer: footer + "    打印时间 " + stamp(s.now()),
	})
	if err != nil {
		return nil, err
	}
	doc.Title("安全生产考试准考证")
	doc.Subtitle(d.plan.Name)
	doc.Space(6)

	top := doc.Y()
	tableW := doc.ContentWidth() - photoW - gutter
	rightX := doc.Left() + tableW + gutter
	doc.Table(doc.Left(), tableW, 80, []pdf.Row{
		{Key: "准考证号", Value: ticketNo},
		{Key: "姓名", Value: d.cand.Name},
		{Key: "证件号码", Value: d.idLine()},
		{Key: "考试科目", Value: d.subj.Name},
		{Key: "考试日期", Value: dateCN(d.sess.StartsAt)},
		{Key: "考试时间", Value: sessionTime(d.sess.StartsAt, d.sess.DurationMinutes)},
		{Key: "考点", Value: d.site.Name},
		{Key: "考点地址", Value: d.siteAddress()},
		{Key: "考场", Value: d.roomLabel()},
	})
	tableBottom := doc.Y()

	s.photoBox(doc, d.photo, rightX, top, photoW, photoH)
	qrY := top + photoH + 10
	if err := doc.QRCode(ticketNo, rightX, qrY, qrSize); err != nil {
		return nil, err
	}
	doc.Text(rightX+8, qrY+qrSize+2, "扫码核验准考证号", 8.5)

	doc.SetY(max(tableBottom, qrY+qrSize+16) + 10)
	doc.Heading("考生须知")
	rules := s.Rules
	if rules == "" {
		rules = DefaultRules
	}
	doc.Paragraph(rules, 10.5)
	doc.Space(14)
	doc.Paragraph("请使用 A4 纸打印本准考证，考试当日与有效身份证件原件一并出示。", 9)
	return doc.Bytes()
}

// Labels of the enum values printed on the form.
var (
	sexLabels = map[profile.Sex]string{profile.SexMALE: "男", profile.SexFEMALE: "女"}
	eduLabels = map[profile.Education]string{
		profile.EducationJUNIOR_HIGH: "初中", profile.EducationSENIOR_HIGH: "高中",
		profile.EducationSECONDARY_VOCATIONAL: "中专/职高", profile.EducationJUNIOR_COLLEGE: "大专",
		profile.EducationBACHELOR: "本科", profile.EducationMASTER: "硕士研究生", profile.EducationDOCTOR: "博士研究生",
	}
	typeLabels   = map[profile.CandidateType]string{profile.CandidateTypeSOCIAL: "社会化考生", profile.CandidateTypeNON_SOCIAL: "非社会化考生"}
	statusLabels = map[enrollment.Status]string{
		enrollment.StatusPENDING_REVIEW: "待审核", enrollment.StatusAPPROVED: "审核通过",
		enrollment.StatusREJECTED: "审核未通过", enrollment.StatusCANCELLED: "已取消",
	}
	payLabels = map[enrollment.PaymentStatus]string{
		enrollment.PaymentStatusUNPAID: "未缴费", enrollment.PaymentStatusPENDING: "缴费待确认", enrollment.PaymentStatusPAID: "已缴费",
	}
	sourceLabels = map[enrollment.Source]string{
		enrollment.SourceSELF: "个人报名", enrollment.SourceCOMPANY: "单位报名", enrollment.SourcePLAN: "培训机构考试计划",
	}
	categoryLabels = map[string]string{"A": "A 类（主要负责人）", "B": "B 类（项目负责人）", "C1": "C1 类（机械类专职安全生产管理人员）", "C2": "C2 类（土建类专职安全生产管理人员）"}
)

func optTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return stamp(*t)
}

// renderForm lays out the registration form.
func (s *Service) renderForm(d *docData) ([]byte, error) {
	footer := s.Footer
	if footer == "" {
		footer = DefaultFooter
	}
	doc, err := pdf.New(pdf.Options{
		Title: "报名表 " + strconv.Itoa(d.e.ID), Subject: d.subj.Name, Created: s.now(),
		Footer: footer + "    打印时间 " + stamp(s.now()),
	})
	if err != nil {
		return nil, err
	}
	doc.Title("安全生产考试报名表")
	doc.Subtitle(fmt.Sprintf("%s    报名编号 %d", d.plan.Name, d.e.ID))
	doc.Space(4)

	doc.Heading("一、考生信息")
	top := doc.Y()
	tableW := doc.ContentWidth() - photoW - gutter
	p := d.prof
	var sex, birth, ethnicity, edu, company, years, title, addr, post, ctype, category string
	if p != nil {
		if p.Sex != nil {
			sex = sexLabels[*p.Sex]
		}
		if p.BirthDate != nil {
			birth = p.BirthDate.In(ChinaTZ).Format("2006-01-02")
		}
		if p.Education != nil {
			edu = eduLabels[*p.Education]
		}
		if p.YearsInTrade != nil {
			years = strconv.Itoa(*p.YearsInTrade) + " 年"
		}
		if p.CandidateType != nil {
			ctype = typeLabels[*p.CandidateType]
		}
		if p.Category != nil {
			category = categoryLabels[string(*p.Category)]
		}
		ethnicity, company, title, addr, post = p.Ethnicity, p.CompanyName, p.Title, p.Address, p.PostCode
	}
	if company == "" && d.company != nil {
		company = d.company.Name
	}
	phone := ""
	if d.cand.Phone != "" {
		phone = idcard.MaskPhone(d.cand.Phone)
	}
	const keyW = 80
	doc.Table(doc.Left(), tableW, keyW, []pdf.Row{
		{Key: "姓名", Value: d.cand.Name, Key2: "性别", Value2: sex},
		{Key: "出生日期", Value: birth, Key2: "民族", Value2: ethnicity},
		{Key: "证件", Value: d.idLine()},
		{Key: "文化程度", Value: edu, Key2: "从业年限", Value2: years},
		{Key: "手机号码", Value: phone, Key2: "电子邮箱", Value2: d.cand.Email},
		{Key: "考生类型", Value: ctype, Key2: "邮政编码", Value2: post},
	})
	afterTop := doc.Y()
	s.photoBox(doc, d.photo, doc.Left()+tableW+gutter, top, photoW, photoH)
	doc.SetY(max(afterTop, top+photoH))
	doc.Table(doc.Left(), doc.ContentWidth(), keyW, []pdf.Row{
		{Key: "报考类别", Value: category, Key2: "专业技术职务", Value2: title},
		{Key: "工作单位", Value: company},
		{Key: "通讯地址", Value: addr},
	})

	doc.Heading("二、报名信息")
	e := d.e
	companyName := ""
	if d.company != nil {
		companyName = d.company.Name
	}
	doc.Table(doc.Left(), doc.ContentWidth(), keyW, []pdf.Row{
		{Key: "考试计划", Value: d.plan.Name},
		{Key: "考试科目", Value: d.subj.Name + "（" + d.subj.Code + "）"},
		{Key: "报名方式", Value: sourceLabels[e.Source], Key2: "报名单位", Value2: companyName},
		{Key: "诚信承诺", Value: "已阅读并签署《诚信承诺书》（" + stamp(e.PledgeAcceptedAt) + "）"},
		{Key: "提交时间", Value: stamp(e.SubmittedAt), Key2: "考试费用", Value2: yuan(e.FeeCents)},
	})

	doc.Heading("三、审核与缴费")
	dept := ""
	if d.dept != nil {
		dept = d.dept.Name
	}
	doc.Table(doc.Left(), doc.ContentWidth(), keyW, []pdf.Row{
		{Key: "审核状态", Value: statusLabels[e.Status], Key2: "审核时间", Value2: optTime(e.ReviewedAt)},
		{Key: "审核部门", Value: dept},
		{Key: "审核意见", Value: e.ReviewReason},
		{Key: "缴费状态", Value: payLabels[e.PaymentStatus], Key2: "缴费时间", Value2: optTime(e.PaidAt)},
	})

	doc.Heading("四、考试安排")
	if d.sess != nil {
		ticketNo, state := "", "正常"
		if e.TicketNo != nil {
			ticketNo = *e.TicketNo
		}
		if d.sess.Status == examsession.StatusCANCELLED {
			state = "已取消"
		}
		doc.Table(doc.Left(), doc.ContentWidth(), keyW, []pdf.Row{
			{Key: "考试日期", Value: dateCN(d.sess.StartsAt), Key2: "考试时间", Value2: sessionTime(d.sess.StartsAt, d.sess.DurationMinutes)},
			{Key: "考点", Value: d.site.Name, Key2: "考场", Value2: d.roomLabel()},
			{Key: "准考证号", Value: ticketNo, Key2: "场次状态", Value2: state},
		})
	} else {
		doc.Paragraph("尚未安排考试场次。审核通过并缴费后，请选择考试场次。", 10.5)
	}

	doc.Space(18)
	doc.Paragraph("本人承诺以上信息真实、准确，如有虚假，愿承担由此产生的一切后果。", 10.5)
	doc.Space(18)
	sign := "考生签名：________________    日期：______年____月____日"
	doc.Text(doc.Left()+doc.ContentWidth()-doc.TextWidth(sign, 10.5), doc.Y(), sign, 10.5)
	return doc.Bytes()
}
