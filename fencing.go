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

// fences counts a worker's recent fencings.
type fences struct{ at []time.Time }

// add records a fencing at now and reports whether the worker may rejoin:
// fewer than fenceLimit fencings within fenceWindow up to now.
func (f *fences) add(now time.Time) bool {
	recent := f.at[:0]
	for _, t := range f.at {
		if now.Sub(t) < fenceWindow {
			recent = append(recent, t)
		}
	}
	f.at = append(recent, now)
	return len(f.at) < fenceLimit
}

// rejoinFenced recovers a worker whose producer was fenced, as Kafka
// Streams recovers from a TaskMigratedException: the open transaction is
// lost (the broker aborted it when the new epoch was initialised), so every
// task is closed without a checkpoint, which under exactly-once wipes its
// local state at reopening; the client leaves the group; a new client
// initialises the producer again, which fences whoever had taken the
// transactional ID over, and joins the group. Tasks then open as they are
// assigned, restored from the changelogs, and processing resumes from the
// committed offsets. Standby replicas are kept: they hold only committed
// data.
func (r *runner) rejoinFenced(ctx context.Context, cause error) error {
	id := transactionalID(r.cfg, r.index)
	if !r.fenced.add(time.Now()) {
		return fmt.Errorf("%w: %q fenced %d times within %v; is another instance running with InstanceID %q? %w",
			ErrFenced, id, fenceLimit, fenceWindow, r.cfg.InstanceID, cause)
	}
	r.log.Warn("transactional producer fenced; dropping uncommitted state and rejoining the group", "transactional_id", id, "err", cause)
	r.mu.Lock()
	r.inTxn, r.polled = false, 0
	// Until the new client exists, a callback of the old one opens no
	// task.
	r.stopped = true
	err := r.closeTasks(ctx, nil, false)
	r.mu.Unlock()
	if err != nil {
		return fmt.Errorf("strata: close tasks after fencing: %w", err)
	}
	r.cl.AllowRebalance()
	r.cl.Close()
	r.mu.Lock()
	r.stopped = false
	clear(r.committed)
	r.mu.Unlock()
	// Produce errors of the fenced transaction are its own.
	r.produceErr.Store(nil)
	r.rebalanced.Store(false)
	if err := r.join(ctx); err != nil {
		return fmt.Errorf("strata: rejoin after fencing: %w", err)
	}
	r.app.metrics.fenced.Add(1)
	return nil
}
