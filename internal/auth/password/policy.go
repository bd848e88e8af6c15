// Package password enforces the account password policy and hashes passwords
// with argon2id.
package password

import (
	"bufio"
	_ "embed"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Reason is a machine-readable cause of a policy failure.
type Reason string

// Policy failure reasons.
const (
	ReasonTooShort    Reason = "TOO_SHORT"
	ReasonTooLong     Reason = "TOO_LONG"
	ReasonAllDigits   Reason = "ALL_DIGITS"
	ReasonCommon      Reason = "COMMON"
	ReasonSameAsLogin Reason = "SAME_AS_LOGIN"
)

// Length limits, in characters (runes), not bytes.
const (
	MinLength = 8
	MaxLength = 128
)

// PolicyError is returned by Check and CheckFor. Message is for the end user.
type PolicyError struct {
	Reason  Reason
	Message string
}

func (e *PolicyError) Error() string { return e.Message }

// Is matches on Reason, so errors.Is(err, password.ErrTooShort) works.
func (e *PolicyError) Is(target error) bool {
	t, ok := target.(*PolicyError)
	return ok && t.Reason == e.Reason
}

// Sentinels for errors.Is. Returned errors are copies of these.
var (
	ErrTooShort    = &PolicyError{ReasonTooShort, "密码至少需要8个字符"}
	ErrTooLong     = &PolicyError{ReasonTooLong, "密码不能超过128个字符"}
	ErrAllDigits   = &PolicyError{ReasonAllDigits, "密码不能全部为数字"}
	ErrCommon      = &PolicyError{ReasonCommon, "密码过于常见，请换一个更安全的密码"}
	ErrSameAsLogin = &PolicyError{ReasonSameAsLogin, "密码不能与账号相同"}
)

func fail(e *PolicyError) error { c := *e; return &c }

//go:embed common.txt
var commonTxt string

var (
	commonOnce sync.Once
	commonSet  map[string]struct{}
)

func common() map[string]struct{} {
	commonOnce.Do(func() {
		commonSet = make(map[string]struct{}, 4096)
		sc := bufio.NewScanner(strings.NewReader(commonTxt))
		for sc.Scan() {
			if w := strings.TrimSpace(sc.Text()); w != "" {
				commonSet[strings.ToLower(w)] = struct{}{}
			}
		}
	})
	return commonSet
}

// IsCommon reports whether pw is on the shipped list of common passwords,
// ignoring case.
func IsCommon(pw string) bool {
	_, ok := common()[strings.ToLower(pw)]
	return ok
}

// Check applies the password policy.
func Check(pw string) error {
	n := utf8.RuneCountInString(pw)
	switch {
	case n < MinLength:
		return fail(ErrTooShort)
	case n > MaxLength:
		return fail(ErrTooLong)
	case allDigits(pw):
		return fail(ErrAllDigits)
	case IsCommon(pw):
		return fail(ErrCommon)
	}
	return nil
}

// CheckFor applies the policy and also rejects the account's own login
// (compared ignoring case, e.g. an ID number ending in x or X). An empty
// login is ignored.
func CheckFor(pw, login string) error {
	if err := Check(pw); err != nil {
		return err
	}
	if l := strings.TrimSpace(login); l != "" && strings.EqualFold(strings.TrimSpace(pw), l) {
		return fail(ErrSameAsLogin)
	}
	return nil
}

// allDigits counts any Unicode decimal digit, so full-width "１２３４５６７８"
// typed through a Chinese IME is caught too.
func allDigits(s string) bool {
	for _, r := range s {
		if !unicode.IsDigit(r) {
			return false
		}
	}
	return true
}
