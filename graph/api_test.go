package graph_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/kaowu/kaowu/ent/announcement"
	"github.com/kaowu/kaowu/ent/auditlog"
	"github.com/kaowu/kaowu/ent/user"
	"github.com/kaowu/kaowu/graph"
	"github.com/kaowu/kaowu/graph/graphtest"
	"github.com/kaowu/kaowu/internal/demo"
	"github.com/kaowu/kaowu/internal/idcard"
	"github.com/kaowu/kaowu/internal/testenv"
	"github.com/kaowu/kaowu/internal/viewer"
)

var sys = viewer.SystemContext(context.Background())

func TestMain(m *testing.M) {
	// Subscriptions recheck their session often in tests (a minute in production).
	graph.SessionCheckEvery = 50 * time.Millisecond
	os.Exit(m.Run())
}

func TestAPI(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := graphtest.New(t, url)
		e.Seed()
		t.Run("bad input is refused with a code and writes nothing", func(t *testing.T) { badInput(t, e) })
		t.Run("sessions end on the next request", func(t *testing.T) { sessions(t, e) })
		t.Run("a failed mutation rolls back and publishes nothing", func(t *testing.T) { rollback(t, e) })
		t.Run("login protections", func(t *testing.T) { loginProtections(t, e) })
		t.Run("list queries do not grow with rows", func(t *testing.T) { noNPlusOne(t, e) })
		t.Run("subscriptions", func(t *testing.T) { subscriptions(t, e) })
	})
}

func badInput(t *testing.T, e *graphtest.Env) {
	before := e.App.Client.User.Query().CountX(sys)
	cases := []struct {
		name, doc, code, field string
	}{
		{"bad check digit", `mutation{registerPerson(input:{idNumber:"110105194912310021",name:"李四",phone:"13912345678",password:"Good#Pass2026"}){id}}`, "BAD_USER_INPUT", "idNumber"},
		{"short id", `mutation{registerPerson(input:{idNumber:"11010519491231",name:"李四",phone:"13912345678",password:"Good#Pass2026"}){id}}`, "BAD_USER_INPUT", "idNumber"},
		{"bad birth date", `mutation{registerPerson(input:{idNumber:"110105194902300010",name:"李四",phone:"13912345678",password:"Good#Pass2026"}){id}}`, "BAD_USER_INPUT", "idNumber"},
		{"weak password", `mutation{registerPerson(input:{idNumber:"11010519491231002X",name:"李四",phone:"13912345678",password:"password123"}){id}}`, "BAD_USER_INPUT", "password"},
		{"digits-only password", `mutation{registerPerson(input:{idNumber:"11010519491231002X",name:"李四",phone:"13912345678",password:"1234567890"}){id}}`, "BAD_USER_INPUT", "password"},
		{"bad phone", `mutation{registerPerson(input:{idNumber:"11010519491231002X",name:"李四",phone:"1234",password:"Good#Pass2026"}){id}}`, "BAD_USER_INPUT", "phone"},
		{"duplicate person", fmt.Sprintf(`mutation{registerPerson(input:{idNumber:%q,name:"李四",phone:"13912345678",password:"Good#Pass2026"}){id}}`, demo.CandidateID), "CONFLICT", "idNumber"},
		{"duplicate company", `mutation{registerCompany(input:{login:"newco1",password:"Good#Pass2026",companyName:"深圳市安建工程有限公司",contact:"王五",phone:"13912345678"}){id}}`, "CONFLICT", "companyName"},
		{"bad company login", `mutation{registerCompany(input:{login:"1x",password:"Good#Pass2026",companyName:"新公司",contact:"王五",phone:"13912345678"}){id}}`, "BAD_USER_INPUT", "login"},
		{"malformed id", `mutation{reviewCompany(id:"abc",approve:true){id}}`, "BAD_USER_INPUT", ""},
		{"wrong enum", `mutation{registerPerson(input:{idType:DRIVER_LICENSE,idNumber:"x",name:"x",phone:"x",password:"x"}){id}}`, "GRAPHQL_VALIDATION_FAILED", ""},
	}
	for _, c := range cases {
		r := e.Do("", c.doc, nil)
		if r.Code() != c.code {
			t.Errorf("%s: code %q, want %q (%+v)", c.name, r.Code(), c.code, r.Errors)
			continue
		}
		if c.field != "" && r.Errors[0].Extensions["field"] != c.field {
			t.Errorf("%s: field %v, want %s", c.name, r.Errors[0].Extensions["field"], c.field)
		}
		if r.Errors[0].Message == "" || strings.Contains(r.Errors[0].Message, "ent:") || strings.Contains(r.Errors[0].Message, "sql") {
			t.Errorf("%s: message not for people: %q", c.name, r.Errors[0].Message)
		}
	}
	if after := e.App.Client.User.Query().CountX(sys); after != before {
		t.Errorf("users: %d before, %d after failed registrations", before, after)
	}
	// Staff input validated too: capacity must be positive (ent validator + CHECK).
	admin := e.DemoLogin("ADMIN")
	site := e.Do(admin, `{organizations(where:{kind:EXAM_SITE},first:1){edges{node{id}}}}`, nil)
	var s struct {
		Organizations struct {
			Edges []struct{ Node struct{ ID string } }
		}
	}
	site.Decode(t, &s)
	r := e.Do(admin, `mutation($s:ID!){createRoom(input:{siteID:$s,name:"零座考场",capacity:0}){id}}`, map[string]any{"s": s.Organizations.Edges[0].Node.ID})
	if r.Code() != "BAD_USER_INPUT" {
		t.Errorf("capacity 0: %+v", r.Errors)
	}
}

func sessions(t *testing.T, e *graphtest.Env) {
	tok := e.DemoLogin("CANDIDATE")
	other := e.DemoLogin("CANDIDATE")
	var me struct{ Me struct{ Name string } }
	e.Do(tok, `{me{name}}`, nil).Decode(t, &me)
	if me.Me.Name == "" {
		t.Fatal("me: empty")
	}
	// Ending the other session from this one: the other fails on its next request.
	var list struct {
		MySessions []struct {
			ID      string
			Current bool
		}
	}
	e.Do(tok, `{mySessions{id current}}`, nil).Decode(t, &list)
	if len(list.MySessions) < 2 {
		t.Fatalf("sessions: %+v", list)
	}
	for _, s := range list.MySessions {
		if !s.Current {
			e.Do(tok, `mutation($id:ID!){endSession(id:$id)}`, map[string]any{"id": s.ID}).Decode(t, &struct{}{})
		}
	}
	if r := e.Do(other, `{me{name}}`, nil); r.Status != http.StatusUnauthorized || r.Code() != "UNAUTHENTICATED" {
		t.Errorf("ended session still works: %d %+v", r.Status, r.Errors)
	}
	// A websocket opened with the session: its running subscription ends and
	// new operations are refused once the session is logged out.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, err := graphtest.DialWS(ctx, e.WSURL(), tok, "")
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	_ = ws.Subscribe("n", `subscription{notificationAdded{id}}`, nil)
	var me2 struct{ Me struct{ ID string } }
	e.Do(tok, `{me{id}}`, nil).Decode(t, &me2)
	e.WaitSubscribers("user:"+me2.Me.ID, 1)
	e.Do(tok, `mutation{logout}`, nil).Decode(t, &struct{}{})
	if r := e.Do(tok, `{me{name}}`, nil); r.Code() != "UNAUTHENTICATED" {
		t.Errorf("logged-out session still works: %+v", r.Errors)
	}
	if m, err := ws.Next(5 * time.Second); err != nil || m.Type != "complete" || m.ID != "n" {
		t.Errorf("subscription of a logged-out session: %v %+v", err, m)
	}
	_ = ws.Subscribe("m", `{me{name}}`, nil)
	if m, err := ws.Next(5 * time.Second); err != nil || m.ID != "m" || !strings.Contains(string(m.Payload), "UNAUTHENTICATED") {
		t.Errorf("new operation on a logged-out socket: %v %+v", err, m)
	}
	if r := e.Do("not-a-real-token", `{me{name}}`, nil); r.Code() != "UNAUTHENTICATED" {
		t.Errorf("bogus token: %+v", r.Errors)
	}
}

func rollback(t *testing.T, e *graphtest.Env) {
	admin := e.DemoLogin("ADMIN")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, err := graphtest.DialWS(ctx, e.WSURL(), "", "")
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if err := ws.Subscribe("1", `subscription{announcementPublished{title}}`, nil); err != nil {
		t.Fatal(err)
	}
	e.WaitSubscribers("announcements", 1)
	audits := e.App.Client.AuditLog.Query().Where(auditlog.EntityType("Announcement")).CountX(sys)
	// Two fields, one transaction: the second fails, so the first must vanish.
	r := e.Do(admin, `mutation{a:createAnnouncement(input:{title:"回滚公告",body:"不应出现"}){id} b:createAnnouncement(input:{title:"",body:"空标题"}){id}}`, nil)
	if r.Code() != "BAD_USER_INPUT" {
		t.Fatalf("want BAD_USER_INPUT, got %+v", r.Errors)
	}
	if n := e.App.Client.Announcement.Query().Where(announcement.Title("回滚公告")).CountX(sys); n != 0 {
		t.Errorf("rolled-back announcement persisted (%d)", n)
	}
	if n := e.App.Client.AuditLog.Query().Where(auditlog.EntityType("Announcement")).CountX(sys); n != audits {
		t.Errorf("audit rows of a rolled-back change: %d -> %d", audits, n)
	}
	// A committed one arrives, and it is the first message: nothing came before it.
	e.Do(admin, `mutation{createAnnouncement(input:{title:"正式公告",body:"内容"}){id}}`, nil).Decode(t, &struct{}{})
	m, err := ws.Next(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if m.Type != "next" || !strings.Contains(string(m.Payload), "正式公告") {
		t.Errorf("first event: %s %s", m.Type, m.Payload)
	}
}

func loginProtections(t *testing.T, e *graphtest.Env) {
	login := idcard.Generate("110105", time.Date(1980, 1, 2, 0, 0, 0, 0, time.UTC), 7)
	e.Do("", `mutation($id:String!){registerPerson(input:{idNumber:$id,name:"赵六",phone:"13912345670",password:"Good#Pass2026"}){id}}`, map[string]any{"id": login}).Decode(t, &struct{}{})
	bad := func(extra string) *graphtest.Result {
		return e.Do("", `mutation($l:String!){login(input:{login:$l,password:"wrong-password"`+extra+`}){token}}`, map[string]any{"l": login})
	}
	for i := 0; i < 3; i++ {
		if r := bad(""); r.Code() != "UNAUTHENTICATED" {
			t.Fatalf("failure %d: %+v", i+1, r.Errors)
		}
	}
	r := bad("")
	if r.Code() != "CAPTCHA_REQUIRED" || r.Errors[0].Extensions["captchaRequired"] != true {
		t.Fatalf("4th attempt without captcha: %+v", r.Errors)
	}
	var c struct {
		RequestCaptcha struct{ Key, Image string }
	}
	e.Do("", `mutation{requestCaptcha{key image expiresAt}}`, nil).Decode(t, &c)
	if !strings.HasPrefix(c.RequestCaptcha.Image, "data:image/png;base64,") {
		t.Errorf("captcha image: %.40s", c.RequestCaptcha.Image)
	}
	if r := bad(fmt.Sprintf(`,captchaKey:%q,captchaAnswer:"nope"`, c.RequestCaptcha.Key)); r.Code() != "CAPTCHA_REQUIRED" {
		t.Errorf("wrong captcha: %+v", r.Errors)
	}
	// Right captcha, right password: set a known answer (only its hash is stored).
	key := freshCaptcha(t, e, "12345")
	ok := e.Do("", `mutation($l:String!,$k:String!){login(input:{login:$l,password:"Good#Pass2026",captchaKey:$k,captchaAnswer:"12345"}){token}}`, map[string]any{"l": login, "k": key})
	var tok struct{ Login struct{ Token string } }
	ok.Decode(t, &tok)
	if tok.Login.Token == "" {
		t.Error("no token after captcha")
	}
	// Every request of this suite comes from 127.0.0.1: forget its failures so
	// later subtests do not need a captcha.
	e.App.DB.SQL.Exec("DELETE FROM login_throttles")
}

func freshCaptcha(t *testing.T, e *graphtest.Env, answer string) string {
	var c struct{ RequestCaptcha struct{ Key string } }
	e.Do("", `mutation{requestCaptcha{key}}`, nil).Decode(t, &c)
	key := c.RequestCaptcha.Key
	h := sha256.Sum256([]byte(key + "\x00" + answer))
	if _, err := e.App.DB.SQL.Exec(rebind(e, "UPDATE captchas SET answer_hash = ? WHERE key = ?"), hex.EncodeToString(h[:]), key); err != nil {
		t.Fatal(err)
	}
	return key
}

func rebind(e *graphtest.Env, q string) string {
	if e.App.DB.Dialect != "postgres" {
		return q
	}
	n := 0
	var sb strings.Builder
	for _, r := range q {
		if r == '?' {
			n++
			fmt.Fprintf(&sb, "$%d", n)
		} else {
			sb.WriteRune(r)
		}
	}
	return sb.String()
}

func noNPlusOne(t *testing.T, e *graphtest.Env) {
	admin := e.DemoLogin("ADMIN")
	q := `query($n:Int!){users(first:$n){edges{node{name organization{name}}}}}`
	count := func(n int) int64 {
		before := e.App.DB.Queries()
		var out struct {
			Users struct{ Edges []any }
		}
		e.Do(admin, q, map[string]any{"n": n}).Decode(t, &out)
		return e.App.DB.Queries() - before
	}
	count(1) // warm: the login session is then cached like any busy one
	small := count(2)
	orgID := *e.App.Client.User.Query().Where(user.Login("company")).OnlyX(sys).OrganizationID
	for i := 0; i < 30; i++ {
		e.App.Client.User.Create().SetRole(user.RoleCOMPANY).SetLogin(fmt.Sprintf("bulk%d", i)).SetName("员工").
			SetPasswordHash("x").SetOrganizationID(orgID).ExecX(sys)
	}
	large := count(40)
	if large != small {
		t.Errorf("statements for 2 users: %d, for 40 users: %d (N+1?)", small, large)
	}
}

func subscriptions(t *testing.T, e *graphtest.Env) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	// Refused: a bad token in the init payload, and a foreign origin.
	if _, err := graphtest.DialWS(ctx, e.WSURL(), "bogus-token", ""); err == nil {
		t.Error("websocket accepted a bogus token")
	}
	if _, err := graphtest.DialWS(ctx, e.WSURL(), "", "https://evil.example"); err == nil {
		t.Error("websocket accepted a foreign origin")
	}
	// The company hears of its approval on its own subscription.
	e.Do("", `mutation{registerCompany(input:{login:"subco",password:"Good#Pass2026",companyName:"订阅测试公司",contact:"钱七",phone:"13912345671"}){id}}`, nil).Decode(t, &struct{}{})
	tok := e.Login("subco", "Good#Pass2026")
	var out struct {
		Me struct{ Organization struct{ ID string } }
	}
	e.Do(tok, `{me{organization{id status}}}`, nil).Decode(t, &out)
	ws, err := graphtest.DialWS(ctx, e.WSURL(), tok, "")
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if err := ws.Subscribe("n", `subscription{notificationAdded{kind title}}`, nil); err != nil {
		t.Fatal(err)
	}
	var meID struct{ Me struct{ ID string } }
	e.Do(tok, `{me{id}}`, nil).Decode(t, &meID)
	e.WaitSubscribers("user:"+meID.Me.ID, 1)
	// Anonymous cannot subscribe to notifications.
	anonWS, err := graphtest.DialWS(ctx, e.WSURL(), "", "")
	if err != nil {
		t.Fatal(err)
	}
	defer anonWS.Close()
	_ = anonWS.Subscribe("x", `subscription{notificationAdded{kind}}`, nil)
	if m, err := anonWS.Next(5 * time.Second); err != nil || m.Type != "error" && !strings.Contains(string(m.Payload), "UNAUTHENTICATED") {
		t.Errorf("anonymous notification subscription: %v %+v", err, m)
	}
	reviewer := e.DemoLogin("REVIEWER")
	e.Do(reviewer, `mutation($id:ID!){reviewCompany(id:$id,approve:false,reason:"营业执照不清晰"){status}}`,
		map[string]any{"id": out.Me.Organization.ID}).Decode(t, &struct{}{})
	m, err := ws.Next(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if m.Type != "next" || !strings.Contains(string(m.Payload), "COMPANY_REVIEWED") {
		t.Errorf("notification: %s %s", m.Type, m.Payload)
	}
	if msg, ok := e.SMS.Last("13912345671"); !ok || !strings.Contains(msg.Text, "未通过") {
		t.Errorf("sms: %+v", msg)
	}
}

// TestReplicasShareSubscriptions: a subscriber on one server process hears of
// a change committed through another, through PostgreSQL LISTEN/NOTIFY.
func TestReplicasShareSubscriptions(t *testing.T) {
	dsn := testenv.Postgres(t)
	a := graphtest.New(t, dsn)
	a.Seed()
	b := graphtest.New(t, dsn)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	ws, err := graphtest.DialWS(ctx, a.WSURL(), "", "")
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if err := ws.Subscribe("1", `subscription{announcementPublished{title}}`, nil); err != nil {
		t.Fatal(err)
	}
	a.WaitSubscribers("announcements", 1)
	admin := b.DemoLogin("ADMIN")
	b.Do(admin, `mutation{createAnnouncement(input:{title:"跨副本公告",body:"内容"}){id}}`, nil).Decode(t, &struct{}{})
	m, err := ws.Next(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(m.Payload), "跨副本公告") {
		t.Errorf("got %s %s", m.Type, m.Payload)
	}
}

// TestHandlerLimits: persisted queries, depth and page limits, production mode.
func TestHandlerLimits(t *testing.T) {
	e := graphtest.New(t, t.TempDir()+"/kaowu.db")
	e.Seed()
	// Automatic persisted queries: hash first, then query+hash, then hash only.
	q := `{announcements(first:1){totalCount}}`
	h := sha256.Sum256([]byte(q))
	ext := map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hex.EncodeToString(h[:])}}
	if r := e.DoRaw("", map[string]any{"extensions": ext}, nil); r.Errors == nil || !strings.Contains(r.Errors[0].Message, "PersistedQueryNotFound") {
		t.Errorf("unknown hash: %+v", r)
	}
	e.DoRaw("", map[string]any{"query": q, "extensions": ext}, nil).Decode(t, &struct{}{})
	var cached struct{ Announcements struct{ TotalCount int } }
	deadline := time.Now().Add(2 * time.Second) // ristretto applies sets asynchronously
	for {
		r := e.DoRaw("", map[string]any{"extensions": ext}, nil)
		if len(r.Errors) == 0 {
			r.Decode(t, &cached)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("persisted query not served: %+v", r.Errors)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if cached.Announcements.TotalCount != 1 {
		t.Errorf("persisted query result: %+v", cached)
	}
	// Depth limit.
	deep := `{me{organization{members(first:1){edges{node{organization{members(first:1){edges{node{organization{members(first:1){edges{node{name}}}}}}}}}}}}}}`
	if r := e.Do("", deep, nil); r.Code() != "QUERY_TOO_DEEP" {
		t.Errorf("deep query: %+v", r.Errors)
	}
	// Identity mutations run their own transactions and stand alone.
	if r := e.Do("", `mutation{requestCaptcha{key} createAnnouncement(input:{title:"x",body:"y"}){id}}`, nil); r.Code() != "BAD_USER_INPUT" {
		t.Errorf("mixed self-transacting operation: %+v", r.Errors)
	}
	// Page size limit.
	if r := e.Do("", `{announcements(first:100000){totalCount}}`, nil); r.Code() != "BAD_USER_INPUT" {
		t.Errorf("huge page: %+v", r.Errors)
	}
	// Checked for the whole operation before it runs: literals, variables,
	// last as well as first, connections nested in fragments.
	for name, tc := range map[string]struct {
		q    string
		vars map[string]any
		ok   bool
	}{
		"1000 is allowed":              {`{announcements(first:1000){totalCount}}`, nil, true},
		"1001 is not":                  {`{announcements(first:1001){totalCount}}`, nil, false},
		"from a variable":              {`query($n:Int){announcements(first:$n){totalCount}}`, map[string]any{"n": 1001}, false},
		"an allowed variable":          {`query($n:Int){announcements(last:$n){totalCount}}`, map[string]any{"n": 10}, true},
		"negative last":                {`{announcements(last:-1){totalCount}}`, nil, false},
		"nested in a fragment":         {`{me{...F}} fragment F on User{organization{members(first:5000){totalCount}}}`, nil, false},
		"an unset variable is no page": {`query($n:Int){announcements(first:$n){totalCount}}`, nil, true},
	} {
		r := e.Do("", tc.q, tc.vars)
		switch {
		case tc.ok && len(r.Errors) > 0:
			t.Errorf("page size, %s: %+v", name, r.Errors)
		case !tc.ok && (r.Code() != "BAD_USER_INPUT" || !strings.Contains(r.Errors[0].Message, "必须在0到1000之间") || (len(r.Data) > 0 && string(r.Data) != "null")):
			t.Errorf("page size, %s: want BAD_USER_INPUT and no data, got %+v %s", name, r.Errors, r.Data)
		}
	}
	// GET works for queries.
	resp, err := http.Get(e.Server.URL + "/graphql?query=" + strings.ReplaceAll(`{serverTime}`, " ", ""))
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("GET: %v %v", err, resp)
	} else {
		resp.Body.Close()
	}
	// Introspection only outside production.
	if r := e.Do("", `{__schema{queryType{name}}}`, nil); len(r.Errors) > 0 {
		t.Errorf("introspection in development: %+v", r.Errors)
	}
	p := graphtest.New(t, t.TempDir()+"/kaowu.db", graphtest.Production)
	if r := p.Do("", `{__schema{queryType{name}}}`, nil); len(r.Errors) == 0 {
		t.Error("introspection enabled in production")
	}
	if resp, err := http.Get(p.Server.URL + "/playground"); err == nil {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(body), "GraphiQL") || strings.Contains(string(body), "playground") && resp.Header.Get("Content-Type") == "text/html" {
			t.Error("playground served in production")
		}
	}
}

// TestPostgresAndMinIO: the whole app on the production stack answers /readyz
// and serves a signed blob.
func TestPostgresAndMinIO(t *testing.T) {
	e := graphtest.New(t, testenv.Postgres(t), graphtest.WithMinIO(t))
	resp, err := http.Get(e.Server.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	var ready map[string]string
	_ = json.NewDecoder(resp.Body).Decode(&ready)
	resp.Body.Close()
	if resp.StatusCode != 200 || ready["database"] != "ok" || ready["blobs"] != "ok" {
		t.Fatalf("readyz: %d %v", resp.StatusCode, ready)
	}
	ctx := context.Background()
	if _, err := e.App.Store.Put(ctx, "test/hello.txt", strings.NewReader("你好"), -1, "text/plain; charset=utf-8"); err != nil {
		t.Fatal(err)
	}
	u := e.App.Signer.URL(e.Server.URL+"/blobs/", "test/hello.txt", time.Minute, time.Now())
	resp, err = http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "你好" {
		t.Errorf("signed blob: %d %q", resp.StatusCode, body)
	}
	if resp, _ := http.Get(strings.Replace(u, "sig=", "sig=x", 1)); resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("tampered signature accepted")
	}
}

// TestSubscriptionsLeakNothing: after clients go and the server stops, no
// goroutine of a subscription is left behind.
func TestSubscriptionsLeakNothing(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Run("run", func(t *testing.T) {
		e := graphtest.New(t, t.TempDir()+"/kaowu.db")
		e.Seed()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for i := 0; i < 5; i++ {
			ws, err := graphtest.DialWS(ctx, e.WSURL(), "", "")
			if err != nil {
				t.Fatal(err)
			}
			_ = ws.Subscribe("1", `subscription{announcementPublished{title}}`, nil)
			if i%2 == 0 {
				_ = ws.Complete("1")
			}
			ws.Close()
		}
	})
	goleak.VerifyNone(t, ignore,
		// database/sql and ristretto keep process-wide workers.
		goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener"),
		goleak.IgnoreAnyFunction("github.com/dgraph-io/ristretto/v2.(*defaultPolicy[...]).processItems"),
		goleak.IgnoreAnyFunction("github.com/dgraph-io/ristretto/v2.(*Cache[...]).processItems"),
	)
}
