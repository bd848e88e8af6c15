// Command kaowu is the exam administration server.
//
//	kaowu serve     start the server (migrates first; DEMO=1 seeds demo data)
//	kaowu migrate   bring the database schema up to date and exit
//	kaowu seed      create the demo data set and print its logins
package main

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kaowu/kaowu/graph"
	"github.com/kaowu/kaowu/internal/app"
	"github.com/kaowu/kaowu/internal/certificate/sign"
	"github.com/kaowu/kaowu/internal/config"
	"github.com/kaowu/kaowu/internal/db"
	"github.com/kaowu/kaowu/internal/demo"
	"github.com/kaowu/kaowu/internal/evidence"
	"github.com/kaowu/kaowu/internal/logging"
	"github.com/kaowu/kaowu/internal/viewer"
	"github.com/kaowu/kaowu/web"
)

const usage = `usage: kaowu <command>

commands:
  serve     start the server (migrates first; DEMO=1 also seeds demo data)
  migrate   bring the database schema up to date and exit
  seed      create the demo data set and print its logins
  verify-evidence ATTEMPT
            check an exam attempt's evidence hash chain; exit 1 if broken
  verify-cert (--keys keys.json | --key kid=base64)... [--name NAME] CODE
            check a certificate QR code offline; exit 0 valid, 1 forged,
            altered or unknown key, 3 expired (see docs/certificates.md)

configuration is read from the environment; see README.md.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	if os.Args[1] == "verify-cert" {
		// Offline: no configuration, database or network.
		os.Exit(sign.Command(os.Args[2:], os.Stdin, os.Stdout, os.Stderr, time.Now()))
	}
	cfg, err := config.Load()
	if err != nil {
		fmt.Fprintln(os.Stderr, "configuration error:\n"+err.Error())
		os.Exit(2)
	}
	log := newLogger(cfg)
	slog.SetDefault(log)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch os.Args[1] {
	case "serve":
		err = serve(ctx, cfg, log)
	case "migrate":
		err = migrate(ctx, cfg)
	case "seed":
		err = seed(ctx, cfg, log)
	case "verify-evidence":
		var ok bool
		ok, err = verifyEvidence(ctx, cfg)
		if err == nil && !ok {
			os.Exit(1)
		}
	case "help", "-h", "--help":
		fmt.Print(usage)
	default:
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	if err != nil {
		log.Error("kaowu failed", "command", os.Args[1], "err", err)
		os.Exit(1)
	}
}

func newLogger(cfg *config.Config) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	return logging.New(os.Stderr, cfg.LogFormat, level)
}

func open(ctx context.Context, cfg *config.Config, log *slog.Logger, schema bool) (*app.App, error) {
	opt := app.Options{}
	if schema {
		opt.Schema = graph.Schema
		if dist, err := fs.Sub(web.Dist, "dist"); err == nil {
			if _, err := fs.Stat(dist, "index.html"); err == nil {
				opt.Static = dist
			}
		}
	}
	return app.New(ctx, cfg, log, opt)
}

func serve(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	a, err := open(ctx, cfg, log, true)
	if err != nil {
		return err
	}
	defer a.Close()
	if cfg.Demo {
		if err := demo.Seed(ctx, a.DemoDeps(), os.Stdout); err != nil {
			return fmt.Errorf("demo data: %w", err)
		}
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	store := "local disk " + cfg.BlobDir()
	if cfg.S3.Endpoint != "" {
		store = "MinIO " + cfg.S3.Endpoint + "/" + cfg.S3.Bucket
	}
	database := "SQLite " + cfg.SQLitePath()
	if cfg.DatabaseURL != "" {
		database = "PostgreSQL"
	}
	log.Info("kaowu listening", "url", "http://"+ln.Addr().String(), "env", cfg.Env, "database", database, "blobs", store)
	return a.Serve(ctx, ln)
}

func migrate(ctx context.Context, cfg *config.Config) error {
	url := cfg.DatabaseURL
	if url == "" {
		url = cfg.SQLitePath()
	}
	d, err := db.Open(url, db.Options{MaxOpenConns: 2})
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Migrate(ctx); err != nil {
		return err
	}
	fmt.Println("schema is up to date (" + strings.ToLower(d.Dialect) + ")")
	return nil
}

func seed(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	a, err := open(ctx, cfg, log, false)
	if err != nil {
		return err
	}
	defer a.Close()
	return demo.Seed(ctx, a.DemoDeps(), os.Stdout)
}

func verifyEvidence(ctx context.Context, cfg *config.Config) (bool, error) {
	if len(os.Args) != 3 {
		return false, fmt.Errorf("usage: kaowu verify-evidence ATTEMPT_ID")
	}
	id, err := strconv.Atoi(os.Args[2])
	if err != nil || id <= 0 {
		return false, fmt.Errorf("attempt id %q is not a positive number", os.Args[2])
	}
	url := cfg.DatabaseURL
	if url == "" {
		url = cfg.SQLitePath()
	}
	d, err := db.Open(url, db.Options{MaxOpenConns: 2})
	if err != nil {
		return false, err
	}
	defer d.Close()
	sys := viewer.SystemContext(ctx)
	a, err := d.Client().Attempt.Get(sys, id)
	if err != nil {
		return false, fmt.Errorf("attempt %d: %w", id, err)
	}
	// The seal made at submission is checked with the server's key.
	if err := cfg.EnsureSecret(); err != nil {
		return false, err
	}
	rep, err := evidence.VerifyAttempt(sys, d.Client(), a, app.EvidenceSealKey(cfg))
	if err != nil {
		return false, err
	}
	return evidence.PrintReport(rep, os.Stdout)
}
