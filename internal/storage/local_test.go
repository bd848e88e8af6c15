package storage

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLocalContract(t *testing.T) {
	testStoreContract(t, func(t *testing.T) Store {
		dir := t.TempDir()
		s, err := NewLocal(filepath.Join(dir, "blobs"))
		if err != nil {
			t.Fatal(err)
		}
		// Whatever a subtest did, no temporary file may survive it.
		t.Cleanup(func() { assertNoTempFiles(t, dir) })
		return s
	})
}

func TestNewLocalCreatesDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	if _, err := NewLocal(dir); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !fi.IsDir() || fi.Mode().Perm()&0o027 != 0 {
		t.Fatalf("dir mode = %v, want a directory no more open than 0750", fi.Mode())
	}
	if _, err := NewLocal(""); err == nil {
		t.Fatal("NewLocal(\"\") succeeded")
	}
}

func TestLocalSymlinkCannotEscape(t *testing.T) {
	outside := t.TempDir()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("KWBLOB1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "link")); err != nil {
		t.Skip("symlinks unsupported:", err)
	}
	s, err := NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.Put(ctx, "link/planted", strings.NewReader("x"), 1, ""); err == nil {
		t.Error("Put through a symlink leading outside the root succeeded")
	}
	if _, err := s.Stat(ctx, "link/secret"); err == nil {
		t.Error("Stat through a symlink leading outside the root succeeded")
	}
	if err := s.Delete(ctx, "link/secret"); err == nil {
		t.Error("Delete through a symlink leading outside the root succeeded")
	}
	if _, err := os.Stat(filepath.Join(outside, "planted")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("file written outside the root: %v", err)
	}
	if _, err := os.Stat(filepath.Join(outside, "secret")); err != nil {
		t.Errorf("file outside the root removed: %v", err)
	}
}

func TestLocalCorruptFileIsAnError(t *testing.T) {
	dir := t.TempDir()
	s, err := NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	// A file not written by Local (e.g. copied in by hand) must not be
	// served with a made-up header.
	if err := os.WriteFile(filepath.Join(dir, "foreign.jpg"), []byte("\xff\xd8\xff raw jpeg"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Stat(context.Background(), "foreign.jpg"); err == nil || errors.Is(err, ErrNotFound) {
		t.Fatalf("Stat of a foreign file: err = %v, want a corruption error", err)
	}
}

func assertNoTempFiles(t *testing.T, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), localTmpPfx) {
			t.Errorf("temporary file left behind: %s", p)
		}
		return nil
	})
}
