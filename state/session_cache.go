package state

import (
	"bytes"
	"encoding/binary"
	"slices"

	"github.com/strata-go/strata/internal/engine"
	"github.com/strata-go/strata/window"
)

// CachedSessionStore is a session store that can cache writes: every store
// made by [AddSessionStore] implements it, and caches when it has caching on
// ([Caching]) and a record cache is configured. Type-assert the store
// [LookupSession] returns to reach it.
//
// A caching session store behaves as Kafka Streams' CachingSessionStore:
//
//   - Put and Remove write to the cache only, keyed by record key and
//     session; a Remove is a cached delete. The store's stream time moves,
//     and sessions expire, at the write, as without caching.
//   - FindSessions, BackwardFindSessions, Fetch and BackwardFetch (one key)
//     merge the key's cached writes into what the store holds, as Kafka's
//     merged iterators do; FetchSession reads the cache first. Key ranges
//     (FindSessionsKeyRange and its Backward variant) and All flush the
//     store's cached writes first, then read the store.
//   - When the task commits, and when the cache, over its budget, evicts an
//     entry that holds a write, the cached writes are flushed: written to
//     the store in one batch, each with one changelog record, and reported
//     to the flush listener. A delete of a session the store does not hold
//     (one created and merged away between two flushes) is skipped
//     entirely: nothing is written, logged or reported, as in Kafka
//     Streams. A session that has expired since it was written is
//     reported but neither stored nor logged.
//   - Close drops cached writes: the task flushes before closing cleanly.
type CachedSessionStore[K, V any] interface {
	SessionStore[K, V]
	// SetFlushListener sets the function told about every session a
	// flush writes, once per session and flush, after the store and
	// changelog writes, with the new value (HasNew false for a removed
	// session) and, if sendOldValues is set, the store's value before the
	// flush. An error from the listener fails the flush. Session
	// aggregations forward their results from it.
	//
	// It reports whether the store caches: call it from the processor's
	// Init. When it returns false the listener is not kept and the caller
	// forwards updates itself. A nil listener removes it.
	SetFlushListener(listener func(Change[window.Windowed[K], V]) error, sendOldValues bool) bool
}

// sessionCache is the caching part of a session store.
type sessionCache[K, V any] struct {
	segmentedCache[K, V]
	// written lists, by serialized record key, the cache keys of the
	// sessions written since the cache was last flushed: the writes a
	// find of the key merges. A flush clears it: the cache's clean
	// entries hold what the store holds.
	written map[string][]string
}

// initCache takes the store's part of the task's record cache, if the store
// caches.
func (s *sessionStore[K, V]) initCache(t *engine.Task) {
	if s.spec.caching {
		s.cache = t.NamedCache(s.spec.name, s.writeFlushed)
		s.written = map[string][]string{}
	}
}

// closeSessionCache drops the store's cached writes.
func (s *sessionStore[K, V]) closeSessionCache() {
	s.closeCache()
	s.written = nil
}

// sessionCacheKey builds the cache key of a session in the store's scratch
// buffer, valid until the next call, and returns the serialized record key
// it starts with.
func (s *sessionStore[K, V]) sessionCacheKey(key K, start, end int64) (ck, kb []byte, err error) {
	kb, err = s.keySerde.Serialize(s.cacheKey[:0], s.changelog, key)
	if err != nil {
		return nil, nil, err
	}
	n := len(kb)
	ck = binary.BigEndian.AppendUint64(kb, uint64(end))
	ck = binary.BigEndian.AppendUint64(ck, uint64(start))
	s.cacheKey = ck
	return ck, ck[:n], nil
}

// splitSessionKey splits a cache key into the serialized record key, the
// session end and its start.
func splitSessionKey(ck []byte) (kb []byte, end, start int64) {
	n := len(ck) - sessionLogSuffixLen
	return ck[:n], be64(ck[n:]), be64(ck[n+8:])
}

// cachedWrite caches a session's new value, or its removal if value is nil,
// for a session that has not expired.
func (s *sessionStore[K, V]) cachedWrite(key K, start, end int64, value []byte, op string) error {
	ck, kb, err := s.sessionCacheKey(key, start, end)
	if err != nil {
		return s.fail(op+": serialize key", err)
	}
	if err := s.advance(end); err != nil {
		return err
	}
	if err := s.cache.Put(ck, value, writeTime(s.task)); err != nil {
		return s.fail(op, err)
	}
	// Listed after the Put: a flush it caused cleared the list, and
	// the entry, now clean or evicted, is in the store.
	w := s.written[string(kb)]
	if !slices.Contains(w, string(ck)) {
		s.written[string(kb)] = append(w, string(ck))
	}
	return nil
}

// cachedPut is Put into the cache.
func (s *sessionStore[K, V]) cachedPut(key K, start, end int64, agg V) error {
	vb, err := s.valueSerde.Serialize(s.valBuf[:0], s.changelog, agg)
	if err != nil {
		return s.fail("put: serialize value", err)
	}
	if vb != nil {
		s.valBuf = vb
	}
	return s.cachedWrite(key, start, end, vb, "put")
}

// cachedFetchSession is FetchSession through the cache, for a session that
// has not expired.
func (s *sessionStore[K, V]) cachedFetchSession(key K, start, end int64) (V, bool, error) {
	var zero V
	ck, kb, err := s.sessionCacheKey(key, start, end)
	if err != nil {
		return zero, false, s.fail("fetch session: serialize key", err)
	}
	vb, ok := s.cache.Peek(ck)
	if !ok {
		raw := appendTime(s.rawPrefix(kb, end), start)
		s.rawBuf = raw
		if vb, _, err = s.db.Get(raw); err != nil {
			return zero, false, s.fail("fetch session", err)
		}
	}
	if vb == nil {
		return zero, false, nil
	}
	v, err := s.valueSerde.Deserialize(s.changelog, vb)
	if err != nil {
		return zero, false, s.fail("fetch session: deserialize value", err)
	}
	return v, true, nil
}

// flushForIter flushes cached writes before an iterator reads the store.
func (s *sessionStore[K, V]) flushForIter() error {
	return s.flushCache(&s.segmented, "flush before iterating")
}

// mergesCache reports whether a find of the keys from escFrom to escTo must
// merge cached writes: it is for one key, with writes since the last flush.
func (s *sessionStore[K, V]) mergesCache(escFrom, escTo []byte) bool {
	if s.cache == nil || !bytes.Equal(escFrom, escTo) {
		return false
	}
	kb, _, err := decodeEscaped(s.decBuf[:0], escFrom)
	if err != nil {
		return false
	}
	s.decBuf = kb
	return len(s.written[string(kb)]) > 0
}

// sessionEntry is an entry of a merged find: the key without its segment
// prefix, and the value.
type sessionEntry struct{ suffix, value []byte }

// findMerged is find for one key with cached writes: the store's sessions
// in [lo, hi] of segment time, with the key's cached writes merged over
// them, kept by keep, in order.
func (s *sessionStore[K, V]) findMerged(esc []byte, lo, hi, latestStart int64, reverse bool, keep func(suffix []byte) (bool, error)) (Iterator[window.Windowed[K], V], error) {
	var m mergeIter
	s.scan(&m, s.segment(lo), s.segment(hi), false, appendTime(slices.Clip(esc), lo), esc, keep)
	var entries []sessionEntry
	for m.next() {
		entries = append(entries, sessionEntry{slices.Clone(m.suffix()), slices.Clone(m.value())})
	}
	if err := m.close(); err != nil {
		return nil, s.fail("find sessions", err)
	}
	kb, _, err := decodeEscaped(nil, esc)
	if err != nil {
		return nil, s.fail("find sessions", err)
	}
	for _, ck := range s.written[string(kb)] {
		v, ok := s.cache.Peek([]byte(ck))
		if !ok {
			continue // evicted, and so in the store
		}
		_, end, start := splitSessionKey([]byte(ck))
		if end < lo || end > hi || start > latestStart {
			continue
		}
		suffix := appendTime(appendTime(slices.Clip(esc), end), start)
		i, found := slices.BinarySearchFunc(entries, suffix, func(e sessionEntry, t []byte) int { return bytes.Compare(e.suffix, t) })
		switch {
		case found && v == nil:
			entries = slices.Delete(entries, i, i+1)
		case found:
			entries[i].value = slices.Clone(v)
		case v != nil:
			entries = slices.Insert(entries, i, sessionEntry{suffix, slices.Clone(v)})
		}
	}
	if reverse {
		slices.Reverse(entries)
	}
	return newDecodeIterator[window.Windowed[K], V](&sliceIter{entries: entries}, s.decode), nil
}

// sliceIter is a kv.Iterator over entries held in memory.
type sliceIter struct {
	entries []sessionEntry
	i       int
}

func (it *sliceIter) Next() bool {
	if it.i >= len(it.entries) {
		return false
	}
	it.i++
	return true
}

func (it *sliceIter) Key() []byte   { return it.entries[it.i-1].suffix }
func (it *sliceIter) Value() []byte { return it.entries[it.i-1].value }
func (it *sliceIter) Err() error    { return nil }
func (it *sliceIter) Close() error  { return nil }

// writeFlushed is the named cache's flush function.
func (s *sessionStore[K, V]) writeFlushed(entries []engine.CacheEntry) error {
	// Every dirty entry is flushed now; writes the listener makes are
	// listed again.
	clear(s.written)
	return s.segmentedCache.writeFlushed(&s.segmented, s.keySerde, s.valueSerde, entries, func(ck []byte) flushedEntry {
		kb, end, start := splitSessionKey(ck)
		raw := appendTime(s.rawPrefix(kb, end), start)
		s.rawBuf = raw
		return flushedEntry{key: kb, segTime: end, window: window.Window{Start: timeOf(start), End: timeOf(end)}, raw: raw}
	})
}
