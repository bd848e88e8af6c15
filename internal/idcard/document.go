package idcard

import (
	"unicode/utf8"
)

// DocType is the kind of identity document an account registers with. The
// values are stable identifiers (stored and exposed in the API).
type DocType string

// Document types.
const (
	ResidentID               DocType = "RESIDENT_ID"
	Passport                 DocType = "PASSPORT"
	HKMacaoPermit            DocType = "HK_MACAO_PERMIT"
	TaiwanPermit             DocType = "TAIWAN_PERMIT"
	ForeignPermanentResident DocType = "FOREIGN_PERMANENT_RESIDENT"
)

var docLabels = map[DocType]string{
	ResidentID:               "居民身份证",
	Passport:                 "护照",
	HKMacaoPermit:            "港澳居民来往内地通行证",
	TaiwanPermit:             "台湾居民来往大陆通行证",
	ForeignPermanentResident: "外国人永久居留身份证",
}

// AllDocTypes lists the document types in display order.
func AllDocTypes() []DocType {
	return []DocType{ResidentID, Passport, HKMacaoPermit, TaiwanPermit, ForeignPermanentResident}
}

// Valid reports whether t is a known document type.
func (t DocType) Valid() bool { _, ok := docLabels[t]; return ok }

// Label is the Chinese name of the document type, or "" if unknown.
func (t DocType) Label() string { return docLabels[t] }

// ValidateDocument checks number against the format of document type t and
// returns it normalised (trimmed, half-width, upper-case).
func ValidateDocument(t DocType, number string) (string, error) {
	if !t.Valid() {
		return "", clone(ErrDocType)
	}
	if t == ResidentID {
		r, err := Parse(number)
		if err != nil {
			return "", err
		}
		return r.Number, nil
	}
	n := normalize(number)
	if n == "" {
		return "", newErr(ReasonEmpty, "请输入"+t.Label()+"号码")
	}
	bad := func() (string, error) {
		return "", newErr(ReasonFormat, t.Label()+"号码格式不正确")
	}
	// Every remaining format is ASCII only; this also makes len == rune count.
	if len(n) != utf8.RuneCountInString(n) {
		return bad()
	}
	switch t {
	case Passport:
		if len(n) < 5 || len(n) > 17 || !allAlnum(n) || !hasDigit(n) {
			return bad()
		}
	case HKMacaoPermit:
		if (n[0] != 'H' && n[0] != 'M') || (len(n) != 9 && len(n) != 11) || !allDigits(n[1:]) {
			return bad()
		}
	case TaiwanPermit:
		if !(len(n) == 8 && allDigits(n)) && !(len(n) == 10 && allAlnum(n)) {
			return bad()
		}
	case ForeignPermanentResident:
		switch {
		case len(n) == 15 && allLetters(n[:3]) && allDigits(n[3:]):
		case len(n) == 18 && n[0] == '9' && allDigits(n[:17]):
			// The 2023 version shares the resident ID's MOD 11-2 check.
			if c, _ := CheckDigit(n[:17]); c != n[17] {
				return "", newErr(ReasonCheckDigit, t.Label()+"号码校验位不正确")
			}
		default:
			return bad()
		}
	}
	return n, nil
}

func allAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) && !isUpper(s[i]) {
			return false
		}
	}
	return true
}

func allLetters(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isUpper(s[i]) {
			return false
		}
	}
	return true
}

func hasDigit(s string) bool {
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			return true
		}
	}
	return false
}

func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }
