package strata

import "github.com/strata-go/strata/internal/kv"

// Crash makes a running App stop as a crashed process would, in the middle
// of its work: nothing more is flushed, committed or checkpointed. Run then
// returns ErrCrashed.
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
