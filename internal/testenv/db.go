package testenv

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/internal/audit"
	"github.com/kaowu/kaowu/internal/db"
)

// Open opens the database at url (as EachDatabase passes it), migrates it and
// closes it when the test ends.
func Open(t testing.TB, url string, opt db.Options) *db.DB {
	t.Helper()
	d, err := db.Open(url, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	if err := d.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return d
}

// Client is Open plus a client carrying the audit hook, as the server wires
// it, so services under test write their audit rows too.
func Client(t testing.TB, url string, opt db.Options) (*db.DB, *ent.Client) {
	t.Helper()
	d := Open(t, url, opt)
	client := d.Client()
	client.Use(audit.Hook(Quiet()))
	return d, client
}

// Quiet is a logger that drops everything: tests assert on state, not logs.
func Quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
