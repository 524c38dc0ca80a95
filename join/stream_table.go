package join

import (
	"fmt"

	"github.com/strata-go/strata/internal/dsl"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/topology"
)

// StreamTable joins each record of s with the row of t that has its key,
// Kafka Streams' KStream#join(KTable): only stream records trigger output.
// They meet the table's current row, or, when t is versioned
// (ktable.Versioned), the row as of the record's timestamp (KIP-914). A
// record whose key has no row produces nothing; the result keeps the stream
// record's key, timestamp and headers.
//
// With [WithGracePeriod] (a versioned table only), stream records are held
// back in a store, "<name>-Buffer" with its changelog, until stream time
// has passed their timestamp by the grace period, then joined in timestamp
// order, as Kafka Streams does (KIP-923): a table update up to the grace
// period late still meets the stream records after it. A record already
// older than stream time minus the grace period is joined at once.
//
// Records with a null value, or a null key, cannot be joined: they are
// dropped, counted and logged. If the stream's key may have changed since it
// was read, the stream goes through a repartition topic first,
// "<applicationID>-<name>-repartition" (<name> is the Named name, else the
// stream's node, as in Kafka Streams). The stream's and the table's source
// topics must have the same number of partitions, which the application
// checks when it starts. A table without a store is materialized for the
// join (docs/deviations.md).
//
// Options: [Named] (the join processor), [WithKeySerde] and
// [WithValueSerdes] (the repartition topic, a materialized table, the
// grace buffer), [WithStoreOptions] (a materialized table's store and the
// buffer), [WithResultSerde] (the result stream's value serde),
// [WithGracePeriod].
func StreamTable[K, V1, V2, VR any](s kstream.Stream[K, V1], t ktable.Table[K, V2], joiner func(key K, left V1, right V2) VR, opts ...Option) kstream.Stream[K, VR] {
	return streamTable(s, t, "join.StreamTable", joiner, nil, opts)
}

// StreamTableLeft is [StreamTable] as a left join, KStream#leftJoin(KTable):
// every stream record produces a result, the joiner getting a nil right
// value when the table has no row for the key. As in Kafka Streams since
// 3.7 (KIP-962), a record with a null key and a value is joined with no row
// rather than dropped, when the stream is not repartitioned (a repartition
// drops null keys); records with a null value are dropped.
func StreamTableLeft[K, V1, V2, VR any](s kstream.Stream[K, V1], t ktable.Table[K, V2], joiner func(key K, left V1, right *V2) VR, opts ...Option) kstream.Stream[K, VR] {
	return streamTable(s, t, "join.StreamTableLeft", nil, joiner, opts)
}

func streamTable[K, V1, V2, VR any](s kstream.Stream[K, V1], t ktable.Table[K, V2], op string, inner func(K, V1, V2) VR, left func(K, V1, *V2) VR, opts []Option) kstream.Stream[K, VR] {
	c, tc := dsl.Stream[K, V1](s), dsl.Table[K, V2](t)
	b := c.Builder()
	if b == nil || tc.Builder() == nil {
		panic(op + ": a zero Stream or Table; they come from From and from operations on others")
	}
	if b != tc.Builder() {
		b.Fail(fmt.Errorf("%s: the stream and the table belong to different builders", op))
	}
	o := collect(b, op, opts, optName|optStore|optSerdes|optResultSerde|optGrace)
	name := o.NameOr(b, "KSTREAM-JOIN-")
	if inner == nil && left == nil {
		b.Fail(fmt.Errorf("%s %q: nil joiner", op, name))
	}
	if c.RepartitionRequired() {
		// Named after the join, else after the stream's node, as
		// Kafka Streams names it.
		prefix := c.Node()
		if o.Name != "" {
			prefix = o.Name
		}
		ks := dsl.SerdeOr(b, op, "key", o.KeySerde, c.KeySerde())
		vs := dsl.SerdeOr(b, op, "left value", o.LeftSerde, c.ValueSerde())
		c = dsl.RepartitionForState(c, dsl.Repartitioning[K, V1]{
			Prefix: prefix, KeySerde: ks, ValueSerde: vs,
			DropReason: "null key: the record cannot be repartitioned",
		}, "")
	}
	r := rowsOf(b, op, name, "right", tc, o.KeySerde, o.RightSerde, o)
	buf := graceBufferFor(b, op, name, c, tc, o)
	topology.AddProcessor(b, name, func() topology.Processor[K, V1, K, VR] {
		p := &streamTableProc[K, V1, V2, VR]{store: r.store, versioned: r.versioned, inner: inner, left: left}
		if buf != nil {
			p.buf = buf.instance()
		}
		return p
	}, c.Node())
	if r.store != "" {
		b.ConnectStores(name, r.store)
	}
	if buf != nil {
		b.ConnectStores(name, buf.store)
	}
	b.Copartition(name, r.node)
	vr := dsl.KnownSerde[VR](b, op, "result", o.ResultSerde, nil)
	return kstream.Stream[K, VR](dsl.NewStream(b, name, c.KeySerde(), vr, false))
}

// streamTableProc looks each stream record's key up in the table's store,
// as of the record's timestamp when the table is versioned, after holding
// the record back for the grace period when there is one.
type streamTableProc[K, V1, V2, VR any] struct {
	ctx       topology.Context[K, VR]
	store     string
	versioned bool
	rows      state.KeyValueStore[K, state.Timestamped[V2]]
	versions  state.VersionedKeyValueStore[K, V2] // rows, when versioned
	inner     func(K, V1, V2) VR                  // set for the inner join
	left      func(K, V1, *V2) VR                 // set for the left join
	buf       *graceBuffer[K, V1]                 // nil without a grace period
}

func (p *streamTableProc[K, V1, V2, VR]) Init(ctx topology.Context[K, VR]) error {
	p.ctx = ctx
	if p.versioned {
		s, err := state.LookupVersioned[K, V2](ctx, p.store)
		p.versions, p.rows = s, s
		if err != nil {
			return err
		}
	} else {
		s, err := lookupRows[K, V2](ctx, p.store)
		if err != nil {
			return err
		}
		p.rows = s
	}
	if p.buf != nil {
		return p.buf.init(ctx)
	}
	return nil
}

func (p *streamTableProc[K, V1, V2, VR]) Process(r topology.Record[K, V1]) error {
	if r.IsTombstone() {
		p.ctx.SkipRecord("null value in stream-table join")
		return nil
	}
	if r.HasNullKey() {
		if p.left == nil {
			p.ctx.SkipRecord("null key in stream-table join")
			return nil
		}
		return p.ctx.Forward(topology.WithValue(r, p.left(r.Key, r.Value, nil)))
	}
	if p.buf == nil {
		return p.join(r)
	}
	ts := r.Timestamp.UnixMilli()
	st := ts
	if t := p.ctx.StreamTime(); !t.IsZero() {
		st = max(st, t.UnixMilli())
	}
	closed := st - p.buf.grace
	if ts < closed {
		// Too late to wait for the table: joined at once, as Kafka
		// Streams does with a record its buffer refuses.
		return p.join(r)
	}
	if err := p.buf.add(r); err != nil {
		return err
	}
	return p.buf.evict(closed, p.join)
}

// join joins r with the table's row, as of r's time when the table is
// versioned, and forwards the result.
func (p *streamTableProc[K, V1, V2, VR]) join(r topology.Record[K, V1]) error {
	var right V2
	var ok bool
	var err error
	if p.versions != nil {
		var v state.VersionedRecord[V2]
		v, ok, err = p.versions.GetAsOf(r.Key, r.Timestamp)
		right = v.Value
	} else {
		var row state.Timestamped[V2]
		row, ok, err = p.rows.Get(r.Key)
		right = row.Value
	}
	if err != nil {
		return fmt.Errorf("stream-table join: read store %q: %w", p.store, err)
	}
	switch {
	case p.inner != nil && ok:
		return p.ctx.Forward(topology.WithValue(r, p.inner(r.Key, r.Value, right)))
	case p.left != nil && ok:
		// A copy escapes to the joiner, so that right does not
		// escape, and the inner join does not allocate it.
		rc := right
		return p.ctx.Forward(topology.WithValue(r, p.left(r.Key, r.Value, &rc)))
	case p.left != nil:
		return p.ctx.Forward(topology.WithValue(r, p.left(r.Key, r.Value, nil)))
	}
	return nil
}

func (p *streamTableProc[K, V1, V2, VR]) Close() error { return nil }
