package state

import (
	"fmt"
	"time"

	"github.com/strata-go/strata/internal/engine"
)

// Change is one key's update as a cached store's flush reports it to its
// flush listener: the key's latest value, written to the store by this
// flush, and its value before, as of the previous flush. It is Kafka
// Streams' Change, with the key and the timestamp of the record that last
// wrote the key (what Kafka's flush listener forwards with).
type Change[K, V any] struct {
	Key K
	// NewValue is the key's value now; HasNew is false when the key was
	// deleted.
	NewValue V
	HasNew   bool
	// OldValue is the key's value before the update, when the listener
	// asked for old values; HasOld is false when it did not, or when the
	// key had no value.
	OldValue V
	HasOld   bool
	// Timestamp is the timestamp of the record being processed when the
	// key was last written.
	Timestamp time.Time
}

// CachedKeyValueStore is a key-value store that can cache writes: every
// store made by [AddKeyValueStore] implements it. Type-assert the store
// [LookupKeyValue] returns to reach it.
//
// With caching on ([Caching]) and a record cache configured, the store
// behaves as Kafka Streams' CachingKeyValueStore:
//
//   - Put, PutAll and Delete write to the cache only. Writing a key again
//     before it is flushed replaces its cached value: the store and the
//     changelog will only see the last one.
//   - Get reads the cache first (a cached delete means the key is absent),
//     then the store, and caches what it read (clean: it needs no writing).
//   - When the task commits, and when the cache, over its budget, evicts an
//     entry that holds a write, the store's cached writes are flushed: written
//     to the store in one batch, each with one changelog record stamped with
//     the time of its last write, and reported to the flush listener.
//   - Range, ReverseRange, PrefixScan, All and ReverseAll flush the store's
//     cached writes first, then iterate the store. This departs from Kafka
//     Streams, which merges the cache into the store's iterators: it is
//     simpler and as correct, but a range over a store with cached writes
//     costs a flush (a batch write, changelog records and listener calls)
//     and ends deduplication of the writes so far.
//   - ApproximateNumEntries counts what the store holds, without cached
//     writes not yet flushed.
//   - Close drops cached writes: the task flushes before closing cleanly.
//
// Cached values are deserialized from the cache's own bytes: value serdes
// must not keep the slices they are given (none of package serde's do).
type CachedKeyValueStore[K, V any] interface {
	KeyValueStore[K, V]
	// SetFlushListener sets the function told about every key a flush
	// writes, once per key and flush, after the store and changelog
	// writes, with the new value and, if sendOldValues is set, the old
	// one (the store's value before the flush overwrote it, which the
	// cache kept if it held the key before the write, or else read from
	// the store). A delete
	// of a key the store does not hold is skipped entirely: nothing is
	// written, logged or reported. An error from the listener fails the
	// flush. Aggregations forward their results from it, as Kafka
	// Streams' TimestampedCacheFlushListener does, so that downstream
	// also sees one update per key per commit.
	//
	// It reports whether the store caches: call it from the processor's
	// Init, after the store is initialised. When it returns false, the
	// listener is not kept and never called, and the caller must forward
	// updates itself when it makes them. A nil listener removes it.
	SetFlushListener(listener func(Change[K, V]) error, sendOldValues bool) bool
}

// SetFlushListener implements CachedKeyValueStore.
func (s *kvStore[K, V]) SetFlushListener(listener func(Change[K, V]) error, sendOldValues bool) bool {
	if s.cache == nil {
		return false
	}
	s.listener, s.sendOld = listener, sendOldValues
	return true
}

func (s *kvStore[K, V]) cachedPut(key K, value V) error {
	kb, err := s.encodeKey(key, false)
	if err != nil {
		return s.fail("put: serialize key", err)
	}
	vb, err := s.valueSerde.Serialize(s.valBuf[:0], s.changelog, value)
	if err != nil {
		return s.fail("put: serialize value", err)
	}
	if vb != nil {
		s.valBuf = vb
	}
	if err := s.cache.Put(kb, vb, writeTime(s.task)); err != nil {
		return s.fail("put", err)
	}
	return nil
}

func (s *kvStore[K, V]) cachedDelete(key K) error {
	kb, err := s.encodeKey(key, false)
	if err != nil {
		return s.fail("delete: serialize key", err)
	}
	if err := s.cache.Delete(kb, writeTime(s.task)); err != nil {
		return s.fail("delete", err)
	}
	return nil
}

// flushForIter flushes cached writes before an iterator reads the store.
func (s *kvStore[K, V]) flushForIter() error {
	if s.cache == nil {
		return nil
	}
	if err := s.cache.Flush(); err != nil {
		return s.fail("flush before iterating", err)
	}
	return nil
}

// writeFlushed is the named cache's flush function: it writes the flushed
// entries to the store in one batch, logs them, and tells the listener.
func (s *kvStore[K, V]) writeFlushed(entries []engine.CacheEntry) error {
	l := s.listener
	// The listener may forward into processors that write this store
	// again and flush it: the nested flush must not share olds.
	olds := s.olds[:0]
	s.olds = nil
	defer func() {
		if cap(olds) <= 4096 {
			clear(olds)
			s.olds = olds[:0]
		}
	}()
	// skip reports entries with nothing to do: deletes of keys the store
	// does not hold (known only when old values are read).
	skip := func(i int) bool { return l != nil && entries[i].Value == nil && olds[i] == nil }
	var err error
	if olds, err = flushOlds(entries, olds, l != nil, s.sendOld, s.db.Get); err != nil {
		return err
	}
	b := s.db.NewBatch()
	for i, e := range entries {
		if skip(i) {
			continue
		}
		var err error
		if e.Value == nil {
			err = b.Delete(e.Key)
		} else {
			err = b.Set(e.Key, e.Value)
		}
		if err != nil {
			return fmt.Errorf("write: %w", err)
		}
	}
	if err := b.Commit(); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	for i, e := range entries {
		if skip(i) {
			continue
		}
		if err := s.spec.logFlushed(s.task, s.changelog, e); err != nil {
			return err
		}
	}
	if l == nil {
		return nil
	}
	for i, e := range entries {
		if skip(i) {
			continue
		}
		c := Change[K, V]{Timestamp: time.UnixMilli(e.Timestamp)}
		var err error
		if c.Key, err = s.keySerde.Deserialize(s.changelog, e.Key); err != nil {
			return fmt.Errorf("deserialize key: %w", err)
		}
		if err := c.decodeValues(s.valueSerde, s.changelog, e.Value, olds[i], s.sendOld); err != nil {
			return err
		}
		if err := callFlushListener(s.task, l, c, e.Timestamp); err != nil {
			return err
		}
	}
	return nil
}
