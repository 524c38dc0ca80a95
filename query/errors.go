package query

import (
	"errors"

	"github.com/strata-go/strata/internal/iq"
)

// Errors of queries. Test for them with errors.Is; the error's message
// names the store and partition.
var (
	// ErrUnknownStore: the topology has no store of that name. Asking
	// again does not help.
	ErrUnknownStore = iq.ErrUnknownStore
	// ErrStoreType: the store is another kind of store, or holds other
	// key or value types, than the handle asked for. Asking again does
	// not help.
	ErrStoreType = iq.ErrStoreType
	// ErrNotLocal: this instance does not run the key's partition; ask the
	// instance KeyMetadata names (the HTTP handler does).
	ErrNotLocal = iq.ErrNotLocal
	// ErrRebalancing: the partition is moving between instances, or its
	// state is being restored; ask again shortly, after looking up where
	// the key lives again.
	ErrRebalancing = iq.ErrRebalancing
	// ErrNotRunning: the source is not running: the App was not started
	// or has stopped, the view is not open. Ask another instance.
	ErrNotRunning = iq.ErrNotRunning
	// ErrUnavailable: over HTTP, the instance holding the key did not
	// answer in time, or could not be reached. Ask again shortly.
	ErrUnavailable = errors.New("query: the instance holding the partition did not answer")
)

// Retriable reports whether err says that the same query may succeed if it
// is made again shortly, possibly of another instance: ErrNotLocal,
// ErrRebalancing, ErrNotRunning or ErrUnavailable.
func Retriable(err error) bool {
	return errors.Is(err, ErrNotLocal) || errors.Is(err, ErrRebalancing) ||
		errors.Is(err, ErrNotRunning) || errors.Is(err, ErrUnavailable)
}
