package strata

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
)

// ErrFenced is wrapped by the error Run returns when a worker's
// transactional producer keeps being fenced: FenceLimit times within
// fenceWindow. Each fencing alone is recovered from (see rejoinFenced); a
// series of them means that another producer keeps taking over the
// transactional ID, most likely another instance running with the same
// InstanceID, and rejoining again would only fence it in turn.
var ErrFenced = errors.New("strata: transactional producer fenced repeatedly")

const (
	// fenceLimit is how many fencings within fenceWindow stop a worker.
	fenceLimit  = 3
	fenceWindow = time.Minute
)

// isFenced reports whether err means another producer has taken over the
// worker's transactional ID (a newer epoch was initialised), so that this
// producer can never write again.
func isFenced(err error) bool {
	return errors.Is(err, kerr.ProducerFenced) || errors.Is(err, kerr.InvalidProducerEpoch)
}

// recent counts a worker's recent failures of one kind (fencings,
// replacements).
type recent struct{ at []time.Time }

// add records a failure at now and reports whether the worker may go on:
// fewer than limit failures within window up to now.
func (f *recent) add(now time.Time, limit int, window time.Duration) bool {
	kept := f.at[:0]
	for _, t := range f.at {
		if now.Sub(t) < window {
			kept = append(kept, t)
		}
	}
	f.at = append(kept, now)
	return len(f.at) < limit
}

// rejoinFenced recovers a worker whose producer was fenced, as Kafka
// Streams recovers from a TaskMigratedException: the open transaction is
// lost (the broker aborted it when the new epoch was initialised), so the
// worker resets (reset.go), unless it was fenced fenceLimit times within
// fenceWindow.
func (r *runner) rejoinFenced(ctx context.Context, cause error) error {
	id := transactionalID(r.cfg, r.index)
	if !r.fenced.add(time.Now(), fenceLimit, fenceWindow) {
		return fmt.Errorf("%w: %q fenced %d times within %v; is another instance running with InstanceID %q? %w",
			ErrFenced, id, fenceLimit, fenceWindow, r.cfg.InstanceID, cause)
	}
	if err := r.reset(ctx, fmt.Sprintf("transactional producer %q fenced", id), cause); err != nil {
		return err
	}
	r.app.metrics.fenced.Add(1)
	return nil
}
