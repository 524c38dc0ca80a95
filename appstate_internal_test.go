package strata

import (
	"errors"
	"fmt"
	"testing"
)

// TestAppStateWorkers checks how workers' progress makes the App's state:
// Running once every worker runs, Rebalancing while any does not, and the
// transitions of a stop.
func TestAppStateWorkers(t *testing.T) {
	var got []string
	s := newAppState(func(n, o State) { got = append(got, fmt.Sprintf("%v->%v", o, n)) })
	s.worker(0, true) // before Run: ignored
	s.start(2)
	s.worker(0, true)
	if s.get() != Rebalancing {
		t.Fatalf("one of two workers running: %v", s.get())
	}
	s.worker(1, true)
	s.worker(1, false)
	s.worker(1, true)
	s.worker(1, true)
	s.set(PendingShutdown)
	s.worker(0, false) // while stopping: no change
	s.stopped(errors.New("a failed commit on stop"))
	want := "[CREATED->REBALANCING REBALANCING->RUNNING RUNNING->REBALANCING REBALANCING->RUNNING RUNNING->PENDING_SHUTDOWN PENDING_SHUTDOWN->NOT_RUNNING]"
	if fmt.Sprint(got) != want {
		t.Errorf("transitions %v, want %s", got, want)
	}

	got = nil
	s = newAppState(func(n, o State) { got = append(got, fmt.Sprintf("%v->%v", o, n)) })
	s.start(1)
	s.set(PendingError)
	s.set(Running) // too late
	s.stopped(errors.New("boom"))
	if want := "[CREATED->REBALANCING REBALANCING->PENDING_ERROR PENDING_ERROR->ERROR]"; fmt.Sprint(got) != want {
		t.Errorf("transitions %v, want %s", got, want)
	}
	if State(42).String() != "State(42)" {
		t.Errorf("unknown state prints %q", State(42))
	}
}
