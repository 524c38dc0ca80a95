package ktable

import (
	"fmt"

	"github.com/strata-go/strata/internal/dsl"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/topology"
	"github.com/strata-go/strata/window"
)

// CogroupedStream is several grouped streams with the same key type, each
// with an aggregator of its own, that aggregate into one table with one
// store: Kafka Streams' CogroupedKStream (KIP-150). Each record updates
// its key's aggregate with the aggregator of the stream it comes from, so
// streams of different value types fold into one aggregate of type VA
// without joining tables:
//
//	cg := ktable.Cogroup(ktable.GroupByKey(clicks), func(_ string, c Click, s Stats) Stats { s.Clicks++; return s })
//	cg = ktable.CogroupWith(cg, ktable.GroupByKey(views), func(_ string, v View, s Stats) Stats { s.Views++; return s })
//	stats := cg.Aggregate(func() Stats { return Stats{} })
//
// Make one with [Cogroup] and add streams with [CogroupWith], then
// aggregate it with [CogroupedStream.Aggregate], or per window with
// WindowedBy, SlidingWindowedBy or SessionWindowedBy.
//
// Each grouped stream gets an aggregation processor of its own, all
// reading and writing the one store, and a merge node forwards their
// updates as the table's: with [Named] n the store is n, the processors
// "n-cogroup-agg-<i>" (i counting the streams from 0, in the order they
// were added) and the merge "n-cogroup-merge", else
// COGROUPKSTREAM-AGGREGATE-STATE-STORE-<n>, COGROUPKSTREAM-AGGREGATE-<n>
// and COGROUPKSTREAM-MERGE-<n>, as Kafka Streams names them. Kafka Streams
// takes the processors' name from Named and the store's from Materialized;
// Strata's one Named names both.
//
// A grouped stream whose key may have changed is repartitioned, once per
// cogroup however many aggregations read it: through its grouping's topic
// when GroupByKey or GroupBy was named, else through
// "<store>-repartition", named after the first aggregation's store; a
// second stream of the same cogroup needing its own topic gets
// "<store>-cogroup-<i>-repartition" (Kafka Streams would name both topics
// after the store and fail). The streams' source topics must be
// co-partitioned, which the application checks when it starts.
//
// Records with a null key or value are dropped, counted and logged, as by
// every stream aggregation. The aggregate's timestamp is the largest
// timestamp folded into it.
type CogroupedStream[K, VA any] struct {
	b        *topology.Builder
	keySerde serde.Serde[K]
	inputs   []*cogroupInput[K, VA]
}

// cogroupInput is one grouped stream of a cogroup, with its value type
// erased: what an aggregation needs of it are two functions.
type cogroupInput[K, VA any] struct {
	grouped any    // the *GroupedStream, to tell one added twice
	node    string // its node, for errors
	// repartition says the stream needs a repartition topic of the
	// cogroup's own (its key changed and its grouping is not named).
	repartition bool
	// parent is the node the stream's aggregations read, once known.
	parent string
	// read returns parent, repartitioning the stream through a topic
	// named after prefix when it needs one and has none yet.
	read func(prefix string) string
	// add adds the stream's aggregation processor, named name, below
	// parent.
	add func(name, parent string, a *cogroupAggregation[K, VA])
}

// cogroupAggregation describes one aggregation of a cogroup: its store,
// initializer and windows.
type cogroupAggregation[K, VA any] struct {
	store string
	init  func() VA
	// kind is cogroupPlain, cogroupTime (tw) or cogroupSession (sw,
	// merge).
	kind  int
	tw    timeWindowing
	sw    window.SessionWindows
	valid bool // sw is valid
	merge func(K, VA, VA) VA
}

const (
	cogroupPlain = iota
	cogroupTime
	cogroupSession
)

// Cogroup starts a cogroup with g, whose records agg folds into their
// key's aggregate: Kafka Streams' KGroupedStream.cogroup. Add more grouped
// streams with [CogroupWith] and aggregate with
// [CogroupedStream.Aggregate] or its windowed forms. A nil aggregator fails
// Builder.Build.
func Cogroup[K, V, VA any](g *GroupedStream[K, V], agg func(key K, value V, agg VA) VA) *CogroupedStream[K, VA] {
	cg := &CogroupedStream[K, VA]{b: dsl.Stream[K, V](g.s).Builder(), keySerde: g.keySerde}
	return CogroupWith(cg, g, agg)
}

// CogroupWith adds g to cg, its records folded into their key's aggregate
// by agg, and returns cg: Kafka Streams' CogroupedKStream.cogroup. g must
// have cg's key type and come from the same builder; its value type is its
// own. Adding a grouped stream a cogroup has already, or a nil aggregator,
// fails Builder.Build.
func CogroupWith[K, V, VA any](cg *CogroupedStream[K, VA], g *GroupedStream[K, V], agg func(key K, value V, agg VA) VA) *CogroupedStream[K, VA] {
	if cg == nil || g == nil {
		panic("ktable: CogroupWith with a nil cogroup or grouped stream")
	}
	c := dsl.Stream[K, V](g.s)
	b := cg.b
	switch {
	case c.Builder() != b:
		b.Fail(fmt.Errorf("CogroupWith: grouped stream %q belongs to another Builder", c.Node()))
		return cg
	case agg == nil:
		b.Fail(fmt.Errorf("Cogroup: nil aggregator for grouped stream %q", c.Node()))
		return cg
	}
	for _, in := range cg.inputs {
		if in.grouped == any(g) {
			b.Fail(fmt.Errorf("CogroupWith: grouped stream %q is in the cogroup already", c.Node()))
			return cg
		}
	}
	in := &cogroupInput[K, VA]{grouped: g, node: c.Node(), repartition: c.RepartitionRequired() && g.name == ""}
	in.read = func(prefix string) string {
		if in.parent == "" {
			in.parent = dsl.Stream[K, V](g.input(prefix)).Node()
		}
		return in.parent
	}
	in.add = func(name, parent string, a *cogroupAggregation[K, VA]) {
		init := a.init
		start := func(k K, v V) VA { return agg(k, v, init()) }
		store, tw, sw, merge := a.store, a.tw, a.sw, a.merge
		switch a.kind {
		case cogroupPlain:
			topology.AddProcessor(b, name, func() topology.Processor[K, V, K, Change[VA]] {
				return &aggregateProc[K, V, VA]{store: store, start: start, add: agg}
			}, parent)
		case cogroupTime:
			topology.AddProcessor(b, name, func() topology.Processor[K, V, window.Windowed[K], Change[VA]] {
				return newTimeWindowAgg(tw, store, start, agg, false)
			}, parent)
		case cogroupSession:
			topology.AddProcessor(b, name, func() topology.Processor[K, V, window.Windowed[K], Change[VA]] {
				return newSessionAgg(sw, store, init, start, agg, merge, false)
			}, parent)
		}
	}
	cg.inputs = append(cg.inputs, in)
	return cg
}

// Aggregate folds the records of every grouped stream of cg into one
// aggregate per key, starting from init(), each stream's records with its
// own aggregator: Kafka Streams' CogroupedKStream.aggregate. The table's
// rows are kept in a key-value store of state.Timestamped values with a
// changelog, cached as other aggregations' stores. The aggregate's serde
// comes from WithValueSerde, else the builder's serde for VA.
//
// Options: [Named] (the store, processors and merge node; see
// [CogroupedStream]), [WithStoreOptions], [WithKeySerde], [WithValueSerde].
func (cg *CogroupedStream[K, VA]) Aggregate(init func() VA, opts ...Option) Table[K, VA] {
	a := &cogroupAggregation[K, VA]{init: init, kind: cogroupPlain}
	r := cg.aggregate("CogroupedStream.Aggregate", a, opts)
	topology.AddProcessor(cg.b, r.merge, func() topology.Processor[K, Change[VA], K, Change[VA]] {
		return &passProc[K, Change[VA]]{}
	}, r.procs...)
	return newTable(cg.b, r.merge, r.keySerde, r.valueSerde, a.store)
}

// cogroupNodes are what aggregate adds for one aggregation of a cogroup,
// and the serdes of the table it makes.
type cogroupNodes[K, VA any] struct {
	procs      []string // the aggregation processors
	merge      string   // the name of the merge node, still to add
	keySerde   serde.Serde[K]
	valueSerde serde.Serde[VA]
	// windowedKeys is the key serde of a windowed aggregation's results,
	// or nil when it has no store.
	windowedKeys serde.Serde[window.Windowed[K]]
}

// aggregate adds the store and the processors of one aggregation of cg,
// and names its merge node, which the caller adds.
func (cg *CogroupedStream[K, VA]) aggregate(op string, a *cogroupAggregation[K, VA], opts []Option) cogroupNodes[K, VA] {
	b := cg.b
	o := collect(b, op, opts, optName|optStore|optSerdes)
	if a.init == nil {
		b.Fail(fmt.Errorf("%s: nil initializer", op))
	}
	a.store = o.name
	if a.store == "" {
		a.store = b.NewName("COGROUPKSTREAM-AGGREGATE-STATE-STORE-")
	}
	r := cogroupNodes[K, VA]{
		keySerde:   dsl.SerdeOr(b, op, "key", o.keySerde, cg.keySerde),
		valueSerde: dsl.SerdeOr[VA](b, op, "aggregate", o.valueSerde, nil),
	}

	parents := make([]string, len(cg.inputs))
	ownTopics := 0
	for i, in := range cg.inputs {
		prefix := a.store
		if in.repartition && in.parent == "" {
			if ownTopics > 0 {
				prefix = fmt.Sprintf("%s-cogroup-%d", a.store, i)
			}
			ownTopics++
		}
		parents[i] = in.read(prefix)
	}

	stored := true
	switch a.kind {
	case cogroupPlain:
		state.AddKeyValueStore(b, a.store, r.keySerde, state.TimestampedSerde(r.valueSerde), storeOptions(o)...)
	case cogroupTime:
		r.windowedKeys = timeWindowStore(b, a.tw, a.store, r.keySerde, r.valueSerde, timeWindowStoreOptions(a.tw, o))
		stored = r.windowedKeys != nil
	case cogroupSession:
		r.windowedKeys = sessionStore(b, a.sw, a.valid, a.store, r.keySerde, r.valueSerde, storeOptions(o))
		stored = r.windowedKeys != nil
	}

	r.procs = make([]string, len(cg.inputs))
	for i, in := range cg.inputs {
		if o.name != "" {
			r.procs[i] = fmt.Sprintf("%s-cogroup-agg-%d", o.name, i)
		} else {
			r.procs[i] = b.NewName("COGROUPKSTREAM-AGGREGATE-")
		}
		in.add(r.procs[i], parents[i], a)
		if stored {
			b.ConnectStores(r.procs[i], a.store)
		}
	}
	if len(r.procs) > 1 {
		b.Copartition(r.procs...)
	}
	if o.name != "" {
		r.merge = o.name + "-cogroup-merge"
	} else {
		r.merge = b.NewName("COGROUPKSTREAM-MERGE-")
	}
	return r
}

// passProc forwards every record unchanged: the merge node of a cogroup.
type passProc[K, V any] struct{ base[K, V] }

func (p *passProc[K, V]) Process(r topology.Record[K, V]) error { return p.ctx.Forward(r) }
