package join

import (
	"fmt"

	"github.com/strata-go/strata/internal/dsl"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/topology"
)

// Tables joins two tables on their keys, Kafka Streams' KTable#join(KTable):
// the result has a row for each key both tables have, joiner's result, and
// changes whenever either row does. An update on either side is joined with
// the other side's current row; the result row's timestamp is the later of
// the two rows'. Deleting either row deletes the result row with a
// tombstone, and every update carries the result's old value, so that
// downstream tables (GroupTableBy aggregations, further joins) retract it.
//
// The result is not materialized unless [Named]: then its rows are kept in
// the store of that name (with a changelog, and cached by default as Kafka
// Streams' materialized tables are, so updates leave on commit), which
// needs a serde for VR: [WithResultSerde], else the builder's (topology.RegisterSerde). An input
// table without a store is materialized for the join (see the package's
// deviations). The two tables' source topics must have the same number of
// partitions, which the application checks when it starts.
//
// Options: [Named] (processors "<name>-join-this", "<name>-join-other",
// "<name>-merge", and the result's store), [WithStoreOptions] (the stores
// the join adds), [WithKeySerde], [WithValueSerdes] and [WithResultSerde]
// (where the tables' serdes are unknown).
func Tables[K, V1, V2, VR any](left ktable.Table[K, V1], right ktable.Table[K, V2], joiner func(key K, left V1, right V2) VR, opts ...Option) ktable.Table[K, VR] {
	var j rowJoiner[K, V1, V2, VR]
	if joiner != nil {
		j = func(k K, l V1, _ bool, r V2, _ bool) VR { return joiner(k, l, r) }
	}
	return tables(left, right, "join.Tables", j, innerTables, opts)
}

// TablesLeft is [Tables] as a left join, KTable#leftJoin(KTable): the
// result has a row for each key of the left table, the joiner getting a nil
// right value while the right table has no row for it. Deleting the right
// row updates the result row; deleting the left row deletes it.
func TablesLeft[K, V1, V2, VR any](left ktable.Table[K, V1], right ktable.Table[K, V2], joiner func(key K, left V1, right *V2) VR, opts ...Option) ktable.Table[K, VR] {
	var j rowJoiner[K, V1, V2, VR]
	if joiner != nil {
		j = func(k K, l V1, _ bool, r V2, hasR bool) VR {
			if !hasR {
				return joiner(k, l, nil)
			}
			return joiner(k, l, &r)
		}
	}
	return tables(left, right, "join.TablesLeft", j, leftTables, opts)
}

// TablesOuter is [Tables] as an outer join, KTable#outerTables(KTable): the
// result has a row for each key either table has, the joiner getting nil
// for the side that has no row. The result row is deleted when both are.
func TablesOuter[K, V1, V2, VR any](left ktable.Table[K, V1], right ktable.Table[K, V2], joiner func(key K, left *V1, right *V2) VR, opts ...Option) ktable.Table[K, VR] {
	var j rowJoiner[K, V1, V2, VR]
	if joiner != nil {
		j = func(k K, l V1, hasL bool, r V2, hasR bool) VR {
			var lp *V1
			var rp *V2
			if hasL {
				lp = &l
			}
			if hasR {
				rp = &r
			}
			return joiner(k, lp, rp)
		}
	}
	return tables(left, right, "join.TablesOuter", j, outerTables, opts)
}

// rowJoiner joins a left and a right row, each present or not. Values
// rather than pointers, so that the inner join does not move them to the
// heap.
type rowJoiner[K, V1, V2, VR any] func(k K, l V1, hasL bool, r V2, hasR bool) VR

// tableJoinKind says which rows of a join have results: onlyLeft when the left
// row alone has one, onlyRight when the right row alone has one.
type tableJoinKind struct{ onlyLeft, onlyRight bool }

var (
	innerTables = tableJoinKind{}
	leftTables  = tableJoinKind{onlyLeft: true}
	outerTables = tableJoinKind{onlyLeft: true, onlyRight: true}
)

func tables[K, V1, V2, VR any](left ktable.Table[K, V1], right ktable.Table[K, V2], op string, joiner rowJoiner[K, V1, V2, VR], kind tableJoinKind, opts []Option) ktable.Table[K, VR] {
	lc, rc := dsl.Table[K, V1](left), dsl.Table[K, V2](right)
	b := lc.Builder()
	if b == nil || rc.Builder() == nil {
		panic(op + ": a zero Table; tables come from ktable.From and from operations on others")
	}
	if b != rc.Builder() {
		b.Fail(fmt.Errorf("%s: the tables belong to different builders", op))
	}
	o := collect(b, op, opts, optName|optStore|optSerdes|optResultSerde)
	name := o.NameOr(b, "KTABLE-JOIN-")
	if joiner == nil {
		b.Fail(fmt.Errorf("%s %q: nil joiner", op, name))
	}
	lr := rowsOf(b, op, name, "left", lc, o.KeySerde, o.LeftSerde, o)
	rr := rowsOf(b, op, name, "right", rc, o.KeySerde, o.RightSerde, o)
	this, other, merge := name+"-join-this", name+"-join-other", name+"-merge"
	topology.AddProcessor(b, this, func() topology.Processor[K, dsl.Change[V1], K, dsl.Change[VR]] {
		return &tableSideProc[K, V1, V2, VR]{otherStore: rr.store, join: joiner, onlyThis: kind.onlyLeft, onlyOther: kind.onlyRight}
	}, lr.node)
	topology.AddProcessor(b, other, func() topology.Processor[K, dsl.Change[V2], K, dsl.Change[VR]] {
		return &tableSideProc[K, V2, V1, VR]{otherStore: lr.store, onlyThis: kind.onlyRight, onlyOther: kind.onlyLeft,
			join: func(k K, r V2, hasR bool, l V1, hasL bool) VR { return joiner(k, l, hasL, r, hasR) }}
	}, rr.node)
	if lr.store != "" && rr.store != "" {
		b.ConnectStores(this, rr.store)
		b.ConnectStores(other, lr.store)
	}
	b.Copartition(this, other)
	var ks serde.Serde[K]
	var vs serde.Serde[VR]
	store := ""
	if o.Name != "" {
		// The result is materialized in a store of its own.
		ks = dsl.SerdeOr(b, op, "key", o.KeySerde, lc.KeySerde())
		vs = dsl.SerdeOr[VR](b, op, "result", o.ResultSerde, nil)
		store = o.Name
		addRowStore(b, merge, store, ks, vs, true, o, this, other)
	} else {
		ks = dsl.KnownSerde(b, op, "key", o.KeySerde, lc.KeySerde())
		vs = dsl.KnownSerde[VR](b, op, "result", o.ResultSerde, nil)
		topology.AddProcessor(b, merge, func() topology.Processor[K, dsl.Change[VR], K, dsl.Change[VR]] {
			return &mergeProc[K, dsl.Change[VR]]{}
		}, this, other)
	}
	return ktable.Table[K, VR](dsl.NewTable(dsl.NewStream[K, dsl.Change[VR]](b, merge, ks, nil, false), ks, vs, store))
}

// tableSideProc joins the updates of one table ("this") with the other's
// current rows, as Kafka Streams' KTableKTableInnerJoin, LeftJoin, OuterJoin
// and RightJoin processors do: join takes this side's value first. An
// out-of-order update of a versioned table is dropped (KIP-914).
type tableSideProc[K, VT, VO, VR any] struct {
	ctx        topology.Context[K, dsl.Change[VR]]
	otherStore string
	other      state.KeyValueStore[K, state.Timestamped[VO]]
	join       func(k K, this VT, hasThis bool, other VO, hasOther bool) VR
	// onlyThis and onlyOther say whether a row of this side, or of the
	// other side, has a result alone.
	onlyThis, onlyOther bool
}

func (p *tableSideProc[K, VT, VO, VR]) Init(ctx topology.Context[K, dsl.Change[VR]]) error {
	p.ctx = ctx
	s, err := lookupRows[K, VO](ctx, p.otherStore)
	if err != nil {
		return err
	}
	p.other = s
	return nil
}

func (p *tableSideProc[K, VT, VO, VR]) Process(r topology.Record[K, dsl.Change[VT]]) error {
	if r.HasNullKey() {
		p.ctx.SkipRecord("null key in table-table join")
		return nil
	}
	if skipOutOfOrder(p.ctx, r.Value, "table-table join") {
		return nil
	}
	row, found, err := p.other.Get(r.Key)
	if err != nil {
		return fmt.Errorf("table-table join: read store %q: %w", p.otherStore, err)
	}
	ch := r.Value
	if !found && (!p.onlyThis || !ch.HasNew && !ch.HasOld) {
		return nil
	}
	ts := r.Timestamp
	if found && row.Timestamp.After(ts) {
		ts = row.Timestamp
	}
	var out dsl.Change[VR]
	out.New, out.HasNew = p.result(r.Key, ch.New, ch.HasNew, row.Value, found)
	out.Old, out.HasOld = p.result(r.Key, ch.Old, ch.HasOld, row.Value, found)
	return p.ctx.Forward(topology.Record[K, dsl.Change[VR]]{Key: r.Key, Value: out, Timestamp: ts, Headers: r.Headers})
}

// result joins this side's value v, if has, with the other side's row.
func (p *tableSideProc[K, VT, VO, VR]) result(k K, v VT, has bool, other VO, found bool) (VR, bool) {
	if has && (found || p.onlyThis) || !has && found && p.onlyOther {
		return p.join(k, v, has, other, found), true
	}
	var zero VR
	return zero, false
}

func (p *tableSideProc[K, VT, VO, VR]) Close() error { return nil }

// skipOutOfOrder drops an out-of-order update of a versioned table, counted
// as dropped and logged, and reports whether it did: table-table and
// foreign-key joins join current rows only, as Kafka Streams' do (KIP-914).
func skipOutOfOrder[VT any](ctx interface{ SkipRecord(string) }, ch dsl.Change[VT], op string) bool {
	if ch.OutOfOrder {
		ctx.SkipRecord("out-of-order update of a versioned table in " + op)
	}
	return ch.OutOfOrder
}
