package idcard

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// Fixed "now" so the future-date cases do not drift.
var testNow = time.Date(2025, 6, 15, 10, 0, 0, 0, chinaTZ)

func TestCheckDigitKnownNumbers(t *testing.T) {
	// Check digits verified by hand: e.g. for 11010519491231002X the weighted
	// sum is 167, 167 mod 11 = 2, checkChars[2] = 'X'.
	for _, n := range []string{
		"11010519491231002X",
		"11010119900307803X",
		"440524188001010014",
	} {
		c, err := CheckDigit(n[:17])
		if err != nil {
			t.Fatalf("CheckDigit(%q): %v", n[:17], err)
		}
		if c != n[17] {
			t.Errorf("CheckDigit(%q) = %c, want %c", n[:17], c, n[17])
		}
	}
}

func TestCheckDigitErrors(t *testing.T) {
	for _, s := range []string{"", "1234567890123456", "123456789012345678", "1101051949123100A"} {
		if _, err := CheckDigit(s); err == nil {
			t.Errorf("CheckDigit(%q): want error", s)
		}
	}
}

func TestParseValid(t *testing.T) {
	tests := []struct {
		in    string
		num   string
		area  string
		birth time.Time
		sex   Sex
	}{
		{"11010519491231002X", "11010519491231002X", "110105", date(1949, 12, 31), Female},
		{"11010519491231002x", "11010519491231002X", "110105", date(1949, 12, 31), Female},
		{"  11010119900307803X\t", "11010119900307803X", "110101", date(1990, 3, 7), Male},
		{"１１０１０５１９４９１２３１００２ｘ", "11010519491231002X", "110105", date(1949, 12, 31), Female},
		{Generate("440305", date(2000, 2, 29), 123), "", "440305", date(2000, 2, 29), Male},
		{Generate("820000", date(1900, 1, 1), 2), "", "820000", date(1900, 1, 1), Female},
		{Generate("710000", date(1985, 7, 1), 7), "", "710000", date(1985, 7, 1), Male},
		{Generate("650102", date(2025, 6, 15), 0), "", "650102", date(2025, 6, 15), Female}, // born "today"
	}
	for _, tc := range tests {
		r, err := parseAt(tc.in, testNow)
		if err != nil {
			t.Errorf("parse(%q): %v", tc.in, err)
			continue
		}
		want := tc.num
		if want == "" {
			want = tc.in
		}
		if r.Number != want || r.AreaCode != tc.area || !r.BirthDate.Equal(tc.birth) || r.Sex != tc.sex {
			t.Errorf("parse(%q) = %+v", tc.in, r)
		}
		if r.BirthDate.Location() != time.UTC {
			t.Errorf("parse(%q): birth date not UTC", tc.in)
		}
	}
}

func TestParseInvalid(t *testing.T) {
	valid := Generate("110105", date(1990, 5, 20), 31)
	flipCheck := valid[:17] + string("10X98765432"[(strings.IndexByte("10X98765432", valid[17])+1)%11])
	tests := []struct {
		name   string
		in     string
		reason Reason
		msg    string
	}{
		{"empty", "", ReasonEmpty, "请输入身份证号码"},
		{"spaces", "   ", ReasonEmpty, ""},
		{"short", valid[:17], ReasonLength, "身份证号码应为18位"},
		{"long", valid + "1", ReasonLength, ""},
		{"15-digit old format", "110105900520312", ReasonLength, ""},
		{"letter inside", "1101051990052A312X", ReasonFormat, ""},
		{"X not last", "11010519900520X123", ReasonFormat, ""},
		{"other check letter", valid[:17] + "Y", ReasonFormat, ""},
		{"non-ascii", "11010519900520312é", ReasonFormat, ""},
		{"area 0x", Generate("010105", date(1990, 5, 20), 31), ReasonArea, ""},
		{"area 9x", Generate("910105", date(1990, 5, 20), 31), ReasonArea, ""},
		{"area 16", Generate("160105", date(1990, 5, 20), 31), ReasonArea, ""},
		{"area 84", Generate("840105", date(1990, 5, 20), 31), ReasonArea, ""},
		{"feb 30", fake("110105", "19900230", 31), ReasonBirthDate, "身份证号码中的出生日期无效"},
		{"feb 29 non-leap", fake("110105", "19000229", 31), ReasonBirthDate, ""},
		{"month 13", fake("110105", "19901301", 31), ReasonBirthDate, ""},
		{"day 00", fake("110105", "19900100", 31), ReasonBirthDate, ""},
		{"before 1900", "440524188001010014", ReasonBirthDate, ""},
		{"tomorrow", Generate("110105", date(2025, 6, 16), 31), ReasonBirthDate, ""},
		{"far future", Generate("110105", date(2090, 1, 1), 31), ReasonBirthDate, ""},
		{"bad check", flipCheck, ReasonCheckDigit, "身份证号码校验位不正确"},
		{"typo in body", "11010519491231003X", ReasonCheckDigit, ""},
	}
	for _, tc := range tests {
		_, err := parseAt(tc.in, testNow)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("%s: parse(%q) err = %v, want *Error", tc.name, tc.in, err)
			continue
		}
		if e.Reason != tc.reason {
			t.Errorf("%s: reason %s, want %s (%s)", tc.name, e.Reason, tc.reason, e.Message)
		}
		if tc.msg != "" && e.Message != tc.msg {
			t.Errorf("%s: message %q, want %q", tc.name, e.Message, tc.msg)
		}
		if e.Error() != e.Message {
			t.Errorf("%s: Error() should be the user message", tc.name)
		}
	}
}

// fake builds a number with a correct check digit around an arbitrary
// (possibly impossible) date string, which Generate cannot express.
func fake(area, yyyymmdd string, seq int) string {
	first17 := area + yyyymmdd + string([]byte{byte('0' + seq/100%10), byte('0' + seq/10%10), byte('0' + seq%10)})
	c, err := CheckDigit(first17)
	if err != nil {
		panic(err)
	}
	return first17 + string(c)
}

func TestParseUsesNow(t *testing.T) {
	if _, err := Parse(Generate("110105", time.Now().AddDate(1, 0, 0), 1)); !errors.Is(err, ErrBirthDate) {
		t.Errorf("next year's birth date: err = %v", err)
	}
	if _, err := Parse("11010519491231002X"); err != nil {
		t.Errorf("Parse: %v", err)
	}
}

func TestErrorsIsAndSentinelsImmutable(t *testing.T) {
	_, err := Parse("123")
	if !errors.Is(err, ErrLength) || errors.Is(err, ErrCheckDigit) {
		t.Fatalf("errors.Is mismatch for %v", err)
	}
	var e *Error
	errors.As(err, &e)
	e.Message = "changed"
	if ErrLength.Message != "身份证号码应为18位" {
		t.Fatal("returned error aliases the sentinel")
	}
}

func TestGenerate(t *testing.T) {
	for seq := -3; seq < 1200; seq += 7 {
		n := Generate("320102", date(1975, 11, 9), seq)
		r, err := parseAt(n, testNow)
		if err != nil {
			t.Fatalf("Generate(seq=%d) = %s: %v", seq, n, err)
		}
		wantSex := Female
		if ((seq%1000+1000)%1000)%2 == 1 {
			wantSex = Male
		}
		if r.Sex != wantSex {
			t.Errorf("seq %d: sex %s, want %s", seq, r.Sex, wantSex)
		}
	}
	for _, bad := range []string{"", "11010", "1101051", "11O105"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Generate(%q): want panic", bad)
				}
			}()
			Generate(bad, date(1990, 1, 1), 1)
		}()
	}
}

func TestAge(t *testing.T) {
	r, err := parseAt(Generate("110105", date(2000, 6, 15), 1), testNow)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		at   time.Time
		want int
	}{
		{time.Date(2018, 6, 14, 23, 0, 0, 0, chinaTZ), 17},
		{time.Date(2018, 6, 15, 0, 0, 0, 0, chinaTZ), 18},
		{time.Date(2018, 6, 14, 16, 30, 0, 0, time.UTC), 18}, // already the 15th in China
		{time.Date(2019, 1, 1, 0, 0, 0, 0, chinaTZ), 18},
	} {
		if got := r.Age(tc.at); got != tc.want {
			t.Errorf("Age(%v) = %d, want %d", tc.at, got, tc.want)
		}
	}
}

func TestSexLabel(t *testing.T) {
	if Male.Label() != "男" || Female.Label() != "女" || Sex("").Label() != "" {
		t.Error("Sex labels")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"11010519491231002X", "11010519491231002x", "", "X", "110105194912310029",
		"１１０１０５１９４９１２３１００２ｘ", "440524188001010014", " 11010119900307803X ",
		Generate("650102", date(2004, 2, 29), 999),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := Parse(s)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Message == "" || e.Reason == "" {
				t.Fatalf("Parse(%q): untyped or empty error %v", s, err)
			}
			return
		}
		if len(r.Number) != 18 || r.AreaCode != r.Number[:6] {
			t.Fatalf("Parse(%q) = %+v: malformed result", s, r)
		}
		c, err := CheckDigit(r.Number[:17])
		if err != nil || c != r.Number[17] {
			t.Fatalf("Parse(%q) accepted bad check digit: %c %v", s, c, err)
		}
		if g := Generate(r.AreaCode, r.BirthDate, atoi(r.Number[14:17])); g != r.Number {
			t.Fatalf("Parse(%q) = %s, but Generate gives %s", s, r.Number, g)
		}
		if again, err := Parse(r.Number); err != nil || again != r {
			t.Fatalf("re-parse of %s: %+v %v", r.Number, again, err)
		}
		if v, err := ValidateDocument(ResidentID, s); err != nil || v != r.Number {
			t.Fatalf("ValidateDocument disagrees on %q: %s %v", s, v, err)
		}
	})
}
