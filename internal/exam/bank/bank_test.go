package bank_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"slices"
	"strings"
	"testing"

	"entgo.io/ent/privacy"
	"github.com/xuri/excelize/v2"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/papertemplate"
	"github.com/kaowu/kaowu/ent/question"
	"github.com/kaowu/kaowu/ent/schema"
	"github.com/kaowu/kaowu/ent/user"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/db"
	"github.com/kaowu/kaowu/internal/exam/bank"
	"github.com/kaowu/kaowu/internal/testenv"
	"github.com/kaowu/kaowu/internal/viewer"
)

type env struct {
	t      *testing.T
	d      *db.DB
	client *ent.Client
	svc    *bank.Service
	sys    context.Context
	admin  context.Context
	rev    context.Context
	cand   context.Context
	proc   context.Context
	subj   *ent.Subject
	other  *ent.Subject
}

func newEnv(t *testing.T, url string) *env {
	t.Helper()
	ctx := context.Background()
	d, client := testenv.Client(t, url, db.Options{})
	e := &env{t: t, d: d, client: client, svc: &bank.Service{Client: client}, sys: viewer.SystemContext(ctx)}
	n := 0
	as := func(role user.Role) context.Context {
		n++
		u, err := client.User.Create().SetRole(role).SetLogin(fmt.Sprintf("u%d", n)).SetName("用户").
			SetPasswordHash("x").SetPhone(fmt.Sprintf("1390000%04d", n)).Save(e.sys)
		if err != nil {
			t.Fatal(err)
		}
		return viewer.NewContext(ctx, &viewer.Viewer{UserID: u.ID, Role: viewer.Role(role), SessionID: n})
	}
	e.admin, e.rev, e.cand, e.proc = as(user.RoleADMIN), as(user.RoleREVIEWER), as(user.RoleCANDIDATE), as(user.RolePROCTOR)
	e.subj = e.subject("AQ1", "安全生产知识")
	e.other = e.subject("AQ2", "市安规考试")
	return e
}

func (e *env) subject(code, name string) *ent.Subject {
	s, err := e.client.Subject.Create().SetCode(code).SetName(name).SetFeeCents(6000).Save(e.sys)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

func (e *env) count(subjectID int) int {
	e.t.Helper()
	n, err := e.client.Question.Query().Where(question.SubjectID(subjectID)).Count(e.sys)
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

var fileHeader = []string{"题型", "分类", "题干", "选项A", "选项B", "选项C", "选项D", "选项E", "选项F", "选项G", "选项H", "答案", "解析", "分值"}

func line(typ, cat, stem string, opts []string, ans, expl, pts string) []string {
	r := []string{typ, cat, stem}
	for i := range 8 {
		o := ""
		if i < len(opts) {
			o = opts[i]
		}
		r = append(r, o)
	}
	return append(r, ans, expl, pts)
}

// goodRows covers every type, answer spelling, a multi-line stem and text
// that a spreadsheet would take for a formula.
var goodRows = [][]string{
	line("单选题", "法律法规", "《安全生产法》规定的安全生产方针是？", []string{"安全第一、预防为主、综合治理", "效益优先", "先生产后安全"}, "A", "见第三条", "2"),
	line("多选题", "安全管理", "下列属于特种作业的有：", []string{"电工作业", "焊接作业", "文秘工作", "高处作业"}, "A,B、d", "", "4"),
	line("判断题", "专业技术", "安全帽可以不系下颏带。", nil, "错", "必须系紧", ""),
	line("判断", "", "发现事故隐患应当立即报告。\n第二行。", nil, "对", "", "1"),
	line("单选", "专业技术", "=1+1 的结果", []string{"-2", "@2", "+2", "2"}, "D", "'=公式", "10"),
}

func csvFile(rows [][]string, bom bool) []byte {
	var b bytes.Buffer
	if bom {
		b.WriteString("\ufeff")
	}
	w := csv.NewWriter(&b)
	_ = w.Write(fileHeader)
	_ = w.WriteAll(rows)
	return b.Bytes()
}

func xlsxFile(t *testing.T, rows [][]string) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	all := append([][]string{fileHeader}, rows...)
	for i, r := range all {
		cells := make([]any, len(r))
		for j, c := range r {
			cells[j] = c
		}
		if err := f.SetSheetRow("Sheet1", fmt.Sprintf("A%d", i+1), &cells); err != nil {
			t.Fatal(err)
		}
	}
	var b bytes.Buffer
	if err := f.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func code(t *testing.T, err error, want apperr.Code) *apperr.Error {
	t.Helper()
	e, ok := apperr.As(err)
	if !ok || e.Code != want {
		t.Fatalf("error %v, want %s", err, want)
	}
	return e
}

func TestImport(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		for _, tc := range []struct {
			format string
			data   []byte
		}{{"csv", csvFile(goodRows, false)}, {"CSV", csvFile(goodRows, true)}, {"xlsx", xlsxFile(t, goodRows)}} {
			t.Run(tc.format, func(t *testing.T) {
				before := e.count(e.subj.ID)
				res, err := e.svc.Import(e.admin, e.subj.ID, bytes.NewReader(tc.data), tc.format)
				if err != nil {
					t.Fatal(err)
				}
				if res.Created != 5 || e.count(e.subj.ID) != before+5 {
					t.Fatalf("created %d, bank %d → %d", res.Created, before, e.count(e.subj.ID))
				}
				qs, err := e.client.Question.Query().Where(question.SubjectID(e.subj.ID)).Order(ent.Desc(question.FieldID)).Limit(5).All(e.sys)
				if err != nil {
					t.Fatal(err)
				}
				slices.Reverse(qs)
				q := qs[1]
				if q.Type != question.TypeMULTIPLE || q.Category != "安全管理" || len(q.Options) != 4 ||
					!slices.Equal(q.Answer.Options, []int{0, 1, 3}) || q.Points != 4 || !q.Active {
					t.Fatalf("multiple: %+v", q)
				}
				if q := qs[2]; q.Type != question.TypeTRUE_FALSE || q.Answer.True == nil || *q.Answer.True || q.Points != 1 || len(q.Options) != 0 {
					t.Fatalf("true/false: %+v", q)
				}
				if q := qs[3]; q.Stem != "发现事故隐患应当立即报告。\n第二行。" || !*q.Answer.True || q.Category != "" {
					t.Fatalf("multi-line: %+v", q)
				}
				// CSV cells guarded against formulas ('=…) lose the guard; XLSX cells are text already.
				expl := "'=公式"
				if strings.EqualFold(tc.format, "csv") {
					expl = "=公式"
				}
				if q := qs[4]; q.Stem != "=1+1 的结果" || q.Options[0] != "-2" || q.Explanation != expl || q.Points != 10 {
					t.Fatalf("formula-like text: %+v", q)
				}
			})
		}
	})
}

func TestImportBadRows(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		rows := [][]string{
			goodRows[0],
			line("单选题", "", "两个答案", []string{"甲", "乙"}, "AB", "", "1"), // line 3
			goodRows[1],
			line("多选题", "", "", []string{"甲"}, "AZ", "", "11"),         // line 5: stem, options, answer, points
			line("填空题", "", "题型错", nil, "对", "", ""),                   // line 6
			line("判断题", "", "判断带选项", []string{"对", "错"}, "对", "", "1"), // line 7
		}
		withGap := line("单选题", "", "选项有空缺", []string{"甲", "", "丙"}, "A", "", "1")
		for _, tc := range []struct {
			format string
			data   []byte
			lines  []int
		}{
			{"csv", csvFile(rows, true), []int{3, 5, 6, 7}},
			{"xlsx", xlsxFile(t, rows), []int{3, 5, 6, 7}},
			// Three bad rows, the middle one with a gap in its options.
			{"csv", csvFile([][]string{goodRows[2], rows[1], goodRows[3], withGap, rows[4]}, false), []int{3, 6, 7}},
		} {
			t.Run(tc.format, func(t *testing.T) {
				_, err := e.svc.Import(e.admin, e.subj.ID, bytes.NewReader(tc.data), tc.format)
				ae := code(t, err, apperr.BadInput)
				if ae.Field != "file" {
					t.Fatalf("field %q", ae.Field)
				}
				errs, _ := ae.Extra["rowErrors"].([]bank.RowError)
				var lines []int
				for _, re := range errs {
					if re.Message == "" || re.Column == "" {
						t.Fatalf("row error without message or column: %+v", re)
					}
					if !slices.Contains(lines, re.Line) {
						lines = append(lines, re.Line)
					}
				}
				if !slices.Equal(lines, tc.lines) {
					t.Fatalf("lines %v, want %v (%+v)", lines, tc.lines, errs)
				}
				if e.count(e.subj.ID) != 0 {
					t.Fatal("questions were written from a bad file")
				}
			})
		}
		// Every problem of line 5 is reported, not just the first.
		_, err := e.svc.Import(e.admin, e.subj.ID, bytes.NewReader(csvFile(rows[3:4], false)), "csv")
		var cols []string
		for _, re := range code(t, err, apperr.BadInput).Extra["rowErrors"].([]bank.RowError) {
			cols = append(cols, re.Column)
		}
		slices.Sort(cols)
		if !slices.Equal(cols, []string{"分值", "答案", "选项A", "题干"}) {
			t.Fatalf("columns %v", cols)
		}
		// A CSV line number counts the lines of multi-line cells before it.
		data := csvFile([][]string{goodRows[3], rows[1]}, false)
		_, err = e.svc.Import(e.admin, e.subj.ID, bytes.NewReader(data), "csv")
		if errs := code(t, err, apperr.BadInput).Extra["rowErrors"].([]bank.RowError); errs[0].Line != 4 {
			t.Fatalf("line %d, want 4", errs[0].Line)
		}
	})
}

func TestImportRefusals(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		good := csvFile(goodRows, false)
		_, err := e.svc.Import(context.Background(), e.subj.ID, bytes.NewReader(good), "csv")
		code(t, err, apperr.Unauthenticated)
		_, err = e.svc.Import(e.rev, e.subj.ID, bytes.NewReader(good), "csv")
		code(t, err, apperr.Forbidden)
		_, err = e.svc.Import(e.cand, e.subj.ID, bytes.NewReader(good), "csv")
		code(t, err, apperr.Forbidden)
		_, err = e.svc.Import(e.admin, 99999, bytes.NewReader(good), "csv")
		if code(t, err, apperr.BadInput).Field != "subjectID" {
			t.Fatal("unknown subject not reported on subjectID")
		}
		_, err = e.svc.Import(e.admin, e.subj.ID, bytes.NewReader(good), "xls")
		code(t, err, apperr.BadInput)
		_, err = e.svc.Import(e.admin, e.subj.ID, bytes.NewReader(good), "xlsx") // CSV bytes as xlsx
		code(t, err, apperr.BadInput)
		_, err = e.svc.Import(e.admin, e.subj.ID, strings.NewReader("题型,题干,答案,难度\n单选,x,A\n"), "csv")
		code(t, err, apperr.BadInput)
		_, err = e.svc.Import(e.admin, e.subj.ID, strings.NewReader("题型,题干\n判断,x\n"), "csv") // no 答案 column
		code(t, err, apperr.BadInput)
		_, err = e.svc.Import(e.admin, e.subj.ID, strings.NewReader("\ufeff"+strings.Join(fileHeader, ",")+"\n"), "csv")
		code(t, err, apperr.BadInput)
		_, err = e.svc.Import(e.admin, e.subj.ID, strings.NewReader("题型,题干,答案\n判断,\"unterminated,对\n"), "csv")
		code(t, err, apperr.BadInput)
		_, err = e.svc.Import(e.admin, e.subj.ID, bytes.NewReader(make([]byte, bank.MaxFileBytes+1)), "csv")
		code(t, err, apperr.BadInput)
		if e.count(e.subj.ID) != 0 {
			t.Fatal("a refused import wrote questions")
		}
	})
}

func TestExportRoundTrip(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		if _, err := e.svc.Import(e.admin, e.subj.ID, bytes.NewReader(csvFile(goodRows, true)), "csv"); err != nil {
			t.Fatal(err)
		}
		// A retired question is not exported.
		if _, err := e.client.Question.Create().SetSubjectID(e.subj.ID).SetType(question.TypeTRUE_FALSE).SetStem("旧题").
			SetAnswer(schema.QuestionAnswer{True: new(true)}).SetActive(false).Save(e.admin); err != nil {
			t.Fatal(err)
		}
		src := active(t, e, e.subj.ID)
		for _, format := range []string{"csv", "xlsx"} {
			t.Run(format, func(t *testing.T) {
				var out bytes.Buffer
				if err := e.svc.Export(e.rev, e.subj.ID, format, &out); err != nil {
					t.Fatal(err)
				}
				target := e.subject("RT"+format, "往返"+format)
				res, err := e.svc.Import(e.admin, target.ID, bytes.NewReader(out.Bytes()), format)
				if err != nil {
					t.Fatal(err)
				}
				got := active(t, e, target.ID)
				if res.Created != len(src) || !slices.EqualFunc(src, got, same) {
					t.Fatalf("round trip changed the questions:\n%v\n%v", src, got)
				}
				// Exporting again gives the same file content (CSV byte for byte).
				var again bytes.Buffer
				if err := e.svc.Export(e.admin, target.ID, format, &again); err != nil {
					t.Fatal(err)
				}
				if format == "csv" && !bytes.Equal(out.Bytes(), again.Bytes()) {
					t.Fatal("second export differs")
				}
				if format == "csv" && !bytes.HasPrefix(out.Bytes(), []byte("\ufeff题型,")) {
					t.Fatal("CSV export without BOM and header")
				}
			})
		}
		err := e.svc.Export(e.cand, e.subj.ID, "csv", &bytes.Buffer{})
		code(t, err, apperr.Forbidden)
		err = e.svc.Export(e.proc, e.subj.ID, "csv", &bytes.Buffer{})
		code(t, err, apperr.Forbidden)
		err = e.svc.Export(e.admin, e.subj.ID, "pdf", &bytes.Buffer{})
		code(t, err, apperr.BadInput)
	})
}

func active(t *testing.T, e *env, subjectID int) []*ent.Question {
	qs, err := e.client.Question.Query().Where(question.SubjectID(subjectID), question.Active(true)).Order(ent.Asc(question.FieldID)).All(e.sys)
	if err != nil {
		t.Fatal(err)
	}
	return qs
}

func same(a, b *ent.Question) bool {
	return a.Type == b.Type && a.Category == b.Category && a.Stem == b.Stem && slices.Equal(a.Options, b.Options) &&
		slices.Equal(a.Answer.Options, b.Answer.Options) && (a.Answer.True == nil) == (b.Answer.True == nil) &&
		(a.Answer.True == nil || *a.Answer.True == *b.Answer.True) && a.Explanation == b.Explanation && a.Points == b.Points
}

// seedBank imports n questions of each type in each category.
func seedBank(t *testing.T, e *env, subjectID, n int, cats ...string) {
	t.Helper()
	var rows [][]string
	for _, c := range cats {
		for i := range n {
			rows = append(rows,
				line("单选题", c, fmt.Sprintf("%s单选%d", c, i), []string{"甲", "乙", "丙", "丁"}, string(rune('A'+i%4)), "", "1"),
				line("多选题", c, fmt.Sprintf("%s多选%d", c, i), []string{"甲", "乙", "丙", "丁", "戊"}, "AC", "", "2"),
				line("判断题", c, fmt.Sprintf("%s判断%d", c, i), nil, []string{"对", "错"}[i%2], "", "1"))
		}
	}
	if _, err := e.svc.Import(e.admin, subjectID, bytes.NewReader(csvFile(rows, false)), "csv"); err != nil {
		t.Fatal(err)
	}
}

func formalRules() []schema.PaperRule {
	return []schema.PaperRule{
		{Type: "SINGLE", Category: "法律法规", Count: 10, Points: 2},
		{Type: "SINGLE", Count: 10, Points: 2},
		{Type: "MULTIPLE", Count: 10, Points: 4},
		{Type: "TRUE_FALSE", Count: 10, Points: 2},
	}
}

func TestSaveTemplate(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		seedBank(t, e, e.subj.ID, 12, "法律法规", "安全管理")
		in := bank.TemplateInput{SubjectID: e.subj.ID, Kind: papertemplate.KindFORMAL, Name: " 正式试卷 ", DurationMinutes: 90, Rules: formalRules()}
		tpl, err := e.svc.SaveTemplate(e.admin, in)
		if err != nil {
			t.Fatal(err)
		}
		if tpl.Name != "正式试卷" || tpl.PassMark != 60 || !tpl.Active || len(tpl.Rules) != 4 || tpl.Rules[0].Category != "法律法规" {
			t.Fatalf("saved %+v", tpl)
		}
		templates := func() int {
			n, err := e.client.PaperTemplate.Query().Count(e.sys)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		bad := func(name string, mut func(*bank.TemplateInput), want apperr.Code, field string) {
			t.Helper()
			x := in
			x.Rules = formalRules()
			mut(&x)
			_, err := e.svc.SaveTemplate(e.admin, x)
			ae := code(t, err, want)
			if field != "" && ae.Field != field {
				t.Fatalf("%s: field %q, want %q (%s)", name, ae.Field, field, ae.Message)
			}
			if templates() != 1 {
				t.Fatalf("%s: a refused template was written", name)
			}
		}
		bad("formal total 90", func(x *bank.TemplateInput) { x.Name = "b"; x.Rules[3].Count = 5 }, apperr.BadInput, "rules")
		bad("formal rule without points", func(x *bank.TemplateInput) { x.Name = "b"; x.Rules[3].Points = 0 }, apperr.BadInput, "rules")
		bad("unknown type", func(x *bank.TemplateInput) { x.Name = "b"; x.Rules[0].Type = "ESSAY" }, apperr.BadInput, "rules")
		bad("no rules", func(x *bank.TemplateInput) { x.Name = "b"; x.Rules = nil }, apperr.BadInput, "rules")
		bad("zero count", func(x *bank.TemplateInput) { x.Name = "b"; x.Rules[0].Count = 0 }, apperr.BadInput, "rules")
		bad("duration", func(x *bank.TemplateInput) { x.Name = "b"; x.DurationMinutes = 0 }, apperr.BadInput, "durationMinutes")
		bad("pass mark", func(x *bank.TemplateInput) { x.Name = "b"; x.PassMark = new(101) }, apperr.BadInput, "passMark")
		bad("kind", func(x *bank.TemplateInput) { x.Name = "b"; x.Kind = "EXAM" }, apperr.BadInput, "kind")
		bad("name", func(x *bank.TemplateInput) { x.Name = "  " }, apperr.BadInput, "name")
		bad("subject", func(x *bank.TemplateInput) { x.Name = "b"; x.SubjectID = 99999 }, apperr.BadInput, "subjectID")
		bad("duplicate name", func(x *bank.TemplateInput) {}, apperr.Conflict, "")
		// 12 法律法规 singles; the category rule wants 13.
		bad("category shortage", func(x *bank.TemplateInput) {
			x.Name = "b"
			x.Rules[0].Count, x.Rules[1].Count = 13, 7
		}, apperr.BadInput, "rules")
		// 24 singles; 10 of 法律法规 first, then 15 of the 14 left.
		bad("type shortage after the category rule", func(x *bank.TemplateInput) {
			x.Name = "b"
			x.Rules[1].Count, x.Rules[1].Points, x.Rules[0].Points = 15, 1, 1
			x.Rules[3].Count, x.Rules[3].Points = 5, 9
		}, apperr.BadInput, "rules")
		bad("other subject's bank is empty", func(x *bank.TemplateInput) { x.Name = "b"; x.SubjectID = e.other.ID }, apperr.BadInput, "rules")
		_, err = e.svc.SaveTemplate(e.rev, in)
		code(t, err, apperr.Forbidden)
		_, err = e.svc.SaveTemplate(e.cand, in)
		code(t, err, apperr.Forbidden)

		// A mock paper need not total 100 and may use the questions' own points.
		mock, err := e.svc.SaveTemplate(e.admin, bank.TemplateInput{SubjectID: e.subj.ID, Kind: papertemplate.KindMOCK, Name: "测试试卷",
			DurationMinutes: 30, PassMark: new(0), Rules: []schema.PaperRule{{Type: "TRUE_FALSE", Count: 5}}})
		if err != nil {
			t.Fatal(err)
		}
		// A pass mark above what the paper can score is refused.
		_, err = e.svc.SaveTemplate(e.admin, bank.TemplateInput{SubjectID: e.subj.ID, Kind: papertemplate.KindMOCK, Name: "测试试卷2",
			DurationMinutes: 30, Rules: []schema.PaperRule{{Type: "TRUE_FALSE", Count: 5, Points: 2}}})
		if code(t, err, apperr.BadInput).Field != "passMark" {
			t.Fatal("pass mark above the total not reported on passMark")
		}
		// Update: the subject stays; the name may not collide with another template of the kind.
		id := tpl.ID
		up := in
		up.ID, up.Name, up.PassMark, up.Active = &id, "正式试卷（新）", new(70), new(false)
		tpl, err = e.svc.SaveTemplate(e.admin, up)
		if err != nil {
			t.Fatal(err)
		}
		if tpl.Name != "正式试卷（新）" || tpl.PassMark != 70 || tpl.Active || tpl.SubjectID != e.subj.ID {
			t.Fatalf("updated %+v", tpl)
		}
		up.SubjectID = e.other.ID
		_, err = e.svc.SaveTemplate(e.admin, up)
		code(t, err, apperr.BadInput)
		missing := 99999
		up.ID, up.SubjectID = &missing, 0
		_, err = e.svc.SaveTemplate(e.admin, up)
		code(t, err, apperr.NotFound)
		_ = mock
	})
}

func TestDrawFor(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		seedBank(t, e, e.subj.ID, 12, "法律法规", "安全管理")
		seedBank(t, e, e.other.ID, 12, "法律法规")
		tpl, err := e.svc.SaveTemplate(e.admin, bank.TemplateInput{SubjectID: e.subj.ID, Kind: papertemplate.KindFORMAL,
			Name: "正式试卷", DurationMinutes: 90, Rules: formalRules()})
		if err != nil {
			t.Fatal(err)
		}
		before := e.d.Queries()
		p, err := e.svc.DrawFor(e.sys, tpl.ID, 2026)
		if err != nil {
			t.Fatal(err)
		}
		if n := e.d.Queries() - before; n > 2 {
			t.Fatalf("DrawFor ran %d statements, want ≤ 2", n)
		}
		if len(p.Items) != 40 || p.TotalPoints != 100 {
			t.Fatalf("paper: %d items, %d points", len(p.Items), p.TotalPoints)
		}
		q2, err := e.svc.DrawFor(e.sys, tpl.ID, 2026)
		if err != nil || !slices.Equal(ids(p), ids(q2)) {
			t.Fatalf("redraw differs: %v", err)
		}
		// Grading the correct answers from the database's questions gives 100.
		qs, err := e.client.Question.Query().Where(question.SubjectID(e.subj.ID)).All(e.sys)
		if err != nil {
			t.Fatal(err)
		}
		if score, _, err := bank.Grade(p, keys(p, qs), qs); err != nil || score != 100 {
			t.Fatalf("score %d, %v", score, err)
		}
		// A candidate draws nothing directly: questions are not theirs to read.
		if _, err := e.svc.DrawFor(e.cand, tpl.ID, 1); err == nil {
			t.Fatal("a candidate drew a paper")
		}
		_, err = e.svc.DrawFor(e.sys, 99999, 1)
		code(t, err, apperr.NotFound)
		// Retiring questions after the template was saved: a clear conflict.
		if _, err := e.client.Question.Update().Where(question.SubjectID(e.subj.ID), question.TypeEQ(question.TypeMULTIPLE)).
			SetActive(false).Save(e.admin); err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.DrawFor(e.sys, tpl.ID, 1)
		code(t, err, apperr.Conflict)
	})
}

func TestPrivacy(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		seedBank(t, e, e.subj.ID, 2, "法律法规")
		if _, err := e.svc.SaveTemplate(e.admin, bank.TemplateInput{SubjectID: e.subj.ID, Kind: papertemplate.KindMOCK,
			Name: "测试试卷", DurationMinutes: 30, PassMark: new(6), Rules: []schema.PaperRule{{Type: "SINGLE", Count: 2, Points: 5}}}); err != nil {
			t.Fatal(err)
		}
		anon := context.Background()
		for _, tc := range []struct {
			name            string
			ctx             context.Context
			questions, tpls bool
		}{
			{"admin", e.admin, true, true},
			{"reviewer", e.rev, true, true},
			{"proctor", e.proc, false, true},
			{"candidate", e.cand, false, false},
			{"anonymous", anon, false, false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				n, err := e.client.Question.Query().Count(tc.ctx)
				if tc.questions != (err == nil && n == 6) {
					t.Fatalf("questions: %d, %v", n, err)
				}
				if !tc.questions && !errorsIsDeny(err) {
					t.Fatalf("questions refused with %v", err)
				}
				m, err := e.client.PaperTemplate.Query().Count(tc.ctx)
				if tc.tpls != (err == nil && m == 1) {
					t.Fatalf("templates: %d, %v", m, err)
				}
			})
		}
		// Only ADMIN writes; nobody deletes.
		create := func(ctx context.Context) error {
			return e.client.Question.Create().SetSubjectID(e.subj.ID).SetType(question.TypeTRUE_FALSE).SetStem("x").
				SetAnswer(schema.QuestionAnswer{True: new(true)}).Exec(ctx)
		}
		for _, ctx := range []context.Context{e.rev, e.cand, e.proc, anon} {
			if err := create(ctx); !errorsIsDeny(err) {
				t.Fatalf("non-admin created a question: %v", err)
			}
			if err := e.client.PaperTemplate.Update().SetPassMark(0).Exec(ctx); !errorsIsDeny(err) {
				t.Fatalf("non-admin changed a template: %v", err)
			}
		}
		if err := create(e.admin); err != nil {
			t.Fatal(err)
		}
		if _, err := e.client.Question.Delete().Exec(e.admin); !errorsIsDeny(err) {
			t.Fatalf("questions deleted: %v", err)
		}
		if _, err := e.client.PaperTemplate.Delete().Exec(e.sys); !errorsIsDeny(err) {
			t.Fatalf("templates deleted: %v", err)
		}
	})
}

func errorsIsDeny(err error) bool {
	return err != nil && strings.Contains(err.Error(), privacy.Deny.Error())
}
