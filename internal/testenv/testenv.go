// Package testenv gives tests real backing services: a fresh PostgreSQL
// database per call and the S3 (MinIO) settings of the test server.
//
// Services are found through environment variables with local defaults. When a
// service does not answer, the test is skipped, unless KAOWU_REQUIRE_SERVICES=1
// (set by .ci/run), in which case it fails: CI must never pass by skipping.
package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
)

// DefaultPostgres is the admin DSN used when KAOWU_TEST_POSTGRES is unset.
const DefaultPostgres = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// S3 holds the settings of the test object store.
type S3 struct {
	Endpoint  string // host:port
	AccessKey string
	SecretKey string
	Bucket    string // a fresh bucket name for this test (not yet created)
}

func required() bool { return os.Getenv("KAOWU_REQUIRE_SERVICES") == "1" }

func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if required() {
		t.Fatalf("required service unavailable: %s", msg)
	}
	t.Skipf("service unavailable (set KAOWU_REQUIRE_SERVICES=1 to fail instead): %s", msg)
}

// PostgresAdminDSN returns the admin DSN, skipping (or failing) the test when
// the server does not answer.
func PostgresAdminDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("KAOWU_TEST_POSTGRES")
	if dsn == "" {
		dsn = DefaultPostgres
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		unavailable(t, "postgres: %v", err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		unavailable(t, "postgres at %s: %v", redact(dsn), err)
	}
	return dsn
}

// Postgres creates a new empty database for the test, drops it when the test
// ends, and returns its DSN.
func Postgres(t testing.TB) string {
	t.Helper()
	admin := PostgresAdminDSN(t)
	name := "kaowu_test_" + randomHex(6)
	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", admin)
		if err != nil {
			return
		}
		defer db.Close()
		// WITH (FORCE) ends connections a test left open (PostgreSQL ≥ 13).
		_, _ = db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("parse KAOWU_TEST_POSTGRES: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// MinIO returns the test object store settings with a fresh bucket name,
// skipping (or failing) the test when the server does not answer.
func MinIO(t testing.TB) S3 {
	t.Helper()
	s := S3{
		Endpoint:  env("KAOWU_TEST_S3_ENDPOINT", "127.0.0.1:9100"),
		AccessKey: env("KAOWU_TEST_S3_ACCESS_KEY", "kaowutest"),
		SecretKey: env("KAOWU_TEST_S3_SECRET_KEY", "kaowutestsecret"),
		Bucket:    "kaowu-test-" + randomHex(6),
	}
	conn, err := net.DialTimeout("tcp", s.Endpoint, 3*time.Second)
	if err != nil {
		unavailable(t, "minio at %s: %v", s.Endpoint, err)
	}
	conn.Close()
	return s
}

func env(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxx")
		}
		return u.String()
	}
	return strings.SplitN(dsn, "@", 2)[len(strings.SplitN(dsn, "@", 2))-1]
}

// EachDatabase runs fn as two subtests, "sqlite" (a file in a temporary
// directory) and "postgres" (a fresh database), passing the database URL: one
// contract suite, two backends.
func EachDatabase(t *testing.T, fn func(t *testing.T, url string)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, t.TempDir()+"/kaowu.db") })
	t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t)) })
}
