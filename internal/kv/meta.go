package kv

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// metaKey is the key of a DB's metadata record (FlushMeta). It is outside
// every store's keys: it is 7 bytes long, so no key under a longer prefix
// (the runtime's stores use 8-byte prefixes) starts with it, and Store
// refuses the shorter non-empty prefixes it starts with. Only a store with
// the empty prefix, the whole DB, sees it.
var metaKey = []byte("\x00strata")

// overlapsMeta reports whether the store prefix p would hold the metadata
// record.
func overlapsMeta(p []byte) bool {
	return len(p) > 0 && bytes.HasPrefix(metaKey, p)
}

// FlushMeta sets the DB's metadata record to meta and makes it durable with
// every write before it, as Flush does. The record is written last, in the
// same atomic write as the write buffer's contents (or, without a buffer,
// after every earlier write in the WAL), so a DB recovered after a crash
// that holds the record also holds every write made before it. Callers
// record there what the data covers (Strata: the changelog offsets of its
// checkpoint) and compare it with what they expect at the next open.
func (d *PebbleDB) FlushMeta(meta []byte) error {
	if d.closed.Load() {
		return ErrClosed
	}
	if err := d.health.check(); err != nil {
		return err
	}
	var err error
	if d.buf != nil {
		err = d.buf.set(metaKey, meta)
	} else {
		err = d.db.Set(metaKey, meta, pebble.NoSync)
	}
	if err != nil {
		return fmt.Errorf("kv: write the metadata record of %q: %w", d.dir, err)
	}
	return d.Flush()
}

// Meta returns the DB's metadata record, as last written by FlushMeta and
// committed; ok is false if it has none, as a new or emptied DB has not.
// An error wraps ErrCorrupt if reading it found corruption.
func (d *PebbleDB) Meta() (meta []byte, ok bool, err error) {
	if d.closed.Load() {
		return nil, false, ErrClosed
	}
	if err := d.health.check(); err != nil {
		return nil, false, err
	}
	defer func() {
		if p := recover(); p != nil {
			meta, ok, err = nil, false, d.health.recovered(p)
		}
	}()
	val, closer, err := d.db.Get(metaKey)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, d.health.classify(err)
	}
	meta = bytes.Clone(val)
	return meta, true, closer.Close()
}

// Corrupt returns an error wrapping ErrCorrupt if the DB found corruption,
// in an operation of any of its stores or in a background job of Pebble
// (a compaction reading a garbled block, say); else nil. Call it before
// trusting the DB's contents, for instance before recording how far they
// go.
func (d *PebbleDB) Corrupt() error { return d.health.check() }
