package state

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata/internal/engine"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
	"github.com/strata-go/strata/window"
)

// ReadOnlySessionStore is the read side of a session store: values kept by
// key and session window, whose start and end are both inclusive.
//
// Iterators return sessions in order of the key's serialized bytes, then
// session end, then session start; the Backward variants in reverse.
// Sessions that have expired (see [AddSessionStore]) are never returned,
// even before their data is deleted.
type ReadOnlySessionStore[K, V any] interface {
	topology.StateStore
	// FindSessions iterates the sessions of key that end at or after
	// earliestSessionEnd and start at or before latestSessionStart: the
	// sessions that overlap [earliestSessionEnd, latestSessionStart], as
	// Kafka's findSessions. A session aggregation finds the sessions a
	// record at time t merges with as FindSessions(key, t-gap, t+gap).
	FindSessions(key K, earliestSessionEnd, latestSessionStart time.Time) (Iterator[window.Windowed[K], V], error)
	// BackwardFindSessions is FindSessions in reverse order.
	BackwardFindSessions(key K, earliestSessionEnd, latestSessionStart time.Time) (Iterator[window.Windowed[K], V], error)
	// FindSessionsKeyRange is FindSessions for the keys from keyFrom to
	// keyTo, both inclusive. It is empty if keyFrom is after keyTo.
	FindSessionsKeyRange(keyFrom, keyTo K, earliestSessionEnd, latestSessionStart time.Time) (Iterator[window.Windowed[K], V], error)
	// BackwardFindSessionsKeyRange is FindSessionsKeyRange in reverse
	// order.
	BackwardFindSessionsKeyRange(keyFrom, keyTo K, earliestSessionEnd, latestSessionStart time.Time) (Iterator[window.Windowed[K], V], error)
	// FetchSession returns the value of the session of key that starts
	// at start and ends at end, or ok false if there is none.
	FetchSession(key K, start, end time.Time) (value V, ok bool, err error)
	// Fetch iterates every session of key.
	Fetch(key K) (Iterator[window.Windowed[K], V], error)
	// BackwardFetch is Fetch in reverse order.
	BackwardFetch(key K) (Iterator[window.Windowed[K], V], error)
	// All iterates every session of the store.
	All() (Iterator[window.Windowed[K], V], error)
}

// SessionStore is a typed session store, as kept by session-windowed
// aggregations.
type SessionStore[K, V any] interface {
	ReadOnlySessionStore[K, V]
	// Put stores the aggregate of a session. A value whose serde encodes
	// it as null removes the session. The session's start must not be
	// after its end. A put for a session that has already expired is
	// dropped: neither stored nor logged.
	Put(session window.Windowed[K], agg V) error
	// Remove deletes a session. Removing an absent session is not an
	// error; it is logged all the same.
	Remove(session window.Windowed[K]) error
}

// AddSessionStore declares a session store named name on b, kept in Pebble
// with a changelog unless options say otherwise. Connect it to processors
// with Builder.ConnectStores (or the DSL's WithStores) and look it up with
// [LookupSession].
//
// The store keeps sessions for retention (the DSL uses inactivity gap +
// grace, as Kafka Streams): a session that ends at or before
// streamTime - retention has expired, where the store's stream time is the
// latest session end put so far. Expired sessions are not returned and puts
// for them are dropped. Storage is split into segments of
// max(retention/2, 60s) of session ends, each deleted at once when every
// session it can hold has expired, as in Kafka Streams.
//
// The changelog topic has cleanup.policy=compact,delete and retention.ms =
// retention + 24h, and records keyed in Kafka's SessionKeySchema format: the
// serialized key, then the session end and start, each 8 big-endian bytes of
// Unix milliseconds.
func AddSessionStore[K, V any](b *topology.Builder, name string, keySerde serde.Serde[K], valueSerde serde.Serde[V], retention time.Duration, opts ...Option) {
	sp := newSpec(name, "session", opts)
	if sp.retainDuplicates {
		b.Fail(fmt.Errorf("session store %q: RetainDuplicates applies to window stores only", name))
		return
	}
	if keySerde == nil || valueSerde == nil {
		b.Fail(fmt.Errorf("store %q: key and value serdes are required", name))
		return
	}
	if retention.Milliseconds() < 1 {
		b.Fail(fmt.Errorf("session store %q: retention %v is less than a millisecond", name, retention))
		return
	}
	ret := retention.Milliseconds()
	sp.def(b, windowedChangelogConfigs(ret), func() engine.Store {
		return &sessionStore[K, V]{segmented: newSegmented(sp, ret), keySerde: keySerde, valueSerde: valueSerde}
	})
}

// sessionStore is the typed session store over a segmented kv.Store. Entry
// keys are [segment][escaped key][session end][session start].
type sessionStore[K, V any] struct {
	segmented
	keySerde   serde.Serde[K]
	valueSerde serde.Serde[V]
	sessionCache[K, V]
}

// sessionLogSuffixLen is what follows the serialized key in a changelog key:
// the session end and start.
const sessionLogSuffixLen = 16

func (s *sessionStore[K, V]) Name() string { return s.spec.name }

func (s *sessionStore[K, V]) Init(t *engine.Task) error {
	if err := s.open(t); err != nil {
		return err
	}
	s.initCache(t)
	return nil
}

func (s *sessionStore[K, V]) Flush() error {
	if err := s.flushCache(&s.segmented, "flush"); err != nil {
		return err
	}
	return s.flush()
}

func (s *sessionStore[K, V]) Close() error {
	s.closeSessionCache()
	return s.close()
}

func (s *sessionStore[K, V]) doPut(session window.Windowed[K], agg V) error {
	start, end := session.Window.Start.UnixMilli(), session.Window.End.UnixMilli()
	if start > end {
		return s.fail("put", fmt.Errorf("session starts at %d, after its end %d", start, end))
	}
	if s.expired(end) {
		s.dropLate(end)
		return nil
	}
	if s.cache != nil {
		return s.cachedPut(session.Key, start, end, agg)
	}
	vb, err := encodeValue(&s.segmented, s.valueSerde, agg)
	if err != nil {
		return s.fail("put: serialize value", err)
	}
	return s.write(session.Key, start, end, vb, "put")
}

func (s *sessionStore[K, V]) doRemove(session window.Windowed[K]) error {
	start, end := session.Window.Start.UnixMilli(), session.Window.End.UnixMilli()
	if s.expired(end) {
		s.dropLate(end)
		return nil
	}
	if s.cache != nil {
		return s.cachedWrite(session.Key, start, end, nil, "remove")
	}
	return s.write(session.Key, start, end, nil, "remove")
}

// write stores vb for a session, or deletes it if vb is nil, and logs it.
func (s *sessionStore[K, V]) write(key K, start, end int64, vb []byte, op string) error {
	kb, err := encodeKey(&s.segmented, s.keySerde, key, true)
	if err != nil {
		return s.fail(op+": serialize key", err)
	}
	raw := appendTime(s.rawPrefix(kb, end), start)
	s.rawBuf = raw
	ck := binary.BigEndian.AppendUint64(kb, uint64(end))
	ck = binary.BigEndian.AppendUint64(ck, uint64(start))
	s.keepLogKey(ck)
	if err := s.advance(end); err != nil {
		return err
	}
	if err := s.putRaw(raw, vb); err != nil {
		return s.fail(op, err)
	}
	return s.log(ck, vb)
}

func (s *sessionStore[K, V]) doFetchSession(key K, start, end time.Time) (V, bool, error) {
	var zero V
	st, en := start.UnixMilli(), end.UnixMilli()
	if _, _, ok := s.timeRange(en, en); !ok {
		return zero, false, nil
	}
	if s.cache != nil {
		return s.cachedFetchSession(key, st, en)
	}
	kb, err := encodeKey(&s.segmented, s.keySerde, key, false)
	if err != nil {
		return zero, false, s.fail("fetch session: serialize key", err)
	}
	raw := appendTime(s.rawPrefix(kb, en), st)
	s.rawBuf = raw
	vb, ok, err := s.db.Get(raw)
	if err != nil || !ok {
		if err != nil {
			err = s.fail("fetch session", err)
		}
		return zero, false, err
	}
	v, err := s.valueSerde.Deserialize(s.changelog, vb)
	if err != nil {
		return zero, false, s.fail("fetch session: deserialize value", err)
	}
	return v, true, nil
}

func (s *sessionStore[K, V]) FindSessions(key K, earliestSessionEnd, latestSessionStart time.Time) (Iterator[window.Windowed[K], V], error) {
	return s.find(key, key, earliestSessionEnd.UnixMilli(), latestSessionStart.UnixMilli(), false)
}

func (s *sessionStore[K, V]) BackwardFindSessions(key K, earliestSessionEnd, latestSessionStart time.Time) (Iterator[window.Windowed[K], V], error) {
	return s.find(key, key, earliestSessionEnd.UnixMilli(), latestSessionStart.UnixMilli(), true)
}

func (s *sessionStore[K, V]) FindSessionsKeyRange(keyFrom, keyTo K, earliestSessionEnd, latestSessionStart time.Time) (Iterator[window.Windowed[K], V], error) {
	return s.find(keyFrom, keyTo, earliestSessionEnd.UnixMilli(), latestSessionStart.UnixMilli(), false)
}

func (s *sessionStore[K, V]) BackwardFindSessionsKeyRange(keyFrom, keyTo K, earliestSessionEnd, latestSessionStart time.Time) (Iterator[window.Windowed[K], V], error) {
	return s.find(keyFrom, keyTo, earliestSessionEnd.UnixMilli(), latestSessionStart.UnixMilli(), true)
}

func (s *sessionStore[K, V]) Fetch(key K) (Iterator[window.Windowed[K], V], error) {
	return s.find(key, key, math.MinInt64, math.MaxInt64, false)
}

func (s *sessionStore[K, V]) BackwardFetch(key K) (Iterator[window.Windowed[K], V], error) {
	return s.find(key, key, math.MinInt64, math.MaxInt64, true)
}

// find iterates the sessions of the keys from keyFrom to keyTo that end at
// or after earliestEnd and start at or before latestStart. Session ends
// have no upper bound, so it scans every live segment from that of
// earliestEnd, as Kafka Streams does.
func (s *sessionStore[K, V]) find(keyFrom, keyTo K, earliestEnd, latestStart int64, reverse bool) (Iterator[window.Windowed[K], V], error) {
	escFrom, escTo, err := escapeKeyRange(&s.segmented, s.keySerde, keyFrom, keyTo)
	if err != nil {
		return nil, err
	}
	// One key's cached writes are merged; a key range flushes them.
	merge := s.mergesCache(escFrom, escTo)
	if !bytes.Equal(escFrom, escTo) {
		if err := s.flushForIter(); err != nil {
			return nil, err
		}
	}
	it := newSegmentIter(s.decode)
	lo, hi, ok := s.timeRange(earliestEnd, math.MaxInt64)
	if !ok || bytes.Compare(escFrom, escTo) > 0 {
		return it, nil
	}
	keep := func(suffix []byte) (bool, error) {
		n, err := escapedLen(suffix)
		if err != nil || len(suffix) != n+16 {
			return false, fmt.Errorf("malformed session key")
		}
		return readTime(suffix[n:]) >= lo && readTime(suffix[n+8:]) <= latestStart, nil
	}
	if merge {
		return s.findMerged(escFrom, lo, hi, latestStart, reverse, keep)
	}
	s.scan(&it.m, s.segment(lo), s.segment(hi), reverse, appendTime(escFrom, lo), escTo, keep)
	return it, nil
}

func (s *sessionStore[K, V]) All() (Iterator[window.Windowed[K], V], error) {
	if err := s.flushForIter(); err != nil {
		return nil, err
	}
	it := newSegmentIter(s.decode)
	if lo, hi, ok := s.timeRange(math.MinInt64, math.MaxInt64); ok {
		s.scan(&it.m, s.segment(lo), s.segment(hi), false, nil, nil, inTimes(lo, hi))
	}
	return it, nil
}

// decode decodes an entry to its key, session and value.
func (s *sessionStore[K, V]) decode(suffix, value []byte) (window.Windowed[K], V, error) {
	var w window.Windowed[K]
	var v V
	kb, rest, err := decodeEscaped(s.decBuf[:0], suffix)
	if err != nil {
		return w, v, err
	}
	s.decBuf = kb
	if len(rest) != 16 {
		return w, v, fmt.Errorf("entry key %x: %d bytes after the record key, want 16", suffix, len(rest))
	}
	if w.Key, err = s.keySerde.Deserialize(s.changelog, kb); err != nil {
		return w, v, fmt.Errorf("key: %w", err)
	}
	w.Window = window.Window{Start: timeOf(readTime(rest[8:])), End: timeOf(readTime(rest))}
	if v, err = s.valueSerde.Deserialize(s.changelog, value); err != nil {
		return w, v, fmt.Errorf("value: %w", err)
	}
	return w, v, nil
}

// Restore applies changelog records keyed in Kafka's SessionKeySchema
// format. Records for sessions that have expired by then are skipped, and
// segments that expire are dropped, as in Kafka Streams.
func (s *sessionStore[K, V]) Restore(recs []*kgo.Record) error {
	return s.restore(recs, func(r *kgo.Record) ([]byte, bool, error) {
		n := len(r.Key) - sessionLogSuffixLen
		if n < 0 {
			return nil, false, s.corrupt(r, fmt.Sprintf("key of %d bytes is shorter than the %d of a session end and start", len(r.Key), sessionLogSuffixLen))
		}
		end, start := be64(r.Key[n:]), be64(r.Key[n+8:])
		if start > end {
			return nil, false, s.corrupt(r, fmt.Sprintf("session starts at %d, after its end %d", start, end))
		}
		if s.expired(end) {
			return nil, false, nil
		}
		s.observe(end)
		return appendTime(s.rawPrefix(r.Key[:n], end), start), true, nil
	})
}

func (s *sessionStore[K, V]) describe() string {
	var k K
	var v V
	return fmt.Sprintf("session store of key %T and value %T", k, v)
}

// LookupSession returns the session store named name, which must be
// connected to the processor whose context ctx is, and hold keys of type K
// and values of type V.
func LookupSession[K, V any](ctx interface {
	StateStore(name string) (topology.StateStore, error)
}, name string) (SessionStore[K, V], error) {
	return lookup[SessionStore[K, V], K, V](ctx, name, "session store")
}

// EncodeKey returns the serialized form of key, by which the store orders
// entries, for tools that merge several stores' contents in store order.
func (s *sessionStore[K, V]) EncodeKey(key K) ([]byte, error) {
	return s.keySerde.Serialize(nil, s.changelog, key)
}
