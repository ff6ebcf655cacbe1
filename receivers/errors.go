package receivers

import (
	"errors"
	"time"
)

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err as not worth retrying: bad credentials, a rejected payload.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// ThrottledError means the destination asked us to slow down.
type ThrottledError struct {
	Err error
	// RetryAfter is how long the destination asked us to wait; 0 when it did not say.
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string { return e.Err.Error() }
func (e *ThrottledError) Unwrap() error { return e.Err }

// Throttled wraps err as a rate-limit answer that asked for a pause of after.
func Throttled(err error, after time.Duration) error {
	return &ThrottledError{Err: err, RetryAfter: after}
}

type partialError struct{ err error }

func (e *partialError) Error() string { return e.err.Error() }
func (e *partialError) Unwrap() error { return e.err }

// Partial reports a delivery that reached some of its destinations (some email
// recipients) while the others refused it for good. The notification counts as sent; err
// says who was missed, and is logged, counted and kept as its last error.
func Partial(err error) error {
	if err == nil {
		return nil
	}
	return &partialError{err: err}
}

// IsPartial reports whether err was made by Partial.
func IsPartial(err error) bool {
	var p *partialError
	return errors.As(err, &p)
}

// FieldError is a configuration problem in one field of a receiver's config. The config
// package prefixes Field with the receiver's path and finds its line.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

type limitedError struct {
	err      error
	attempts int
}

func (e *limitedError) Error() string { return e.err.Error() }
func (e *limitedError) Unwrap() error { return e.err }

// LimitedRetries marks err as worth retrying, but only until the notification has had
// attempts attempts in all; then it is dead. It is for answers nobody documented (an
// unknown error code): perhaps passing, perhaps not, and not worth retrying for hours.
func LimitedRetries(err error, attempts int) error {
	if err == nil {
		return nil
	}
	return &limitedError{err: err, attempts: attempts}
}

// RetryLimit is the number of attempts LimitedRetries allowed for err; ok is false when
// err carries no limit.
func RetryLimit(err error) (attempts int, ok bool) {
	var l *limitedError
	if errors.As(err, &l) {
		return l.attempts, true
	}
	return 0, false
}
