package strata

import (
	"time"

	"github.com/strata-go/strata/internal/kv"
)

// Crash makes a running App stop as a crashed process would, in the middle
// of its work: nothing more is flushed, committed or checkpointed. Run then
// returns ErrCrashed. Unlike a crashed process, each worker's member then
// leaves the group, a static member by an explicit LeaveGroup for its
// instance ID, so that the group does not wait for its session to time
// out: crash tests stay fast.
func Crash(a *App) { close(a.crash) }

// ErrCrashed is returned by Run after Crash.
var ErrCrashed = errCrashed

// SetCheckpoint makes the closed task directory dir's checkpoint offsets,
// in its checkpoint file and in its database's record of it, as a clean
// stop at those offsets would have.
func SetCheckpoint(dir string, offsets map[string]int64) error {
	db, err := kv.OpenPebble(dir, kv.PebbleOptions{})
	if err != nil {
		return err
	}
	err = db.FlushMeta(encodeCheckpoint(offsets))
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return writeCheckpoint(dir, offsets)
}

// SetPartitionCheckInterval sets how often a running App looks up its
// source topics' partition counts, for the tests that change them, and
// returns a function that restores the default. Not for parallel tests.
func SetPartitionCheckInterval(d time.Duration) (restore func()) {
	old := partitionCheckInterval
	partitionCheckInterval = d
	return func() { partitionCheckInterval = old }
}
