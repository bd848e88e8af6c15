package idcard

import (
	"errors"
	"testing"
)

func TestDocTypes(t *testing.T) {
	all := AllDocTypes()
	if len(all) != len(docLabels) {
		t.Fatalf("AllDocTypes has %d, labels %d", len(all), len(docLabels))
	}
	for _, d := range all {
		if !d.Valid() || d.Label() == "" {
			t.Errorf("%s: Valid=%v Label=%q", d, d.Valid(), d.Label())
		}
	}
	if ResidentID.Label() != "居民身份证" || HKMacaoPermit.Label() != "港澳居民来往内地通行证" {
		t.Error("labels")
	}
	if DocType("").Valid() || DocType("resident_id").Valid() || DocType("DRIVING_LICENCE").Label() != "" {
		t.Error("unknown types must be invalid")
	}
}

func TestValidateDocument(t *testing.T) {
	tests := []struct {
		typ  DocType
		in   string
		want string // normalised; "" means invalid
	}{
		{ResidentID, "11010519491231002x", "11010519491231002X"},
		{ResidentID, "11010519491231002", ""},

		{Passport, "E12345678", "E12345678"},
		{Passport, "EA1234567", "EA1234567"},
		{Passport, "e12345678", "E12345678"},
		{Passport, " G12345678 ", "G12345678"},
		{Passport, "123456789", "123456789"},
		{Passport, "X1234", "X1234"},
		{Passport, "AB1234567890CDEFG", "AB1234567890CDEFG"},
		{Passport, "X123", ""},               // too short
		{Passport, "AB1234567890CDEFGH", ""}, // 18 chars
		{Passport, "ABCDEFGH", ""},           // no digit
		{Passport, "E1234-5678", ""},         // punctuation
		{Passport, "E 12345678", ""},         // inner space
		{Passport, "Ｅ１２３４５６７８", "E12345678"}, // full width

		{HKMacaoPermit, "H12345678", "H12345678"},
		{HKMacaoPermit, "m1234567890", "M1234567890"},
		{HKMacaoPermit, "H1234567", ""},
		{HKMacaoPermit, "H123456789", ""},
		{HKMacaoPermit, "K12345678", ""},
		{HKMacaoPermit, "12345678", ""},
		{HKMacaoPermit, "H1234567A", ""},

		{TaiwanPermit, "12345678", "12345678"},
		{TaiwanPermit, "1234567801", "1234567801"},
		{TaiwanPermit, "12345678ab", "12345678AB"},
		{TaiwanPermit, "1234567", ""},
		{TaiwanPermit, "123456789", ""},
		{TaiwanPermit, "1234567A", ""},
		{TaiwanPermit, "12345678A!", ""},

		{ForeignPermanentResident, "USA123456789012", "USA123456789012"},
		{ForeignPermanentResident, "usa123456789012", "USA123456789012"},
		{ForeignPermanentResident, "US1123456789012", ""},
		{ForeignPermanentResident, "USA12345678901", ""},
		{ForeignPermanentResident, Generate("931101", date(1980, 1, 2), 45), Generate("931101", date(1980, 1, 2), 45)},
		{ForeignPermanentResident, Generate("110101", date(1980, 1, 2), 45), ""}, // 18 chars must start with 9
		{ForeignPermanentResident, "93110119800102045Z", ""},
	}
	for _, tc := range tests {
		got, err := ValidateDocument(tc.typ, tc.in)
		if tc.want == "" {
			var e *Error
			if !errors.As(err, &e) || e.Message == "" {
				t.Errorf("%s %q: want *Error, got %q, %v", tc.typ, tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s %q = %q, %v; want %q", tc.typ, tc.in, got, err, tc.want)
		}
	}
}

func TestValidateDocumentMessages(t *testing.T) {
	check := func(typ DocType, in string, reason Reason, msg string) {
		t.Helper()
		_, err := ValidateDocument(typ, in)
		var e *Error
		if !errors.As(err, &e) || e.Reason != reason || e.Message != msg {
			t.Errorf("%s %q: got %#v, want %s %q", typ, in, err, reason, msg)
		}
	}
	check(Passport, "ABC", ReasonFormat, "护照号码格式不正确")
	check(Passport, "", ReasonEmpty, "请输入护照号码")
	check(HKMacaoPermit, "X", ReasonFormat, "港澳居民来往内地通行证号码格式不正确")
	check(DocType("X"), "E12345678", ReasonDocType, "不支持的证件类型")
	check(ResidentID, "123", ReasonLength, "身份证号码应为18位")
	v := Generate("931101", date(1980, 1, 2), 45)
	bad := v[:17] + map[bool]string{true: "0", false: "1"}[v[17] != '0']
	check(ForeignPermanentResident, bad, ReasonCheckDigit, "外国人永久居留身份证号码校验位不正确")
}

func TestMask(t *testing.T) {
	for in, want := range map[string]string{
		"11010519491231002X": "110105********002X",
		"110101199003071234": "110101********1234",
		"USA123456789012":    "USA123*****9012",
		"E12345678":          "E1*****78",
		"H12345678":          "H1*****78",
		"12345":              "12*45",
		"1234":               "****",
		"":                   "",
		"张三丰李四王五":            "张三***王五",
	} {
		if got := Mask(in); got != want {
			t.Errorf("Mask(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPhone(t *testing.T) {
	if got := MaskPhone("13812341234"); got != "138****1234" {
		t.Errorf("MaskPhone = %q", got)
	}
	if got := MaskPhone("010-1234"); got != "01****34" {
		t.Errorf("MaskPhone short = %q", got)
	}
	for in, want := range map[string]string{
		"13812341234":       "13812341234",
		"19912345678":       "19912345678",
		" 138 1234 1234 ":   "13812341234",
		"138-1234-1234":     "13812341234",
		"+8613812341234":    "13812341234",
		"008613812341234":   "13812341234",
		"8613812341234":     "13812341234",
		"１３８１２３４１２３４":       "13812341234",
		"12812341234":       "",
		"23812341234":       "",
		"1381234123":        "",
		"138123412345":      "",
		"1381234123a":       "",
		"+8612812341234":    "",
		"":                  "",
		"+86 138 1234 1234": "13812341234",
	} {
		got, err := ValidatePhone(in)
		if want == "" {
			var e *Error
			if !errors.As(err, &e) {
				t.Errorf("ValidatePhone(%q) = %q, %v; want error", in, got, err)
			} else if in != "" && e.Message != "手机号码格式不正确" {
				t.Errorf("ValidatePhone(%q) message %q", in, e.Message)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("ValidatePhone(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
