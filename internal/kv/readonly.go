package kv

import "errors"

// ErrReadOnly is returned by the writes of a read-only store.
var ErrReadOnly = errors.New("kv: read-only store")

// ReadOnlyStore returns a read-only view of the keys under prefix, for a
// goroutine other than the one writing them through the store Store(prefix)
// returned: each goroutine uses its own view, and the DB is safe for
// concurrent use. Reads see every write committed before them; iterators read
// a snapshot. Writes fail with ErrReadOnly. Unlike Store, it does not
// check its prefix against the open stores': it is meant to overlap one.
// Closing the DB closes it.
func (d *PebbleDB) ReadOnlyStore(prefix []byte) Store {
	p := append([]byte{}, prefix...)
	v := &pebbleView{db: d, prefix: p, upper: prefixEnd(p)}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed.Load() {
		v.closed.Store(true)
	} else {
		d.views[v] = struct{}{}
	}
	return readOnlyView{v}
}

// readOnlyView is a pebbleView whose writes fail.
type readOnlyView struct{ *pebbleView }

func (readOnlyView) Set(key, value []byte) error         { return ErrReadOnly }
func (readOnlyView) Delete(key []byte) error             { return ErrReadOnly }
func (readOnlyView) DeleteRange(start, end []byte) error { return ErrReadOnly }
func (readOnlyView) Flush() error                        { return nil }
func (readOnlyView) NewBatch() Batch                     { return readOnlyBatch{} }

// readOnlyBatch is the batch of a read-only store: it takes no write.
type readOnlyBatch struct{}

func (readOnlyBatch) Set(key, value []byte) error { return ErrReadOnly }
func (readOnlyBatch) Delete(key []byte) error     { return ErrReadOnly }
func (readOnlyBatch) Len() int                    { return 0 }
func (readOnlyBatch) Commit() error               { return ErrReadOnly }
