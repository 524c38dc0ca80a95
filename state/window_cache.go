package state

import (
	"encoding/binary"
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

// initCache takes the store's part of the task's record cache, if the store
// caches.
func (s *windowStore[K, V]) initCache(t *engine.Task) {
	if s.spec.caching && !s.dups {
		s.cache = t.NamedCache(s.spec.name, s.writeFlushed)
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
	return s.flushCache(&s.segmented, "flush before iterating")
}

// splitWindowKey splits a cache key into the serialized record key and the
// window start.
func splitWindowKey(ck []byte) ([]byte, int64) {
	n := len(ck) - windowLogSuffixLen
	return ck[:n], be64(ck[n:])
}

// writeFlushed is the named cache's flush function.
func (s *windowStore[K, V]) writeFlushed(entries []engine.CacheEntry) error {
	return s.segmentedCache.writeFlushed(&s.segmented, s.keySerde, s.valueSerde, entries, func(ck []byte) flushedEntry {
		kb, ts := splitWindowKey(ck)
		raw := append(s.rawPrefix(kb, ts), zeroSeq...)
		s.rawBuf = raw
		return flushedEntry{key: kb, segTime: ts, window: window.Window{Start: timeOf(ts), End: timeOf(addSat(ts, s.size))}, raw: raw}
	})
}
