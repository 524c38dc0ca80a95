package engine

import "sync/atomic"

// A node that hands records to other goroutines (an outcome handler running
// many records at once) bounds how many it holds: while it is at its bound
// it is busy, and the task takes no more records (ProcessOne reports
// false, the records stay buffered in their queues). The runtime pauses the
// partitions of a busy task, so that nothing more is fetched for it, and
// resumes them once the task is no longer busy; buffering stays bounded.

// AddBusyCheck registers busy, a node's report of whether it is at its
// bound and the task must not take records now. Call it from the node's
// Init; busy runs on the task's goroutine.
func (t *Task) AddBusyCheck(busy func() bool) {
	t.busy = append(t.busy, busy)
}

// Busy reports whether a node of the task is at its bound (AddBusyCheck):
// the task takes no records until it is not.
func (t *Task) Busy() bool {
	for _, b := range t.busy {
		if b() {
			return true
		}
	}
	return false
}

// InFlightLimit bounds the records the tasks of an instance hold at once in
// nodes that handle records on other goroutines: shared by the tasks
// (TaskConfig.InFlight), safe for concurrent use. Nodes Acquire a slot for
// each record they take and Release it when the record is done; a node
// whose task should take no more while the limit is reached reports busy
// while Full. A nil *InFlightLimit is no limit.
type InFlightLimit struct {
	max int64
	n   atomic.Int64
}

// NewInFlightLimit returns a limit of max records; max ≤ 0 is no limit
// (nil).
func NewInFlightLimit(max int) *InFlightLimit {
	if max <= 0 {
		return nil
	}
	return &InFlightLimit{max: int64(max)}
}

// Acquire counts one more record in flight.
func (l *InFlightLimit) Acquire() {
	if l != nil {
		l.n.Add(1)
	}
}

// Release counts one record fewer in flight.
func (l *InFlightLimit) Release() {
	if l != nil {
		l.n.Add(-1)
	}
}

// Full reports whether the limit is reached. Tasks on several goroutines
// check it before they take a record, so the count may pass the limit by
// one record per goroutine processing tasks.
func (l *InFlightLimit) Full() bool {
	return l != nil && l.n.Load() >= l.max
}

// InFlight returns the records in flight.
func (l *InFlightLimit) InFlight() int {
	if l == nil {
		return 0
	}
	return int(l.n.Load())
}
