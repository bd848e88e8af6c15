package demo_test

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kaowu/kaowu/ent/attempt"
	entcert "github.com/kaowu/kaowu/ent/certificate"
	"github.com/kaowu/kaowu/ent/enrollment"
	"github.com/kaowu/kaowu/ent/subject"
	"github.com/kaowu/kaowu/ent/user"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/auth/password"
	"github.com/kaowu/kaowu/internal/certificate"
	"github.com/kaowu/kaowu/internal/certificate/sign"
	"github.com/kaowu/kaowu/internal/db"
	"github.com/kaowu/kaowu/internal/demo"
	"github.com/kaowu/kaowu/internal/events"
	"github.com/kaowu/kaowu/internal/evidence"
	"github.com/kaowu/kaowu/internal/notify"
	"github.com/kaowu/kaowu/internal/testenv"
	"github.com/kaowu/kaowu/internal/viewer"
)

func TestSeedCertificates(t *testing.T) {
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
		bus := events.NewLocal()
		t.Cleanup(func() { _ = bus.Close() })
		keys, err := sign.LoadKeyring("", false, []byte(strings.Repeat("demo-secret-", 4)))
		if err != nil {
			t.Fatal(err)
		}
		certs := &certificate.Service{Client: c, Notifier: &notify.Notifier{Client: c, Bus: bus, SMS: &notify.Recorder{}},
			Keys: keys, PublicURL: "http://127.0.0.1:8080"}
		deps := demo.Deps{Client: c, Hasher: password.NewHasher(password.FastParams(), 2), Certificates: certs}
		var out bytes.Buffer
		if err := demo.Seed(ctx, deps, &out); err != nil {
			t.Fatal(err)
		}
		sys := viewer.SystemContext(ctx)
		zs := c.User.Query().Where(user.Login(demo.CandidateID)).OnlyX(sys)
		admin := c.User.Query().Where(user.Login("admin")).OnlyX(sys)
		actx := viewer.NewContext(ctx, &viewer.Viewer{UserID: admin.ID, Role: viewer.Admin})
		cctx := viewer.NewContext(ctx, &viewer.Viewer{UserID: zs.ID, Role: viewer.Candidate})

		// The past exams carry a sound evidence chain, as real ones do.
		for _, a := range c.Attempt.Query().Where(attempt.CandidateID(zs.ID), attempt.ResultEQ(attempt.ResultPASS)).AllX(sys) {
			rep, err := evidence.VerifyAttempt(sys, c, a, nil)
			if err != nil || !rep.OK || rep.Records != 3 {
				t.Fatalf("past attempt %d evidence: %v %+v", a.ID, err, rep)
			}
		}

		// ADMIN sees exactly the one passed exam awaiting approval.
		pend, err := certs.PendingIssue(actx)
		if err != nil {
			t.Fatal(err)
		}
		if len(pend) != 1 || pend[0].CandidateID != zs.ID || pend[0].SubjectCode != demo.CertPendingSubject {
			t.Fatalf("pending issue: %+v", pend)
		}

		mine, err := certs.Mine(cctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(mine) != 2 {
			t.Fatalf("the demo candidate holds %d certificates, want 2", len(mine))
		}
		by := map[string]int{}
		now := time.Now()
		for _, cert := range mine {
			by[cert.SubjectCode] = cert.ID
			if certs.Status(cert) != entcert.StatusVALID || cert.HolderName != "张三" {
				t.Errorf("certificate %s: status %s, holder %s", cert.Number, certs.Status(cert), cert.HolderName)
			}
			// Numbers carry the issue year: the renewable one is years old.
			if want := cert.IssuedAt.In(certificate.ChinaTZ).Year(); !strings.Contains(cert.Number, "-"+strconv.Itoa(want)+"-") {
				t.Errorf("number %s, issued in %d", cert.Number, want)
			}
		}
		renewable := c.Certificate.GetX(sys, by[demo.CertRenewableSubject])
		opens := certificate.RenewalOpensAt(renewable.ValidUntil)
		if now.Before(opens) || !now.Before(renewable.ValidUntil) || renewable.ValidUntil.Sub(now) < 40*24*time.Hour {
			t.Errorf("renewable certificate valid until %s (renewal opens %s): not about two months ahead", renewable.ValidUntil, opens)
		}
		// The renewal window is open on one, not yet on the other.
		if _, err := certs.RequestRenewal(cctx, renewable.ID); err != nil {
			t.Errorf("renewal of the renewable certificate: %v", err)
		}
		_, err = certs.RequestRenewal(cctx, by[demo.CertValidSubject])
		if ae, ok := apperr.As(err); !ok || ae.Extra["reason"] != "RENEWAL_NOT_OPEN" {
			t.Errorf("renewal of the new certificate: %v", err)
		}

		// The exams behind them look like exams that took place.
		for _, code := range []string{demo.CertPendingSubject, demo.CertRenewableSubject, demo.CertValidSubject} {
			sub := c.Subject.Query().Where(subject.Code(code)).OnlyX(sys)
			e := c.Enrollment.Query().Where(enrollment.CandidateID(zs.ID), enrollment.SubjectID(sub.ID),
				enrollment.StatusEQ(enrollment.StatusAPPROVED)).OnlyX(sys)
			a := c.Attempt.Query().Where(attempt.EnrollmentID(e.ID)).OnlyX(sys)
			if a.Kind != attempt.KindFORMAL || a.Score == nil || *a.Score < a.PassMark || a.ReviewedAt == nil || !a.ReviewedAt.Before(now) {
				t.Errorf("%s attempt: %s, score %v / %d, reviewed %v", code, a.Kind, a.Score, a.PassMark, a.ReviewedAt)
			}
		}
	})
}
