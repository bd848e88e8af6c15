package testenv

import (
	"testing"

	"github.com/kaowu/kaowu/internal/apperr"
)

// WantCode fails the test unless err is an *apperr.Error with code, and
// returns it for further checks.
func WantCode(t testing.TB, err error, code apperr.Code) *apperr.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("want %s, got nil", code)
	}
	ae, ok := apperr.As(err)
	if !ok {
		t.Fatalf("want %s, got non-apperr %T: %v", code, err, err)
	}
	if ae.Code != code {
		t.Fatalf("want %s, got %s: %s", code, ae.Code, ae.Message)
	}
	return ae
}

// MustOK fails the test on a non-nil err.
func MustOK(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// WantField is WantCode that also requires the error to name field, in
// Field or, for errors built with extensions, in Extra["field"] ("" means
// the error must name none).
func WantField(t testing.TB, err error, code apperr.Code, field string) *apperr.Error {
	t.Helper()
	ae := WantCode(t, err, code)
	got := ae.Field
	if got == "" {
		got, _ = ae.Extra["field"].(string)
	}
	if got != field {
		t.Fatalf("want field %q, got %q (%s)", field, got, ae.Message)
	}
	return ae
}
