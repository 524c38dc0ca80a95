package ktable

import (
	"fmt"

	"github.com/strata-go/strata/internal/dsl"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/topology"
)

// Count counts the records of each key. Records with a null key or value
// are not counted: they are dropped, counted as dropped and logged, as in
// Kafka Streams. Options: Named (the store), WithStoreOptions.
func (g *GroupedStream[K, V]) Count(opts ...Option) Table[K, int64] {
	return aggregate(g, "Count", func(K, V) int64 { return 1 },
		func(_ K, _ V, n int64) int64 { return n + 1 }, serde.Int64(), opts)
}

// Reduce combines the values of each key with fn, the first value standing
// as it is. Records with a null key or value are dropped, counted and
// logged, as in Kafka Streams.
func (g *GroupedStream[K, V]) Reduce(fn func(agg, value V) V, opts ...Option) Table[K, V] {
	if fn == nil {
		dsl.Stream[K, V](g.s).Builder().Fail(fmt.Errorf("Reduce: nil reducer"))
	}
	return aggregate(g, "Reduce", func(_ K, v V) V { return v },
		func(_ K, v V, agg V) V { return fn(agg, v) }, g.valueSerde, opts)
}

// Aggregate folds the values of each key into an aggregate of type VA,
// starting from init(). Records with a null key or value are dropped,
// counted and logged, as in Kafka Streams. The aggregate's serde comes from
// WithValueSerde, or serde.Default for VA.
func Aggregate[K, V, VA any](g *GroupedStream[K, V], init func() VA, fn func(key K, value V, agg VA) VA, opts ...Option) Table[K, VA] {
	b := dsl.Stream[K, V](g.s).Builder()
	if init == nil || fn == nil {
		b.Fail(fmt.Errorf("Aggregate: nil initializer or aggregator"))
	}
	return aggregate(g, "Aggregate", func(k K, v V) VA { return fn(k, v, init()) }, fn, nil, opts)
}

// aggregate adds the store and processor of a stream aggregation: start
// makes a key's first aggregate, add folds in later values.
func aggregate[K, V, VA any](g *GroupedStream[K, V], op string, start func(K, V) VA, add func(K, V, VA) VA, aggSerde serde.Serde[VA], opts []Option) Table[K, VA] {
	b := dsl.Stream[K, V](g.s).Builder()
	o := collect(b, op, opts, optName|optStore|optSerdes)
	storeName := o.name
	if storeName == "" {
		storeName = b.NewName("KSTREAM-AGGREGATE-STATE-STORE-")
	}
	vs := dsl.SerdeOr(b, op, "aggregate", o.valueSerde, aggSerde)
	in := g.input(storeName)
	procName := b.NewName("KSTREAM-AGGREGATE-")
	if g.keySerde != nil && vs != nil {
		state.AddKeyValueStore(b, storeName, g.keySerde, state.TimestampedSerde(vs), storeOptions(o)...)
	}
	topology.AddProcessor(b, procName, func() topology.Processor[K, V, K, Change[VA]] {
		return &aggregateProc[K, V, VA]{store: storeName, start: start, add: add}
	}, dsl.Stream[K, V](in).Node())
	b.ConnectStores(procName, storeName)
	return newTable(b, procName, g.keySerde, vs, storeName)
}

// aggregateProc folds records into their key's aggregate and forwards each
// new aggregate with the one it replaces. The aggregate's timestamp is the
// largest timestamp folded into it.
type aggregateProc[K, V, VA any] struct {
	base[K, Change[VA]]
	store string
	start func(K, V) VA
	add   func(K, V, VA) VA
	rows  state.KeyValueStore[K, state.Timestamped[VA]]
	out   rowForwarder[K, VA]
}

func (p *aggregateProc[K, V, VA]) Init(ctx topology.Context[K, Change[VA]]) error {
	p.ctx = ctx
	s, err := state.LookupKeyValue[K, state.Timestamped[VA]](ctx, p.store)
	if err != nil {
		return err
	}
	p.rows = s
	p.out.Init(ctx, s)
	return nil
}

func (p *aggregateProc[K, V, VA]) Process(r topology.Record[K, V]) error {
	if skipNulls(p.ctx, r) {
		return nil
	}
	old, ok, err := p.rows.Get(r.Key)
	if err != nil {
		return err
	}
	ts := r.Timestamp
	var agg VA
	if ok {
		agg = p.add(r.Key, r.Value, old.Value)
		if old.Timestamp.After(ts) {
			ts = old.Timestamp
		}
	} else {
		agg = p.start(r.Key, r.Value)
	}
	if err := p.rows.Put(r.Key, state.Timestamped[VA]{Value: agg, Timestamp: ts}); err != nil {
		return err
	}
	out := topology.WithValue(r, Change[VA]{New: agg, Old: old.Value, HasNew: true, HasOld: ok})
	out.Timestamp = ts
	return p.out.Update(out)
}

// skipNulls drops r, counted as dropped and logged, when its key or value is
// null, and reports whether it did: Kafka Streams' stream aggregations
// ignore such records (KStreamAggregate, KStreamReduce), and Strata's, windowed
// and session aggregations included, do the same.
func skipNulls[K, V, KO, VO any](ctx topology.Context[KO, VO], r topology.Record[K, V]) bool {
	switch {
	case r.HasNullKey():
		ctx.SkipRecord("null key in stream aggregation")
	case r.IsTombstone():
		ctx.SkipRecord("null value in stream aggregation")
	default:
		return false
	}
	return true
}
