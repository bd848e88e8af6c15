// Package bank keeps the question bank of each subject, the paper templates,
// and draws and grades papers. Draw and Grade are pure functions: an attempt
// stores its seed, and its paper can be drawn again at any time.
package bank

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/papertemplate"
	"github.com/kaowu/kaowu/ent/question"
	"github.com/kaowu/kaowu/ent/schema"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/authz"
	"github.com/kaowu/kaowu/internal/txn"
	"github.com/kaowu/kaowu/internal/viewer"
)

// Service manages question banks and paper templates.
type Service struct {
	Client *ent.Client
}

func (s *Service) db(ctx context.Context) *ent.Client { return txn.Client(ctx, s.Client) }

// ImportResult tells how many questions an import created.
type ImportResult struct {
	Created int `json:"created"`
}

// Import adds the questions of an XLSX or CSV file to a subject's bank
// (ADMIN). Every row is checked first; when any row is bad, the error lists
// every problem with its line and column (extension "rowErrors") and
// nothing is imported.
func (s *Service) Import(ctx context.Context, subjectID int, r io.Reader, format string) (ImportResult, error) {
	if _, err := authz.Require(ctx, "只有省总站可以导入题库", viewer.Admin); err != nil {
		return ImportResult{}, err
	}
	format = strings.ToLower(strings.TrimSpace(format))
	if format != FormatXLSX && format != FormatCSV {
		return ImportResult{}, apperr.Input("format", "文件格式应为xlsx或csv")
	}
	if err := s.checkSubject(ctx, subjectID); err != nil {
		return ImportResult{}, err
	}
	data, err := io.ReadAll(io.LimitReader(r, MaxFileBytes+1))
	if err != nil {
		return ImportResult{}, apperr.Wrap(err, apperr.BadInput, "无法读取上传的文件")
	}
	if len(data) > MaxFileBytes {
		return ImportResult{}, apperr.Input("file", fmt.Sprintf("文件不能超过%dMB", MaxFileBytes>>20))
	}
	qs, errs := parseFile(data, format)
	if len(errs) > 0 {
		return ImportResult{}, rowErrors(errs)
	}
	if len(qs) == 0 {
		return ImportResult{}, apperr.Input("file", "文件中没有试题")
	}
	if len(qs) > MaxRows {
		return ImportResult{}, apperr.Input("file", fmt.Sprintf("每次最多导入%d道题，请分批导入", MaxRows))
	}
	err = txn.WithTx(ctx, s.Client, func(ctx context.Context) error {
		db := s.db(ctx)
		const chunk = 100 // well under SQLite's bound-variable limit
		for i := 0; i < len(qs); i += chunk {
			var batch []*ent.QuestionCreate
			for _, p := range qs[i:min(i+chunk, len(qs))] {
				c := db.Question.Create().SetSubjectID(subjectID).SetType(p.Type).SetCategory(p.Category).
					SetStem(p.Stem).SetAnswer(p.Answer).SetExplanation(p.Explanation).SetPoints(p.Points)
				if len(p.Options) > 0 {
					c.SetOptions(p.Options)
				}
				batch = append(batch, c)
			}
			if err := db.Question.CreateBulk(batch...).Exec(ctx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return ImportResult{}, err
	}
	return ImportResult{Created: len(qs)}, nil
}

// parseFile reads and validates a whole file, collecting every problem.
func parseFile(data []byte, format string) ([]parsed, []RowError) {
	hdr, rows, errs := readRows(data, format)
	if len(errs) > 0 {
		return nil, errs
	}
	if len(rows) > MaxRows {
		return nil, []RowError{{Message: fmt.Sprintf("每次最多导入%d道题，请分批导入", MaxRows)}}
	}
	pos, errs := columns(hdr, 1)
	if len(errs) > 0 {
		return nil, errs
	}
	out := make([]parsed, 0, len(rows))
	for _, r := range rows {
		p, rerrs := parseRow(r, pos, format == FormatCSV)
		errs = append(errs, rerrs...)
		out = append(out, p)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return out, nil
}

func rowErrors(errs []RowError) error {
	lines := map[int]bool{}
	for _, e := range errs {
		lines[e.Line] = true
	}
	msg := fmt.Sprintf("导入文件有%d行存在%d处错误，未导入任何试题", len(lines), len(errs))
	if len(errs) == 1 && errs[0].Line <= 1 {
		msg = errs[0].Message + "，未导入任何试题"
	}
	e := apperr.Input("file", msg)
	return e.With("rowErrors", errs)
}

// Export writes the active questions of a subject, oldest first, in a file
// that Import reads back to the same questions (ADMIN, REVIEWER).
func (s *Service) Export(ctx context.Context, subjectID int, format string, w io.Writer) error {
	if _, err := authz.Require(ctx, "只有省总站和管理部门可以导出题库", viewer.Admin, viewer.Reviewer); err != nil {
		return err
	}
	format = strings.ToLower(strings.TrimSpace(format))
	if format != FormatXLSX && format != FormatCSV {
		return apperr.Input("format", "文件格式应为xlsx或csv")
	}
	if err := s.checkSubject(ctx, subjectID); err != nil {
		return err
	}
	qs, err := s.db(ctx).Question.Query().
		Where(question.SubjectID(subjectID), question.Active(true)).
		Order(ent.Asc(question.FieldID)).All(ctx)
	if err != nil {
		return err
	}
	return writeFile(w, format, qs)
}

func (s *Service) checkSubject(ctx context.Context, subjectID int) error {
	_, err := s.db(ctx).Subject.Get(ctx, subjectID)
	if ent.IsNotFound(err) {
		return apperr.Input("subjectID", "科目不存在")
	}
	return err
}

// TemplateInput creates (ID nil) or replaces a paper template.
type TemplateInput struct {
	ID              *int
	SubjectID       int
	Kind            papertemplate.Kind
	Name            string
	DurationMinutes int
	PassMark        *int // default 60
	Rules           []schema.PaperRule
	Active          *bool // default true
}

// Template limits.
const (
	maxRules     = 30
	maxRuleCount = 200
)

// ValidateTemplate checks a template's own settings: durations, pass mark,
// rules, and for FORMAL papers that every rule states its points and the
// points add up to 100. It returns the rules normalised (trimmed categories).
func ValidateTemplate(kind papertemplate.Kind, durationMinutes, passMark int, rules []schema.PaperRule) ([]schema.PaperRule, error) {
	if papertemplate.KindValidator(kind) != nil {
		return nil, apperr.Input("kind", "试卷类型应为测试试卷（MOCK）或正式试卷（FORMAL）")
	}
	if durationMinutes < 5 || durationMinutes > 600 {
		return nil, apperr.Input("durationMinutes", "考试时长应在5到600分钟之间")
	}
	if passMark < 0 || passMark > 100 {
		return nil, apperr.Input("passMark", "及格分应在0到100之间")
	}
	if len(rules) == 0 {
		return nil, apperr.Input("rules", "至少需要一条抽题规则")
	}
	if len(rules) > maxRules {
		return nil, apperr.Input("rules", fmt.Sprintf("抽题规则不能超过%d条", maxRules))
	}
	out := make([]schema.PaperRule, len(rules))
	total, allPointed := 0, true
	for i, r := range rules {
		r.Category = strings.TrimSpace(r.Category)
		bad := func(msg string) error {
			return apperr.Input("rules", fmt.Sprintf("第%d条规则：%s", i+1, msg)).With("rule", i)
		}
		switch {
		case question.TypeValidator(question.Type(r.Type)) != nil:
			return nil, bad("题型应为SINGLE、MULTIPLE或TRUE_FALSE")
		case utf8.RuneCountInString(r.Category) > maxCategory:
			return nil, bad(fmt.Sprintf("分类不能超过%d个字", maxCategory))
		case r.Count < 1 || r.Count > maxRuleCount:
			return nil, bad(fmt.Sprintf("题数应在1到%d之间", maxRuleCount))
		case r.Points < 0 || r.Points > 100:
			return nil, bad("每题分值应在0到100之间（0表示按试题自身分值）")
		case kind == papertemplate.KindFORMAL && r.Points == 0:
			return nil, bad("正式试卷须为每条规则设定每题分值")
		}
		if r.Points == 0 {
			allPointed = false
		}
		total += r.Count * r.Points
		out[i] = r
	}
	if kind == papertemplate.KindFORMAL && total != 100 {
		return nil, apperr.Input("rules", fmt.Sprintf("正式试卷总分应为100分，当前为%d分", total))
	}
	if allPointed && passMark > total {
		return nil, apperr.Input("passMark", fmt.Sprintf("及格分不能高于试卷总分%d分", total))
	}
	return out, nil
}

// SaveTemplate creates or updates a paper template (ADMIN). Besides
// ValidateTemplate, the subject's active questions must be able to fill
// every rule.
func (s *Service) SaveTemplate(ctx context.Context, in TemplateInput) (*ent.PaperTemplate, error) {
	if _, err := authz.Require(ctx, "只有省总站可以设置试卷模板", viewer.Admin); err != nil {
		return nil, err
	}
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" {
		return nil, apperr.Input("name", "请填写模板名称")
	}
	if utf8.RuneCountInString(in.Name) > 64 {
		return nil, apperr.Input("name", "模板名称不能超过64个字")
	}
	passMark := 60
	if in.PassMark != nil {
		passMark = *in.PassMark
	}
	rules, err := ValidateTemplate(in.Kind, in.DurationMinutes, passMark, in.Rules)
	if err != nil {
		return nil, err
	}
	var saved *ent.PaperTemplate
	err = txn.WithTx(ctx, s.Client, func(ctx context.Context) error {
		db := s.db(ctx)
		if in.ID != nil {
			old, err := db.PaperTemplate.Get(ctx, *in.ID)
			if ent.IsNotFound(err) {
				return apperr.New(apperr.NotFound, "试卷模板不存在")
			} else if err != nil {
				return err
			}
			if in.SubjectID != 0 && in.SubjectID != old.SubjectID {
				return apperr.Input("subjectID", "试卷模板的科目不能修改")
			}
			in.SubjectID = old.SubjectID
		} else if err := s.checkSubject(ctx, in.SubjectID); err != nil {
			return err
		}
		dup := db.PaperTemplate.Query().Where(papertemplate.SubjectID(in.SubjectID), papertemplate.KindEQ(in.Kind), papertemplate.Name(in.Name))
		if in.ID != nil {
			dup.Where(papertemplate.IDNEQ(*in.ID))
		}
		if ok, err := dup.Exist(ctx); err != nil {
			return err
		} else if ok {
			return apperr.New(apperr.Conflict, "该科目已有同名的同类试卷模板").With("field", "name")
		}
		qs, err := s.drawable(ctx, in.SubjectID, rules)
		if err != nil {
			return err
		}
		probe := &ent.PaperTemplate{SubjectID: in.SubjectID, Kind: in.Kind, Rules: rules}
		if _, err := Draw(probe, qs, 0); err != nil {
			var se *ShortageError
			if errors.As(err, &se) {
				return apperr.Input("rules", se.Error()).With("rule", se.Rule)
			}
			return err
		}
		active := in.Active == nil || *in.Active
		if in.ID == nil {
			saved, err = db.PaperTemplate.Create().SetSubjectID(in.SubjectID).SetKind(in.Kind).SetName(in.Name).
				SetDurationMinutes(in.DurationMinutes).SetPassMark(passMark).SetRules(rules).SetActive(active).Save(ctx)
		} else {
			saved, err = db.PaperTemplate.UpdateOneID(*in.ID).SetKind(in.Kind).SetName(in.Name).
				SetDurationMinutes(in.DurationMinutes).SetPassMark(passMark).SetRules(rules).SetActive(active).Save(ctx)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return saved, nil
}

// drawable loads the active questions of a subject of the types the rules use.
func (s *Service) drawable(ctx context.Context, subjectID int, rules []schema.PaperRule) ([]*ent.Question, error) {
	var types []question.Type
	for _, r := range rules {
		types = append(types, question.Type(r.Type))
	}
	return s.db(ctx).Question.Query().
		Where(question.SubjectID(subjectID), question.Active(true), question.TypeIn(types...)).
		All(ctx)
}

// DrawFor loads a template and its subject's questions (two queries) and
// draws the paper for seed. Questions are unreadable to candidates: the
// attempt service calls it under viewer.SystemContext once it has decided
// the candidate may sit the paper.
func (s *Service) DrawFor(ctx context.Context, templateID int, seed int64) (Paper, error) {
	t, err := s.db(ctx).PaperTemplate.Get(ctx, templateID)
	if ent.IsNotFound(err) {
		return Paper{}, apperr.New(apperr.NotFound, "试卷模板不存在")
	} else if err != nil {
		return Paper{}, err
	}
	qs, err := s.drawable(ctx, t.SubjectID, t.Rules)
	if err != nil {
		return Paper{}, err
	}
	p, err := Draw(t, qs, seed)
	var se *ShortageError
	if errors.As(err, &se) {
		// The bank shrank since the template was saved.
		return Paper{}, apperr.Wrap(err, apperr.Conflict, "题库中的试题不足以组卷："+se.Error())
	}
	return p, err
}

// PaperOf rebuilds a paper from the layout stored with its attempt (one
// query). Attempts from before layouts were stored have none: their paper
// is redrawn from the template and seed.
func (s *Service) PaperOf(ctx context.Context, templateID int, seed int64, layout []schema.PaperSlot) (Paper, error) {
	if len(layout) == 0 {
		return s.DrawFor(ctx, templateID, seed)
	}
	ids := make([]int, len(layout))
	for i, sl := range layout {
		ids[i] = sl.QuestionID
	}
	qs, err := s.db(ctx).Question.Query().Where(question.IDIn(ids...)).All(ctx)
	if err != nil {
		return Paper{}, err
	}
	return FromLayout(templateID, seed, layout, qs)
}
