package ktable

import (
	"fmt"
	"sort"
	"time"

	"github.com/strata-go/strata/internal/dsl"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/topology"
	"github.com/strata-go/strata/window"
)

// SessionWindowedStream is a grouped stream split into session windows,
// ready to be aggregated per key and session: Kafka Streams'
// SessionWindowedKStream. Make one with [SessionWindowedBy].
//
// Its aggregations (Count, Reduce, [AggregateSessions]) keep one aggregate
// per key and session in a session store with a changelog, named by
// [Named], else "KSTREAM-AGGREGATE-STATE-STORE-<n>" (the processor is
// "KSTREAM-AGGREGATE-<n>"); a key changed upstream is repartitioned first,
// as for GroupedStream's aggregations.
//
// A record at time t starts the session [t, t] or joins, and merges, the
// sessions of its key that end at or after t-gap and start at or before
// t+gap. As in Kafka Streams, a merge forwards a tombstone for each session
// it replaces (a Change with HasNew false and the session's aggregate as
// Old), then the merged session; every update's timestamp is its session's
// end, and updates carry no headers.
//
// The session store caches, as the DSL's other stores
// (state.CachedSessionStore), unless the cache is off: updates are then
// forwarded when the record cache flushes (at the commit, or when it is
// full), once per session, with the session's aggregate at the previous
// flush as Old; a session created and merged away between two flushes
// forwards nothing, neither its update nor its tombstone, as with Kafka
// Streams' caching session store. A session has closed once it ends
// before streamTime - grace - gap; a record whose session would end before
// then is late: dropped, counted and logged. Stream time is the task's, as
// for [TimeWindowedStream].
//
// Two details differ from Kafka Streams. A record never joins a closed
// session: it starts a session of its own, or joins open ones only. Kafka
// Streams joins any session its store still holds, which depends on the
// store (its default one keeps expired segments for a while), and can so
// revise a session that EmitOnWindowClose has already emitted. And a
// record at the time of a single-record session, which replaces the
// session's aggregate without changing its window, forwards the aggregate
// it replaces as Old; Kafka Streams sends none.
//
// A record with a null key or value is dropped, counted and logged, as
// SessionWindowedKStream's javadoc says, so a null value neither starts,
// extends nor merges sessions; Kafka Streams' implementation drops only
// null keys (see docs/deviations.md).
//
// The result is a table keyed by window.Windowed[K], whose key serde is
// window.SessionWindowedSerde of the grouping's key serde, so that
// ToStream().To(topic) writes keys in Kafka Streams' format.
//
// The store keeps sessions for gap + grace + 1ms. Kafka Streams keeps them
// for gap + grace, and its default (segmented) store keeps a session ending
// exactly that long before stream time; Strata's stores expire it, so the
// extra millisecond keeps every session the aggregation may still change or
// emit.
type SessionWindowedStream[K, V any] struct {
	g       *GroupedStream[K, V]
	windows window.SessionWindows
	valid   bool
}

// SessionWindowedBy splits g into the session windows w, Kafka Streams'
// KGroupedStream.windowedBy(SessionWindows). Invalid windows (see
// window.SessionWindows.Validate) fail Builder.Build.
func SessionWindowedBy[K, V any](g *GroupedStream[K, V], w window.SessionWindows) *SessionWindowedStream[K, V] {
	err := w.Validate()
	if err != nil {
		dsl.Stream[K, V](g.s).Builder().Fail(fmt.Errorf("SessionWindowedBy: %w", err))
	}
	return &SessionWindowedStream[K, V]{g: g, windows: w, valid: err == nil}
}

// Count counts the records of each key in each session. Records with a null
// key or value are not counted: they are dropped, counted as dropped and
// logged, as Kafka Streams documents (see GroupedStream.Count). Options:
// Named (the store), WithStoreOptions, EmitOnWindowClose.
func (ss *SessionWindowedStream[K, V]) Count(opts ...Option) Table[window.Windowed[K], int64] {
	return aggregateSessions(ss, "SessionWindowedStream.Count", func() int64 { return 0 },
		func(K, V) int64 { return 1 }, func(_ K, _ V, n int64) int64 { return n + 1 },
		func(_ K, a, b int64) int64 { return a + b }, serde.Int64(), opts)
}

// Reduce combines the values of each key in each session with fn, the first
// value standing as it is; merging sessions combines their aggregates with
// fn too, the earlier-ending session first. Records with a null key or
// value are dropped, counted and logged, as for GroupedStream.Reduce.
// Options: Named,
// WithStoreOptions, EmitOnWindowClose.
func (ss *SessionWindowedStream[K, V]) Reduce(fn func(agg, value V) V, opts ...Option) Table[window.Windowed[K], V] {
	if fn == nil {
		dsl.Stream[K, V](ss.g.s).Builder().Fail(fmt.Errorf("SessionWindowedStream.Reduce: nil reducer"))
	}
	return aggregateSessions(ss, "SessionWindowedStream.Reduce", nil,
		func(_ K, v V) V { return v }, func(_ K, v V, agg V) V { return fn(agg, v) },
		func(_ K, a, b V) V { return fn(a, b) }, ss.g.valueSerde, opts)
}

// AggregateSessions folds the values of each key in each session into an
// aggregate of type VA: Kafka Streams' SessionWindowedKStream.aggregate. A
// record's session starts from init(); when the record joins sessions,
// their aggregates are folded into that one with merge, in the store's
// order (by session end), and then the record with agg. Records with a
// null key or value are dropped, counted and logged. The aggregate's serde
// comes from WithValueSerde, or serde.Default for VA. Options: Named,
// WithStoreOptions, WithValueSerde, EmitOnWindowClose.
func AggregateSessions[K, V, VA any](ss *SessionWindowedStream[K, V], init func() VA, agg func(key K, value V, agg VA) VA, merge func(key K, a, b VA) VA, opts ...Option) Table[window.Windowed[K], VA] {
	if init == nil || agg == nil || merge == nil {
		dsl.Stream[K, V](ss.g.s).Builder().Fail(fmt.Errorf("AggregateSessions: nil initializer, aggregator or merger"))
	}
	return aggregateSessions(ss, "AggregateSessions", init,
		func(k K, v V) VA { return agg(k, v, init()) }, agg, merge, nil, opts)
}

// aggregateSessions adds the session store and processor of a session
// aggregation. init, if not nil, is the aggregate sessions are merged into
// (Kafka Streams' initializer); without it the first session's aggregate
// stands as it is, as Kafka Streams' reduce does with its null initial
// value. start makes the aggregate of a record alone, add folds a record
// into an aggregate.
func aggregateSessions[K, V, VA any](ss *SessionWindowedStream[K, V], op string, init func() VA, start func(K, V) VA, add func(K, V, VA) VA, merge func(K, VA, VA) VA, aggSerde serde.Serde[VA], opts []Option) Table[window.Windowed[K], VA] {
	g := ss.g
	b := dsl.Stream[K, V](g.s).Builder()
	emitOnClose, rest := windowOptions(opts)
	o := collect(b, op, rest, optName|optStore|optSerdes)
	storeName := o.name
	if storeName == "" {
		storeName = b.NewName("KSTREAM-AGGREGATE-STATE-STORE-")
	}
	vs := dsl.SerdeOr(b, op, "aggregate", o.valueSerde, aggSerde)
	in := g.input(storeName)
	procName := b.NewName("KSTREAM-AGGREGATE-")
	ks := sessionStore(b, ss.windows, ss.valid, storeName, g.keySerde, vs, storeOptions(o))
	w := ss.windows
	topology.AddProcessor(b, procName, func() topology.Processor[K, V, window.Windowed[K], Change[VA]] {
		return newSessionAgg(w, storeName, init, start, add, merge, emitOnClose)
	}, dsl.Stream[K, V](in).Node())
	if ks != nil {
		b.ConnectStores(procName, storeName)
		if emitOnClose {
			addProgressStore(b, storeName, procName, o.storeOpts)
		}
	}
	return closingAfter(newTable(b, procName, ks, vs, ""), sessionClose(w))
}

// sessionStore declares the session store of a session aggregation whose
// values vs encodes, kept for gap + grace + 1ms, and returns the key serde
// of its results, or nil when there is no store to declare (invalid
// windows or serdes).
func sessionStore[K, VA any](b *topology.Builder, w window.SessionWindows, valid bool, store string, ks serde.Serde[K], vs serde.Serde[VA], opts []state.Option) serde.Serde[window.Windowed[K]] {
	if !valid || ks == nil || vs == nil {
		return nil
	}
	retention := time.Duration(w.InactivityGap.Milliseconds()+w.Grace.Milliseconds()+1) * time.Millisecond
	state.AddSessionStore(b, store, ks, vs, retention, opts...)
	return window.SessionWindowedSerde(ks)
}

// sessionClose is how long after its end a session closes: gap + grace.
func sessionClose(w window.SessionWindows) time.Duration {
	return truncMillis(w.InactivityGap) + truncMillis(w.Grace)
}

// newSessionAgg returns the processor of a session aggregation into store.
func newSessionAgg[K, V, VA any](w window.SessionWindows, store string, init func() VA, start func(K, V) VA, add func(K, V, VA) VA, merge func(K, VA, VA) VA, emitOnClose bool) topology.Processor[K, V, window.Windowed[K], Change[VA]] {
	return &sessionAggProc[K, V, VA]{store: store, gap: w.InactivityGap.Milliseconds(), grace: w.Grace.Milliseconds(),
		init: init, start: start, add: add, merge: merge, emitOnClose: emitOnClose}
}

// sessionAggProc aggregates records into session windows, as Kafka Streams'
// KStreamSessionWindowAggregate.
type sessionAggProc[K, V, VA any] struct {
	ctx         topology.Context[window.Windowed[K], Change[VA]]
	store       string
	gap, grace  int64 // ms
	init        func() VA
	start       func(K, V) VA
	add         func(K, V, VA) VA
	merge       func(K, VA, VA) VA
	emitOnClose bool
	sessions    state.SessionStore[K, VA]
	// progress is the latest session end emitted through, for
	// EmitOnWindowClose; -1 before the first emission.
	progress emitProgress
	// merged holds the sessions a record merges, reused between records.
	merged []state.KeyValue[window.Windowed[K], VA]
	// out forwards updates, unless emitOnClose.
	out sessionForwarder[K, VA]
}

func (p *sessionAggProc[K, V, VA]) Init(ctx topology.Context[window.Windowed[K], Change[VA]]) error {
	p.ctx = ctx
	s, err := state.LookupSession[K, VA](ctx, p.store)
	if err != nil {
		return err
	}
	p.sessions = s
	if p.emitOnClose {
		return p.progress.load(ctx, p.store)
	}
	p.out.init(ctx, s)
	return nil
}

func (p *sessionAggProc[K, V, VA]) Close() error { return nil }

func (p *sessionAggProc[K, V, VA]) Process(r topology.Record[K, V]) error {
	if skipNulls(p.ctx, r) {
		return nil
	}
	ts := r.Timestamp.UnixMilli()
	closeTime := windowStreamTime(p.ctx.StreamTime(), ts) - p.grace - p.gap

	it, err := p.sessions.FindSessions(r.Key, time.UnixMilli(ts-p.gap), time.UnixMilli(ts+p.gap))
	if err != nil {
		return err
	}
	p.merged = p.merged[:0]
	var agg VA
	hasAgg := p.init != nil
	if hasAgg {
		agg = p.init()
	}
	first, last := ts, ts
	for it.Next() {
		s := state.KeyValue[window.Windowed[K], VA]{Key: it.Key(), Value: it.Value()}
		if s.Key.Window.End.UnixMilli() < closeTime {
			// A closed session is final: a record does not join it.
			continue
		}
		p.merged = append(p.merged, s)
		if hasAgg {
			agg = p.merge(r.Key, agg, s.Value)
		} else {
			agg, hasAgg = s.Value, true
		}
		first = min(first, s.Key.Window.Start.UnixMilli())
		last = max(last, s.Key.Window.End.UnixMilli())
	}
	if err := it.Close(); err != nil {
		return err
	}
	if last < closeTime {
		p.ctx.SkipRecord("record for expired window")
		return nil
	}
	// A record that only joins the session [ts, ts] replaces its
	// aggregate; one that extends or merges sessions replaces them.
	replaced := first != ts || last != ts
	var old VA
	hadOld := false
	for _, s := range p.merged {
		if !replaced {
			old, hadOld = s.Value, true
			continue
		}
		if err := p.sessions.Remove(s.Key); err != nil {
			return err
		}
		if p.emitOnClose || p.out.onFlush {
			continue
		}
		tomb := topology.Record[window.Windowed[K], Change[VA]]{Key: s.Key, Value: Change[VA]{Old: s.Value, HasOld: true}, Timestamp: s.Key.Window.End}
		if err := p.ctx.Forward(tomb); err != nil {
			return err
		}
	}
	if p.emitOnClose {
		// Kafka Streams emits after applying the record, when the
		// merged sessions are gone and the new session, open, is in
		// the store. Emitting before the put gives the same results
		// before the put moves the store's stream time on and expires
		// sessions that have just closed.
		if err := p.emitClosed(closeTime - 1); err != nil {
			return err
		}
	}
	if hasAgg {
		agg = p.add(r.Key, r.Value, agg)
	} else {
		agg = p.start(r.Key, r.Value)
	}
	key := window.Windowed[K]{Key: r.Key, Window: window.Window{Start: time.UnixMilli(first), End: time.UnixMilli(last)}}
	if err := p.sessions.Put(key, agg); err != nil {
		return err
	}
	if p.emitOnClose || p.out.onFlush {
		return nil
	}
	return p.ctx.Forward(topology.Record[window.Windowed[K], Change[VA]]{
		Key:       key,
		Value:     Change[VA]{New: agg, Old: old, HasNew: true, HasOld: hadOld},
		Timestamp: key.Window.End,
	})
}

// emitClosed forwards every session that ends after the progress and at most
// upper, in order of end, then
// key, then start, each with its end as timestamp and the headers of the
// record that closed it, as Kafka Streams' emit-on-close session store
// returns them.
func (p *sessionAggProc[K, V, VA]) emitClosed(upper int64) error {
	if upper <= p.progress.to {
		return nil
	}
	lower := p.progress.to + 1
	// The session store has no query by end time across keys; it holds
	// only the sessions of the last gap + grace, so a scan is short.
	it, err := p.sessions.All()
	if err != nil {
		return err
	}
	var out []topology.Record[window.Windowed[K], Change[VA]]
	for it.Next() {
		k := it.Key()
		end := k.Window.End.UnixMilli()
		if end < lower || end > upper {
			continue
		}
		out = append(out, topology.Record[window.Windowed[K], Change[VA]]{Key: k, Value: Change[VA]{New: it.Value(), HasNew: true}, Timestamp: k.Window.End})
	}
	if err := it.Close(); err != nil {
		return err
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Key.Window.End.Before(out[j].Key.Window.End) })
	for _, r := range out {
		if err := p.ctx.Forward(r); err != nil {
			return err
		}
	}
	return p.progress.advance(upper)
}
