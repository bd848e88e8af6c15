// Package pdftest reads PDFs back in tests with poppler-utils: text with
// pdftotext, pages as PNG with pdftoppm. Tests that need a missing tool are
// skipped (install it with `apt-get install -y poppler-utils`).
package pdftest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// RequireTool skips the test when the poppler tool is not installed — or
// fails it under KAOWU_REQUIRE_SERVICES=1, so CI cannot pass by skipping.
func RequireTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("KAOWU_REQUIRE_SERVICES") == "1" {
			t.Fatalf("%s not installed (apt-get install -y poppler-utils)", name)
		}
		t.Skipf("%s not installed (apt-get install -y poppler-utils): skipping PDF read-back", name)
	}
	return p
}

// Text returns the text of every page (pdftotext -layout, UTF-8).
func Text(t testing.TB, pdf []byte) string {
	t.Helper()
	tool := RequireTool(t, "pdftotext")
	cmd := exec.Command(tool, "-layout", "-enc", "UTF-8", "-", "-")
	cmd.Stdin = bytes.NewReader(pdf)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pdftotext: %v: %s", err, stderr.String())
	}
	return string(out)
}

// RenderPNG renders one page (1-based) at dpi and returns the PNG.
func RenderPNG(t testing.TB, pdf []byte, page, dpi int) []byte {
	t.Helper()
	tool := RequireTool(t, "pdftoppm")
	dir := t.TempDir()
	in := filepath.Join(dir, "in.pdf")
	if err := os.WriteFile(in, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	p := strconv.Itoa(page)
	out := filepath.Join(dir, "page")
	cmd := exec.Command(tool, "-png", "-r", strconv.Itoa(dpi), "-f", p, "-l", p, "-singlefile", in, out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v: %s", err, msg)
	}
	b, err := os.ReadFile(out + ".png")
	if err != nil {
		t.Fatal(err)
	}
	return b
}
