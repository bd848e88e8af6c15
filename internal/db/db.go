// Package db opens the database (PostgreSQL through pgx, or an embedded SQLite
// file) and migrates its schema.
package db

import (
	"context"
	"database/sql"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	_ "github.com/jackc/pgx/v5/stdlib" // driver "pgx"
	_ "modernc.org/sqlite"             // driver "sqlite"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/migrate"
	_ "github.com/kaowu/kaowu/ent/runtime" // hooks and privacy policies
)

// DB is an opened database.
type DB struct {
	SQL     *sql.DB
	Driver  *entsql.Driver
	Dialect string
	DSN     string // PostgreSQL DSN ("" for SQLite)
	queries atomic.Int64
}

// Queries returns how many statements clients of this database have sent.
func (d *DB) Queries() int64 { return d.queries.Load() }

// Options bound the connection pool.
type Options struct {
	MaxOpenConns int // PostgreSQL; default 20
}

// Open connects to url: "postgres://…" (or "postgresql://…") or a SQLite file
// path / "file:…" URL.
func Open(url string, opt Options) (*DB, error) {
	if strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://") {
		return openPostgres(url, opt)
	}
	return openSQLite(url)
}

func openPostgres(dsn string, opt Options) (*DB, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, err
	}
	n := opt.MaxOpenConns
	if n <= 0 {
		n = 20
	}
	// Unbounded pools exhaust max_connections under load: bound them.
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	db.SetConnMaxIdleTime(5 * time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	return &DB{SQL: db, Driver: entsql.OpenDB(dialect.Postgres, db), Dialect: dialect.Postgres, DSN: dsn}, nil
}

func openSQLite(path string) (*DB, error) {
	dsn := path
	if !strings.HasPrefix(path, "file:") {
		if dir := filepath.Dir(path); dir != "" {
			if err := os.MkdirAll(dir, 0o750); err != nil {
				return nil, err
			}
		}
		dsn = "file:" + path
	}
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	// busy_timeout: writers wait instead of failing with SQLITE_BUSY;
	// _txlock=immediate: a transaction takes the write lock at BEGIN, so a
	// read-then-write transaction cannot deadlock against another.
	// _time_format=sqlite with _timezone=UTC: times are written in one
	// readable format, all in UTC, so they read back and compare as text
	// correctly whatever zone the caller used (China time, UTC).
	dsn += sep + "_pragma=foreign_keys(1)&_pragma=busy_timeout(15000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate&_time_format=sqlite&_timezone=UTC"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(8)
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return &DB{SQL: db, Driver: entsql.OpenDB(dialect.SQLite, db), Dialect: dialect.SQLite}, nil
}

// Client returns an ent client on the database.
func (d *DB) Client(opts ...ent.Option) *ent.Client {
	drv := countingDriver{Driver: d.Driver, n: &d.queries}
	return ent.NewClient(append([]ent.Option{ent.Driver(drv)}, opts...)...)
}

// Close closes the pool.
func (d *DB) Close() error { return d.SQL.Close() }

// Migrate brings the schema up to date. On PostgreSQL it holds an advisory
// lock, so replicas starting together migrate one after another.
func (d *DB) Migrate(ctx context.Context) error {
	client := d.Client()
	if d.Dialect == dialect.Postgres {
		conn, err := d.SQL.Conn(ctx)
		if err != nil {
			return err
		}
		defer conn.Close()
		h := fnv.New64a()
		h.Write([]byte("kaowu-migrate"))
		key := int64(h.Sum64() >> 1)
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", key); err != nil {
			return fmt.Errorf("migration lock: %w", err)
		}
		defer conn.ExecContext(context.Background(), "SELECT pg_advisory_unlock($1)", key) //nolint:errcheck
	}
	if err := client.Schema.Create(ctx, migrate.WithForeignKeys(true)); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// Ping checks the database answers.
func (d *DB) Ping(ctx context.Context) error { return d.SQL.PingContext(ctx) }
