package state

import (
	"errors"
	"fmt"
	"iter"

	"github.com/strata-go/strata/internal/kv"
)

// ErrIteratorClosed is returned by an iterator used after Close.
var ErrIteratorClosed = errors.New("state: iterator used after Close")

// KeyValue is an entry of a store.
type KeyValue[K, V any] struct {
	Key   K
	Value V
}

// Iterator walks entries of a store in key order. It holds resources until
// it is closed; a store reports iterators left open when it closes.
//
//	it, err := store.Range("a", "m")
//	if err != nil { ... }
//	defer it.Close()
//	for it.Next() {
//		use(it.Key(), it.Value())
//	}
//	if err := it.Err(); err != nil { ... }
type Iterator[K, V any] interface {
	// Next advances to the next entry and reports whether there is one.
	Next() bool
	// Key is the current entry's key.
	Key() K
	// Value is the current entry's value.
	Value() V
	// Err is the error that stopped iteration: a decoding error, or
	// ErrIteratorClosed after Close.
	Err() error
	// Close releases the iterator. It returns Err.
	Close() error
}

// All adapts an iterator to a range-over-func sequence that closes it when
// the loop ends, early or not. Check *errp after the loop.
//
//	var err error
//	for k, v := range state.All(it, &err) { ... }
func All[K, V any](it Iterator[K, V], errp *error) iter.Seq2[K, V] {
	return func(yield func(K, V) bool) {
		defer func() {
			if err := it.Close(); err != nil && errp != nil && *errp == nil {
				*errp = err
			}
		}()
		for it.Next() {
			if !yield(it.Key(), it.Value()) {
				return
			}
		}
	}
}

// decodeIterator decodes a kv.Iterator's entries with a function.
type decodeIterator[K, V any] struct {
	it     kv.Iterator
	decode func(k, v []byte) (K, V, error)
	key    K
	value  V
	err    error
	closed bool
}

func newDecodeIterator[K, V any](it kv.Iterator, decode func(k, v []byte) (K, V, error)) *decodeIterator[K, V] {
	return &decodeIterator[K, V]{it: it, decode: decode}
}

func (d *decodeIterator[K, V]) Next() bool {
	if d.closed {
		d.err = ErrIteratorClosed
		return false
	}
	if d.err != nil || !d.it.Next() {
		return false
	}
	k, v, err := d.decode(d.it.Key(), d.it.Value())
	if err != nil {
		d.err = fmt.Errorf("decode entry: %w", err)
		return false
	}
	d.key, d.value = k, v
	return true
}

func (d *decodeIterator[K, V]) Key() K   { return d.key }
func (d *decodeIterator[K, V]) Value() V { return d.value }

func (d *decodeIterator[K, V]) Err() error {
	if d.err != nil {
		return d.err
	}
	if d.closed {
		return nil
	}
	return d.it.Err()
}

func (d *decodeIterator[K, V]) Close() error {
	if d.closed {
		return d.err
	}
	d.closed = true
	err := d.it.Close()
	if d.err == nil {
		d.err = err
	}
	return d.err
}
