package certificate_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kaowu/kaowu/ent"
	entcert "github.com/kaowu/kaowu/ent/certificate"
	"github.com/kaowu/kaowu/ent/certificaterequest"
	"github.com/kaowu/kaowu/ent/profile"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/certificate"
	"github.com/kaowu/kaowu/internal/testenv"
)

func TestChangeRequest(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		li := e.candidate("李堃喆")
		other := e.candidate("王珺")
		company := e.org("COMPANY", "深圳建工集团")
		e.client.Profile.Update().Where(profile.UserID(li.ID)).SetCompanyID(company.ID).ExecX(e.sys)
		c := e.issued(li, e.c1)
		ctx, site := e.as(li), e.as(e.siteU)
		proof := e.upload(li)
		good := certificate.ChangeInput{RegionCode: "440100", Employer: "广州建设有限公司", LeftJob: true, AttachmentIDs: []int{proof.ID}}

		t.Run("bad input", func(t *testing.T) {
			for _, c2 := range []struct {
				mut   func(*certificate.ChangeInput)
				field string
			}{
				{func(in *certificate.ChangeInput) { in.RegionCode = "" }, "regionCode"},
				{func(in *certificate.ChangeInput) { in.RegionCode = "999999" }, "regionCode"},
				{func(in *certificate.ChangeInput) { in.Employer = "  " }, "employer"},
				{func(in *certificate.ChangeInput) { in.Employer = strings.Repeat("单", 129) }, "employer"},
				{func(in *certificate.ChangeInput) { in.RegionCode, in.Employer = "440300", "深圳建工集团" }, "employer"},
				{func(in *certificate.ChangeInput) { in.AttachmentIDs = nil }, "attachmentIDs"},
				{func(in *certificate.ChangeInput) { in.AttachmentIDs = []int{proof.ID, proof.ID} }, "attachmentIDs"},
				{func(in *certificate.ChangeInput) { in.AttachmentIDs = []int{e.upload(other).ID} }, "attachmentIDs"},
				{func(in *certificate.ChangeInput) { in.AttachmentIDs = []int{proof.ID + 100000} }, "attachmentIDs"},
			} {
				in := good
				c2.mut(&in)
				_, err := e.svc.RequestChange(ctx, c.ID, in)
				wantField(t, err, c2.field)
			}
		})

		t.Run("only the holder", func(t *testing.T) {
			_, err := e.svc.RequestChange(e.as(other), c.ID, good)
			wantCode(t, err, apperr.NotFound)
			for _, u := range []*ent.User{e.siteU, e.admin} {
				_, err = e.svc.RequestChange(e.as(u), c.ID, good)
				wantCode(t, err, apperr.Forbidden)
			}
		})

		r1, err := e.svc.RequestChange(ctx, c.ID, good)
		mustOK(t, err)
		if r1.Status != certificaterequest.StatusPENDING || r1.NewRegionName != "广州市" || r1.OldEmployer != "深圳建工集团" ||
			r1.LeftJob == nil || !*r1.LeftJob || len(r1.AttachmentIds) != 1 {
			t.Fatalf("request %+v", r1)
		}

		t.Run("one pending request per certificate", func(t *testing.T) {
			_, err := e.svc.RequestCancellation(ctx, c.ID, "本人自愿注销")
			if ae := wantCode(t, err, apperr.Conflict); ae.Message != certificate.MsgPendingExists {
				t.Fatalf("message %q", ae.Message)
			}
		})

		t.Run("the site sees the attachments, others do not", func(t *testing.T) {
			as, err := e.svc.RequestAttachments(site, r1.ID)
			mustOK(t, err)
			if len(as) != 1 || as[0].ID != proof.ID {
				t.Fatalf("attachments %v", as)
			}
			_, err = e.svc.RequestAttachments(e.as(e.site2U), r1.ID)
			wantCode(t, err, apperr.NotFound)
			_, err = e.svc.RequestAttachments(e.as(other), r1.ID)
			wantCode(t, err, apperr.NotFound)
			pend, err := e.svc.PendingRequests(site)
			mustOK(t, err)
			if len(pend) != 1 || pend[0].ID != r1.ID {
				t.Fatalf("site queue %v", pend)
			}
			pend, err = e.svc.PendingRequests(e.as(e.site2U))
			mustOK(t, err)
			if len(pend) != 0 {
				t.Fatalf("another site's queue %v", pend)
			}
		})

		t.Run("withdraw while pending, then it is closed", func(t *testing.T) {
			_, err := e.svc.Withdraw(e.as(other), r1.ID)
			wantCode(t, err, apperr.NotFound)
			w, err := e.svc.Withdraw(ctx, r1.ID)
			mustOK(t, err)
			if w.Status != certificaterequest.StatusWITHDRAWN || w.WithdrawnAt == nil {
				t.Fatalf("withdrawn %+v", w)
			}
			_, err = e.svc.Withdraw(ctx, r1.ID)
			if ae := wantCode(t, err, apperr.Conflict); !strings.Contains(ae.Message, "已撤销") {
				t.Fatalf("message %q", ae.Message)
			}
			_, err = e.svc.Review(site, r1.ID, true, "")
			wantCode(t, err, apperr.Conflict)
		})

		t.Run("rejected with a reason; withdrawing it then is refused naming it", func(t *testing.T) {
			r2, err := e.svc.RequestChange(ctx, c.ID, good)
			mustOK(t, err)
			_, err = e.svc.Review(site, r2.ID, false, " ")
			wantField(t, err, "reason")
			_, err = e.svc.Review(e.as(e.site2U), r2.ID, false, "材料不全")
			wantCode(t, err, apperr.NotFound)
			for _, u := range []*ent.User{li, e.admin, e.reviewer} {
				_, err = e.svc.Review(e.as(u), r2.ID, false, "材料不全")
				wantCode(t, err, apperr.Forbidden)
			}
			rej, err := e.svc.Review(site, r2.ID, false, "离职证明不清晰")
			mustOK(t, err)
			if rej.Status != certificaterequest.StatusREJECTED || rej.ReviewReason != "离职证明不清晰" || rej.ReviewerID == nil {
				t.Fatalf("rejected %+v", rej)
			}
			_, err = e.svc.Withdraw(ctx, r2.ID)
			ae := wantCode(t, err, apperr.Conflict)
			if !strings.Contains(ae.Message, "审核不通过") || !strings.Contains(ae.Message, "离职证明不清晰") || ae.Extra["status"] != "REJECTED" {
				t.Fatalf("refusal %q %v", ae.Message, ae.Extra)
			}
			_, err = e.svc.Review(site, r2.ID, true, "")
			wantCode(t, err, apperr.Conflict)
			if got := e.cert(c.ID); got.Employer != "深圳建工集团" || got.Revision != 1 {
				t.Fatalf("a rejection changed the certificate: %+v", got)
			}
			if n := e.notes(li, certificate.KindReviewed); len(n) != 1 || !strings.Contains(n[0].Body, "离职证明不清晰") {
				t.Fatalf("notifications %v", n)
			}
		})

		t.Run("approved: the certificate and the profile follow", func(t *testing.T) {
			r3, err := e.svc.RequestChange(ctx, c.ID, good)
			mustOK(t, err)
			ok, err := e.svc.Review(site, r3.ID, true, "")
			mustOK(t, err)
			if ok.Status != certificaterequest.StatusAPPROVED {
				t.Fatalf("status %s", ok.Status)
			}
			got := e.cert(c.ID)
			if got.Employer != "广州建设有限公司" || got.RegionCode != "440100" || got.RegionName != "广州市" ||
				got.Revision != 2 || got.ChangedAt == nil || got.Number != c.Number || got.HolderName != "李堃喆" {
				t.Fatalf("certificate %+v", got)
			}
			p := e.client.Profile.Query().Where(profile.UserID(li.ID)).OnlyX(e.sys)
			if p.CompanyName != "广州建设有限公司" || p.CompanyID != nil {
				t.Fatalf("profile %q %v", p.CompanyName, p.CompanyID)
			}
			_, err = e.svc.Withdraw(ctx, r3.ID)
			if ae := wantCode(t, err, apperr.Conflict); !strings.Contains(ae.Message, "审核通过") {
				t.Fatalf("message %q", ae.Message)
			}
			rs, err := e.svc.Requests(ctx, c.ID)
			mustOK(t, err)
			if len(rs) != 3 || rs[0].ID != r3.ID {
				t.Fatalf("requests %d", len(rs))
			}
		})
	})
}

func TestRenewalRequest(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		li := e.candidate("李堃喆")
		c := e.issued(li, e.c1) // valid until 2029-03-01 (exclusive)
		ctx := e.as(li)

		t.Run("one day too early", func(t *testing.T) {
			for _, now := range []time.Time{t0, time.Date(2028, 11, 30, 0, 0, 0, 0, cst), time.Date(2028, 11, 30, 23, 59, 59, 0, cst)} {
				e.clock.Set(now)
				_, err := e.svc.RequestRenewal(ctx, c.ID)
				ae := wantCode(t, err, apperr.Conflict)
				if ae.Extra["reason"] != "RENEWAL_NOT_OPEN" || ae.Extra["opensAt"] != "2028-12-01T00:00:00+08:00" ||
					ae.Field != "certificateID" || !strings.Contains(ae.Message, "2028-12-01") {
					t.Fatalf("at %v: %q %v", now, ae.Message, ae.Extra)
				}
			}
		})

		e.clock.Set(time.Date(2028, 12, 1, 0, 0, 0, 0, cst))
		r, err := e.svc.RequestRenewal(ctx, c.ID)
		mustOK(t, err)
		if r.Kind != certificaterequest.KindRENEWAL || r.OldValidUntil == nil || !r.OldValidUntil.Equal(c.ValidUntil) {
			t.Fatalf("request %+v", r)
		}

		t.Run("approved after the old expiry: extended from the old expiry", func(t *testing.T) {
			// The site takes its time; the expiry job marks the certificate meanwhile.
			e.clock.Set(time.Date(2029, 3, 5, 9, 0, 0, 0, cst))
			_, err := e.svc.RunExpiry(e.ctx)
			mustOK(t, err)
			if got := e.cert(c.ID); got.Status != entcert.StatusEXPIRED {
				t.Fatalf("status %s", got.Status)
			}
			ok, err := e.svc.Review(e.as(e.siteU), r.ID, true, "")
			mustOK(t, err)
			want := time.Date(2032, 3, 1, 0, 0, 0, 0, cst)
			got := e.cert(c.ID)
			if !got.ValidUntil.Equal(want) || got.Status != entcert.StatusVALID || got.Revision != 2 || got.RenewedAt == nil ||
				got.ExpiredAt != nil || ok.NewValidUntil == nil || !ok.NewValidUntil.Equal(want) {
				t.Fatalf("renewed %+v / request %+v", got, ok)
			}
		})

		t.Run("a renewal rejected leaves validity alone", func(t *testing.T) {
			e.clock.Set(time.Date(2031, 12, 1, 0, 0, 0, 0, cst))
			r2, err := e.svc.RequestRenewal(ctx, c.ID)
			mustOK(t, err)
			_, err = e.svc.Review(e.as(e.siteU), r2.ID, false, "未完成继续教育")
			mustOK(t, err)
			if got := e.cert(c.ID); !got.ValidUntil.Equal(time.Date(2032, 3, 1, 0, 0, 0, 0, cst)) || got.Revision != 2 {
				t.Fatalf("%+v", got)
			}
		})

		t.Run("no request on an expired certificate", func(t *testing.T) {
			e.clock.Set(time.Date(2032, 3, 1, 0, 0, 0, 0, cst))
			_, err := e.svc.RequestRenewal(ctx, c.ID)
			if ae := wantCode(t, err, apperr.Conflict); ae.Extra["reason"] != "EXPIRED" {
				t.Fatalf("%v", ae.Extra)
			}
			_, err = e.svc.RequestCancellation(ctx, c.ID, "自愿注销")
			wantCode(t, err, apperr.Conflict)
		})
	})
}

func TestCancellationRequest(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		li := e.candidate("李堃喆")
		c := e.issued(li, e.c1)
		ctx := e.as(li)

		_, err := e.svc.RequestCancellation(ctx, c.ID, "  ")
		wantField(t, err, "statement")
		_, err = e.svc.RequestCancellation(ctx, c.ID, strings.Repeat("说", 1001))
		wantField(t, err, "statement")

		t.Run("racing requests: one wins", func(t *testing.T) {
			var wg sync.WaitGroup
			errs := make([]error, 6)
			for i := range errs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[i] = e.service(e.keys).RequestCancellation(ctx, c.ID, "本人已退休，自愿申请注销证书")
				}()
			}
			wg.Wait()
			ok := 0
			for _, err := range errs {
				if err == nil {
					ok++
				} else {
					wantCode(t, err, apperr.Conflict)
				}
			}
			if ok != 1 {
				t.Fatalf("%d requests made", ok)
			}
		})

		r := e.client.CertificateRequest.Query().Where(certificaterequest.StatusEQ(certificaterequest.StatusPENDING)).OnlyX(e.sys)
		t.Run("the database holds the one-pending rule too", func(t *testing.T) {
			_, err := e.client.CertificateRequest.Create().SetCertificateID(c.ID).SetHolderID(li.ID).SetSiteID(c.SiteID).
				SetKind(certificaterequest.KindRENEWAL).SetSubmittedAt(t0).Save(e.sys)
			if !ent.IsConstraintError(err) {
				t.Fatalf("second PENDING row: %v", err)
			}
		})
		if r.Statement != "本人已退休，自愿申请注销证书" || r.Kind != certificaterequest.KindCANCELLATION {
			t.Fatalf("request %+v", r)
		}
		_, err = e.svc.Review(e.as(e.siteU), r.ID, true, "")
		mustOK(t, err)
		got := e.cert(c.ID)
		if got.Status != entcert.StatusCANCELLED || got.CancelledAt == nil {
			t.Fatalf("certificate %+v", got)
		}

		t.Run("a cancelled certificate takes no further request", func(t *testing.T) {
			proof := e.upload(li)
			calls := []func(context.Context) error{
				func(ctx context.Context) error {
					_, err := e.svc.RequestCancellation(ctx, c.ID, "再次注销")
					return err
				},
				func(ctx context.Context) error { _, err := e.svc.RequestRenewal(ctx, c.ID); return err },
				func(ctx context.Context) error {
					_, err := e.svc.RequestChange(ctx, c.ID, certificate.ChangeInput{RegionCode: "440100", Employer: "新单位", AttachmentIDs: []int{proof.ID}})
					return err
				},
			}
			for _, at := range []time.Time{t0, time.Date(2028, 12, 15, 0, 0, 0, 0, cst)} {
				e.clock.Set(at)
				for _, call := range calls {
					ae := wantCode(t, call(ctx), apperr.Conflict)
					if ae.Message != certificate.MsgCancelled || ae.Extra["reason"] != "CANCELLED" {
						t.Fatalf("%q %v", ae.Message, ae.Extra)
					}
				}
			}
			e.clock.Set(t0)
		})

		t.Run("and is not printed", func(t *testing.T) {
			_, err := e.svc.PDF(ctx, c.ID)
			wantCode(t, err, apperr.Conflict)
		})
	})
}
