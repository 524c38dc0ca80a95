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

// ReadOnlyWindowStore is the read side of a window store: values kept by key
// and window start time.
//
// Time ranges are inclusive of both ends and select windows by their start.
// Every iterator returns entries in order of the key's serialized bytes, then
// of window start (and, in a store that retains duplicates, in the order they
// were put); the Backward variants return the reverse order. Windows that
// have expired (see [AddWindowStore]) are never returned, even before their
// data is deleted.
type ReadOnlyWindowStore[K, V any] interface {
	topology.StateStore
	// Fetch returns the value of key in the window starting at
	// windowStart, or ok false if there is none. In a store that retains
	// duplicates it returns the first value put; FetchRange returns all.
	Fetch(key K, windowStart time.Time) (value V, ok bool, err error)
	// FetchRange iterates the windows of key whose start is in
	// [from, to], in ascending order of start. The iterator's Key is the
	// window start.
	FetchRange(key K, from, to time.Time) (Iterator[time.Time, V], error)
	// BackwardFetchRange is FetchRange in descending order of start.
	BackwardFetchRange(key K, from, to time.Time) (Iterator[time.Time, V], error)
	// FetchKeyRange iterates the windows of the keys from keyFrom to
	// keyTo, both inclusive, whose start is in [from, to], by key then
	// start. It is empty if keyFrom is after keyTo.
	FetchKeyRange(keyFrom, keyTo K, from, to time.Time) (Iterator[window.Windowed[K], V], error)
	// BackwardFetchKeyRange is FetchKeyRange in reverse order.
	BackwardFetchKeyRange(keyFrom, keyTo K, from, to time.Time) (Iterator[window.Windowed[K], V], error)
	// FetchAll iterates the windows of every key whose start is in
	// [from, to], by key then start.
	FetchAll(from, to time.Time) (Iterator[window.Windowed[K], V], error)
	// BackwardFetchAll is FetchAll in reverse order.
	BackwardFetchAll(from, to time.Time) (Iterator[window.Windowed[K], V], error)
	// All iterates every window of the store, by key then start.
	All() (Iterator[window.Windowed[K], V], error)
	// BackwardAll is All in reverse order.
	BackwardAll() (Iterator[window.Windowed[K], V], error)
}

// WindowStore is a typed window store: a value per key and time window, as
// kept by windowed aggregations and stream-stream joins.
type WindowStore[K, V any] interface {
	ReadOnlyWindowStore[K, V]
	// Put stores value for key in the window starting at windowStart. A
	// value whose serde encodes it as null (a nil pointer, for instance)
	// deletes the window, as in Kafka Streams; in a store that retains
	// duplicates, where it cannot say which one to delete, it does
	// nothing. A put for a window that has already expired is dropped:
	// neither stored nor logged.
	Put(key K, value V, windowStart time.Time) error
}

// RetainDuplicates keeps every value put for the same key and window,
// instead of replacing it, as the window stores of stream-stream joins need.
// Only window stores take it.
func RetainDuplicates() Option { return func(s *spec) { s.retainDuplicates = true } }

// AddWindowStore declares a window store named name on b, holding values
// for windows of the given size, kept in Pebble with a changelog unless
// options say otherwise. Connect it to processors with Builder.ConnectStores
// (or the DSL's WithStores) and look it up with [LookupWindow].
//
// The store keeps windows for retention, which must be at least size (the
// DSL uses size + grace, Kafka Streams' default): a window whose start is at
// or before streamTime - retention has expired, where the store's stream
// time is the latest window start put so far. Expired windows are not
// returned and puts for them are dropped.
//
// Storage is split into segments of max(retention/2, 60s) of window starts,
// as in Kafka Streams; a segment is deleted at once, with a range delete,
// when every window it can hold has expired.
//
// The changelog topic has cleanup.policy=compact,delete and retention.ms =
// retention + 24h (Kafka Streams' windowstore.changelog.additional.
// retention.ms default), and records keyed in Kafka's WindowKeySchema
// format: the serialized key, the window start as 8 big-endian bytes of
// Unix milliseconds, and a 4-byte big-endian sequence number (0 unless the
// store retains duplicates).
func AddWindowStore[K, V any](b *topology.Builder, name string, keySerde serde.Serde[K], valueSerde serde.Serde[V], size, retention time.Duration, opts ...Option) {
	sp := newSpec(name, "window", opts)
	dups := sp.retainDuplicates
	if keySerde == nil || valueSerde == nil {
		b.Fail(fmt.Errorf("store %q: key and value serdes are required", name))
		return
	}
	if size.Milliseconds() < 1 {
		b.Fail(fmt.Errorf("window store %q: window size %v is less than a millisecond", name, size))
		return
	}
	if retention < size {
		b.Fail(fmt.Errorf("window store %q: retention %v is shorter than the window size %v; it must be at least size + grace", name, retention, size))
		return
	}
	ret := retention.Milliseconds()
	sp.def(b, windowedChangelogConfigs(ret), func() engine.Store {
		return &windowStore[K, V]{
			segmented:  newSegmented(sp, ret),
			keySerde:   keySerde,
			valueSerde: valueSerde,
			size:       size.Milliseconds(),
			dups:       dups,
		}
	})
}

// windowStore is the typed window store over a segmented kv.Store. Entry
// keys are [segment][escaped key][window start][sequence number: 4].
type windowStore[K, V any] struct {
	segmented
	keySerde   serde.Serde[K]
	valueSerde serde.Serde[V]
	size       int64 // ms
	dups       bool
	seq        dupSeq // numbers duplicates when dups
	// decodeTimeFn is s.decodeTime, made once: a method value made for
	// each fetch is an allocation per record of a stream-stream join.
	decodeTimeFn func(suffix, value []byte) (time.Time, V, error)
	segmentedCache[K, V]
}

// windowSeqLen is the length of the sequence number ending window keys.
const windowSeqLen = 4

// windowLogSuffixLen is what follows the serialized key in a changelog key:
// the window start and the sequence number.
const windowLogSuffixLen = 8 + windowSeqLen

var zeroSeq = []byte{0, 0, 0, 0}

func (s *windowStore[K, V]) Name() string { return s.spec.name }

func (s *windowStore[K, V]) Init(t *engine.Task) error {
	if err := s.open(t); err != nil {
		return err
	}
	if err := s.loadSeq(); err != nil {
		return s.fail("init", err)
	}
	s.initCache(t)
	return nil
}

func (s *windowStore[K, V]) Flush() error {
	if err := s.flushCache(&s.segmented, "flush"); err != nil {
		return err
	}
	return s.flush()
}

func (s *windowStore[K, V]) Close() error {
	s.closeCache()
	return s.close()
}

func (s *windowStore[K, V]) doPut(key K, value V, windowStart time.Time) error {
	ts := windowStart.UnixMilli()
	if s.expired(ts) {
		s.dropLate(ts)
		return nil
	}
	if s.cache != nil {
		return s.cachedPut(key, value, ts)
	}
	vb, err := encodeValue(&s.segmented, s.valueSerde, value)
	if err != nil {
		return s.fail("put: serialize value", err)
	}
	if vb == nil && s.dups {
		return nil
	}
	kb, err := encodeKey(&s.segmented, s.keySerde, key, true)
	if err != nil {
		return s.fail("put: serialize key", err)
	}
	raw := s.rawPrefix(kb, ts)
	seq := uint32(0)
	if s.dups {
		if seq, err = s.nextSeq(); err != nil {
			return s.fail("put", err)
		}
	}
	raw = binary.BigEndian.AppendUint32(raw, seq)
	s.rawBuf = raw
	ck := binary.BigEndian.AppendUint64(kb, uint64(ts))
	ck = binary.BigEndian.AppendUint32(ck, seq)
	s.keepLogKey(ck)
	if err := s.advance(ts); err != nil {
		return err
	}
	if err := s.putRaw(raw, vb); err != nil {
		return s.fail("put", err)
	}
	return s.log(ck, vb)
}

func (s *windowStore[K, V]) doFetch(key K, windowStart time.Time, query bool) (V, bool, error) {
	var zero V
	ts := windowStart.UnixMilli()
	if _, _, ok := s.timeRange(ts, ts); !ok {
		return zero, false, nil
	}
	if s.cache != nil {
		return s.cachedFetch(key, ts, query)
	}
	kb, err := encodeKey(&s.segmented, s.keySerde, key, false)
	if err != nil {
		return zero, false, s.fail("fetch: serialize key", err)
	}
	raw := s.rawPrefix(kb, ts)
	var vb []byte
	var ok bool
	if s.dups {
		it := s.db.Iter(raw, prefixEnd(raw), false)
		var v V
		if ok = it.Next(); ok {
			v, err = s.valueSerde.Deserialize(s.changelog, it.Value())
		}
		if cerr := it.Close(); cerr != nil {
			return zero, false, s.fail("fetch", cerr)
		}
		if err != nil {
			return zero, false, s.fail("fetch: deserialize value", err)
		}
		return v, ok, nil
	}
	raw = append(raw, zeroSeq...)
	s.rawBuf = raw
	vb, ok, err = s.db.Get(raw)
	if err != nil || !ok {
		if err != nil {
			err = s.fail("fetch", err)
		}
		return zero, false, err
	}
	v, err := s.valueSerde.Deserialize(s.changelog, vb)
	if err != nil {
		return zero, false, s.fail("fetch: deserialize value", err)
	}
	return v, true, nil
}

func (s *windowStore[K, V]) FetchRange(key K, from, to time.Time) (Iterator[time.Time, V], error) {
	return s.fetchRange(key, from.UnixMilli(), to.UnixMilli(), false)
}

func (s *windowStore[K, V]) BackwardFetchRange(key K, from, to time.Time) (Iterator[time.Time, V], error) {
	return s.fetchRange(key, from.UnixMilli(), to.UnixMilli(), true)
}

func (s *windowStore[K, V]) fetchRange(key K, from, to int64, reverse bool) (Iterator[time.Time, V], error) {
	if err := s.flushForIter(); err != nil {
		return nil, err
	}
	if s.decodeTimeFn == nil {
		s.decodeTimeFn = s.decodeTime
	}
	it := newSegmentIter(s.decodeTimeFn)
	lo, hi, ok := s.timeRange(from, to)
	if !ok {
		return it, nil
	}
	kb, err := encodeKey(&s.segmented, s.keySerde, key, false)
	if err != nil {
		return nil, s.fail("fetch: serialize key", err)
	}
	// sufBuf: [escaped key][lo][escaped key][hi]
	b := appendEscaped(s.sufBuf[:0], kb)
	n := len(b)
	b = appendTime(b, lo)
	m := len(b)
	b = appendTime(append(b, b[:n]...), hi)
	s.sufBuf = b
	s.scan(&it.m, s.segment(lo), s.segment(hi), reverse, b[:m], b[m:], nil)
	return it, nil
}

// decodeTime decodes an entry of one key to its window start and value.
func (s *windowStore[K, V]) decodeTime(suffix, value []byte) (time.Time, V, error) {
	ts, err := segmentTime(suffix)
	if err != nil {
		var zero V
		return time.Time{}, zero, err
	}
	v, err := s.valueSerde.Deserialize(s.changelog, value)
	if err != nil {
		return time.Time{}, v, fmt.Errorf("value: %w", err)
	}
	return timeOf(ts), v, nil
}

// decodeWindowed decodes an entry to its key, window and value.
func (s *windowStore[K, V]) decodeWindowed(suffix, value []byte) (window.Windowed[K], V, error) {
	var w window.Windowed[K]
	var v V
	kb, rest, err := decodeEscaped(s.decBuf[:0], suffix)
	if err != nil {
		return w, v, err
	}
	s.decBuf = kb
	if len(rest) != 8+windowSeqLen {
		return w, v, fmt.Errorf("entry key %x: %d bytes after the record key, want %d", suffix, len(rest), 8+windowSeqLen)
	}
	if w.Key, err = s.keySerde.Deserialize(s.changelog, kb); err != nil {
		return w, v, fmt.Errorf("key: %w", err)
	}
	start := readTime(rest)
	w.Window = window.Window{Start: timeOf(start), End: timeOf(addSat(start, s.size))}
	if v, err = s.valueSerde.Deserialize(s.changelog, value); err != nil {
		return w, v, fmt.Errorf("value: %w", err)
	}
	return w, v, nil
}

// inTimes keeps entries whose segment time is in [lo, hi].
func inTimes(lo, hi int64) func(suffix []byte) (bool, error) {
	return func(suffix []byte) (bool, error) {
		t, err := segmentTime(suffix)
		return t >= lo && t <= hi, err
	}
}

func (s *windowStore[K, V]) FetchKeyRange(keyFrom, keyTo K, from, to time.Time) (Iterator[window.Windowed[K], V], error) {
	return s.fetchKeyRange(keyFrom, keyTo, from.UnixMilli(), to.UnixMilli(), false)
}

func (s *windowStore[K, V]) BackwardFetchKeyRange(keyFrom, keyTo K, from, to time.Time) (Iterator[window.Windowed[K], V], error) {
	return s.fetchKeyRange(keyFrom, keyTo, from.UnixMilli(), to.UnixMilli(), true)
}

func (s *windowStore[K, V]) fetchKeyRange(keyFrom, keyTo K, from, to int64, reverse bool) (Iterator[window.Windowed[K], V], error) {
	if err := s.flushForIter(); err != nil {
		return nil, err
	}
	escFrom, escTo, err := escapeKeyRange(&s.segmented, s.keySerde, keyFrom, keyTo)
	if err != nil {
		return nil, err
	}
	it := newSegmentIter(s.decodeWindowed)
	lo, hi, ok := s.timeRange(from, to)
	if !ok || bytes.Compare(escFrom, escTo) > 0 {
		return it, nil
	}
	s.scan(&it.m, s.segment(lo), s.segment(hi), reverse, appendTime(escFrom, lo), appendTime(escTo, hi), inTimes(lo, hi))
	return it, nil
}

// escapeKeyRange serializes and escapes the bounds of a key range.
func escapeKeyRange[K any](s *segmented, ser serde.Serde[K], keyFrom, keyTo K) (escFrom, escTo []byte, err error) {
	kf, err := ser.Serialize(nil, s.changelog, keyFrom)
	if err != nil {
		return nil, nil, s.fail("range: serialize keyFrom", err)
	}
	kt, err := ser.Serialize(nil, s.changelog, keyTo)
	if err != nil {
		return nil, nil, s.fail("range: serialize keyTo", err)
	}
	return appendEscaped(nil, kf), appendEscaped(nil, kt), nil
}

func (s *windowStore[K, V]) FetchAll(from, to time.Time) (Iterator[window.Windowed[K], V], error) {
	return s.fetchAll(from.UnixMilli(), to.UnixMilli(), false)
}

func (s *windowStore[K, V]) BackwardFetchAll(from, to time.Time) (Iterator[window.Windowed[K], V], error) {
	return s.fetchAll(from.UnixMilli(), to.UnixMilli(), true)
}

func (s *windowStore[K, V]) All() (Iterator[window.Windowed[K], V], error) {
	return s.fetchAll(math.MinInt64, math.MaxInt64, false)
}

func (s *windowStore[K, V]) BackwardAll() (Iterator[window.Windowed[K], V], error) {
	return s.fetchAll(math.MinInt64, math.MaxInt64, true)
}

func (s *windowStore[K, V]) fetchAll(from, to int64, reverse bool) (Iterator[window.Windowed[K], V], error) {
	if err := s.flushForIter(); err != nil {
		return nil, err
	}
	it := newSegmentIter(s.decodeWindowed)
	if lo, hi, ok := s.timeRange(from, to); ok {
		s.scan(&it.m, s.segment(lo), s.segment(hi), reverse, nil, nil, inTimes(lo, hi))
	}
	return it, nil
}

// Restore applies changelog records keyed in Kafka's WindowKeySchema format.
// Records for windows that have expired by then are skipped, and segments
// that expire are dropped, as in Kafka Streams.
func (s *windowStore[K, V]) Restore(recs []*kgo.Record) error {
	return s.restore(recs, func(r *kgo.Record) ([]byte, bool, error) {
		n := len(r.Key) - windowLogSuffixLen
		if n < 0 {
			return nil, false, s.corrupt(r, fmt.Sprintf("key of %d bytes is shorter than the %d of a window start and sequence number", len(r.Key), windowLogSuffixLen))
		}
		ts := be64(r.Key[n:])
		s.restoredSeq(r.Key)
		if s.expired(ts) {
			return nil, false, nil
		}
		s.observe(ts)
		return append(s.rawPrefix(r.Key[:n], ts), r.Key[n+8:]...), true, nil
	})
}

func (s *windowStore[K, V]) describe() string {
	var k K
	var v V
	return fmt.Sprintf("window store of key %T and value %T", k, v)
}

// LookupWindow returns the window store named name, which must be connected
// to the processor whose context ctx is, and hold keys of type K and values
// of type V.
func LookupWindow[K, V any](ctx interface {
	StateStore(name string) (topology.StateStore, error)
}, name string) (WindowStore[K, V], error) {
	return lookup[WindowStore[K, V], K, V](ctx, name, "window store")
}

// EncodeKey returns the serialized form of key, by which the store orders
// entries, for tools that merge several stores' contents in store order.
func (s *windowStore[K, V]) EncodeKey(key K) ([]byte, error) {
	return s.keySerde.Serialize(nil, s.changelog, key)
}
