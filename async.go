package strata

import (
	"context"
	"time"

	"github.com/strata-go/strata/internal/engine"
)

// A processor may finish records on other goroutines (topology.Context's
// Hold and Post; engine/async.go): their results come back as functions
// posted to the task, which the worker runs in its loop. A post wakes the
// loop's poll, so results are applied, and their output produced, without
// waiting for the poll timeout. Pending records hold their partition's
// committable offset back, so commits never pass unfinished work.

// drainTimeout bounds how long a worker waits for pending records before a
// commit that a rebalance or a stop waits for; what is still pending then
// is processed again by the task's next owner.
const drainTimeout = 5 * time.Second

// posted is the tasks' OnPost: it wakes the loop, cancelling the poll it
// waits in, if any, on this goroutine, and leaves a wake for the next wait
// (the next poll's, drainPending's).
func (r *runner) posted(*engine.Task) {
	select {
	case r.wake <- struct{}{}:
	default:
	}
	if c := r.pollCancel.Load(); c != nil {
		(*c)()
	}
}

// runPosted runs what was posted to the active tasks. Called with mu held.
func (r *runner) runPosted() error {
	for _, t := range r.tasks {
		if err := r.processWith(t, t.RunPosted); err != nil {
			return err
		}
	}
	return nil
}

// pending counts the active tasks' pending records. Called with mu held.
func (r *runner) pending() int {
	n := 0
	for _, t := range r.tasks {
		n += t.Pending()
	}
	return n
}

// drainPending waits, at most drainTimeout, until no active task has a
// pending record, running what their work posts. Called with mu held.
func (r *runner) drainPending() error {
	if r.pending() == 0 {
		return nil
	}
	deadline := time.NewTimer(drainTimeout)
	defer deadline.Stop()
	for r.pending() > 0 {
		select {
		case <-r.wake:
		case <-deadline.C:
			r.log.Warn("records still pending after the wait; the tasks' next owners process them again", "pending", r.pending(), "waited", drainTimeout)
			return nil
		}
		if err := r.runPosted(); err != nil {
			return err
		}
	}
	return nil
}

// pollContext is the context of the loop's poll: it ends after wait, when
// ctx does, or, while records are pending, when a task's work posts a
// result (posted cancels it). Call the returned function once the poll
// returned.
func (r *runner) pollContext(ctx context.Context, wait time.Duration, pending bool) (context.Context, func()) {
	pctx, cancel := context.WithTimeout(ctx, wait)
	if !pending {
		return pctx, cancel
	}
	r.pollCancel.Store(&cancel)
	// A post before the Store left a wake: the poll returns at once,
	// and the loop runs what was posted after it.
	select {
	case <-r.wake:
		cancel()
	default:
	}
	return pctx, func() {
		r.pollCancel.Store(nil)
		cancel()
	}
}
