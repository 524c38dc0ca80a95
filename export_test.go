package strata

// Crash makes a running App stop as a crashed process would, in the middle
// of its work: nothing more is flushed, committed or checkpointed. Run then
// returns ErrCrashed.
func Crash(a *App) { close(a.crash) }

// ErrCrashed is returned by Run after Crash.
var ErrCrashed = errCrashed
