package ktable

import (
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/topology"
	"github.com/strata-go/strata/window"
)

// timeWindowStoreOptions are the options of a time-windowed aggregation's
// window store: cached by default, as the DSL's other stores, for tumbling
// and hopping windows. A sliding aggregation reads a range of its key's
// windows for every record, which a caching window store serves by flushing
// first (see state.CachedWindowStore), so its store does not cache unless
// the user's options say so.
func timeWindowStoreOptions(tw timeWindowing, o *options) []state.Option {
	if tw.isSliding {
		return o.storeOpts
	}
	return storeOptions(o)
}

// windowForwarder forwards a windowed aggregation's updates: as its window
// store's cache flushes them (on commit or eviction) when the store caches,
// else as the processor makes them. It is the windowed counterpart of
// rowForwarder.
type windowForwarder[K, VA any] struct {
	ctx     topology.Context[window.Windowed[K], Change[VA]]
	onFlush bool
}

// init hooks the forwarder to rows' cache when there is one.
func (f *windowForwarder[K, VA]) init(ctx topology.Context[window.Windowed[K], Change[VA]], rows state.WindowStore[K, state.Timestamped[VA]]) {
	f.ctx = ctx
	if c, ok := rows.(state.CachedWindowStore[K, state.Timestamped[VA]]); ok {
		f.onFlush = c.SetFlushListener(f.flushed, true)
	}
}

func (f *windowForwarder[K, VA]) flushed(ch state.Change[window.Windowed[K], state.Timestamped[VA]]) error {
	// A window's update carries the window's own timestamp (its latest
	// record's), as Kafka Streams' TimestampedCacheFlushListener
	// forwards it; it has no headers, the cache keeping none.
	ts := ch.Timestamp
	if ch.HasNew {
		ts = ch.NewValue.Timestamp
	}
	return f.ctx.Forward(topology.Record[window.Windowed[K], Change[VA]]{
		Key:       ch.Key,
		Value:     Change[VA]{New: ch.NewValue.Value, Old: ch.OldValue.Value, HasNew: ch.HasNew, HasOld: ch.HasOld},
		Timestamp: ts,
	})
}

// sessionForwarder forwards a session aggregation's updates and the
// deletions of the sessions it merges: as its session store's cache
// flushes them when the store caches, else as the processor makes them.
type sessionForwarder[K, VA any] struct {
	ctx     topology.Context[window.Windowed[K], Change[VA]]
	onFlush bool
}

// init hooks the forwarder to sessions' cache when there is one.
func (f *sessionForwarder[K, VA]) init(ctx topology.Context[window.Windowed[K], Change[VA]], sessions state.SessionStore[K, VA]) {
	f.ctx = ctx
	if c, ok := sessions.(state.CachedSessionStore[K, VA]); ok {
		f.onFlush = c.SetFlushListener(f.flushed, true)
	}
}

func (f *sessionForwarder[K, VA]) flushed(ch state.Change[window.Windowed[K], VA]) error {
	// Every update of a session, its deletion included, carries the
	// session's end as timestamp, as Kafka Streams'
	// SessionCacheFlushListener forwards it.
	return f.ctx.Forward(topology.Record[window.Windowed[K], Change[VA]]{
		Key:       ch.Key,
		Value:     Change[VA]{New: ch.NewValue, Old: ch.OldValue, HasNew: ch.HasNew, HasOld: ch.HasOld},
		Timestamp: ch.Key.Window.End,
	})
}
