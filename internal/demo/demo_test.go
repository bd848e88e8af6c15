package demo_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/attempt"
	"github.com/kaowu/kaowu/ent/enrollment"
	"github.com/kaowu/kaowu/ent/evidencerecord"
	"github.com/kaowu/kaowu/ent/examplan"
	"github.com/kaowu/kaowu/ent/examsession"
	"github.com/kaowu/kaowu/ent/proctorassignment"
	"github.com/kaowu/kaowu/ent/user"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/auth/password"
	"github.com/kaowu/kaowu/internal/db"
	"github.com/kaowu/kaowu/internal/demo"
	"github.com/kaowu/kaowu/internal/evidence"
	"github.com/kaowu/kaowu/internal/exam"
	"github.com/kaowu/kaowu/internal/exam/bank"
	"github.com/kaowu/kaowu/internal/idcard"
	"github.com/kaowu/kaowu/internal/profile"
	"github.com/kaowu/kaowu/internal/storage"
	"github.com/kaowu/kaowu/internal/testenv"
	"github.com/kaowu/kaowu/internal/viewer"
)

func TestSeedExam(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		d, err := db.Open(url, db.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = d.Close() })
		ctx := context.Background()
		if err := d.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		c := d.Client()
		store, err := storage.NewLocal(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		deps := demo.Deps{Client: c, Hasher: password.NewHasher(password.FastParams(), 2),
			Profiles: &profile.Service{Client: c, Store: store}}
		var out bytes.Buffer
		if err := demo.Seed(ctx, deps, &out); err != nil {
			t.Fatal(err)
		}
		sys := viewer.SystemContext(ctx)

		// Every login is printed, the new candidates after the old lines.
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if len(lines) != len(demo.Logins)+1 {
			t.Fatalf("printed %d lines, want %d:\n%s", len(lines), len(demo.Logins)+1, out.String())
		}
		for i, l := range demo.Logins {
			if want := fmt.Sprintf("  %-13s %-20s %s", l.Role, l.Login, l.Password); lines[i+1] != want {
				t.Errorf("line %d = %q, want %q", i+1, lines[i+1], want)
			}
		}
		for _, id := range []string{demo.CandidateID, demo.ExamineeID, demo.Examinee2ID, demo.RevieweeID} {
			if _, err := idcard.Parse(id); err != nil {
				t.Errorf("demo ID %s: %v", id, err)
			}
		}

		sess := c.ExamSession.Query().Where(examsession.HasPlanWith(examplan.Name(demo.ExamPlanName))).OnlyX(sys)
		if sess.Onsite || sess.Status != examsession.StatusOPEN || sess.DurationMinutes != demo.ExamSessionHours*60 {
			t.Errorf("session: onsite %v, status %s, %d min", sess.Onsite, sess.Status, sess.DurationMinutes)
		}
		proc := c.User.Query().Where(user.Login("proctor")).OnlyX(sys)
		if !c.ProctorAssignment.Query().Where(proctorassignment.ProctorID(proc.ID), proctorassignment.SessionID(sess.ID)).ExistX(sys) {
			t.Error("the demo proctor is not assigned to the online session")
		}

		// The reviewee's formal paper awaits review, with a verified chain
		// holding every kind of record the reviewer page shows.
		rev := c.User.Query().Where(user.Login(demo.RevieweeID)).OnlyX(sys)
		formal := c.Attempt.Query().Where(attempt.CandidateID(rev.ID), attempt.KindEQ(attempt.KindFORMAL)).OnlyX(sys)
		if formal.Status != attempt.StatusSUBMITTED || formal.Result == nil || *formal.Result != attempt.ResultPENDING_REVIEW {
			t.Fatalf("formal attempt: %s %v", formal.Status, formal.Result)
		}
		if formal.Score == nil || *formal.Score < formal.PassMark || *formal.Score == 100 {
			t.Errorf("formal score %v, pass mark %d", formal.Score, formal.PassMark)
		}
		if !formal.Flagged || formal.FocusLosses != 2 {
			t.Errorf("formal flagged %v, focus losses %d", formal.Flagged, formal.FocusLosses)
		}
		chain := evidence.Chain("attempt", formal.ID)
		rep, err := evidence.Verify(sys, c, chain)
		if err != nil {
			t.Fatal(err)
		}
		if !rep.OK {
			t.Fatalf("chain broken: %+v", rep.FirstBroken)
		}
		kinds := c.EvidenceRecord.Query().Where(evidencerecord.Chain(chain)).Order(evidencerecord.BySeq()).
			Select(evidencerecord.FieldKind).StringsX(sys)
		for _, k := range []string{evidence.KindConsent, evidence.KindPhoneBack, evidence.KindSnapshotPC, evidence.KindSnapshotPhone,
			evidence.KindFocusLoss, evidence.KindWarning, evidence.KindFlag, evidence.KindNote, evidence.KindSubmit} {
			if !slices.Contains(kinds, k) {
				t.Errorf("evidence has no %s: %v", k, kinds)
			}
		}
		if kinds[0] != evidence.KindConsent || kinds[len(kinds)-1] != evidence.KindSubmit {
			t.Errorf("evidence order %v", kinds)
		}
		mock := c.Attempt.Query().Where(attempt.CandidateID(rev.ID), attempt.KindEQ(attempt.KindMOCK)).OnlyX(sys)
		if mock.Status != attempt.StatusSUBMITTED || mock.Result != nil {
			t.Errorf("mock attempt: %s %v", mock.Status, mock.Result)
		}

		// The examinees have not started, and can: the formal paper only after the mock.
		ex2 := c.User.Query().Where(user.Login(demo.Examinee2ID)).OnlyX(sys)
		if !c.Enrollment.Query().Where(enrollment.CandidateID(ex2.ID), enrollment.SessionID(sess.ID),
			enrollment.StatusEQ(enrollment.StatusAPPROVED), enrollment.PaymentStatusEQ(enrollment.PaymentStatusPAID)).ExistX(sys) {
			t.Error("the second examinee has no approved, paid enrollment in the session")
		}
		exn := c.User.Query().Where(user.Login(demo.ExamineeID)).OnlyX(sys)
		if n := c.Attempt.Query().Where(attempt.CandidateIDIn(exn.ID, ex2.ID)).CountX(sys); n != 0 {
			t.Fatalf("examinees have %d attempts", n)
		}
		e := c.Enrollment.Query().Where(enrollment.CandidateID(exn.ID)).OnlyX(sys)
		if e.SessionID == nil || *e.SessionID != sess.ID || e.TicketNo == nil {
			t.Errorf("examinee enrollment: session %v, ticket %v", e.SessionID, e.TicketNo)
		}
		ex := &exam.Service{Client: c, Bank: &bank.Service{Client: c}}
		cctx := viewer.NewContext(ctx, &viewer.Viewer{UserID: exn.ID, Role: viewer.Candidate})
		in := exam.StartInput{EnrollmentID: e.ID, Kind: attempt.KindFORMAL, ConsentText: demo.ExamConsent, ConsentAccepted: true}
		var ae *apperr.Error
		if _, err := ex.Start(cctx, in); !errors.As(err, &ae) || ae.Code != apperr.Conflict {
			t.Errorf("formal before mock: %v", err)
		}
		in.Kind = attempt.KindMOCK
		a, err := ex.Start(cctx, in)
		if err != nil {
			t.Fatalf("examinee starts the mock: %v", err)
		}
		st, err := ex.State(cctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Paper.Items) != 10 || st.Paper.TotalPoints != 100 || st.RemainingSeconds < 29*60 {
			t.Errorf("mock paper: %d items, %d points, %d s left", len(st.Paper.Items), st.Paper.TotalPoints, st.RemainingSeconds)
		}

		// Without a certificate service the candidate's passed exams wait
		// for approval, none issued.
		zs := c.User.Query().Where(user.Login(demo.CandidateID)).OnlyX(sys)
		if n := c.Attempt.Query().Where(attempt.CandidateID(zs.ID), attempt.ResultEQ(attempt.ResultPASS)).CountX(sys); n != 3 {
			t.Errorf("the demo candidate has %d passed attempts, want 3", n)
		}
		if n := c.Certificate.Query().CountX(sys); n != 0 {
			t.Errorf("%d certificates issued without a certificate service", n)
		}

		// A second run changes nothing.
		before := counts(sys, c)
		out.Reset()
		if err := demo.Seed(ctx, deps, &out); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(out.String(), "demo data already present") {
			t.Errorf("second run printed %q", out.String())
		}
		if after := counts(sys, c); after != before {
			t.Errorf("second run changed counts: %v → %v", before, after)
		}
	})
}

type tally struct{ users, questions, templates, sessions, enrollments, attempts, evidence, certificates int }

func counts(ctx context.Context, c *ent.Client) tally {
	return tally{
		users: c.User.Query().CountX(ctx), questions: c.Question.Query().CountX(ctx),
		templates: c.PaperTemplate.Query().CountX(ctx), sessions: c.ExamSession.Query().CountX(ctx),
		enrollments: c.Enrollment.Query().CountX(ctx), attempts: c.Attempt.Query().CountX(ctx),
		evidence: c.EvidenceRecord.Query().CountX(ctx), certificates: c.Certificate.Query().CountX(ctx),
	}
}
