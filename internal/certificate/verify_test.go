package certificate_test

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/kaowu/kaowu/ent"
	entcert "github.com/kaowu/kaowu/ent/certificate"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/certificate"
	"github.com/kaowu/kaowu/internal/certificate/sign"
	"github.com/kaowu/kaowu/internal/idcard"
	"github.com/kaowu/kaowu/internal/testenv"
)

func TestVisibility(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		li, wang := e.candidate("李堃喆"), e.candidate("王珺")
		c := e.issued(li, e.c1)
		e.issued(li, e.other)

		mine, err := e.svc.Mine(e.as(li))
		mustOK(t, err)
		if len(mine) != 2 {
			t.Fatalf("mine: %d", len(mine))
		}
		if mine, _ := e.svc.Mine(e.as(wang)); len(mine) != 0 {
			t.Fatalf("another holder sees %d", len(mine))
		}
		_, err = e.svc.Mine(e.as(e.siteU))
		wantCode(t, err, apperr.Forbidden)

		for _, u := range []*ent.User{li, e.siteU, e.admin} {
			if _, err := e.svc.Get(e.as(u), c.ID); err != nil {
				t.Errorf("%s: %v", u.Role, err)
			}
			if _, err := e.svc.Code(e.as(u), c.ID); err != nil {
				t.Errorf("%s: %v", u.Role, err)
			}
		}
		for _, u := range []*ent.User{wang, e.site2U} {
			_, err := e.svc.Get(e.as(u), c.ID)
			wantCode(t, err, apperr.NotFound)
		}
		_, err = e.svc.Get(e.as(e.reviewer), c.ID)
		wantCode(t, err, apperr.Forbidden)
		_, err = e.svc.Get(e.ctx, c.ID)
		wantCode(t, err, apperr.Unauthenticated)

		// Privacy on the rows themselves (what GraphQL reads).
		if n := e.client.Certificate.Query().CountX(e.as(e.site2U)); n != 0 {
			t.Fatalf("another site reads %d certificates", n)
		}
		if n := e.client.Certificate.Query().CountX(e.as(li)); n != 2 {
			t.Fatalf("holder reads %d", n)
		}
		if _, err := e.client.Certificate.UpdateOneID(c.ID).SetEmployer("x").Save(e.as(e.admin)); err == nil {
			t.Fatal("ADMIN wrote a certificate past the service")
		}
		if _, err := e.client.Certificate.Query().All(e.ctx); err == nil {
			t.Fatal("anonymous read")
		}
	})
}

func TestLookup(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		li := e.candidate("李堃喆")
		c := e.issued(li, e.c1)
		id := *li.IDNumber

		got, err := e.svc.Lookup(e.from("10.0.0.1"), " 李堃喆 ", strings.ToLower(id))
		mustOK(t, err)
		if len(got) != 1 || got[0].Number != c.Number || got[0].MaskedID != idcard.Mask(id) || got[0].Status != entcert.StatusVALID ||
			got[0].Employer != "深圳建工集团" {
			t.Fatalf("lookup %+v", got)
		}
		for _, name := range []string{"李四", "李堃"} {
			got, err := e.svc.Lookup(e.from("10.0.0.1"), name, id)
			mustOK(t, err)
			if len(got) != 0 {
				t.Fatalf("wrong name %q found %d", name, len(got))
			}
		}
		_, err = e.svc.Lookup(e.from("10.0.0.1"), "", id)
		wantField(t, err, "name")
		_, err = e.svc.Lookup(e.from("10.0.0.1"), "李堃喆", "123")
		wantField(t, err, "idNumber")

		t.Run("rate-limited per address", func(t *testing.T) {
			for i := range certificate.LookupPerIP {
				if _, err := e.svc.Lookup(e.from("10.0.0.2"), "李堃喆", id); err != nil {
					t.Fatalf("request %d: %v", i+1, err)
				}
			}
			_, err := e.svc.Lookup(e.from("10.0.0.2"), "李堃喆", id)
			if ae := wantCode(t, err, apperr.TooManyRequests); ae.Extra["retryAfterSeconds"] == nil {
				t.Fatal("no retryAfterSeconds")
			}
			e.clock.Advance(certificate.LookupIPWindow)
			_, err = e.svc.Lookup(e.from("10.0.0.2"), "李堃喆", id)
			mustOK(t, err)
		})

		t.Run("rate-limited per ID number across addresses", func(t *testing.T) {
			e.clock.Advance(certificate.LookupIDWindow)
			var err error
			for i := 0; i <= certificate.LookupPerID && err == nil; i++ {
				_, err = e.svc.Lookup(e.from("10.1.0."+string(rune('a'+i))), "李堃喆", id)
			}
			wantCode(t, err, apperr.TooManyRequests)
		})

		t.Run("by number", func(t *testing.T) {
			p, err := e.svc.LookupNumber(e.from("10.0.0.3"), " "+strings.ToLower(c.Number)+" ")
			mustOK(t, err)
			if p.Number != c.Number || p.HolderName != "李堃喆" || p.MaskedID != idcard.Mask(id) {
				t.Fatalf("%+v", p)
			}
			_, err = e.svc.LookupNumber(e.from("10.0.0.3"), "KW-C1-2026-999999")
			wantCode(t, err, apperr.NotFound)
			_, err = e.svc.LookupNumber(e.from("10.0.0.3"), "")
			wantField(t, err, "number")
			for range certificate.NumberPerIP {
				_, _ = e.svc.LookupNumber(e.from("10.0.0.4"), c.Number)
			}
			_, err = e.svc.LookupNumber(e.from("10.0.0.4"), c.Number)
			wantCode(t, err, apperr.TooManyRequests)
		})

		t.Run("expired shows as expired before the job runs", func(t *testing.T) {
			e.clock.Set(time.Date(2029, 3, 1, 0, 0, 0, 0, cst))
			p, err := e.svc.LookupNumber(e.from("10.0.0.5"), c.Number)
			mustOK(t, err)
			if p.Status != entcert.StatusEXPIRED {
				t.Fatalf("status %s", p.Status)
			}
		})
	})
}

func TestVerify(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		li := e.candidate("李堃喆")
		c := e.issued(li, e.c1)
		ctx := e.as(li)
		code, err := e.svc.Code(ctx, c.ID)
		mustOK(t, err)
		if !strings.HasPrefix(code, publicURL+"/verify/") {
			t.Fatalf("code %q", code)
		}
		verify := func(svc *certificate.Service, code string) certificate.VerifyResult {
			t.Helper()
			r, err := svc.Verify(e.from("10.9.0.1"), code)
			mustOK(t, err)
			return r
		}

		r := verify(e.svc, code)
		if !r.Authentic || r.Status != certificate.VerifyValid || r.Current == nil || r.Current.Number != c.Number ||
			r.Claims.Revision != 1 || r.Claims.KeyID != "k1" {
			t.Fatalf("verify %+v", r)
		}
		if ok, err := e.svc.CheckName(code, "李堃喆"); err != nil || !ok {
			t.Fatalf("name check: %v %v", ok, err)
		}
		if ok, _ := e.svc.CheckName(code, "王珺"); ok {
			t.Fatal("a wrong name matched")
		}

		t.Run("forged, altered, unknown key, malformed", func(t *testing.T) {
			payload := sign.Extract(code)
			forged, _ := ring(t, "k1:"+seed(7)).Sign(sign.Claims{Number: c.Number, NameHash: sign.NameHash(c.Number, "李堃喆"),
				SubjectCode: c.SubjectCode, ValidFrom: sign.Day(c.ValidFrom), ValidUntil: sign.Day(c.ValidUntil) + 3650, Revision: 9})
			unknown, _ := ring(t, "k9:"+seed(1)).Sign(sign.Claims{Number: c.Number, SubjectCode: "x", ValidFrom: 1, ValidUntil: 2})
			raw, _ := base64.RawURLEncoding.DecodeString(payload)
			alt := bytes.Clone(raw)
			alt[len(alt)-70] ^= 0x04 // a validity or revision byte, before the signature
			for _, c2 := range []struct {
				code, problem string
			}{
				{publicURL + "/verify/" + forged, certificate.ProblemBadSignature},
				{base64.RawURLEncoding.EncodeToString(alt), certificate.ProblemBadSignature},
				{unknown, certificate.ProblemUnknownKey},
				{"https://evil.example/verify/abc", certificate.ProblemMalformed},
				{"", certificate.ProblemMalformed},
			} {
				r := verify(e.svc, c2.code)
				if r.Authentic || r.Problem != c2.problem || r.Current != nil || r.Message == "" {
					t.Errorf("%.40q: %+v", c2.code, r)
				}
			}
			_, err := e.svc.CheckName(forged, "李堃喆")
			wantField(t, err, "code")
		})

		t.Run("key rotation keeps old certificates verifiable", func(t *testing.T) {
			rotated := ring(t, "k2:"+seed(2)+",k1:pub:"+e.keys.PublicKeys().Keys[0].PublicKey)
			svc := e.service(rotated)
			if r := verify(svc, code); !r.Authentic || r.Status != certificate.VerifyValid {
				t.Fatalf("old code after rotation: %+v", r)
			}
			newCode, err := svc.Code(ctx, c.ID)
			mustOK(t, err)
			if r := verify(svc, newCode); !r.Authentic || r.Claims.KeyID != "k2" {
				t.Fatalf("new code: %+v", r)
			}
			// The old server (before the rotation) does not know k2.
			if r := verify(e.svc, newCode); r.Problem != certificate.ProblemUnknownKey {
				t.Fatalf("k2 on the old ring: %+v", r)
			}
			if ks := svc.PublicKeys(); len(ks.Keys) != 2 || ks.Keys[0].KeyID != "k2" || !ks.Keys[0].Active {
				t.Fatalf("published %+v", ks)
			}
		})

		t.Run("the old QR shows CHANGED after a change", func(t *testing.T) {
			req, err := e.svc.RequestChange(ctx, c.ID, certificate.ChangeInput{RegionCode: "440100", Employer: "广州建设有限公司",
				AttachmentIDs: []int{e.upload(li).ID}})
			mustOK(t, err)
			_, err = e.svc.Review(e.as(e.siteU), req.ID, true, "")
			mustOK(t, err)
			r := verify(e.svc, code)
			if !r.Authentic || r.Status != certificate.VerifyChanged || r.Current.Employer != "广州建设有限公司" || r.Current.Revision != 2 {
				t.Fatalf("%+v", r)
			}
			fresh, _ := e.svc.Code(ctx, c.ID)
			if r := verify(e.svc, fresh); r.Status != certificate.VerifyValid {
				t.Fatalf("fresh code: %s", r.Status)
			}
			code = fresh
		})

		t.Run("RENEWED, then EXPIRED", func(t *testing.T) {
			e.clock.Set(time.Date(2028, 12, 1, 0, 0, 0, 0, cst))
			req, err := e.svc.RequestRenewal(ctx, c.ID)
			mustOK(t, err)
			_, err = e.svc.Review(e.as(e.siteU), req.ID, true, "")
			mustOK(t, err)
			if r := verify(e.svc, code); r.Status != certificate.VerifyRenewed || !strings.Contains(r.Message, "2032-02-29") {
				t.Fatalf("%s %s", r.Status, r.Message)
			}
			e.clock.Set(time.Date(2032, 3, 1, 0, 0, 0, 0, cst))
			if r := verify(e.svc, code); r.Status != certificate.VerifyExpired {
				t.Fatalf("%s", r.Status)
			}
			e.clock.Set(t0)
		})

		t.Run("CANCELLED", func(t *testing.T) {
			req, err := e.svc.RequestCancellation(ctx, c.ID, "自愿注销")
			mustOK(t, err)
			_, err = e.svc.Review(e.as(e.siteU), req.ID, true, "")
			mustOK(t, err)
			if r := verify(e.svc, code); !r.Authentic || r.Status != certificate.VerifyCancelled {
				t.Fatalf("%+v", r)
			}
		})

		t.Run("signed by our key but unknown here", func(t *testing.T) {
			ghost, _ := e.keys.Sign(sign.Claims{Number: "KW-C1-2026-777777", SubjectCode: "C1-JZ", ValidFrom: 1, ValidUntil: 2})
			if r := verify(e.svc, ghost); !r.Authentic || r.Status != certificate.VerifyNotFound {
				t.Fatalf("%+v", r)
			}
		})

		t.Run("rate-limited per address", func(t *testing.T) {
			var err error
			for i := 0; i <= certificate.VerifyPerIP && err == nil; i++ {
				_, err = e.svc.Verify(e.from("10.9.9.9"), code)
			}
			wantCode(t, err, apperr.TooManyRequests)
		})
	})
}
