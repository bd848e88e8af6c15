package exam_test

import (
	"slices"
	"testing"

	"github.com/kaowu/kaowu/ent/attempt"
	"github.com/kaowu/kaowu/ent/question"
	"github.com/kaowu/kaowu/ent/schema"
	"github.com/kaowu/kaowu/internal/exam"
	"github.com/kaowu/kaowu/internal/exam/bank"
)

// TestBankEditsDoNotChangeALivePaper: the paper is stored when the attempt
// starts. Questions added to the bank, a question of the paper withdrawn
// and the template's rules changed leave the candidate's paper, saved
// answers and grade as they were.
func TestBankEditsDoNotChangeALivePaper(t *testing.T) {
	eachDB(t, func(t *testing.T, w *world) {
		c, e := w.ready("组卷")
		m := w.start(c, e, attempt.KindMOCK)
		if _, err := w.svc.Submit(c.ctx, m.ID, attempt.SubmitReasonCANDIDATE); err != nil {
			t.Fatal(err)
		}
		a := w.start(c, e, attempt.KindFORMAL)
		if len(w.reload(a).Layout) != 10 {
			t.Fatalf("stored layout %v", w.reload(a).Layout)
		}
		before, err := w.svc.State(c.ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		items := w.paper(a).Items

		// The bank and template change under the running paper.
		for i := range 30 {
			tr := i%2 == 0
			w.client.Question.Create().SetSubjectID(w.subj.ID).SetType(question.TypeTRUE_FALSE).
				SetStem("新增判断题").SetAnswer(schema.QuestionAnswer{True: &tr}).SaveX(w.sys)
		}
		w.client.Question.UpdateOneID(items[0].QuestionID).SetActive(false).ExecX(w.sys)
		w.client.PaperTemplate.UpdateOneID(w.formT.ID).
			SetRules([]schema.PaperRule{{Type: "TRUE_FALSE", Count: 20, Points: 5}}).ExecX(w.sys)

		after, err := w.svc.State(c.ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		ids := func(p bank.Paper) []int {
			var out []int
			for _, it := range p.Items {
				out = append(out, it.QuestionID)
			}
			return out
		}
		if !slices.Equal(ids(before.Paper), ids(after.Paper)) || after.Paper.TotalPoints != 100 {
			t.Fatalf("paper changed: %v → %v (total %d)", ids(before.Paper), ids(after.Paper), after.Paper.TotalPoints)
		}
		for i := range before.Paper.Items {
			if !slices.Equal(before.Paper.Items[i].Options, after.Paper.Items[i].Options) {
				t.Fatalf("options of item %d reordered", i)
			}
		}
		// The withdrawn question still takes an answer and counts.
		for i, it := range items {
			if err := w.svc.SaveAnswer(c.ctx, exam.SaveInput{AttemptID: a.ID, QuestionID: it.QuestionID, Response: w.answer(it, i < 7), Seq: 1}); err != nil {
				t.Fatalf("save %d: %v", i, err)
			}
		}
		got, err := w.svc.Submit(c.ctx, a.ID, attempt.SubmitReasonCANDIDATE)
		if err != nil {
			t.Fatal(err)
		}
		if *got.Score != 70 {
			t.Fatalf("score %d, want 70", *got.Score)
		}
	})
}
