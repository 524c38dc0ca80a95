package ktable

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/strata-go/strata/internal/dsl"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/topology"
	"github.com/strata-go/strata/window"
)

// TimeWindowedStream is a grouped stream split into time windows, tumbling,
// hopping or sliding, ready to be aggregated per key and window: Kafka
// Streams' TimeWindowedKStream. Make one with [WindowedBy] or
// [SlidingWindowedBy].
//
// Its aggregations (Count, Reduce, [AggregateWindows]) keep one aggregate
// per key and window in a window store of state.Timestamped values, with a
// changelog, kept for the window size plus grace (sliding windows: twice
// the time difference plus grace), as in Kafka Streams. The store is named
// by [Named], else "KSTREAM-AGGREGATE-STATE-STORE-<n>", and the processor
// "KSTREAM-AGGREGATE-<n>"; a key changed upstream is repartitioned first,
// through "<store>-repartition", as for GroupedStream's aggregations.
//
// The result is a table keyed by window.Windowed[K], whose key serde is
// window.TimeWindowedSerde of the grouping's key serde and the window size,
// so that ToStream().To(topic) writes keys in Kafka Streams' format. By
// default updates of each window are forwarded, whose timestamp is the
// largest timestamp in the window, and whose Old is the window's previous
// aggregate (HasOld false for a new window, where Kafka Streams, when it
// sends old values, sends the initializer's value); with
// [EmitOnWindowClose] each window is forwarded once, when it closes.
//
// The window store of tumbling and hopping windows caches, as the DSL's
// other stores (state.CachedWindowStore): updates of a window between two
// commits are forwarded once, when the record cache flushes (at the
// commit, or when it is full), with the window's aggregate at the previous
// flush as Old and no headers. With the cache off (strata.Config
// .DisableCache, WithStoreOptions(state.Caching(false)), or the test
// driver's default), every record forwards an update of each window it
// changes, with its headers. Sliding windows' stores do not cache unless
// WithStoreOptions(state.Caching(true)) says so (see docs/deviations.md).
//
// Stream time is the task's (topology.Context.StreamTime): the largest
// timestamp of the records the task has processed. Kafka Streams tracks it
// per aggregation, from the records that reach it; the two differ only when
// the task processes records that never reach the aggregation (filtered out
// upstream, or from another source of the same task). A record too late for
// a window is dropped for that window, counted and logged
// (topology.Context.SkipRecord), once per window it misses, as in Kafka
// Streams.
//
// A record with a null key or value is dropped, counted once and logged, as
// TimeWindowedKStream's javadoc says; Kafka Streams' tumbling and hopping
// windows in fact drop only null keys and aggregate null values (see
// docs/deviations.md).
type TimeWindowedStream[K, V any] struct {
	g *GroupedStream[K, V]
	timeWindowing
}

// timeWindowing is how a time-windowed aggregation (of a grouped or a
// cogrouped stream) splits records into windows.
type timeWindowing struct {
	windows window.TimeWindows
	sliding window.SlidingWindows
	// isSliding says which of windows and sliding applies.
	isSliding bool
	// valid is false when the windows failed validation; Build fails then
	// and the aggregations add no store.
	valid bool
}

// tumblingOrHopping validates w for op, recording a failure on b.
func tumblingOrHopping(b *topology.Builder, op string, w window.TimeWindows) timeWindowing {
	err := w.Validate()
	if err != nil {
		b.Fail(fmt.Errorf("%s: %w", op, err))
	}
	return timeWindowing{windows: w, valid: err == nil}
}

// slidingWindows validates w for op, recording a failure on b.
func slidingWindows(b *topology.Builder, op string, w window.SlidingWindows) timeWindowing {
	err := w.Validate()
	if err != nil {
		b.Fail(fmt.Errorf("%s: %w", op, err))
	}
	return timeWindowing{sliding: w, isSliding: true, valid: err == nil}
}

// span returns the size of the window store's windows and its retention:
// Kafka Streams' defaults, size + grace, and for sliding windows, which
// reach back 2*timeDifference, 2*timeDifference + grace.
func (tw timeWindowing) span() (size, retention time.Duration) {
	if tw.isSliding {
		size = truncMillis(tw.sliding.TimeDifference)
		return size, 2*size + truncMillis(tw.sliding.Grace)
	}
	size = truncMillis(tw.windows.Size)
	return size, size + truncMillis(tw.windows.Grace)
}

// grace is how long after their end windows accept records.
func (tw timeWindowing) grace() time.Duration {
	if tw.isSliding {
		return tw.sliding.Grace
	}
	return tw.windows.Grace
}

// timeWindowStore declares the window store of an aggregation whose values
// vs encodes and returns the key serde of its results, or nil when there is
// no store to declare (invalid windows or serdes).
func timeWindowStore[K, VA any](b *topology.Builder, tw timeWindowing, store string, ks serde.Serde[K], vs serde.Serde[VA], opts []state.Option) serde.Serde[window.Windowed[K]] {
	if !tw.valid || ks == nil || vs == nil {
		return nil
	}
	size, retention := tw.span()
	state.AddWindowStore(b, store, ks, state.TimestampedSerde(vs), size, retention, opts...)
	return window.TimeWindowedSerde(ks, size)
}

// newTimeWindowAgg returns the processor of a time-windowed aggregation
// into store.
func newTimeWindowAgg[K, V, VA any](tw timeWindowing, store string, start func(K, V) VA, add func(K, V, VA) VA, emitOnClose bool) topology.Processor[K, V, window.Windowed[K], Change[VA]] {
	if tw.isSliding {
		return &slidingAggProc[K, V, VA]{store: store, diff: tw.sliding.TimeDifference.Milliseconds(), grace: tw.sliding.Grace.Milliseconds(),
			start: start, add: add, emitOnClose: emitOnClose}
	}
	return &windowAggProc[K, V, VA]{store: store, windows: tw.windows, grace: tw.windows.Grace.Milliseconds(),
		start: start, add: add, emitOnClose: emitOnClose}
}

// WindowedBy splits g into the tumbling or hopping windows w, Kafka Streams'
// KGroupedStream.windowedBy(TimeWindows). Invalid windows (see
// window.TimeWindows.Validate) fail Builder.Build.
func WindowedBy[K, V any](g *GroupedStream[K, V], w window.TimeWindows) *TimeWindowedStream[K, V] {
	return &TimeWindowedStream[K, V]{g: g, timeWindowing: tumblingOrHopping(dsl.Stream[K, V](g.s).Builder(), "WindowedBy", w)}
}

// SlidingWindowedBy splits g into the sliding windows w, Kafka Streams'
// KGroupedStream.windowedBy(SlidingWindows). Invalid windows (see window.SlidingWindows.Validate) fail Builder.Build.
func SlidingWindowedBy[K, V any](g *GroupedStream[K, V], w window.SlidingWindows) *TimeWindowedStream[K, V] {
	return &TimeWindowedStream[K, V]{g: g, timeWindowing: slidingWindows(dsl.Stream[K, V](g.s).Builder(), "SlidingWindowedBy", w)}
}

// Count counts the records of each key in each window. Records with a null
// key or value are not counted: they are dropped, counted as dropped and
// logged, as Kafka Streams documents (see GroupedStream.Count).
// Options: Named (the store), WithStoreOptions, EmitOnWindowClose.
func (ws *TimeWindowedStream[K, V]) Count(opts ...Option) Table[window.Windowed[K], int64] {
	return aggregateWindows(ws, "TimeWindowedStream.Count", func(K, V) int64 { return 1 },
		func(_ K, _ V, n int64) int64 { return n + 1 }, serde.Int64(), opts)
}

// Reduce combines the values of each key in each window with fn, the first
// value standing as it is. Records with a null key or value are dropped,
// counted and logged, as for GroupedStream.Reduce. Options: Named,
// WithStoreOptions, EmitOnWindowClose.
func (ws *TimeWindowedStream[K, V]) Reduce(fn func(agg, value V) V, opts ...Option) Table[window.Windowed[K], V] {
	if fn == nil {
		dsl.Stream[K, V](ws.g.s).Builder().Fail(fmt.Errorf("TimeWindowedStream.Reduce: nil reducer"))
	}
	return aggregateWindows(ws, "TimeWindowedStream.Reduce", func(_ K, v V) V { return v },
		func(_ K, v V, agg V) V { return fn(agg, v) }, ws.g.valueSerde, opts)
}

// AggregateWindows folds the values of each key in each window into an
// aggregate of type VA, starting from init() for every new window: Kafka
// Streams' TimeWindowedKStream.aggregate. Records with a null key or value
// are dropped, counted and logged. The aggregate's serde comes from
// WithValueSerde, or serde.Default for VA. Options: Named,
// WithStoreOptions, WithValueSerde, EmitOnWindowClose.
func AggregateWindows[K, V, VA any](ws *TimeWindowedStream[K, V], init func() VA, agg func(key K, value V, agg VA) VA, opts ...Option) Table[window.Windowed[K], VA] {
	if init == nil || agg == nil {
		dsl.Stream[K, V](ws.g.s).Builder().Fail(fmt.Errorf("AggregateWindows: nil initializer or aggregator"))
	}
	return aggregateWindows(ws, "AggregateWindows", func(k K, v V) VA { return agg(k, v, init()) }, agg, nil, opts)
}

// aggregateWindows adds the window store and processor of a time-windowed
// aggregation: start makes a window's first aggregate, add folds in later
// values.
func aggregateWindows[K, V, VA any](ws *TimeWindowedStream[K, V], op string, start func(K, V) VA, add func(K, V, VA) VA, aggSerde serde.Serde[VA], opts []Option) Table[window.Windowed[K], VA] {
	g := ws.g
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
	ks := timeWindowStore(b, ws.timeWindowing, storeName, g.keySerde, vs, timeWindowStoreOptions(ws.timeWindowing, o))
	tw := ws.timeWindowing
	topology.AddProcessor(b, procName, func() topology.Processor[K, V, window.Windowed[K], Change[VA]] {
		return newTimeWindowAgg(tw, storeName, start, add, emitOnClose)
	}, dsl.Stream[K, V](in).Node())
	if ks != nil {
		b.ConnectStores(procName, storeName)
		if emitOnClose {
			addProgressStore(b, storeName, procName, o.storeOpts)
		}
	}
	return closingAfter(newTable(b, procName, ks, vs, ""), tw.grace())
}

// truncMillis truncates d to whole milliseconds, the precision of windows.
func truncMillis(d time.Duration) time.Duration { return d.Truncate(time.Millisecond) }

// windowStreamTime returns the task's stream time in Unix milliseconds, which
// includes the record being processed, at time ts.
func windowStreamTime(st time.Time, ts int64) int64 {
	if st.IsZero() {
		return ts
	}
	return max(st.UnixMilli(), ts)
}

// windowAggProc aggregates records into the tumbling or hopping windows
// they fall in, as Kafka Streams' KStreamWindowAggregate.
type windowAggProc[K, V, VA any] struct {
	ctx         topology.Context[window.Windowed[K], Change[VA]]
	store       string
	windows     window.TimeWindows
	grace       int64 // ms
	start       func(K, V) VA
	add         func(K, V, VA) VA
	emitOnClose bool
	rows        state.WindowStore[K, state.Timestamped[VA]]
	closed      closedWindows[K, VA]
	// out forwards updates, unless emitOnClose.
	out windowForwarder[K, VA]
}

func (p *windowAggProc[K, V, VA]) Init(ctx topology.Context[window.Windowed[K], Change[VA]]) error {
	p.ctx = ctx
	s, err := state.LookupWindow[K, state.Timestamped[VA]](ctx, p.store)
	if err != nil {
		return err
	}
	p.rows = s
	if p.emitOnClose {
		return p.closed.progress.load(ctx, p.store)
	}
	p.out.init(ctx, s)
	return nil
}

func (p *windowAggProc[K, V, VA]) Close() error { return nil }

func (p *windowAggProc[K, V, VA]) Process(r topology.Record[K, V]) error {
	if skipNulls(p.ctx, r) {
		return nil
	}
	ts := r.Timestamp.UnixMilli()
	closeTime := windowStreamTime(p.ctx.StreamTime(), ts) - p.grace
	if p.emitOnClose {
		// Kafka Streams emits after applying the record; the windows
		// the record changes are open and those that closed do not
		// change, so emitting first gives the same results, and does
		// it before the record's puts move the store's own stream time
		// on and expire windows that have just closed.
		// Windows start on multiples of the advance, so only a bound
		// that crosses one can close a window: round it down, or every
		// record that moves stream time would scan the store.
		upper := closeTime - p.windows.Size.Milliseconds()
		if adv := p.windows.Advance.Milliseconds(); adv > 0 && upper >= 0 {
			upper = upper / adv * adv
		}
		if err := p.closed.emit(p.ctx, p.rows, r.Headers, upper); err != nil {
			return err
		}
	}
	for _, w := range p.windows.WindowsFor(r.Timestamp) {
		if w.End.UnixMilli() <= closeTime {
			p.ctx.SkipRecord("record for expired window")
			continue
		}
		old, ok, err := p.rows.Fetch(r.Key, w.Start)
		if err != nil {
			return err
		}
		var agg VA
		nts := ts
		if ok {
			agg = p.add(r.Key, r.Value, old.Value)
			nts = max(ts, old.Timestamp.UnixMilli())
		} else {
			agg = p.start(r.Key, r.Value)
		}
		at := time.UnixMilli(nts)
		if err := p.rows.Put(r.Key, state.Timestamped[VA]{Value: agg, Timestamp: at}, w.Start); err != nil {
			return err
		}
		if p.emitOnClose || p.out.onFlush {
			continue
		}
		out := topology.WithKeyValue(r, window.Windowed[K]{Key: r.Key, Window: w},
			Change[VA]{New: agg, Old: old.Value, HasNew: true, HasOld: ok})
		out.Timestamp = at
		if err := p.ctx.Forward(out); err != nil {
			return err
		}
	}
	return nil
}

// closedWindows emits the final results of time or sliding windows as they
// close, for EmitOnWindowClose: Kafka Streams'
// AbstractKStreamTimeWindowAggregateProcessor.maybeForwardFinalResult.
type closedWindows[K, VA any] struct {
	// progress is the latest window start emitted through, -1 before
	// the first emission (window starts are never negative).
	progress emitProgress
}

// emit forwards every window whose start is after the progress and at most
// upper, the latest start of a closed window, in order of start, then key.
// Each goes with the timestamp of its latest record and the headers of the
// record that closed it, as in Kafka Streams.
func (c *closedWindows[K, VA]) emit(ctx topology.Context[window.Windowed[K], Change[VA]], rows state.WindowStore[K, state.Timestamped[VA]], headers []topology.Header, upper int64) error {
	if upper <= c.progress.to {
		return nil
	}
	lower := c.progress.to + 1
	it, err := rows.FetchAll(time.UnixMilli(lower), time.UnixMilli(upper))
	if err != nil {
		return err
	}
	var out []topology.Record[window.Windowed[K], Change[VA]]
	for it.Next() {
		v := it.Value()
		out = append(out, topology.Record[window.Windowed[K], Change[VA]]{
			Key:       it.Key(),
			Value:     Change[VA]{New: v.Value, HasNew: true},
			Timestamp: v.Timestamp,
			Headers:   headers,
		})
	}
	if err := it.Close(); err != nil {
		return err
	}
	// The store orders by key, then start; Kafka Streams' emit-on-close
	// stores order by start, then key.
	sort.SliceStable(out, func(i, j int) bool { return out[i].Key.Window.Start.Before(out[j].Key.Window.Start) })
	for _, r := range out {
		if err := ctx.Forward(r); err != nil {
			return err
		}
	}
	return c.progress.advance(upper)
}

// addMillisSat returns a+b, saturating at the int64 bounds.
func addMillisSat(a, b int64) int64 {
	switch {
	case b > 0 && a > math.MaxInt64-b:
		return math.MaxInt64
	case b < 0 && a < math.MinInt64-b:
		return math.MinInt64
	}
	return a + b
}
