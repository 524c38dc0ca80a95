package strata

import "time"

// Crash makes a running App stop as a crashed process would, in the middle
// of its work: nothing more is flushed, committed or checkpointed. Run then
// returns ErrCrashed. Unlike a crashed process, each worker's member then
// leaves the group, a static member by an explicit LeaveGroup for its
// instance ID, so that the group does not wait for its session to time
// out: crash tests stay fast.
func Crash(a *App) { close(a.crash) }

// ErrCrashed is returned by Run after Crash.
var ErrCrashed = errCrashed

// SetPartitionCheckInterval sets how often a running App looks up its
// source topics' partition counts, for the tests that change them, and
// returns a function that restores the default. Not for parallel tests.
func SetPartitionCheckInterval(d time.Duration) (restore func()) {
	old := partitionCheckInterval
	partitionCheckInterval = d
	return func() { partitionCheckInterval = old }
}
