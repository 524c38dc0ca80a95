// Package kv is the byte-level, ordered key-value layer under Strata's state
// stores. Typed stores (package state) encode keys so that byte order is the
// order they need, and keep all their logic above this interface; a kv.Store
// only stores and orders bytes.
//
// Two engines implement it: Pebble, for persistent state, and an ordered
// in-memory tree. Both pass the same conformance suite (kvtest). A Pebble
// database (OpenPebble) holds many stores, each a view of the keys under a
// prefix (PebbleDB.Store); docs/state-layout.md explains how Strata lays
// tasks and stores out over databases.
package kv

import "errors"

// ErrClosed is returned by operations on a closed store, iterator or
// committed batch.
var ErrClosed = errors.New("kv: closed")

// ErrIteratorLeak is wrapped by the error Store.Close returns when iterators
// of the store were still open. Close closes them anyway (they then report
// ErrClosed); the error says how many there were.
var ErrIteratorLeak = errors.New("kv: iterator leak")

// Store is an ordered map from byte keys to byte values. Keys compare with
// bytes.Compare. A Store is used by one goroutine at a time.
type Store interface {
	// Get returns a copy of the value of key, or ok false if absent. A
	// present key with an empty value returns a non-nil, empty slice.
	Get(key []byte) (value []byte, ok bool, err error)
	// Set stores value under key. The store copies both.
	Set(key, value []byte) error
	// Delete removes key; deleting an absent key is not an error.
	Delete(key []byte) error
	// DeleteRange removes every key in [start, end). A nil bound is
	// unbounded.
	DeleteRange(start, end []byte) error
	// Iter returns an iterator over the keys in [lower, upper), in
	// ascending order, or descending when reverse is true. A nil bound
	// is unbounded. The store copies the bounds: the caller may reuse
	// them once Iter returns. Key and Value are valid until the next call
	// to Next and must not be modified.
	//
	// The iterator reads a consistent snapshot taken when Iter is called:
	// writes made to the store while it is open (Set, Delete, DeleteRange,
	// batch commits) are not seen by it. The iterator must be closed;
	// closing the store closes it and makes Close report ErrIteratorLeak.
	Iter(lower, upper []byte, reverse bool) Iterator
	// NewBatch returns an empty batch of writes, applied atomically by
	// Commit.
	NewBatch() Batch
	// ApproximateCount estimates the number of keys.
	ApproximateCount() (int64, error)
	// Flush makes the store's writes durable (a no-op in memory).
	Flush() error
	// Close releases the store. Closing twice is not an error. Open
	// iterators are closed and reported with an error wrapping
	// ErrIteratorLeak. Other operations on a closed store return ErrClosed.
	Close() error
}

// Iterator walks keys in order. Use it as:
//
//	for it.Next() { use(it.Key(), it.Value()) }
//	if err := it.Close(); err != nil { ... }
type Iterator interface {
	// Next advances to the next key and reports whether there is one.
	Next() bool
	// Key is the current key, valid until Next is called again.
	Key() []byte
	// Value is the current value, valid until Next is called again.
	Value() []byte
	// Err is the error that stopped iteration, if any. It is ErrClosed
	// once the iterator, or its store, is closed.
	Err() error
	// Close releases the iterator and returns Err. Closing twice is not
	// an error.
	Close() error
}

// Batch collects writes to apply atomically. Writes are not visible until
// Commit.
type Batch interface {
	// Set records a write of value under key. The batch copies both.
	Set(key, value []byte) error
	// Delete records a delete of key.
	Delete(key []byte) error
	// Len is the number of writes in the batch.
	Len() int
	// Commit applies the writes. A batch is not usable after Commit: its
	// methods then return ErrClosed.
	Commit() error
}
