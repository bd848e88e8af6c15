// Package apperr defines errors that carry a GraphQL extensions.code and a
// message a person understands. Services return them; the error presenter in
// internal/server turns them (and ent/privacy errors) into GraphQL errors.
package apperr

import (
	"errors"
	"fmt"
)

// Code is the value of extensions.code.
type Code string

// Codes used across the API.
const (
	BadInput        Code = "BAD_USER_INPUT"
	Unauthenticated Code = "UNAUTHENTICATED"
	Forbidden       Code = "FORBIDDEN"
	NotFound        Code = "NOT_FOUND"
	Conflict        Code = "CONFLICT"
	CaptchaRequired Code = "CAPTCHA_REQUIRED"
	AccountLocked   Code = "ACCOUNT_LOCKED"
	TooManyRequests Code = "TOO_MANY_REQUESTS"
	Internal        Code = "INTERNAL"
)

// Error is a user-facing error.
type Error struct {
	Code    Code
	Message string         // shown to the user (Chinese for end users)
	Field   string         // input field at fault, if any
	Extra   map[string]any // more extensions (e.g. captchaRequired, retryAfterSeconds)
	cause   error
}

func (e *Error) Error() string { return e.Message }

// Unwrap returns the underlying cause (never shown to users).
func (e *Error) Unwrap() error { return e.cause }

// New returns an error with code and message.
func New(code Code, msg string) *Error { return &Error{Code: code, Message: msg} }

// Newf formats the message.
func Newf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Input reports bad input in a field.
func Input(field, msg string) *Error { return &Error{Code: BadInput, Message: msg, Field: field} }

// With adds an extension.
func (e *Error) With(key string, v any) *Error {
	if e.Extra == nil {
		e.Extra = map[string]any{}
	}
	e.Extra[key] = v
	return e
}

// Wrap keeps cause for logs while showing msg.
func Wrap(cause error, code Code, msg string) *Error {
	return &Error{Code: code, Message: msg, cause: cause}
}

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// Is reports whether err carries the code.
func Is(err error, code Code) bool {
	e, ok := As(err)
	return ok && e.Code == code
}
