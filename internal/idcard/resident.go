// Package idcard validates identity document numbers: the mainland resident
// ID (GB 11643-1999) and the other documents candidates may register with,
// plus mainland mobile numbers and masking for display.
package idcard

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Sex as encoded in the 17th digit of a resident ID number.
type Sex string

// Sex values.
const (
	Male   Sex = "MALE"
	Female Sex = "FEMALE"
)

// Label is the Chinese name shown to users.
func (s Sex) Label() string {
	switch s {
	case Male:
		return "男"
	case Female:
		return "女"
	}
	return ""
}

// Resident is a parsed, valid resident ID number.
type Resident struct {
	Number    string    // normalised: 18 chars, check char upper-case
	AreaCode  string    // first 6 digits
	BirthDate time.Time // midnight UTC of the birth date
	Sex       Sex
}

// Age in whole years at the given instant (the date is taken in China time).
func (r Resident) Age(at time.Time) int {
	y, m, d := at.In(chinaTZ).Date()
	age := y - r.BirthDate.Year()
	if m < r.BirthDate.Month() || (m == r.BirthDate.Month() && d < r.BirthDate.Day()) {
		age--
	}
	return age
}

// chinaTZ is fixed rather than loaded so the package needs no tzdata; China
// has had no DST since 1991.
var chinaTZ = time.FixedZone("CST", 8*3600)

// ISO 7064 MOD 11-2 weights and check characters.
var (
	weights    = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	checkChars = "10X98765432"
)

// provinces are the valid first two digits of an area code.
var provinces = map[string]bool{
	"11": true, "12": true, "13": true, "14": true, "15": true,
	"21": true, "22": true, "23": true,
	"31": true, "32": true, "33": true, "34": true, "35": true, "36": true, "37": true,
	"41": true, "42": true, "43": true, "44": true, "45": true, "46": true,
	"50": true, "51": true, "52": true, "53": true, "54": true,
	"61": true, "62": true, "63": true, "64": true, "65": true,
	"71": true, "81": true, "82": true, "83": true,
}

const minBirthYear = 1900

// CheckDigit computes the check character ('0'-'9' or 'X') for the first 17
// digits of a resident ID number.
func CheckDigit(first17 string) (byte, error) {
	if len(first17) != 17 {
		return 0, newErr(ReasonLength, "身份证号码本体码应为17位数字")
	}
	sum := 0
	for i := 0; i < 17; i++ {
		c := first17[i]
		if c < '0' || c > '9' {
			return 0, newErr(ReasonFormat, "身份证号码本体码应为17位数字")
		}
		sum += int(c-'0') * weights[i]
	}
	return checkChars[sum%11], nil
}

// Generate builds a valid-checksum number for tests and demo data. The area
// code is not checked against the province list, so invalid areas can be
// generated on purpose; seq is taken modulo 1000 (odd last digit = male).
// It panics if area is not 6 digits or the year does not fit in 4 digits.
func Generate(area string, birth time.Time, seq int) string {
	if len(area) != 6 || !allDigits(area) {
		panic(fmt.Sprintf("idcard.Generate: area %q is not 6 digits", area))
	}
	y, m, d := birth.Date()
	if y < 0 || y > 9999 {
		panic(fmt.Sprintf("idcard.Generate: year %d out of range", y))
	}
	seq = ((seq % 1000) + 1000) % 1000
	first17 := fmt.Sprintf("%s%04d%02d%02d%03d", area, y, int(m), d, seq)
	c, _ := CheckDigit(first17) // cannot fail: 17 digits by construction
	return first17 + string(c)
}

// Parse validates a resident ID number and extracts its fields. Surrounding
// spaces, full-width characters and a lower-case x are accepted.
func Parse(s string) (Resident, error) {
	return parseAt(s, time.Now())
}

func parseAt(s string, now time.Time) (Resident, error) {
	n := normalize(s)
	if n == "" {
		return Resident{}, newErr(ReasonEmpty, "请输入身份证号码")
	}
	if utf8.RuneCountInString(n) != 18 {
		return Resident{}, clone(ErrLength)
	}
	if !allDigits(n[:17]) || !(isDigit(n[17]) || n[17] == 'X') {
		return Resident{}, newErr(ReasonFormat, "身份证号码只能包含数字，最后一位可以是X")
	}
	if !provinces[n[:2]] {
		return Resident{}, clone(ErrArea)
	}
	birth, ok := birthDate(n[6:14], now)
	if !ok {
		return Resident{}, clone(ErrBirthDate)
	}
	if c, _ := CheckDigit(n[:17]); c != n[17] {
		return Resident{}, clone(ErrCheckDigit)
	}
	sex := Female
	if (n[16]-'0')%2 == 1 {
		sex = Male
	}
	return Resident{Number: n, AreaCode: n[:6], BirthDate: birth, Sex: sex}, nil
}

// birthDate parses YYYYMMDD, rejecting impossible dates (time.Date would
// silently normalise Feb 30 to Mar 2), years before 1900 and future dates.
func birthDate(s string, now time.Time) (time.Time, bool) {
	y, m, d := atoi(s[:4]), atoi(s[4:6]), atoi(s[6:8])
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if t.Year() != y || int(t.Month()) != m || t.Day() != d || y < minBirthYear {
		return time.Time{}, false
	}
	ty, tm, td := now.In(chinaTZ).Date()
	if t.After(time.Date(ty, tm, td, 0, 0, 0, 0, time.UTC)) {
		return time.Time{}, false
	}
	return t, true
}

// normalize maps full-width ASCII (common with Chinese IMEs) to half-width,
// trims spaces and upper-cases.
func normalize(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r >= 0xFF01 && r <= 0xFF5E:
			return r - 0xFEE0
		case r == 0x3000: // ideographic space
			return ' '
		}
		return r
	}, s)
	return strings.ToUpper(strings.TrimSpace(s))
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// atoi for strings already known to be ASCII digits.
func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}
