package ktable

import (
	"bytes"
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"time"
	"unsafe"

	"github.com/strata-go/strata/internal/dsl"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/topology"
	"github.com/strata-go/strata/window"
)

// ErrBufferFull is the error, wrapped with the node's name and the buffer's
// occupancy, with which a suppression whose buffer is full stops its task
// when its buffer says [BufferConfig.ShutDownWhenFull]. Test for it with
// errors.Is.
var ErrBufferFull = errors.New("ktable: suppression buffer full")

// BufferConfig bounds the buffer of a [Table.Suppress] and says what
// happens when it is full. Make one with [Unbounded], [MaxRecords] or
// [MaxBytes]. The zero BufferConfig is Unbounded().
type BufferConfig struct {
	maxRecords, maxBytes int64 // math.MaxInt64: no limit
	limited              bool  // set by MaxRecords or MaxBytes
	emitEarly            bool
	err                  error
}

func (c BufferConfig) limits() (records, bytes int64) {
	if !c.limited {
		return math.MaxInt64, math.MaxInt64
	}
	return c.maxRecords, c.maxBytes
}

// Unbounded returns a buffer without limits, Kafka Streams'
// BufferConfig.unbounded(): it holds every key until it is due, whatever
// memory and store space that takes.
func Unbounded() BufferConfig { return BufferConfig{} }

// MaxRecords returns a buffer of at most n keys that, when full, emits its
// oldest keys early (see EmitEarlyWhenFull), Kafka Streams'
// BufferConfig.maxRecords.
func MaxRecords(n int64) BufferConfig {
	return BufferConfig{emitEarly: true}.WithMaxRecords(n)
}

// MaxBytes returns a buffer of at most n bytes that, when full, emits its
// oldest keys early (see EmitEarlyWhenFull), Kafka Streams'
// BufferConfig.maxBytes. A buffered key counts the bytes of its serialized
// key and of its entry in the buffer's store: its time, timestamp, new and
// old values and headers, plus a few bytes of framing.
func MaxBytes(n int64) BufferConfig {
	return BufferConfig{emitEarly: true}.WithMaxBytes(n)
}

// WithMaxRecords returns c holding at most n keys.
func (c BufferConfig) WithMaxRecords(n int64) BufferConfig {
	c = c.limit()
	if n < 0 {
		c.err = errors.Join(c.err, fmt.Errorf("MaxRecords(%d): the limit must not be negative", n))
	}
	c.maxRecords = n
	return c
}

// WithMaxBytes returns c holding at most n bytes.
func (c BufferConfig) WithMaxBytes(n int64) BufferConfig {
	c = c.limit()
	if n < 0 {
		c.err = errors.Join(c.err, fmt.Errorf("MaxBytes(%d): the limit must not be negative", n))
	}
	c.maxBytes = n
	return c
}

func (c BufferConfig) limit() BufferConfig {
	if !c.limited {
		c.limited, c.maxRecords, c.maxBytes = true, math.MaxInt64, math.MaxInt64
	}
	return c
}

// EmitEarlyWhenFull returns c emitting the buffered keys that are due
// soonest, before they are due, while it is over its limits. The
// suppression then no longer promises one result per key and period, only
// fewer; [UntilWindowCloses] refuses it, as Kafka Streams does.
func (c BufferConfig) EmitEarlyWhenFull() BufferConfig { c.emitEarly = true; return c }

// ShutDownWhenFull returns c stopping the task with an error wrapping
// [ErrBufferFull], naming the suppression node, when it goes over its
// limits, rather than emit anything early.
func (c BufferConfig) ShutDownWhenFull() BufferConfig { c.emitEarly = false; return c }

// Suppression says which updates [Table.Suppress] holds back and for how
// long. Make one with [UntilWindowCloses], [UntilWindowClosesAfter] or
// [UntilTimeLimit].
type Suppression struct {
	kind   suppressKind
	wait   time.Duration
	buffer BufferConfig
	// explicit is set when the wait was given (UntilWindowClosesAfter)
	// rather than taken from the table's windows.
	explicit bool
}

type suppressKind int

const (
	suppressNone suppressKind = iota
	suppressUntilWindowCloses
	suppressUntilTimeLimit
)

// UntilWindowCloses holds back the updates of a windowed table (one keyed
// by window.Windowed) until the window closes, and emits only the final
// result of each window: Kafka Streams' Suppressed.untilWindowCloses. A
// window closes once stream time reaches its end plus the windows' grace;
// for session windows, its end plus their inactivity gap plus grace. Deletes
// are not emitted: a window deleted before it closed had no final result (a
// session merged into another, say), as in Kafka Streams.
//
// The close time comes from the table's windows, as Kafka Streams finds
// the grace of the windowed aggregation upstream: the tables of windowed
// aggregations (TimeWindowedStream's and SessionWindowedStream's Count,
// Reduce, [AggregateWindows], [AggregateSessions]) carry their windows, and
// so do the tables made from them by Filter, FilterNot, [MapValues] and
// Suppress. Suppressing another table with UntilWindowCloses fails
// Builder.Build; for a windowed table read from a topic, give the grace
// with [UntilWindowClosesAfter].
//
// Earlier versions took the grace here, UntilWindowCloses(grace, buffer):
// drop the argument (or, for a table that does not carry its windows, call
// UntilWindowClosesAfter(grace, buffer)).
//
// The buffer must not emit early: give Unbounded() or a limited buffer with
// ShutDownWhenFull(); a buffer that emits early fails Builder.Build.
func UntilWindowCloses(buffer BufferConfig) Suppression {
	return Suppression{kind: suppressUntilWindowCloses, buffer: buffer}
}

// UntilWindowClosesAfter is [UntilWindowCloses] for a windowed table that
// does not carry its windows, such as one read from a topic: its windows
// close grace after their end (for sessions, give their inactivity gap plus
// grace). The windowed keys must know their end: keys read from a topic
// need window.TimeWindowedSerde (a key without an end stops the task).
//
// On a table that carries its windows, a grace shorter than theirs would
// emit windows before they close, and again for each update the
// aggregation still accepts after that: it fails Builder.Build (a longer
// one only waits longer). Kafka Streams has no such option: it always reads
// the grace from the windows.
func UntilWindowClosesAfter(grace time.Duration, buffer BufferConfig) Suppression {
	return Suppression{kind: suppressUntilWindowCloses, wait: grace, buffer: buffer, explicit: true}
}

// UntilTimeLimit holds back each key's updates for d of stream time after
// the first of them, then emits the key's latest update: Kafka Streams'
// Suppressed.untilTimeLimit, a rate limit per key. A key is buffered at the
// timestamp of its first held-back update and emitted once stream time
// reaches that plus d; updates in between replace its value but not its
// place. Deletes are emitted like any update. A d of zero emits every
// update at once.
func UntilTimeLimit(d time.Duration, buffer BufferConfig) Suppression {
	return Suppression{kind: suppressUntilTimeLimit, wait: d, buffer: buffer}
}

// Suppress holds back updates of t as s says and emits them later, Kafka
// Streams' KTable.suppress (KIP-328): each key's latest update reaches
// downstream once it is due, the updates in between are dropped.
//
// Suppression is driven by stream time only, never by the wall clock, as in
// Kafka Streams: stream time here is the largest timestamp of the updates
// the suppression has seen, so held-back updates are emitted only when newer
// updates arrive, and a partition that goes quiet holds its last updates
// back until more come; after a restart, stream time starts again from the
// first update, as in Kafka Streams. An emitted update keeps the timestamp
// and headers of the latest update of its key. Its old value is the one
// downstream saw last: the old value of the first update held back (Kafka
// Streams sends the old value of the latest update, which downstream may
// never have seen).
//
// The buffer survives restarts: it is kept in a key-value store with a
// changelog, named "<name>-store" when the suppression is named and
// KTABLE-SUPPRESS-STATE-STORE-<n> otherwise, which the suppression indexes
// by time when its task starts. Like the DSL's other stores it caches its
// writes, so that a key costs at most one changelog record per commit, as
// Kafka Streams' buffer logs its dirty keys on commit. WithStoreOptions
// configures the store: state.InMemory(), as Kafka Streams keeps its
// buffer, state.Caching(false), or state.Logging(false) to give up the
// guarantee.
//
// The result is a table that is not materialized. Options: [Named] (the
// node, default KTABLE-SUPPRESS-<n>), [WithStoreOptions], [WithKeySerde] and
// [WithValueSerde] for the buffer's store, where t's serdes are not known.
// A Suppression of the wrong kind for t (UntilWindowCloses on a table not
// keyed by window.Windowed), a negative duration or an invalid buffer fails
// Builder.Build.
func (t Table[K, V]) Suppress(s Suppression, opts ...Option) Table[K, V] {
	b := t.builder()
	o := collect(b, "Table.Suppress", opts, optName|optStore|optSerdes)
	name := o.nameOr(b, "KTABLE-SUPPRESS-")
	storeName := name + "-store"
	if o.name == "" {
		storeName = b.NewName("KTABLE-SUPPRESS-STATE-STORE-")
	}
	fail := func(format string, args ...any) {
		b.Fail(fmt.Errorf("Table.Suppress %q: %s", name, fmt.Sprintf(format, args...)))
	}
	if _, versioned := t.core().Versioned(); versioned {
		// Kafka Streams: "suppress() is only supported for
		// non-versioned KTables".
		fail("a versioned table cannot be suppressed")
	}
	var timeOf func(K) (time.Time, error)
	switch s.kind {
	case suppressUntilWindowCloses:
		end := windowEndOf[K]()
		closeAfter, carried := t.core().WindowClose()
		switch {
		case end == nil:
			var k K
			fail("UntilWindowCloses needs a table keyed by window.Windowed, not %T", k)
		case s.explicit && s.wait < 0:
			fail("UntilWindowClosesAfter: negative grace %v", s.wait)
		case s.explicit && carried && s.wait < closeAfter:
			fail("UntilWindowClosesAfter(%v): the table's windows close %v after their end, and a shorter wait emits windows before they close: use UntilWindowCloses, which takes it from them", s.wait, closeAfter)
		case !s.explicit && !carried:
			fail("UntilWindowCloses: the table does not carry its windows (tables of windowed aggregations do, and those Filter, FilterNot, MapValues and Suppress make from them): give the grace with UntilWindowClosesAfter")
		case !s.explicit:
			s.wait = closeAfter
		}
		timeOf = end
		if s.buffer.emitEarly {
			fail("UntilWindowCloses needs a buffer that does not emit early: use Unbounded() or ShutDownWhenFull()")
		}
	case suppressUntilTimeLimit:
		if s.wait < 0 {
			fail("UntilTimeLimit: negative time limit %v", s.wait)
		}
	default:
		fail("zero Suppression: use UntilWindowCloses or UntilTimeLimit")
	}
	if s.buffer.err != nil {
		fail("%v", s.buffer.err)
	}
	ks := dsl.SerdeOr(b, "Table.Suppress", "key", o.keySerde, t.keySerde())
	vs := dsl.SerdeOr(b, "Table.Suppress", "value", o.valueSerde, t.valueSerde())
	state.AddKeyValueStore(b, storeName, serde.Bytes(), serde.Bytes(), storeOptions(o)...)
	maxRecords, maxBytes := s.buffer.limits()
	cfg := suppressConfig[K]{
		node:       name,
		store:      storeName,
		timeOf:     timeOf,
		wait:       s.wait.Milliseconds(),
		final:      s.kind == suppressUntilWindowCloses,
		maxRecords: maxRecords,
		maxBytes:   maxBytes,
		emitEarly:  s.buffer.emitEarly,
	}
	topology.AddProcessor(b, name, func() topology.Processor[K, Change[V], K, Change[V]] {
		return &suppressProc[K, V]{cfg: cfg, keySerde: ks, valueSerde: vs}
	}, t.node())
	b.ConnectStores(name, storeName)
	return carry(t, newTable(b, name, ks, vs, ""))
}

// windowEndOf returns a function reading the window end of a key of type K
// when K is window.Windowed[X], else nil. The key's type is checked here,
// once, with reflection; the function then reads the field in place.
func windowEndOf[K any]() func(K) (time.Time, error) {
	typ := reflect.TypeFor[K]()
	wt := reflect.TypeFor[window.Window]()
	if typ.Kind() != reflect.Struct || typ.PkgPath() != wt.PkgPath() || !strings.HasPrefix(typ.Name(), "Windowed[") {
		return nil
	}
	f, ok := typ.FieldByName("Window")
	if !ok || f.Type != wt {
		return nil
	}
	off := f.Offset
	return func(k K) (time.Time, error) {
		// K is window.Windowed[X], whose field Window is at off.
		end := (*window.Window)(unsafe.Add(unsafe.Pointer(&k), off)).End
		if end.IsZero() {
			return end, errors.New("the window's end is unknown: read windowed keys with window.TimeWindowedSerde, which decodes it, not window.WindowedSerde")
		}
		return end, nil
	}
}

// suppressConfig is what the processors of one Suppress share.
type suppressConfig[K any] struct {
	node, store string
	// timeOf is the buffer time of a key: its window's end; nil for a time
	// limit, which buffers keys at the time of their first update.
	timeOf               func(K) (time.Time, error)
	wait                 int64 // ms: grace, or time limit
	final                bool  // emit final results: drop deletes
	maxRecords, maxBytes int64
	emitEarly            bool
}

// suppressProc buffers row changes by key in a store of raw bytes: the key
// is the serialized table key, the value an encoded suppressEntry. An index
// in memory, rebuilt from the store when the task starts, orders the keys
// by buffer time (then key bytes, as Kafka Streams' buffer) for eviction.
type suppressProc[K, V any] struct {
	base[K, Change[V]]
	cfg        suppressConfig[K]
	keySerde   serde.Serde[K]
	valueSerde serde.Serde[V]
	store      state.KeyValueStore[[]byte, []byte]
	topic      string // the store's changelog, the serdes' topic

	index    map[string]*suppressItem
	queue    suppressQueue
	size     int64 // bytes, as MaxBytes counts them
	observed int64 // largest timestamp seen, ms; math.MinInt64 before any
	keyBuf   []byte
	oldBuf   []byte
	entryBuf []byte
}

// suppressItem is a buffered key in the index.
type suppressItem struct {
	key  string
	time int64 // buffer time, ms
	size int64
	pos  int // in the queue
}

func (p *suppressProc[K, V]) Init(ctx topology.Context[K, Change[V]]) error {
	p.ctx = ctx
	s, err := state.LookupKeyValue[[]byte, []byte](ctx, p.cfg.store)
	if err != nil {
		return err
	}
	p.store = s
	p.topic = ctx.ApplicationID() + "-" + p.cfg.store + "-changelog"
	p.index = map[string]*suppressItem{}
	p.queue = p.queue[:0]
	p.size = 0
	p.observed = math.MinInt64
	it, err := s.All()
	if err != nil {
		return err
	}
	defer it.Close()
	for it.Next() {
		k, v := it.Key(), it.Value()
		bt, err := suppressEntryTime(v)
		if err != nil {
			return fmt.Errorf("suppress %q: buffer entry: %w", p.cfg.node, err)
		}
		p.add(string(k), bt, int64(len(k)+len(v)))
	}
	heap.Init(&p.queue)
	return it.Err()
}

// add puts a key in the index (and at the end of the queue: the caller
// fixes the heap).
func (p *suppressProc[K, V]) add(key string, bt, size int64) *suppressItem {
	item := &suppressItem{key: key, time: bt, size: size, pos: len(p.queue)}
	p.index[key] = item
	p.queue = append(p.queue, item)
	p.size += size
	return item
}

func (p *suppressProc[K, V]) Process(r topology.Record[K, Change[V]]) error {
	if r.HasNullKey() {
		p.ctx.SkipRecord("null key in suppression")
		return nil
	}
	ts := r.Timestamp.UnixMilli()
	p.observed = max(p.observed, ts)
	bt := ts
	if p.cfg.timeOf != nil {
		end, err := p.cfg.timeOf(r.Key)
		if err != nil {
			return fmt.Errorf("suppress %q: %w", p.cfg.node, err)
		}
		bt = end.UnixMilli()
	}
	kb, err := p.keySerde.Serialize(p.keyBuf[:0], p.topic, r.Key)
	if err != nil {
		return fmt.Errorf("suppress %q: serialize key: %w", p.cfg.node, err)
	}
	if kb == nil {
		p.ctx.SkipRecord("null key in suppression")
		return nil
	}
	p.keyBuf = kb
	expiry := p.observed - p.cfg.wait
	if p.observed < math.MinInt64+p.cfg.wait { // cannot happen: timestamps are not negative
		expiry = math.MinInt64
	}
	item := p.index[string(kb)]
	if item == nil && bt <= expiry {
		// Due already: emit what is due before it, then it, without
		// buffering it.
		if err := p.evictWhile(func(top *suppressItem) bool {
			return top.time < bt || top.time == bt && top.key < string(kb)
		}); err != nil {
			return err
		}
		if r.Value.HasNew || !p.cfg.final {
			if err := p.ctx.Forward(r); err != nil {
				return err
			}
		}
	} else if err := p.buffer(r, kb, bt, item); err != nil {
		return err
	}
	if err := p.evictWhile(func(top *suppressItem) bool { return top.time <= expiry }); err != nil {
		return err
	}
	return p.enforceLimits()
}

// buffer stores r's change under kb: a new key at buffer time bt, a
// buffered one in its place, keeping the old value it was buffered with.
func (p *suppressProc[K, V]) buffer(r topology.Record[K, Change[V]], kb []byte, bt int64, item *suppressItem) error {
	var old []byte
	var hasOld bool
	if item != nil {
		bt = item.time
		prev, ok, err := p.store.Get(kb)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("suppress %q: buffered key missing from store %q", p.cfg.node, p.cfg.store)
		}
		if old, hasOld, err = suppressEntryOld(prev); err != nil {
			return fmt.Errorf("suppress %q: buffer entry: %w", p.cfg.node, err)
		}
	} else if r.Value.HasOld {
		ob, err := p.valueSerde.Serialize(p.oldBuf[:0], p.topic, r.Value.Old)
		if err != nil {
			return fmt.Errorf("suppress %q: serialize old value: %w", p.cfg.node, err)
		}
		if ob != nil {
			p.oldBuf, old, hasOld = ob, ob, true
		}
	}
	e, err := appendSuppressEntry(p.entryBuf[:0], p.topic, p.valueSerde, bt, r, old, hasOld)
	if err != nil {
		return fmt.Errorf("suppress %q: %w", p.cfg.node, err)
	}
	p.entryBuf = e
	if err := p.store.Put(kb, e); err != nil {
		return err
	}
	size := int64(len(kb) + len(e))
	if item != nil {
		p.size += size - item.size
		item.size = size
		return nil
	}
	p.add(string(kb), bt, size)
	heap.Fix(&p.queue, len(p.queue)-1)
	return nil
}

// evictWhile emits the buffered keys in order while due says so of the
// first.
func (p *suppressProc[K, V]) evictWhile(due func(top *suppressItem) bool) error {
	for len(p.queue) > 0 && due(p.queue[0]) {
		if err := p.evict(); err != nil {
			return err
		}
	}
	return nil
}

// evict removes the first key of the queue from the buffer and emits its
// change.
func (p *suppressProc[K, V]) evict() error {
	item := heap.Pop(&p.queue).(*suppressItem)
	delete(p.index, item.key)
	p.size -= item.size
	kb := []byte(item.key)
	eb, ok, err := p.store.Get(kb)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("suppress %q: buffered key missing from store %q", p.cfg.node, p.cfg.store)
	}
	key, err := p.keySerde.Deserialize(p.topic, kb)
	if err != nil {
		return fmt.Errorf("suppress %q: deserialize key: %w", p.cfg.node, err)
	}
	out, err := decodeSuppressEntry[K](p.topic, p.valueSerde, eb)
	if err != nil {
		return fmt.Errorf("suppress %q: buffer entry: %w", p.cfg.node, err)
	}
	if err := p.store.Delete(kb); err != nil {
		return err
	}
	if !out.Value.HasNew && p.cfg.final {
		return nil // a window deleted before it closed: no final result
	}
	out.Key = key
	return p.ctx.Forward(out)
}

// enforceLimits applies the buffer's policy while it is over its limits.
func (p *suppressProc[K, V]) enforceLimits() error {
	for int64(len(p.queue)) > p.cfg.maxRecords || p.size > p.cfg.maxBytes {
		if !p.cfg.emitEarly {
			limit := func(n int64) string {
				if n == math.MaxInt64 {
					return "unbounded"
				}
				return fmt.Sprint(n)
			}
			return fmt.Errorf("%w: suppress %q holds %d/%s records and %d/%s bytes", ErrBufferFull,
				p.cfg.node, len(p.queue), limit(p.cfg.maxRecords), p.size, limit(p.cfg.maxBytes))
		}
		if err := p.evict(); err != nil {
			return err
		}
	}
	return nil
}

// suppressQueue is a min-heap of buffered keys by buffer time, then key.
type suppressQueue []*suppressItem

func (q suppressQueue) Len() int { return len(q) }

func (q suppressQueue) Less(i, j int) bool {
	if q[i].time != q[j].time {
		return q[i].time < q[j].time
	}
	return q[i].key < q[j].key
}

func (q suppressQueue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].pos, q[j].pos = i, j
}

func (q *suppressQueue) Push(x any) {
	item := x.(*suppressItem)
	item.pos = len(*q)
	*q = append(*q, item)
}

func (q *suppressQueue) Pop() any {
	old := *q
	n := len(old) - 1
	item := old[n]
	old[n] = nil
	*q = old[:n]
	return item
}

// A suppression buffer entry, the value of its store, is:
//
//	version          1 byte, 0
//	buffer time      8 bytes, big-endian Unix ms
//	record timestamp 8 bytes, big-endian Unix ms
//	flags            1 byte: 1 new value, 2 old value
//	new value        if flagged: 4-byte big-endian length, bytes
//	old value        if flagged: 4-byte big-endian length, bytes
//	headers          uvarint count, then each: uvarint key length, key,
//	                 4-byte big-endian value length (0xFFFFFFFF: nil), value
const (
	suppressEntryVersion = 0
	suppressEntryFixed   = 1 + 8 + 8 + 1
)

// appendSuppressEntry appends the entry of r's change at buffer time bt,
// with old (already serialized) as its old value.
func appendSuppressEntry[K, V any](dst []byte, topic string, vs serde.Serde[V], bt int64, r topology.Record[K, Change[V]], old []byte, hasOld bool) ([]byte, error) {
	dst = append(dst, suppressEntryVersion)
	dst = binary.BigEndian.AppendUint64(dst, uint64(bt))
	dst = binary.BigEndian.AppendUint64(dst, uint64(r.Timestamp.UnixMilli()))
	flagAt := len(dst)
	dst = append(dst, 0)
	var flags byte
	if r.Value.HasNew {
		var ok bool
		var err error
		if dst, ok, err = appendSized(dst, topic, vs, r.Value.New); err != nil {
			return nil, fmt.Errorf("serialize new value: %w", err)
		}
		if ok {
			flags |= changeHasNew
		}
	}
	if hasOld {
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(old)))
		dst = append(dst, old...)
		flags |= changeHasOld
	}
	dst[flagAt] = flags
	dst = binary.AppendUvarint(dst, uint64(len(r.Headers)))
	for _, h := range r.Headers {
		dst = binary.AppendUvarint(dst, uint64(len(h.Key)))
		dst = append(dst, h.Key...)
		if h.Value == nil {
			dst = binary.BigEndian.AppendUint32(dst, math.MaxUint32)
			continue
		}
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(h.Value)))
		dst = append(dst, h.Value...)
	}
	return dst, nil
}

func suppressEntryHeader(e []byte) (flags byte, rest []byte, err error) {
	if len(e) < suppressEntryFixed {
		return 0, nil, fmt.Errorf("%w: %d bytes, want at least %d", serde.ErrInvalidLength, len(e), suppressEntryFixed)
	}
	if e[0] != suppressEntryVersion {
		return 0, nil, fmt.Errorf("unknown version %d", e[0])
	}
	flags = e[17]
	if flags&^(changeHasNew|changeHasOld) != 0 {
		return 0, nil, fmt.Errorf("unknown flags %#x", flags)
	}
	return flags, e[suppressEntryFixed:], nil
}

// suppressEntryTime returns an entry's buffer time.
func suppressEntryTime(e []byte) (int64, error) {
	if _, _, err := suppressEntryHeader(e); err != nil {
		return 0, err
	}
	return int64(binary.BigEndian.Uint64(e[1:])), nil
}

// sizedBytes splits a 4-byte length and its bytes off data.
func sizedBytes(data []byte) (v, rest []byte, err error) {
	if len(data) < 4 {
		return nil, nil, fmt.Errorf("%w: value length needs 4 bytes, got %d", serde.ErrInvalidLength, len(data))
	}
	n := uint64(binary.BigEndian.Uint32(data))
	if uint64(len(data)-4) < n {
		return nil, nil, fmt.Errorf("%w: value of %d bytes, %d left", serde.ErrInvalidLength, n, len(data)-4)
	}
	end := 4 + int(n)
	return data[4:end:end], data[end:], nil
}

// suppressEntryOld returns the serialized old value of an entry.
func suppressEntryOld(e []byte) (old []byte, ok bool, err error) {
	flags, rest, err := suppressEntryHeader(e)
	if err != nil {
		return nil, false, err
	}
	if flags&changeHasNew != 0 {
		if _, rest, err = sizedBytes(rest); err != nil {
			return nil, false, err
		}
	}
	if flags&changeHasOld == 0 {
		return nil, false, nil
	}
	old, _, err = sizedBytes(rest)
	return old, err == nil, err
}

// decodeSuppressEntry decodes an entry as the record to emit, without its
// key.
func decodeSuppressEntry[K, V any](topic string, vs serde.Serde[V], e []byte) (topology.Record[K, Change[V]], error) {
	var r topology.Record[K, Change[V]]
	flags, rest, err := suppressEntryHeader(e)
	if err != nil {
		return r, err
	}
	r.Timestamp = time.UnixMilli(int64(binary.BigEndian.Uint64(e[9:])))
	if flags&changeHasNew != 0 {
		if r.Value.New, rest, err = readSized(topic, vs, rest); err != nil {
			return r, fmt.Errorf("new value: %w", err)
		}
		r.Value.HasNew = true
	}
	if flags&changeHasOld != 0 {
		if r.Value.Old, rest, err = readSized(topic, vs, rest); err != nil {
			return r, fmt.Errorf("old value: %w", err)
		}
		r.Value.HasOld = true
	}
	n, k := binary.Uvarint(rest)
	if k <= 0 || n > uint64(len(rest)) {
		return r, fmt.Errorf("%w: bad header count", serde.ErrInvalidLength)
	}
	rest = rest[k:]
	for range n {
		kl, k := binary.Uvarint(rest)
		if k <= 0 || kl > uint64(len(rest)-k) {
			return r, fmt.Errorf("%w: bad header key", serde.ErrInvalidLength)
		}
		key := string(rest[k : k+int(kl)])
		rest = rest[k+int(kl):]
		if len(rest) < 4 {
			return r, fmt.Errorf("%w: bad header value", serde.ErrInvalidLength)
		}
		h := topology.Header{Key: key}
		if vl := binary.BigEndian.Uint32(rest); vl == math.MaxUint32 {
			rest = rest[4:]
		} else {
			var v []byte
			if v, rest, err = sizedBytes(rest); err != nil {
				return r, fmt.Errorf("header value: %w", err)
			}
			h.Value = bytes.Clone(v)
		}
		r.Headers = append(r.Headers, h)
	}
	if len(rest) != 0 {
		return r, fmt.Errorf("%w: %d bytes after the entry", serde.ErrInvalidLength, len(rest))
	}
	return r, nil
}
