package logging

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	cases := map[string]string{
		"id 11010519491231002X registered":                           "id 110105********002X registered",
		"phone 13812341234 verified":                                 "phone 138****1234 verified",
		"Authorization: Bearer abcdefghijklmnopqrstuvwxyz0123456789": "Authorization: Bearer [redacted]",
		"token bcVZxEkeBjPScXJDrcZ2-jFAitVCTgSav2MgT0Y94OE":          "token [redacted-token]",
		"room 12, capacity 40, 2026-05-01":                           "room 12, capacity 40, 2026-05-01",
	}
	for in, want := range cases {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLoggerRedactsEverything(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		var buf bytes.Buffer
		log := New(&buf, format, slog.LevelDebug)
		log.With("who", "11010519491231002X").Info("code sent to 13812341234",
			"err", errors.New("duplicate login 11010519491231002X"), "phone", "13812341234")
		out := buf.String()
		for _, secret := range []string{"19491231", "38123412", "2341234"} {
			if strings.Contains(out, secret) {
				t.Errorf("%s log leaks %q: %s", format, secret, out)
			}
		}
	}
}
