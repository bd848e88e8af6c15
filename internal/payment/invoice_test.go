package payment_test

import (
	"strings"
	"testing"

	"github.com/kaowu/kaowu/ent/invoiceprofile"
	"github.com/kaowu/kaowu/internal/apperr"
	paysvc "github.com/kaowu/kaowu/internal/payment"
	"github.com/kaowu/kaowu/internal/testenv"
)

// Real unified social credit codes (public registrations).
const (
	usccHuawei  = "914403001922038216"
	usccTencent = "9144030071526726XG"
)

func TestInvoiceProfile(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, dbURL string) {
		f := newFx(t, dbURL)
		comp := f.user("COMPANY", f.company)
		good := paysvc.InvoiceInput{
			Title: " 深圳建设有限公司 ", TaxNumber: "9144 0300 7152 6726 xg", Address: "深圳市南山区", Phone: "0755-8601 3388",
			BankName: "招商银行深圳分行", BankAccount: "7559 1234 5678 901", Email: "finance@example.com",
		}

		t.Run("bad input is refused field by field and writes nothing", func(t *testing.T) {
			f := f.sub(t)
			cand, orphan := f.candidate(), f.user("COMPANY", nil)
			before := f.snap()
			cases := []struct {
				field string
				edit  func(*paysvc.InvoiceInput)
			}{
				{"title", func(in *paysvc.InvoiceInput) { in.Title = "  " }},
				{"title", func(in *paysvc.InvoiceInput) { in.Title = strings.Repeat("公", 129) }},
				{"taxNumber", func(in *paysvc.InvoiceInput) { in.TaxNumber = "" }},
				{"taxNumber", func(in *paysvc.InvoiceInput) { in.TaxNumber = "91440300715267" }},     // 14
				{"taxNumber", func(in *paysvc.InvoiceInput) { in.TaxNumber = "9144030071526726XH" }}, // wrong check code
				{"taxNumber", func(in *paysvc.InvoiceInput) { in.TaxNumber = "9144030071526726IG" }}, // I is not a USCC character
				{"taxNumber", func(in *paysvc.InvoiceInput) { in.TaxNumber = "44030071526-726" }},
				{"address", func(in *paysvc.InvoiceInput) { in.Address = strings.Repeat("路", 257) }},
				{"phone", func(in *paysvc.InvoiceInput) { in.Phone = "call me" }},
				{"phone", func(in *paysvc.InvoiceInput) { in.Phone = "12" }},
				{"bankName", func(in *paysvc.InvoiceInput) { in.BankName = strings.Repeat("行", 129) }},
				{"bankAccount", func(in *paysvc.InvoiceInput) { in.BankAccount = "6225-ABC" }},
				{"bankAccount", func(in *paysvc.InvoiceInput) { in.BankAccount = "1234567" }},
				{"email", func(in *paysvc.InvoiceInput) { in.Email = "not an address" }},
				{"email", func(in *paysvc.InvoiceInput) { in.Email = "财务 <finance@example.com>" }},
			}
			for _, tc := range cases {
				in := good
				tc.edit(&in)
				_, err := f.svc.SaveInvoiceProfile(f.as(comp), in)
				wantField(t, err, apperr.BadInput, tc.field)
			}
			_, err := f.svc.SaveInvoiceProfile(f.as(cand), good)
			wantCode(t, err, apperr.Forbidden)
			_, err = f.svc.SaveInvoiceProfile(f.as(f.reviewer), good)
			wantCode(t, err, apperr.Forbidden)
			_, err = f.svc.SaveInvoiceProfile(f.ctx, good)
			wantCode(t, err, apperr.Unauthenticated)
			_, err = f.svc.SaveInvoiceProfile(f.as(orphan), good)
			wantCode(t, err, apperr.Forbidden)
			f.unchanged(before)
		})

		t.Run("a company saves and replaces its own invoice details", func(t *testing.T) {
			f := f.sub(t)
			got, err := f.svc.InvoiceProfile(f.as(comp))
			if err != nil || got != nil {
				t.Fatalf("before saving: %v %v", got, err)
			}
			p, err := f.svc.SaveInvoiceProfile(f.as(comp), good)
			mustOK(t, err)
			if p.OrganizationID != f.company.ID || p.Title != "深圳建设有限公司" || p.TaxNumber != usccTencent ||
				p.BankAccount != "755912345678901" || p.Phone != "0755-8601 3388" {
				t.Fatalf("saved %+v", p)
			}
			// A colleague reads it; the second save replaces it, clearing what is left empty.
			colleague := f.user("COMPANY", f.company)
			got, err = f.svc.InvoiceProfile(f.as(colleague))
			if err != nil || got == nil || got.ID != p.ID {
				t.Fatalf("colleague reads %v %v", got, err)
			}
			p2, err := f.svc.SaveInvoiceProfile(f.as(colleague), paysvc.InvoiceInput{Title: "深圳建设集团", TaxNumber: usccHuawei})
			mustOK(t, err)
			if p2.ID != p.ID || p2.Title != "深圳建设集团" || p2.TaxNumber != usccHuawei || p2.Address != "" || p2.Email != "" {
				t.Fatalf("replaced %+v", p2)
			}
			if n := f.client.InvoiceProfile.Query().Where(invoiceprofile.OrganizationID(f.company.ID)).CountX(f.sys); n != 1 {
				t.Fatalf("%d profiles", n)
			}
			for _, tax := range []string{"440300192203821", "11010519850312001X01"} { // 15 and 20 characters
				_, err := f.svc.SaveInvoiceProfile(f.as(comp), paysvc.InvoiceInput{Title: "深圳建设集团", TaxNumber: tax})
				mustOK(t, err)
			}

			// Another company sees nothing of it; the department does.
			other := f.user("COMPANY", f.company2)
			got, err = f.svc.InvoiceProfile(f.as(other))
			if err != nil || got != nil {
				t.Fatalf("other company: %v %v", got, err)
			}
			if n := f.client.InvoiceProfile.Query().CountX(f.as(other)); n != 0 {
				t.Fatal("another company reads the profile")
			}
			got, err = f.svc.CompanyInvoiceProfile(f.as(f.reviewer), f.company.ID)
			if err != nil || got == nil || got.ID != p.ID {
				t.Fatalf("reviewer: %v %v", got, err)
			}
			_, err = f.svc.CompanyInvoiceProfile(f.as(other), f.company.ID)
			wantCode(t, err, apperr.Forbidden)
			_, err = f.svc.InvoiceProfile(f.as(f.candidate()))
			wantCode(t, err, apperr.Forbidden)
		})
	})
}
