package auth_test

import (
	"testing"

	"github.com/kaowu/kaowu/ent/organization"
	"github.com/kaowu/kaowu/ent/user"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/auth"
	"github.com/kaowu/kaowu/internal/testenv"
	"github.com/kaowu/kaowu/internal/viewer"
)

func TestCreateStaff(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url, auth.Config{})
		e.staff(user.RoleADMIN, "admin", nil)
		adminCtx := e.viewerCtx(e.login("admin").Token)
		site := e.org(organization.KindEXAM_SITE, "南山考点")
		trainer := e.org(organization.KindTRAINING_ORG, "安培培训中心")
		dept := e.org(organization.KindDEPARTMENT, "安全监管处")
		company := e.org(organization.KindCOMPANY, "某公司")
		missing := company.ID + 1000

		ok := []struct {
			role user.Role
			org  *int
		}{
			{user.RoleEXAM_SITE, &site.ID},
			{user.RoleTRAINING_ORG, &trainer.ID},
			{user.RoleREVIEWER, &dept.ID},
			{user.RolePROCTOR, &site.ID},
			{user.RolePROCTOR, nil},
			{user.RoleADMIN, nil},
		}
		for i, tc := range ok {
			t.Run("create "+string(tc.role), func(t *testing.T) {
				login := "Staff" + string(rune('a'+i)) + "01"
				u, err := e.svc.CreateStaff(adminCtx, auth.StaffInput{
					Role: tc.role, Login: login, Name: "工作人员", Phone: nextPhone(), OrganizationID: tc.org, Password: goodPassword,
				})
				mustOK(t, err)
				if u.Role != tc.role || u.Login != "staff"+string(rune('a'+i))+"01" {
					t.Fatalf("role %s login %s", u.Role, u.Login)
				}
				v, err := e.svc.Authenticate(e.ctx, e.login(login).Token)
				mustOK(t, err)
				want := 0
				if tc.org != nil {
					want = *tc.org
				}
				if v.Role != viewer.Role(tc.role) || v.OrgID != want {
					t.Fatalf("viewer %+v", v)
				}
			})
		}

		bad := []struct {
			name  string
			in    auth.StaffInput
			code  apperr.Code
			field string
		}{
			{"site with training org", auth.StaffInput{Role: user.RoleEXAM_SITE, OrganizationID: &trainer.ID}, apperr.BadInput, "organizationID"},
			{"site without org", auth.StaffInput{Role: user.RoleEXAM_SITE}, apperr.BadInput, "organizationID"},
			{"trainer without org", auth.StaffInput{Role: user.RoleTRAINING_ORG}, apperr.BadInput, "organizationID"},
			{"reviewer with site", auth.StaffInput{Role: user.RoleREVIEWER, OrganizationID: &site.ID}, apperr.BadInput, "organizationID"},
			{"reviewer without org", auth.StaffInput{Role: user.RoleREVIEWER}, apperr.BadInput, "organizationID"},
			{"proctor with department", auth.StaffInput{Role: user.RolePROCTOR, OrganizationID: &dept.ID}, apperr.BadInput, "organizationID"},
			{"site with company", auth.StaffInput{Role: user.RoleEXAM_SITE, OrganizationID: &company.ID}, apperr.BadInput, "organizationID"},
			{"missing org", auth.StaffInput{Role: user.RoleEXAM_SITE, OrganizationID: &missing}, apperr.BadInput, "organizationID"},
			{"admin with org", auth.StaffInput{Role: user.RoleADMIN, OrganizationID: &dept.ID}, apperr.BadInput, "organizationID"},
			{"candidate", auth.StaffInput{Role: user.RoleCANDIDATE}, apperr.BadInput, "role"},
			{"company", auth.StaffInput{Role: user.RoleCOMPANY, OrganizationID: &company.ID}, apperr.BadInput, "role"},
			{"bad login", auth.StaffInput{Role: user.RoleADMIN, Login: "9admin"}, apperr.BadInput, "login"},
			{"weak password", auth.StaffInput{Role: user.RoleADMIN, Password: "password123"}, apperr.BadInput, "password"},
			{"bad phone", auth.StaffInput{Role: user.RoleADMIN, Phone: "110"}, apperr.BadInput, "phone"},
			{"duplicate login", auth.StaffInput{Role: user.RoleADMIN, Login: "ADMIN"}, apperr.Conflict, "login"},
		}
		for _, tc := range bad {
			t.Run(tc.name, func(t *testing.T) {
				in := tc.in
				if in.Login == "" {
					in.Login = "newstaff"
				}
				if in.Name == "" {
					in.Name = "工作人员"
				}
				if in.Password == "" {
					in.Password = goodPassword
				}
				before := e.userCount()
				_, err := e.svc.CreateStaff(adminCtx, in)
				wantField(t, err, tc.code, tc.field)
				if e.userCount() != before {
					t.Fatal("a refused staff account was written")
				}
			})
		}

		t.Run("only admins", func(t *testing.T) {
			in := auth.StaffInput{Role: user.RoleEXAM_SITE, Login: "intruder", Name: "x", OrganizationID: &site.ID, Password: goodPassword}
			before := e.userCount()
			for _, role := range []user.Role{user.RoleREVIEWER, user.RoleEXAM_SITE, user.RoleCANDIDATE, user.RoleCOMPANY} {
				u := e.staff(role, "as"+string(role[:3])+"x", nil)
				before++
				ctx := viewer.NewContext(e.ctx, &viewer.Viewer{UserID: u.ID, Role: viewer.Role(role)})
				_, err := e.svc.CreateStaff(ctx, in)
				wantCode(t, err, apperr.Forbidden)
			}
			_, err := e.svc.CreateStaff(e.ctx, in)
			wantCode(t, err, apperr.Unauthenticated)
			if e.userCount() != before {
				t.Fatal("refused staff account written")
			}
		})
	})
}
