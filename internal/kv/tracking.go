package kv

import "fmt"

// iterState is the lifecycle of an iterator.
type iterState uint8

const (
	iterOpen          iterState = iota // usable
	iterClosedByUser                   // Close was called
	iterClosedByStore                  // the store closed it; Close not yet called
)

// tracked is an iterator that a store can close when the store itself is
// closed with the iterator still open.
type tracked interface {
	// forceClose releases the iterator's resources and leaves it in
	// iterClosedByStore, so that it reports ErrClosed.
	forceClose()
	// slot is the iterator's index in its registry's open slice, -1 when
	// not registered.
	slot() *int
}

// iterRegistry is a store's set of open iterators: a slice with O(1) add and
// remove (each iterator remembers its index; removal swaps the last one in).
// It costs no allocation once the slice has grown to the number of
// simultaneously open iterators. Like the store, it is used by one goroutine
// at a time.
type iterRegistry struct {
	open []tracked
}

func (r *iterRegistry) add(it tracked) {
	*it.slot() = len(r.open)
	r.open = append(r.open, it)
}

func (r *iterRegistry) remove(it tracked) {
	i := *it.slot()
	if i < 0 || i >= len(r.open) || r.open[i] != it {
		return
	}
	last := len(r.open) - 1
	if i != last {
		r.open[i] = r.open[last]
		*r.open[i].slot() = i
	}
	r.open[last] = nil
	r.open = r.open[:last]
	*it.slot() = -1
}

// closeAll force-closes every open iterator and returns how many there were.
func (r *iterRegistry) closeAll() int {
	n := len(r.open)
	for len(r.open) > 0 {
		it := r.open[len(r.open)-1]
		r.remove(it)
		it.forceClose()
	}
	return n
}

// leakError is the error a store's Close returns when it had to close n
// iterators, or nil if n is 0.
func leakError(what string, n int) error {
	if n == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s closed with %d iterator(s) still open", ErrIteratorLeak, what, n)
}

// closeIter implements Iterator.Close's state transitions for both engines.
// release frees the engine's resources and returns the error that stopped
// iteration, if any. It is called only for an open iterator.
func closeIter(state *iterState, release func() error) error {
	switch *state {
	case iterClosedByUser:
		return nil
	case iterClosedByStore:
		// The store cut iteration short: report it once, to the owner.
		*state = iterClosedByUser
		return ErrClosed
	}
	*state = iterClosedByUser
	return release()
}

// emptyValue is the non-nil, zero-length value returned for an empty value.
// Appending to it allocates, so sharing it is safe.
var emptyValue = []byte{}

// errIter is an iterator that yields nothing and reports err: returned by
// Iter on a closed store.
type errIter struct {
	err    error
	closed bool
}

func (it *errIter) Next() bool    { return false }
func (it *errIter) Key() []byte   { return nil }
func (it *errIter) Value() []byte { return nil }
func (it *errIter) Err() error    { return it.err }
func (it *errIter) Close() error {
	if it.closed {
		return nil
	}
	it.closed = true
	return it.err
}
