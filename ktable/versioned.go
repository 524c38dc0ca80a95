package ktable

import (
	"time"

	"github.com/strata-go/strata/internal/dsl"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/topology"
)

// Versioned makes a table versioned, Kafka Streams' table materialized in a
// versioned store (KIP-889): its rows are kept in a versioned key-value
// store (state.AddVersionedKeyValueStore) that also keeps, for
// historyRetention, the versions of each row that later updates replaced,
// by timestamp. [From] and [FromStream] take it.
//
// A versioned table is the table as of any time in its history, so joins
// use its timestamps (KIP-914):
//
//   - a stream-table join (join.StreamTable, StreamTableLeft) joins each
//     stream record with the row as of the record's timestamp, not the
//     current row, and with join.WithGracePeriod can hold stream records
//     back until the table has caught up with them (KIP-923);
//   - an update older than its row's latest version (out of order) is
//     stored in the history but leaves the current row as it is: it is
//     forwarded with Change.OutOfOrder set, and table-table and
//     foreign-key joins, GroupTableBy and TransformValues drop it, counted
//     as dropped. ToStream forwards it, as Kafka Streams does.
//
// An update older than stream time minus the history retention is dropped
// by the store, counted as dropped, and not forwarded. Filter and MapValues
// keep a table's versioning; other operations make tables that are not
// versioned. Suppress does not take a versioned table. Versioned stores do
// not cache: every update is forwarded as it is processed.
func Versioned(historyRetention time.Duration) Option {
	return dsl.NewOption(optVersioned, func(o *dsl.Options) { o.History = historyRetention })
}

// materializeVersioned is materialize for a versioned table: the rows go to
// a versioned store, and out-of-order updates are forwarded as such.
func materializeVersioned[K, V any](s kstream.Stream[K, V], storeName, procName string, ks serde.Serde[K], vs serde.Serde[V], o *options) Table[K, V] {
	c := dsl.Stream[K, V](s)
	b := c.Builder()
	state.AddVersionedKeyValueStore(b, storeName, ks, vs, o.history, o.storeOpts...)
	topology.AddProcessor(b, procName, func() topology.Processor[K, V, K, Change[V]] {
		return &versionedSourceProc[K, V]{store: storeName}
	}, c.Node())
	b.ConnectStores(procName, storeName)
	return Table[K, V](newTable(b, procName, ks, vs, storeName).core().WithVersions(o.history))
}

// versionedSourceProc puts each update as a version of its row, and
// forwards it with the row's latest value before it as the old value,
// marked out of order when it is older than the row's latest version, as
// Kafka Streams' KTableSource over a versioned store does.
type versionedSourceProc[K, V any] struct {
	base[K, Change[V]]
	store string
	rows  state.VersionedKeyValueStore[K, V]
}

func (p *versionedSourceProc[K, V]) Init(ctx topology.Context[K, Change[V]]) error {
	p.ctx = ctx
	s, err := state.LookupVersioned[K, V](ctx, p.store)
	p.rows = s
	return err
}

func (p *versionedSourceProc[K, V]) Process(r topology.Record[K, V]) error {
	if r.HasNullKey() {
		p.ctx.SkipRecord("null key in table update")
		return nil
	}
	old, hadOld, err := p.rows.Get(r.Key)
	if err != nil {
		return err
	}
	var res state.PutResult
	if r.IsTombstone() {
		res, err = p.rows.PutTombstone(r.Key, r.Timestamp)
	} else {
		res, err = p.rows.PutVersion(r.Key, r.Value, r.Timestamp)
	}
	switch {
	case err != nil:
		return err
	case !res.Stored:
		p.ctx.SkipRecord("table update older than the versioned table's history retention")
		return nil
	case r.IsTombstone() && !hadOld && res.Latest:
		return nil // deleting an absent row changes nothing
	}
	ch := Change[V]{Old: old.Value, HasOld: hadOld, OutOfOrder: !res.Latest}
	if !r.IsTombstone() {
		ch.New, ch.HasNew = r.Value, true
	}
	return p.ctx.Forward(topology.WithValue(r, ch))
}

// keepVersions returns to, made from t by Filter or MapValues, versioned
// if t is.
func keepVersions[K, V, V2 any](t Table[K, V], to Table[K, V2]) Table[K, V2] {
	return Table[K, V2](dsl.CarryVersions(t.core(), to.core()))
}

// outOfOrder drops r, counted as dropped and logged, when it is an
// out-of-order update of a versioned table, and reports whether it did:
// operations that keep current rows ignore such updates (KIP-914).
func outOfOrder[K, V, KO, VO any](ctx topology.Context[KO, VO], r topology.Record[K, Change[V]], op string) bool {
	if r.Value.OutOfOrder {
		ctx.SkipRecord("out-of-order update of a versioned table in " + op)
	}
	return r.Value.OutOfOrder
}
