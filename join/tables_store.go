package join

import (
	"fmt"

	"github.com/strata-go/strata/internal/dsl"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/topology"
)

// tableRows is a table as a join reads it: the node forwarding its updates once
// its rows are in a store, and that store.
type tableRows struct {
	node  string
	store string
	// versioned says the store is a versioned store (see
	// ktable.Versioned).
	versioned bool
}

// rowsOf returns where a join finds t's current rows. A materialized table
// has its store. A table without one (the result of Filter, MapValues or an
// unnamed join) is materialized for the join: a processor "<prefix>-<side>-
// materialize" below t keeps its rows in the store "<prefix>-<side>-store",
// with a changelog, and the join reads t's updates from that processor, so
// that the store holds an update before the join sees it. Kafka Streams reads
// such tables through value getters that recompute a row from the nearest
// materialized ancestor; Strata keeps a copy of the rows instead
// (docs/deviations.md). The store needs serdes: the table's, else those the
// join's options give (side says which), else the builder's.
//
// A versioned table (ktable.Versioned) without a store of its own, made by
// Filter or MapValues, is materialized in a versioned store with the same
// history retention, so that stream-table joins read its rows as of a
// time.
func rowsOf[K, V any](b *topology.Builder, op, prefix, side string, t dsl.Table[K, V], keySerde, valueSerde any, o *dsl.Options) tableRows {
	history, versioned := t.Versioned()
	if t.Store() != "" {
		return tableRows{node: t.Node(), store: t.Store(), versioned: versioned}
	}
	ks := dsl.SerdeOr(b, op, "key", keySerde, t.KeySerde())
	vs := dsl.SerdeOr(b, op, side+" value", valueSerde, t.ValueSerde())
	r := tableRows{node: prefix + "-" + side + "-materialize", store: prefix + "-" + side + "-store", versioned: versioned}
	if versioned {
		state.AddVersionedKeyValueStore(b, r.store, ks, vs, history, o.StoreOpts...)
		topology.AddProcessor(b, r.node, func() topology.Processor[K, dsl.Change[V], K, dsl.Change[V]] {
			return &versionedRowStoreProc[K, V]{store: r.store}
		}, t.Node())
		b.ConnectStores(r.node, r.store)
		return r
	}
	addRowStore(b, r.node, r.store, ks, vs, false, o, t.Node())
	return r
}

// addRowStore adds the store and the processor that keeps the rows of the
// table whose changes the parents forward, and forwards the changes. A
// result store (cached unless the options say otherwise, as Kafka Streams'
// materialized tables are) forwards through its cache; an input copy writes
// through.
func addRowStore[K, V any](b *topology.Builder, node, store string, ks serde.Serde[K], vs serde.Serde[V], result bool, o *dsl.Options, parents ...string) {
	opts := append([]state.Option{state.Caching(result)}, o.StoreOpts...)
	state.AddKeyValueStore(b, store, ks, state.TimestampedSerde(vs), opts...)
	topology.AddProcessor(b, node, func() topology.Processor[K, dsl.Change[V], K, dsl.Change[V]] {
		return &rowStoreProc[K, V]{store: store}
	}, parents...)
	b.ConnectStores(node, store)
}

// rowStoreProc writes each row update to the store and forwards it.
type rowStoreProc[K, V any] struct {
	store string
	rows  state.KeyValueStore[K, state.Timestamped[V]]
	out   dsl.RowForwarder[K, V]
}

func (p *rowStoreProc[K, V]) Init(ctx topology.Context[K, dsl.Change[V]]) error {
	s, err := state.LookupKeyValue[K, state.Timestamped[V]](ctx, p.store)
	if err != nil {
		return err
	}
	p.rows = s
	p.out.Init(ctx, s)
	return nil
}

func (p *rowStoreProc[K, V]) Process(r topology.Record[K, dsl.Change[V]]) error {
	var err error
	if r.Value.HasNew {
		err = p.rows.Put(r.Key, state.Timestamped[V]{Value: r.Value.New, Timestamp: r.Timestamp})
	} else {
		err = p.rows.Delete(r.Key)
	}
	if err != nil {
		return fmt.Errorf("store %q: %w", p.store, err)
	}
	return p.out.Update(r)
}

func (p *rowStoreProc[K, V]) Close() error { return nil }

// versionedRowStoreProc puts each row update of a versioned table as a
// version of the row in a versioned store, and forwards it.
type versionedRowStoreProc[K, V any] struct {
	ctx   topology.Context[K, dsl.Change[V]]
	store string
	rows  state.VersionedKeyValueStore[K, V]
}

func (p *versionedRowStoreProc[K, V]) Init(ctx topology.Context[K, dsl.Change[V]]) error {
	p.ctx = ctx
	s, err := state.LookupVersioned[K, V](ctx, p.store)
	p.rows = s
	return err
}

func (p *versionedRowStoreProc[K, V]) Process(r topology.Record[K, dsl.Change[V]]) error {
	var res state.PutResult
	var err error
	if r.Value.HasNew {
		res, err = p.rows.PutVersion(r.Key, r.Value.New, r.Timestamp)
	} else {
		res, err = p.rows.PutTombstone(r.Key, r.Timestamp)
	}
	switch {
	case err != nil:
		return fmt.Errorf("store %q: %w", p.store, err)
	case !res.Stored:
		p.ctx.SkipRecord("table update older than the versioned table's history retention")
		return nil
	}
	return p.ctx.Forward(r)
}

func (p *versionedRowStoreProc[K, V]) Close() error { return nil }

// lookupRows returns the named store of a table's rows.
func lookupRows[K, V any](ctx interface {
	StateStore(name string) (topology.StateStore, error)
}, store string) (state.KeyValueStore[K, state.Timestamped[V]], error) {
	return state.LookupKeyValue[K, state.Timestamped[V]](ctx, store)
}
