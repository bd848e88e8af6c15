// Package app builds everything from the configuration: database, blob store,
// event bus, services and the HTTP handler. It is the only place that knows
// which implementation of each swappable part is in use.
package app

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/attempt"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/audit"
	"github.com/kaowu/kaowu/internal/auth"
	"github.com/kaowu/kaowu/internal/auth/password"
	"github.com/kaowu/kaowu/internal/certificate"
	"github.com/kaowu/kaowu/internal/certificate/sign"
	"github.com/kaowu/kaowu/internal/checkin"
	"github.com/kaowu/kaowu/internal/config"
	"github.com/kaowu/kaowu/internal/db"
	"github.com/kaowu/kaowu/internal/demo"
	"github.com/kaowu/kaowu/internal/enrollment"
	"github.com/kaowu/kaowu/internal/events"
	"github.com/kaowu/kaowu/internal/exam"
	"github.com/kaowu/kaowu/internal/exam/bank"
	"github.com/kaowu/kaowu/internal/jobs"
	"github.com/kaowu/kaowu/internal/media"
	"github.com/kaowu/kaowu/internal/notify"
	"github.com/kaowu/kaowu/internal/orgs"
	"github.com/kaowu/kaowu/internal/payment"
	"github.com/kaowu/kaowu/internal/plans"
	"github.com/kaowu/kaowu/internal/proctor"
	"github.com/kaowu/kaowu/internal/profile"
	"github.com/kaowu/kaowu/internal/scoring"
	"github.com/kaowu/kaowu/internal/server"
	"github.com/kaowu/kaowu/internal/storage"
	"github.com/kaowu/kaowu/internal/tickets"
	"github.com/kaowu/kaowu/internal/training"
)

// App is a wired kaowu.
type App struct {
	Cfg          *config.Config
	Log          *slog.Logger
	DB           *db.DB
	Client       *ent.Client
	Store        storage.Store
	Signer       *storage.Signer
	Bus          events.Bus
	SMS          notify.Sender
	Notifier     *notify.Notifier
	Auth         *auth.Service
	Orgs         *orgs.Service
	Profiles     *profile.Service
	Training     *training.Service
	Enrollments  *enrollment.Service
	Payments     *payment.Service
	Plans        *plans.Service
	Tickets      *tickets.Service
	CheckIns     *checkin.Service
	Bank         *bank.Service
	Exam         *exam.Service
	Proctor      *proctor.Service
	Scoring      *scoring.Service
	Certificates *certificate.Service
	Jobs         *jobs.Runner
	Handler      http.Handler
}

// Options are the parts a caller may supply instead of the configured ones.
type Options struct {
	SMS    notify.Sender // default: notify.LogSender
	Static fs.FS         // the built web client
	// Schema builds the GraphQL schema from the app (graph.Schema).
	Schema func(*App) graphql.ExecutableSchema
}

// New opens everything, migrates the schema and builds the handler.
func New(ctx context.Context, cfg *config.Config, log *slog.Logger, opt Options) (*App, error) {
	a := &App{Cfg: cfg, Log: log}
	ok := false
	defer func() {
		if !ok {
			a.Close()
		}
	}()
	if err := cfg.EnsureSecret(); err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	dbURL := cfg.DatabaseURL
	if dbURL == "" {
		dbURL = cfg.SQLitePath()
	}
	var err error
	if a.DB, err = db.Open(dbURL, db.Options{MaxOpenConns: cfg.DBMaxConns}); err != nil {
		return nil, err
	}
	if err := a.DB.Migrate(ctx); err != nil {
		return nil, err
	}
	a.Client = a.DB.Client()
	a.Client.Use(audit.Hook(log))

	if cfg.S3.Endpoint != "" {
		a.Store, err = storage.NewMinIO(ctx, storage.MinIOConfig{
			Endpoint: cfg.S3.Endpoint, AccessKey: cfg.S3.AccessKey, SecretKey: cfg.S3.SecretKey,
			Bucket: cfg.S3.Bucket, UseSSL: cfg.S3.UseSSL, Region: cfg.S3.Region,
		})
	} else {
		a.Store, err = storage.NewLocal(cfg.BlobDir())
	}
	if err != nil {
		return nil, fmt.Errorf("blob store: %w", err)
	}
	a.Signer = storage.NewSigner(cfg.Secret)

	if a.DB.DSN != "" {
		// Replicas share subscriptions through LISTEN/NOTIFY.
		if a.Bus, err = events.NewPostgres(ctx, a.DB.DSN, events.WithLogger(log)); err != nil {
			return nil, fmt.Errorf("event bus: %w", err)
		}
	} else {
		a.Bus = events.NewLocal(events.WithLogger(log))
	}

	a.SMS = opt.SMS
	if a.SMS == nil {
		a.SMS = notify.LogSender{Log: log, ShowCodes: !cfg.Production()}
	}
	a.Notifier = &notify.Notifier{Client: a.Client, Bus: a.Bus, SMS: a.SMS, Log: log}
	params := password.DefaultParams()
	if cfg.Argon2 == "fast" {
		params = password.FastParams()
	}
	a.Auth = auth.New(a.Client, password.NewHasher(params, password.DefaultMaxConcurrent), a.SMS, auth.Config{
		SessionIdle: cfg.SessionIdle, SessionMax: cfg.SessionMax, LoginSMS: cfg.LoginSMS, Secret: cfg.Secret,
	}, log)
	a.Orgs = &orgs.Service{Client: a.Client, Bus: a.Bus, Notifier: a.Notifier}
	limits := media.DefaultLimits()
	limits.MaxUploadBytes, limits.MaxImageBytes, limits.MaxPDFBytes = cfg.MaxUploadBytes, cfg.MaxImageBytes, cfg.MaxPDFBytes
	a.Profiles = &profile.Service{Client: a.Client, Store: a.Store, Signer: a.Signer, Limits: limits}
	a.Training = &training.Service{Client: a.Client, Notifier: a.Notifier}
	a.Enrollments = &enrollment.Service{Client: a.Client, Notifier: a.Notifier, Profiles: profile.Checker{S: a.Profiles}}
	a.Payments = &payment.Service{Client: a.Client, Gateway: gateway(cfg), Enrollments: a.Enrollments,
		Notifier: a.Notifier, BaseURL: cfg.PublicURL, Log: log}
	a.Plans = &plans.Service{Client: a.Client, Notifier: a.Notifier}
	// Room capacity and disabling rules hold for every room update, whoever makes it.
	a.Client.Room.Use(a.Plans.RoomHook())
	a.Tickets = &tickets.Service{Client: a.Client, Store: a.Store, Log: log}
	a.Bank = &bank.Service{Client: a.Client}
	sealKey := EvidenceSealKey(cfg)
	a.Exam = &exam.Service{Client: a.Client, Dialect: a.DB.Dialect, Bank: a.Bank, Bus: a.Bus, Auth: a.Auth, Log: log, SealKey: sealKey}
	a.Proctor = &proctor.Service{Client: a.Client, Dialect: a.DB.Dialect, Store: a.Store, Signer: a.Signer, Bus: a.Bus, Limits: limits,
		BaseURL: cfg.PublicURL, URLPrefix: "/blobs/", Ender: examEnder{a.Exam}, Log: log, SealKey: sealKey}
	a.Scoring = &scoring.Service{Client: a.Client, Notifier: a.Notifier, SealKey: sealKey}
	keys, err := sign.LoadKeyring(cfg.CertKeys, cfg.Production(), cfg.Secret)
	if err != nil {
		return nil, err
	}
	a.Certificates = &certificate.Service{Client: a.Client, Notifier: a.Notifier, Store: a.Store, Keys: keys,
		PublicURL: cfg.PublicURL, Authority: cfg.CertAuthority, Prefix: cfg.CertPrefix,
		ValidityYears: cfg.CertValidityYears, Log: log}
	// Deadlines and phone checks are durable jobs: they fire with no client
	// connected, on whichever replica claims them, after restarts too.
	a.Jobs = &jobs.Runner{Client: a.Client, ID: jobs.NewRunnerID(), Log: log, Handlers: map[string]jobs.Handler{
		exam.JobDeadline:      a.Exam.DeadlineHandler(),
		proctor.JobPhoneCheck: a.Proctor.PhoneCheckHandler(),
		certificate.JobExpiry: a.Certificates.ExpiryHandler(),
	}}
	a.CheckIns = &checkin.Service{Client: a.Client, Store: a.Store, Bus: a.Bus, Limits: limits, Profiles: a.Profiles, Log: log}

	if opt.Schema != nil {
		a.Handler, err = server.New(server.Options{
			Schema:         opt.Schema(a),
			TxOpener:       a.Client,
			Auth:           a.Auth,
			Production:     cfg.Production(),
			AllowedOrigins: cfg.AllowedOrigins,
			Ready:          map[string]server.Pinger{"database": a.DB, "blobs": a.Store},
			Blobs:          storage.Handler(a.Store, a.Signer, "/blobs/"),
			Static:         opt.Static,
			MaxUploadBytes: cfg.MaxUploadBytes,
			Mounts: []server.Mount{
				// Gateway callbacks carry their own signatures: no login, no GraphQL transaction.
				{Pattern: "/payments/", Handler: a.Payments.Handler()},
				// PDFs are for the logged-in viewer: behind the bearer-token check.
				{Pattern: "/documents/", Handler: a.Tickets.Handler(), Authenticated: true},
				{Pattern: "/exports/", Handler: a.Bank.Handler(), Authenticated: true},
				{Pattern: certificate.PDFPath, Handler: a.Certificates.PDFHandler(), Authenticated: true},
				// Published verification keys: public, cacheable.
				{Pattern: certificate.KeysPath, Handler: a.Certificates.KeysHandler()},
			},
			Metrics: a.metrics,
			Log:     log,
			// Exam hot paths run their own short transactions: a save is
			// group-committed; an upload stores its blob before its rows and
			// must not hold a connection while it does.
			SelfTransacting: append(slices.Clone(auth.SelfTransacting),
				"saveAnswer", "uploadSnapshot", "uploadPhoneSnapshot", "phoneHeartbeat"),
		})
		if err != nil {
			return nil, err
		}
	}
	ok = true
	return a, nil
}

// examEnder lets proctors end attempts through the exam service.
type examEnder struct{ s *exam.Service }

func (e examEnder) SubmitSystem(ctx context.Context, attemptID int, reason string) error {
	_, err := e.s.SubmitSystem(ctx, attemptID, attempt.SubmitReason(reason))
	return err
}

// gateway is the configured payment gateway. The simulator lets anyone
// holding a pay link "pay": development only (config refuses it in
// production unless asked for explicitly).
func gateway(cfg *config.Config) payment.Gateway {
	if cfg.PaymentGateway == "sim" {
		return payment.NewSimGateway(deriveKey(cfg.Secret, "payment-sim"), cfg.PublicURL)
	}
	return noGateway{}
}

// noGateway refuses online payment with a message saying what still works.
type noGateway struct{}

func (noGateway) CreateOrder(context.Context, payment.Order) (string, error) {
	return "", apperr.New(apperr.BadInput, "在线支付暂未开通，请选择银行转账或到考点现场缴费")
}

func (noGateway) VerifyNotification([]byte, http.Header) (payment.Notification, error) {
	return payment.Notification{}, payment.ErrBadSignature
}

// deriveKey gives each use of the server secret its own key.
// EvidenceSealKey is the key that seals evidence chains at submission
// (evidence.Seal), derived from KAOWU_SECRET: replicas sharing the secret
// share it, and kaowu verify-evidence can check seals. cfg's secret must
// be loaded (config.EnsureSecret).
func EvidenceSealKey(cfg *config.Config) []byte {
	return deriveKey(cfg.Secret, "kaowu/evidence-seal/v1")
}

func deriveKey(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// Close releases everything New opened.
func (a *App) Close() {
	if a.Auth != nil {
		a.Auth.Close()
	}
	if a.Bus != nil {
		_ = a.Bus.Close()
	}
	if a.DB != nil {
		_ = a.DB.Close()
	}
}

// Serve runs the HTTP server until ctx ends, then shuts down gracefully:
// in-flight requests finish, websocket subscriptions are cancelled.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	base, cancelAll := context.WithCancel(context.Background())
	defer cancelAll()
	srv := &http.Server{
		Handler:           a.Handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		// Every request (and so every websocket) derives from base: cancelling
		// it ends all subscriptions on shutdown, which Shutdown alone does not.
		BaseContext: func(net.Listener) context.Context { return base },
	}
	// The nightly certificate expiry job arms itself once per database.
	if err := a.Certificates.EnsureScheduled(base); err != nil {
		a.Log.Warn("certificate expiry job not scheduled", "err", err)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	swept, ran := make(chan struct{}), make(chan struct{})
	go func() { defer close(swept); a.sweep(base, time.Minute) }()
	go func() { defer close(ran); _ = a.Jobs.Run(base) }()
	defer func() { cancelAll(); <-swept; <-ran }() // on every return path
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	a.Log.Info("shutting down")
	cancelAll()
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// sweep runs periodic work until ctx ends. Each task keeps its state in
// the database and claims work with conditional updates, so any number of
// replicas may sweep at once and a restart loses nothing.
func (a *App) sweep(ctx context.Context, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		if n, err := a.Tickets.NotifyDue(ctx, a.Notifier); err != nil && ctx.Err() == nil {
			a.Log.Error("ticket-ready notices", "err", err)
		} else if n > 0 {
			a.Log.Info("ticket-ready notices sent", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (a *App) metrics(w *strings.Builder) {
	s := a.DB.SQL.Stats()
	fmt.Fprintf(w, "kaowu_db_open_connections %d\nkaowu_db_in_use %d\nkaowu_db_wait_count %d\nkaowu_db_statements_total %d\n", s.OpenConnections, s.InUse, s.WaitCount, a.DB.Queries())
	switch b := a.Bus.(type) {
	case *events.Local:
		st := b.Stats()
		fmt.Fprintf(w, "kaowu_events_published_total %d\nkaowu_events_delivered_total %d\nkaowu_events_dropped_total %d\n", st.Published, st.Delivered, st.Dropped)
	case *events.Postgres:
		st := b.Stats()
		fmt.Fprintf(w, "kaowu_events_published_total %d\nkaowu_events_delivered_total %d\nkaowu_events_dropped_total %d\nkaowu_events_notifies_total %d\nkaowu_events_reconnects_total %d\n",
			st.Published, st.Delivered, st.Dropped, st.Notifies, st.Reconnects)
	}
}

// DemoDeps are the app's services for seeding demo data (kaowu seed,
// DEMO=1, tests): demo attempts and evidence go through the same services
// and event bus as real ones.
func (a *App) DemoDeps() demo.Deps {
	return demo.Deps{Client: a.Client, Hasher: a.Auth.Hasher(), Profiles: a.Profiles, Exam: a.Exam, Proctor: a.Proctor,
		Certificates: a.Certificates}
}
