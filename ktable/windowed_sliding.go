package ktable

import (
	"fmt"
	"time"

	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/topology"
	"github.com/strata-go/strata/window"
)

// slidingAggProc aggregates records into sliding windows, as Kafka Streams'
// KStreamSlidingWindowAggregate (KIP-450) with a store that iterates
// backward: each record updates the existing windows it falls in, creates
// its left window [t-d, t] and, when later records exist, its right window
// [t+1, t+1+d], and creates the right window of the record before it if the
// new record falls in that window. Records before d after the epoch share
// the window [0, d]. Windows are inclusive of both ends.
type slidingAggProc[K, V, VA any] struct {
	ctx         topology.Context[window.Windowed[K], Change[VA]]
	store       string
	diff        int64 // time difference, ms
	grace       int64 // ms
	start       func(K, V) VA
	add         func(K, V, VA) VA
	emitOnClose bool
	rows        state.WindowStore[K, state.Timestamped[VA]]
	closed      closedWindows[K, VA]

	// found holds the windows of the record's key read from the store,
	// reused between records.
	found []slidingWindow[VA]
}

// slidingWindow is a window read from the store: its start and aggregate.
type slidingWindow[VA any] struct {
	start int64
	agg   state.Timestamped[VA]
}

func (p *slidingAggProc[K, V, VA]) Init(ctx topology.Context[window.Windowed[K], Change[VA]]) error {
	p.ctx = ctx
	s, err := state.LookupWindow[K, state.Timestamped[VA]](ctx, p.store)
	if err != nil {
		return err
	}
	p.rows = s
	if p.emitOnClose {
		return p.closed.progress.load(ctx, p.store)
	}
	return nil
}

func (p *slidingAggProc[K, V, VA]) Close() error { return nil }

func (p *slidingAggProc[K, V, VA]) Process(r topology.Record[K, V]) error {
	if skipNulls(p.ctx, r) {
		return nil
	}
	ts := r.Timestamp.UnixMilli()
	closeTime := windowStreamTime(p.ctx.StreamTime(), ts) - p.grace
	if p.emitOnClose {
		// A sliding window [s, s+d] has closed once s+d < closeTime.
		// Emitting before the record is applied gives Kafka Streams'
		// results (see windowAggProc.Process); Kafka Streams does not
		// emit for records it drops or for records before d, but those
		// never move the close time past a window.
		if err := p.closed.emit(p.ctx, p.rows, r.Headers, closeTime-p.diff-1); err != nil {
			return err
		}
	}
	if ts+p.diff < closeTime {
		p.ctx.SkipRecord("record for expired window")
		return nil
	}
	if ts < p.diff {
		return p.processEarly(r, ts, closeTime)
	}
	return p.process(r, ts, closeTime)
}

// fetch reads the windows of key whose start is in [from, to], in order of
// start, or in reverse order.
func (p *slidingAggProc[K, V, VA]) fetch(key K, from, to int64, backward bool) error {
	p.found = p.found[:0]
	var it state.Iterator[time.Time, state.Timestamped[VA]]
	var err error
	if backward {
		it, err = p.rows.BackwardFetchRange(key, time.UnixMilli(from), time.UnixMilli(to))
	} else {
		it, err = p.rows.FetchRange(key, time.UnixMilli(from), time.UnixMilli(to))
	}
	if err != nil {
		return err
	}
	for it.Next() {
		p.found = append(p.found, slidingWindow[VA]{start: it.Key().UnixMilli(), agg: it.Value()})
	}
	return it.Close()
}

// process handles a record at ts >= d: KStreamSlidingWindowAggregate's
// processReverse.
func (p *slidingAggProc[K, V, VA]) process(r topology.Record[K, V], ts, closeTime int64) error {
	// The windows that may hold records within d of ts, and the record's
	// right window, ts+1, if it exists.
	if err := p.fetch(r.Key, max(0, ts-2*p.diff), ts+1, true); err != nil {
		return err
	}
	seen := 0 // windows looked at: p.found[:seen]
	var leftAgg, rightAgg *state.Timestamped[VA]
	leftCreated, rightCreated := false, false
	prevTs, hasPrev := int64(0), false
loop:
	for i := range p.found {
		w := &p.found[i]
		seen++
		end := w.start + p.diff
		maxTs := w.agg.Timestamp.UnixMilli()
		switch {
		case w.start == ts+1:
			rightCreated = true
		case end > ts:
			if rightAgg == nil {
				rightAgg = &w.agg
			}
			if err := p.update(r, ts, w.start, w.agg, true, true, closeTime); err != nil {
				return err
			}
		case end == ts:
			leftCreated = true
			if err := p.update(r, ts, w.start, w.agg, true, true, closeTime); err != nil {
				return err
			}
			if maxTs >= ts {
				// A record at ts exists already: its windows do too.
				return nil
			}
			prevTs, hasPrev = maxTs, true
		default: // end < ts
			leftAgg = &w.agg
			prevTs, hasPrev = maxTs, true
			break loop
		}
	}
	// The right window of the previous record, if the new one falls in it.
	if hasPrev {
		prevRight := prevTs + 1
		if !hasStart(p.found[:seen], prevRight) && prevRight+p.diff >= ts {
			if err := p.update(r, ts, prevRight, state.Timestamped[VA]{}, false, false, closeTime); err != nil {
				return err
			}
		}
	}
	// The record's left window, holding the records within d before it.
	if !leftCreated {
		var base state.Timestamped[VA]
		hasBase := hasPrev && ts-p.diff <= prevTs && leftAgg != nil
		if hasBase {
			base = state.Timestamped[VA]{Value: leftAgg.Value, Timestamp: time.UnixMilli(ts)}
		}
		if err := p.update(r, ts, ts-p.diff, base, hasBase, false, closeTime); err != nil {
			return err
		}
	}
	// The record's right window, holding the records within d after it.
	if !rightCreated && rightAgg != nil && rightAgg.Timestamp.UnixMilli() > ts {
		return p.createRight(r, ts, *rightAgg)
	}
	return nil
}

// processEarly handles a record at ts < d, whose left window would start
// before the epoch: it goes in the window [0, d] instead, which holds every
// record before d. KStreamSlidingWindowAggregate's processEarly.
func (p *slidingAggProc[K, V, VA]) processEarly(r topology.Record[K, V], ts, closeTime int64) error {
	if err := p.fetch(r.Key, 0, ts+1, false); err != nil {
		return err
	}
	var combined, rightAgg *state.Timestamped[VA]
	rightCreated := false
	prevTs, hasPrev := int64(0), false
	for i := range p.found {
		w := &p.found[i]
		maxTs := w.agg.Timestamp.UnixMilli()
		switch {
		case w.start == 0:
			combined = &w.agg
			if maxTs < ts {
				prevTs, hasPrev = maxTs, true
			}
		case w.start <= ts:
			rightAgg = &w.agg
			if err := p.update(r, ts, w.start, w.agg, true, true, closeTime); err != nil {
				return err
			}
		case w.start == ts+1:
			rightCreated = true
		default:
			return fmt.Errorf("sliding window aggregation: unexpected window starting at %d for a record at %d", w.start, ts)
		}
	}
	// Without a window starting after 0, the combined window holds only
	// records after ts, if any: they make the record's right window.
	if rightAgg == nil && combined != nil && combined.Timestamp.UnixMilli() > ts {
		rightAgg = combined
	}
	if !rightCreated && rightAgg != nil && rightAgg.Timestamp.UnixMilli() > ts {
		if err := p.createRight(r, ts, *rightAgg); err != nil {
			return err
		}
	}
	if hasPrev && !hasStart(p.found, prevTs+1) {
		if err := p.update(r, ts, prevTs+1, state.Timestamped[VA]{}, false, false, closeTime); err != nil {
			return err
		}
	}
	if combined == nil {
		return p.update(r, ts, 0, state.Timestamped[VA]{}, false, false, closeTime)
	}
	return p.update(r, ts, 0, *combined, true, true, closeTime)
}

// update adds the record to the window starting at start, whose aggregate
// so far is base (none if hasBase is false), unless the window has closed.
// existed says whether the window is in the store, for the Change's old
// value. KStreamSlidingWindowAggregate's updateWindowAndForward.
func (p *slidingAggProc[K, V, VA]) update(r topology.Record[K, V], ts, start int64, base state.Timestamped[VA], hasBase, existed bool, closeTime int64) error {
	if start+p.diff < closeTime {
		p.ctx.SkipRecord("record for expired window")
		return nil
	}
	var agg VA
	nts := ts
	if hasBase {
		agg = p.add(r.Key, r.Value, base.Value)
		nts = max(ts, base.Timestamp.UnixMilli())
	} else {
		agg = p.start(r.Key, r.Value)
	}
	var old VA
	if existed {
		old = base.Value
	}
	return p.put(r, start, state.Timestamped[VA]{Value: agg, Timestamp: time.UnixMilli(nts)}, old, existed)
}

// createRight creates the record's right window [ts+1, ts+1+d] with the
// aggregate of the records after ts that it holds.
func (p *slidingAggProc[K, V, VA]) createRight(r topology.Record[K, V], ts int64, agg state.Timestamped[VA]) error {
	var zero VA
	return p.put(r, ts+1, agg, zero, false)
}

// put stores a window's aggregate and forwards the update.
func (p *slidingAggProc[K, V, VA]) put(r topology.Record[K, V], start int64, agg state.Timestamped[VA], old VA, hadOld bool) error {
	ws := time.UnixMilli(start)
	if err := p.rows.Put(r.Key, agg, ws); err != nil {
		return err
	}
	if p.emitOnClose {
		return nil
	}
	w := window.Window{Start: ws, End: time.UnixMilli(addMillisSat(start, p.diff))}
	out := topology.WithKeyValue(r, window.Windowed[K]{Key: r.Key, Window: w},
		Change[VA]{New: agg.Value, Old: old, HasNew: true, HasOld: hadOld})
	out.Timestamp = agg.Timestamp
	return p.ctx.Forward(out)
}

// hasStart reports whether one of ws starts at start.
func hasStart[VA any](ws []slidingWindow[VA], start int64) bool {
	for _, w := range ws {
		if w.start == start {
			return true
		}
	}
	return false
}
