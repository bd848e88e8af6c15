package graph_test

// Issue #4 through the API: the question bank (import, export, paper
// templates), an attempt's evidence for reviewers and proctors, the
// proctor's sessions, the pairing QR image, and a lost phone.

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/kaowu/kaowu/ent/attempt"
	"github.com/kaowu/kaowu/ent/evidencerecord"
	"github.com/kaowu/kaowu/ent/job"
	"github.com/kaowu/kaowu/ent/papertemplate"
	"github.com/kaowu/kaowu/ent/question"
	"github.com/kaowu/kaowu/graph/graphtest"
	"github.com/kaowu/kaowu/internal/proctor"
	"github.com/kaowu/kaowu/internal/testenv"
)

const (
	bkImport    = `mutation($s:ID!,$f:Upload!){importQuestions(subjectID:$s,file:$f){created}}`
	bkTemplate  = `mutation($in:PaperTemplateInput!){savePaperTemplate(input:$in){id name kind durationMinutes passMark active rules{type category count points}}}`
	bkEvidence  = `query($a:ID!,$after:Int,$limit:Int){attemptEvidence(attemptID:$a,afterSeq:$after,limit:$limit){ok records head firstBroken{seq reason detail} items{seq kind at actorID data hash snapshotURL}}}`
	bkSessions  = `query{myProctorSessions{id status startsAt}}`
	bkSnapshots = `query($s:ID!){sessionSnapshots(sessionID:$s){attemptID source at snapshotURL snapshotURLExpiresAt}}`
)

const bkCSVHeader = "题型,分类,题干,选项A,选项B,选项C,选项D,选项E,选项F,选项G,选项H,答案,解析,分值\n"

type bkEvidenceResult struct {
	AttemptEvidence struct {
		OK          bool
		Records     int
		Head        string
		FirstBroken *struct {
			Seq            int
			Reason, Detail string
		}
		Items []struct {
			Seq         int
			Kind, Data  string
			Hash        string
			SnapshotURL *string
		}
	}
}

func TestBankEvidenceAPI(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := graphtest.New(t, url)
		e.Seed()
		bkBank(t, e)
		bkEvidenceSuite(t, e)
		bkPhoneLost(t, e)
		bkAssignments(t, e)
		bkSeal(t, e)
	})
}

func bkBank(t *testing.T, e *graphtest.Env) {
	f := exFixtures(t, e)
	admin := e.DemoLogin("ADMIN")
	// A subject of its own: imports and templates change what is drawn.
	subj := f.subject(t, false).s.ID
	count := func() int {
		return e.App.Client.Question.Query().Where(question.SubjectID(subj)).CountX(enrSys())
	}
	before := count()

	t.Run("import refuses a file with a bad row and imports nothing", func(t *testing.T) {
		csv := bkCSVHeader +
			"单选题,法规,安全生产法施行日期是?,2002年,2014年,,,,,,,A,,2\n" +
			"判断题,法规,特种作业人员必须持证上岗,,,,,,,,,也许,,1\n"
		r := pcDo(e, admin, bkImport, map[string]any{"s": subj, "f": pcFile{"bank.csv", []byte(csv)}})
		if r.Code() != "BAD_USER_INPUT" {
			t.Fatalf("code %q: %+v", r.Code(), r.Errors)
		}
		rows, _ := r.Errors[0].Extensions["rowErrors"].([]any)
		if len(rows) != 1 || rows[0].(map[string]any)["line"].(float64) != 3 {
			t.Fatalf("rowErrors %v, want one error on line 3", r.Errors[0].Extensions)
		}
		if n := count(); n != before {
			t.Fatalf("questions %d → %d after a refused import", before, n)
		}
		for what, res := range map[string]*graphtest.Result{
			"not a sheet":  pcDo(e, admin, bkImport, map[string]any{"s": subj, "f": pcFile{"bank.txt", []byte(csv)}}),
			"candidate":    pcDo(e, e.DemoLogin("CANDIDATE"), bkImport, map[string]any{"s": subj, "f": pcFile{"bank.csv", []byte(csv)}}),
			"anonymous":    pcDo(e, "", bkImport, map[string]any{"s": subj, "f": pcFile{"bank.csv", []byte(csv)}}),
			"no such subj": pcDo(e, admin, bkImport, map[string]any{"s": 987654, "f": pcFile{"bank.csv", []byte(csv)}}),
		} {
			want := map[string]string{"not a sheet": "BAD_USER_INPUT", "candidate": "FORBIDDEN",
				"anonymous": "UNAUTHENTICATED", "no such subj": "BAD_USER_INPUT"}[what]
			if res.Code() != want {
				t.Errorf("%s: code %q, want %s (%+v)", what, res.Code(), want, res.Errors)
			}
		}
	})

	t.Run("import and export a good file", func(t *testing.T) {
		csv := bkCSVHeader +
			"单选题,法规,安全生产法的立法目的包括?,保障人民生命财产安全,促进旅游,,,,,,,A,立法目的,2\n" +
			"判断题,法规,特种作业人员必须持证上岗,,,,,,,,,对,,1\n"
		var res struct{ ImportQuestions struct{ Created int } }
		pcDo(e, admin, bkImport, map[string]any{"s": subj, "f": pcFile{"bank.csv", []byte(csv)}}).Decode(t, &res)
		if res.ImportQuestions.Created != 2 || count() != before+2 {
			t.Fatalf("created %d, count %d → %d", res.ImportQuestions.Created, before, count())
		}
		resp, body := pcGet(t, e, admin, "/exports/questions?subjectID="+itoa(subj)+"&format=csv")
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "安全生产法的立法目的包括?") ||
			!strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") {
			t.Fatalf("export: %d %q", resp.StatusCode, body)
		}
		resp, body = pcGet(t, e, admin, "/exports/questions?subjectID="+itoa(subj)+"&format=XLSX")
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(string(body), "PK") {
			t.Fatalf("xlsx export: %d, %d bytes", resp.StatusCode, len(body))
		}
		for _, c := range []struct {
			token, query string
			status       int
			code         string
		}{
			{"", "subjectID=" + itoa(subj), http.StatusUnauthorized, "UNAUTHENTICATED"},
			{e.DemoLogin("CANDIDATE"), "subjectID=" + itoa(subj), http.StatusForbidden, "FORBIDDEN"},
			{admin, "subjectID=x", http.StatusBadRequest, "BAD_USER_INPUT"},
			{admin, "subjectID=" + itoa(subj) + "&format=pdf", http.StatusBadRequest, "BAD_USER_INPUT"},
		} {
			resp, body := pcGet(t, e, c.token, "/exports/questions?"+c.query)
			if resp.StatusCode != c.status || !strings.Contains(string(body), c.code) {
				t.Errorf("export %q: %d %s, want %d %s", c.query, resp.StatusCode, body, c.status, c.code)
			}
		}
	})

	t.Run("paper templates", func(t *testing.T) {
		in := map[string]any{"subjectID": subj, "kind": "FORMAL", "name": "补充试卷", "durationMinutes": 90,
			"rules": []any{map[string]any{"type": "TRUE_FALSE", "count": 5, "points": 20}}}
		var res struct {
			SavePaperTemplate struct {
				ID       string
				PassMark int
				Active   bool
				Rules    []struct {
					Type          string
					Category      *string
					Count, Points int
				}
			}
		}
		e.Do(admin, bkTemplate, map[string]any{"in": in}).Decode(t, &res)
		got := res.SavePaperTemplate
		if got.PassMark != 60 || !got.Active || len(got.Rules) != 1 || got.Rules[0].Type != "TRUE_FALSE" ||
			got.Rules[0].Count != 5 || got.Rules[0].Category != nil {
			t.Fatalf("saved %+v", got)
		}
		templates := func() int {
			return e.App.Client.PaperTemplate.Query().Where(papertemplate.SubjectID(subj)).CountX(enrSys())
		}
		n := templates()
		for what, mut := range map[string]func(map[string]any){
			"too short":     func(m map[string]any) { m["durationMinutes"] = 1 },
			"no rules":      func(m map[string]any) { m["rules"] = []any{} },
			"pass mark 101": func(m map[string]any) { m["passMark"] = 101 },
			"too many asked": func(m map[string]any) {
				m["rules"] = []any{map[string]any{"type": "SINGLE", "count": 500, "points": 1}}
			},
		} {
			bad := map[string]any{}
			for k, v := range in {
				bad[k] = v
			}
			bad["name"] = "错误试卷-" + what
			mut(bad)
			if r := e.Do(admin, bkTemplate, map[string]any{"in": bad}); r.Code() != "BAD_USER_INPUT" {
				t.Errorf("%s: code %q (%+v)", what, r.Code(), r.Errors)
			}
		}
		if r := e.Do(e.DemoLogin("REVIEWER"), bkTemplate, map[string]any{"in": in}); r.Code() != "FORBIDDEN" {
			t.Errorf("reviewer saves a template: %q", r.Code())
		}
		if templates() != n {
			t.Fatalf("templates %d → %d after refused saves", n, templates())
		}
	})
}

func bkEvidenceSuite(t *testing.T, e *graphtest.Env) {
	f := exFixtures(t, e)
	u, login := enrFixtures(t, e).register(t)
	candTok := e.Login(login, enrPassword)
	a := f.formal(t, u.ID, f.theory)
	prUploadPC(t, e, candTok, a.ID, pcJPEG(t, 32, 24))
	proctorTok := e.DemoLogin("PROCTOR")

	get := func(token string, vars map[string]any) *graphtest.Result {
		if vars == nil {
			vars = map[string]any{}
		}
		vars["a"] = a.ID
		return e.Do(token, bkEvidence, vars)
	}
	t.Run("who may see the evidence", func(t *testing.T) {
		for role, want := range map[string]string{
			"CANDIDATE": "FORBIDDEN", "COMPANY": "FORBIDDEN", "TRAINING_ORG": "FORBIDDEN", "PROCTOR": "FORBIDDEN",
		} {
			if r := get(e.DemoLogin(role), nil); r.Code() != want {
				t.Errorf("%s: %q, want %s", role, r.Code(), want)
			}
		}
		if r := get("", nil); r.Code() != "UNAUTHENTICATED" {
			t.Errorf("anonymous: %q", r.Code())
		}
		if r := get(candTok, nil); r.Code() != "FORBIDDEN" {
			t.Errorf("the candidate: %q", r.Code())
		}
		if r := e.Do(e.DemoLogin("REVIEWER"), bkEvidence, map[string]any{"a": 99999999}); r.Code() != "NOT_FOUND" {
			t.Errorf("no such attempt: %q", r.Code())
		}
		if r := get(e.DemoLogin("REVIEWER"), map[string]any{"limit": 501}); r.Code() != "BAD_USER_INPUT" {
			t.Errorf("limit 501: %q", r.Code())
		}
	})

	f.assign(t, a)
	var ev bkEvidenceResult
	t.Run("assigned proctor, site and reviewer see a sound chain", func(t *testing.T) {
		for _, tok := range []string{proctorTok, e.DemoLogin("EXAM_SITE"), e.DemoLogin("REVIEWER"), e.DemoLogin("ADMIN")} {
			ev = bkEvidenceResult{}
			get(tok, nil).Decode(t, &ev)
			got := ev.AttemptEvidence
			if !got.OK || got.FirstBroken != nil || got.Records != len(got.Items) || got.Records < 2 {
				t.Fatalf("evidence %+v", got)
			}
		}
		var snap bool
		for _, it := range ev.AttemptEvidence.Items {
			if it.Kind == "SNAPSHOT_PC" {
				snap = it.SnapshotURL != nil
				if resp, _ := pcGet(t, e, "", *it.SnapshotURL); resp.StatusCode != http.StatusOK {
					t.Fatalf("snapshot URL: %d", resp.StatusCode)
				}
			} else if it.SnapshotURL != nil {
				t.Errorf("%s record has a snapshot URL", it.Kind)
			}
		}
		if !snap {
			t.Fatalf("no snapshot record with a URL: %+v", ev.AttemptEvidence.Items)
		}
		var page bkEvidenceResult
		get(proctorTok, map[string]any{"after": 1, "limit": 1}).Decode(t, &page)
		if len(page.AttemptEvidence.Items) != 1 || page.AttemptEvidence.Items[0].Seq != 2 {
			t.Fatalf("page after 1: %+v", page.AttemptEvidence.Items)
		}
	})

	t.Run("dashboard's newest snapshots, in constant statements", func(t *testing.T) {
		type snaps struct {
			SessionSnapshots []struct{ AttemptID, Source, SnapshotURL string }
		}
		count := func() (snaps, int64) {
			var out snaps
			before := e.App.DB.Queries()
			e.Do(proctorTok, bkSnapshots, map[string]any{"s": a.SessionID}).Decode(t, &out)
			return out, e.App.DB.Queries() - before
		}
		count() // warm the login session
		got, one := count()
		if len(got.SessionSnapshots) != 1 || got.SessionSnapshots[0].AttemptID != itoa(a.ID) || got.SessionSnapshots[0].Source != "PC" {
			t.Fatalf("snapshots %+v", got)
		}
		if resp, _ := pcGet(t, e, "", got.SessionSnapshots[0].SnapshotURL); resp.StatusCode != http.StatusOK {
			t.Fatalf("snapshot URL: %d", resp.StatusCode)
		}
		// More attempts with snapshots in the same session: same statements.
		for range 3 {
			u2, login2 := enrFixtures(t, e).register(t)
			tok2 := e.Login(login2, enrPassword)
			en := e.App.Client.Enrollment.Create().SetCandidateID(u2.ID).SetPlanID(e.App.Client.ExamSession.GetX(enrSys(), a.SessionID).PlanID).
				SetSubjectID(f.theory.s.ID).SetSessionID(a.SessionID).SetSiteID(a.SiteID).SetStatus("APPROVED").
				SetPledgeAcceptedAt(time.Now()).SetSubmittedAt(time.Now()).SetFeeCents(5000).SetPaymentStatus("PAID").SaveX(enrSys())
			m := f.start(t, u2.ID, en.ID, attempt.KindMOCK)
			prUploadPC(t, e, tok2, m.ID, pcJPEG(t, 32, 24))
		}
		got, four := count()
		if len(got.SessionSnapshots) != 4 || four != one {
			t.Fatalf("%d snapshots in %d statements (one attempt: %d)", len(got.SessionSnapshots), four, one)
		}
		if r := e.Do(candTok, bkSnapshots, map[string]any{"s": a.SessionID}); r.Code() != "FORBIDDEN" {
			t.Errorf("candidate: %q", r.Code())
		}
	})

	t.Run("proctor's sessions", func(t *testing.T) {
		var res struct{ MyProctorSessions []struct{ ID string } }
		e.Do(proctorTok, bkSessions, nil).Decode(t, &res)
		found := false
		for _, s := range res.MyProctorSessions {
			found = found || s.ID == itoa(a.SessionID)
		}
		if !found {
			t.Fatalf("session %d not among %+v", a.SessionID, res.MyProctorSessions)
		}
		if r := e.Do(e.DemoLogin("EXAM_SITE"), bkSessions, nil); r.Code() != "FORBIDDEN" {
			t.Errorf("site: %q", r.Code())
		}
	})

	t.Run("a tampered record is named", func(t *testing.T) {
		ctx := enrSys()
		rec := e.App.Client.EvidenceRecord.Query().Where(evidencerecord.Chain("attempt:"+itoa(a.ID)), evidencerecord.Seq(2)).OnlyX(ctx)
		q := `UPDATE evidence_records SET payload = ? WHERE id = ?`
		if e.App.DB.Dialect == dialect.Postgres {
			q = `UPDATE evidence_records SET payload = $1 WHERE id = $2`
		}
		// As an attacker with database access would: raw SQL, no ent, no privacy.
		if _, err := e.App.DB.SQL.ExecContext(context.Background(), q, []byte(`{"forged":true}`), rec.ID); err != nil {
			t.Fatal(err)
		}
		var bad bkEvidenceResult
		get(e.DemoLogin("REVIEWER"), nil).Decode(t, &bad)
		if bad.AttemptEvidence.OK || bad.AttemptEvidence.FirstBroken == nil || bad.AttemptEvidence.FirstBroken.Seq != 2 ||
			bad.AttemptEvidence.FirstBroken.Detail == "" {
			t.Fatalf("tampered chain reported as %+v", bad.AttemptEvidence)
		}
	})
}

// bkPhoneLost: a phone unseen for 30 s is PHONE_LOST for the proctor and
// the candidate, and its next heartbeat is PHONE_BACK; the pairing QR comes
// as an image.
func bkPhoneLost(t *testing.T, e *graphtest.Env) {
	f := exFixtures(t, e)
	u, login := enrFixtures(t, e).register(t)
	candTok := e.Login(login, enrPassword)
	a := f.mock(t, u.ID)
	f.assign(t, a)
	var pairing struct {
		NewPhonePairing struct{ Token, QRPayload, QRImage string }
	}
	e.Do(candTok, `mutation($a:ID!){newPhonePairing(attemptID:$a){token qrPayload qrImage}}`, map[string]any{"a": a.ID}).Decode(t, &pairing)
	if !strings.HasPrefix(pairing.NewPhonePairing.QRImage, "data:image/png;base64,") ||
		!strings.Contains(pairing.NewPhonePairing.QRPayload, "/#/phone?t=") {
		t.Fatalf("pairing %+v", pairing.NewPhonePairing)
	}
	var paired struct{ PairPhone struct{ PhoneToken string } }
	e.Do("", prPair, map[string]any{"t": pairing.NewPhonePairing.Token}).Decode(t, &paired)
	phone := paired.PairPhone.PhoneToken

	proc := prSub(t, e, e.DemoLogin("PROCTOR"), prSessionSub, map[string]any{"s": a.SessionID}, "session:"+itoa(a.SessionID), 1)
	cand := prSub(t, e, candTok, prAttemptSub, map[string]any{"a": a.ID}, "attempt:"+itoa(a.ID), 1)

	// 31 s of silence: move the last heartbeat and the armed check back
	// rather than sleeping, then run what the job runner would.
	ctx := enrSys()
	past := time.Now().Add(-proctor.PhoneTimeout - time.Second)
	e.App.Client.Attempt.UpdateOneID(a.ID).SetPhoneLastSeenAt(past).ExecX(ctx)
	e.App.Client.Job.Update().Where(job.Kind(proctor.JobPhoneCheck), job.Key("attempt:"+itoa(a.ID))).
		SetRunAt(past.Add(proctor.PhoneTimeout)).ExecX(ctx)
	if n, err := e.App.Jobs.RunDue(context.Background()); err != nil || n < 1 {
		t.Fatalf("run due jobs: %d, %v", n, err)
	}
	if ev := prNext(t, proc, "sessionEvents", "PHONE_LOST"); ev.AttemptID == nil || *ev.AttemptID != itoa(a.ID) {
		t.Fatalf("proctor's PHONE_LOST %+v", ev)
	}
	prNext(t, cand, "attemptEvents", "PHONE_LOST")
	if got := e.App.Client.Attempt.GetX(ctx, a.ID); got.PhoneState != attempt.PhoneStateLOST {
		t.Fatalf("phone state %s", got.PhoneState)
	}
	e.Do("", prBeat, map[string]any{"t": phone}).Decode(t, &struct{}{})
	prNext(t, proc, "sessionEvents", "PHONE_BACK")
	prNext(t, cand, "attemptEvents", "PHONE_BACK")
	if got := e.App.Client.Attempt.GetX(ctx, a.ID); got.PhoneState != attempt.PhoneStateCONNECTED {
		t.Fatalf("phone state after return %s", got.PhoneState)
	}
}

const (
	bkAssign    = `mutation($p:ID!,$s:ID!){assignProctor(proctorID:$p,sessionID:$s){id}}`
	bkUnassign  = `mutation($p:ID!,$s:ID!){unassignProctor(proctorID:$p,sessionID:$s)}`
	bkProctorsQ = `query($s:ID!){sessionProctors(sessionID:$s){id proctorID sessionID proctorName proctorLogin createdAt}}`
)

// bkAssignments: the site puts its proctor on a session and takes them off
// again; the proctor's live feed of that session then ends.
func bkAssignments(t *testing.T, e *graphtest.Env) {
	f := exFixtures(t, e)
	u, _ := enrFixtures(t, e).register(t)
	a := f.mock(t, u.ID)
	site, proctorTok := e.DemoLogin("EXAM_SITE"), e.DemoLogin("PROCTOR")
	vars := map[string]any{"p": f.proctor, "s": a.SessionID}
	list := func() []struct{ ProctorID, ProctorLogin string } {
		var out struct {
			SessionProctors []struct{ ProctorID, ProctorLogin string }
		}
		e.Do(site, bkProctorsQ, map[string]any{"s": a.SessionID}).Decode(t, &out)
		return out.SessionProctors
	}
	if got := list(); len(got) != 0 {
		t.Fatalf("proctors before assigning: %+v", got)
	}
	e.Do(site, bkAssign, vars).Decode(t, &struct{}{})
	if got := list(); len(got) != 1 || got[0].ProctorID != itoa(f.proctor) || got[0].ProctorLogin != "proctor" {
		t.Fatalf("proctors %+v", got)
	}
	for what, r := range map[string]*graphtest.Result{
		"candidate lists":   e.Do(e.DemoLogin("CANDIDATE"), bkProctorsQ, map[string]any{"s": a.SessionID}),
		"proctor unassigns": e.Do(proctorTok, bkUnassign, vars),
		"no such session":   e.Do(site, bkUnassign, map[string]any{"p": f.proctor, "s": 99999999}),
	} {
		want := map[string]string{"candidate lists": "FORBIDDEN", "proctor unassigns": "FORBIDDEN", "no such session": "NOT_FOUND"}[what]
		if r.Code() != want {
			t.Errorf("%s: %q, want %s", what, r.Code(), want)
		}
	}
	ws := prSub(t, e, proctorTok, prSessionSub, map[string]any{"s": a.SessionID}, "session:"+itoa(a.SessionID), 1)
	var ok struct{ UnassignProctor bool }
	e.Do(site, bkUnassign, vars).Decode(t, &ok)
	if !ok.UnassignProctor || len(list()) != 0 {
		t.Fatalf("unassign: %v, left %+v", ok, list())
	}
	if r := e.Do(site, bkUnassign, vars); r.Code() != "NOT_FOUND" {
		t.Errorf("unassign twice: %q", r.Code())
	}
	// The feed ends at the next periodic check (50 ms in tests).
	for {
		m, err := ws.Next(10 * time.Second)
		if err != nil {
			t.Fatalf("the unassigned proctor's feed did not end: %v", err)
		}
		if m.Type == "complete" || m.Type == "error" {
			break
		}
	}
	if r := e.Do(proctorTok, bkEvidence, map[string]any{"a": a.ID}); r.Code() != "FORBIDDEN" {
		t.Errorf("unassigned proctor reads evidence: %q", r.Code())
	}
}

// bkSeal: an attempt is sealed when submitted, so cutting its chain short
// (the SUBMIT record deleted) or clearing the seal is reported, and the
// review is refused.
func bkSeal(t *testing.T, e *graphtest.Env) {
	f := exFixtures(t, e)
	reviewer := e.DemoLogin("REVIEWER")
	raw := func(q string, args ...any) {
		t.Helper()
		if e.App.DB.Dialect == dialect.Postgres {
			for i := 1; strings.Contains(q, "?"); i++ {
				q = strings.Replace(q, "?", "$"+itoa(i), 1)
			}
		}
		if _, err := e.App.DB.SQL.ExecContext(context.Background(), q, args...); err != nil {
			t.Fatal(err)
		}
	}
	check := func(a int, reason string) {
		t.Helper()
		var ev bkEvidenceResult
		e.Do(reviewer, bkEvidence, map[string]any{"a": a}).Decode(t, &ev)
		if ev.AttemptEvidence.OK || ev.AttemptEvidence.FirstBroken == nil || ev.AttemptEvidence.FirstBroken.Reason != reason {
			t.Fatalf("want %s, got %+v", reason, ev.AttemptEvidence)
		}
		r := e.Do(reviewer, `mutation($id:ID!){reviewAttempt(id:$id,pass:true){id}}`, map[string]any{"id": a})
		if r.Code() != "CONFLICT" || r.Errors[0].Extensions["brokenReason"] != reason {
			t.Fatalf("review of a %s chain: %q %+v", reason, r.Code(), r.Errors)
		}
	}

	u, _ := enrFixtures(t, e).register(t)
	a := f.pending(t, u.ID, f.theory)
	got := e.App.Client.Attempt.GetX(enrSys(), a.ID)
	if got.EvidenceSealSeq == nil || got.EvidenceSealHash == "" || len(got.EvidenceSealMAC) != 64 {
		t.Fatalf("submitted attempt not sealed: %+v", got)
	}
	var ev bkEvidenceResult
	e.Do(reviewer, bkEvidence, map[string]any{"a": a.ID}).Decode(t, &ev)
	if !ev.AttemptEvidence.OK || ev.AttemptEvidence.Records != *got.EvidenceSealSeq {
		t.Fatalf("sealed chain %+v, seal at %d", ev.AttemptEvidence, *got.EvidenceSealSeq)
	}
	// The SUBMIT record deleted: the rest still links, the seal says it is short.
	raw(`DELETE FROM evidence_records WHERE chain = ? AND seq = ?`, "attempt:"+itoa(a.ID), *got.EvidenceSealSeq)
	check(a.ID, "TRUNCATED")

	u2, _ := enrFixtures(t, e).register(t)
	b := f.pending(t, u2.ID, f.theory)
	raw(`UPDATE attempts SET evidence_seal_seq = NULL, evidence_seal_hash = NULL, evidence_seal_mac = NULL WHERE id = ?`, b.ID)
	check(b.ID, "SEAL_MISSING")
}
