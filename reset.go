package strata

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// A worker's loop meets three kinds of trouble besides its own bugs:
//
//   - transient: the brokers do not answer (an outage, a coordinator
//     moving, a rebalance racing a commit). Nothing is lost by waiting: the
//     worker logs at WARN, at most every warnInterval per kind, and goes
//     on, retrying at its next turn or commit.
//   - its client can no longer be trusted: a transaction whose end is
//     unknown (the brokers did not answer in time), a fenced producer. The
//     worker resets: it drops its uncommitted state, closes the client and
//     joins the group with a new one, retrying with backoff until the
//     brokers answer (reset).
//   - fatal: anything else, which stops the worker with the error.

// transientError marks a failure that waiting cures: the loop logs it and
// goes on.
type transientError struct {
	what string // what is being waited for
	err  error
}

func (e *transientError) Error() string { return e.what + ": " + e.err.Error() }
func (e *transientError) Unwrap() error { return e.err }

// transient marks err, from what, as transient.
func transient(what string, err error) error { return &transientError{what: what, err: err} }

// resetError marks a failure after which the worker's client cannot be
// trusted: the loop resets the worker.
type resetError struct{ err error }

func (e *resetError) Error() string { return e.err.Error() }
func (e *resetError) Unwrap() error { return e.err }

// errStopping is returned by reset when Run's context ended while it waited
// for the brokers: the worker has nothing left to commit or close.
var errStopping = errors.New("strata: stopping")

// warnInterval is how often a kind of transient failure is logged while it
// lasts.
const warnInterval = 10 * time.Second

// warnings rate-limits the WARN lines of transient failures: the first of a
// kind is logged, then at most one per warnInterval with how many there
// were meanwhile.
type warnings struct {
	mu   sync.Mutex
	last map[string]time.Time
	seen map[string]int
}

// warn logs err for kind, unless it was logged less than warnInterval ago.
func (w *warnings) warn(r *runner, kind string, err error) {
	w.mu.Lock()
	if w.last == nil {
		w.last, w.seen = map[string]time.Time{}, map[string]int{}
	}
	w.seen[kind]++
	now := time.Now()
	if now.Sub(w.last[kind]) < warnInterval {
		w.mu.Unlock()
		return
	}
	n := w.seen[kind]
	w.last[kind], w.seen[kind] = now, 0
	w.mu.Unlock()
	r.log.Warn("waiting for the brokers: "+kind, "err", err, "occurrences", n)
}

// fatalFetchError reports whether a fetch error cannot be cured by waiting:
// the app is not authorised to read.
func fatalFetchError(err error) bool {
	return errors.Is(err, kerr.TopicAuthorizationFailed) ||
		errors.Is(err, kerr.GroupAuthorizationFailed) ||
		errors.Is(err, kerr.ClusterAuthorizationFailed) ||
		errors.Is(err, kerr.TransactionalIDAuthorizationFailed)
}

// transientCommitError reports whether an offset commit failed in a way
// that a later commit can succeed: the brokers did not answer, the
// coordinator moved, or the group rebalanced (then the partitions'
// next owner processes from the last commit: at-least-once).
func transientCommitError(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || kgo.IsRetryableBrokerErr(err) {
		return true
	}
	var ke *kerr.Error
	if errors.As(err, &ke) && ke.Retriable {
		return true
	}
	return errors.Is(err, kerr.RebalanceInProgress) ||
		errors.Is(err, kerr.IllegalGeneration) ||
		errors.Is(err, kerr.UnknownMemberID) ||
		errors.Is(err, kerr.FencedInstanceID) ||
		errors.Is(err, kerr.CoordinatorNotAvailable) ||
		errors.Is(err, kerr.NotCoordinator)
}

// recover decides what the worker does about err from its loop: nil when
// it goes on (after waiting out a transient failure or resetting), the
// error when it must stop. ctx is Run's.
func (r *runner) recover(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	var te *transientError
	if errors.As(err, &te) {
		r.warns.warn(r, te.what, te.err)
		return nil
	}
	if ctx.Err() != nil {
		return err
	}
	if r.eos && isFenced(err) {
		return r.rejoinFenced(ctx, err)
	}
	var re *resetError
	if errors.As(err, &re) {
		return r.reset(ctx, "the worker's Kafka client is in an unknown state", re.err)
	}
	return err
}

// reset recovers a worker whose client cannot be trusted any more: a
// transaction whose end is unknown, or a fenced producer. As Kafka Streams
// does when a task migrates, it drops everything uncommitted: every task is
// closed without a checkpoint (under exactly-once its local state is then
// wiped at reopening and restored from the changelogs), and the client is
// closed. A new client then initialises the transactional producer, which
// fences the old one and aborts its open transaction, and joins the group;
// tasks open as they are assigned and processing resumes from the
// committed offsets. While the brokers do not answer, it retries with
// backoff, logging each failure at WARN, until they do or ctx (Run's) ends,
// which returns errStopping. Standby replicas are kept: they hold only
// committed data.
func (r *runner) reset(ctx context.Context, why string, cause error) error {
	r.log.Warn(why+"; dropping uncommitted state and joining the group again", "err", cause)
	r.mu.Lock()
	r.inTxn, r.polled = false, 0
	// Until the new client exists, a callback of the old one opens no
	// task.
	r.stopped = true
	err := r.closeTasks(ctx, nil, false)
	r.mu.Unlock()
	if err != nil {
		return fmt.Errorf("strata: close tasks to reset the worker: %w", err)
	}
	r.closeClient(r.cl)
	r.mu.Lock()
	r.stopped = false
	r.fatal = nil
	clear(r.committed)
	r.mu.Unlock()
	// The old client's promises report to the old state.
	r.output = newOutputState()
	r.rebalanced.Store(false)
	r.rebalanceWaits.Store(false)
	for attempt := 1; ; attempt++ {
		err := r.join(ctx)
		if err == nil {
			r.app.metrics.resets.Add(1)
			return nil
		}
		if ctx.Err() != nil {
			return errStopping
		}
		wait := backoff(attempt)
		r.log.Warn("joining the group again failed; retrying", "attempt", attempt, "retry_in", wait, "err", err)
		if !sleepCtx(ctx, wait) {
			return errStopping
		}
	}
}
