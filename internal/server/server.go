// Package server is the HTTP face of kaowu: GraphQL over POST, GET, multipart
// and websockets, health probes, signed blob downloads and the web client.
package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"entgo.io/contrib/entgql"
	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/99designs/gqlgen/graphql/playground"
	"github.com/coder/websocket"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/kaowu/kaowu/internal/viewer"
)

// Authenticator resolves bearer tokens (internal/auth.Service).
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (*viewer.Viewer, error)
	// Revalidate reports whether the viewer's session is still live.
	Revalidate(ctx context.Context, v *viewer.Viewer) error
}

// Pinger reports whether a dependency answers.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Options configure the handler.
type Options struct {
	Schema         graphql.ExecutableSchema
	TxOpener       entgql.TxOpener
	Auth           Authenticator
	Production     bool
	AllowedOrigins []string // extra origins for websockets, e.g. "https://exam.example.cn"
	TrustProxy     bool     // take the client address from X-Forwarded-For
	MaxUploadBytes int64
	Ready          map[string]Pinger // checked by /readyz
	Blobs          http.Handler      // signed downloads, mounted at /blobs/
	Static         fs.FS             // the built web client (may be nil)
	Metrics        func(w *strings.Builder)
	Log            *slog.Logger
	// Mounts are further handlers (gateway callbacks, PDF downloads).
	Mounts []Mount
	// SelfTransacting names mutations that run their own short transactions
	// instead of one around the operation: they record failures (login
	// counters, used captchas, wrong codes) that must outlive the error they
	// answer with. They cannot share an operation with other mutations.
	SelfTransacting []string
}

// Mount is a handler mounted beside /graphql.
type Mount struct {
	Pattern string
	Handler http.Handler
	// Authenticated handlers see the viewer of the bearer token (refused
	// when the token is invalid; anonymous without one).
	Authenticated bool
}

// Limits on GraphQL operations.
const (
	MaxDepth      = 12
	MaxComplexity = 2000
)

// New returns the root handler.
func New(o Options) (http.Handler, error) {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.MaxUploadBytes <= 0 {
		o.MaxUploadBytes = 32 << 20
	}
	gql, err := newGraphQL(o)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/graphql", withViewer(o, gql))
	if !o.Production {
		mux.Handle("GET /playground", playground.Handler("kaowu GraphQL", "/graphql"))
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", readyz(o.Ready))
	if o.Metrics != nil {
		mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) {
			var sb strings.Builder
			o.Metrics(&sb)
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			_, _ = w.Write([]byte(sb.String()))
		})
	}
	if o.Blobs != nil {
		mux.Handle("/blobs/", o.Blobs)
	}
	for _, m := range o.Mounts {
		h := m.Handler
		if m.Authenticated {
			h = withViewer(o, h)
		}
		mux.Handle(m.Pattern, h)
	}
	mux.Handle("/", static(o.Static))
	return withRequest(o, mux), nil
}

func newGraphQL(o Options) (http.Handler, error) {
	srv := handler.New(o.Schema)
	origins := originPatterns(o.AllowedOrigins)
	srv.AddTransport(wsTransport{
		// Same-origin always; other origins only when configured.
		AcceptOptions: websocket.AcceptOptions{OriginPatterns: origins},
		PingInterval:  10 * time.Second,
		InitTimeout:   10 * time.Second,
		InitFunc: func(ctx context.Context, p map[string]any) (context.Context, error) {
			tok := bearer(initAuthorization(p))
			if tok == "" {
				return ctx, nil
			}
			v, err := o.Auth.Authenticate(ctx, tok)
			if err != nil {
				return ctx, err
			}
			return withSocket(viewer.NewContext(ctx, v)), nil
		},
	})
	srv.AddTransport(transport.Options{})
	srv.AddTransport(transport.GET{})
	srv.AddTransport(transport.POST{})
	srv.AddTransport(multipartForm{MaxUploadSize: o.MaxUploadBytes, MaxMemory: 4 << 20})

	qc, err := newRistrettoCache[*ast.QueryDocument](8<<20, func(d *ast.QueryDocument) int64 {
		return 1024 // parsed documents: roughly uniform, count them
	})
	if err != nil {
		return nil, err
	}
	srv.SetQueryCache(qc)
	apq, err := newRistrettoCache[string](16<<20, func(s string) int64 { return int64(len(s)) + 64 })
	if err != nil {
		return nil, err
	}
	srv.Use(extension.AutomaticPersistedQuery{Cache: apq})
	if !o.Production {
		srv.Use(extension.Introspection{})
	}
	srv.Use(operationLimits{MaxDepth: MaxDepth})
	srv.Use(extension.FixedComplexityLimit(MaxComplexity))
	if o.TxOpener != nil {
		srv.Use(selfTransacting(o.SelfTransacting))
		srv.Use(entgql.Transactioner{TxOpener: o.TxOpener, SkipTxFunc: func(op *ast.OperationDefinition) bool {
			return allRootFieldsIn(op, o.SelfTransacting)
		}})
	}
	srv.AroundOperations(revalidateSocket(o.Auth))
	srv.AroundRootFields(aroundRootFields)
	srv.SetErrorPresenter(presentError(o.Log))
	srv.SetRecoverFunc(recoverFunc(o.Log))
	return srv, nil
}

// originPatterns turns configured origins into coder/websocket host patterns.
func originPatterns(origins []string) []string {
	var out []string
	for _, o := range origins {
		if u, err := url.Parse(o); err == nil && u.Host != "" {
			out = append(out, u.Host)
		} else {
			out = append(out, o)
		}
	}
	return out
}

// initAuthorization is the Authorization entry of a connection_init
// payload (either case, as clients send it).
func initAuthorization(p map[string]any) string {
	for _, k := range []string{"Authorization", "authorization"} {
		if v, ok := p[k].(string); ok {
			return v
		}
	}
	return ""
}

func bearer(h string) string {
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// withRequest records the client address and user agent, and logs the request.
func withRequest(o Options, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ip := clientIP(r, o.TrustProxy)
		ctx := viewer.WithRequest(r.Context(), &viewer.Request{IP: ip, UserAgent: r.UserAgent()})
		sw := &statusWriter{ResponseWriter: w, status: 200}
		next.ServeHTTP(sw, r.WithContext(ctx))
		// Never log query strings: signed URLs and reset links carry secrets.
		o.Log.Debug("http", "method", r.Method, "path", r.URL.Path, "status", sw.status, "ms", time.Since(start).Milliseconds(), "ip", ip)
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) { s.status = code; s.ResponseWriter.WriteHeader(code) }

// Unwrap lets http.ResponseController (and websocket hijacking) reach the writer.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func clientIP(r *http.Request, trustProxy bool) string {
	if trustProxy {
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			return strings.TrimSpace(strings.Split(xff, ",")[0])
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// withViewer authenticates the bearer token. A token that does not resolve is
// refused outright (UNAUTHENTICATED), so a client never silently runs anonymous.
func withViewer(o Options, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := bearer(r.Header.Get("Authorization"))
		if tok == "" {
			next.ServeHTTP(w, r)
			return
		}
		v, err := o.Auth.Authenticate(r.Context(), tok)
		if err != nil {
			_, msg, _ := classify(r.Context(), err)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_ = json.NewEncoder(w).Encode(map[string]any{"errors": []any{map[string]any{
				"message": msg, "extensions": map[string]any{"code": "UNAUTHENTICATED"},
			}}})
			return
		}
		next.ServeHTTP(w, r.WithContext(viewer.NewContext(r.Context(), v)))
	})
}

func readyz(deps map[string]Pinger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		status, res := http.StatusOK, map[string]string{}
		for name, p := range deps {
			if err := p.Ping(ctx); err != nil {
				status, res[name] = http.StatusServiceUnavailable, "unavailable"
				slog.Warn("readiness check failed", "dependency", name, "err", err)
			} else {
				res[name] = "ok"
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(res)
	}
}

// static serves the web client; unknown paths get index.html (client routing).
func static(dist fs.FS) http.Handler {
	if dist == nil {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = fmt.Fprintln(w, "kaowu API: POST /graphql (web client not built: make web)")
		})
	}
	files := http.FileServerFS(dist)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "same-origin")
		w.Header().Set("X-Frame-Options", "DENY")
		p := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
		if p == "" {
			p = "index.html"
		}
		if _, err := fs.Stat(dist, p); err != nil {
			r = r.Clone(r.Context())
			r.URL.Path = "/"
		}
		if strings.HasPrefix(p, "assets/") {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		files.ServeHTTP(w, r)
	})
}
