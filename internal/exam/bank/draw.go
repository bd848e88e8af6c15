package bank

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/question"
	"github.com/kaowu/kaowu/ent/schema"
)

// Paper is one attempt's drawn paper: what the candidate sees, plus the
// option maps that grading needs. It holds no answers.
type Paper struct {
	TemplateID  int    `json:"templateId"`
	Seed        int64  `json:"seed"`
	TotalPoints int    `json:"totalPoints"`
	Items       []Item `json:"items"`
}

// Item is one question of a paper as displayed.
type Item struct {
	QuestionID int           `json:"questionId"`
	Type       question.Type `json:"type"`
	Stem       string        `json:"stem"`
	// Options in display order; OptionMap[d] is the stored index of display option d.
	Options   []string `json:"options,omitempty"`
	OptionMap []int    `json:"optionMap,omitempty"`
	Points    int      `json:"points"`
}

// Response is a candidate's answer to one item: display option indexes for
// choice questions, True for TRUE_FALSE. A zero Response is "not answered".
type Response struct {
	Options []int `json:"options,omitempty"`
	True    *bool `json:"true,omitempty"`
}

// ItemResult is the grading of one item.
type ItemResult struct {
	QuestionID int  `json:"questionId"`
	Answered   bool `json:"answered"`
	Correct    bool `json:"correct"`
	Points     int  `json:"points"` // awarded: the item's points or 0
}

// ShortageError says a rule cannot be filled from the questions given.
type ShortageError struct {
	Rule     int // index in the template's rules
	Type     string
	Category string
	Need     int
	Have     int
}

func (e *ShortageError) Error() string {
	what := typeLabel(question.Type(e.Type))
	if e.Category != "" {
		what = e.Category + "·" + what
	}
	return fmt.Sprintf("第%d条规则需要%d道%s，题库中可用的只有%d道", e.Rule+1, e.Need, what, e.Have)
}

// drawOrder lists rule indexes with category rules first: they draw from their
// own (type, category) pool before rules of the whole type take the rest, so
// whether a template can be filled does not depend on the seed.
func drawOrder(rules []schema.PaperRule) []int {
	order := make([]int, len(rules))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		return cmp.Compare(btoi(rules[a].Category == ""), btoi(rules[b].Category == ""))
	})
	return order
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Draw draws a paper from the template's rules: per rule, Count distinct
// active questions of the template's subject at random; then the question
// order and each question's options are shuffled. It is pure and
// reproducible: the same template, questions (in any order) and seed give
// the same paper.
func Draw(t *ent.PaperTemplate, questions []*ent.Question, seed int64) (Paper, error) {
	if t == nil {
		return Paper{}, fmt.Errorf("bank: no template")
	}
	if err := checkRules(t.Rules); err != nil {
		return Paper{}, err
	}
	// Sort a copy by id so the result does not depend on the caller's order.
	pool := make([]*ent.Question, 0, len(questions))
	for _, q := range questions {
		if q != nil && q.Active && q.SubjectID == t.SubjectID {
			pool = append(pool, q)
		}
	}
	slices.SortFunc(pool, func(a, b *ent.Question) int { return cmp.Compare(a.ID, b.ID) })
	pool = slices.CompactFunc(pool, func(a, b *ent.Question) bool { return a.ID == b.ID })

	rng := rand.New(rand.NewPCG(uint64(seed), uint64(seed)^0x9e3779b97f4a7c15))
	used := make(map[int]bool)
	p := Paper{TemplateID: t.ID, Seed: seed}
	for _, ri := range drawOrder(t.Rules) {
		r := t.Rules[ri]
		var cand []*ent.Question
		for _, q := range pool {
			if !used[q.ID] && string(q.Type) == r.Type && (r.Category == "" || q.Category == r.Category) {
				cand = append(cand, q)
			}
		}
		if len(cand) < r.Count {
			return Paper{}, &ShortageError{Rule: ri, Type: r.Type, Category: r.Category, Need: r.Count, Have: len(cand)}
		}
		// Partial Fisher–Yates: the first Count entries are a uniform sample.
		for i := 0; i < r.Count; i++ {
			j := i + rng.IntN(len(cand)-i)
			cand[i], cand[j] = cand[j], cand[i]
			q := cand[i]
			used[q.ID] = true
			pts := r.Points
			if pts == 0 {
				pts = q.Points
			}
			p.Items = append(p.Items, Item{QuestionID: q.ID, Type: q.Type, Stem: q.Stem, Options: q.Options, Points: pts})
			p.TotalPoints += pts
		}
	}
	rng.Shuffle(len(p.Items), func(i, j int) { p.Items[i], p.Items[j] = p.Items[j], p.Items[i] })
	for i := range p.Items {
		it := &p.Items[i]
		if it.Type == question.TypeTRUE_FALSE || len(it.Options) == 0 {
			it.Options = nil
			continue
		}
		perm := rng.Perm(len(it.Options))
		opts := make([]string, len(perm))
		for d, orig := range perm {
			opts[d] = it.Options[orig]
		}
		it.Options, it.OptionMap = opts, perm
	}
	return p, nil
}

// checkRules guards Draw against rules that would make it misbehave; the
// user-facing validation is ValidateTemplate.
func checkRules(rules []schema.PaperRule) error {
	if len(rules) == 0 {
		return fmt.Errorf("bank: template has no rules")
	}
	for i, r := range rules {
		if question.TypeValidator(question.Type(r.Type)) != nil {
			return fmt.Errorf("bank: rule %d: unknown type %q", i+1, r.Type)
		}
		if r.Count < 1 || r.Points < 0 {
			return fmt.Errorf("bank: rule %d: count %d, points %d", i+1, r.Count, r.Points)
		}
	}
	return nil
}

// Grade grades a paper objectively: answers are keyed by question id and
// given in display indexes, mapped back through each item's OptionMap.
// SINGLE and MULTIPLE need the exact set of correct options; TRUE_FALSE the
// right bool. It is pure; it fails only when a question of the paper is
// missing from questions.
func Grade(p Paper, answers map[int]Response, questions []*ent.Question) (int, []ItemResult, error) {
	byID := make(map[int]*ent.Question, len(questions))
	for _, q := range questions {
		if q != nil {
			byID[q.ID] = q
		}
	}
	score := 0
	results := make([]ItemResult, len(p.Items))
	for i, it := range p.Items {
		q, ok := byID[it.QuestionID]
		if !ok {
			return 0, nil, fmt.Errorf("bank: question %d of the paper is missing", it.QuestionID)
		}
		a, answered := answers[it.QuestionID]
		answered = answered && (len(a.Options) > 0 || a.True != nil)
		res := ItemResult{QuestionID: it.QuestionID, Answered: answered}
		if answered && correct(it, q, a) {
			res.Correct, res.Points = true, it.Points
			score += it.Points
		}
		results[i] = res
	}
	return score, results, nil
}

func correct(it Item, q *ent.Question, a Response) bool {
	key := q.Answer
	if q.Type == question.TypeTRUE_FALSE {
		return key.True != nil && a.True != nil && *a.True == *key.True
	}
	if len(key.Options) == 0 {
		return false
	}
	got := make([]int, 0, len(a.Options))
	for _, d := range a.Options {
		if d < 0 || d >= len(it.OptionMap) {
			return false // an option the candidate was never shown
		}
		got = append(got, it.OptionMap[d])
	}
	slices.Sort(got)
	got = slices.Compact(got)
	want := slices.Sorted(slices.Values(key.Options))
	want = slices.Compact(want)
	if q.Type == question.TypeSINGLE && len(got) != 1 {
		return false
	}
	return slices.Equal(got, want)
}

// Layout is what an attempt stores of its drawn paper (see Rebuild).
func (p Paper) Layout() []schema.PaperSlot {
	out := make([]schema.PaperSlot, len(p.Items))
	for i, it := range p.Items {
		out[i] = schema.PaperSlot{QuestionID: it.QuestionID, Points: it.Points, OptionMap: it.OptionMap}
	}
	return out
}

// FromLayout rebuilds a paper from its stored layout and its questions
// (any order). Withdrawn questions are still used: the paper was drawn with
// them. It fails when a question is missing or its options no longer match.
func FromLayout(templateID int, seed int64, layout []schema.PaperSlot, questions []*ent.Question) (Paper, error) {
	byID := make(map[int]*ent.Question, len(questions))
	for _, q := range questions {
		if q != nil {
			byID[q.ID] = q
		}
	}
	p := Paper{TemplateID: templateID, Seed: seed, Items: make([]Item, len(layout))}
	for i, sl := range layout {
		q, ok := byID[sl.QuestionID]
		if !ok {
			return Paper{}, fmt.Errorf("bank: question %d of the paper is missing", sl.QuestionID)
		}
		it := Item{QuestionID: q.ID, Type: q.Type, Stem: q.Stem, Points: sl.Points}
		if q.Type != question.TypeTRUE_FALSE && len(q.Options) > 0 {
			if len(sl.OptionMap) != len(q.Options) {
				return Paper{}, fmt.Errorf("bank: question %d has %d options, the paper %d", q.ID, len(q.Options), len(sl.OptionMap))
			}
			it.Options = make([]string, len(sl.OptionMap))
			for d, orig := range sl.OptionMap {
				if orig < 0 || orig >= len(q.Options) {
					return Paper{}, fmt.Errorf("bank: question %d: bad option map", q.ID)
				}
				it.Options[d] = q.Options[orig]
			}
			it.OptionMap = slices.Clone(sl.OptionMap)
		}
		p.Items[i] = it
		p.TotalPoints += sl.Points
	}
	return p, nil
}
