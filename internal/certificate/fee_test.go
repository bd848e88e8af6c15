package certificate_test

import (
	"strings"
	"testing"
	"time"

	"github.com/kaowu/kaowu/ent"
	entcert "github.com/kaowu/kaowu/ent/certificate"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/certificate"
	"github.com/kaowu/kaowu/internal/testenv"
)

func TestFeeAndCollection(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		li := e.candidate("李堃喆")
		c := e.issued(li, e.c1)
		site := e.as(e.siteU)
		fee := certificate.FeeInput{AmountCents: 5000, Method: entcert.FeeMethodWECHAT, PaidAt: t0.Add(-time.Hour)}

		t.Run("bad input", func(t *testing.T) {
			for _, c2 := range []struct {
				in    certificate.FeeInput
				field string
			}{
				{certificate.FeeInput{AmountCents: -1, Method: entcert.FeeMethodCASH}, "amountCents"},
				{certificate.FeeInput{AmountCents: certificate.MaxFeeCents + 1, Method: entcert.FeeMethodCASH}, "amountCents"},
				{certificate.FeeInput{AmountCents: 100, Method: "BITCOIN"}, "method"},
				{certificate.FeeInput{AmountCents: 100, Method: entcert.FeeMethodCASH, PaidAt: t0.Add(time.Hour)}, "paidAt"},
			} {
				_, err := e.svc.RecordFee(site, c.ID, c2.in)
				wantField(t, err, c2.field)
			}
			_, err := e.svc.RecordCollection(site, c.ID, " ", time.Time{})
			wantField(t, err, "recipient")
			_, err = e.svc.RecordCollection(site, c.ID, "李堃喆", t0.Add(time.Hour))
			wantField(t, err, "collectedAt")
		})

		t.Run("only the issuing site", func(t *testing.T) {
			_, err := e.svc.RecordFee(e.as(e.site2U), c.ID, fee)
			wantCode(t, err, apperr.NotFound)
			for _, u := range []*ent.User{li, e.admin, e.reviewer} {
				_, err := e.svc.RecordFee(e.as(u), c.ID, fee)
				wantCode(t, err, apperr.Forbidden)
				_, err = e.svc.RecordCollection(e.as(u), c.ID, "李堃喆", time.Time{})
				wantCode(t, err, apperr.Forbidden)
			}
		})

		t.Run("collection needs the fee first", func(t *testing.T) {
			_, err := e.svc.RecordCollection(site, c.ID, "李堃喆", time.Time{})
			if ae := wantCode(t, err, apperr.Conflict); !strings.Contains(ae.Message, "缴费") {
				t.Fatalf("%q", ae.Message)
			}
		})

		got, err := e.svc.RecordFee(site, c.ID, fee)
		mustOK(t, err)
		if got.FeeCents == nil || *got.FeeCents != 5000 || *got.FeeMethod != entcert.FeeMethodWECHAT ||
			!got.FeePaidAt.Equal(fee.PaidAt) || *got.FeeRecordedByID != e.siteU.ID {
			t.Fatalf("fee %+v", got)
		}
		_, err = e.svc.RecordFee(site, c.ID, fee)
		if ae := wantCode(t, err, apperr.Conflict); !strings.Contains(ae.Message, "2026-03-01") {
			t.Fatalf("%q", ae.Message)
		}

		got, err = e.svc.RecordCollection(site, c.ID, " 李堃喆的同事张三 ", time.Time{})
		mustOK(t, err)
		if got.CollectedBy != "李堃喆的同事张三" || !got.CollectedAt.Equal(t0) || *got.CollectionRecordedByID != e.siteU.ID {
			t.Fatalf("collection %+v", got)
		}
		_, err = e.svc.RecordCollection(site, c.ID, "王五", time.Time{})
		if ae := wantCode(t, err, apperr.Conflict); !strings.Contains(ae.Message, "李堃喆的同事张三") {
			t.Fatalf("%q", ae.Message)
		}
	})
}
