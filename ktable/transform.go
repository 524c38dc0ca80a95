package ktable

import (
	"errors"
	"fmt"

	"github.com/strata-go/strata/internal/dsl"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/topology"
)

// ValueTransformer computes the value of a table's row from its key and
// value, with access to the task: its state stores, punctuations and
// record metadata. It is Kafka Streams' ValueTransformerWithKey, as
// KTable.transformValues runs it. Each task has its own instance, made by
// the supplier given to [TransformValues], so it needs no locking.
type ValueTransformer[K, V, V2 any] interface {
	// Init is called once before the first row. The transformer keeps
	// ctx to look stores up (state.LookupKeyValue and its kin) and
	// schedule punctuations; it cannot forward records.
	Init(ctx topology.TaskContext) error
	// Transform returns the new value of the row key, whose value is
	// now value. An error stops the task, as a processor's does.
	Transform(key K, value V) (V2, error)
	// Close is called once when the task closes.
	Close() error
}

// WithStores connects state stores, declared on the builder, to a
// [TransformValues] node. It is the same option as kstream.WithStores.
func WithStores(stores ...string) Option { return kstream.WithStores(stores...) }

// TransformValues replaces each row's value with what a [ValueTransformer]
// computes from it, Kafka Streams' KTable.transformValues: MapValues with
// state stores, punctuations and the task's context. The key does not
// change, so no repartition is needed.
//
// The transformer is called once per update, with the row's new value; a
// deleted row is deleted in the result without calling it. The result is
// materialized: its rows are kept in a key-value store with a changelog
// (cached by default, as aggregations' are), from which every update
// takes the value it replaces, so downstream retractions are exactly what
// was forwarded before, whatever state the transformer keeps. Kafka
// Streams, unless the result is materialized, also calls the transformer
// with the old value of every update, and with null for a delete
// (docs/deviations.md). The store is named by [Named], else
// KTABLE-TRANSFORMVALUES-STATE-STORE-<n>, and needs a serde for V2:
// [WithValueSerde], else the builder's (topology.RegisterSerde).
//
// Out-of-order updates of a versioned table (Change.OutOfOrder) change no
// row of the result, which keeps the latest rows only: they are dropped,
// counted and logged.
//
// Options: [Named] (the processor and the store; default processor
// KTABLE-TRANSFORMVALUES-<n>), [WithStores] (the stores the transformer
// uses), [WithValueSerde], [WithStoreOptions] (the result's store).
func TransformValues[K, V, V2 any](t Table[K, V], supplier func() ValueTransformer[K, V, V2], opts ...Option) Table[K, V2] {
	b := t.builder()
	const op = "ktable.TransformValues"
	d := dsl.Collect(b, op, optName|optStore|dsl.OptValueSerde|dsl.OptStores, nil, opts)
	o := &options{name: d.Name, storeOpts: d.StoreOpts, valueSerde: d.ValueSerde, set: d.Given}
	store := o.name
	if store == "" {
		store = b.NewName("KTABLE-TRANSFORMVALUES-STATE-STORE-")
	}
	name := o.nameOr(b, "KTABLE-TRANSFORMVALUES-")
	if supplier == nil {
		b.Fail(fmt.Errorf("%s %q: nil transformer supplier", op, name))
	}
	ks := dsl.SerdeOr(b, op, "key", nil, t.keySerde())
	vs := dsl.SerdeOr[V2](b, op, "value", o.valueSerde, nil)
	state.AddKeyValueStore(b, store, ks, state.TimestampedSerde(vs), storeOptions(o)...)
	topology.AddProcessor(b, name, func() topology.Processor[K, Change[V], K, Change[V2]] {
		return &transformValuesProc[K, V, V2]{store: store, supplier: supplier}
	}, t.node())
	b.ConnectStores(name, append([]string{store}, d.Stores...)...)
	return carry(t, newTable(b, name, ks, vs, store))
}

// transformValuesProc transforms each row update's new value and keeps the
// result's rows, from which it takes each update's old value.
type transformValuesProc[K, V, V2 any] struct {
	base[K, Change[V2]]
	store    string
	supplier func() ValueTransformer[K, V, V2]
	t        ValueTransformer[K, V, V2]
	rows     state.KeyValueStore[K, state.Timestamped[V2]]
	out      rowForwarder[K, V2]
}

func (p *transformValuesProc[K, V, V2]) Init(ctx topology.Context[K, Change[V2]]) error {
	p.ctx = ctx
	s, err := state.LookupKeyValue[K, state.Timestamped[V2]](ctx, p.store)
	if err != nil {
		return err
	}
	p.rows = s
	p.out.Init(ctx, s)
	if p.t = p.supplier(); p.t == nil {
		return errors.New("the transformer supplier returned nil")
	}
	return p.t.Init(ctx)
}

func (p *transformValuesProc[K, V, V2]) Process(r topology.Record[K, Change[V]]) error {
	if outOfOrder(p.ctx, r, "TransformValues") {
		return nil
	}
	old, hadOld, err := p.rows.Get(r.Key)
	if err != nil {
		return err
	}
	ch := Change[V2]{Old: old.Value, HasOld: hadOld}
	if !r.Value.HasNew {
		if !hadOld {
			return nil // nothing was forwarded for the row
		}
		if err := p.rows.Delete(r.Key); err != nil {
			return err
		}
		return p.out.Update(topology.WithValue(r, ch))
	}
	v, err := p.t.Transform(r.Key, r.Value.New)
	if err != nil {
		return fmt.Errorf("transform: %w", err)
	}
	ch.New, ch.HasNew = v, true
	if err := p.rows.Put(r.Key, state.Timestamped[V2]{Value: v, Timestamp: r.Timestamp}); err != nil {
		return err
	}
	return p.out.Update(topology.WithValue(r, ch))
}

func (p *transformValuesProc[K, V, V2]) Close() error {
	if p.t == nil {
		return nil
	}
	return p.t.Close()
}
