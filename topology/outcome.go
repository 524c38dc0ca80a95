package topology

import (
	"errors"
	"strconv"
)

// Outcome is what a handler's function says became of a record (see
// [AddHandler] and kstream's Handle): it succeeded, is to be retried (with
// the error), goes to the dead set (with a reason) or is skipped. Make one
// with [Success], [Retry], [DeadLetter] or [Skip]; the zero Outcome is
// Success. An Outcome costs no allocation beyond the error it carries.
type Outcome struct {
	kind   outcomeKind
	err    error
	reason string
}

type outcomeKind uint8

const (
	outcomeSuccess outcomeKind = iota
	outcomeRetry
	outcomeDeadLetter
	outcomeSkip
)

// Success says the record was handled.
func Success() Outcome { return Outcome{} }

// Retry says the record failed with err and should be tried again, as the
// handler's retry policy says; after the policy's last attempt it goes to
// the dead set (reason "retries-exhausted", the message err's text). A nil
// err counts as an error saying "retry requested".
func Retry(err error) Outcome {
	if err == nil {
		err = errRetryRequested
	}
	return Outcome{kind: outcomeRetry, err: err}
}

var errRetryRequested = errors.New("retry requested")

// DeadLetter says the record cannot be handled, for reason, and retrying
// will not help: it goes to the dead set at once, with reason as the
// dead-letter reason and message.
func DeadLetter(reason string) Outcome {
	if reason == "" {
		reason = "dead-lettered by the handler"
	}
	return Outcome{kind: outcomeDeadLetter, reason: reason}
}

// Skip says the record is not for this handler: nothing is done with it,
// and it counts as skipped in the handler's metrics.
func Skip() Outcome { return Outcome{kind: outcomeSkip} }

// IsSuccess reports whether o is Success.
func (o Outcome) IsSuccess() bool { return o.kind == outcomeSuccess }

// Err returns the error of a Retry outcome, nil for the others.
func (o Outcome) Err() error { return o.err }

// String returns "success", "retry: <error>", "dead-letter: <reason>" or
// "skip".
func (o Outcome) String() string {
	switch o.kind {
	case outcomeSuccess:
		return "success"
	case outcomeRetry:
		return "retry: " + o.err.Error()
	case outcomeDeadLetter:
		return "dead-letter: " + o.reason
	case outcomeSkip:
		return "skip"
	}
	return "Outcome(" + strconv.Itoa(int(o.kind)) + ")"
}
