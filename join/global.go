package join

import (
	"fmt"

	"github.com/strata-go/strata/internal/dsl"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/topology"
)

// StreamGlobal joins each record of s with the row of the global table g
// whose key keyMapper derives from it, Kafka Streams' KStream.join with a
// GlobalKTable: joiner's result is forwarded with the stream record's key,
// timestamp and headers. Only stream records trigger output; updates of g do
// not. Since every instance holds all of g, s needs neither repartitioning
// nor co-partitioning with g's topic.
//
// A stream record with a null value, or whose mapped key encodes as null
// under g's key serde (a nil pointer, for instance), is dropped and counted;
// one whose mapped key has no row produces nothing. A stream record with a
// null key is joined like any other. StreamGlobal takes only [Named].
func StreamGlobal[K, V1, GK, V2, VR any](s kstream.Stream[K, V1], g ktable.GlobalTable[GK, V2], keyMapper func(key K, value V1) GK, joiner func(key K, left V1, right V2) VR, opts ...Option) kstream.Stream[K, VR] {
	if joiner == nil {
		return streamGlobal[K, V1, GK, V2, VR](s, g, keyMapper, nil, false, "join.StreamGlobal", "KSTREAM-JOIN-", opts)
	}
	return streamGlobal(s, g, keyMapper, func(k K, v1 V1, v2 *V2) VR { return joiner(k, v1, *v2) }, false, "join.StreamGlobal", "KSTREAM-JOIN-", opts)
}

// StreamGlobalLeft is [StreamGlobal] as a left join: a stream record whose
// mapped key has no row is joined with right nil. right is valid only while
// joiner runs: copy the value, not the pointer, to keep it. As in Kafka Streams, a
// stream record with a null key and a value is always joined, with right nil
// when its mapped key encodes as null; one with a non-null key whose mapped
// key encodes as null is dropped and counted.
func StreamGlobalLeft[K, V1, GK, V2, VR any](s kstream.Stream[K, V1], g ktable.GlobalTable[GK, V2], keyMapper func(key K, value V1) GK, joiner func(key K, left V1, right *V2) VR, opts ...Option) kstream.Stream[K, VR] {
	return streamGlobal(s, g, keyMapper, joiner, true, "join.StreamGlobalLeft", "KSTREAM-LEFTJOIN-", opts)
}

func streamGlobal[K, V1, GK, V2, VR any](s kstream.Stream[K, V1], g ktable.GlobalTable[GK, V2], keyMapper func(K, V1) GK, joiner func(K, V1, *V2) VR, left bool, op, prefix string, opts []Option) kstream.Stream[K, VR] {
	c := dsl.Stream[K, V1](s)
	b := c.Builder()
	gt := dsl.GlobalTable[GK, V2](g)
	o := collect(b, op, opts, optName)
	name := o.NameOr(b, prefix)
	switch {
	case gt.Builder() != b:
		b.Fail(fmt.Errorf("%s %q: the stream and the global table belong to different builders", op, name))
	case keyMapper == nil:
		b.Fail(fmt.Errorf("%s %q: nil key mapper", op, name))
	case joiner == nil:
		b.Fail(fmt.Errorf("%s %q: nil joiner", op, name))
	}
	store, topic, ks := gt.Store(), gt.Topic(), gt.KeySerde()
	topology.AddProcessor(b, name, func() topology.Processor[K, V1, K, VR] {
		return &streamGlobalProc[K, V1, GK, V2, VR]{store: store, topic: topic, keySerde: ks, mapper: keyMapper, joiner: joiner, left: left}
	}, c.Node())
	return kstream.Stream[K, VR](dsl.NewStream[K, VR](b, name, c.KeySerde(), nil, c.RepartitionRequired()))
}

// streamGlobalProc is KStreamKTableJoinProcessor over a global table.
type streamGlobalProc[K, V1, GK, V2, VR any] struct {
	ctx      topology.Context[K, VR]
	store    string
	topic    string
	keySerde serde.Serde[GK]
	rows     state.KeyValueStore[GK, state.Timestamped[V2]]
	mapper   func(K, V1) GK
	joiner   func(K, V1, *V2) VR
	left     bool
	keyBuf   []byte
	// right holds the row's value while joiner runs: passing its address
	// costs no allocation.
	right V2
}

func (p *streamGlobalProc[K, V1, GK, V2, VR]) Init(ctx topology.Context[K, VR]) error {
	p.ctx = ctx
	rows, err := state.LookupKeyValue[GK, state.Timestamped[V2]](ctx, p.store)
	p.rows = rows
	return err
}

func (p *streamGlobalProc[K, V1, GK, V2, VR]) Process(r topology.Record[K, V1]) error {
	if r.IsTombstone() {
		p.ctx.SkipRecord("null value in stream-global table join")
		return nil
	}
	gk := p.mapper(r.Key, r.Value)
	kb, err := p.keySerde.Serialize(p.keyBuf[:0], p.topic, gk)
	if err != nil {
		return fmt.Errorf("serialize mapped key: %w", err)
	}
	if kb == nil {
		// A null mapped key finds no row. Kafka Streams still joins a
		// record with a null key in a left join.
		if p.left && r.HasNullKey() {
			return p.ctx.Forward(topology.WithValue(r, p.joiner(r.Key, r.Value, nil)))
		}
		p.ctx.SkipRecord("null mapped key in stream-global table join")
		return nil
	}
	p.keyBuf = kb
	row, ok, err := p.rows.Get(gk)
	if err != nil {
		return err
	}
	if !ok {
		if !p.left {
			return nil
		}
		return p.ctx.Forward(topology.WithValue(r, p.joiner(r.Key, r.Value, nil)))
	}
	p.right = row.Value
	out := p.joiner(r.Key, r.Value, &p.right)
	var zero V2
	p.right = zero
	return p.ctx.Forward(topology.WithValue(r, out))
}

func (p *streamGlobalProc[K, V1, GK, V2, VR]) Close() error { return nil }
