package exam_test

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/attempt"
	"github.com/kaowu/kaowu/ent/attemptanswer"
	"github.com/kaowu/kaowu/ent/enrollment"
	"github.com/kaowu/kaowu/ent/examsession"
	"github.com/kaowu/kaowu/ent/job"
	"github.com/kaowu/kaowu/ent/papertemplate"
	"github.com/kaowu/kaowu/ent/user"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/evidence"
	"github.com/kaowu/kaowu/internal/exam"
	"github.com/kaowu/kaowu/internal/exam/bank"
	"github.com/kaowu/kaowu/internal/jobs"
	"github.com/kaowu/kaowu/internal/viewer"
)

func TestStart(t *testing.T) {
	eachDB(t, func(t *testing.T, w *world) {
		sink := w.subscribe(w.online)
		c, e := w.ready("张伟")
		a := w.start(c, e, attempt.KindMOCK)
		now := w.clock.Now()
		if a.Status != attempt.StatusIN_PROGRESS || a.Kind != attempt.KindMOCK || a.CandidateID != c.u.ID ||
			a.SessionID != w.online.ID || a.SiteID != w.site.ID || a.TemplateID != w.mockT.ID || a.PassMark != 60 {
			t.Fatalf("attempt = %+v", a)
		}
		if a.ConsentText != consent || !a.ConsentAt.Equal(now) || !a.StartedAt.Equal(now) {
			t.Fatalf("consent %q at %v", a.ConsentText, a.ConsentAt)
		}
		if want := now.Add(60 * time.Minute); !a.Deadline.Equal(want) {
			t.Fatalf("deadline %v, want %v", a.Deadline, want)
		}
		j, err := jobs.Find(w.sys, w.client, exam.JobDeadline, "attempt:"+itoa(a.ID))
		if err != nil || !j.RunAt.Equal(a.Deadline) || j.Status != job.StatusPENDING {
			t.Fatalf("deadline job %+v, %v", j, err)
		}
		if w.evidence(a, evidence.KindConsent) != 1 {
			t.Fatal("no CONSENT evidence")
		}
		if until, ok := w.ka.get(c.sid); !ok || !until.Equal(a.Deadline) {
			t.Fatalf("keep alive %v %v", until, ok)
		}
		if ev := sink.wait(t, "ATTEMPT_STARTED"); int(ev["attemptID"].(float64)) != a.ID {
			t.Fatalf("event %v", ev)
		}

		// Starting again while in progress resumes the same attempt.
		again := w.start(c, e, attempt.KindMOCK)
		if again.ID != a.ID || w.client.Attempt.Query().CountX(w.sys) != 1 {
			t.Fatal("second start created another attempt")
		}

		// FORMAL needs the MOCK submitted first.
		before := w.counts()
		_, err = w.svc.Start(c.ctx, startIn(e, attempt.KindFORMAL))
		wantCode(t, err, apperr.Conflict, "")
		if !strings.Contains(err.Error(), "请先完成测试试卷") || w.counts() != before {
			t.Fatalf("formal before mock: %v", err)
		}
		if _, err := w.svc.Submit(c.ctx, a.ID, attempt.SubmitReasonCANDIDATE); err != nil {
			t.Fatal(err)
		}
		_, err = w.svc.Start(c.ctx, startIn(e, attempt.KindMOCK))
		wantCode(t, err, apperr.Conflict, "")
		if !errors.Is(err, exam.ErrAlreadySubmitted) {
			t.Fatal("restart of a submitted mock")
		}
		f := w.start(c, e, attempt.KindFORMAL)
		if f.Kind != attempt.KindFORMAL || f.TemplateID != w.formT.ID || f.Seed == a.Seed {
			t.Fatalf("formal %+v", f)
		}

		// The deadline never passes the session's end.
		c2, e2 := w.ready("李娜")
		w.clock.Set(start.Add(100 * time.Minute))
		a2 := w.start(c2, e2, attempt.KindMOCK)
		if want := start.Add(120 * time.Minute); !a2.Deadline.Equal(want) {
			t.Fatalf("deadline %v, want session end %v", a2.Deadline, want)
		}
	})
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestStartRefusals(t *testing.T) {
	eachDB(t, func(t *testing.T, w *world) {
		c, e := w.ready("王芳")
		other := w.candidate("刘洋")
		pending := w.enroll(w.candidate("陈静"), w.online, enrollment.StatusPENDING_REVIEW, enrollment.PaymentStatusUNPAID, false)
		pendingC := candidateOf(w, pending)
		unpaid := w.enroll(w.candidate("杨磊"), w.online, enrollment.StatusAPPROVED, enrollment.PaymentStatusUNPAID, false)
		onsiteC := w.candidate("赵敏")
		onsite := w.enroll(onsiteC, w.site1, enrollment.StatusAPPROVED, enrollment.PaymentStatusPAID, false)

		cases := []struct {
			name  string
			ctx   context.Context
			in    exam.StartInput
			code  apperr.Code
			field string
			msg   string
		}{
			{"anonymous", context.Background(), startIn(e, attempt.KindMOCK), apperr.Unauthenticated, "", ""},
			{"staff", w.staff(user.RoleEXAM_SITE), startIn(e, attempt.KindMOCK), apperr.Forbidden, "", ""},
			{"no consent", c.ctx, exam.StartInput{EnrollmentID: e.ID, Kind: attempt.KindMOCK, ConsentText: consent}, apperr.BadInput, "consentAccepted", "同意"},
			{"empty consent text", c.ctx, exam.StartInput{EnrollmentID: e.ID, Kind: attempt.KindMOCK, ConsentAccepted: true, ConsentText: "  "}, apperr.BadInput, "consentText", ""},
			{"long consent text", c.ctx, exam.StartInput{EnrollmentID: e.ID, Kind: attempt.KindMOCK, ConsentAccepted: true, ConsentText: strings.Repeat("字", exam.MaxConsentText+1)}, apperr.BadInput, "consentText", ""},
			{"bad kind", c.ctx, exam.StartInput{EnrollmentID: e.ID, Kind: "PRACTICE", ConsentText: consent, ConsentAccepted: true}, apperr.BadInput, "kind", ""},
			{"someone else's", other.ctx, startIn(e, attempt.KindMOCK), apperr.NotFound, "", ""},
			{"unknown enrollment", c.ctx, exam.StartInput{EnrollmentID: 999999, Kind: attempt.KindMOCK, ConsentText: consent, ConsentAccepted: true}, apperr.NotFound, "", ""},
			{"not approved", pendingC, startIn(pending, attempt.KindMOCK), apperr.Conflict, "", "审核"},
			{"unpaid", candidateOf(w, unpaid), startIn(unpaid, attempt.KindMOCK), apperr.Conflict, "", "缴费"},
			{"onsite not checked in", onsiteC.ctx, startIn(onsite, attempt.KindMOCK), apperr.Conflict, "", "签到"},
		}
		before := w.counts()
		for _, tc := range cases {
			_, err := w.svc.Start(tc.ctx, tc.in)
			wantCode(t, err, tc.code, tc.field)
			if tc.msg != "" && !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("%s: message %q", tc.name, err.Error())
			}
			if w.counts() != before {
				t.Fatalf("%s wrote something", tc.name)
			}
		}
		if _, ok := w.ka.get(c.sid); ok {
			t.Fatal("refused start kept the session alive")
		}

		// Session state: CLOSED refuses; SCHEDULED only inside its window.
		w.client.ExamSession.UpdateOne(w.online).SetStatus(examsession.StatusCLOSED).ExecX(w.sys)
		_, err := w.svc.Start(c.ctx, startIn(e, attempt.KindMOCK))
		wantCode(t, err, apperr.Conflict, "")
		w.client.ExamSession.UpdateOne(w.online).SetStatus(examsession.StatusSCHEDULED).ExecX(w.sys)
		w.clock.Set(start.Add(-time.Minute))
		_, err = w.svc.Start(c.ctx, startIn(e, attempt.KindMOCK))
		wantCode(t, err, apperr.Conflict, "")
		w.clock.Set(start.Add(120 * time.Minute))
		_, err = w.svc.Start(c.ctx, startIn(e, attempt.KindMOCK))
		wantCode(t, err, apperr.Conflict, "")
		if w.counts() != before {
			t.Fatal("refused start wrote something")
		}
		w.clock.Set(start.Add(time.Minute))
		w.start(c, e, attempt.KindMOCK) // SCHEDULED, inside the window

		// On-site, checked in: allowed.
		w.client.Enrollment.UpdateOne(onsite).SetCheckedInAt(start).ExecX(w.sys)
		w.start(onsiteC, onsite, attempt.KindMOCK)

		// No active template for the kind.
		w.client.PaperTemplate.Update().Where(papertemplate.KindEQ(papertemplate.KindMOCK)).SetActive(false).ExecX(w.sys)
		c3, e3 := w.ready("周杰")
		before = w.counts()
		_, err = w.svc.Start(c3.ctx, startIn(e3, attempt.KindMOCK))
		wantCode(t, err, apperr.Conflict, "")
		if w.counts() != before {
			t.Fatal("refused start wrote something")
		}
	})
}

func candidateOf(w *world, e *ent.Enrollment) context.Context {
	return viewer.NewContext(context.Background(), &viewer.Viewer{UserID: e.CandidateID, Role: viewer.Candidate})
}

func TestState(t *testing.T) {
	eachDB(t, func(t *testing.T, w *world) {
		c, e := w.ready("吴刚")
		a := w.start(c, e, attempt.KindMOCK)
		p := w.paper(a)
		it := p.Items[0]
		if err := w.svc.SaveAnswer(c.ctx, exam.SaveInput{AttemptID: a.ID, QuestionID: it.QuestionID, Response: w.answer(it, true), Seq: 7}); err != nil {
			t.Fatal(err)
		}
		w.clock.Advance(10 * time.Minute)
		st, err := w.svc.State(c.ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Paper.Items) != 10 || st.Paper.TotalPoints != 100 || st.RemainingSeconds != 50*60 ||
			!st.ServerNow.Equal(w.clock.Now()) || !st.Deadline.Equal(a.Deadline) || st.Status != attempt.StatusIN_PROGRESS {
			t.Fatalf("state %+v", st)
		}
		for i, x := range st.Paper.Items {
			if x.QuestionID != p.Items[i].QuestionID || x.OptionMap != nil {
				t.Fatalf("item %d: %+v", i, x)
			}
		}
		body, _ := json.Marshal(st.Paper)
		if strings.Contains(string(body), "answer") || strings.Contains(string(body), "optionMap") {
			t.Fatalf("paper leaks the key: %s", body)
		}
		if len(st.Answers) != 1 || st.Answers[0].QuestionID != it.QuestionID || st.Answers[0].Seq != 7 {
			t.Fatalf("answers %+v", st.Answers)
		}
		// A proctor of the site reads it; another candidate does not.
		if _, err := w.svc.State(w.staff(user.RolePROCTOR), a.ID); err != nil {
			t.Fatal(err)
		}
		_, err = w.svc.State(w.candidate("外人").ctx, a.ID)
		wantCode(t, err, apperr.NotFound, "")
		_, err = w.svc.State(context.Background(), a.ID)
		wantCode(t, err, apperr.Unauthenticated, "")
	})
}

func TestSaveAnswer(t *testing.T) {
	eachDB(t, func(t *testing.T, w *world) {
		c, e := w.ready("郑爽")
		a := w.start(c, e, attempt.KindMOCK)
		p := w.paper(a)
		var tf, single bank.Item
		for _, it := range p.Items {
			if it.Options == nil {
				tf = it
			} else {
				single = it
			}
		}
		yes, no := true, false
		save := func(q int, r bank.Response, seq int64) error {
			return w.svc.SaveAnswer(c.ctx, exam.SaveInput{AttemptID: a.ID, QuestionID: q, Response: r, Seq: seq})
		}
		if err := save(tf.QuestionID, bank.Response{True: &yes}, 2); err != nil {
			t.Fatal(err)
		}
		// Replay of seq 2 with other content: no-op.
		if err := save(tf.QuestionID, bank.Response{True: &no}, 2); err != nil {
			t.Fatal(err)
		}
		if r := w.saved(a, tf.QuestionID); r.Seq != 2 || r.Response["true"] != true {
			t.Fatalf("replay changed the answer: %+v", r)
		}
		// Newer wins, older loses.
		if err := save(tf.QuestionID, bank.Response{True: &no}, 5); err != nil {
			t.Fatal(err)
		}
		if err := save(tf.QuestionID, bank.Response{True: &yes}, 3); err != nil {
			t.Fatal(err)
		}
		if r := w.saved(a, tf.QuestionID); r.Seq != 5 || r.Response["true"] != false {
			t.Fatalf("older seq won: %+v", r)
		}
		if err := save(single.QuestionID, bank.Response{Options: []int{2}}, 6); err != nil {
			t.Fatal(err)
		}

		// Refusals change nothing.
		before := w.counts()
		notInPaper := 0
		for id := range w.keys {
			found := false
			for _, it := range p.Items {
				found = found || it.QuestionID == id
			}
			if !found {
				notInPaper = id
				break
			}
		}
		wantCode(t, save(notInPaper, bank.Response{True: &yes}, 9), apperr.BadInput, "questionId")
		wantCode(t, save(single.QuestionID, bank.Response{Options: []int{4}}, 9), apperr.BadInput, "response")
		wantCode(t, save(single.QuestionID, bank.Response{Options: []int{0, 1}}, 9), apperr.BadInput, "response")
		wantCode(t, save(single.QuestionID, bank.Response{True: &yes}, 9), apperr.BadInput, "response")
		wantCode(t, save(tf.QuestionID, bank.Response{Options: []int{0}}, 9), apperr.BadInput, "response")
		wantCode(t, save(tf.QuestionID, bank.Response{True: &yes}, 0), apperr.BadInput, "seq")
		wantCode(t, w.svc.SaveAnswer(w.candidate("外人").ctx, exam.SaveInput{AttemptID: a.ID, QuestionID: tf.QuestionID, Response: bank.Response{True: &yes}, Seq: 9}), apperr.NotFound, "")
		wantCode(t, w.svc.SaveAnswer(w.staff(user.RolePROCTOR), exam.SaveInput{AttemptID: a.ID, QuestionID: tf.QuestionID, Response: bank.Response{True: &yes}, Seq: 9}), apperr.Forbidden, "")
		wantCode(t, w.svc.SaveAnswer(c.ctx, exam.SaveInput{AttemptID: 999999, QuestionID: tf.QuestionID, Response: bank.Response{True: &yes}, Seq: 9}), apperr.NotFound, "")
		// After the deadline (server clock).
		w.clock.Set(a.Deadline)
		wantCode(t, save(tf.QuestionID, bank.Response{True: &yes}, 9), apperr.Conflict, "")
		if w.counts() != before {
			t.Fatal("refused save wrote something")
		}
		// After submission (the cache still holds the attempt: the batch re-checks).
		w.clock.Set(a.Deadline.Add(-time.Minute))
		if _, err := w.svc.Submit(c.ctx, a.ID, attempt.SubmitReasonCANDIDATE); err != nil {
			t.Fatal(err)
		}
		before = w.counts()
		wantCode(t, save(tf.QuestionID, bank.Response{True: &yes}, 10), apperr.Conflict, "")
		if r := w.saved(a, tf.QuestionID); r.Seq != 5 || w.counts() != before {
			t.Fatal("save after submission applied")
		}
	})
}

func TestSaverGroupCommit(t *testing.T) {
	eachDB(t, func(t *testing.T, w *world) {
		w.svc.Window = 50 * time.Millisecond // wide windows: the test proves batching, not speed
		type job struct {
			c *candidate
			a *ent.Attempt
			p bank.Paper
		}
		var js []job
		for i := 0; i < 20; i++ {
			c, e := w.ready("考生")
			a := w.start(c, e, attempt.KindMOCK)
			js = append(js, job{c, a, w.paper(a)})
		}
		sv := w.svc.Saver()
		saves0, batches0 := sv.Stats()
		var wg sync.WaitGroup
		errs := make(chan error, 100)
		gate := make(chan struct{})
		for _, j := range js {
			for k := 0; k < 5; k++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-gate
					it := j.p.Items[k]
					errs <- w.svc.SaveAnswer(j.c.ctx, exam.SaveInput{AttemptID: j.a.ID, QuestionID: it.QuestionID, Response: w.answer(it, true), Seq: int64(k + 1)})
				}()
			}
		}
		releaseAll(t, gate, &wg, errs)
		saves, batches := sv.Stats()
		if saves-saves0 != 100 || w.client.AttemptAnswer.Query().CountX(w.sys) != 100 {
			t.Fatalf("saves %d, rows %d", saves-saves0, w.client.AttemptAnswer.Query().CountX(w.sys))
		}
		if batches-batches0 >= 100 {
			t.Fatalf("%d transactions for 100 saves", batches-batches0)
		}
		t.Logf("100 saves in %d transactions", batches-batches0)

		// Hot path: with the attempt's facts cached, a save costs the window's
		// statements only (status check and upsert; on PostgreSQL one
		// statement doing both), no lookup of its own.
		j := js[0]
		q0 := w.d.Queries()
		it := j.p.Items[0]
		if err := w.svc.SaveAnswer(j.c.ctx, exam.SaveInput{AttemptID: j.a.ID, QuestionID: it.QuestionID, Response: w.answer(it, false), Seq: 99}); err != nil {
			t.Fatal(err)
		}
		want := int64(2) // SELECT … (status), the upsert; BEGIN and COMMIT are not counted
		if w.d.Dialect == dialect.Postgres {
			want = 1
		}
		if n := w.d.Queries() - q0; n != want {
			t.Fatalf("a cached save sent %d statements, want %d", n, want)
		}
	})
}

// Batches written at once — by two replicas, here two batches in flight in
// one — of saves of the same answers neither deadlock nor let an older
// save win.
func TestSaverConcurrentBatchesSameRows(t *testing.T) {
	eachDB(t, func(t *testing.T, w *world) {
		w.svc.SaveWrites = 2
		type row struct {
			c  *candidate
			a  *ent.Attempt
			it bank.Item
		}
		var rows []row
		for range 3 {
			c, e := w.ready("考生")
			a := w.start(c, e, attempt.KindMOCK)
			for _, it := range w.paper(a).Items[:4] {
				rows = append(rows, row{c, a, it})
			}
		}
		const saves = 6 // per answer, sent at once in a shuffled order
		var wg sync.WaitGroup
		errs := make(chan error, len(rows)*saves)
		gate := make(chan struct{})
		for _, r := range rows {
			for _, seq := range rand.Perm(saves) {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-gate
					// The last save (seq 6) is the right answer, every other one wrong.
					errs <- w.svc.SaveAnswer(r.c.ctx, exam.SaveInput{AttemptID: r.a.ID, QuestionID: r.it.QuestionID,
						Response: w.answer(r.it, seq+1 == saves), Seq: int64(seq + 1)})
				}()
			}
		}
		releaseAll(t, gate, &wg, errs)
		for _, r := range rows {
			got := w.client.AttemptAnswer.Query().
				Where(attemptanswer.AttemptID(r.a.ID), attemptanswer.QuestionID(r.it.QuestionID)).OnlyX(w.sys)
			want, _ := json.Marshal(w.answer(r.it, true))
			have, _ := json.Marshal(got.Response)
			if got.Seq != saves || string(have) != string(want) {
				t.Fatalf("attempt %d question %d: seq %d %s, want seq %d %s", r.a.ID, r.it.QuestionID, got.Seq, have, saves, want)
			}
		}
	})
}

// Saves racing a submission: each is either written before the submission
// commits (and acknowledged) or refused and not written — never refused yet
// written, never acknowledged yet lost.
func TestSavesRacingSubmit(t *testing.T) {
	eachDB(t, func(t *testing.T, w *world) {
		c, e := w.ready("考生")
		a := w.start(c, e, attempt.KindMOCK)
		items := w.paper(a).Items[:5]
		var wg sync.WaitGroup
		type outcome struct {
			q   int
			seq int64
			err error
		}
		out := make(chan outcome, len(items)*40)
		gate := make(chan struct{})
		for _, it := range items {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-gate
				for seq := int64(1); seq <= 40; seq++ {
					err := w.svc.SaveAnswer(c.ctx, exam.SaveInput{AttemptID: a.ID, QuestionID: it.QuestionID, Response: w.answer(it, seq%2 == 0), Seq: seq})
					out <- outcome{it.QuestionID, seq, err}
				}
			}()
		}
		close(gate)
		time.Sleep(2 * time.Millisecond)
		if _, err := w.svc.Submit(c.ctx, a.ID, attempt.SubmitReasonCANDIDATE); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		close(out)
		acked := map[int]int64{}
		for o := range out {
			switch {
			case o.err == nil:
				acked[o.q] = max(acked[o.q], o.seq)
			default:
				if ae, ok := apperr.As(o.err); !ok || ae.Code != apperr.Conflict {
					t.Fatalf("save %d/%d: %v", o.q, o.seq, o.err)
				}
			}
		}
		for _, it := range items {
			var seq int64
			if r, err := w.client.AttemptAnswer.Query().Where(attemptanswer.AttemptID(a.ID), attemptanswer.QuestionID(it.QuestionID)).Only(w.sys); err == nil {
				seq = r.Seq
			} else if !ent.IsNotFound(err) {
				t.Fatal(err)
			}
			if seq != acked[it.QuestionID] {
				t.Fatalf("question %d: stored seq %d, last acknowledged %d", it.QuestionID, seq, acked[it.QuestionID])
			}
		}
	})
}

// releaseAll opens the gate the goroutines wait at, waits for them all and
// fails on the first error they sent.
func releaseAll(t *testing.T, gate chan struct{}, wg *sync.WaitGroup, errs chan error) {
	t.Helper()
	close(gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestFocusLoss(t *testing.T) {
	eachDB(t, func(t *testing.T, w *world) {
		sink := w.subscribe(w.online)
		c, e := w.ready("孙丽")
		a := w.start(c, e, attempt.KindMOCK)
		_, err := w.svc.FocusLost(c.ctx, a.ID, "bad kind")
		wantCode(t, err, apperr.BadInput, "kind")
		_, err = w.svc.FocusLost(w.candidate("外人").ctx, a.ID, "BLUR")
		wantCode(t, err, apperr.NotFound, "")
		_, err = w.svc.FocusLost(w.staff(user.RolePROCTOR), a.ID, "BLUR")
		wantCode(t, err, apperr.Forbidden, "")
		if w.reload(a).FocusLosses != 0 {
			t.Fatal("refused focus loss counted")
		}
		for i := 1; i <= 4; i++ {
			r, err := w.svc.FocusLost(c.ctx, a.ID, "HIDDEN")
			if err != nil || r.Count != i || r.Submitted {
				t.Fatalf("loss %d: %+v %v", i, r, err)
			}
		}
		if w.reload(a).Status != attempt.StatusIN_PROGRESS || w.evidence(a, evidence.KindFocusLoss) != 4 {
			t.Fatal("4 losses ended the attempt")
		}
		r, err := w.svc.FocusLost(c.ctx, a.ID, "BLUR")
		if err != nil || r.Count != 5 || !r.Submitted {
			t.Fatalf("5th: %+v %v", r, err)
		}
		got := w.reload(a)
		if got.Status != attempt.StatusSUBMITTED || *got.SubmitReason != attempt.SubmitReasonFOCUS_LOSS_LIMIT || got.FocusLosses != 5 {
			t.Fatalf("after 5th: %+v", got)
		}
		if ev := sink.wait(t, "AUTO_SUBMITTED"); ev["reason"] != "FOCUS_LOSS_LIMIT" {
			t.Fatalf("event %v", ev)
		}
		sink.wait(t, "FOCUS_LOSS")
		if w.evidence(a, evidence.KindSubmit) != 1 || w.evidence(a, evidence.KindFocusLoss) != 5 {
			t.Fatal("evidence")
		}
		if j, _ := jobs.Find(w.sys, w.client, exam.JobDeadline, "attempt:"+itoa(a.ID)); j.Status != job.StatusCANCELLED {
			t.Fatalf("deadline job %s", j.Status)
		}
		_, err = w.svc.FocusLost(c.ctx, a.ID, "BLUR")
		wantCode(t, err, apperr.Conflict, "")
		if w.reload(a).FocusLosses != 5 {
			t.Fatal("counted after submission")
		}
		if rep, err := evidence.Verify(w.sys, w.client, "attempt:"+itoa(a.ID)); err != nil || !rep.OK {
			t.Fatalf("chain %+v %v", rep, err)
		}
	})
}

func TestDeadlineAutoSubmit(t *testing.T) {
	eachDB(t, func(t *testing.T, w *world) {
		sink := w.subscribe(w.online)
		c, e := w.ready("黄河")
		a := w.start(c, e, attempt.KindMOCK)
		p := w.paper(a)
		for i, it := range p.Items[:7] {
			if err := w.svc.SaveAnswer(c.ctx, exam.SaveInput{AttemptID: a.ID, QuestionID: it.QuestionID, Response: w.answer(it, true), Seq: int64(i + 1)}); err != nil {
				t.Fatal(err)
			}
		}
		r := &jobs.Runner{Client: w.client, Handlers: map[string]jobs.Handler{exam.JobDeadline: w.svc.DeadlineHandler()}, Now: w.clock.Now, Log: quiet()}
		if n, err := r.RunDue(context.Background()); err != nil || n != 0 {
			t.Fatalf("ran %d before the deadline: %v", n, err)
		}
		w.clock.Set(a.Deadline.Add(time.Second))
		if n, err := r.RunDue(context.Background()); err != nil || n != 1 {
			t.Fatalf("ran %d: %v", n, err)
		}
		got := w.reload(a)
		if got.Status != attempt.StatusSUBMITTED || *got.SubmitReason != attempt.SubmitReasonTIME_UP || *got.Score != 70 || got.Result != nil {
			t.Fatalf("after deadline: %+v", got)
		}
		if j, _ := jobs.Find(w.sys, w.client, exam.JobDeadline, "attempt:"+itoa(a.ID)); j.Status != job.StatusDONE {
			t.Fatalf("job %s", j.Status)
		}
		if ev := sink.wait(t, "AUTO_SUBMITTED"); ev["reason"] != "TIME_UP" {
			t.Fatalf("event %v", ev)
		}
		// The handler is idempotent.
		if err := w.svc.DeadlineHandler()(w.sys, w.client.Job.Query().OnlyX(w.sys)); err != nil {
			t.Fatal(err)
		}
		if w.evidence(a, evidence.KindSubmit) != 1 {
			t.Fatal("submitted twice")
		}
	})
}

func TestConcurrentSubmitAndDeadline(t *testing.T) {
	eachDB(t, func(t *testing.T, w *world) {
		for round := 0; round < 3; round++ {
			c, e := w.ready("并发")
			w.clock.Set(start.Add(5 * time.Minute))
			a := w.start(c, e, attempt.KindMOCK)
			w.clock.Set(a.Deadline.Add(time.Second))
			j, err := jobs.Find(w.sys, w.client, exam.JobDeadline, "attempt:"+itoa(a.ID))
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			var candErr, jobErr, sysErr error
			wg.Add(3)
			go func() { defer wg.Done(); _, candErr = w.svc.Submit(c.ctx, a.ID, attempt.SubmitReasonCANDIDATE) }()
			go func() { defer wg.Done(); jobErr = w.svc.DeadlineHandler()(w.sys, j) }()
			go func() {
				defer wg.Done()
				_, sysErr = w.svc.SubmitSystem(context.Background(), a.ID, attempt.SubmitReasonPROCTOR_ENDED)
			}()
			wg.Wait()
			if jobErr != nil {
				t.Fatalf("deadline handler: %v", jobErr)
			}
			won := 0
			for _, err := range []error{candErr, sysErr} {
				switch {
				case err == nil:
					won++
				case !errors.Is(err, exam.ErrAlreadySubmitted):
					t.Fatalf("submit: %v", err)
				}
			}
			got := w.reload(a)
			if won == 0 && *got.SubmitReason != attempt.SubmitReasonTIME_UP {
				t.Fatalf("reason %s with no caller winning", *got.SubmitReason)
			}
			if won > 1 || w.evidence(a, evidence.KindSubmit) != 1 || got.Status != attempt.StatusSUBMITTED {
				t.Fatalf("won %d, SUBMIT records %d", won, w.evidence(a, evidence.KindSubmit))
			}
		}
	})
}

func TestSubmitGrading(t *testing.T) {
	eachDB(t, func(t *testing.T, w *world) {
		sink := w.subscribe(w.online)
		run := func(right int) *ent.Attempt {
			c, e := w.ready("评分")
			m := w.start(c, e, attempt.KindMOCK)
			if _, err := w.svc.Submit(c.ctx, m.ID, attempt.SubmitReasonCANDIDATE); err != nil {
				t.Fatal(err)
			}
			a := w.start(c, e, attempt.KindFORMAL)
			for i, it := range w.paper(a).Items {
				if i == 9 {
					continue // unanswered: wrong
				}
				if err := w.svc.SaveAnswer(c.ctx, exam.SaveInput{AttemptID: a.ID, QuestionID: it.QuestionID, Response: w.answer(it, i < right), Seq: 1}); err != nil {
					t.Fatal(err)
				}
			}
			got, err := w.svc.Submit(c.ctx, a.ID, attempt.SubmitReasonCANDIDATE)
			if err != nil {
				t.Fatal(err)
			}
			if m := w.reload(m); m.Result != nil || m.Score == nil || *m.Score != 0 {
				t.Fatalf("mock %+v", m)
			}
			return got
		}
		if a := run(6); *a.Score != 60 || *a.Result != attempt.ResultPENDING_REVIEW || *a.SubmitReason != attempt.SubmitReasonCANDIDATE {
			t.Fatalf("6 right: %+v", a)
		}
		if a := run(5); *a.Score != 50 || *a.Result != attempt.ResultFAIL {
			t.Fatalf("5 right: %+v", a)
		}
		if a := run(10); *a.Score != 90 || *a.Result != attempt.ResultPENDING_REVIEW {
			t.Fatalf("9 right + 1 blank: %+v", a)
		}
		if ev := sink.wait(t, "SUBMITTED"); ev["reason"] != "CANDIDATE" {
			t.Fatalf("event %v", ev)
		}
		if exam.Scale(59, 99) != 59 || exam.Scale(2, 3) != 66 || exam.Scale(0, 0) != 0 || exam.Scale(40, 40) != 100 {
			t.Fatal("Scale")
		}
	})
}

func TestSubmitRefusals(t *testing.T) {
	eachDB(t, func(t *testing.T, w *world) {
		c, e := w.ready("马云")
		a := w.start(c, e, attempt.KindMOCK)
		before := w.counts()
		_, err := w.svc.Submit(c.ctx, a.ID, attempt.SubmitReasonTIME_UP)
		wantCode(t, err, apperr.BadInput, "reason")
		_, err = w.svc.Submit(w.candidate("外人").ctx, a.ID, attempt.SubmitReasonCANDIDATE)
		wantCode(t, err, apperr.NotFound, "")
		_, err = w.svc.Submit(w.staff(user.RolePROCTOR), a.ID, attempt.SubmitReasonCANDIDATE)
		wantCode(t, err, apperr.Forbidden, "")
		_, err = w.svc.Submit(context.Background(), a.ID, attempt.SubmitReasonCANDIDATE)
		wantCode(t, err, apperr.Unauthenticated, "")
		_, err = w.svc.SubmitSystem(context.Background(), a.ID, "LUNCH")
		wantCode(t, err, apperr.BadInput, "reason")
		_, err = w.svc.SubmitSystem(context.Background(), 999999, attempt.SubmitReasonPROCTOR_ENDED)
		wantCode(t, err, apperr.NotFound, "")
		if w.counts() != before || w.reload(a).Status != attempt.StatusIN_PROGRESS {
			t.Fatal("refused submit changed something")
		}
		got, err := w.svc.SubmitSystem(context.Background(), a.ID, attempt.SubmitReasonPROCTOR_ENDED)
		if err != nil || *got.SubmitReason != attempt.SubmitReasonPROCTOR_ENDED {
			t.Fatalf("%+v %v", got, err)
		}
		_, err = w.svc.Submit(c.ctx, a.ID, attempt.SubmitReasonCANDIDATE)
		wantCode(t, err, apperr.Conflict, "")
	})
}
