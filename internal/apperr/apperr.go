// Package apperr defines Gatehouse's typed domain errors. Domain code returns them; the
// API edge maps each Kind to one HTTP status and a JSON body (api/errors.go), so driver
// and engine errors never reach clients.
package apperr

import (
	"errors"
	"fmt"
)

// Kind classifies an error by what the caller can do about it.
type Kind int

const (
	Internal        Kind = iota // a bug or an unexpected failure: generic message to clients
	Invalid                     // bad input: which field, why
	Unauthenticated             // no, invalid or expired credentials
	Forbidden                   // authenticated but not allowed
	NotFound                    // absent, or not visible to the caller
	Conflict                    // exists already, in use, already activated
	TooLarge                    // body over the limit
	RateLimited                 // too many attempts
	Unavailable                 // a dependency is down: fail closed
	NotActivated                // the platform is not activated yet (P1)
)

// Error is a domain error. Code is a stable snake_case identifier for clients; Message a
// human sentence safe to show; Field the offending input field, if any.
type Error struct {
	Kind    Kind
	Code    string
	Message string
	Field   string
	Details map[string]any
	Err     error // the cause, for logs only
}

func (e *Error) Error() string {
	msg := e.Message
	if e.Field != "" {
		msg = e.Field + ": " + msg
	}
	if e.Err != nil {
		return msg + ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an error of kind k with a code and a message.
func New(k Kind, code, format string, args ...any) *Error {
	return &Error{Kind: k, Code: code, Message: fmt.Sprintf(format, args...)}
}

// InvalidField reports bad input in one field.
func InvalidField(field, format string, args ...any) *Error {
	return &Error{Kind: Invalid, Code: "invalid_argument", Field: field, Message: fmt.Sprintf(format, args...)}
}

// Forbid reports an authenticated caller that may not do something.
func Forbid(format string, args ...any) *Error {
	return &Error{Kind: Forbidden, Code: "permission_denied", Message: fmt.Sprintf(format, args...)}
}

// Unauthenticated is the one answer for every bad credential, so that unknown tokens and
// wrong secrets cannot be told apart.
func Unauth() *Error {
	return &Error{Kind: Unauthenticated, Code: "unauthenticated", Message: "missing, invalid or expired token"}
}

// WithDetails returns e with a details entry added.
func (e *Error) WithDetails(key string, v any) *Error {
	if e.Details == nil {
		e.Details = map[string]any{}
	}
	e.Details[key] = v
	return e
}

// WithCause returns e with err recorded as its cause (for logs).
func (e *Error) WithCause(err error) *Error {
	e.Err = err
	return e
}

// KindOf returns the Kind of err, Internal when err is not an *Error.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}
