package join

import (
	"math"
	"time"

	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/topology"
)

// joinConfig is what the processors of one stream join share.
type joinConfig[K, V1, V2, VR any] struct {
	w                     millis
	names                 joinNames
	j                     joiners[K, V1, V2, VR]
	leftOuter, rightOuter bool
}

// streamTime is the task's stream time in Unix milliseconds, which includes
// the record at ts being processed.
func streamTime(st time.Time, ts int64) int64 {
	if st.IsZero() {
		return ts
	}
	return max(st.UnixMilli(), ts)
}

// windowProc forwards each record to its side's join processor, then keeps
// it in its side's window store: Kafka Streams' KStreamJoinWindow. Records
// with a null key or value are not kept (the join processor counts them).
//
// The store keeps records for retention (before + after + grace) before its
// own stream time, the latest time put in it; a record older than that has
// joined what the other side's store still keeps, as in Kafka Streams, but
// is too late to be kept itself: it is counted as dropped and logged here
// (Kafka Streams' store counts it as an expired-window record drop).
type windowProc[K, V any] struct {
	ctx       topology.Context[K, V]
	store     string
	retention int64
	latest    int64 // the latest time put, math.MinInt64 before the first
	rows      state.WindowStore[K, V]
}

func (p *windowProc[K, V]) Init(ctx topology.Context[K, V]) error {
	p.ctx = ctx
	p.latest = math.MinInt64
	s, err := state.LookupWindow[K, V](ctx, p.store)
	p.rows = s
	return err
}

func (p *windowProc[K, V]) Process(r topology.Record[K, V]) error {
	if err := p.ctx.Forward(r); err != nil {
		return err
	}
	if r.HasNullKey() || r.IsTombstone() {
		return nil
	}
	ts := r.Timestamp.UnixMilli()
	if p.latest != math.MinInt64 && ts <= p.latest-p.retention {
		p.ctx.SkipRecord("record too late for the stream-stream join window: joined, but not kept")
		return nil
	}
	p.latest = max(p.latest, ts)
	return p.rows.Put(r.Key, r.Value, r.Timestamp)
}

func (p *windowProc[K, V]) Close() error { return nil }

// mergeProc forwards the results of both sides: Kafka Streams' PassThrough.
type mergeProc[K, V any] struct{ ctx topology.Context[K, V] }

func (p *mergeProc[K, V]) Init(ctx topology.Context[K, V]) error { p.ctx = ctx; return nil }

func (p *mergeProc[K, V]) Process(r topology.Record[K, V]) error { return p.ctx.Forward(r) }

func (p *mergeProc[K, V]) Close() error { return nil }

// sideProc joins the records of one side ("this") with the other side's
// window store: Kafka Streams' KStreamKStreamJoinLeftSide and RightSide.
// VT and VO are this side's and the other side's value types.
type sideProc[K, VT, VO, V1, V2, VR any] struct {
	ctx       topology.Context[K, VR]
	cfg       *joinConfig[K, V1, V2, VR]
	left      bool   // this is the left side
	otherName string // the other side's window store
	// before and after bound this side's window: a record at t joins
	// other records in [t - before, t + after].
	before, after int64
	both          func(K, VT, VO) VR
	alone         func(K, VT) VR // nil unless this side is outer
	add           func(*outerValues[V1, V2], VT)
	other         state.WindowStore[K, VO]
	outer         *outerBuffer[K, V1, V2, VR] // nil for inner joins
}

func newLeftSide[K, V1, V2, VR any](cfg *joinConfig[K, V1, V2, VR]) *sideProc[K, V1, V2, V1, V2, VR] {
	p := &sideProc[K, V1, V2, V1, V2, VR]{
		cfg: cfg, left: true, otherName: cfg.names.otherStore,
		before: cfg.w.before, after: cfg.w.after,
		both: cfg.j.both,
		add:  func(o *outerValues[V1, V2], v V1) { o.left = append(o.left, v) },
	}
	if cfg.leftOuter {
		p.alone = cfg.j.leftAlone
	}
	return p
}

func newRightSide[K, V1, V2, VR any](cfg *joinConfig[K, V1, V2, VR]) *sideProc[K, V2, V1, V1, V2, VR] {
	j := cfg.j
	p := &sideProc[K, V2, V1, V1, V2, VR]{
		cfg: cfg, otherName: cfg.names.thisStore,
		before: cfg.w.after, after: cfg.w.before,
		both: func(k K, r V2, l V1) VR { return j.both(k, l, r) },
		add:  func(o *outerValues[V1, V2], v V2) { o.right = append(o.right, v) },
	}
	if cfg.rightOuter {
		p.alone = j.rightAlone
	}
	return p
}

func (p *sideProc[K, VT, VO, V1, V2, VR]) Init(ctx topology.Context[K, VR]) error {
	p.ctx = ctx
	s, err := state.LookupWindow[K, VO](ctx, p.otherName)
	if err != nil {
		return err
	}
	p.other = s
	if p.cfg.names.outerStore != "" {
		p.outer, err = openOuterBuffer(ctx, p.cfg)
	}
	return err
}

func (p *sideProc[K, VT, VO, V1, V2, VR]) Close() error {
	if p.outer != nil {
		p.outer.close()
	}
	return nil
}

func (p *sideProc[K, VT, VO, V1, V2, VR]) Process(r topology.Record[K, VT]) error {
	ts := r.Timestamp.UnixMilli()
	st := streamTime(p.ctx.StreamTime(), ts)
	if r.HasNullKey() {
		// Kafka Streams 3.7+ (KIP-962): an outer side's record with a
		// null key cannot join, but makes its unmatched result at once.
		if p.alone != nil && !r.IsTombstone() {
			return p.ctx.Forward(topology.WithValue(r, p.alone(r.Key, r.Value)))
		}
		p.ctx.SkipRecord("null key in stream-stream join")
		return nil
	}
	if r.IsTombstone() {
		p.ctx.SkipRecord("null value in stream-stream join")
		return nil
	}
	if p.outer != nil && ts == st {
		if err := p.outer.emitClosed(p.ctx, st, p.after, r.Headers); err != nil {
			return err
		}
	}
	from, to := max(0, ts-p.before), max(0, ts+p.after)
	it, err := p.other.FetchRange(r.Key, time.UnixMilli(from), time.UnixMilli(to))
	if err != nil {
		return err
	}
	matched := false
	for it.Next() {
		matched = true
		ots := it.Key()
		if p.outer != nil {
			if err := p.outer.matched(r.Key, ots.UnixMilli(), !p.left); err != nil {
				it.Close()
				return err
			}
		}
		if err := forwardPair(p.ctx, r, p.both(r.Key, r.Value, it.Value()), ots); err != nil {
			it.Close()
			return err
		}
	}
	if err := it.Close(); err != nil {
		return err
	}
	if matched || p.alone == nil {
		return nil
	}
	// A record whose window has already ended cannot find a partner any
	// more: its result goes out at once, as in Kafka Streams.
	if to < st {
		return p.ctx.Forward(topology.WithValue(r, p.alone(r.Key, r.Value)))
	}
	return p.outer.keep(r.Key, ts, p.left, func(o *outerValues[V1, V2]) { p.add(o, r.Value) })
}

// forwardPair forwards v, the result of joining r with a record at time
// at, stamped with the later of the two times, as Kafka Streams stamps the
// results of stream-stream joins.
func forwardPair[K, V, VR any](ctx topology.Context[K, VR], r topology.Record[K, V], v VR, at time.Time) error {
	out := topology.WithValue(r, v)
	if at.After(out.Timestamp) {
		out.Timestamp = at
	}
	return ctx.Forward(out)
}

// outerBuffer is one processor's handle on the outer store, which keeps the
// left (and for outer joins, right) records that have not found a partner
// until their window closes.
type outerBuffer[K, V1, V2, VR any] struct {
	cfg   *joinConfig[K, V1, V2, VR]
	store state.KeyValueStore[outerKey[K], outerValues[V1, V2]]
	raw   topology.StateStore
	times *sharedTimes
	due   []state.KeyValue[outerKey[K], outerValues[V1, V2]] // reused
}

func openOuterBuffer[K, V1, V2, VR any](ctx topology.Context[K, VR], cfg *joinConfig[K, V1, V2, VR]) (*outerBuffer[K, V1, V2, VR], error) {
	raw, err := ctx.StateStore(cfg.names.outerStore)
	if err != nil {
		return nil, err
	}
	s, err := state.LookupKeyValue[outerKey[K], outerValues[V1, V2]](ctx, cfg.names.outerStore)
	if err != nil {
		return nil, err
	}
	return &outerBuffer[K, V1, V2, VR]{cfg: cfg, store: s, raw: raw, times: shareTimes(raw, trackableKey[K]())}, nil
}

func (b *outerBuffer[K, V1, V2, VR]) close() { unshareTimes(b.raw) }

// keep adds a record that found no partner to the outer store. The records
// of one key, time and side are kept together, as Kafka Streams'
// ListValueStore does, so keep reads what the store holds for them first,
// unless it holds nothing that late.
func (b *outerBuffer[K, V1, V2, VR]) keep(key K, ts int64, left bool, add func(*outerValues[V1, V2])) error {
	if !b.times.maxKnown {
		if err := b.readMax(); err != nil {
			return err
		}
	}
	k := outerKey[K]{ts: ts, left: left, key: key}
	var vs outerValues[V1, V2]
	if ts <= b.times.max {
		var err error
		if vs, _, err = b.store.Get(k); err != nil {
			return err
		}
	}
	add(&vs)
	if err := b.store.Put(k, vs); err != nil {
		return err
	}
	b.times.keep(ts)
	b.times.track(k)
	return nil
}

// readMax sets the latest time in the store from its last key: the store
// is ordered by time first.
func (b *outerBuffer[K, V1, V2, VR]) readMax() error {
	it, err := b.store.ReverseAll()
	if err != nil {
		return err
	}
	b.times.max = math.MinInt64
	if it.Next() {
		b.times.max = it.Key().ts
	}
	if err := it.Close(); err != nil {
		return err
	}
	b.times.maxKnown = true
	return nil
}

// matched removes the records of one key, time and side from the outer
// store once a record of the other side has joined them.
func (b *outerBuffer[K, V1, V2, VR]) matched(key K, ts int64, left bool) error {
	if !b.times.mayHold(ts) {
		return nil
	}
	k := outerKey[K]{ts: ts, left: left, key: key}
	if !b.times.holds(k) {
		// As Kafka Streams' putIfAbsent(key, null): no tombstone for
		// a key the store does not hold.
		_, ok, err := b.store.Get(k)
		if err != nil || !ok {
			return err
		}
	}
	b.times.untrack(k)
	return b.store.Delete(k)
}

// emitClosed forwards the unmatched records whose window has closed by
// stream time st, in the store's order (time, then side, then key) and
// removes them: Kafka Streams' emitNonJoinedOuterRecords. after is the
// calling side's after bound, with which Kafka Streams decides whether any
// record may be due.
func (b *outerBuffer[K, V1, V2, VR]) emitClosed(ctx topology.Context[K, VR], st, after int64, headers []topology.Header) error {
	w := b.cfg.w
	if !b.times.mayBeDue(after+w.grace, st) {
		return nil
	}
	// A left record's window closes at its time + after + grace, a right
	// record's at its time + before + grace; from the first record open
	// on both sides on, every later one is open too.
	both := min(w.after, w.before)
	if !b.cfg.rightOuter {
		both = w.after
	}
	it, err := b.store.All()
	if err != nil {
		return err
	}
	earliest := int64(math.MaxInt64)
	b.due = b.due[:0]
	for it.Next() {
		k := it.Key()
		look := w.before
		if k.left {
			look = w.after
		}
		if k.ts+look+w.grace >= st {
			earliest = min(earliest, k.ts)
			if k.ts+both+w.grace >= st {
				break
			}
			continue
		}
		b.due = append(b.due, state.KeyValue[outerKey[K], outerValues[V1, V2]]{Key: k, Value: it.Value()})
	}
	if err := it.Close(); err != nil {
		return err
	}
	b.times.scanned(earliest)
	j := b.cfg.j
	for i := range b.due {
		e := &b.due[i]
		at := time.UnixMilli(e.Key.ts)
		for _, v := range e.Value.left {
			r := topology.Record[K, VR]{Key: e.Key.key, Value: j.leftAlone(e.Key.key, v), Timestamp: at, Headers: headers}
			if err := ctx.Forward(r); err != nil {
				return err
			}
		}
		for _, v := range e.Value.right {
			r := topology.Record[K, VR]{Key: e.Key.key, Value: j.rightAlone(e.Key.key, v), Timestamp: at, Headers: headers}
			if err := ctx.Forward(r); err != nil {
				return err
			}
		}
		b.times.untrack(e.Key)
		if err := b.store.Delete(e.Key); err != nil {
			return err
		}
	}
	clear(b.due)
	return nil
}
