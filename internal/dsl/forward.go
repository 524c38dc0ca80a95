package dsl

import (
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/topology"
)

// RowForwarder forwards a table's row updates. When the rows' store caches,
// updates are forwarded as the cache flushes them (on commit or eviction)
// and the processor does not forward them itself; otherwise the processor
// forwards every update as it makes it.
type RowForwarder[K, V any] struct {
	ctx     topology.Context[K, Change[V]]
	onFlush bool
}

// Init hooks the forwarder to rows' cache when there is one.
func (f *RowForwarder[K, V]) Init(ctx topology.Context[K, Change[V]], rows state.KeyValueStore[K, state.Timestamped[V]]) {
	f.ctx = ctx
	if c, ok := rows.(state.CachedKeyValueStore[K, state.Timestamped[V]]); ok {
		f.onFlush = c.SetFlushListener(f.flushed, true)
	}
}

func (f *RowForwarder[K, V]) flushed(ch state.Change[K, state.Timestamped[V]]) error {
	// A row's update carries the row's own timestamp, as Kafka Streams'
	// TimestampedCacheFlushListener forwards it, not the time of the
	// write that cached it.
	ts := ch.Timestamp
	if ch.HasNew {
		ts = ch.NewValue.Timestamp
	}
	return f.ctx.Forward(topology.Record[K, Change[V]]{
		Key:       ch.Key,
		Value:     Change[V]{New: ch.NewValue.Value, Old: ch.OldValue.Value, HasNew: ch.HasNew, HasOld: ch.HasOld},
		Timestamp: ts,
	})
}

// Update forwards a row update made while processing r, unless the cache
// will forward it on flush.
func (f *RowForwarder[K, V]) Update(r topology.Record[K, Change[V]]) error {
	if f.onFlush {
		return nil
	}
	return f.ctx.Forward(r)
}
