package bank

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/question"
	"github.com/kaowu/kaowu/ent/schema"
)

// Formats of import and export files.
const (
	FormatXLSX = "xlsx"
	FormatCSV  = "csv"
)

// Limits of an import file.
const (
	MaxFileBytes = 10 << 20
	MaxRows      = 5000
	maxOptions   = 8
	maxStem      = 2000
	maxOption    = 500
	maxCategory  = 32
)

// Column names, in file order.
const (
	colType        = "题型"
	colCategory    = "分类"
	colStem        = "题干"
	colAnswer      = "答案"
	colExplanation = "解析"
	colPoints      = "分值"
)

var optionCols = []string{"选项A", "选项B", "选项C", "选项D", "选项E", "选项F", "选项G", "选项H"}

func header() []string {
	h := []string{colType, colCategory, colStem}
	h = append(h, optionCols...)
	return append(h, colAnswer, colExplanation, colPoints)
}

// RowError is one problem of an import file, reported to the user.
type RowError struct {
	Line    int    `json:"line"`
	Column  string `json:"column"`
	Message string `json:"message"`
}

// row is one data line of a file.
type row struct {
	line  int
	cells []string
}

// readRows reads the header and data rows of a file; blank rows are dropped.
// A file that cannot be read at all is reported as a single RowError.
func readRows(data []byte, format string) ([]string, []row, []RowError) {
	var raw []row
	switch format {
	case FormatCSV:
		data = bytes.TrimPrefix(data, []byte("\ufeff"))
		cr := csv.NewReader(bytes.NewReader(data))
		cr.FieldsPerRecord = -1
		for {
			rec, err := cr.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				line := 0
				var pe *csv.ParseError
				if errors.As(err, &pe) {
					line = pe.Line
				}
				return nil, nil, []RowError{{Line: line, Message: "CSV格式错误：" + err.Error()}}
			}
			line, _ := cr.FieldPos(0)
			raw = append(raw, row{line: line, cells: rec})
			if len(raw) > MaxRows+1 {
				break
			}
		}
	case FormatXLSX:
		f, err := excelize.OpenReader(bytes.NewReader(data), excelize.Options{UnzipSizeLimit: 64 << 20, UnzipXMLSizeLimit: 32 << 20})
		if err != nil {
			return nil, nil, []RowError{{Line: 0, Message: "无法读取Excel文件，请上传.xlsx格式的文件"}}
		}
		defer f.Close()
		sheets := f.GetSheetList()
		if len(sheets) == 0 {
			return nil, nil, []RowError{{Message: "Excel文件中没有工作表"}}
		}
		rows, err := f.GetRows(sheets[0], excelize.Options{RawCellValue: true})
		if err != nil {
			return nil, nil, []RowError{{Message: "无法读取Excel工作表"}}
		}
		for i, cells := range rows {
			raw = append(raw, row{line: i + 1, cells: cells})
		}
	default:
		return nil, nil, []RowError{{Message: "不支持的文件格式"}}
	}
	var out []row
	var hdr []string
	for _, r := range raw {
		if blank(r.cells) {
			continue
		}
		if hdr == nil {
			hdr = r.cells
			continue
		}
		out = append(out, r)
	}
	if hdr == nil {
		return nil, nil, []RowError{{Line: 1, Message: "文件是空的：第一行应为表头（题型、分类、题干、选项A…选项H、答案、解析、分值）"}}
	}
	return hdr, out, nil
}

func blank(cells []string) bool {
	for _, c := range cells {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// columns maps the header's column names to positions.
func columns(hdr []string, line int) (map[string]int, []RowError) {
	known := map[string]bool{}
	for _, h := range header() {
		known[h] = true
	}
	pos := map[string]int{}
	var errs []RowError
	for i, h := range hdr {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		switch {
		case h == "":
		case !known[h]:
			errs = append(errs, RowError{Line: line, Column: h, Message: "未知的列名“" + h + "”"})
		case pos[h] != 0:
			errs = append(errs, RowError{Line: line, Column: h, Message: "列“" + h + "”重复"})
		default:
			pos[h] = i + 1 // 1-based so that 0 means absent
		}
	}
	for _, h := range []string{colType, colStem, colAnswer} {
		if pos[h] == 0 {
			errs = append(errs, RowError{Line: line, Column: h, Message: "缺少必需的列“" + h + "”"})
		}
	}
	return pos, errs
}

// parsed is a validated question of an import file.
type parsed struct {
	Type        question.Type
	Category    string
	Stem        string
	Options     []string
	Answer      schema.QuestionAnswer
	Explanation string
	Points      int
}

var typeNames = map[string]question.Type{
	"单选": question.TypeSINGLE, "单选题": question.TypeSINGLE, "单项选择题": question.TypeSINGLE, "SINGLE": question.TypeSINGLE,
	"多选": question.TypeMULTIPLE, "多选题": question.TypeMULTIPLE, "多项选择题": question.TypeMULTIPLE, "MULTIPLE": question.TypeMULTIPLE,
	"判断": question.TypeTRUE_FALSE, "判断题": question.TypeTRUE_FALSE, "TRUE_FALSE": question.TypeTRUE_FALSE,
}

func typeLabel(t question.Type) string {
	switch t {
	case question.TypeSINGLE:
		return "单选题"
	case question.TypeMULTIPLE:
		return "多选题"
	case question.TypeTRUE_FALSE:
		return "判断题"
	}
	return string(t)
}

var trueWords = map[string]bool{"对": true, "正确": true, "√": true, "是": true, "T": true, "TRUE": true,
	"错": false, "错误": false, "×": false, "否": false, "F": false, "FALSE": false}

// parseRow validates one data row; every problem of the row is reported.
func parseRow(r row, pos map[string]int, csvFile bool) (parsed, []RowError) {
	var errs []RowError
	bad := func(col, msg string) { errs = append(errs, RowError{Line: r.line, Column: col, Message: msg}) }
	cell := func(col string) string {
		i := pos[col] - 1
		if i < 0 || i >= len(r.cells) {
			return ""
		}
		s := strings.TrimSpace(r.cells[i])
		if csvFile {
			s = unguard(s)
		}
		return s
	}
	text := func(col string, limit int) string {
		s := cell(col)
		if !utf8.ValidString(s) {
			bad(col, "包含无效字符")
		} else if utf8.RuneCountInString(s) > limit {
			bad(col, fmt.Sprintf("不能超过%d个字", limit))
		}
		return s
	}
	var p parsed
	typ, ok := typeNames[strings.ToUpper(cell(colType))]
	switch {
	case cell(colType) == "":
		bad(colType, "题型不能为空（单选题、多选题或判断题）")
	case !ok:
		bad(colType, "题型“"+cell(colType)+"”无效，应为单选题、多选题或判断题")
	}
	p.Type = typ
	p.Category = text(colCategory, maxCategory)
	if p.Stem = text(colStem, maxStem); p.Stem == "" {
		bad(colStem, "题干不能为空")
	}
	last := -1
	opts := make([]string, maxOptions)
	for i, col := range optionCols {
		if opts[i] = text(col, maxOption); opts[i] != "" {
			last = i
		}
	}
	for i := 0; i < last; i++ {
		if opts[i] == "" {
			bad(optionCols[i], optionCols[i]+"为空，但后面还有选项")
		}
	}
	p.Options = opts[:last+1]
	ans := cell(colAnswer)
	switch typ {
	case question.TypeSINGLE, question.TypeMULTIPLE:
		if len(p.Options) < 2 {
			bad(optionCols[0], "选择题至少需要2个选项")
		}
		idx, msg := parseLetters(ans, len(p.Options))
		switch {
		case msg != "":
			bad(colAnswer, msg)
		case typ == question.TypeSINGLE && len(idx) != 1:
			bad(colAnswer, "单选题只能有1个正确答案")
		case typ == question.TypeMULTIPLE && len(idx) < 2:
			bad(colAnswer, "多选题至少需要2个正确答案")
		}
		p.Answer.Options = idx
	case question.TypeTRUE_FALSE:
		if len(p.Options) > 0 {
			bad(optionCols[0], "判断题不填选项")
		}
		v, ok := trueWords[strings.ToUpper(ans)]
		if !ok {
			bad(colAnswer, "判断题答案应为“对”或“错”")
		}
		p.Answer.True = &v
	}
	p.Explanation = text(colExplanation, maxStem)
	p.Points = 1
	if s := cell(colPoints); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 10 {
			bad(colPoints, "分值应为1到10的整数")
		}
		p.Points = n
	}
	return p, errs
}

// parseLetters reads "AC", "A,C", "a c" into sorted option indexes.
func parseLetters(s string, n int) ([]int, string) {
	if s == "" {
		return nil, "答案不能为空"
	}
	seen := make([]bool, maxOptions)
	for _, c := range strings.ToUpper(s) {
		switch {
		case c == ',' || c == '，' || c == '、' || c == ' ' || c == ';' || c == '；':
			continue
		case c < 'A' || c > 'H':
			return nil, "答案“" + s + "”无效，应为选项字母，如A或AC"
		case int(c-'A') >= n:
			return nil, fmt.Sprintf("答案中的%c没有对应的选项", c)
		case seen[c-'A']:
			return nil, fmt.Sprintf("答案中的%c重复", c)
		}
		seen[c-'A'] = true
	}
	var idx []int
	for i, ok := range seen {
		if ok {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return nil, "答案不能为空"
	}
	return idx, ""
}

func letters(idx []int) string {
	var b strings.Builder
	for _, i := range idx {
		b.WriteByte(byte('A' + i))
	}
	return b.String()
}

// record is a question as a line of the export file.
func record(q *ent.Question) []string {
	rec := []string{typeLabel(q.Type), q.Category, q.Stem}
	for i := range optionCols {
		o := ""
		if i < len(q.Options) {
			o = q.Options[i]
		}
		rec = append(rec, o)
	}
	ans := letters(q.Answer.Options)
	if q.Type == question.TypeTRUE_FALSE {
		ans = "错"
		if q.Answer.True != nil && *q.Answer.True {
			ans = "对"
		}
	}
	return append(rec, ans, q.Explanation, strconv.Itoa(q.Points))
}

// guard keeps spreadsheet programs from running CSV cells as formulas
// (CSV injection); unguard undoes it on import so files round-trip.
func guard(s string) string {
	if s != "" && strings.ContainsRune("=+-@", rune(s[0])) {
		return "'" + s
	}
	return s
}

func unguard(s string) string {
	if len(s) > 1 && s[0] == '\'' && strings.ContainsRune("=+-@", rune(s[1])) {
		return s[1:]
	}
	return s
}

// writeFile writes questions in format.
func writeFile(w io.Writer, format string, qs []*ent.Question) error {
	switch format {
	case FormatCSV:
		// The BOM makes Excel open the UTF-8 file as UTF-8.
		if _, err := io.WriteString(w, "\ufeff"); err != nil {
			return err
		}
		cw := csv.NewWriter(w)
		cw.UseCRLF = true
		if err := cw.Write(header()); err != nil {
			return err
		}
		for _, q := range qs {
			rec := record(q)
			for i := range rec {
				rec[i] = guard(rec[i])
			}
			if err := cw.Write(rec); err != nil {
				return err
			}
		}
		cw.Flush()
		return cw.Error()
	case FormatXLSX:
		f := excelize.NewFile()
		defer f.Close()
		const sheet = "题库"
		if err := f.SetSheetName("Sheet1", sheet); err != nil {
			return err
		}
		sw, err := f.NewStreamWriter(sheet)
		if err != nil {
			return err
		}
		put := func(n int, rec []string) error {
			cells := make([]any, len(rec))
			for i, s := range rec {
				// Explicit string cells: never formulas, never reinterpreted numbers.
				cells[i] = excelize.Cell{Value: s}
			}
			cell, _ := excelize.CoordinatesToCellName(1, n)
			return sw.SetRow(cell, cells)
		}
		if err := put(1, header()); err != nil {
			return err
		}
		for i, q := range qs {
			if err := put(i+2, record(q)); err != nil {
				return err
			}
		}
		if err := sw.Flush(); err != nil {
			return err
		}
		return f.Write(w)
	}
	return fmt.Errorf("bank: unknown format %q", format)
}
