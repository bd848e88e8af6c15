package idcard

import "strings"

// Mask hides the middle of a document number for display and logs: numbers of
// 15+ characters (resident IDs and the like) keep the first 6 and last 4,
// shorter ones keep the first 2 and last 2, and 4 or fewer are fully hidden.
func Mask(number string) string {
	r := []rune(number)
	switch n := len(r); {
	case n >= 15:
		return keepEnds(r, 6, 4)
	case n > 4:
		return keepEnds(r, 2, 2)
	default:
		return strings.Repeat("*", n)
	}
}

// MaskPhone shows an 11-digit mobile as "138****1234"; anything else falls
// back to Mask.
func MaskPhone(phone string) string {
	r := []rune(phone)
	if len(r) == 11 {
		return string(r[:3]) + "****" + string(r[7:])
	}
	return Mask(phone)
}

func keepEnds(r []rune, head, tail int) string {
	return string(r[:head]) + strings.Repeat("*", len(r)-head-tail) + string(r[len(r)-tail:])
}

// ValidatePhone checks a mainland mobile number (11 digits, 1[3-9]...) and
// returns it as bare digits. Spaces, hyphens and a +86/0086 prefix, as people
// commonly type them, are removed first.
func ValidatePhone(s string) (string, error) {
	n := strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, normalize(s))
	if n == "" {
		return "", newErr(ReasonEmpty, "请输入手机号码")
	}
	for _, p := range []string{"+86", "0086", "86"} {
		if len(n) == 11+len(p) && strings.HasPrefix(n, p) {
			n = n[len(p):]
			break
		}
	}
	if len(n) != 11 || !allDigits(n) || n[0] != '1' || n[1] < '3' {
		return "", newErr(ReasonFormat, "手机号码格式不正确")
	}
	return n, nil
}
