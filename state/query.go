package state

import (
	"bytes"
	"fmt"
	"math"
	"slices"

	"github.com/strata-go/strata/internal/iq"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/window"
)

// The query side of the stores (package query, through internal/iq): reads
// made on behalf of another goroutine than the task's, while the runtime
// holds the task's goroutine off. They read what processing would read,
// cached writes included, and change nothing: the record cache is only
// peeked at, never loaded, touched or flushed. Scans read one page at a
// time and close their iterators before returning, so that no iterator
// outlives the runtime's lock; the next page resumes after the last
// entry's position.

// QueryDescribe implements iq.Describer.
func (s *kvStore[K, V]) QueryDescribe() string { return s.describe() }

// QueryKeySerde implements iq.KeyValue.
func (s *kvStore[K, V]) QueryKeySerde() serde.Serde[K] { return s.keySerde }

// QueryGet implements iq.KeyValue.
func (s *kvStore[K, V]) QueryGet(key K) (V, bool, error) { return s.get(key, true) }

// QueryCount implements iq.KeyValue.
func (s *kvStore[K, V]) QueryCount() (int64, error) { return s.ApproximateNumEntries() }

// cachedWrite is a dirty entry of the record cache a scan merges.
type cachedWrite struct{ key, value []byte }

// QueryPage implements iq.KeyValue: it merges the record cache's dirty
// entries in the range over the store's, as Kafka Streams' caching store
// merges its cache into iterators, the cache winning and its tombstones
// hiding the store's entries.
func (s *kvStore[K, V]) QueryPage(lo, hi []byte, p iq.Page, fn func(enc []byte, key K, value V) error) (iq.PageEnd, error) {
	if p.After != nil {
		lo, hi = resumeBounds(nil, lo, hi, p.After, p.Reverse)
	}
	if lo != nil && hi != nil && bytes.Compare(lo, hi) >= 0 {
		return iq.PageEnd{Done: true}, nil
	}
	var dirty []cachedWrite
	if s.cache != nil && s.cache.Dirty() > 0 {
		s.cache.EachDirty(func(k, v []byte) bool {
			if (lo == nil || bytes.Compare(k, lo) >= 0) && (hi == nil || bytes.Compare(k, hi) < 0) {
				dirty = append(dirty, cachedWrite{k, v})
			}
			return true
		})
		sortCached(dirty, p.Reverse)
	}
	it := s.db.Iter(lo, hi, p.Reverse)
	var end iq.PageEnd
	var err error
	end.Done, err = mergeCached(it.Next, it.Key, it.Value, dirty, p.Reverse, p.Limit, func(k, v []byte) error {
		key, value, err := s.decode(k, v)
		if err != nil {
			return s.fail("query: decode entry", err)
		}
		end.Last = append(end.Last[:0], k...)
		return fn(k, key, value)
	})
	if cerr := it.Close(); err == nil && cerr != nil {
		err = s.fail("query", cerr)
	}
	return end, err
}

// mergeCached emits, in scan order, up to limit entries of a scan (next,
// key and value, as a kv.Iterator's) merged with dirty, the cached writes
// in the scan's range sorted in scan order: a cached write replaces the
// store's entry of its key, and a cached delete (a nil value) hides it. It
// reports whether the scan and the writes are exhausted.
func mergeCached(next func() bool, key, value func() []byte, dirty []cachedWrite, reverse bool, limit int, emit func(k, v []byte) error) (bool, error) {
	has, i, n := next(), 0, 0
	var err error
	for err == nil && n < limit {
		c := 0 // < 0: the store's entry is next; > 0: the cache's; 0: both
		switch {
		case has && i < len(dirty):
			c = bytes.Compare(key(), dirty[i].key)
			if reverse {
				c = -c
			}
		case has:
			c = -1
		case i < len(dirty):
			c = 1
		default:
			return true, nil
		}
		if c < 0 {
			err = emit(key(), value())
			has = next()
			n++
			continue
		}
		w := dirty[i]
		i++
		if c == 0 {
			has = next()
		}
		if w.value != nil { // a tombstone hides the key
			err = emit(w.key, w.value)
			n++
		}
	}
	return false, err
}

// sortCached sorts cached writes in scan order.
func sortCached(dirty []cachedWrite, reverse bool) {
	slices.SortFunc(dirty, func(a, b cachedWrite) int {
		if reverse {
			return bytes.Compare(b.key, a.key)
		}
		return bytes.Compare(a.key, b.key)
	})
}

// afterPosition reports whether suffix comes after a page's position in
// scan order (every suffix does on the first page).
func afterPosition(suffix []byte, p iq.Page) bool {
	if p.After == nil {
		return true
	}
	c := bytes.Compare(suffix, p.After)
	return c > 0 && !p.Reverse || c < 0 && p.Reverse
}

// resumeBounds narrows the bounds [lo, hi) of a scan to what follows after
// in scan order: the keys above prefix+after, or below it when reverse.
// prefix is the segment id the keys of a segment's scan start with, nil for
// a key-value store.
func resumeBounds(prefix, lo, hi, after []byte, reverse bool) ([]byte, []byte) {
	at := append(slices.Clip(prefix), after...)
	if reverse {
		if hi == nil || bytes.Compare(at, hi) < 0 {
			hi = at
		}
		return lo, hi
	}
	at = append(at, 0) // the least key after
	if lo == nil || bytes.Compare(at, lo) > 0 {
		lo = at
	}
	return lo, hi
}

// page reads up to p.Limit entries of the segments [segLo, segHi] scanned
// as scan does, resuming after p.After, merged with dirty (the store's
// cached writes in the page's range, in scan order, keyed as the entries
// without their segment prefix), and calls each with every entry's key
// without its segment prefix and its value. Positions are those keys.
func (s *segmented) page(segLo, segHi int64, loSuffix, hiSuffix []byte, keep func(suffix []byte) (bool, error),
	p iq.Page, dirty []cachedWrite, each func(suffix, value []byte) error) (iq.PageEnd, error) {
	var m mergeIter
	s.scanAfter(&m, segLo, segHi, p.Reverse, loSuffix, hiSuffix, p.After, keep)
	var end iq.PageEnd
	var err error
	end.Done, err = mergeCached(m.next, m.suffix, m.value, dirty, p.Reverse, p.Limit, func(suffix, value []byte) error {
		end.Last = append(end.Last[:0], suffix...)
		return each(suffix, value)
	})
	if cerr := m.close(); err == nil && cerr != nil {
		err = s.fail("query", cerr)
	}
	return end, err
}

// QueryDescribe implements iq.Describer.
func (s *windowStore[K, V]) QueryDescribe() string { return s.describe() }

// QueryKeySerde implements iq.Window.
func (s *windowStore[K, V]) QueryKeySerde() serde.Serde[K] { return s.keySerde }

// QueryFetch implements iq.Window.
func (s *windowStore[K, V]) QueryFetch(key K, start int64) (V, bool, error) {
	return s.doFetch(key, timeOf(start), true)
}

// QueryWindows implements iq.Window.
func (s *windowStore[K, V]) QueryWindows(key []byte, from, to int64, p iq.Page, fn func(enc []byte, w window.Windowed[K], value V) error) (iq.PageEnd, error) {
	lo, hi, ok := s.timeRange(from, to)
	if !ok {
		return iq.PageEnd{Done: true}, nil
	}
	var loSuffix, hiSuffix []byte
	var keep func([]byte) (bool, error)
	if key != nil {
		esc := appendEscaped(nil, key)
		loSuffix = appendTime(slices.Clip(esc), lo)
		hiSuffix = appendTime(slices.Clip(esc), hi)
	} else {
		keep = inTimes(lo, hi)
	}
	var dirty []cachedWrite
	if s.cache != nil && s.cache.Dirty() > 0 {
		s.cache.EachDirty(func(ck, v []byte) bool {
			kb, ts := splitWindowKey(ck)
			if (key == nil || bytes.Equal(kb, key)) && ts >= lo && ts <= hi {
				suffix := append(appendTime(appendEscaped(nil, kb), ts), zeroSeq...)
				if afterPosition(suffix, p) {
					dirty = append(dirty, cachedWrite{suffix, v})
				}
			}
			return true
		})
		sortCached(dirty, p.Reverse)
	}
	return s.page(s.segment(lo), s.segment(hi), loSuffix, hiSuffix, keep, p, dirty, func(suffix, value []byte) error {
		w, v, err := s.decodeWindowed(suffix, value)
		if err != nil {
			return s.fail("query: decode entry", err)
		}
		return fn(s.decBuf, w, v)
	})
}

// QueryDescribe implements iq.Describer.
func (s *sessionStore[K, V]) QueryDescribe() string { return s.describe() }

// QueryKeySerde implements iq.Session.
func (s *sessionStore[K, V]) QueryKeySerde() serde.Serde[K] { return s.keySerde }

// QuerySessions implements iq.Session, as find does for one key or all.
func (s *sessionStore[K, V]) QuerySessions(key []byte, earliestEnd, latestStart int64, p iq.Page, fn func(enc []byte, w window.Windowed[K], value V) error) (iq.PageEnd, error) {
	lo, hi, ok := s.timeRange(earliestEnd, math.MaxInt64)
	if !ok {
		return iq.PageEnd{Done: true}, nil
	}
	var loSuffix, hiSuffix []byte
	if key != nil {
		esc := appendEscaped(nil, key)
		loSuffix = appendTime(slices.Clip(esc), lo)
		hiSuffix = esc
	}
	keep := func(suffix []byte) (bool, error) {
		n, err := escapedLen(suffix)
		if err != nil || len(suffix) != n+16 {
			return false, fmt.Errorf("malformed session key")
		}
		return readTime(suffix[n:]) >= lo && readTime(suffix[n+8:]) <= latestStart, nil
	}
	var dirty []cachedWrite
	var err error
	if s.cache != nil && s.cache.Dirty() > 0 {
		s.cache.EachDirty(func(ck, v []byte) bool {
			kb, end, start := splitSessionKey(ck)
			if key != nil && !bytes.Equal(kb, key) {
				return true
			}
			suffix := appendTime(appendTime(appendEscaped(nil, kb), end), start)
			var ok bool
			if ok, err = keep(suffix); err == nil && ok && afterPosition(suffix, p) {
				dirty = append(dirty, cachedWrite{suffix, v})
			}
			return err == nil
		})
		if err != nil {
			return iq.PageEnd{}, s.fail("query", err)
		}
		sortCached(dirty, p.Reverse)
	}
	return s.page(s.segment(lo), s.segment(hi), loSuffix, hiSuffix, keep, p, dirty, func(suffix, value []byte) error {
		w, v, err := s.decode(suffix, value)
		if err != nil {
			return s.fail("query: decode entry", err)
		}
		return fn(s.decBuf, w, v)
	})
}
