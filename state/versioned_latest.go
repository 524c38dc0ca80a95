package state

import "fmt"

// A versioned store is also a KeyValueStore of its latest versions, as
// Timestamped values: this file implements that view.

func (s *versionedStore[K, V]) Get(key K) (Timestamped[V], bool, error) {
	kb, err := encodeKey(&s.segmented, s.keySerde, key, false)
	if err != nil {
		return Timestamped[V]{}, false, s.fail("get: serialize key", err)
	}
	ts, vb, ok, err := s.getLatest(kb)
	if err != nil || !ok {
		if err != nil {
			err = s.fail("get", err)
		}
		return Timestamped[V]{}, false, err
	}
	v, err := s.valueSerde.Deserialize(s.changelog, vb)
	if err != nil {
		return Timestamped[V]{}, false, s.fail("get: deserialize value", err)
	}
	return Timestamped[V]{Value: v, Timestamp: timeOf(ts)}, true, nil
}

// Put adds the version value.Value at value.Timestamp (PutVersion).
func (s *versionedStore[K, V]) Put(key K, value Timestamped[V]) error {
	_, err := s.PutVersion(key, value.Value, value.Timestamp)
	return err
}

func (s *versionedStore[K, V]) PutIfAbsent(key K, value Timestamped[V]) (Timestamped[V], bool, error) {
	old, ok, err := s.Get(key)
	if err != nil || ok {
		return old, ok, err
	}
	return old, false, s.Put(key, value)
}

func (s *versionedStore[K, V]) PutAll(entries []KeyValue[K, Timestamped[V]]) error {
	for _, e := range entries {
		if err := s.Put(e.Key, e.Value); err != nil {
			return err
		}
	}
	return nil
}

// Delete deletes key at the time of the record being processed (DeleteAt).
func (s *versionedStore[K, V]) Delete(key K) error {
	_, _, err := s.DeleteAt(key, timeOf(writeTime(s.task)))
	return err
}

// latestIter iterates the latest versions whose escaped keys are in
// [lower, upper) (nil: unbounded), both after latestPrefix.
func (s *versionedStore[K, V]) latestIter(lower, upper []byte, reverse bool) Iterator[K, Timestamped[V]] {
	lo := append(append([]byte(nil), latestPrefix...), lower...)
	hi := prefixEnd(latestPrefix)
	if upper != nil {
		hi = append(append([]byte(nil), latestPrefix...), upper...)
	}
	return newDecodeIterator(s.db.Iter(lo, hi, reverse), s.decodeLatest)
}

// decodeLatest decodes a latest version's entry.
func (s *versionedStore[K, V]) decodeLatest(k, v []byte) (K, Timestamped[V], error) {
	var key K
	var tv Timestamped[V]
	kb, rest, err := decodeEscaped(s.decBuf[:0], k[len(latestPrefix):])
	if err != nil || len(rest) != 0 || len(v) < 8 {
		return key, tv, fmt.Errorf("malformed latest version %x", k)
	}
	s.decBuf = kb
	if key, err = s.keySerde.Deserialize(s.changelog, kb); err != nil {
		return key, tv, fmt.Errorf("key: %w", err)
	}
	if tv.Value, err = s.valueSerde.Deserialize(s.changelog, v[8:]); err != nil {
		return key, tv, fmt.Errorf("value: %w", err)
	}
	tv.Timestamp = timeOf(readTime(v))
	return key, tv, nil
}

// escapedBounds serializes and escapes the bounds of an inclusive key
// range, returning the exclusive upper bound.
func (s *versionedStore[K, V]) escapedBounds(from, to K) (lo, hi []byte, err error) {
	lo, hi, err = escapeKeyRange(&s.segmented, s.keySerde, from, to)
	if err != nil {
		return nil, nil, err
	}
	// An escaped key is a prefix of no other: everything from it to its
	// prefix end has it as prefix, so is it.
	return lo, prefixEnd(hi), nil
}

func (s *versionedStore[K, V]) Range(from, to K) (Iterator[K, Timestamped[V]], error) {
	lo, hi, err := s.escapedBounds(from, to)
	if err != nil {
		return nil, err
	}
	return s.latestIter(lo, hi, false), nil
}

func (s *versionedStore[K, V]) ReverseRange(from, to K) (Iterator[K, Timestamped[V]], error) {
	lo, hi, err := s.escapedBounds(from, to)
	if err != nil {
		return nil, err
	}
	return s.latestIter(lo, hi, true), nil
}

func (s *versionedStore[K, V]) PrefixScan(prefix K) (Iterator[K, Timestamped[V]], error) {
	p, err := s.keySerde.Serialize(nil, s.changelog, prefix)
	if err != nil {
		return nil, s.fail("prefix scan: serialize prefix", err)
	}
	// The escaped prefix without its end marker starts the escaped form
	// of every key it starts.
	e := appendEscaped(nil, p)
	e = e[:len(e)-2]
	return s.latestIter(e, prefixEnd(e), false), nil
}

func (s *versionedStore[K, V]) All() (Iterator[K, Timestamped[V]], error) {
	return s.latestIter(nil, nil, false), nil
}

func (s *versionedStore[K, V]) ReverseAll() (Iterator[K, Timestamped[V]], error) {
	return s.latestIter(nil, nil, true), nil
}

// ApproximateNumEntries counts the keys with a latest version.
func (s *versionedStore[K, V]) ApproximateNumEntries() (int64, error) {
	it := s.db.Iter(latestPrefix, prefixEnd(latestPrefix), false)
	var n int64
	for it.Next() {
		n++
	}
	if err := it.Close(); err != nil {
		return 0, s.fail("count", err)
	}
	return n, nil
}
