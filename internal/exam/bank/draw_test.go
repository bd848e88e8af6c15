package bank_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/papertemplate"
	"github.com/kaowu/kaowu/ent/question"
	"github.com/kaowu/kaowu/ent/schema"
	"github.com/kaowu/kaowu/internal/exam/bank"
)

const subj = 7

// mkBank builds a bank: per category, n single (4 options), n multiple (5
// options), n true/false questions. Ids are sequential from 1.
func mkBank(n int, cats ...string) []*ent.Question {
	var qs []*ent.Question
	id := 0
	add := func(t question.Type, cat string, opts []string, ans schema.QuestionAnswer) {
		id++
		qs = append(qs, &ent.Question{ID: id, SubjectID: subj, Type: t, Category: cat,
			Stem: fmt.Sprintf("%s题%d", cat, id), Options: opts, Answer: ans, Points: 1 + id%3, Active: true})
	}
	yes, no := true, false
	for _, c := range cats {
		for i := range n {
			add(question.TypeSINGLE, c, []string{"甲", "乙", "丙", "丁"}, schema.QuestionAnswer{Options: []int{i % 4}})
			add(question.TypeMULTIPLE, c, []string{"一", "二", "三", "四", "五"}, schema.QuestionAnswer{Options: []int{i % 5, (i + 2) % 5}})
			tf := &yes
			if i%2 == 1 {
				tf = &no
			}
			add(question.TypeTRUE_FALSE, c, nil, schema.QuestionAnswer{True: tf})
		}
	}
	return qs
}

func formal() *ent.PaperTemplate {
	return &ent.PaperTemplate{ID: 3, SubjectID: subj, Kind: papertemplate.KindFORMAL, PassMark: 60, Rules: []schema.PaperRule{
		{Type: "SINGLE", Category: "法律法规", Count: 10, Points: 2},
		{Type: "SINGLE", Count: 10, Points: 2},
		{Type: "MULTIPLE", Count: 10, Points: 4},
		{Type: "TRUE_FALSE", Category: "安全管理", Count: 10, Points: 2},
	}}
}

// key answers an item correctly, in display indexes.
func key(it bank.Item, q *ent.Question) bank.Response {
	if q.Type == question.TypeTRUE_FALSE {
		return bank.Response{True: q.Answer.True}
	}
	var r bank.Response
	for d, orig := range it.OptionMap {
		if slices.Contains(q.Answer.Options, orig) {
			r.Options = append(r.Options, d)
		}
	}
	return r
}

func keys(p bank.Paper, qs []*ent.Question) map[int]bank.Response {
	by := map[int]*ent.Question{}
	for _, q := range qs {
		by[q.ID] = q
	}
	out := map[int]bank.Response{}
	for _, it := range p.Items {
		out[it.QuestionID] = key(it, by[it.QuestionID])
	}
	return out
}

func TestDrawReproducible(t *testing.T) {
	qs := mkBank(30, "法律法规", "安全管理", "专业技术")
	a, err := bank.Draw(formal(), qs, 42)
	if err != nil {
		t.Fatal(err)
	}
	// Same seed, questions in another order: the same paper.
	shuffled := slices.Clone(qs)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	b, err := bank.Draw(formal(), shuffled, 42)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same template, questions and seed gave different papers")
	}
	if a.TotalPoints != 100 || len(a.Items) != 40 || a.Seed != 42 || a.TemplateID != 3 {
		t.Fatalf("paper: total %d, %d items, seed %d, template %d", a.TotalPoints, len(a.Items), a.Seed, a.TemplateID)
	}
	// Other seeds: other papers (question choice or order).
	differ := 0
	for seed := int64(1); seed <= 20; seed++ {
		c, err := bank.Draw(formal(), qs, seed)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(ids(a), ids(c)) {
			differ++
		}
	}
	if differ != 20 {
		t.Fatalf("only %d of 20 other seeds gave a different paper", differ)
	}
}

func ids(p bank.Paper) []int {
	var out []int
	for _, it := range p.Items {
		out = append(out, it.QuestionID)
	}
	return out
}

func TestDrawCountsPerRule(t *testing.T) {
	qs := mkBank(30, "法律法规", "安全管理", "专业技术")
	by := map[int]*ent.Question{}
	for _, q := range qs {
		by[q.ID] = q
	}
	for seed := range int64(50) {
		p, err := bank.Draw(formal(), qs, seed)
		if err != nil {
			t.Fatal(err)
		}
		count := map[string]int{}
		seen := map[int]bool{}
		for _, it := range p.Items {
			if seen[it.QuestionID] {
				t.Fatalf("seed %d: question %d drawn twice", seed, it.QuestionID)
			}
			seen[it.QuestionID] = true
			q := by[it.QuestionID]
			count[string(q.Type)+"/"+q.Category]++
			count[string(q.Type)]++
			if it.Stem != q.Stem || it.Type != q.Type {
				t.Fatalf("item does not show its question")
			}
		}
		if count["SINGLE/法律法规"] < 10 || count["SINGLE"] != 20 || count["MULTIPLE"] != 10 ||
			count["TRUE_FALSE"] != 10 || count["TRUE_FALSE/安全管理"] != 10 {
			t.Fatalf("seed %d: counts %v", seed, count)
		}
	}
}

func TestDrawOptionsShuffledAndMapped(t *testing.T) {
	qs := mkBank(30, "法律法规", "安全管理")
	by := map[int]*ent.Question{}
	for _, q := range qs {
		by[q.ID] = q
	}
	moved := 0
	for seed := range int64(10) {
		p, err := bank.Draw(formal(), qs, seed)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range p.Items {
			q := by[it.QuestionID]
			if q.Type == question.TypeTRUE_FALSE {
				if it.Options != nil || it.OptionMap != nil {
					t.Fatal("true/false item with options")
				}
				continue
			}
			if len(it.Options) != len(q.Options) || len(it.OptionMap) != len(q.Options) {
				t.Fatalf("options %v map %v of %v", it.Options, it.OptionMap, q.Options)
			}
			for d, orig := range it.OptionMap {
				if it.Options[d] != q.Options[orig] {
					t.Fatalf("display option %d %q maps to %d %q", d, it.Options[d], orig, q.Options[orig])
				}
				if d != orig {
					moved++
				}
			}
		}
	}
	if moved == 0 {
		t.Fatal("options were never shuffled")
	}
	if !slices.Equal(qs[0].Options, []string{"甲", "乙", "丙", "丁"}) {
		t.Fatal("Draw changed the question's own options")
	}
}

func TestDrawShortage(t *testing.T) {
	qs := mkBank(5, "法律法规")
	tests := []struct {
		name  string
		rules []schema.PaperRule
		rule  int
		have  int
	}{
		{"too few of a category", []schema.PaperRule{{Type: "SINGLE", Category: "法律法规", Count: 6, Points: 1}}, 0, 5},
		{"category absent", []schema.PaperRule{{Type: "SINGLE", Category: "专业技术", Count: 1, Points: 1}}, 0, 0},
		// The category rule is filled first; the general rule gets the rest.
		{"overlap", []schema.PaperRule{{Type: "SINGLE", Count: 3, Points: 1}, {Type: "SINGLE", Category: "法律法规", Count: 3, Points: 1}}, 0, 2},
		{"inactive not counted", []schema.PaperRule{{Type: "MULTIPLE", Count: 5, Points: 1}}, 0, 4},
	}
	qs[1].Active = false // a MULTIPLE question
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for seed := range int64(5) {
				_, err := bank.Draw(&ent.PaperTemplate{SubjectID: subj, Rules: tc.rules}, qs, seed)
				var se *bank.ShortageError
				if !errors.As(err, &se) || se.Rule != tc.rule || se.Have != tc.have {
					t.Fatalf("err %v, want shortage of rule %d with %d", err, tc.rule, tc.have)
				}
			}
		})
	}
	// Another subject's questions never count.
	if _, err := bank.Draw(&ent.PaperTemplate{SubjectID: subj + 1, Rules: []schema.PaperRule{{Type: "SINGLE", Count: 1}}}, qs, 1); err == nil {
		t.Fatal("drew from another subject's questions")
	}
}

func TestDrawBadTemplate(t *testing.T) {
	qs := mkBank(5, "x")
	for _, rules := range [][]schema.PaperRule{nil, {{Type: "ESSAY", Count: 1}}, {{Type: "SINGLE", Count: 0}}, {{Type: "SINGLE", Count: 1, Points: -1}}} {
		if _, err := bank.Draw(&ent.PaperTemplate{SubjectID: subj, Rules: rules}, qs, 1); err == nil {
			t.Fatalf("rules %v accepted", rules)
		}
	}
	if _, err := bank.Draw(nil, qs, 1); err == nil {
		t.Fatal("nil template accepted")
	}
}

func TestGrade(t *testing.T) {
	qs := mkBank(30, "法律法规", "安全管理")
	p, err := bank.Draw(formal(), qs, 9)
	if err != nil {
		t.Fatal(err)
	}
	by := map[int]*ent.Question{}
	for _, q := range qs {
		by[q.ID] = q
	}
	var single, multi, tf bank.Item
	for _, it := range p.Items {
		switch it.Type {
		case question.TypeSINGLE:
			single = it
		case question.TypeMULTIPLE:
			multi = it
		case question.TypeTRUE_FALSE:
			tf = it
		}
	}
	right := keys(p, qs)
	wrongOpt := func(it bank.Item) int { // a display index that is not correct
		for d, orig := range it.OptionMap {
			if !slices.Contains(by[it.QuestionID].Answer.Options, orig) {
				return d
			}
		}
		t.Fatal("no wrong option")
		return 0
	}
	flip := !*by[tf.QuestionID].Answer.True
	mk := right[multi.QuestionID].Options
	tests := []struct {
		name  string
		edit  func(map[int]bank.Response)
		score int
	}{
		{"all correct", func(map[int]bank.Response) {}, 100},
		{"nothing answered", func(m map[int]bank.Response) { clear(m) }, 0},
		{"single wrong", func(m map[int]bank.Response) { m[single.QuestionID] = bank.Response{Options: []int{wrongOpt(single)}} }, 100 - single.Points},
		{"single two choices", func(m map[int]bank.Response) {
			m[single.QuestionID] = bank.Response{Options: append(slices.Clone(m[single.QuestionID].Options), wrongOpt(single))}
		}, 100 - single.Points},
		{"multiple subset", func(m map[int]bank.Response) { m[multi.QuestionID] = bank.Response{Options: mk[:1]} }, 100 - multi.Points},
		{"multiple superset", func(m map[int]bank.Response) {
			m[multi.QuestionID] = bank.Response{Options: append(slices.Clone(mk), wrongOpt(multi))}
		}, 100 - multi.Points},
		{"multiple reordered and repeated", func(m map[int]bank.Response) {
			m[multi.QuestionID] = bank.Response{Options: []int{mk[1], mk[0], mk[1]}}
		}, 100},
		{"multiple out of range", func(m map[int]bank.Response) {
			m[multi.QuestionID] = bank.Response{Options: append(slices.Clone(mk), 99)}
		}, 100 - multi.Points},
		{"true/false wrong", func(m map[int]bank.Response) { m[tf.QuestionID] = bank.Response{True: &flip} }, 100 - tf.Points},
		{"true/false answered with options", func(m map[int]bank.Response) { m[tf.QuestionID] = bank.Response{Options: []int{0}} }, 100 - tf.Points},
		{"stored original indexes instead of display", func(m map[int]bank.Response) {
			m[multi.QuestionID] = bank.Response{Options: by[multi.QuestionID].Answer.Options}
		}, -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ans := map[int]bank.Response{}
			for k, v := range right {
				ans[k] = v
			}
			tc.edit(ans)
			score, per, err := bank.Grade(p, ans, qs)
			if err != nil {
				t.Fatal(err)
			}
			sum := 0
			for _, r := range per {
				sum += r.Points
			}
			if sum != score || len(per) != len(p.Items) {
				t.Fatalf("per-question results do not add up: %d vs %d", sum, score)
			}
			if tc.score >= 0 && score != tc.score {
				t.Fatalf("score %d, want %d", score, tc.score)
			}
			if tc.score < 0 {
				// Right only if the shuffle left this item's answer in place.
				want := 100 - multi.Points
				if slices.Equal(key(multi, by[multi.QuestionID]).Options, by[multi.QuestionID].Answer.Options) {
					want = 100
				}
				if score != want {
					t.Fatalf("score %d, want %d", score, want)
				}
			}
		})
	}
	if _, _, err := bank.Grade(p, right, qs[:3]); err == nil {
		t.Fatal("grading without the paper's questions succeeded")
	}
}

func FuzzDrawGrade(f *testing.F) {
	f.Add(int64(0), uint8(3), uint8(2), uint8(1), uint8(4), false)
	f.Add(int64(-1), uint8(0), uint8(9), uint8(0), uint8(0), true)
	f.Add(int64(1<<62), uint8(40), uint8(40), uint8(40), uint8(10), false)
	f.Fuzz(func(t *testing.T, seed int64, ns, nm, nt, pts uint8, cat bool) {
		qs := mkBank(12, "法律法规", "安全管理")
		var rules []schema.PaperRule
		category := ""
		if cat {
			category = "安全管理"
		}
		for _, r := range []schema.PaperRule{{Type: "SINGLE", Count: int(ns)}, {Type: "MULTIPLE", Count: int(nm), Category: category}, {Type: "TRUE_FALSE", Count: int(nt)}} {
			if r.Count > 0 {
				r.Points = int(pts % 11)
				rules = append(rules, r)
			}
		}
		tpl := &ent.PaperTemplate{SubjectID: subj, Rules: rules}
		p, err := bank.Draw(tpl, qs, seed)
		if err != nil {
			return // a shortage or a template without rules: an error, never a panic
		}
		score, _, err := bank.Grade(p, keys(p, qs), qs)
		if err != nil {
			t.Fatal(err)
		}
		if score != p.TotalPoints {
			t.Fatalf("correct answers scored %d of %d", score, p.TotalPoints)
		}
		if s, _, _ := bank.Grade(p, nil, qs); s != 0 {
			t.Fatalf("no answers scored %d", s)
		}
	})
}
