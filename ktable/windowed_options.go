package ktable

import "github.com/strata-go/strata/internal/dsl"

// EmitOnWindowClose makes a windowed aggregation (Count, Reduce,
// AggregateWindows, AggregateSessions on a windowed stream) emit each
// window's result once, when the window closes, instead of an update for
// every record: Kafka Streams' EmitStrategy.onWindowClose (KIP-825).
//
// A time window closes when stream time reaches its (exclusive) end plus
// grace, a sliding window when stream time passes its end plus grace, a
// session when stream time passes its end plus gap plus grace.
// Closed windows are emitted as stream time advances, in order of window
// start (sessions: of end), then key; nothing is emitted while no records
// arrive. A result's timestamp is that of its window's latest record (a
// session's end, for sessions). Session results carry no tombstones for
// merged sessions: only the final sessions are emitted.
//
// Strata checks for closed windows on every record the aggregation takes
// (not on those it skips, such as records with a null key); Kafka Streams
// does at most once per emit interval of wall-clock time (an internal
// config, 1s by default), which changes only when results appear, not what
// they are.
//
// How far it has emitted is kept in a key-value store of the aggregation's
// own, named after its window or session store with "-emit-progress" and
// logged to that store's changelog ("<ApplicationID>-<store>-emit-progress-
// changelog"); Kafka Streams keeps it in the metadata of its committed
// offsets. Under exactly-once the progress commits with the results, so a
// task that moves or restarts emits each window exactly once. The store
// takes the aggregation's WithStoreOptions.
func EmitOnWindowClose() Option { return dsl.NewOption(optEmitOnClose, func(*dsl.Options) {}) }

// windowOptions takes EmitOnWindowClose out of opts, reporting whether it
// was there, and returns the other options: only windowed aggregations take
// it, so any other operation reports it as an option that does not apply.
func windowOptions(opts []Option) (emitOnClose bool, rest []Option) {
	for _, opt := range opts {
		if opt.Kind() == optEmitOnClose {
			emitOnClose = true
			continue
		}
		rest = append(rest, opt)
	}
	return emitOnClose, rest
}
