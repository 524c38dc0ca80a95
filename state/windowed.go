package state

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata/internal/engine"
	"github.com/strata-go/strata/internal/kv"
	"github.com/strata-go/strata/serde"
)

// minSegmentInterval is the smallest segment interval, as in Kafka Streams.
const minSegmentInterval = int64(60_000)

// windowChangelogAdditionalRetention is added to a window or session store's
// retention to make its changelog's retention.ms, as Kafka Streams'
// windowstore.changelog.additional.retention.ms does by default.
const windowChangelogAdditionalRetention = 24 * time.Hour

// windowedChangelogConfigs are the changelog topic configs of window and
// session stores, as Kafka Streams sets them: compacted and deleted after
// the store's retention plus a day.
func windowedChangelogConfigs(retention int64) map[string]string {
	return map[string]string{
		"cleanup.policy": "compact,delete",
		"retention.ms":   fmt.Sprint(addSat(retention, windowChangelogAdditionalRetention.Milliseconds())),
	}
}

// segmentInterval is the time range each segment of a store with the given
// retention covers: max(retention/2, 60s), as in Kafka Streams.
func segmentInterval(retention int64) int64 { return max(retention/2, minSegmentInterval) }

// segmented is the part that window and session stores share: a kv.Store
// split into time segments, the store's stream time, and retention.
//
// The stream time of the store is the greatest segment time (window start,
// session end) put so far, Kafka's observedStreamTime. An entry whose
// segment time is at or before streamTime - retention has expired: reads
// skip it and puts for it are dropped. A segment is deleted, with one
// DeleteRange, once every time it covers has expired.
type segmented struct {
	spec      *spec
	task      *engine.Task
	db        kv.Store
	changelog string
	// sampler times a share of the store's reads and writes for the
	// task's metrics; nil without (sampled.go).
	sampler *engine.StoreSampler

	retention int64 // ms
	interval  int64 // ms

	known      bool  // streamTime is set: something was put or restored
	streamTime int64 // ms
	savedTime  int64 // streamTime as last written to metaKey
	saved      bool
	// hooked is set when the kv.Store has a write buffer that saves
	// stream time in each of its commits (kv.CommitHooks): puts and
	// flushes then leave it to that.
	hooked bool
	// liveFrom is the lowest segment that may hold entries; those below
	// were dropped. math.MinInt64 until the first drop.
	liveFrom int64
	// dropped counts puts dropped because their window had expired.
	dropped int64
	// entriesEnd bounds the segments' entries from above, for a store
	// that keeps other keys between them and metaPrefix (a versioned
	// store's latest values); nil is metaPrefix.
	entriesEnd []byte

	keyBuf   []byte // serialized record keys of reads and unlogged writes
	valBuf   []byte // serialized values of unlogged writes
	rawBuf   []byte // kv keys
	decBuf   []byte // unescaped record keys being decoded
	timeBuf  []byte // the stream time being saved
	boundBuf []byte // bounds of a segment scan
	sufBuf   []byte // the suffixes of a fetch's bounds
}

func newSegmented(sp *spec, retention int64) segmented {
	return segmented{spec: sp, retention: retention, interval: segmentInterval(retention), liveFrom: math.MinInt64}
}

func (s *segmented) fail(op string, err error) error {
	return fmt.Errorf("store %q: %s: %w", s.spec.name, op, err)
}

// open opens the store's kv.Store in t and recovers its stream time.
func (s *segmented) open(t *engine.Task) error {
	s.task = t
	s.changelog = t.Changelog(s.spec.name)
	db, err := s.spec.open(t)
	if err != nil {
		return err
	}
	s.db = db
	s.sampler = t.StoreSampler(s.spec.name)
	if err := s.loadStreamTime(); err != nil {
		return s.fail("init", err)
	}
	if h, ok := db.(kv.CommitHooks); ok && !s.spec.inMemory {
		s.hooked = h.OnCommit(s.saveTime)
	}
	return s.dropExpired()
}

// saveTime writes stream time with set if it moved since it was last
// saved.
func (s *segmented) saveTime(set func(key, value []byte) error) error {
	if !s.known || (s.saved && s.savedTime == s.streamTime) {
		return nil
	}
	s.timeBuf = appendTime(s.timeBuf[:0], s.streamTime)
	if err := set(metaKey, s.timeBuf); err != nil {
		return s.fail("save stream time", err)
	}
	s.saved, s.savedTime = true, s.streamTime
	return nil
}

// loadStreamTime reads the stream time a persistent store saved on its last
// Flush. If there is none but the store holds entries (it was not flushed
// before a crash), it takes the greatest segment time of the last segment.
func (s *segmented) loadStreamTime() error {
	v, ok, err := s.db.Get(metaKey)
	if err != nil {
		return err
	}
	if ok {
		if len(v) != 8 {
			return fmt.Errorf("stream time record has %d bytes, want 8", len(v))
		}
		s.known, s.streamTime = true, readTime(v)
		s.saved, s.savedTime = true, s.streamTime
		return nil
	}
	end := s.entriesEnd
	if end == nil {
		end = metaPrefix
	}
	it := s.db.Iter(nil, end, true)
	var last []byte
	if it.Next() {
		last = append(last, it.Key()[:segPrefixLen]...)
	}
	if err := it.Close(); err != nil || last == nil {
		return err
	}
	it = s.db.Iter(last, prefixEnd(last), false)
	for it.Next() {
		ts, err := segmentTime(it.Key()[segPrefixLen:])
		if err != nil {
			it.Close()
			return fmt.Errorf("recover stream time: key %x: %w", it.Key(), err)
		}
		s.observe(ts)
	}
	return it.Close()
}

// observe moves stream time forward to ts. It does not drop segments.
func (s *segmented) observe(ts int64) {
	if !s.known || ts > s.streamTime {
		s.known, s.streamTime = true, ts
	}
}

// minLive is the earliest segment time that has not expired. It is
// meaningless before stream time is known.
func (s *segmented) minLive() int64 { return addSat(addSat(s.streamTime, -s.retention), 1) }

// expired reports whether an entry at segment time ts has expired.
func (s *segmented) expired(ts int64) bool { return s.known && ts < s.minLive() }

// segment is the segment holding segment time ts.
func (s *segmented) segment(ts int64) int64 { return floorDiv(ts, s.interval) }

// advance moves stream time to ts and drops the segments that expire.
func (s *segmented) advance(ts int64) error {
	if s.known && ts <= s.streamTime {
		return nil
	}
	s.observe(ts)
	return s.dropExpired()
}

// dropExpired deletes the segments whose whole time range has expired.
func (s *segmented) dropExpired() error {
	if !s.known {
		return nil
	}
	live := s.segment(s.minLive())
	if live <= s.liveFrom {
		return nil
	}
	var lo []byte
	if s.liveFrom != math.MinInt64 {
		lo = appendTime(nil, s.liveFrom)
	}
	if err := s.db.DeleteRange(lo, appendTime(nil, live)); err != nil {
		return s.fail("drop expired segments", err)
	}
	s.liveFrom = live
	return nil
}

// dropLate counts and logs a write dropped because its window expired.
func (s *segmented) dropLate(ts int64) {
	s.dropped++
	s.task.Logger().Debug("skipping write to expired window", "store", s.spec.name,
		"time", ts, "stream_time", s.streamTime, "retention_ms", s.retention)
}

// putRaw stores an entry, or deletes it if vb is nil. A persistent store
// whose stream time moved since it was last saved saves it in the same
// batch: one commit rather than two (one now, one at the next flush), as
// the driver commits after every record. Over a write buffer, which saves
// it in each of its commits, it writes the entry alone.
func (s *segmented) putRaw(raw, vb []byte) error {
	if s.hooked || s.spec.inMemory || !s.known || (s.saved && s.savedTime == s.streamTime) {
		if vb == nil {
			return s.db.Delete(raw)
		}
		return s.db.Set(raw, vb)
	}
	b := s.db.NewBatch()
	var err error
	if vb == nil {
		err = b.Delete(raw)
	} else {
		err = b.Set(raw, vb)
	}
	s.timeBuf = appendTime(s.timeBuf[:0], s.streamTime)
	if err == nil {
		err = b.Set(metaKey, s.timeBuf)
	}
	if err == nil {
		err = b.Commit()
	}
	if err != nil {
		return err
	}
	s.saved, s.savedTime = true, s.streamTime
	return nil
}

// flush saves the stream time of a persistent store, so that it still
// filters expired entries after a restart.
func (s *segmented) flush() error {
	if s.hooked || s.spec.inMemory || !s.known || (s.saved && s.savedTime == s.streamTime) {
		return nil
	}
	if err := s.db.Set(metaKey, appendTime(nil, s.streamTime)); err != nil {
		return s.fail("flush", err)
	}
	s.saved, s.savedTime = true, s.streamTime
	return nil
}

func (s *segmented) close() error {
	if s.db == nil {
		return nil
	}
	err := s.db.Close()
	s.db = nil
	if err != nil {
		return s.fail("close", err)
	}
	return nil
}

// encodeKey serializes a record key. For a write to a logged store
// (forLog) it goes into the task's output slab, as the changelog key starts
// with it: the caller appends the rest of the changelog key and calls
// keepLogKey. Otherwise it goes into the store's scratch buffer, valid until
// the next call.
func encodeKey[K any](s *segmented, ser serde.Serde[K], key K, forLog bool) ([]byte, error) {
	if forLog && s.spec.logged {
		return ser.Serialize(s.task.OutputBuffer(), s.changelog, key)
	}
	kb, err := ser.Serialize(s.keyBuf[:0], s.changelog, key)
	if kb != nil {
		s.keyBuf = kb
	}
	return kb, err
}

// encodeValue serializes a value to write, into the output slab when the
// store is logged (the changelog record keeps it). A nil result is a null.
func encodeValue[V any](s *segmented, ser serde.Serde[V], v V) ([]byte, error) {
	if s.spec.logged {
		vb, err := ser.Serialize(s.task.OutputBuffer(), s.changelog, v)
		s.task.KeepOutput(vb)
		return vb, err
	}
	vb, err := ser.Serialize(s.valBuf[:0], s.changelog, v)
	if vb != nil {
		s.valBuf = vb
	}
	return vb, err
}

// keepLogKey claims a changelog key built in the output slab.
func (s *segmented) keepLogKey(kb []byte) {
	if s.spec.logged {
		s.task.KeepOutput(kb)
	}
}

// log sends a changelog record. A nil value is a tombstone.
func (s *segmented) log(kb, vb []byte) error {
	if !s.spec.logged {
		return nil
	}
	return s.spec.sendChangelog(s.task, s.changelog, kb, vb)
}

// rawPrefix builds [segment][escaped key][t] in the store's scratch buffer;
// the caller appends the rest of the entry key and stores the result back in
// s.rawBuf.
func (s *segmented) rawPrefix(key []byte, t int64) []byte {
	b := appendTime(s.rawBuf[:0], s.segment(t))
	b = appendEscaped(b, key)
	b = appendTime(b, t)
	s.rawBuf = b
	return b
}

// timeRange clips the segment times [from, to] of a query to those that can
// hold live entries, and reports whether any are left.
func (s *segmented) timeRange(from, to int64) (lo, hi int64, ok bool) {
	if !s.known {
		return 0, 0, false
	}
	lo, hi = max(from, s.minLive()), min(to, s.streamTime)
	return lo, hi, lo <= hi
}

// corrupt is the error of a changelog record that cannot be restored.
// restore writes changelog records to the store in one batch, each under
// the store key rawKey makes of it (ok false skips a record for expired
// time), commits the batch and drops the segments that expire. rawKey may
// build the key in s.rawBuf.
func (s *segmented) restore(recs []*kgo.Record, rawKey func(r *kgo.Record) (raw []byte, ok bool, err error)) error {
	b := s.db.NewBatch()
	for _, r := range recs {
		raw, ok, err := rawKey(r)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		s.rawBuf = raw
		if r.Value == nil {
			err = b.Delete(raw)
		} else {
			err = b.Set(raw, r.Value)
		}
		if err != nil {
			return s.fail("restore", err)
		}
	}
	if err := b.Commit(); err != nil {
		return s.fail("restore", err)
	}
	return s.dropExpired()
}

func (s *segmented) corrupt(r *kgo.Record, why string) error {
	return fmt.Errorf("store %q: restore: corrupt changelog record at %s[%d] offset %d: %s",
		s.spec.name, r.Topic, r.Partition, r.Offset, why)
}

// scan fills m with one iterator per segment from segLo to segHi, each over
// [segment+loSuffix, prefixEnd(segment+hiSuffix)) (an empty hiSuffix bounds
// the whole segment), merged in order of their keys without the segment
// prefix: record key, then time. The bounds are built in a scratch buffer:
// kv stores copy them.
func (s *segmented) scan(m *mergeIter, segLo, segHi int64, reverse bool, loSuffix, hiSuffix []byte,
	keep func(suffix []byte) (bool, error)) {
	s.scanAfter(m, segLo, segHi, reverse, loSuffix, hiSuffix, nil, keep)
}

// scanAfter is scan resuming after the entry whose key without its segment
// prefix is after (before it when reverse), if after is not nil: a query's
// next page (query.go).
func (s *segmented) scanAfter(m *mergeIter, segLo, segHi int64, reverse bool, loSuffix, hiSuffix, after []byte,
	keep func(suffix []byte) (bool, error)) {
	segLo = max(segLo, s.liveFrom)
	m.reverse, m.keep = reverse, keep
	m.its, m.heads = m.itsBuf[:0], m.headsBuf[:0]
	for seg := segLo; seg <= segHi; seg++ {
		b := append(appendTime(s.boundBuf[:0], seg), loSuffix...)
		n := len(b)
		b = append(appendTime(b, seg), hiSuffix...)
		s.boundBuf = b
		lo, hi := b[:n], incrementPrefix(b[n:])
		if after != nil {
			lo, hi = resumeBounds(appendTime(nil, seg), lo, hi, after, reverse)
		}
		m.its = append(m.its, s.db.Iter(lo, hi, reverse))
		m.heads = append(m.heads, false)
		if seg == math.MaxInt64 {
			break
		}
	}
}

// incrementPrefix turns p, in place, into the least key greater than every
// key with prefix p, or returns nil if there is none (p all 0xFF).
func incrementPrefix(p []byte) []byte {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] < 0xFF {
			p[i]++
			return p[:i+1]
		}
	}
	return nil
}

// mergeIter merges per-segment kv iterators by the entry keys without their
// segment prefix, skipping entries keep rejects. There are few live segments
// (about three: the segment interval is half the retention), so it picks the
// next entry by a linear scan.
type mergeIter struct {
	its   []kv.Iterator
	heads []bool
	// itsBuf and headsBuf hold its and heads when they fit, as they do
	// for the few segments a window fetch spans.
	itsBuf   [2]kv.Iterator
	headsBuf [2]bool
	reverse  bool
	keep     func(suffix []byte) (bool, error)
	started  bool
	cur      int
	err      error
}

// next advances to the next entry and reports whether there is one.
func (m *mergeIter) next() bool {
	if m.err != nil {
		return false
	}
	if !m.started {
		m.started = true
		for i := range m.its {
			m.advance(i)
		}
	} else if m.cur >= 0 {
		m.advance(m.cur)
	}
	m.cur = -1
	if m.err != nil {
		return false
	}
	for i, ok := range m.heads {
		if !ok {
			continue
		}
		if m.cur < 0 {
			m.cur = i
			continue
		}
		c := bytes.Compare(m.its[i].Key()[segPrefixLen:], m.its[m.cur].Key()[segPrefixLen:])
		if c < 0 && !m.reverse || c > 0 && m.reverse {
			m.cur = i
		}
	}
	return m.cur >= 0
}

// advance moves iterator i to its next kept entry.
func (m *mergeIter) advance(i int) {
	it := m.its[i]
	for it.Next() {
		k := it.Key()
		if len(k) < segPrefixLen {
			m.err = fmt.Errorf("entry key %x is shorter than a segment id", k)
			m.heads[i] = false
			return
		}
		if m.keep != nil {
			ok, err := m.keep(k[segPrefixLen:])
			if err != nil {
				m.err = fmt.Errorf("entry key %x: %w", k, err)
				m.heads[i] = false
				return
			}
			if !ok {
				continue
			}
		}
		m.heads[i] = true
		return
	}
	m.heads[i] = false
	if err := it.Err(); err != nil {
		m.err = err
	}
}

// suffix and value are the current entry's key without its segment prefix,
// and its value, valid until the next call to next.
func (m *mergeIter) suffix() []byte { return m.its[m.cur].Key()[segPrefixLen:] }
func (m *mergeIter) value() []byte  { return m.its[m.cur].Value() }

func (m *mergeIter) close() error {
	err := m.err
	for _, it := range m.its {
		if cerr := it.Close(); err == nil {
			err = cerr
		}
	}
	clear(m.itsBuf[:])
	m.its, m.heads = nil, nil
	return err
}

// segmentIter is a typed iterator over a mergeIter, with the semantics of
// decodeIterator.
type segmentIter[K, V any] struct {
	m      mergeIter
	decode func(suffix, value []byte) (K, V, error)
	key    K
	value  V
	err    error
	closed bool
}

// newSegmentIter returns an empty iterator; segmented.scan fills its
// mergeIter.
func newSegmentIter[K, V any](decode func(suffix, value []byte) (K, V, error)) *segmentIter[K, V] {
	return &segmentIter[K, V]{decode: decode}
}

func (it *segmentIter[K, V]) Next() bool {
	if it.closed {
		it.err = ErrIteratorClosed
		return false
	}
	if it.err != nil || !it.m.next() {
		return false
	}
	k, v, err := it.decode(it.m.suffix(), it.m.value())
	if err != nil {
		it.err = fmt.Errorf("decode entry: %w", err)
		return false
	}
	it.key, it.value = k, v
	return true
}

func (it *segmentIter[K, V]) Key() K   { return it.key }
func (it *segmentIter[K, V]) Value() V { return it.value }

func (it *segmentIter[K, V]) Err() error {
	if it.err != nil {
		return it.err
	}
	if it.closed {
		return nil
	}
	return it.m.err
}

func (it *segmentIter[K, V]) Close() error {
	if it.closed {
		return it.err
	}
	it.closed = true
	err := it.m.close()
	if it.err == nil {
		it.err = err
	}
	return it.err
}

// be32 and be64 read big-endian integers: sequence numbers, and the times of
// Kafka's binary key formats.
func be32(b []byte) uint32 { return binary.BigEndian.Uint32(b) }
func be64(b []byte) int64  { return int64(binary.BigEndian.Uint64(b)) }

// timeOf converts Unix milliseconds to a time.
func timeOf(msec int64) time.Time { return time.UnixMilli(msec) }
