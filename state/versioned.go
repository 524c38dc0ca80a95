package state

import (
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata/internal/engine"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
)

// VersionedRecord is one version of a key's value in a versioned store:
// the value, the time from which it is valid (its record's timestamp) and,
// unless it is the key's latest version, the time the next version (or a
// deletion) replaced it.
type VersionedRecord[V any] struct {
	Value V
	// Timestamp is when the version became valid.
	Timestamp time.Time
	// ValidTo is when the version stopped being valid (exclusive), set
	// with HasValidTo for every version but a key's latest.
	ValidTo    time.Time
	HasValidTo bool
}

// PutResult says what a versioned store did with a version put into it.
type PutResult struct {
	// Stored is false when the version was older than the store's
	// history retention allows: it was dropped, neither stored nor
	// logged.
	Stored bool
	// Latest is true when the version is the key's latest: its
	// timestamp is at or after every other version's of the key.
	Latest bool
	// ValidTo is, for a stored version that is not the latest, when the
	// next version of the key (or a deletion) replaces it.
	ValidTo time.Time
}

// ReadOnlyVersionedKeyValueStore is the read side of a versioned
// key-value store: every version of each key's value within the store's
// history retention, readable as of any time in it (Kafka Streams'
// VersionedKeyValueStore, KIP-889).
//
// It is also a key-value store of each key's latest value, as a
// Timestamped value (the version's timestamp): Get, the ranges and All read
// the latest versions, so code that reads a table's current rows reads a
// versioned table's too.
type ReadOnlyVersionedKeyValueStore[K, V any] interface {
	ReadOnlyKeyValueStore[K, Timestamped[V]]
	// GetAsOf returns the version of key valid at asOf: the version
	// with the latest timestamp at or before asOf, unless a deletion
	// came between. ok is false when there is none, and when asOf is
	// older than stream time minus the history retention, unless the
	// key's latest version is valid at asOf (latest versions never
	// expire).
	GetAsOf(key K, asOf time.Time) (VersionedRecord[V], bool, error)
	// HistoryRetention is how long the store keeps versions that later
	// ones replaced, and how far behind stream time it accepts writes.
	HistoryRetention() time.Duration
}

// VersionedKeyValueStore is a typed versioned key-value store: it keeps
// every version of each key's value, by timestamp, for a history retention
// period, as Kafka Streams' versioned stores do (KIP-889). Versions may be
// put out of order: one older than the key's latest becomes part of its
// history, valid until the next version.
//
// Its stream time is the latest timestamp put into it. A put or delete with
// a timestamp older than stream time minus the history retention is
// dropped: the history it would change is no longer kept.
//
// As a KeyValueStore of Timestamped values, Put(key, Timestamped{v, ts})
// is PutVersion(key, v, ts), and Delete(key) deletes the key at the time of
// the record being processed.
type VersionedKeyValueStore[K, V any] interface {
	ReadOnlyVersionedKeyValueStore[K, V]
	KeyValueStore[K, Timestamped[V]]
	// PutVersion adds a version of key, valid from ts. A value whose
	// serde encodes it as null deletes the key from ts. A second version
	// with the same key and timestamp replaces the first.
	PutVersion(key K, value V, ts time.Time) (PutResult, error)
	// PutTombstone deletes key from ts, as a version: PutVersion of a
	// deletion, whatever the value serde makes of values.
	PutTombstone(key K, ts time.Time) (PutResult, error)
	// DeleteAt deletes key from ts, and returns the version that was
	// valid at ts, if any: GetAsOf followed by a deleting PutVersion. A
	// delete older than the history retention allows is dropped and
	// returns ok false.
	DeleteAt(key K, ts time.Time) (VersionedRecord[V], bool, error)
}

// versionedAdditionalCompactionLag is added to a versioned store's history
// retention to make its changelog's min.compaction.lag.ms, as Kafka
// Streams' VersionedChangelogTopicConfig does.
const versionedAdditionalCompactionLag = 24 * time.Hour

// AddVersionedKeyValueStore declares a versioned key-value store named name
// on b, keeping the versions that later ones replaced for historyRetention,
// in Pebble with a changelog unless options say otherwise (InMemory,
// Logging, ChangelogConfig; versioned stores do not cache, as in Kafka
// Streams, so Caching is ignored). Connect it to processors with
// Builder.ConnectStores and look it up with [LookupVersioned] (or, for its
// latest values, [LookupKeyValue] with Timestamped values).
//
// Storage: each key's latest version under a key of its own, and the
// versions later ones replaced in segments by the time they stopped being
// valid, each segment deleted at once when all it holds is older than the
// retention, as in Kafka Streams' RocksDBVersionedStore. Segments span
// max(retention/2, 60s), as those of window stores (Kafka Streams picks
// smaller ones for versioned stores); results do not depend on it. The changelog is compacted, with min.compaction.lag.ms = retention
// + 24h so that the history the store needs stays in it; each record is a
// version: the serialized key and value (null for a deletion), stamped
// with the version's timestamp, as in Kafka Streams.
func AddVersionedKeyValueStore[K, V any](b *topology.Builder, name string, keySerde serde.Serde[K], valueSerde serde.Serde[V], historyRetention time.Duration, opts ...Option) {
	sp := newSpec(name, "versioned key-value", opts)
	switch {
	case keySerde == nil || valueSerde == nil:
		b.Fail(fmt.Errorf("store %q: key and value serdes are required", name))
		return
	case sp.retainDuplicates:
		b.Fail(fmt.Errorf("store %q: RetainDuplicates applies to window stores only", name))
		return
	case historyRetention < 0:
		b.Fail(fmt.Errorf("versioned store %q: history retention %v is negative", name, historyRetention))
		return
	}
	sp.caching = false
	ret := historyRetention.Milliseconds()
	cfgs := map[string]string{
		"cleanup.policy":        "compact",
		"min.compaction.lag.ms": fmt.Sprint(addSat(ret, versionedAdditionalCompactionLag.Milliseconds())),
	}
	sp.def(b, cfgs, func() engine.Store {
		s := &versionedStore[K, V]{segmented: newSegmented(sp, ret), keySerde: keySerde, valueSerde: valueSerde}
		s.entriesEnd = latestPrefix
		return s
	})
}

// LookupVersioned returns the versioned key-value store named name, which
// must be connected to the processor whose context ctx is, and hold keys
// of type K and values of type V.
func LookupVersioned[K, V any](ctx interface {
	StateStore(name string) (topology.StateStore, error)
}, name string) (VersionedKeyValueStore[K, V], error) {
	return lookup[VersionedKeyValueStore[K, V], K, V](ctx, name, "versioned key-value store")
}

// Layout of a versioned store in its kv.Store. The versions later ones
// replaced are segment entries (see the layout of window stores):
//
//	[segment of validTo][escaped key][validTo: 8][validFrom: 8] -> [flag][value]
//
// ordered within a segment by key, then validTo. The flag is histValue, or
// histTombstone for a deletion, kept as a version valid from and to its
// time (so that a version put out of order before a deletion knows when it
// ends); a deletion expires with its segment. The latest version of each key
// is a key of its own, after every segment and before the store's metadata:
//
//	[latestPrefix][escaped key] -> [validFrom: 8][value]
var latestPrefix = []byte{0xFE}

const (
	histTombstone = 0
	histValue     = 1
)

// A versionedStore is a VersionedKeyValueStore; this fails to compile
// otherwise.
var _ VersionedKeyValueStore[string, string] = (*versionedStore[string, string])(nil)

// versionedStore is the typed versioned store over a segmented kv.Store.
type versionedStore[K, V any] struct {
	segmented
	keySerde   serde.Serde[K]
	valueSerde serde.Serde[V]

	latestBuf []byte // a latest-version key
	histBuf   []byte // a history key
	valBuf2   []byte // a stored value with its flag or time
	boundsBuf []byte // the bounds of a history scan
	found     []version
}

// version is a version of one key, as read from the store: valid from
// from to to (exclusive), a deletion when tomb is set. value is a copy.
type version struct {
	from, to int64
	value    []byte
	tomb     bool
}

func (s *versionedStore[K, V]) Name() string { return s.spec.name }

func (s *versionedStore[K, V]) HistoryRetention() time.Duration {
	return time.Duration(s.retention) * time.Millisecond
}

func (s *versionedStore[K, V]) Init(t *engine.Task) error {
	if err := s.open(t); err != nil {
		return err
	}
	if s.saved {
		return nil
	}
	// No stream time was saved (the store was not flushed before its
	// task stopped): the latest versions hold the latest timestamps.
	it := s.db.Iter(latestPrefix, prefixEnd(latestPrefix), false)
	for it.Next() {
		if v := it.Value(); len(v) >= 8 {
			s.observe(readTime(v))
		}
	}
	if err := it.Close(); err != nil {
		return s.fail("init", err)
	}
	return s.dropExpired()
}

func (s *versionedStore[K, V]) Flush() error { return s.flush() }

func (s *versionedStore[K, V]) Close() error { return s.close() }

// tooOld reports whether a write at ts is older than the history the store
// keeps: Kafka Streams drops writes with timestamp < streamTime - retention.
func (s *versionedStore[K, V]) tooOld(ts int64) bool {
	return s.known && ts < addSat(s.streamTime, -s.retention)
}

// latestKey builds the key of kb's latest version in latestBuf.
func (s *versionedStore[K, V]) latestKey(kb []byte) []byte {
	s.latestBuf = appendEscaped(append(s.latestBuf[:0], latestPrefix...), kb)
	return s.latestBuf
}

// histKey builds the key of a history entry in histBuf.
func (s *versionedStore[K, V]) histKey(kb []byte, from, to int64) []byte {
	b := appendTime(s.histBuf[:0], s.segment(to))
	b = appendEscaped(b, kb)
	b = appendTime(appendTime(b, to), from)
	s.histBuf = b
	return b
}

// getLatest reads kb's latest version.
func (s *versionedStore[K, V]) getLatest(kb []byte) (ts int64, vb []byte, ok bool, err error) {
	v, ok, err := s.db.Get(s.latestKey(kb))
	if err != nil || !ok {
		return 0, nil, false, err
	}
	if len(v) < 8 {
		return 0, nil, false, fmt.Errorf("latest version of %x: %d bytes, want at least 8", kb, len(v))
	}
	return readTime(v), v[8:], true, nil
}

// history reads, in order of validTo then validFrom, up to max of kb's
// history entries whose validTo is at or after lo, into s.found.
func (s *versionedStore[K, V]) history(kb []byte, lo int64, max int) error {
	s.found = s.found[:0]
	lo, hi, ok := s.timeRange(lo, s.streamTime)
	if !ok {
		return nil
	}
	b := appendEscaped(s.boundsBuf[:0], kb)
	n := len(b)
	b = appendTime(b, lo)
	s.boundsBuf = b
	var m mergeIter
	s.scan(&m, s.segment(lo), s.segment(hi), false, b, b[:n], nil)
	for len(s.found) < max && m.next() {
		suf, val := m.suffix(), m.value()
		if len(suf) != n+16 || len(val) < 1 {
			m.close()
			return s.fail("read history", fmt.Errorf("malformed entry %x", suf))
		}
		s.found = append(s.found, version{
			to: readTime(suf[n:]), from: readTime(suf[n+8:]),
			tomb: val[0] == histTombstone, value: append([]byte{}, val[1:]...),
		})
	}
	if err := m.close(); err != nil {
		return s.fail("read history", err)
	}
	return nil
}

// batchWriter takes the writes of one put, committed at once.
type batchWriter interface {
	Set(key, value []byte) error
	Delete(key []byte) error
}

// writeHist writes a history entry, unless it has expired.
func (s *versionedStore[K, V]) writeHist(b batchWriter, kb []byte, from, to int64, vb []byte, tomb bool) error {
	if s.expired(to) {
		return nil
	}
	flag := byte(histValue)
	if tomb {
		flag = histTombstone
	}
	s.valBuf2 = append(append(s.valBuf2[:0], flag), vb...)
	return b.Set(s.histKey(kb, from, to), s.valBuf2)
}

// putRaw adds the version vb (nil for a deletion) of the key kb at ts. The
// caller has checked that it is not too old.
func (s *versionedStore[K, V]) putRaw(kb, vb []byte, ts int64) (PutResult, error) {
	res := PutResult{Stored: true}
	if err := s.advance(ts); err != nil {
		return res, err
	}
	lts, lvb, lok, err := s.getLatest(kb)
	if err != nil {
		return res, s.fail("put", err)
	}
	lvb = append([]byte{}, lvb...)
	b := s.db.NewBatch()
	setLatest := func() error {
		s.valBuf2 = append(appendTime(s.valBuf2[:0], ts), vb...)
		return b.Set(s.latestKey(kb), s.valBuf2)
	}
	if lok && ts >= lts {
		// In order: the version replaces the latest.
		if ts > lts {
			err = s.writeHist(b, kb, lts, ts, lvb, false)
		}
		res.Latest = true
		switch {
		case err != nil:
		case vb != nil:
			err = setLatest()
		default:
			if err = b.Delete(s.latestKey(kb)); err == nil {
				err = s.writeHist(b, kb, ts, ts, nil, true)
			}
		}
	} else {
		err = s.putHistory(b, kb, vb, ts, lts, lok, setLatest, &res)
	}
	if err == nil && !s.hooked && !s.spec.inMemory {
		err = s.saveTime(b.Set)
	}
	if err == nil {
		err = b.Commit()
	}
	if err != nil {
		return res, s.fail("put", err)
	}
	return res, nil
}

// putHistory adds a version at ts, older than the key's latest version (at
// lts, if lok) or the key has none: it goes into the history, valid until
// the next version, and shortens the version it falls in.
func (s *versionedStore[K, V]) putHistory(b batchWriter, kb, vb []byte, ts, lts int64, lok bool, setLatest func() error, res *PutResult) error {
	// The entries from ts on: a deletion at ts (replaced), the entries
	// ending at ts (untouched), then the one ts falls in or the first
	// after it.
	if err := s.history(kb, ts, 4); err != nil {
		return err
	}
	var cover, after *version
	for i := range s.found {
		e := &s.found[i]
		switch {
		case e.tomb && e.from == ts:
			if err := b.Delete(s.histKey(kb, e.from, e.to)); err != nil {
				return err
			}
			continue
		case e.to == ts:
			continue
		case e.from <= ts:
			cover = e
		default:
			after = e
		}
		break
	}
	next, hasNext := lts, lok
	switch {
	case cover != nil:
		next, hasNext = cover.to, true
		if err := b.Delete(s.histKey(kb, cover.from, cover.to)); err != nil {
			return err
		}
		if cover.from < ts {
			if err := s.writeHist(b, kb, cover.from, ts, cover.value, false); err != nil {
				return err
			}
		}
	case after != nil:
		next, hasNext = after.from, true
	}
	if !hasNext {
		res.Latest = true
		if vb != nil {
			return setLatest()
		}
		return s.writeHist(b, kb, ts, ts, nil, true)
	}
	res.ValidTo = timeOf(next)
	if vb == nil {
		return s.writeHist(b, kb, ts, ts, nil, true)
	}
	return s.writeHist(b, kb, ts, next, vb, false)
}

// getAsOfRaw returns the version of kb valid at asOf.
func (s *versionedStore[K, V]) getAsOfRaw(kb []byte, asOf int64) (from, to int64, vb []byte, latest, ok bool, err error) {
	lts, lvb, lok, err := s.getLatest(kb)
	if err != nil {
		return 0, 0, nil, false, false, err
	}
	if lok && lts <= asOf {
		return lts, 0, lvb, true, true, nil
	}
	if !s.known || asOf < addSat(s.streamTime, -s.retention) {
		return 0, 0, nil, false, false, nil
	}
	if err := s.history(kb, addSat(asOf, 1), 1); err != nil || len(s.found) == 0 {
		return 0, 0, nil, false, false, err
	}
	e := s.found[0]
	if e.tomb || e.from > asOf {
		return 0, 0, nil, false, false, nil
	}
	return e.from, e.to, e.value, false, true, nil
}

func (s *versionedStore[K, V]) GetAsOf(key K, asOf time.Time) (VersionedRecord[V], bool, error) {
	kb, err := encodeKey(&s.segmented, s.keySerde, key, false)
	if err != nil {
		return VersionedRecord[V]{}, false, s.fail("get: serialize key", err)
	}
	return s.decodedAsOf(kb, asOf.UnixMilli())
}

// decodedAsOf is GetAsOf of the serialized key kb.
func (s *versionedStore[K, V]) decodedAsOf(kb []byte, asOf int64) (VersionedRecord[V], bool, error) {
	var r VersionedRecord[V]
	from, to, vb, latest, ok, err := s.getAsOfRaw(kb, asOf)
	if err != nil || !ok {
		if err != nil {
			err = s.fail("get", err)
		}
		return r, false, err
	}
	if r.Value, err = s.valueSerde.Deserialize(s.changelog, vb); err != nil {
		return r, false, s.fail("get: deserialize value", err)
	}
	r.Timestamp = timeOf(from)
	if !latest {
		r.ValidTo, r.HasValidTo = timeOf(to), true
	}
	return r, true, nil
}

func (s *versionedStore[K, V]) PutVersion(key K, value V, ts time.Time) (PutResult, error) {
	ms := ts.UnixMilli()
	if s.tooOld(ms) {
		s.dropLate(ms)
		return PutResult{}, nil
	}
	vb, err := encodeValue(&s.segmented, s.valueSerde, value)
	if err != nil {
		return PutResult{}, s.fail("put: serialize value", err)
	}
	return s.write(key, vb, ms, "put")
}

func (s *versionedStore[K, V]) PutTombstone(key K, ts time.Time) (PutResult, error) {
	ms := ts.UnixMilli()
	if s.tooOld(ms) {
		s.dropLate(ms)
		return PutResult{}, nil
	}
	return s.write(key, nil, ms, "put tombstone")
}

// write puts the encoded version vb (nil: a deletion) of key at ms and
// logs it.
func (s *versionedStore[K, V]) write(key K, vb []byte, ms int64, op string) (PutResult, error) {
	kb, err := encodeKey(&s.segmented, s.keySerde, key, true)
	if err != nil {
		return PutResult{}, s.fail(op+": serialize key", err)
	}
	s.keepLogKey(kb)
	res, err := s.putRaw(kb, vb, ms)
	if err != nil {
		return res, err
	}
	if s.spec.logged {
		if err := s.spec.sendChangelogAt(s.task, s.changelog, kb, vb, ms); err != nil {
			return res, s.fail(op, err)
		}
	}
	return res, nil
}

func (s *versionedStore[K, V]) DeleteAt(key K, ts time.Time) (VersionedRecord[V], bool, error) {
	ms := ts.UnixMilli()
	if s.tooOld(ms) {
		s.dropLate(ms)
		return VersionedRecord[V]{}, false, nil
	}
	kb, err := encodeKey(&s.segmented, s.keySerde, key, false)
	if err != nil {
		return VersionedRecord[V]{}, false, s.fail("delete: serialize key", err)
	}
	old, ok, err := s.decodedAsOf(kb, ms)
	if err != nil {
		return old, ok, err
	}
	_, err = s.write(key, nil, ms, "delete")
	return old, ok, err
}

// Restore applies changelog records: each a version, put as processing put
// it.
func (s *versionedStore[K, V]) Restore(recs []*kgo.Record) error {
	for _, r := range recs {
		if r.Key == nil {
			return s.corrupt(r, "null key")
		}
		ms := r.Timestamp.UnixMilli()
		if s.tooOld(ms) {
			continue
		}
		if _, err := s.putRaw(r.Key, r.Value, ms); err != nil {
			return err
		}
	}
	return nil
}

func (s *versionedStore[K, V]) describe() string {
	var k K
	var v V
	return fmt.Sprintf("versioned key-value store of key %T and value %T", k, v)
}

// EncodeKey returns the serialized form of key, by which the store orders
// its latest versions, for tools that merge several stores' contents.
func (s *versionedStore[K, V]) EncodeKey(key K) ([]byte, error) {
	return s.keySerde.Serialize(nil, s.changelog, key)
}
