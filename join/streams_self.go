package join

import (
	"math"
	"time"

	"github.com/strata-go/strata/internal/dsl"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/topology"
)

// sameValues returns the conversion of a left value to the right value
// type, which a self-join's two sides share, or false when V1 and V2
// differ. It is decided once, when the join is built: the conversion costs
// nothing per record.
func sameValues[V1, V2 any]() (func(V1) V2, bool) {
	f, ok := any(func(v V1) V1 { return v }).(func(V1) V2)
	return f, ok
}

// singleStoreSelfJoin reports whether a stream join is rewritten into one
// self-join processor over one store (topology.SingleStoreSelfJoin): an
// inner join whose two sides are the same node, as Kafka Streams'
// InternalStreamsBuilder.rewriteSingleStoreSelfJoin decides it.
func singleStoreSelfJoin(b *topology.Builder, self bool, inner bool) bool {
	return self && inner && b.Optimizations()&topology.SingleStoreSelfJoin != 0
}

// addSelfJoin builds the single-store self-join of the stream at node
// parent, as Kafka Streams' StreamStreamJoinNode does once marked as a
// self-join: the left side's windowed processor keeps the records in the
// left side's store, and the self-join processor, named as the join's merge
// node, joins each record with that store. The names of the right side's
// processors and store are drawn (n) but not used, as in Kafka Streams.
func addSelfJoin[K, V1, V2, VR any](b *topology.Builder, parent string, n joinNames, m millis, sd joinSerdes[K, V1, V2], storeOpts []state.Option, stores bool, joiner func(K, V1, V2) VR, same func(V1) V2) kstream.Stream[K, VR] {
	if stores {
		state.AddWindowStore(b, n.thisStore, sd.key, sd.left,
			time.Duration(m.storeSize())*time.Millisecond, time.Duration(m.retention())*time.Millisecond,
			joinWindowStoreOptions(storeOpts)...)
	}
	topology.AddProcessor(b, n.thisWindowed, func() topology.Processor[K, V1, K, V1] {
		return &windowProc[K, V1]{store: n.thisStore, retention: m.retention()}
	}, parent)
	topology.AddProcessor(b, n.merge, func() topology.Processor[K, V1, K, VR] {
		return &selfJoinProc[K, V1, V2, VR]{store: n.thisStore, w: m, joiner: joiner, same: same}
	}, n.thisWindowed)
	if stores {
		b.ConnectStores(n.thisWindowed, n.thisStore)
		b.ConnectStores(n.merge, n.thisStore)
	}
	return kstream.Stream[K, VR](dsl.NewStream[K, VR](b, n.merge, sd.key, nil, false))
}

// selfJoinProc joins each record of a stream with the records of the same
// stream in its window: Kafka Streams' KStreamKStreamSelfJoin. Its window
// processor (windowProc) forwards each record to it before keeping it, so
// the store holds the records before this one; the processor joins the
// record with itself explicitly, where the two-store join would find it in
// the left side's store.
//
// Its results are those of the two-store inner join, in its order: the
// record as the left side with the kept records in [t - before, t + after],
// then the kept records in [t - after, t + before] as the left side with
// the record as the right one, the record with itself among them in time
// order (after the kept records of its own time). A record no later than
// the latest time this processor has seen minus the store's retention,
// plus one millisecond, does not join itself, as in Kafka Streams.
type selfJoinProc[K, V1, V2, VR any] struct {
	ctx    topology.Context[K, VR]
	store  string
	w      millis
	joiner func(K, V1, V2) VR
	same   func(V1) V2
	latest int64 // the latest time seen, math.MinInt64 before the first
	rows   state.WindowStore[K, V1]
}

func (p *selfJoinProc[K, V1, V2, VR]) Init(ctx topology.Context[K, VR]) error {
	p.ctx = ctx
	p.latest = math.MinInt64
	s, err := state.LookupWindow[K, V1](ctx, p.store)
	p.rows = s
	return err
}

func (p *selfJoinProc[K, V1, V2, VR]) Close() error { return nil }

func (p *selfJoinProc[K, V1, V2, VR]) Process(r topology.Record[K, V1]) error {
	if r.HasNullKey() {
		p.ctx.SkipRecord("null key in stream-stream join")
		return nil
	}
	if r.IsTombstone() {
		p.ctx.SkipRecord("null value in stream-stream join")
		return nil
	}
	ts := r.Timestamp.UnixMilli()
	p.latest = max(p.latest, ts)
	// Kafka Streams: inputRecordTimestamp > streamTime - retentionPeriod + 1.
	joinSelf := ts > p.latest-p.w.retention()+1

	// The record as the left side, with the kept records as the right;
	// then the kept records as the left side, with the record as the
	// right, itself among them in time order.
	if err := p.joinKept(r, true, false); err != nil {
		return err
	}
	return p.joinKept(r, false, joinSelf)
}

// joinKept forwards r joined with each value the store keeps for r's key
// in r's window, stamped with the later of the two times, in the store's
// order: r as the left side in [t - before, t + after], else as the right
// side in [t - after, t + before]. With withSelf, it also forwards r joined
// with itself, before the first kept record later than r, or last.
func (p *selfJoinProc[K, V1, V2, VR]) joinKept(r topology.Record[K, V1], left, withSelf bool) error {
	ts := r.Timestamp.UnixMilli()
	before, after := p.w.before, p.w.after
	if !left {
		before, after = after, before
	}
	from, to := max(0, ts-before), max(0, ts+after)
	it, err := p.rows.FetchRange(r.Key, time.UnixMilli(from), time.UnixMilli(to))
	if err != nil {
		return err
	}
	for it.Next() {
		ots := it.Key()
		if withSelf && ots.After(r.Timestamp) {
			withSelf = false
			if err := p.forwardSelf(r); err != nil {
				it.Close()
				return err
			}
		}
		var v VR
		if left {
			v = p.joiner(r.Key, r.Value, p.same(it.Value()))
		} else {
			v = p.joiner(r.Key, it.Value(), p.same(r.Value))
		}
		if err := forwardPair(p.ctx, r, v, ots); err != nil {
			it.Close()
			return err
		}
	}
	if err := it.Close(); err != nil {
		return err
	}
	if withSelf {
		return p.forwardSelf(r)
	}
	return nil
}

// forwardSelf forwards r joined with itself, at r's time.
func (p *selfJoinProc[K, V1, V2, VR]) forwardSelf(r topology.Record[K, V1]) error {
	return p.ctx.Forward(topology.WithValue(r, p.joiner(r.Key, r.Value, p.same(r.Value))))
}
