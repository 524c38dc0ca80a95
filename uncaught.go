package strata

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

// UncaughtErrorAction is what an App does about an error that stops one of
// its workers and that no record policy (OnBadRecord, OnProcessingError,
// OnProductionError) handled: Kafka Streams' StreamsUncaughtExceptionHandler
// responses.
type UncaughtErrorAction int

const (
	// StopInstance stops this instance: the worker that failed aborts,
	// committing nothing more, the other workers stop cleanly, and Run
	// returns the error. The failed work is processed again by whoever
	// takes the tasks over. Kafka Streams' SHUTDOWN_CLIENT, and the
	// default.
	StopInstance UncaughtErrorAction = iota
	// ReplaceWorker replaces the failed worker: it drops everything
	// uncommitted (under exactly-once its tasks' state is wiped and
	// restored), closes its Kafka client and joins the group again with
	// a new one, processing again from the last commit. Kafka Streams'
	// REPLACE_THREAD. If the same worker fails again and again
	// (replaceLimit times within replaceWindow: a record that fails
	// every time, for instance), the instance stops as with
	// StopInstance, with an error wrapping ErrWorkerReplacedRepeatedly.
	ReplaceWorker
	// StopApplication stops every instance of the application: this one
	// tells the others through the consumer group (a field of its
	// member metadata, which the group's leader sends on in every
	// member's assignment, as Kafka Streams' SHUTDOWN_APPLICATION uses
	// the assignment's error code), then stops as with StopInstance,
	// once the members of the other instances have left the group (at
	// most 30s after it asked, or when Run's context ends). The other
	// instances stop cleanly, and their Run returns an error wrapping
	// ErrApplicationStopped that says which instance asked and why.
	StopApplication
)

func (a UncaughtErrorAction) String() string {
	switch a {
	case StopInstance:
		return "stop-instance"
	case ReplaceWorker:
		return "replace-worker"
	case StopApplication:
		return "stop-application"
	}
	return fmt.Sprintf("UncaughtErrorAction(%d)", int(a))
}

// ErrApplicationStopped is wrapped by the error Run returns when another
// instance of the application asked every instance to stop
// (StopApplication).
var ErrApplicationStopped = errors.New("strata: the application was stopped by one of its instances")

// ErrWorkerReplacedRepeatedly is wrapped by the error Run returns when
// ReplaceWorker replaced one worker replaceLimit times within
// replaceWindow.
var ErrWorkerReplacedRepeatedly = errors.New("strata: worker failed repeatedly")

const (
	// replaceLimit failures of one worker within replaceWindow stop the
	// instance even under ReplaceWorker.
	replaceLimit  = 3
	replaceWindow = time.Minute
	// stopApplicationTimeout bounds how long a worker asking the
	// application to stop waits for the group to pass the word on, and
	// for the other instances to leave the group, before it stops
	// anyway.
	stopApplicationTimeout = 30 * time.Second
)

// appStop is how the instances of an application stop one another: what
// this instance asks (its reason, sent in its members' metadata), and what
// the group told it (which stops its workers).
type appStop struct {
	mu        sync.Mutex
	requested string
	// cancel stops every worker of the instance; set by runWorkers.
	cancel context.CancelFunc
	// run is Run's context, which cancel does not end; set by
	// runWorkers.
	run  context.Context
	err  error
	told chan struct{} // closed once the group said the application stops
}

// request records that this instance asks the application to stop.
func (s *appStop) request(reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.requested == "" {
		s.requested = reason
	}
}

// reason is what this instance's members send: why it asks the
// application to stop, or "".
func (s *appStop) reason() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requested
}

// tell is called by a member whose assignment says the application stops:
// every worker of the instance stops cleanly, and Run returns an error
// wrapping ErrApplicationStopped (unless this instance asked).
func (s *appStop) tell(reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return
	}
	s.err = fmt.Errorf("%w: %s", ErrApplicationStopped, reason)
	close(s.told)
	if s.cancel != nil {
		s.cancel()
	}
}

// runContext returns Run's context, or ctx if runWorkers did not set it.
func (s *appStop) runContext(ctx context.Context) context.Context {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.run == nil {
		return ctx
	}
	return s.run
}

// stopped returns the error the group told the instance to stop with, or
// nil.
func (s *appStop) stopped() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// uncaught applies Config.OnUncaughtError to err, which would stop the
// worker: it returns nil when the worker was replaced and goes on, or the
// error to stop with.
func (r *runner) uncaught(ctx context.Context, err error) error {
	if errors.Is(err, errStopping) || ctx.Err() != nil {
		return err
	}
	action := StopInstance
	if f := r.cfg.OnUncaughtError; f != nil {
		action = f(err)
	}
	switch action {
	case ReplaceWorker:
		if gerr := r.global.Err(); gerr != nil {
			// The instance's global stores stopped updating: a new
			// worker would not restart them.
			r.log.Error("the global stores failed; a new worker would not help, stopping the instance", "err", err)
			return err
		}
		if !r.replaced.add(time.Now(), replaceLimit, replaceWindow) {
			return fmt.Errorf("%w: worker %d failed %d times within %v: %w", ErrWorkerReplacedRepeatedly, r.index, replaceLimit, replaceWindow, err)
		}
		r.log.Error("worker failed; replacing it", "err", err)
		r.mu.Lock()
		aerr := r.abortTransaction()
		r.mu.Unlock()
		if aerr != nil {
			r.log.Warn("abort the failed worker's transaction", "err", aerr)
		}
		return r.reset(ctx, "replacing the failed worker", err)
	case StopApplication:
		return r.stopApplication(ctx, err)
	}
	return err
}

// stopApplication asks every instance of the application to stop because
// of err: the worker drops its uncommitted work, sends the request in its
// member metadata and makes the group rebalance, then waits, at most
// stopApplicationTimeout in all, until the group's answer reaches this
// instance and the other instances have left the group (awaitOthersLeft).
// It returns err, with which the worker stops.
func (r *runner) stopApplication(ctx context.Context, err error) error {
	reason := fmt.Sprintf("instance %q: %v", r.cfg.InstanceID, err)
	r.log.Error("stopping every instance of the application", "err", err)
	r.inst.stop.request(reason)
	r.mu.Lock()
	r.failed, r.stopped = true, true
	aerr := r.abortTransaction()
	cerr := r.closeTasks(ctx, nil, false)
	r.mu.Unlock()
	if e := errors.Join(aerr, cerr); e != nil {
		r.log.Warn("drop the failed worker's work", "err", e)
	}
	r.cl.AllowRebalance()
	r.cl.ForceRebalance()
	// The word cancels ctx (tell): the wait after it is bounded by
	// Run's context instead.
	run := r.inst.stop.runContext(ctx)
	wait, cancel := context.WithTimeout(run, stopApplicationTimeout)
	defer cancel()
	select {
	case <-r.inst.stop.told:
	case <-ctx.Done():
	case <-wait.Done():
	}
	switch {
	case r.inst.stop.stopped() != nil:
		r.awaitOthersLeft(wait)
	case ctx.Err() == nil:
		r.log.Warn("the group did not pass the request to stop the application on in time; stopping this instance", "waited", stopApplicationTimeout)
	}
	// Rebalances run freely now: nothing may take mu and end the
	// session any more (see abortTransaction). What abort would do is
	// done.
	r.release()
	r.log.Error("stopped on error", "err", err)
	return &stoppedError{err}
}

// awaitOthersLeft keeps the worker's member in the group, still asking the
// application to stop, until no member of another instance is left in it,
// or ctx ends. The group told this member, but perhaps not yet the others:
// a member that has not fetched its assignment (SyncGroup) when a member
// leaves is sent into a new rebalance instead, whose assignment would give
// it the failing task if no member asked to stop any more. While this
// member stays, every assignment the group makes carries the stop. The
// members told stop and leave (leaveOnStop); a member that does not leave
// holds this one until its session times out or ctx ends.
func (r *runner) awaitOthersLeft(ctx context.Context) {
	logged := false
	for {
		others, err := r.otherInstancesInGroup(ctx)
		switch {
		case err == nil && others == 0:
			return
		case err != nil && ctx.Err() == nil:
			r.log.Warn("look up the group's members", "err", err)
		case err == nil && !logged:
			logged = true
			r.log.Info("staying in the group until the other instances have left it", "members", others)
		}
		if !sleepCtx(ctx, minBackoff) {
			r.log.Warn("other instances are still in the group; stopping anyway", "err", context.Cause(ctx))
			return
		}
	}
}

// otherInstancesInGroup counts the group's members that belong to other
// instances than this one (by the process in their user data; a member
// whose user data is unreadable counts as another instance's).
func (r *runner) otherInstancesInGroup(ctx context.Context) (int, error) {
	described, err := r.adm.DescribeGroups(ctx, r.cfg.ApplicationID)
	if err == nil {
		err = described.Error()
	}
	if err != nil {
		return 0, fmt.Errorf("describe group %q: %w", r.cfg.ApplicationID, err)
	}
	others := 0
	for _, m := range described[r.cfg.ApplicationID].Members {
		if memberProcess(m) != r.cfg.InstanceID {
			others++
		}
	}
	return others, nil
}

// memberProcess returns the process (instance) a described group member
// sent in its user data, or "" if it sent none that can be read.
func memberProcess(m kadm.DescribedGroupMember) string {
	meta, ok := m.Join.AsConsumer()
	if !ok {
		return ""
	}
	data, err := parseTaskUserData(meta.UserData)
	if err != nil {
		return ""
	}
	return data.process
}

// stoppedError is an error a worker stopped with after it did all a stop
// does: the loop returns it as it is.
type stoppedError struct{ err error }

func (e *stoppedError) Error() string { return e.err.Error() }
func (e *stoppedError) Unwrap() error { return e.err }
