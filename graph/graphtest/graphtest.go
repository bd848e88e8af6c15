// Package graphtest runs a real kaowu (app + GraphQL handler) behind an
// httptest server for API tests: real database, real event bus, real HTTP and
// websockets. Only the SMS sender is a recorder, so tests can read codes.
package graphtest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kaowu/kaowu/graph"
	"github.com/kaowu/kaowu/internal/app"
	"github.com/kaowu/kaowu/internal/config"
	"github.com/kaowu/kaowu/internal/demo"
	"github.com/kaowu/kaowu/internal/notify"
	"github.com/kaowu/kaowu/internal/testenv"
)

// Env is a running kaowu.
type Env struct {
	T      testing.TB
	App    *app.App
	Server *httptest.Server
	SMS    *notify.Recorder
}

// Option adjusts the configuration before start.
type Option func(*config.Config)

// Production runs in production mode (no introspection, no playground),
// with the certificate signing key production requires.
func Production(c *config.Config) {
	c.Env = "production"
	c.CertKeys = "test1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
}

// WithMinIO stores blobs in the test MinIO server.
func WithMinIO(t testing.TB) Option {
	s := testenv.MinIO(t)
	return func(c *config.Config) {
		c.S3 = config.S3{Endpoint: s.Endpoint, AccessKey: s.AccessKey, SecretKey: s.SecretKey, Bucket: s.Bucket}
	}
}

// New starts kaowu on dbURL (a SQLite path or a PostgreSQL DSN).
func New(t testing.TB, dbURL string, opts ...Option) *Env {
	t.Helper()
	// Bind first: the public URL (gateway callbacks, links) is this address.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{
		Env: "development", Addr: "127.0.0.1:0", DataDir: t.TempDir(), DatabaseURL: dbURL,
		Secret: []byte("test-secret-0123456789abcdef0123456789"), Argon2: "fast",
		SessionIdle: 30 * time.Minute, SessionMax: 12 * time.Hour, DBMaxConns: 10, PublicURL: "http://" + ln.Addr().String(),
		PaymentGateway: "sim", MaxUploadBytes: 20 << 20, MaxImageBytes: 1 << 20, MaxPDFBytes: 5 << 20,
	}
	for _, o := range opts {
		o(cfg)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("KAOWU_TEST_LOG") != "" {
		log = slog.Default()
	}
	rec := &notify.Recorder{}
	a, err := app.New(context.Background(), cfg, log, app.Options{SMS: rec, Schema: graph.Schema})
	if err != nil {
		t.Fatalf("start app: %v", err)
	}
	srv := httptest.NewUnstartedServer(a.Handler)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
		a.Close()
	})
	return &Env{T: t, App: a, Server: srv, SMS: rec}
}

// Seed loads the demo data set.
func (e *Env) Seed() {
	e.T.Helper()
	if err := demo.Seed(context.Background(), e.App.DemoDeps(), io.Discard); err != nil {
		e.T.Fatalf("seed: %v", err)
	}
}

// Error is one GraphQL error.
type Error struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

// Result is a GraphQL response.
type Result struct {
	Status int
	Data   json.RawMessage `json:"data"`
	Errors []Error         `json:"errors"`
}

// Code is the extensions.code of the first error, or "".
func (r *Result) Code() string {
	if len(r.Errors) == 0 {
		return ""
	}
	c, _ := r.Errors[0].Extensions["code"].(string)
	return c
}

// Decode unmarshals data into v, failing the test on errors.
func (r *Result) Decode(t testing.TB, v any) {
	t.Helper()
	if len(r.Errors) > 0 {
		t.Fatalf("unexpected errors: %+v", r.Errors)
	}
	if err := json.Unmarshal(r.Data, v); err != nil {
		t.Fatalf("decode %s: %v", r.Data, err)
	}
}

// Do posts a GraphQL operation with an optional bearer token.
func (e *Env) Do(token, query string, vars map[string]any) *Result {
	e.T.Helper()
	return e.DoRaw(token, map[string]any{"query": query, "variables": vars}, nil)
}

// DoRaw posts any body (e.g. persisted-query extensions) with extra headers.
func (e *Env) DoRaw(token string, body map[string]any, header http.Header) *Result {
	e.T.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, e.Server.URL+"/graphql", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := e.Server.Client().Do(req)
	if err != nil {
		e.T.Fatalf("post: %v", err)
	}
	defer resp.Body.Close()
	res := &Result{Status: resp.StatusCode}
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, res); err != nil {
		e.T.Fatalf("response %d not JSON: %s", resp.StatusCode, raw)
	}
	return res
}

// Login returns a session token, failing the test otherwise.
func (e *Env) Login(login, password string) string {
	e.T.Helper()
	r := e.Do("", `mutation($l:String!,$p:String!){login(input:{login:$l,password:$p}){token}}`, map[string]any{"l": login, "p": password})
	var out struct{ Login struct{ Token string } }
	r.Decode(e.T, &out)
	if out.Login.Token == "" {
		e.T.Fatalf("login %s: no token", login)
	}
	return out.Login.Token
}

// DemoLogin logs in the demo account of role.
func (e *Env) DemoLogin(role string) string {
	e.T.Helper()
	for _, l := range demo.Logins {
		if l.Role == role {
			return e.Login(l.Login, l.Password)
		}
	}
	e.T.Fatalf("no demo login for %s", role)
	return ""
}

// WSURL is the websocket endpoint.
func (e *Env) WSURL() string { return "ws" + strings.TrimPrefix(e.Server.URL, "http") + "/graphql" }

// WaitSubscribers waits until topic has n subscribers on this server: a
// graphql-transport-ws subscribe is not acknowledged, so tests wait for it
// to reach the bus before publishing.
func (e *Env) WaitSubscribers(topic string, n int) {
	e.T.Helper()
	b, ok := e.App.Bus.(interface{ Subscribers(string) int })
	if !ok {
		return
	}
	for deadline := time.Now().Add(5 * time.Second); b.Subscribers(topic) < n; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			e.T.Fatalf("topic %s: %d subscribers, want %d", topic, b.Subscribers(topic), n)
		}
	}
}
