package ktable

import (
	"fmt"
	"time"

	"github.com/strata-go/strata/topology"
	"github.com/strata-go/strata/window"
)

// TimeWindowedCogroupedStream is a cogroup split into tumbling, hopping or
// sliding windows, ready to be aggregated per key and window: Kafka
// Streams' TimeWindowedCogroupedKStream and
// SlidingWindowedCogroupedKStream. Make one with
// [CogroupedStream.WindowedBy] or [CogroupedStream.SlidingWindowedBy].
type TimeWindowedCogroupedStream[K, VA any] struct {
	cg *CogroupedStream[K, VA]
	tw timeWindowing
}

// WindowedBy splits cg into the tumbling or hopping windows w. Invalid
// windows (see window.TimeWindows.Validate) fail Builder.Build.
func (cg *CogroupedStream[K, VA]) WindowedBy(w window.TimeWindows) *TimeWindowedCogroupedStream[K, VA] {
	return &TimeWindowedCogroupedStream[K, VA]{cg: cg, tw: tumblingOrHopping(cg.b, "CogroupedStream.WindowedBy", w)}
}

// SlidingWindowedBy splits cg into the sliding windows w. Invalid windows
// (see window.SlidingWindows.Validate) fail Builder.Build.
func (cg *CogroupedStream[K, VA]) SlidingWindowedBy(w window.SlidingWindows) *TimeWindowedCogroupedStream[K, VA] {
	return &TimeWindowedCogroupedStream[K, VA]{cg: cg, tw: slidingWindows(cg.b, "CogroupedStream.SlidingWindowedBy", w)}
}

// Aggregate folds the records of every grouped stream of the cogroup into
// one aggregate per key and window, each window starting from init(), each
// stream's records with its own aggregator: Kafka Streams'
// TimeWindowedCogroupedKStream.aggregate. Windows, the window store, late
// records and the result's keys are those of [TimeWindowedStream]'s
// aggregations; every record forwards the updates of the windows it
// changes (Kafka Streams' cogroups have no emit-on-close either).
//
// Options: [Named] (the store, processors and merge node; see
// [CogroupedStream]), [WithStoreOptions], [WithKeySerde], [WithValueSerde].
func (ws *TimeWindowedCogroupedStream[K, VA]) Aggregate(init func() VA, opts ...Option) Table[window.Windowed[K], VA] {
	op := "TimeWindowedCogroupedStream.Aggregate"
	a := &cogroupAggregation[K, VA]{init: init, kind: cogroupTime, tw: ws.tw}
	r := ws.cg.aggregate(op, a, opts)
	return windowedMerge(ws.cg.b, r, ws.tw.grace())
}

// SessionWindowedCogroupedStream is a cogroup split into session windows,
// ready to be aggregated per key and session: Kafka Streams'
// SessionWindowedCogroupedKStream. Make one with
// [CogroupedStream.SessionWindowedBy].
type SessionWindowedCogroupedStream[K, VA any] struct {
	cg    *CogroupedStream[K, VA]
	w     window.SessionWindows
	valid bool
}

// SessionWindowedBy splits cg into the session windows w. Invalid windows
// (see window.SessionWindows.Validate) fail Builder.Build.
func (cg *CogroupedStream[K, VA]) SessionWindowedBy(w window.SessionWindows) *SessionWindowedCogroupedStream[K, VA] {
	err := w.Validate()
	if err != nil {
		cg.b.Fail(fmt.Errorf("CogroupedStream.SessionWindowedBy: %w", err))
	}
	return &SessionWindowedCogroupedStream[K, VA]{cg: cg, w: w, valid: err == nil}
}

// Aggregate folds the records of every grouped stream of the cogroup into
// one aggregate per key and session, each stream's records with its own
// aggregator: Kafka Streams' SessionWindowedCogroupedKStream.aggregate. A
// record's session starts from init(); the sessions it joins are folded
// into that one with merge, then the record with its stream's aggregator,
// as [AggregateSessions] does. Sessions, the session store, late records
// and the result's keys are those of [SessionWindowedStream]'s
// aggregations; every record forwards its updates (no emit-on-close).
//
// Options: [Named] (the store, processors and merge node; see
// [CogroupedStream]), [WithStoreOptions], [WithKeySerde], [WithValueSerde].
func (ss *SessionWindowedCogroupedStream[K, VA]) Aggregate(init func() VA, merge func(key K, a, b VA) VA, opts ...Option) Table[window.Windowed[K], VA] {
	op := "SessionWindowedCogroupedStream.Aggregate"
	if merge == nil {
		ss.cg.b.Fail(fmt.Errorf("%s: nil session merger", op))
	}
	a := &cogroupAggregation[K, VA]{init: init, kind: cogroupSession, sw: ss.w, valid: ss.valid, merge: merge}
	r := ss.cg.aggregate(op, a, opts)
	return windowedMerge(ss.cg.b, r, sessionClose(ss.w))
}

// windowedMerge adds the merge node of a windowed cogroup aggregation and
// returns its table, whose windows close closeAfter after their end.
func windowedMerge[K, VA any](b *topology.Builder, r cogroupNodes[K, VA], closeAfter time.Duration) Table[window.Windowed[K], VA] {
	topology.AddProcessor(b, r.merge, func() topology.Processor[window.Windowed[K], Change[VA], window.Windowed[K], Change[VA]] {
		return &passProc[window.Windowed[K], Change[VA]]{}
	}, r.procs...)
	return closingAfter(newTable(b, r.merge, r.windowedKeys, r.valueSerde, ""), closeAfter)
}
