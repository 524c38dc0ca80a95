package strata

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
)

// State is the state of an App, as Kafka Streams' KafkaStreams.State. An
// App goes through them in this order, as Kafka Streams does:
//
//	Created ──Run──▶ Rebalancing ◀──▶ Running
//	                      │  │            │  │
//	                      │  └────────────┼──┴──▶ PendingShutdown ──▶ NotRunning
//	                      └───────────────┴─────▶ PendingError ─────▶ Error
//
// Rebalancing lasts from Run's start until every worker has joined the
// group, got its assignment and restored the state of every task it runs;
// the App goes back to it whenever a worker's rebalance begins (a member
// joins or leaves, the worker's client is replaced) and stays until that
// worker is assigned again and has restored what it got. Running means
// every active task of every worker is restored and processing: the state
// in which an orchestrator should route traffic to the instance. When
// Run's context is cancelled the App is PendingShutdown while it stops
// cleanly, then NotRunning. When processing fails (Run is about to return
// an error: a worker stopped on an error no policy handled, the group said
// the application stops, the App could not start), it is PendingError while
// the other workers stop, then Error. NotRunning and Error are final: an
// App runs once.
type State int32

const (
	// Created: New returned the App; Run has not been called.
	Created State = iota
	// Rebalancing: the App is starting, or a worker is rebalancing or
	// restoring state.
	Rebalancing
	// Running: every worker is assigned and every active task is
	// restored and processing.
	Running
	// PendingShutdown: Run's context was cancelled; the App is stopping
	// cleanly.
	PendingShutdown
	// NotRunning: Run returned after a clean stop.
	NotRunning
	// PendingError: processing failed; the App is stopping.
	PendingError
	// Error: Run returned an error.
	Error
)

func (s State) String() string {
	switch s {
	case Created:
		return "CREATED"
	case Rebalancing:
		return "REBALANCING"
	case Running:
		return "RUNNING"
	case PendingShutdown:
		return "PENDING_SHUTDOWN"
	case NotRunning:
		return "NOT_RUNNING"
	case PendingError:
		return "PENDING_ERROR"
	case Error:
		return "ERROR"
	}
	return fmt.Sprintf("State(%d)", int32(s))
}

// validTransition reports whether an App may go from one state to
// another: Kafka Streams' KafkaStreams.State transitions.
func validTransition(from, to State) bool {
	switch from {
	case Created:
		return to == Rebalancing || to == PendingShutdown
	case Rebalancing:
		return to == Running || to == PendingShutdown || to == PendingError
	case Running:
		return to == Rebalancing || to == PendingShutdown || to == PendingError
	case PendingShutdown:
		return to == NotRunning
	case PendingError:
		return to == Error
	}
	return false
}

// State returns the App's current state.
func (a *App) State() State { return a.state.get() }

// appState is an App's state and what decides it: whether each worker is
// running.
type appState struct {
	cur      atomic.Int32
	mu       sync.Mutex // orders transitions and listener calls
	listener func(newState, oldState State)
	// running says, by worker index, whether each worker is assigned and
	// has restored all its active tasks.
	running []bool
}

func newAppState(listener func(newState, oldState State)) *appState {
	return &appState{listener: listener}
}

func (s *appState) get() State { return State(s.cur.Load()) }

// to moves to state to if that is a valid transition, telling the
// listener; it reports whether it moved. Called with mu held.
func (s *appState) to(to State) bool {
	from := s.get()
	if from == to || !validTransition(from, to) {
		return false
	}
	s.cur.Store(int32(to))
	if s.listener != nil {
		s.listener(to, from)
	}
	return true
}

// set moves to state to, if valid.
func (s *appState) set(to State) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.to(to)
}

// start is Run's start with workers workers: the App rebalances until each
// is running.
func (s *appState) start(workers int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.running = make([]bool, workers)
	s.to(Rebalancing)
}

// worker records whether worker i is running, and moves the App between
// Rebalancing and Running accordingly.
func (s *appState) worker(i int, running bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i >= len(s.running) || s.running[i] == running {
		return
	}
	s.running[i] = running
	switch cur := s.get(); {
	case cur != Rebalancing && cur != Running:
	case !running:
		s.to(Rebalancing)
	case !contains(s.running, false):
		s.to(Running)
	}
}

func contains(bs []bool, b bool) bool {
	for _, x := range bs {
		if x == b {
			return true
		}
	}
	return false
}

// stopped is Run's end: NotRunning after a clean stop (err nil, or the
// App already shutting down), Error otherwise, through the pending state.
func (s *appState) stopped(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil || s.get() == PendingShutdown {
		s.to(PendingShutdown)
		s.to(NotRunning)
		return
	}
	s.to(PendingError)
	s.to(Error)
}

// startRebalance marks the worker as rebalancing, unless it is stopping: a
// rebalance of its group began, or it is joining the group. Called with mu
// held.
func (r *runner) startRebalance() {
	if r.stopped {
		return
	}
	r.inRebalance = true
	r.updateState()
}

// updateState reports whether the worker is running: not rebalancing, and
// restoring no task. The poll loop calls it on every turn, and the
// assignment callback once the assignment is in. Called with mu held.
func (r *runner) updateState() {
	running := !r.inRebalance && r.restoringCount.Load() == 0
	if running != r.reportedRunning {
		r.reportedRunning = running
		r.app.state.worker(r.index, running)
	}
}

// watch moves the App to PendingShutdown when ctx is cancelled, until the
// function it returns is called, which waits for it to stop watching.
func (s *appState) watch(ctx context.Context) (stop func()) {
	done, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		select {
		case <-ctx.Done():
			s.set(PendingShutdown)
		case <-done:
		}
	}()
	return func() {
		close(done)
		<-exited
	}
}
