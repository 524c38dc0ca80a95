package ktable

import (
	"fmt"

	"github.com/strata-go/strata/internal/dsl"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/topology"
)

// Change is one update of a table row: the row's value after and before.
// HasNew is false when the update deletes the row; HasOld is false when the
// row did not exist before. OutOfOrder marks an update of a versioned
// table older than the row's latest version (see [Versioned]).
type Change[V any] = dsl.Change[V]

// Table is a typed table: the node of a topology whose output is a stream
// of row updates. Tables are values; every operation returns a new one.
// The zero Table is not usable; tables come from [From], [FromStream],
// aggregations and operations on other tables.
type Table[K, V any] dsl.Table[K, V]

func (t Table[K, V]) core() dsl.Table[K, V] { return dsl.Table[K, V](t) }

func (t Table[K, V]) builder() *topology.Builder { return t.core().Builder() }

func (t Table[K, V]) node() string { return t.core().Node() }

func (t Table[K, V]) keySerde() serde.Serde[K] { return t.core().KeySerde() }

func (t Table[K, V]) valueSerde() serde.Serde[V] { return t.core().ValueSerde() }

// newTable returns the table whose updates node forwards.
func newTable[K, V any](b *topology.Builder, node string, ks serde.Serde[K], vs serde.Serde[V], store string) Table[K, V] {
	return Table[K, V](dsl.NewTable(dsl.NewStream[K, Change[V]](b, node, ks, nil, false), ks, vs, store))
}

// StoreName is the name of the store holding the table's rows, or "" when
// the table is not materialized.
func (t Table[K, V]) StoreName() string { return t.core().Store() }

// ToStream returns the table's updates as a stream: each update's new value,
// or a tombstone for a deleted row.
func (t Table[K, V]) ToStream(opts ...Option) kstream.Stream[K, V] {
	b := t.builder()
	o := collect(b, "ToStream", opts, optName)
	name := o.nameOr(b, "KTABLE-TOSTREAM-")
	topology.AddProcessor(b, name, func() topology.Processor[K, Change[V], K, V] {
		return &toStreamProc[K, V]{}
	}, t.node())
	return kstream.Stream[K, V](dsl.NewStream(b, name, t.keySerde(), t.valueSerde(), false))
}

type toStreamProc[K, V any] struct{ base[K, V] }

func (p *toStreamProc[K, V]) Process(r topology.Record[K, Change[V]]) error {
	if !r.Value.HasNew {
		return p.ctx.Forward(topology.Tombstone(topology.WithValue(r, r.Value.New)))
	}
	return p.ctx.Forward(topology.WithValue(r, r.Value.New))
}

// From reads topic as a table: each record updates its key's row and a
// tombstone deletes it. The rows are kept in a key-value store with a
// changelog, named by [Named] or "<topic>-STATE-STORE-<n>" as in Kafka
// Streams; with [SourceAsChangelog], topic itself serves as the changelog.
// A nil serde is the builder's serde for the type (topology.RegisterSerde,
// else the built-in default).
func From[K, V any](b *topology.Builder, topic string, keySerde serde.Serde[K], valueSerde serde.Serde[V], opts ...Option) Table[K, V] {
	o := collect(b, "ktable.From", opts, optName|optStore|optSourceChangelog|optVersioned)
	if o.set&optSourceChangelog != 0 {
		o.storeOpts = append(o.storeOpts, state.SourceChangelog(topic))
	}
	// Kafka Streams numbers the store first, then the source and the
	// table source, so its changelog keeps Kafka's name.
	storeName := o.name
	if storeName == "" {
		storeName = b.NewName(topic + "-STATE-STORE-")
	}
	keySerde = dsl.GivenOr(b, keySerde, fmt.Sprintf("ktable.From %q (key)", topic))
	valueSerde = dsl.GivenOr(b, valueSerde, fmt.Sprintf("ktable.From %q (value)", topic))
	src := kstream.From(b, topic, keySerde, valueSerde, kstream.Named(b.NewName("KSTREAM-SOURCE-")))
	return materialize(src, storeName, b.NewName("KTABLE-SOURCE-"), keySerde, valueSerde, o)
}

// FromStream turns a stream into a table, Kafka Streams' toTable: each record
// updates its key's row, a tombstone deletes it.
func FromStream[K, V any](s kstream.Stream[K, V], opts ...Option) Table[K, V] {
	c := dsl.Stream[K, V](s)
	b := c.Builder()
	o := collect(b, "ktable.FromStream", opts, optName|optStore|optSerdes|optVersioned)
	ks, vs := serdesFor(b, "ktable.FromStream", c, o)
	procName := b.NewName("KSTREAM-TOTABLE-")
	storeName := o.name
	if storeName == "" {
		storeName = b.NewName("KSTREAM-TOTABLE-STATE-STORE-")
	}
	if c.RepartitionRequired() {
		// Named after the processor, as Kafka Streams names it.
		s = repartition(s, procName, ks, vs, o)
	}
	return materialize(s, storeName, procName, ks, vs, o)
}

// materialize adds the processor that keeps s's records as rows of a store
// and forwards each as a Change.
func materialize[K, V any](s kstream.Stream[K, V], storeName, procName string, ks serde.Serde[K], vs serde.Serde[V], o *options) Table[K, V] {
	c := dsl.Stream[K, V](s)
	b := c.Builder()
	if o.set&optVersioned != 0 {
		return materializeVersioned(s, storeName, procName, ks, vs, o)
	}
	state.AddKeyValueStore(b, storeName, ks, state.TimestampedSerde(vs), storeOptions(o)...)
	topology.AddProcessor(b, procName, func() topology.Processor[K, V, K, Change[V]] {
		return &tableSourceProc[K, V]{store: storeName, node: procName}
	}, c.Node())
	b.ConnectStores(procName, storeName)
	return newTable(b, procName, ks, vs, storeName)
}

// tableSourceProc applies updates to the rows and forwards each as a
// Change with the row's previous value.
type tableSourceProc[K, V any] struct {
	base[K, Change[V]]
	store string
	node  string
	rows  state.KeyValueStore[K, state.Timestamped[V]]
	out   rowForwarder[K, V]
}

func (p *tableSourceProc[K, V]) Init(ctx topology.Context[K, Change[V]]) error {
	p.ctx = ctx
	s, err := state.LookupKeyValue[K, state.Timestamped[V]](ctx, p.store)
	if err != nil {
		return err
	}
	p.rows = s
	p.out.Init(ctx, s)
	return nil
}

func (p *tableSourceProc[K, V]) Process(r topology.Record[K, V]) error {
	if r.HasNullKey() {
		p.ctx.SkipRecord("null key in table update")
		return nil
	}
	old, hadOld, err := p.rows.Get(r.Key)
	if err != nil {
		return err
	}
	ch := Change[V]{Old: old.Value, HasOld: hadOld}
	if r.IsTombstone() {
		if !hadOld {
			return nil // deleting an absent row changes nothing
		}
		if err := p.rows.Delete(r.Key); err != nil {
			return err
		}
	} else {
		ch.New, ch.HasNew = r.Value, true
		if err := p.rows.Put(r.Key, state.Timestamped[V]{Value: r.Value, Timestamp: r.Timestamp}); err != nil {
			return err
		}
	}
	return p.out.Update(topology.WithValue(r, ch))
}

// Filter keeps the rows for which keep returns true: a row that stops
// matching is deleted downstream with a tombstone, as in Kafka Streams.
func (t Table[K, V]) Filter(keep func(key K, value V) bool, opts ...Option) Table[K, V] {
	return t.filter("Filter", keep, false, opts)
}

// FilterNot drops the rows for which drop returns true, with a tombstone
// downstream.
func (t Table[K, V]) FilterNot(drop func(key K, value V) bool, opts ...Option) Table[K, V] {
	return t.filter("FilterNot", drop, true, opts)
}

func (t Table[K, V]) filter(op string, pred func(K, V) bool, not bool, opts []Option) Table[K, V] {
	b := t.builder()
	o := collect(b, "Table."+op, opts, optName)
	name := o.nameOr(b, "KTABLE-FILTER-")
	if pred == nil {
		b.Fail(fmt.Errorf("%s %q: nil predicate", op, name))
	}
	topology.AddProcessor(b, name, func() topology.Processor[K, Change[V], K, Change[V]] {
		return &tableFilterProc[K, V]{pred: pred, not: not}
	}, t.node())
	return keepVersions(t, carry(t, newTable(b, name, t.keySerde(), t.valueSerde(), "")))
}

type tableFilterProc[K, V any] struct {
	base[K, Change[V]]
	pred func(K, V) bool
	not  bool
}

func (p *tableFilterProc[K, V]) Process(r topology.Record[K, Change[V]]) error {
	ch := r.Value
	if ch.HasNew && p.pred(r.Key, ch.New) == p.not {
		var zero V
		ch.New, ch.HasNew = zero, false
	}
	if ch.HasOld && p.pred(r.Key, ch.Old) == p.not {
		var zero V
		ch.Old, ch.HasOld = zero, false
	}
	// A row filtered out before and after still gets its tombstone, as in
	// Kafka Streams: downstream may hold an earlier value of it.
	return p.ctx.Forward(topology.WithValue(r, ch))
}

// MapValues replaces each row's value with fn's result; old values are
// mapped too, so that downstream retractions stay right.
func MapValues[K, V, V2 any](t Table[K, V], fn func(key K, value V) V2, opts ...Option) Table[K, V2] {
	b := t.builder()
	o := collect(b, "ktable.MapValues", opts, optName|optSerdes)
	name := o.nameOr(b, "KTABLE-MAPVALUES-")
	if fn == nil {
		b.Fail(fmt.Errorf("ktable.MapValues %q: nil function", name))
	}
	topology.AddProcessor(b, name, func() topology.Processor[K, Change[V], K, Change[V2]] {
		return &tableMapProc[K, V, V2]{fn: fn}
	}, t.node())
	vs := dsl.KnownSerde[V2](b, "ktable.MapValues", "value", o.valueSerde, nil)
	return keepVersions(t, carry(t, newTable(b, name, t.keySerde(), vs, "")))
}

type tableMapProc[K, V, V2 any] struct {
	base[K, Change[V2]]
	fn func(K, V) V2
}

func (p *tableMapProc[K, V, V2]) Process(r topology.Record[K, Change[V]]) error {
	ch := Change[V2]{HasNew: r.Value.HasNew, HasOld: r.Value.HasOld, OutOfOrder: r.Value.OutOfOrder}
	if ch.HasNew {
		ch.New = p.fn(r.Key, r.Value.New)
	}
	if ch.HasOld {
		ch.Old = p.fn(r.Key, r.Value.Old)
	}
	return p.ctx.Forward(topology.WithValue(r, ch))
}

// base gives DSL processors a stored context and no-op Init and Close.
type base[K, V any] struct {
	ctx topology.Context[K, V]
}

func (p *base[K, V]) Init(ctx topology.Context[K, V]) error { p.ctx = ctx; return nil }

func (p *base[K, V]) Close() error { return nil }
