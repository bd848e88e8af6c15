package password

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		pw     string
		reason Reason // "" = acceptable
	}{
		{"", ReasonTooShort},
		{"abc1234", ReasonTooShort},
		{"密码太短了啊呀", ReasonTooShort}, // 7 runes, 21 bytes
		{"安全生产考试密码", ""},            // 8 runes
		{strings.Repeat("a", 129), ReasonTooLong},
		{strings.Repeat("考", 129), ReasonTooLong},
		{strings.Repeat("x1", 64), ""},
		{"12345678", ReasonAllDigits},
		{"98127364501", ReasonAllDigits},
		{"１２３４５６７８", ReasonAllDigits}, // full width
		{"password", ReasonCommon},
		{"Password1", ReasonCommon},
		{"PASSWORD123", ReasonCommon},
		{"qwertyui", ReasonCommon},
		{"iloveyou", ReasonCommon},
		{"1q2w3e4r", ReasonCommon},
		{"abcd1234", ReasonCommon},
		{"qwer1234", ReasonCommon},
		{"woaini1314", ReasonCommon},
		{"5201314a", ReasonCommon},
		{"a123456789", ReasonCommon},
		{"aa123456", ReasonCommon},
		{"zxcvbnm1", ReasonCommon},
		{"qq123456", ReasonCommon},
		{"1qaz2wsx", ReasonCommon},
		{"abc123456", ReasonCommon},
		{"admin123", ReasonCommon},
		{"Aa123456", ReasonCommon},
		{"huawei123", ReasonCommon},
		{"correct horse battery staple", ""},
		{"Kw7#pLx2", ""},
		{"anquan-kaoshi-2024!", ""},
		{"1234567x", ""},
	}
	for _, tc := range tests {
		err := Check(tc.pw)
		if tc.reason == "" {
			if err != nil {
				t.Errorf("Check(%q) = %v, want ok", tc.pw, err)
			}
			continue
		}
		var pe *PolicyError
		if !errors.As(err, &pe) || pe.Reason != tc.reason {
			t.Errorf("Check(%q) = %v, want %s", tc.pw, err, tc.reason)
		}
	}
}

func TestMessages(t *testing.T) {
	for pw, msg := range map[string]string{
		"short":                  "密码至少需要8个字符",
		strings.Repeat("a1", 65): "密码不能超过128个字符",
		"1234567890":             "密码不能全部为数字",
		"password1":              "密码过于常见，请换一个更安全的密码",
	} {
		if err := Check(pw); err == nil || err.Error() != msg {
			t.Errorf("Check(%q) = %v, want %q", pw, err, msg)
		}
	}
	err := Check("1234")
	if !errors.Is(err, ErrTooShort) || errors.Is(err, ErrTooLong) {
		t.Errorf("errors.Is on %v", err)
	}
	err.(*PolicyError).Message = "mutated"
	if ErrTooShort.Message != "密码至少需要8个字符" {
		t.Error("returned error aliases the sentinel")
	}
}

func TestCheckFor(t *testing.T) {
	tests := []struct {
		pw, login string
		want      error
	}{
		{"11010519491231002X", "11010519491231002X", ErrSameAsLogin},
		{"11010519491231002x", "11010519491231002X", ErrSameAsLogin},
		{"zhangsan.safe", " ZhangSan.Safe ", ErrSameAsLogin},
		{"zhangsan.safe", "lisi.safe", nil},
		{"zhangsan.safe", "", nil},
		{"13812341234", "13812341234", ErrAllDigits}, // policy errors come first
		{"short", "short", ErrTooShort},
	}
	for _, tc := range tests {
		err := CheckFor(tc.pw, tc.login)
		if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("CheckFor(%q, %q) = %v, want %v", tc.pw, tc.login, err, tc.want)
		}
	}
	if err := CheckFor("11010519491231002X", "11010519491231002X"); err == nil || err.Error() != "密码不能与账号相同" {
		t.Errorf("message: %v", err)
	}
}

func TestCommonList(t *testing.T) {
	lines := strings.Split(strings.TrimRight(commonTxt, "\n"), "\n")
	if len(lines) < 1500 {
		t.Fatalf("common.txt has %d entries, want >= 1500", len(lines))
	}
	if !slices.IsSorted(lines) {
		t.Error("common.txt is not sorted")
	}
	for i, l := range lines {
		if l != strings.ToLower(strings.TrimSpace(l)) || len(l) < MinLength {
			t.Errorf("line %d %q: must be trimmed, lower-case, length >= %d", i+1, l, MinLength)
		}
		if i > 0 && lines[i-1] == l {
			t.Errorf("line %d %q: duplicate", i+1, l)
		}
	}
	if len(common()) != len(lines) {
		t.Errorf("map has %d entries, file %d", len(common()), len(lines))
	}
}
