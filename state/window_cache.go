package state

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/strata-go/strata/internal/engine"
	"github.com/strata-go/strata/window"
)

// CachedWindowStore is a window store that can cache writes: every store
// made by [AddWindowStore] implements it, and caches when it has caching on
// ([Caching]), a record cache is configured, and it does not retain
// duplicates (the stores of stream-stream joins never cache, as in Kafka
// Streams). Type-assert the store [LookupWindow] returns to reach it.
//
// A caching window store behaves as Kafka Streams' CachingWindowStore, and
// as a caching key-value store does (see [CachedKeyValueStore]):
//
//   - Put writes to the cache only, keyed by record key and window start;
//     writing a window again before it is flushed replaces its cached
//     value. The store's stream time moves, and windows expire, at the Put,
//     as without caching.
//   - Fetch reads the cache first, then the store, and caches what it read.
//   - When the task commits, and when the cache, over its budget, evicts an
//     entry that holds a write, the store's cached writes are flushed:
//     written to the store in one batch, each with one changelog record
//     stamped with the time of its last write, and reported to the flush
//     listener. A window that has expired since it was written is reported
//     but neither stored nor logged: its segment is gone.
//   - FetchRange, FetchKeyRange, FetchAll, All and their Backward variants
//     flush the store's cached writes first, then iterate the store, as
//     ranges of a caching key-value store do (Kafka Streams merges the
//     cache into the store's iterators). Expired windows are never
//     returned, cached or not.
//   - Close drops cached writes: the task flushes before closing cleanly.
type CachedWindowStore[K, V any] interface {
	WindowStore[K, V]
	// SetFlushListener sets the function told about every window a flush
	// writes, once per key and window and flush, after the store and
	// changelog writes, with the new value and, if sendOldValues is set,
	// the old one (the store's value before the flush). Change.Key is the
	// record key and the window [start, start+size). A delete of a window
	// the store does not hold is skipped entirely. An error from the
	// listener fails the flush. Windowed aggregations forward their
	// results from it, so that downstream sees one update per key and
	// window per commit.
	//
	// It reports whether the store caches: call it from the processor's
	// Init. When it returns false the listener is not kept and the caller
	// forwards updates itself. A nil listener removes it.
	SetFlushListener(listener func(Change[window.Windowed[K], V]) error, sendOldValues bool) bool
}

// windowCache is the caching part of a window store: the store's part of
// the task's record cache, keyed as the changelog is (serialized key,
// window start, sequence number 0), and its flush listener.
type windowCache[K, V any] struct {
	cache    *engine.NamedCache
	listener func(Change[window.Windowed[K], V]) error
	sendOld  bool
	olds     [][]byte
	cacheKey []byte
}

// SetFlushListener implements CachedWindowStore.
func (s *windowStore[K, V]) SetFlushListener(listener func(Change[window.Windowed[K], V]) error, sendOldValues bool) bool {
	if s.cache == nil {
		return false
	}
	s.listener, s.sendOld = listener, sendOldValues
	return true
}

// initCache takes the store's part of the task's record cache, if the store
// caches.
func (s *windowStore[K, V]) initCache(t *engine.Task) {
	if s.spec.caching && !s.dups {
		s.cache = t.NamedCache(s.spec.name, s.writeFlushed)
	}
}

// closeCache drops the store's cached writes.
func (s *windowStore[K, V]) closeCache() {
	if s.cache != nil {
		s.cache.Close()
		s.cache = nil
	}
}

// windowCacheKey builds the cache key of key's window starting at ts in the
// store's scratch buffer, valid until the next call.
func (s *windowStore[K, V]) windowCacheKey(key K, ts int64) ([]byte, error) {
	kb, err := s.keySerde.Serialize(s.cacheKey[:0], s.changelog, key)
	if err != nil {
		return nil, err
	}
	ck := binary.BigEndian.AppendUint64(kb, uint64(ts))
	ck = append(ck, zeroSeq...)
	s.cacheKey = ck
	return ck, nil
}

// cachedPut is Put into the cache, for a window that has not expired.
func (s *windowStore[K, V]) cachedPut(key K, value V, ts int64) error {
	vb, err := s.valueSerde.Serialize(s.valBuf[:0], s.changelog, value)
	if err != nil {
		return s.fail("put: serialize value", err)
	}
	if vb != nil {
		s.valBuf = vb
	}
	ck, err := s.windowCacheKey(key, ts)
	if err != nil {
		return s.fail("put: serialize key", err)
	}
	if err := s.advance(ts); err != nil {
		return err
	}
	if err := s.cache.Put(ck, vb, writeTime(s.task)); err != nil {
		return s.fail("put", err)
	}
	return nil
}

// cachedFetch is Fetch through the cache, for a window that has not
// expired. A query only peeks at the cache.
func (s *windowStore[K, V]) cachedFetch(key K, ts int64, query bool) (V, bool, error) {
	var zero V
	ck, err := s.windowCacheKey(key, ts)
	if err != nil {
		return zero, false, s.fail("fetch: serialize key", err)
	}
	var vb []byte
	var ok bool
	if query {
		vb, ok = s.cache.Peek(ck)
	} else {
		vb, ok = s.cache.Get(ck)
	}
	if !ok {
		raw := append(s.rawPrefix(ck[:len(ck)-windowLogSuffixLen], ts), zeroSeq...)
		s.rawBuf = raw
		if vb, ok, err = s.db.Get(raw); err != nil {
			return zero, false, s.fail("fetch", err)
		}
		if !query {
			// A nil vb records that the store does not hold the window.
			if err := s.cache.Load(ck, vb); err != nil {
				return zero, false, s.fail("fetch", err)
			}
		}
	}
	if vb == nil {
		return zero, false, nil
	}
	v, err := s.valueSerde.Deserialize(s.changelog, vb)
	if err != nil {
		return zero, false, s.fail("fetch: deserialize value", err)
	}
	return v, true, nil
}

// flushForIter flushes cached writes before an iterator reads the store.
func (s *windowStore[K, V]) flushForIter() error {
	if s.cache == nil {
		return nil
	}
	if err := s.cache.Flush(); err != nil {
		return s.fail("flush before iterating", err)
	}
	return nil
}

// splitWindowKey splits a cache key into the serialized record key and the
// window start.
func splitWindowKey(ck []byte) ([]byte, int64) {
	n := len(ck) - windowLogSuffixLen
	return ck[:n], be64(ck[n:])
}

// writeFlushed is the named cache's flush function: it writes the flushed
// windows that have not expired to the store in one batch, logs them, and
// tells the listener about every one.
func (s *windowStore[K, V]) writeFlushed(entries []engine.CacheEntry) error {
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
	rawKey := func(ck []byte) []byte {
		kb, ts := splitWindowKey(ck)
		raw := append(s.rawPrefix(kb, ts), zeroSeq...)
		s.rawBuf = raw
		return raw
	}
	var err error
	if olds, err = flushOlds(entries, olds, l != nil, s.sendOld, func(ck []byte) ([]byte, bool, error) {
		return s.db.Get(rawKey(ck))
	}); err != nil {
		return err
	}
	// skip reports entries with nothing to do: deletes of windows the
	// store does not hold (known only when old values are read).
	skip := func(i int) bool { return l != nil && entries[i].Value == nil && olds[i] == nil }
	// expired reports windows that expired since they were written:
	// reported, but neither stored nor logged.
	expired := func(i int) bool {
		_, ts := splitWindowKey(entries[i].Key)
		return s.expired(ts)
	}
	b := s.db.NewBatch()
	for i, e := range entries {
		if skip(i) || expired(i) {
			continue
		}
		raw := rawKey(e.Key)
		if e.Value == nil {
			err = b.Delete(raw)
		} else {
			err = b.Set(raw, e.Value)
		}
		if err != nil {
			return fmt.Errorf("write: %w", err)
		}
	}
	if !s.hooked && !s.spec.inMemory {
		if err := s.saveTime(b.Set); err != nil {
			return err
		}
	}
	if err := b.Commit(); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	for i, e := range entries {
		if skip(i) || expired(i) {
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
		kb, ts := splitWindowKey(e.Key)
		c := Change[window.Windowed[K], V]{Timestamp: time.UnixMilli(e.Timestamp)}
		if c.Key.Key, err = s.keySerde.Deserialize(s.changelog, kb); err != nil {
			return fmt.Errorf("deserialize key: %w", err)
		}
		c.Key.Window = window.Window{Start: timeOf(ts), End: timeOf(addSat(ts, s.size))}
		if err := c.decodeValues(s.valueSerde, s.changelog, e.Value, olds[i], s.sendOld); err != nil {
			return err
		}
		if err := callFlushListener(s.task, l, c, e.Timestamp); err != nil {
			return err
		}
	}
	return nil
}
