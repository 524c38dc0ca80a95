package join

import (
	"math"
	"reflect"
	"sync"

	"github.com/strata-go/strata/topology"
)

// sharedTimes tracks the earliest time in one task's outer store, so that
// the join's two processors, which share the store, skip scanning it while
// no record in it can be due: Kafka Streams' TimeTracker.minTime, which it
// shares the same way. Both processors run on their task's goroutine.
type sharedTimes struct {
	// min is the earliest time in the store or before it: unknownMin
	// until the first scan (a store restored from its changelog may hold
	// anything), emptyMin when the store holds nothing.
	min int64
	// max is the latest time the store may hold records at, once
	// maxKnown: read from the store's last key on first use, then raised
	// by every keep (removals leave it, an upper bound, as it is).
	max      int64
	maxKnown bool
	// kept holds the keys (outerKey values) of records kept and not
	// removed since, when keys can be map keys (trackableKey), up to
	// maxKept of them: the store holds every one, so matched removes them
	// without reading them first. A key missing from it may still be in
	// the store (kept before a restart, or while it was full).
	kept map[any]struct{}
	refs int
}

// maxKept bounds sharedTimes.kept; keys kept beyond it are not tracked.
const maxKept = 1 << 14

// track notes that the store holds key, if kept tracks keys.
func (t *sharedTimes) track(key any) {
	if t.kept != nil && len(t.kept) < maxKept {
		t.kept[key] = struct{}{}
	}
}

// holds reports whether the store certainly holds key.
func (t *sharedTimes) holds(key any) bool {
	_, ok := t.kept[key]
	return ok
}

// untrack notes that the store no longer holds key.
func (t *sharedTimes) untrack(key any) {
	if len(t.kept) > 0 {
		delete(t.kept, key)
	}
}

// trackableKey reports whether outerKey[K] values compare, as map keys, by
// value and without panicking: K is a string, integer or bool type. Equal
// keys then encode alike, so name the same entry of the store.
func trackableKey[K any]() bool {
	switch reflect.TypeFor[K]().Kind() {
	case reflect.String, reflect.Bool,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return true
	}
	return false
}

const (
	unknownMin = math.MinInt64
	emptyMin   = math.MaxInt64
)

// keep notes a record kept at ts.
func (t *sharedTimes) keep(ts int64) {
	if t.min != unknownMin {
		t.min = min(t.min, ts)
	}
	t.max = max(t.max, ts)
}

// scanned notes the earliest time left in the store after a scan.
func (t *sharedTimes) scanned(earliest int64) { t.min = earliest }

// mayHold reports whether the store may hold records at ts.
func (t *sharedTimes) mayHold(ts int64) bool { return t.min == unknownMin || ts >= t.min }

// mayBeDue reports whether the earliest record may be due at stream time
// st, given how long after its time its window closes.
func (t *sharedTimes) mayBeDue(closesAfter, st int64) bool {
	switch t.min {
	case unknownMin:
		return true
	case emptyMin:
		return false
	}
	return t.min+closesAfter < st
}

// The sharedTimes of each outer store instance: one per task, found by both
// of the task's join processors through the store they share.
var (
	timesMu sync.Mutex
	times   = map[topology.StateStore]*sharedTimes{}
)

// shareTimes returns the sharedTimes of store, which tracks its keys if
// trackKeys is set.
func shareTimes(store topology.StateStore, trackKeys bool) *sharedTimes {
	timesMu.Lock()
	defer timesMu.Unlock()
	t := times[store]
	if t == nil {
		t = &sharedTimes{min: unknownMin}
		if trackKeys {
			t.kept = make(map[any]struct{})
		}
		times[store] = t
	}
	t.refs++
	return t
}

func unshareTimes(store topology.StateStore) {
	timesMu.Lock()
	defer timesMu.Unlock()
	if t := times[store]; t != nil {
		if t.refs--; t.refs <= 0 {
			delete(times, store)
		}
	}
}
