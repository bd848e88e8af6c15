package auth_test

import (
	"context"
	"strings"
	"testing"

	"github.com/kaowu/kaowu/ent/organization"
	"github.com/kaowu/kaowu/ent/user"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/auth"
	"github.com/kaowu/kaowu/internal/idcard"
	"github.com/kaowu/kaowu/internal/testenv"
	"github.com/kaowu/kaowu/internal/txn"
)

func TestRegisterPerson(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url, auth.Config{})

		t.Run("valid resident ID", func(t *testing.T) {
			id := residentID(1)
			u, err := e.svc.RegisterPerson(e.ctx, auth.PersonInput{
				IDNumber: " " + id + " ", Name: " 李四 ", Phone: "139-0000-1111", Email: "li@example.com", Password: goodPassword,
			})
			mustOK(t, err)
			if u.Role != user.RoleCANDIDATE || u.Login != id || u.IDNumber == nil || *u.IDNumber != id {
				t.Fatalf("unexpected user: role=%s login=%s", u.Role, u.Login)
			}
			if u.IDType == nil || *u.IDType != user.IDTypeRESIDENT_ID {
				t.Fatalf("id type = %v", u.IDType)
			}
			if u.Name != "李四" || u.Phone != "13900001111" || u.Status != user.StatusACTIVE {
				t.Fatalf("name=%q phone=%q status=%s", u.Name, u.Phone, u.Status)
			}
			if strings.Contains(u.PasswordHash, goodPassword) || !strings.HasPrefix(u.PasswordHash, "$argon2id$") {
				t.Fatalf("password not hashed: %q", u.PasswordHash)
			}
			// The new account logs in with its ID number.
			e.login(id)
		})

		t.Run("lowercase x normalised", func(t *testing.T) {
			id := residentIDWithX()
			u, err := e.svc.RegisterPerson(e.ctx, auth.PersonInput{
				IDNumber: strings.ToLower(id), Name: "王五", Phone: nextPhone(), Password: goodPassword,
			})
			mustOK(t, err)
			if u.Login != id || *u.IDNumber != id {
				t.Fatalf("login %q, want %q", u.Login, id)
			}
			// Login typed with a lowercase x finds the account.
			e.login(strings.ToLower(id))
			// The same number again, upper or lower case, is a duplicate.
			_, err = e.svc.RegisterPerson(e.ctx, auth.PersonInput{IDNumber: id, Name: "王五", Phone: nextPhone(), Password: goodPassword})
			wantField(t, err, apperr.Conflict, "idNumber")
		})

		t.Run("other document types", func(t *testing.T) {
			u, err := e.svc.RegisterPerson(e.ctx, auth.PersonInput{
				IDType: user.IDTypePASSPORT, IDNumber: "e12345678", Name: "John Smith", Phone: nextPhone(), Password: goodPassword,
			})
			mustOK(t, err)
			if u.Login != "E12345678" || *u.IDType != user.IDTypePASSPORT {
				t.Fatalf("login %q type %v", u.Login, *u.IDType)
			}
			_, err = e.svc.RegisterPerson(e.ctx, auth.PersonInput{
				IDType: user.IDTypeHK_MACAO_PERMIT, IDNumber: "H1234567", Name: "陈大文", Phone: nextPhone(), Password: goodPassword,
			})
			wantField(t, err, apperr.BadInput, "idNumber")
			u, err = e.svc.RegisterPerson(e.ctx, auth.PersonInput{
				IDType: user.IDTypeTAIWAN_PERMIT, IDNumber: "12345678", Name: "林小明", Phone: nextPhone(), Password: goodPassword,
			})
			mustOK(t, err)
			if u.Login != "12345678" {
				t.Fatalf("login %q", u.Login)
			}
			// A passport number that is taken is a conflict.
			_, err = e.svc.RegisterPerson(e.ctx, auth.PersonInput{
				IDType: user.IDTypePASSPORT, IDNumber: "E12345678", Name: "John Smith", Phone: nextPhone(), Password: goodPassword,
			})
			wantField(t, err, apperr.Conflict, "idNumber")
		})

		valid := residentID(7)
		first17 := valid[:17]
		badCheck := first17 + string("0123456789X"[(strings.IndexByte("0123456789X", valid[17])+1)%11])
		badDate17 := "11010519850230123" // 30 February
		c, _ := idcard.CheckDigit(badDate17)
		badDate := badDate17 + string(c)

		base := func() auth.PersonInput {
			return auth.PersonInput{IDNumber: residentID(100), Name: "赵六", Phone: nextPhone(), Email: "zhao@example.com", Password: goodPassword}
		}
		cases := []struct {
			name  string
			edit  func(*auth.PersonInput)
			code  apperr.Code
			field string
		}{
			{"bad check digit", func(in *auth.PersonInput) { in.IDNumber = badCheck }, apperr.BadInput, "idNumber"},
			{"bad date", func(in *auth.PersonInput) { in.IDNumber = badDate }, apperr.BadInput, "idNumber"},
			{"too short", func(in *auth.PersonInput) { in.IDNumber = first17 }, apperr.BadInput, "idNumber"},
			{"too long", func(in *auth.PersonInput) { in.IDNumber = valid + "1" }, apperr.BadInput, "idNumber"},
			{"empty id", func(in *auth.PersonInput) { in.IDNumber = "" }, apperr.BadInput, "idNumber"},
			{"bad passport", func(in *auth.PersonInput) { in.IDType = user.IDTypePASSPORT; in.IDNumber = "ABCDEFGH" }, apperr.BadInput, "idNumber"},
			{"duplicate", func(in *auth.PersonInput) { in.IDNumber = residentID(1) }, apperr.Conflict, "idNumber"},
			{"short password", func(in *auth.PersonInput) { in.Password = "Ab1!" }, apperr.BadInput, "password"},
			{"digits-only password", func(in *auth.PersonInput) { in.Password = "1234567890" }, apperr.BadInput, "password"},
			{"common password", func(in *auth.PersonInput) { in.Password = "password123" }, apperr.BadInput, "password"},
			{"password equals login", func(in *auth.PersonInput) {
				in.IDNumber = residentIDWithX()
				in.Password = strings.ToLower(in.IDNumber) // compared ignoring case
			}, apperr.BadInput, "password"},
			{"bad phone", func(in *auth.PersonInput) { in.Phone = "12345" }, apperr.BadInput, "phone"},
			{"empty phone", func(in *auth.PersonInput) { in.Phone = "" }, apperr.BadInput, "phone"},
			{"bad email", func(in *auth.PersonInput) { in.Email = "zhao@example" }, apperr.BadInput, "email"},
			{"email without user", func(in *auth.PersonInput) { in.Email = "@example.com" }, apperr.BadInput, "email"},
			{"empty name", func(in *auth.PersonInput) { in.Name = "  " }, apperr.BadInput, "name"},
			{"name too long", func(in *auth.PersonInput) { in.Name = strings.Repeat("名", 65) }, apperr.BadInput, "name"},
			{"name with markup", func(in *auth.PersonInput) { in.Name = "<b>x</b>" }, apperr.BadInput, "name"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				before := e.userCount()
				in := base()
				tc.edit(&in)
				_, err := e.svc.RegisterPerson(e.ctx, in)
				wantField(t, err, tc.code, tc.field)
				if after := e.userCount(); after != before {
					t.Fatalf("users %d -> %d after a failed registration", before, after)
				}
			})
		}

		t.Run("name of 64 characters is accepted", func(t *testing.T) {
			_, err := e.svc.RegisterPerson(e.ctx, auth.PersonInput{IDNumber: residentID(200), Name: strings.Repeat("名", 64), Phone: nextPhone(), Password: goodPassword})
			mustOK(t, err)
		})
	})
}

func TestRegisterCompany(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url, auth.Config{})
		in := auth.CompanyInput{
			Login: "AnJian01", Password: goodPassword, CompanyName: " 深圳市安建工程有限公司 ", Contact: "张经理",
			Phone: "13800138000", Email: "hr@anjian.cn", Address: "深圳市罗湖区", Region: "深圳市",
		}

		t.Run("ok", func(t *testing.T) {
			u, err := e.svc.RegisterCompany(e.ctx, in)
			mustOK(t, err)
			if u.Role != user.RoleCOMPANY || u.Login != "anjian01" || u.OrganizationID == nil {
				t.Fatalf("role=%s login=%s org=%v", u.Role, u.Login, u.OrganizationID)
			}
			org, err := e.client.Organization.Get(e.sys, *u.OrganizationID)
			mustOK(t, err)
			if org.Kind != organization.KindCOMPANY || org.Status != organization.StatusPENDING || org.Name != "深圳市安建工程有限公司" {
				t.Fatalf("org kind=%s status=%s name=%q", org.Kind, org.Status, org.Name)
			}
			if org.Contact != "张经理" || org.Phone != "13800138000" {
				t.Fatalf("org contact=%q phone=%q", org.Contact, org.Phone)
			}
			// Account names are case-insensitive at login.
			e.login("ANJIAN01")
		})

		cases := []struct {
			name  string
			edit  func(*auth.CompanyInput)
			code  apperr.Code
			field string
		}{
			{"duplicate company name", func(c *auth.CompanyInput) { c.Login = "other01" }, apperr.Conflict, "companyName"},
			{"duplicate login (case)", func(c *auth.CompanyInput) { c.CompanyName = "另一家公司"; c.Login = "ANJIAN01" }, apperr.Conflict, "login"},
			{"login starts with digit", func(c *auth.CompanyInput) { c.Login = "1abc" }, apperr.BadInput, "login"},
			{"login too short", func(c *auth.CompanyInput) { c.Login = "abc" }, apperr.BadInput, "login"},
			{"login with space", func(c *auth.CompanyInput) { c.Login = "ab cd" }, apperr.BadInput, "login"},
			{"login chinese", func(c *auth.CompanyInput) { c.Login = "公司账号" }, apperr.BadInput, "login"},
			{"login too long", func(c *auth.CompanyInput) { c.Login = "a" + strings.Repeat("b", 32) }, apperr.BadInput, "login"},
			{"empty company name", func(c *auth.CompanyInput) { c.Login = "newco1"; c.CompanyName = " " }, apperr.BadInput, "companyName"},
			{"empty contact", func(c *auth.CompanyInput) { c.Login = "newco1"; c.CompanyName = "新公司"; c.Contact = "" }, apperr.BadInput, "contact"},
			{"bad phone", func(c *auth.CompanyInput) { c.Login = "newco1"; c.CompanyName = "新公司"; c.Phone = "0755-1234" }, apperr.BadInput, "phone"},
			{"bad email", func(c *auth.CompanyInput) { c.Login = "newco1"; c.CompanyName = "新公司"; c.Email = "a b@c.d" }, apperr.BadInput, "email"},
			{"password equals login", func(c *auth.CompanyInput) { c.Login = "newco123"; c.CompanyName = "新公司"; c.Password = "NEWCO123" }, apperr.BadInput, "password"},
			{"weak password", func(c *auth.CompanyInput) { c.Login = "newco1"; c.CompanyName = "新公司"; c.Password = "12345678" }, apperr.BadInput, "password"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				users, orgs := e.userCount(), e.orgCount()
				c := in
				tc.edit(&c)
				_, err := e.svc.RegisterCompany(e.ctx, c)
				wantField(t, err, tc.code, tc.field)
				if e.userCount() != users || e.orgCount() != orgs {
					t.Fatal("a failed company registration wrote rows")
				}
			})
		}

		// validName and the company check count characters; a 30-character
		// company name (common for branch offices) must register.
		t.Run("long chinese company name", func(t *testing.T) {
			users, orgs := e.userCount(), e.orgCount()
			c := in
			c.Login, c.CompanyName = "branch01", strings.Repeat("建", 30)
			_, err := e.svc.RegisterCompany(e.ctx, c)
			if err != nil {
				if e.orgCount() != orgs || e.userCount() != users {
					t.Errorf("failed registration left rows behind: orgs %d -> %d, users %d -> %d", orgs, e.orgCount(), users, e.userCount())
				}
				t.Fatalf("30-character company name refused: %v", err)
			}
		})

		// RegisterCompany accepts up to 128 characters: they must save.
		t.Run("company name at the 128-character limit", func(t *testing.T) {
			c := in
			c.Login, c.CompanyName = "branch03", strings.Repeat("企", 128)
			err := txn.WithTx(e.ctx, e.client, func(ctx context.Context) error {
				_, err := e.svc.RegisterCompany(ctx, c)
				return err
			})
			mustOK(t, err)
		})

		// The address limit is 256 characters; 100 Chinese characters fit.
		t.Run("long chinese address", func(t *testing.T) {
			c := in
			c.Login, c.CompanyName, c.Address = "branch02", "地址很长的公司", strings.Repeat("路", 100)
			_, err := e.svc.RegisterCompany(e.ctx, c)
			mustOK(t, err)
		})

		t.Run("same name as a non-company organisation is fine", func(t *testing.T) {
			e.org(organization.KindEXAM_SITE, "南山考点")
			c := in
			c.Login, c.CompanyName = "nanshan", "南山考点"
			_, err := e.svc.RegisterCompany(e.ctx, c)
			mustOK(t, err)
		})
	})
}
