package graph_test

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kaowu/kaowu/ent/organization"
	"github.com/kaowu/kaowu/ent/room"
	"github.com/kaowu/kaowu/ent/user"
	"github.com/kaowu/kaowu/graph"
	"github.com/kaowu/kaowu/graph/graphtest"
	"github.com/kaowu/kaowu/internal/auth"
	"github.com/kaowu/kaowu/internal/demo"
	"github.com/kaowu/kaowu/internal/idcard"
	"github.com/kaowu/kaowu/internal/viewer"
)

// Roles of the matrix: anonymous plus every account role.
const anon = "ANONYMOUS"

var matrixRoles = append([]string{anon}, func() []string {
	var out []string
	for _, r := range viewer.AllRoles {
		out = append(out, string(r))
	}
	return out
}()...)

var (
	all      = matrixRoles
	loggedIn = matrixRoles[1:]
)

func only[R ~string](roles ...R) []string {
	var out []string
	for _, r := range roles {
		out = append(out, string(r))
	}
	return out
}

// op is one GraphQL operation of the matrix: the document, how to make its
// variables for a fresh run, and which roles may perform it.
type op struct {
	doc     string
	vars    func(t *testing.T, e *matrixEnv, role, token string) map[string]any
	after   func(t *testing.T, e *matrixEnv, role string) // undo what a run changed
	allowed []string
}

type matrixEnv struct {
	*graphtest.Env
	seq    atomic.Int64
	siteID int
	subjID int
	roomID int
	annID  int
}

func (m *matrixEnv) next() int64 { return m.seq.Add(1) }

// denied reports whether a result is an authorization refusal. NOT_FOUND
// counts: privacy filters hide rows the viewer may not touch.
func denied(r *graphtest.Result) bool {
	switch r.Code() {
	case "FORBIDDEN", "UNAUTHENTICATED", "NOT_FOUND":
		return true
	}
	return false
}

func fixed(v map[string]any) func(*testing.T, *matrixEnv, string, string) map[string]any {
	return func(*testing.T, *matrixEnv, string, string) map[string]any { return v }
}

// moreOps holds rows registered by other test files (one per stage).
var moreOps = map[string]op{}

func register(ops map[string]op) {
	for k, v := range ops {
		moreOps[k] = v
	}
}

func operations() map[string]op {
	ops := foundationOps()
	for k, v := range moreOps {
		ops[k] = v
	}
	return ops
}

func foundationOps() map[string]op {
	return map[string]op{
		// ---- queries
		"node":          {doc: `query($id:ID!){node(id:$id){id}}`, vars: func(_ *testing.T, m *matrixEnv, _, _ string) map[string]any { return map[string]any{"id": m.subjID} }, allowed: all},
		"nodes":         {doc: `query($id:ID!){nodes(ids:[$id]){id}}`, vars: func(_ *testing.T, m *matrixEnv, _, _ string) map[string]any { return map[string]any{"id": m.annID} }, allowed: all},
		"me":            {doc: `{me{id}}`, allowed: all},
		"serverTime":    {doc: `{serverTime}`, allowed: all},
		"mySessions":    {doc: `{mySessions{id current}}`, allowed: loggedIn},
		"announcements": {doc: `{announcements(first:5){totalCount}}`, allowed: all},
		"auditLogs":     {doc: `{auditLogs(first:5){totalCount}}`, allowed: only(viewer.Admin)},
		"notifications": {doc: `{notifications(first:5){totalCount}}`, allowed: loggedIn},
		"organizations": {doc: `{organizations(first:5){totalCount}}`, allowed: all},
		"rooms":         {doc: `{rooms(first:5){totalCount}}`, allowed: all},
		"subjects":      {doc: `{subjects(first:5){totalCount}}`, allowed: all},
		"users":         {doc: `{users(first:5){totalCount}}`, allowed: loggedIn},

		// ---- identity (public)
		"registerPerson": {doc: `mutation($id:String!){registerPerson(input:{idNumber:$id,name:"矩阵",phone:"13912340000",password:"Matrix#2026ok"}){id}}`,
			vars: func(_ *testing.T, m *matrixEnv, _, _ string) map[string]any {
				return map[string]any{"id": idcard.Generate("110105", bday, int(m.next()))}
			}, allowed: all},
		"registerCompany": {doc: `mutation($l:String!,$n:String!){registerCompany(input:{login:$l,password:"Matrix#2026ok",companyName:$n,contact:"联系人",phone:"13912340000"}){id}}`,
			vars: func(_ *testing.T, m *matrixEnv, _, _ string) map[string]any {
				n := m.next()
				return map[string]any{"l": fmt.Sprintf("co%d", n), "n": fmt.Sprintf("矩阵公司%d", n)}
			}, allowed: all},
		"requestCaptcha": {doc: `mutation{requestCaptcha{key image}}`, allowed: all},
		"login": {doc: `mutation($l:String!){login(input:{login:$l,password:"Matrix#2026ok"}){token}}`,
			vars: func(t *testing.T, m *matrixEnv, _, _ string) map[string]any {
				return map[string]any{"l": m.person(t)}
			}, allowed: all},
		"verifyLoginCode": {doc: `mutation($c:String!,$k:String!){verifyLoginCode(challenge:$c,code:$k){token}}`,
			vars: func(t *testing.T, m *matrixEnv, _, _ string) map[string]any {
				c, k := m.smsChallenge(t)
				return map[string]any{"c": c, "k": k}
			}, allowed: all},
		"requestPasswordReset": {doc: `mutation($l:String!){requestPasswordReset(login:$l,phone:"13912340000")}`,
			vars: func(_ *testing.T, m *matrixEnv, _, _ string) map[string]any {
				return map[string]any{"l": fmt.Sprintf("nobody%d", m.next())}
			}, allowed: all},
		"resetPassword": {doc: `mutation($l:String!,$c:String!){resetPassword(login:$l,code:$c,newPassword:"Matrix#2026new")}`,
			vars: func(t *testing.T, m *matrixEnv, _, _ string) map[string]any {
				l := m.person(t)
				if err := m.App.Auth.RequestPasswordReset(context.Background(), l, "13912340001"); err != nil {
					t.Fatal(err)
				}
				msg, _ := m.SMS.Last("13912340001")
				return map[string]any{"l": l, "c": msg.Code}
			}, allowed: all},

		// ---- identity (own account)
		"logout": {doc: `mutation{logout}`, allowed: loggedIn},
		"endSession": {doc: `mutation($id:ID!){endSession(id:$id)}`,
			vars: func(t *testing.T, m *matrixEnv, _, tok string) map[string]any {
				return map[string]any{"id": m.currentSession(t, tok)}
			}, allowed: loggedIn},
		"changePassword": {doc: `mutation($o:String!){changePassword(oldPassword:$o,newPassword:"Matrix#2026new")}`,
			vars: func(_ *testing.T, _ *matrixEnv, role, _ string) map[string]any {
				return map[string]any{"o": demoPassword(role)}
			}, after: restoreDemoPassword, allowed: loggedIn},
		"markNotificationsRead": {doc: `mutation{markNotificationsRead(ids:[])}`, allowed: loggedIn},

		// ---- administration
		"createStaffAccount": {doc: `mutation($l:String!){createStaffAccount(input:{role:ADMIN,login:$l,name:"新管理员",password:"Matrix#2026ok"}){id}}`,
			vars: func(_ *testing.T, m *matrixEnv, _, _ string) map[string]any {
				return map[string]any{"l": fmt.Sprintf("staff%d", m.next())}
			}, allowed: only(viewer.Admin)},
		"setAccountDisabled": {doc: `mutation($id:ID!){setAccountDisabled(id:$id,disabled:true){id}}`,
			vars: func(t *testing.T, m *matrixEnv, _, _ string) map[string]any {
				return map[string]any{"id": m.personID(t)}
			}, allowed: only(viewer.Admin)},
		"reviewCompany": {doc: `mutation($id:ID!){reviewCompany(id:$id,approve:true){id status}}`,
			vars: func(t *testing.T, m *matrixEnv, _, _ string) map[string]any {
				return map[string]any{"id": m.pendingCompany(t)}
			}, allowed: only(viewer.Reviewer, viewer.Admin)},
		"createOrganization": {doc: `mutation($n:String!){createOrganization(input:{kind:EXAM_SITE,name:$n}){id}}`,
			vars: func(_ *testing.T, m *matrixEnv, _, _ string) map[string]any {
				return map[string]any{"n": fmt.Sprintf("考点%d", m.next())}
			}, allowed: only(viewer.Admin)},
		"updateOrganization": {doc: `mutation($id:ID!){updateOrganization(id:$id,input:{contact:"值班员"}){id}}`,
			vars: func(_ *testing.T, m *matrixEnv, _, _ string) map[string]any { return map[string]any{"id": m.siteID} },
			// the site's own operator keeps its contact details; admins anything
			allowed: only(viewer.Admin, viewer.ExamSite)},
		"createAnnouncement": {doc: `mutation{createAnnouncement(input:{title:"通知",body:"内容"}){id}}`, allowed: only(viewer.Admin)},
		"updateAnnouncement": {doc: `mutation($id:ID!){updateAnnouncement(id:$id,input:{body:"更新"}){id}}`,
			vars: func(_ *testing.T, m *matrixEnv, _, _ string) map[string]any { return map[string]any{"id": m.annID} }, allowed: only(viewer.Admin)},
		// Exam bank (issue #4 groundwork): questions never reach candidates.
		"attempts":       {doc: `{attempts(first:5){totalCount}}`, allowed: only(viewer.Admin, viewer.Reviewer, viewer.ExamSite, viewer.Proctor, viewer.Candidate)},
		"questions":      {doc: `{questions(first:5){totalCount}}`, allowed: only(viewer.Admin, viewer.Reviewer)},
		"paperTemplates": {doc: `{paperTemplates(first:5){totalCount}}`, allowed: only(viewer.Admin, viewer.Reviewer, viewer.Proctor, viewer.ExamSite, viewer.TrainingOrg)},
		"createRegion": {doc: `mutation($c:String!){createRegion(input:{code:$c,name:$c}){id}}`,
			vars: func(_ *testing.T, m *matrixEnv, _, _ string) map[string]any {
				return map[string]any{"c": fmt.Sprintf("R%d", m.next())}
			}, allowed: only(viewer.Admin)},
		"updateRegion": {doc: `mutation($id:ID!,$n:String!){updateRegion(id:$id,input:{name:$n}){id}}`,
			vars: func(_ *testing.T, m *matrixEnv, _, _ string) map[string]any {
				id := m.App.Client.Region.Query().FirstIDX(viewer.SystemContext(context.Background()))
				return map[string]any{"id": id, "n": fmt.Sprintf("地区%d", m.next())}
			}, allowed: only(viewer.Admin)},
		"createSubject": {doc: `mutation($c:String!){createSubject(input:{code:$c,name:"科目",feeCents:6000}){id}}`,
			vars: func(_ *testing.T, m *matrixEnv, _, _ string) map[string]any {
				return map[string]any{"c": fmt.Sprintf("S%d", m.next())}
			}, allowed: only(viewer.Admin)},
		"updateSubject": {doc: `mutation($id:ID!){updateSubject(id:$id,input:{feeCents:6500}){id}}`,
			vars: func(_ *testing.T, m *matrixEnv, _, _ string) map[string]any { return map[string]any{"id": m.subjID} }, allowed: only(viewer.Admin)},
		"createRoom": {doc: `mutation($s:ID!,$n:String!){createRoom(input:{siteID:$s,name:$n,capacity:30}){id}}`,
			vars: func(_ *testing.T, m *matrixEnv, _, _ string) map[string]any {
				return map[string]any{"s": m.siteID, "n": fmt.Sprintf("考场%d", m.next())}
			}, allowed: only(viewer.Admin, viewer.ExamSite)},
		"updateRoom": {doc: `mutation($id:ID!){updateRoom(id:$id,input:{capacity:41}){id}}`,
			vars:    func(_ *testing.T, m *matrixEnv, _, _ string) map[string]any { return map[string]any{"id": m.roomID} },
			allowed: only(viewer.Admin, viewer.ExamSite)},
	}
}

// TestRoleOperationMatrix runs every role against every query and mutation
// of the schema. A field missing from the table fails the test, so new
// operations cannot ship without an authorization decision.
func TestRoleOperationMatrix(t *testing.T) {
	e := graphtest.New(t, t.TempDir()+"/kaowu.db")
	e.Seed()
	m := &matrixEnv{Env: e}
	m.loadFixtures(t)
	ops := operations()

	schema := graph.Schema(e.App).Schema()
	var fields []string
	for _, def := range []string{"Query", "Mutation"} {
		for _, f := range schema.Types[def].Fields {
			if !strings.HasPrefix(f.Name, "__") {
				fields = append(fields, f.Name)
			}
		}
	}
	sort.Strings(fields)
	for _, f := range fields {
		if _, ok := ops[f]; !ok {
			t.Errorf("operation %q has no row in the authorization matrix", f)
		}
	}
	for name := range ops {
		if !slices.Contains(fields, name) {
			t.Errorf("matrix row %q is not an operation of the schema", name)
		}
	}

	for _, name := range fields {
		o, ok := ops[name]
		if !ok {
			continue
		}
		for _, role := range matrixRoles {
			t.Run(name+"/"+role, func(t *testing.T) {
				tok := ""
				if role != anon {
					tok = e.DemoLogin(role)
				}
				var vars map[string]any
				if o.vars != nil {
					vars = o.vars(t, m, role, tok)
				}
				res := pcDo(e, tok, o.doc, vars) // multipart when vars hold files
				if o.after != nil && role != anon {
					o.after(t, m, role)
				}
				want := slices.Contains(o.allowed, role)
				if got := !denied(res); got != want {
					t.Errorf("%s as %s: allowed=%v, want %v (errors: %+v)", name, role, got, want, res.Errors)
				}
				if want && len(res.Errors) > 0 {
					t.Errorf("%s as %s: allowed but failed: %+v", name, role, res.Errors)
				}
			})
		}
	}
}

var bday = mustDate("1985-03-09")

func (m *matrixEnv) loadFixtures(t *testing.T) {
	ctx := viewer.SystemContext(context.Background())
	c := m.App.Client
	site := c.Organization.Query().Where(organization.KindEQ(organization.KindEXAM_SITE)).Order(organization.ByID()).FirstX(ctx)
	m.siteID = site.ID
	m.subjID = c.Subject.Query().FirstIDX(ctx)
	m.annID = c.Announcement.Query().FirstIDX(ctx)
	m.roomID = c.Room.Query().Where(room.SiteID(site.ID)).FirstIDX(ctx)
}

func mustDate(s string) time.Time {
	d, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return d
}

// person registers a throwaway candidate and returns its login.
func (m *matrixEnv) person(t *testing.T) string {
	t.Helper()
	id := idcard.Generate("110105", bday, int(m.next()))
	_, err := m.App.Auth.RegisterPerson(context.Background(), auth.PersonInput{IDNumber: id, Name: "临时", Phone: "13912340001", Password: "Matrix#2026ok"})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (m *matrixEnv) personID(t *testing.T) int {
	ctx := viewer.SystemContext(context.Background())
	return m.App.Client.User.Query().Where(user.Login(m.person(t))).OnlyIDX(ctx)
}

func (m *matrixEnv) pendingCompany(t *testing.T) int {
	n := m.next()
	u, err := m.App.Auth.RegisterCompany(context.Background(), auth.CompanyInput{
		Login: fmt.Sprintf("pend%d", n), Password: "Matrix#2026ok", CompanyName: fmt.Sprintf("待审公司%d", n), Contact: "联系人", Phone: "13912340002",
	})
	if err != nil {
		t.Fatal(err)
	}
	return *u.OrganizationID
}

func (m *matrixEnv) currentSession(t *testing.T, tok string) any {
	if tok == "" {
		return 1
	}
	var out struct {
		MySessions []struct {
			ID      string
			Current bool
		}
	}
	m.Do(tok, `{mySessions{id current}}`, nil).Decode(t, &out)
	for _, s := range out.MySessions {
		if s.Current {
			return s.ID
		}
	}
	t.Fatal("no current session")
	return nil
}

// smsChallenge starts an SMS login through a service configured for it, and
// returns the challenge and the code the recorder saw.
func (m *matrixEnv) smsChallenge(t *testing.T) (string, string) {
	login := m.person(t)
	svc := auth.New(m.App.Client, m.App.Auth.Hasher(), m.SMS, auth.Config{LoginSMS: true, Secret: m.App.Cfg.Secret}, nil)
	res, err := svc.Login(context.Background(), auth.LoginInput{Login: login, Password: "Matrix#2026ok"})
	if err != nil || res.Challenge == "" {
		t.Fatalf("sms login: %v", err)
	}
	msg, ok := m.SMS.Last("13912340001")
	if !ok {
		t.Fatal("no code sent")
	}
	return res.Challenge, msg.Code
}

func demoPassword(role string) string {
	for _, l := range demo.Logins {
		if l.Role == role {
			return l.Password
		}
	}
	return ""
}

func restoreDemoPassword(t *testing.T, m *matrixEnv, role string) {
	ctx := viewer.SystemContext(context.Background())
	for _, l := range demo.Logins {
		if l.Role != role {
			continue
		}
		h, err := m.App.Auth.Hasher().Hash(ctx, l.Password)
		if err != nil {
			t.Fatal(err)
		}
		m.App.Client.User.Update().Where(user.Login(l.Login)).SetPasswordHash(h).ExecX(ctx)
	}
}
