package ktable

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/strata-go/strata/internal/dsl"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/topology"
)

// GroupedTable is a table regrouped by [GroupTableBy], ready to be
// re-aggregated with Count, Reduce or [AggregateTable]. Its records are row
// changes: each update of the source table retracts the row's old value
// from its old group and adds its new value to its new group, so the
// aggregations need a subtractor as well as an adder, as Kafka Streams'
// KGroupedTable does.
type GroupedTable[K, V any] struct {
	b          *topology.Builder
	node       string // the selector, forwarding K, Change[V]
	keySerde   serde.Serde[K]
	valueSerde serde.Serde[V]
	// name is the name given to GroupTableBy: it names the repartition
	// topic, which all aggregations of the grouping then share.
	name string
	// source is the repartition source once a named grouping made it.
	source string
	// topic is the repartition topic the selector encodes keys for (the
	// first one, when unnamed aggregations each made their own).
	topic string
}

// GroupTableBy regroups t by the key and value fn selects from each row, as
// Kafka Streams' KTable.groupBy. Every update of a row becomes a "subtract
// the old value" record for the group of the row's old value and an "add
// the new value" record for the group of its new value; when both fall in
// the same group, one record carries both, so that the aggregate moves in
// one step (Kafka Streams 3.5 and later, KTableRepartitionMap). A deleted
// row only subtracts, a new row only adds.
//
// The grouping always repartitions: the records go through the internal
// topic "<applicationID>-<name>-repartition", named by [Named] given here
// or else after the aggregation's store, with nodes "<name>-repartition-sink"
// and "<name>-repartition-source". Its keys are written with the key serde,
// its values in an internal encoding of the change: a flags byte (new value
// present, old value present), then each present value, new first, as a
// 4-byte big-endian length and the value serde's bytes.
//
// Groups are compared by their serialized keys, not with ==, so keys that
// encode to the same bytes are one group (Kafka Streams compares them with
// equals). As Kafka Streams skips null keys and values: a selected key its
// serde encodes as null (a nil pointer, for instance) is skipped, and an
// update whose selected keys are all null is counted and logged as dropped;
// a selected value the value serde encodes as null is neither added nor
// subtracted. Input records with a null key are dropped, counted and
// logged.
//
// Options: [Named] (the selector node and the repartition topic),
// [WithKeySerde] and [WithValueSerde] for the repartition topic. Without
// them, the table's serdes are used when K2 and V2 are its key and value
// types, else the builder's (topology.RegisterSerde, else serde.Default).
func GroupTableBy[K, V, K2, V2 any](t Table[K, V], fn func(key K, value V) (K2, V2), opts ...Option) *GroupedTable[K2, V2] {
	b := t.builder()
	o := collect(b, "GroupTableBy", opts, optName|optSerdes)
	if fn == nil {
		b.Fail(fmt.Errorf("GroupTableBy: nil selector"))
	}
	tks, _ := any(t.keySerde()).(serde.Serde[K2])
	tvs, _ := any(t.valueSerde()).(serde.Serde[V2])
	ks := dsl.SerdeOr(b, "GroupTableBy", "key", o.keySerde, tks)
	vs := dsl.SerdeOr(b, "GroupTableBy", "value", o.valueSerde, tvs)
	name := o.nameOr(b, "KTABLE-SELECT-")
	g := &GroupedTable[K2, V2]{b: b, node: name, keySerde: ks, valueSerde: vs, name: o.name}
	topology.AddProcessor(b, name, func() topology.Processor[K, Change[V], K2, Change[V2]] {
		return &tableSelectProc[K, V, K2, V2]{fn: fn, keySerde: ks, topic: g.topic}
	}, t.node())
	return g
}

// input returns the repartition source the aggregation with store
// storeName reads, adding the repartition topic when needed: one per
// aggregation, named after its store, or one for the grouping when it is
// named.
func (g *GroupedTable[K, V]) input(storeName string) string {
	if g.source != "" {
		return g.source
	}
	prefix := storeName
	if g.name != "" {
		prefix = g.name
	}
	topic := prefix + "-repartition"
	if g.topic == "" {
		g.topic = topic
	}
	vs := changeSerde[V]{inner: g.valueSerde}
	topology.AddInternalSink(g.b, prefix+"-repartition-sink", topology.Sink[K, Change[V]]{Topic: topic, KeySerde: g.keySerde, ValueSerde: vs}, 0, g.node)
	src := prefix + "-repartition-source"
	topology.AddInternalSource(g.b, src, topology.Source[K, Change[V]]{Topics: []string{topic}, KeySerde: g.keySerde, ValueSerde: vs})
	if g.name != "" {
		g.source = src
	}
	return src
}

// Count counts the rows of each group: adding a row counts one more,
// retracting one counts one less. A group whose rows all left keeps its
// count of 0, as in Kafka Streams. Options: [Named] (the store, and the
// repartition topic unless GroupTableBy was named), [WithStoreOptions].
func (g *GroupedTable[K, V]) Count(opts ...Option) Table[K, int64] {
	return tableAggregate(g, "GroupedTable.Count", "KTABLE-AGGREGATE-",
		func(K, V) int64 { return 1 },
		func(_ K, _ V, n int64) int64 { return n + 1 },
		func(_ K, _ V, n int64) int64 { return n - 1 },
		serde.Int64(), opts)
}

// Reduce combines the values of each group with adder, and retracts a
// value that leaves the group with subtractor; the first value of a group
// stands as it is. With a sum, for instance, the adder adds and the
// subtractor subtracts. The aggregate is written with the grouping's value
// serde. Options: [Named] (the store, and the repartition topic unless
// GroupTableBy was named), [WithStoreOptions], [WithValueSerde].
func (g *GroupedTable[K, V]) Reduce(adder, subtractor func(agg, value V) V, opts ...Option) Table[K, V] {
	if adder == nil || subtractor == nil {
		g.b.Fail(fmt.Errorf("GroupedTable.Reduce: nil adder or subtractor"))
	}
	return tableAggregate(g, "GroupedTable.Reduce", "KTABLE-REDUCE-",
		func(_ K, v V) V { return v },
		func(_ K, v V, agg V) V { return adder(agg, v) },
		func(_ K, v V, agg V) V { return subtractor(agg, v) },
		g.valueSerde, opts)
}

// AggregateTable folds the rows of each group of g into an aggregate of
// type VA: a group starts from init(), adder folds in a row's value that
// joins the group, subtractor takes out one that leaves it. An update that
// stays in its group subtracts the old value first, then adds the new one,
// as Kafka Streams' KTableAggregate. The aggregate's serde comes from
// [WithValueSerde], or serde.Default for VA. Options: [Named] (the store,
// and the repartition topic unless GroupTableBy was named),
// [WithStoreOptions], [WithValueSerde].
func AggregateTable[K, V, VA any](g *GroupedTable[K, V], init func() VA, adder, subtractor func(key K, value V, agg VA) VA, opts ...Option) Table[K, VA] {
	if init == nil || adder == nil || subtractor == nil {
		g.b.Fail(fmt.Errorf("AggregateTable: nil initializer, adder or subtractor"))
	}
	return tableAggregate(g, "AggregateTable", "KTABLE-AGGREGATE-",
		func(k K, v V) VA { return adder(k, v, init()) }, adder, subtractor, nil, opts)
}

// tableAggregate adds the repartition topic, store and processor of a
// table aggregation: start makes the aggregate of a group from the first
// value to join it, add and sub fold values in and out.
func tableAggregate[K, V, VA any](g *GroupedTable[K, V], op, procPrefix string, start func(K, V) VA, add, sub func(K, V, VA) VA, aggSerde serde.Serde[VA], opts []Option) Table[K, VA] {
	b := g.b
	o := collect(b, op, opts, optName|optStore|optSerdes)
	if o.keySerde != nil {
		b.Fail(fmt.Errorf("%s: WithKeySerde does not apply: the key serde is the grouping's (pass it to GroupTableBy)", op))
	}
	storeName := o.name
	if storeName == "" {
		// Kafka Streams names the stores of reductions this way too.
		storeName = b.NewName("KTABLE-AGGREGATE-STATE-STORE-")
	}
	vs := dsl.SerdeOr(b, op, "aggregate", o.valueSerde, aggSerde)
	in := g.input(storeName)
	procName := b.NewName(procPrefix)
	state.AddKeyValueStore(b, storeName, g.keySerde, state.TimestampedSerde(vs), storeOptions(o)...)
	topology.AddProcessor(b, procName, func() topology.Processor[K, Change[V], K, Change[VA]] {
		return &tableAggregateProc[K, V, VA]{store: storeName, start: start, add: add, sub: sub}
	}, in)
	b.ConnectStores(procName, storeName)
	return newTable(b, procName, g.keySerde, vs, storeName)
}

// tableSelectProc maps each row change to the changes of the groups it
// leaves and joins.
type tableSelectProc[K, V, K2, V2 any] struct {
	base[K2, Change[V2]]
	fn       func(K, V) (K2, V2)
	keySerde serde.Serde[K2]
	topic    string // for the key serde, as the repartition sink's
	oldBuf   []byte
	newBuf   []byte
}

func (p *tableSelectProc[K, V, K2, V2]) Init(ctx topology.Context[K2, Change[V2]]) error {
	p.ctx = ctx
	if p.topic != "" {
		p.topic = ctx.ApplicationID() + "-" + p.topic
	}
	return nil
}

// selectGroup applies fn to one side of a change and encodes the key,
// reporting false when the key is null.
func (p *tableSelectProc[K, V, K2, V2]) selectGroup(key K, v V, buf *[]byte) (K2, V2, []byte, bool, error) {
	k2, v2 := p.fn(key, v)
	kb, err := p.keySerde.Serialize((*buf)[:0], p.topic, k2)
	if err != nil {
		return k2, v2, nil, false, fmt.Errorf("serialize group key: %w", err)
	}
	if kb == nil {
		return k2, v2, nil, false, nil
	}
	*buf = kb
	return k2, v2, kb, true, nil
}

func (p *tableSelectProc[K, V, K2, V2]) Process(r topology.Record[K, Change[V]]) error {
	if r.HasNullKey() {
		p.ctx.SkipRecord("null key in table grouping")
		return nil
	}
	if outOfOrder(p.ctx, r, "GroupTableBy") {
		return nil
	}
	ch := r.Value
	var (
		newKey, oldKey     K2
		newVal, oldVal     V2
		newBytes, oldBytes []byte
		hasNew, hasOld     bool
		err                error
	)
	if ch.HasNew {
		if newKey, newVal, newBytes, hasNew, err = p.selectGroup(r.Key, ch.New, &p.newBuf); err != nil {
			return err
		}
	}
	if ch.HasOld {
		if oldKey, oldVal, oldBytes, hasOld, err = p.selectGroup(r.Key, ch.Old, &p.oldBuf); err != nil {
			return err
		}
	}
	if hasNew && hasOld && bytes.Equal(newBytes, oldBytes) {
		return p.ctx.Forward(topology.WithKeyValue(r, newKey, Change[V2]{New: newVal, Old: oldVal, HasNew: true, HasOld: true}))
	}
	// The retraction goes first, as in Kafka Streams.
	if hasOld {
		if err := p.ctx.Forward(topology.WithKeyValue(r, oldKey, Change[V2]{Old: oldVal, HasOld: true})); err != nil {
			return err
		}
	}
	if hasNew {
		if err := p.ctx.Forward(topology.WithKeyValue(r, newKey, Change[V2]{New: newVal, HasNew: true})); err != nil {
			return err
		}
	}
	if !hasNew && !hasOld && (ch.HasNew || ch.HasOld) {
		p.ctx.SkipRecord("table grouping selected a null key")
	}
	return nil
}

// tableAggregateProc applies group changes to the groups' aggregates:
// subtract the old value, then add the new one, as Kafka Streams'
// KTableAggregate and KTableReduce. The aggregate's timestamp is the
// largest of the record's and the aggregate's before.
type tableAggregateProc[K, V, VA any] struct {
	base[K, Change[VA]]
	store string
	start func(K, V) VA
	add   func(K, V, VA) VA
	sub   func(K, V, VA) VA
	rows  state.KeyValueStore[K, state.Timestamped[VA]]
	out   rowForwarder[K, VA]
}

func (p *tableAggregateProc[K, V, VA]) Init(ctx topology.Context[K, Change[VA]]) error {
	p.ctx = ctx
	s, err := state.LookupKeyValue[K, state.Timestamped[VA]](ctx, p.store)
	if err != nil {
		return err
	}
	p.rows = s
	p.out.Init(ctx, s)
	return nil
}

func (p *tableAggregateProc[K, V, VA]) Process(r topology.Record[K, Change[V]]) error {
	if r.HasNullKey() {
		p.ctx.SkipRecord("null key in table aggregation")
		return nil
	}
	ch := r.Value
	if !ch.HasNew && !ch.HasOld {
		return nil // both sides were null: nothing to apply
	}
	old, hadOld, err := p.rows.Get(r.Key)
	if err != nil {
		return err
	}
	agg, has := old.Value, hadOld
	ts := r.Timestamp
	if hadOld && old.Timestamp.After(ts) {
		ts = old.Timestamp
	}
	if ch.HasOld && has {
		agg = p.sub(r.Key, ch.Old, agg)
	}
	if ch.HasNew {
		if has {
			agg = p.add(r.Key, ch.New, agg)
		} else {
			agg = p.start(r.Key, ch.New)
		}
		has = true
	}
	if !has {
		// A retraction from a group without an aggregate: nothing to
		// retract from. (Kafka Streams forwards a delete of the absent
		// row here; Strata, like its cached stores, does not.)
		return nil
	}
	if err := p.rows.Put(r.Key, state.Timestamped[VA]{Value: agg, Timestamp: ts}); err != nil {
		return err
	}
	out := topology.WithValue(r, Change[VA]{New: agg, Old: old.Value, HasNew: true, HasOld: hadOld})
	out.Timestamp = ts
	return p.out.Update(out)
}

// changeSerde encodes a Change for the repartition topic of a table
// grouping: one flags byte (1: a new value follows, 2: an old value
// follows), then the new value and then the old one, each present one as
// its length in 4 big-endian bytes followed by its encoding by the inner
// serde. A value the inner serde encodes as null is left out, its flag
// cleared, so that it reads back as absent, as Kafka Streams treats null
// values.
type changeSerde[V any] struct{ inner serde.Serde[V] }

const (
	changeHasNew byte = 1 << iota
	changeHasOld
)

func (s changeSerde[V]) Serialize(dst []byte, topic string, ch Change[V]) ([]byte, error) {
	start := len(dst)
	dst = append(dst, 0)
	var flags byte
	var ok bool
	var err error
	if ch.HasNew {
		if dst, ok, err = appendSized(dst, topic, s.inner, ch.New); err != nil {
			return nil, fmt.Errorf("new value: %w", err)
		}
		if ok {
			flags |= changeHasNew
		}
	}
	if ch.HasOld {
		if dst, ok, err = appendSized(dst, topic, s.inner, ch.Old); err != nil {
			return nil, fmt.Errorf("old value: %w", err)
		}
		if ok {
			flags |= changeHasOld
		}
	}
	dst[start] = flags
	return dst, nil
}

func (s changeSerde[V]) Deserialize(topic string, data []byte) (Change[V], error) {
	var ch Change[V]
	if len(data) < 1 {
		return ch, fmt.Errorf("%w: a table change needs at least 1 byte, got %d", serde.ErrInvalidLength, len(data))
	}
	flags, rest := data[0], data[1:]
	if flags&^(changeHasNew|changeHasOld) != 0 {
		return ch, fmt.Errorf("ktable: table change: unknown flags %#x", flags)
	}
	var err error
	if flags&changeHasNew != 0 {
		if ch.New, rest, err = readSized(topic, s.inner, rest); err != nil {
			return ch, fmt.Errorf("new value: %w", err)
		}
		ch.HasNew = true
	}
	if flags&changeHasOld != 0 {
		if ch.Old, rest, err = readSized(topic, s.inner, rest); err != nil {
			return ch, fmt.Errorf("old value: %w", err)
		}
		ch.HasOld = true
	}
	if len(rest) != 0 {
		return ch, fmt.Errorf("%w: table change has %d bytes after its values", serde.ErrInvalidLength, len(rest))
	}
	return ch, nil
}

// appendSized appends v's encoding preceded by its length in 4 big-endian
// bytes. ok is false, and dst unchanged, when s encodes v as null.
func appendSized[V any](dst []byte, topic string, s serde.Serde[V], v V) (out []byte, ok bool, err error) {
	at := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	out, err = s.Serialize(dst, topic, v)
	if err != nil {
		return dst[:at], false, err
	}
	if out == nil {
		return dst[:at], false, nil
	}
	n := len(out) - at - 4
	if n < 0 || uint64(n) > 0xFFFFFFFF {
		return dst[:at], false, fmt.Errorf("serde did not append to its buffer, or wrote %d bytes", n)
	}
	binary.BigEndian.PutUint32(out[at:], uint32(n))
	return out, true, nil
}

// readSized decodes a value written by appendSized and returns the bytes
// after it.
func readSized[V any](topic string, s serde.Serde[V], data []byte) (V, []byte, error) {
	var zero V
	if len(data) < 4 {
		return zero, nil, fmt.Errorf("%w: value length needs 4 bytes, got %d", serde.ErrInvalidLength, len(data))
	}
	n := uint64(binary.BigEndian.Uint32(data))
	if uint64(len(data)-4) < n {
		return zero, nil, fmt.Errorf("%w: value of %d bytes, %d left", serde.ErrInvalidLength, n, len(data)-4)
	}
	end := 4 + int(n)
	v, err := s.Deserialize(topic, data[4:end:end])
	if err != nil {
		return zero, nil, err
	}
	return v, data[end:], nil
}
