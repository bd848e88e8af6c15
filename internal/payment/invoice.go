package payment

import (
	"context"
	"net/mail"
	"strings"
	"unicode/utf8"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/invoiceprofile"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/authz"
	"github.com/kaowu/kaowu/internal/txn"
	"github.com/kaowu/kaowu/internal/viewer"
)

// InvoiceInput is a company's invoice details (发票信息). Saving replaces
// them all: an empty optional field clears it.
type InvoiceInput struct {
	Title       string // 发票抬头, required
	TaxNumber   string // 纳税人识别号, required
	Address     string
	Phone       string
	BankName    string
	BankAccount string
	Email       string
}

// SaveInvoiceProfile creates or replaces the viewer's company's invoice details.
func (s *Service) SaveInvoiceProfile(ctx context.Context, in InvoiceInput) (*ent.InvoiceProfile, error) {
	v, err := authz.Require(ctx, "只有单位账号可以维护发票信息", viewer.Company)
	if err != nil {
		return nil, err
	}
	if v.OrgID == 0 {
		return nil, apperr.New(apperr.Forbidden, "您的账号未关联单位")
	}
	in, err = normalizeInvoice(in)
	if err != nil {
		return nil, err
	}
	var out *ent.InvoiceProfile
	err = txn.WithTx(ctx, s.Client, func(ctx context.Context) error {
		db := s.db(ctx)
		// The viewer's own context: privacy lets a company write only its own.
		cur, err := db.InvoiceProfile.Query().Where(invoiceprofile.OrganizationID(v.OrgID)).Only(ctx)
		switch {
		case ent.IsNotFound(err):
			out, err = db.InvoiceProfile.Create().SetOrganizationID(v.OrgID).SetTitle(in.Title).SetTaxNumber(in.TaxNumber).
				SetAddress(in.Address).SetPhone(in.Phone).SetBankName(in.BankName).SetBankAccount(in.BankAccount).SetEmail(in.Email).
				Save(ctx)
			if ent.IsConstraintError(err) {
				// Another save of the same company's first profile won the race.
				return apperr.New(apperr.Conflict, "发票信息正在被同时修改，请刷新后重试")
			}
			return err
		case err != nil:
			return err
		}
		out, err = db.InvoiceProfile.UpdateOne(cur).SetTitle(in.Title).SetTaxNumber(in.TaxNumber).
			SetAddress(in.Address).SetPhone(in.Phone).SetBankName(in.BankName).SetBankAccount(in.BankAccount).SetEmail(in.Email).
			Save(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// InvoiceProfile returns the viewer's company's invoice details, or nil when
// none are saved.
func (s *Service) InvoiceProfile(ctx context.Context) (*ent.InvoiceProfile, error) {
	v, err := authz.Require(ctx, "只有单位账号有发票信息", viewer.Company)
	if err != nil {
		return nil, err
	}
	if v.OrgID == 0 {
		return nil, apperr.New(apperr.Forbidden, "您的账号未关联单位")
	}
	return s.invoiceOf(ctx, v.OrgID)
}

// CompanyInvoiceProfile returns a company's invoice details for the
// department issuing invoices (REVIEWER, ADMIN), or nil when none are saved.
func (s *Service) CompanyInvoiceProfile(ctx context.Context, organizationID int) (*ent.InvoiceProfile, error) {
	if _, err := authz.Require(ctx, "只有管理部门可以查看单位的发票信息", viewer.Reviewer, viewer.Admin); err != nil {
		return nil, err
	}
	return s.invoiceOf(ctx, organizationID)
}

func (s *Service) invoiceOf(ctx context.Context, orgID int) (*ent.InvoiceProfile, error) {
	p, err := s.db(ctx).InvoiceProfile.Query().Where(invoiceprofile.OrganizationID(orgID)).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, nil
	}
	return p, err
}

func normalizeInvoice(in InvoiceInput) (InvoiceInput, error) {
	in.Title = strings.TrimSpace(in.Title)
	in.TaxNumber = strings.ToUpper(strings.Join(strings.Fields(in.TaxNumber), ""))
	in.Address = strings.TrimSpace(in.Address)
	in.Phone = strings.TrimSpace(in.Phone)
	in.BankName = strings.TrimSpace(in.BankName)
	in.BankAccount = strings.Join(strings.Fields(in.BankAccount), "")
	in.Email = strings.TrimSpace(in.Email)
	switch {
	case in.Title == "":
		return in, apperr.Input("title", "请填写发票抬头")
	case utf8.RuneCountInString(in.Title) > 128:
		return in, apperr.Input("title", "发票抬头不能超过128个字")
	case in.TaxNumber == "":
		return in, apperr.Input("taxNumber", "请填写纳税人识别号")
	}
	if msg := CheckTaxNumber(in.TaxNumber); msg != "" {
		return in, apperr.Input("taxNumber", msg)
	}
	if utf8.RuneCountInString(in.Address) > 256 {
		return in, apperr.Input("address", "地址不能超过256个字")
	}
	if in.Phone != "" && !validPhone(in.Phone) {
		return in, apperr.Input("phone", "电话号码格式不正确")
	}
	if utf8.RuneCountInString(in.BankName) > 128 {
		return in, apperr.Input("bankName", "开户行不能超过128个字")
	}
	if in.BankAccount != "" && !validBankAccount(in.BankAccount) {
		return in, apperr.Input("bankAccount", "银行账号应为8至32位数字")
	}
	if in.Email != "" {
		if a, err := mail.ParseAddress(in.Email); err != nil || a.Address != in.Email || utf8.RuneCountInString(in.Email) > 128 {
			return in, apperr.Input("email", "电子邮箱格式不正确")
		}
	}
	return in, nil
}

// validPhone accepts mobile and landline numbers: digits with -, spaces,
// parentheses, a leading + and an extension mark, 5 to 32 characters.
func validPhone(p string) bool {
	if len(p) < 5 || len(p) > 32 {
		return false
	}
	digits := 0
	for i, r := range p {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '-' || r == ' ' || r == '(' || r == ')' || r == '#':
		case r == '+' && i == 0:
		default:
			return false
		}
	}
	return digits >= 5
}

func validBankAccount(a string) bool {
	if len(a) < 8 || len(a) > 32 {
		return false
	}
	for _, r := range a {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// CheckTaxNumber checks a taxpayer identification number (纳税人识别号) and
// returns a message for the user, or "" when it is valid: 15 characters (old
// tax registration number), 20 (ID number based), or 18 — the unified social
// credit code (统一社会信用代码, GB 32100-2015), whose last character is a
// check code verified here. Letters must be upper case (normalise first).
func CheckTaxNumber(n string) string {
	switch len(n) {
	case 15, 20:
		for _, r := range n {
			if !(r >= '0' && r <= '9' || r >= 'A' && r <= 'Z') {
				return "纳税人识别号只能包含数字和大写字母"
			}
		}
		return ""
	case 18:
		return checkUSCC(n)
	}
	return "纳税人识别号应为15、18或20位（统一社会信用代码为18位）"
}

// usccChars are the 31 characters of a unified social credit code (no I, O, S, V, Z).
const usccChars = "0123456789ABCDEFGHJKLMNPQRTUWXY"

var usccWeights = [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}

func checkUSCC(n string) string {
	sum := 0
	for i := 0; i < 18; i++ {
		v := strings.IndexByte(usccChars, n[i])
		if v < 0 {
			return "统一社会信用代码含有无效字符"
		}
		if i < 17 {
			sum += v * usccWeights[i]
		} else if want := (31 - sum%31) % 31; v != want {
			return "统一社会信用代码校验位不正确，请核对"
		}
	}
	return ""
}
