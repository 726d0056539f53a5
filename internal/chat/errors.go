package chat

import (
	"errors"
	"fmt"
	"time"
)

// Kind classifies an error so the HTTP edge can map it to a status code once.
type Kind int

const (
	KindInternal         Kind = iota // a bug or an unexpected failure: 500
	KindInvalid                      // the request is wrong: 400
	KindNotFound                     // no such conversation, message or model: 404
	KindConflict                     // the state forbids it now (a reply is running): 409
	KindTooLarge                     // over a configured size limit: 413
	KindRateLimited                  // over a configured rate limit: 429
	KindUnavailable                  // a dependency (model, database) is down: 503
	KindUpstream                     // a dependency answered with garbage or broke off: 502
	KindTimeout                      // a configured time limit ran out: 504
	KindUnauthenticated              // no valid session or API key: 401
	KindForbidden                    // signed in, but not allowed to do this: 403
	KindUnsupportedMedia             // a body that is not JSON: 415
)

func (k Kind) String() string {
	switch k {
	case KindInvalid:
		return "invalid_request_error"
	case KindNotFound:
		return "not_found_error"
	case KindConflict:
		return "conflict_error"
	case KindTooLarge:
		return "request_too_large"
	case KindRateLimited:
		return "rate_limit_error"
	case KindUnavailable:
		return "service_unavailable"
	case KindUpstream:
		return "upstream_error"
	case KindTimeout:
		return "timeout_error"
	case KindUnauthenticated:
		return "authentication_error"
	case KindForbidden:
		return "permission_error"
	case KindUnsupportedMedia:
		return "invalid_request_error"
	default:
		return "internal_error"
	}
}

// Error is a domain error: a kind, a message safe to show to a client, an
// optional machine-readable code, and the underlying cause (never shown to
// clients, logged instead).
type Error struct {
	Kind    Kind
	Code    string
	Message string
	Err     error
	// RetryAfter, for KindRateLimited, is how long the client should wait
	// before trying again (0: the edge's default).
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error of kind k whose client-safe message is the
// formatted text. A %w verb wraps a cause as usual; its text becomes part of
// the message, so wrap with E when the cause must stay private.
func Errorf(k Kind, format string, args ...any) *Error {
	err := fmt.Errorf(format, args...)
	return &Error{Kind: k, Message: err.Error(), Err: errors.Unwrap(err)}
}

// E returns an *Error of kind k with a client-safe message and a private
// cause.
func E(k Kind, message string, cause error) *Error {
	return &Error{Kind: k, Message: message, Err: cause}
}

// KindOf returns the kind of the first *Error in err's chain, or
// KindInternal.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// MessageOf returns the client-safe message of the first *Error in err's
// chain, or a generic text for anything else, so internals never leak.
func MessageOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// CodeOf returns the machine-readable code of the first *Error in err's
// chain, or "".
func CodeOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// RetryAfterOf returns the RetryAfter of the first *Error in err's chain,
// or 0.
func RetryAfterOf(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}
