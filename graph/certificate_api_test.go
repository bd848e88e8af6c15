package graph_test

// Issue #5 through the API: issuing a batch, the holder's certificates and
// PDF, public lookup and QR verification, fee and collection, and the
// change / renewal / cancellation requests with their refusals.

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/attachment"
	"github.com/kaowu/kaowu/ent/user"
	"github.com/kaowu/kaowu/graph/graphtest"
	"github.com/kaowu/kaowu/internal/certificate"
	"github.com/kaowu/kaowu/internal/testenv"
	"github.com/kaowu/kaowu/internal/viewer"
)

const (
	ctIssue    = `mutation($ids:[ID!]!){issueCertificates(attemptIDs:$ids){id number status holderName holderIDMasked validFrom validUntil currentStatus pdfPath qrURL}}`
	ctMine     = `query{myCertificates{id number currentStatus renewalOpensAt requests{id kind status reviewReason}}}`
	ctPending  = `query{pendingCertificates{attemptID name maskedID subjectCode}}`
	ctRequests = `query{pendingCertificateRequests{id kind status certificateID attachments{id url}}}`
	ctLookup   = `query($n:String!,$i:String!){lookupCertificates(name:$n,idNumber:$i){number maskedID status}}`
	ctNumber   = `query($n:String!){lookupCertificate(number:$n){number holderName maskedID status}}`
	ctVerify   = `query($c:String!){verifyCertificate(code:$c){authentic problem message status claims{keyID number subjectCode validFrom validUntil revision} current{number status employer}}}`
	ctName     = `query($c:String!,$n:String!){certificateNameMatches(code:$c,name:$n)}`
	ctFee      = `mutation($c:ID!){recordCertificateFee(certificateID:$c,input:{amountCents:2000,method:CASH}){id feeCents feePaidAt}}`
	ctCollect  = `mutation($c:ID!){recordCertificateCollection(certificateID:$c,recipient:"本人"){id collectedBy collectedAt}}`
	ctChange   = `mutation($c:ID!,$a:[ID!]!){requestCertificateChange(certificateID:$c,input:{regionCode:"440100",employer:"广州新单位有限公司",leftJob:true,attachmentIDs:$a}){id kind status}}`
	ctRenew    = `mutation($c:ID!){requestCertificateRenewal(certificateID:$c){id kind status}}`
	ctCancel   = `mutation($c:ID!){requestCertificateCancellation(certificateID:$c,statement:"本人自愿申请注销该证书"){id kind status}}`
	ctWithdraw = `mutation($id:ID!){withdrawCertificateRequest(id:$id){id status withdrawnAt}}`
	ctReview   = `mutation($id:ID!,$ok:Boolean!,$r:String){reviewCertificateRequest(id:$id,approve:$ok,reason:$r){id status reviewReason}}`
)

type ctCert struct {
	ID, Number, Status, HolderName, HolderIDMasked string
	CurrentStatus, PdfPath, QrURL                  string
	ValidFrom, ValidUntil                          time.Time
}

// passed is a PASS formal result of the candidate awaiting its certificate.
func (f *exFx) passed(t testing.TB, candID int) *ent.Attempt {
	t.Helper()
	a := f.pending(t, candID, f.theory)
	reviewer := f.e.App.Client.User.Query().Where(user.Login("reviewer")).OnlyIDX(enrSys())
	ctx := viewer.NewContext(context.Background(), &viewer.Viewer{UserID: reviewer, Role: viewer.Reviewer})
	a, err := f.e.App.Scoring.Review(ctx, a.ID, true, "")
	if err != nil {
		t.Fatalf("review: %v", err)
	}
	return a
}

// issued is a VALID certificate of the candidate (issued through the service).
func (f *exFx) issued(t testing.TB, candID int) *ent.Certificate {
	t.Helper()
	a := f.passed(t, candID)
	admin := f.e.App.Client.User.Query().Where(user.Login("admin")).OnlyIDX(enrSys())
	ctx := viewer.NewContext(context.Background(), &viewer.Viewer{UserID: admin, Role: viewer.Admin})
	cs, err := f.e.App.Certificates.IssueBatch(ctx, []int{a.ID})
	if err != nil {
		t.Fatalf("issue: %v", err)
	}
	return cs[0]
}

// renewable moves a certificate's expiry into the renewal window.
func (f *exFx) renewable(t testing.TB, c *ent.Certificate) {
	t.Helper()
	f.e.App.Client.Certificate.UpdateOneID(c.ID).SetValidUntil(time.Now().AddDate(0, 1, 0)).ExecX(enrSys())
}

// proof is an attachment uploaded by the candidate.
func (f *exFx) proof(t testing.TB, candID int) int {
	t.Helper()
	png := pcNoisyPNG(t, 32, 32)
	a, err := f.e.App.Profiles.Attach(enrSys(), candID, attachment.KindOTHER, "离职证明.png", bytes.NewReader(png), int64(len(png)))
	if err != nil {
		t.Fatalf("attach: %v", err)
	}
	return a.ID
}

func TestCertificateAPI(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := graphtest.New(t, url)
		e.Seed()
		ctSuite(t, e)
	})
}

// TestCertificatePostgresMinIO: the same with blobs in MinIO (the holder's
// ID photo printed on the PDF comes from there).
func TestCertificatePostgresMinIO(t *testing.T) {
	e := graphtest.New(t, testenv.Postgres(t), graphtest.WithMinIO(t))
	e.Seed()
	ctSuite(t, e)
}

func ctSuite(t *testing.T, e *graphtest.Env) {
	f := exFixtures(t, e)
	u, login := enrFixtures(t, e).register(t)
	enrFixtures(t, e).fillProfile(t, u.ID, "深圳市安全建设有限公司", true) // with an ID photo for the PDF
	cand := e.Login(login, enrPassword)
	admin, site := e.DemoLogin("ADMIN"), e.DemoLogin("EXAM_SITE")
	a := f.passed(t, u.ID)

	var c ctCert
	t.Run("admin issues a batch", func(t *testing.T) {
		var pend struct {
			PendingCertificates []struct{ AttemptID, MaskedID string }
		}
		e.Do(admin, ctPending, nil).Decode(t, &pend)
		found := false
		for _, p := range pend.PendingCertificates {
			found = found || p.AttemptID == itoa(a.ID)
			if strings.Contains(p.MaskedID, login[6:14]) {
				t.Fatalf("unmasked ID %q", p.MaskedID)
			}
		}
		if !found {
			t.Fatalf("attempt %d not pending: %+v", a.ID, pend)
		}
		// A batch with a bad id issues nothing.
		before := e.App.Client.Certificate.Query().CountX(enrSys())
		r := e.Do(admin, ctIssue, map[string]any{"ids": []any{a.ID, 99999999}})
		if r.Code() != "BAD_USER_INPUT" && r.Code() != "NOT_FOUND" {
			t.Fatalf("bad batch: %q %+v", r.Code(), r.Errors)
		}
		if n := e.App.Client.Certificate.Query().CountX(enrSys()); n != before {
			t.Fatalf("certificates %d → %d after a refused batch", before, n)
		}
		for _, tok := range []string{cand, site, e.DemoLogin("REVIEWER")} {
			if r := e.Do(tok, ctIssue, map[string]any{"ids": []any{a.ID}}); r.Code() != "FORBIDDEN" {
				t.Errorf("non-admin issues: %q", r.Code())
			}
		}
		var out struct{ IssueCertificates []ctCert }
		e.Do(admin, ctIssue, map[string]any{"ids": []any{a.ID}}).Decode(t, &out)
		if len(out.IssueCertificates) != 1 {
			t.Fatalf("issued %+v", out)
		}
		c = out.IssueCertificates[0]
		years := c.ValidUntil.Sub(c.ValidFrom).Hours() / 24 / 365
		if c.Status != "VALID" || c.CurrentStatus != "VALID" || years < 2.99 || years > 3.01 ||
			!strings.HasPrefix(c.QrURL, e.Server.URL+"/verify/") || strings.Contains(c.HolderIDMasked, login[6:14]) {
			t.Fatalf("certificate %+v", c)
		}
		if r := e.Do(admin, ctIssue, map[string]any{"ids": []any{a.ID}}); r.Code() == "" {
			t.Fatal("issued twice")
		}
	})

	t.Run("holder sees it and downloads the PDF", func(t *testing.T) {
		var mine struct {
			MyCertificates []struct{ ID, Number, CurrentStatus string }
		}
		e.Do(cand, ctMine, nil).Decode(t, &mine)
		if len(mine.MyCertificates) != 1 || mine.MyCertificates[0].Number != c.Number {
			t.Fatalf("mine %+v", mine)
		}
		resp, body := pcGet(t, e, cand, c.PdfPath)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(body, []byte("%PDF")) {
			t.Fatalf("pdf: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		// The photo and the QR code are images in the PDF.
		if n := bytes.Count(body, []byte("/Subtype /Image")); n < 2 {
			t.Fatalf("pdf has %d images, want the photo and the QR code", n)
		}
		for tok, status := range map[string]int{"": http.StatusUnauthorized, e.DemoLogin("CANDIDATE"): http.StatusNotFound, e.DemoLogin("COMPANY"): http.StatusNotFound} {
			if resp, _ := pcGet(t, e, tok, c.PdfPath); resp.StatusCode != status && !(status == http.StatusNotFound && resp.StatusCode == http.StatusForbidden) {
				t.Errorf("pdf as %q: %d, want %d", tok[:min(len(tok), 6)], resp.StatusCode, status)
			}
		}
		resp, body = pcGet(t, e, "", certificate.KeysPath)
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "Ed25519") {
			t.Fatalf("keys: %d %s", resp.StatusCode, body)
		}
	})

	t.Run("public lookup and verification", func(t *testing.T) {
		holder := e.App.Client.User.GetX(enrSys(), u.ID)
		var lk struct {
			LookupCertificates []struct{ Number, MaskedID, Status string }
		}
		e.Do("", ctLookup, map[string]any{"n": holder.Name, "i": login}).Decode(t, &lk)
		if len(lk.LookupCertificates) != 1 || lk.LookupCertificates[0].Number != c.Number || lk.LookupCertificates[0].MaskedID == login {
			t.Fatalf("lookup %+v", lk)
		}
		var byNum struct {
			LookupCertificate *struct{ Number, HolderName string }
		}
		e.Do("", ctNumber, map[string]any{"n": c.Number}).Decode(t, &byNum)
		if byNum.LookupCertificate == nil || byNum.LookupCertificate.HolderName != holder.Name {
			t.Fatalf("by number %+v", byNum)
		}
		type verification struct {
			VerifyCertificate struct {
				Authentic       bool
				Problem, Status *string
				Claims          *struct{ Number string }
			}
		}
		var ok verification
		e.Do("", ctVerify, map[string]any{"c": c.QrURL}).Decode(t, &ok)
		if !ok.VerifyCertificate.Authentic || *ok.VerifyCertificate.Status != "VALID" || ok.VerifyCertificate.Claims.Number != c.Number {
			t.Fatalf("verify %+v", ok)
		}
		// One character of the payload changed: not authentic, and said so.
		i := len(c.QrURL) - 10
		flip := map[byte]byte{'A': 'B'}[c.QrURL[i]]
		if flip == 0 {
			flip = 'A'
		}
		altered := c.QrURL[:i] + string(flip) + c.QrURL[i+1:]
		var bad verification
		e.Do("", ctVerify, map[string]any{"c": altered}).Decode(t, &bad)
		if bad.VerifyCertificate.Authentic || bad.VerifyCertificate.Problem == nil || bad.VerifyCertificate.Status != nil {
			t.Fatalf("altered code %+v", bad)
		}
		var junk verification
		e.Do("", ctVerify, map[string]any{"c": "https://example.com/verify/hello"}).Decode(t, &junk)
		if junk.VerifyCertificate.Authentic || *junk.VerifyCertificate.Problem != "MALFORMED" {
			t.Fatalf("junk %+v", junk)
		}
		var name struct{ CertificateNameMatches bool }
		e.Do("", ctName, map[string]any{"c": c.QrURL, "n": holder.Name}).Decode(t, &name)
		if !name.CertificateNameMatches {
			t.Fatal("holder's name does not match")
		}
		e.Do("", ctName, map[string]any{"c": c.QrURL, "n": "李四"}).Decode(t, &name)
		if name.CertificateNameMatches {
			t.Fatal("another name matches")
		}
	})

	t.Run("fee and collection at the site", func(t *testing.T) {
		if r := e.Do(site, ctCollect, map[string]any{"c": c.ID}); r.Code() != "CONFLICT" {
			t.Fatalf("collection before the fee: %q", r.Code())
		}
		if r := e.Do(cand, ctFee, map[string]any{"c": c.ID}); r.Code() != "FORBIDDEN" {
			t.Fatalf("holder records the fee: %q", r.Code())
		}
		e.Do(site, ctFee, map[string]any{"c": c.ID}).Decode(t, &struct{}{})
		if r := e.Do(site, ctFee, map[string]any{"c": c.ID}); r.Code() != "CONFLICT" {
			t.Fatalf("fee twice: %q", r.Code())
		}
		var col struct{ RecordCertificateCollection struct{ CollectedBy string } }
		e.Do(site, ctCollect, map[string]any{"c": c.ID}).Decode(t, &col)
		if col.RecordCertificateCollection.CollectedBy != "本人" {
			t.Fatalf("collection %+v", col)
		}
		if r := e.Do(site, ctCollect, map[string]any{"c": c.ID}); r.Code() != "CONFLICT" {
			t.Fatalf("collected twice: %q", r.Code())
		}
	})

	type reqOut struct{ ID, Kind, Status string }
	t.Run("renewal opens 3 months before expiry", func(t *testing.T) {
		r := e.Do(cand, ctRenew, map[string]any{"c": c.ID})
		if r.Code() != "CONFLICT" || r.Errors[0].Extensions["reason"] != "RENEWAL_NOT_OPEN" || r.Errors[0].Extensions["opensAt"] == nil ||
			r.Errors[0].Extensions["field"] != "certificateID" {
			t.Fatalf("early renewal: %+v", r.Errors)
		}
	})

	t.Run("change: withdraw while pending, not after review; reason visible", func(t *testing.T) {
		proof := f.proof(t, u.ID)
		if r := e.Do(cand, ctChange, map[string]any{"c": c.ID, "a": []any{}}); r.Code() != "BAD_USER_INPUT" {
			t.Fatalf("no attachments: %q", r.Code())
		}
		someoneElses := f.proof(t, f.cand)
		if r := e.Do(cand, ctChange, map[string]any{"c": c.ID, "a": []any{someoneElses}}); r.Code() != "BAD_USER_INPUT" {
			t.Fatalf("another person's attachment: %q", r.Code())
		}
		var req struct{ RequestCertificateChange reqOut }
		e.Do(cand, ctChange, map[string]any{"c": c.ID, "a": []any{proof}}).Decode(t, &req)
		if r := e.Do(cand, ctChange, map[string]any{"c": c.ID, "a": []any{proof}}); r.Code() != "CONFLICT" {
			t.Fatalf("second pending request: %q", r.Code())
		}
		var wd struct{ WithdrawCertificateRequest reqOut }
		e.Do(cand, ctWithdraw, map[string]any{"id": req.RequestCertificateChange.ID}).Decode(t, &wd)
		if wd.WithdrawCertificateRequest.Status != "WITHDRAWN" {
			t.Fatalf("withdrawn %+v", wd)
		}
		e.Do(cand, ctChange, map[string]any{"c": c.ID, "a": []any{proof}}).Decode(t, &req)
		var pending struct {
			PendingCertificateRequests []struct {
				ID          string
				Attachments []struct{ URL string }
			}
		}
		e.Do(site, ctRequests, nil).Decode(t, &pending)
		if len(pending.PendingCertificateRequests) != 1 || len(pending.PendingCertificateRequests[0].Attachments) != 1 {
			t.Fatalf("site's pending %+v", pending)
		}
		if resp, _ := pcGet(t, e, "", pending.PendingCertificateRequests[0].Attachments[0].URL); resp.StatusCode != http.StatusOK {
			t.Fatalf("attachment URL: %d", resp.StatusCode)
		}
		id := req.RequestCertificateChange.ID
		if r := e.Do(site, ctReview, map[string]any{"id": id, "ok": false}); r.Code() != "BAD_USER_INPUT" {
			t.Fatalf("reject without reason: %q", r.Code())
		}
		if r := e.Do(cand, ctReview, map[string]any{"id": id, "ok": true}); r.Code() != "FORBIDDEN" {
			t.Fatalf("holder reviews: %q", r.Code())
		}
		e.Do(site, ctReview, map[string]any{"id": id, "ok": false, "r": "缺少新单位的劳动合同"}).Decode(t, &struct{}{})
		r := e.Do(cand, ctWithdraw, map[string]any{"id": id})
		if r.Code() != "CONFLICT" || !strings.Contains(r.Errors[0].Message, "缺少新单位的劳动合同") {
			t.Fatalf("withdraw after review: %q %+v", r.Code(), r.Errors)
		}
		var mine struct {
			MyCertificates []struct {
				Requests []struct{ ID, Status, ReviewReason string }
			}
		}
		e.Do(cand, ctMine, nil).Decode(t, &mine)
		seen := false
		for _, q := range mine.MyCertificates[0].Requests {
			seen = seen || (q.ID == id && q.Status == "REJECTED" && q.ReviewReason == "缺少新单位的劳动合同")
		}
		if !seen {
			t.Fatalf("reason not visible to the holder: %+v", mine)
		}
		// Approved: the old QR shows CHANGED online.
		e.Do(cand, ctChange, map[string]any{"c": c.ID, "a": []any{proof}}).Decode(t, &req)
		e.Do(site, ctReview, map[string]any{"id": req.RequestCertificateChange.ID, "ok": true}).Decode(t, &struct{}{})
		var v struct {
			VerifyCertificate struct {
				Status  string
				Current struct{ Employer string }
			}
		}
		e.Do("", ctVerify, map[string]any{"c": c.QrURL}).Decode(t, &v)
		if v.VerifyCertificate.Status != "CHANGED" || v.VerifyCertificate.Current.Employer != "广州新单位有限公司" {
			t.Fatalf("old QR after change: %+v", v)
		}
	})

	t.Run("renewal in the window, then cancellation closes it for good", func(t *testing.T) {
		cert := e.App.Client.Certificate.GetX(enrSys(), enrID(t, c.ID))
		f.renewable(t, cert)
		old := e.App.Client.Certificate.GetX(enrSys(), cert.ID).ValidUntil
		var req struct{ RequestCertificateRenewal reqOut }
		e.Do(cand, ctRenew, map[string]any{"c": c.ID}).Decode(t, &req)
		e.Do(site, ctReview, map[string]any{"id": req.RequestCertificateRenewal.ID, "ok": true}).Decode(t, &struct{}{})
		after := e.App.Client.Certificate.GetX(enrSys(), cert.ID)
		// 3 years from the old expiry (not from today), to the day.
		if d := after.ValidUntil.Sub(old.AddDate(3, 0, 0)); d > 24*time.Hour || d < -24*time.Hour {
			t.Fatalf("renewed from %v until %v", old, after.ValidUntil)
		}
		var cancel struct{ RequestCertificateCancellation reqOut }
		e.Do(cand, ctCancel, map[string]any{"c": c.ID}).Decode(t, &cancel)
		e.Do(site, ctReview, map[string]any{"id": cancel.RequestCertificateCancellation.ID, "ok": true}).Decode(t, &struct{}{})
		for what, r := range map[string]*graphtest.Result{
			"renewal":      e.Do(cand, ctRenew, map[string]any{"c": c.ID}),
			"cancellation": e.Do(cand, ctCancel, map[string]any{"c": c.ID}),
			"change":       e.Do(cand, ctChange, map[string]any{"c": c.ID, "a": []any{f.proof(t, u.ID)}}),
		} {
			if r.Code() != "CONFLICT" {
				t.Errorf("%s on a cancelled certificate: %q %+v", what, r.Code(), r.Errors)
			}
		}
		var v struct{ VerifyCertificate struct{ Status string } }
		e.Do("", ctVerify, map[string]any{"c": c.QrURL}).Decode(t, &v)
		if v.VerifyCertificate.Status != "CANCELLED" {
			t.Fatalf("cancelled certificate verifies as %q", v.VerifyCertificate.Status)
		}
	})
}
