package query_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/query"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
	"github.com/strata-go/strata/window"
)

// wrec is an input record: key, value, timestamp in ms.
type wrec struct {
	k, v string
	ts   int64
}

// windowedDriver builds topic (two partitions) → groupByKey → agg, and
// pipes recs.
func windowedDriver(t *testing.T, agg func(g *ktable.GroupedStream[string, string]), recs ...wrec) *testutil.Driver {
	t.Helper()
	b := topology.NewBuilder()
	agg(ktable.GroupByKey(kstream.From(b, "topic", serde.String(), serde.String())))
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	d := testutil.NewDriver(t, top, testutil.Config{Partitions: map[string]int{"topic": 2}})
	in := testutil.NewInputTopic(d, "topic", serde.String(), serde.String())
	for _, r := range recs {
		in.PipeAt(r.k, r.v, time.UnixMilli(r.ts))
	}
	return d
}

func stringAdder(_ string, v, agg string) string { return agg + "+" + v }

func showWindow[K, V any](w window.Windowed[K], v V) string {
	return fmt.Sprintf("%v@%d/%d=%v", w.Key, w.Window.Start.UnixMilli(), w.Window.End.UnixMilli(), v)
}

// drainWindowed renders a windowed iterator's entries, failing t on an
// error: drainWindowed(s.All(ctx))(t).
func drainWindowed[K, V any](it state.Iterator[window.Windowed[K], V], err error) func(t *testing.T) []string {
	return func(t *testing.T) []string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for w, v := range state.All(it, &err) {
			out = append(out, showWindow(w, v))
		}
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
}

// checkWindowQueries checks every window query of the store against the
// driver's view of its contents.
func checkWindowQueries(t *testing.T, d *testutil.Driver, store string) {
	t.Helper()
	ctx := context.Background()
	var all []string
	byKey := map[string][]state.KeyValue[window.Windowed[string], string]{}
	for _, kv := range testutil.WindowStore[string, string](d, store).All() {
		all = append(all, showWindow(kv.Key, kv.Value))
		byKey[kv.Key.Key] = append(byKey[kv.Key.Key], kv)
	}
	if len(byKey) < 2 {
		t.Fatalf("the store holds too little to test with: %v", all)
	}
	for _, page := range []int{1, 3, 100} {
		s, err := query.Window[string, string](d, store, query.PageSize(page))
		if err != nil {
			t.Fatal(err)
		}
		if got := drainWindowed(s.All(ctx))(t); !slices.Equal(got, all) {
			t.Errorf("page %d: All\n got %v\nwant %v", page, got, all)
		}
		if got := drainWindowed(s.FetchAll(ctx, time.UnixMilli(0), time.UnixMilli(1<<40)))(t); !slices.Equal(got, all) {
			t.Errorf("page %d: FetchAll\n got %v\nwant %v", page, got, all)
		}
		for key, kvs := range byKey {
			var want, wantStarts []string
			for _, kv := range kvs {
				want = append(want, showWindow(kv.Key, kv.Value))
				wantStarts = append(wantStarts, fmt.Sprintf("%d=%s", kv.Key.Window.Start.UnixMilli(), kv.Value))
				v, ok, err := s.Fetch(ctx, key, kv.Key.Window.Start)
				if err != nil || !ok || v != kv.Value {
					t.Errorf("Fetch(%s, %d) = %q, %v, %v; want %q", key, kv.Key.Window.Start.UnixMilli(), v, ok, err, kv.Value)
				}
			}
			it, err := s.FetchRange(ctx, key, time.UnixMilli(0), time.UnixMilli(1<<40))
			var got []string
			if err == nil {
				for start, v := range state.All(it, &err) {
					got = append(got, fmt.Sprintf("%d=%s", start.UnixMilli(), v))
				}
			}
			if err != nil || !slices.Equal(got, wantStarts) {
				t.Errorf("page %d: FetchRange(%s) = %v, %v; want %v", page, key, got, err, wantStarts)
			}
			it, err = s.BackwardFetchRange(ctx, key, time.UnixMilli(0), time.UnixMilli(1<<40))
			got = nil
			if err == nil {
				for start, v := range state.All(it, &err) {
					got = append(got, fmt.Sprintf("%d=%s", start.UnixMilli(), v))
				}
			}
			slices.Reverse(wantStarts)
			if err != nil || !slices.Equal(got, wantStarts) {
				t.Errorf("page %d: BackwardFetchRange(%s) = %v, %v; want %v", page, key, got, err, wantStarts)
			}
			if _, ok, err := s.Fetch(ctx, key, time.UnixMilli(1)); ok || err != nil {
				t.Errorf("Fetch(%s, 1) = %v, %v; want no window", key, ok, err)
			}
		}
	}
	// A time range selects windows by start, both ends included.
	s, err := query.Window[string, string](d, store)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, kv := range testutil.WindowStore[string, string](d, store).All() {
		if st := kv.Key.Window.Start.UnixMilli(); st >= 5 && st <= 10 {
			want = append(want, showWindow(kv.Key, kv.Value))
		}
	}
	if got := drainWindowed(s.FetchAll(ctx, time.UnixMilli(5), time.UnixMilli(10)))(t); !slices.Equal(got, want) {
		t.Errorf("FetchAll(5, 10)\n got %v\nwant %v", got, want)
	}
	ts, err := query.Window[string, state.Timestamped[string]](d, store)
	if err != nil {
		t.Fatal(err)
	}
	view := testutil.WindowStore[string, state.Timestamped[string]](d, store)
	for _, kv := range view.All() {
		v, ok, err := ts.Fetch(ctx, kv.Key.Key, kv.Key.Window.Start)
		if err != nil || !ok || v != kv.Value {
			t.Errorf("Fetch(%s, %d) timestamped = %+v, %v, %v; want %+v", kv.Key.Key, kv.Key.Window.Start.UnixMilli(), v, ok, err, kv.Value)
		}
	}
}

// Kafka's KStreamWindowAggregateTest.testAggBasic: hopping windows of 10ms
// advancing by 5ms, with late records within grace.
func TestHoppingWindowQueriesMatchDriver(t *testing.T) {
	d := windowedDriver(t, func(g *ktable.GroupedStream[string, string]) {
		ktable.AggregateWindows(ktable.WindowedBy(g, window.Hopping(10*time.Millisecond, 5*time.Millisecond, 100*time.Millisecond)),
			func() string { return "0" }, stringAdder, ktable.Named("hopping"))
	},
		wrec{"A", "1", 0}, wrec{"B", "2", 1}, wrec{"C", "3", 2}, wrec{"D", "4", 3}, wrec{"A", "1", 4},
		wrec{"A", "1", 5}, wrec{"B", "2", 6}, wrec{"D", "4", 7}, wrec{"B", "2", 8}, wrec{"C", "3", 9},
		wrec{"A", "1", 10}, wrec{"B", "2", 11}, wrec{"D", "4", 12}, wrec{"B", "2", 13}, wrec{"C", "3", 14},
		wrec{"B", "1", 3}, wrec{"B", "2", 2}, wrec{"B", "3", 9})
	checkWindowQueries(t, d, "hopping")
	s, err := query.Window[string, string](d, "hopping")
	if err != nil {
		t.Fatal(err)
	}
	if v, ok, err := s.Fetch(context.Background(), "B", time.UnixMilli(0)); err != nil || !ok || v != "0+2+2+2+1+2+3" {
		t.Errorf("Fetch(B, 0) = %q, %v, %v; want Kafka's 0+2+2+2+1+2+3", v, ok, err)
	}
}

// Kafka's KStreamSlidingWindowAggregateTest.testAggregateSmallInput, with a
// second key.
func TestSlidingWindowQueriesMatchDriver(t *testing.T) {
	d := windowedDriver(t, func(g *ktable.GroupedStream[string, string]) {
		ktable.AggregateWindows(ktable.SlidingWindowedBy(g, window.Sliding(10*time.Millisecond, 5*time.Millisecond)),
			func() string { return "0" }, stringAdder, ktable.Named("sliding"))
	},
		wrec{"A", "1", 10}, wrec{"A", "2", 10}, wrec{"A", "3", 14}, wrec{"A", "4", 15},
		wrec{"A", "5", 20}, wrec{"A", "6", 22}, wrec{"A", "7", 30}, wrec{"B", "1", 12}, wrec{"B", "2", 25})
	checkWindowQueries(t, d, "sliding")
}

// Kafka's KStreamSessionWindowAggregateProcessorTest.shouldHandleMultipleSessionsAndMerging,
// with a longer grace so that every session stays.
func TestSessionQueriesMatchDriver(t *testing.T) {
	const g, h = 5 * 60 * 1000, 5 * 60 * 1000 / 2
	d := windowedDriver(t, func(gs *ktable.GroupedStream[string, string]) {
		ktable.SessionWindowedBy(gs, window.Session(g*time.Millisecond, time.Hour)).Count(ktable.Named("sessions"))
	},
		wrec{"a", "1", 0}, wrec{"b", "1", 0}, wrec{"c", "1", 0}, wrec{"d", "1", 0}, wrec{"d", "2", h},
		wrec{"a", "2", g + 1}, wrec{"b", "2", g + 1}, wrec{"a", "3", g + 1 + h}, wrec{"c", "3", g + 1 + h})
	ctx := context.Background()
	view := testutil.SessionStore[string, int64](d, "sessions")
	var all []string
	for _, kv := range view.All() {
		all = append(all, showWindow(kv.Key, kv.Value))
	}
	if len(all) != 7 {
		t.Fatalf("the store holds %v, want seven sessions", all)
	}
	for _, page := range []int{1, 2, 100} {
		s, err := query.Session[string, int64](d, "sessions", query.PageSize(page))
		if err != nil {
			t.Fatal(err)
		}
		if got := drainWindowed(s.All(ctx))(t); !slices.Equal(got, all) {
			t.Errorf("page %d: All\n got %v\nwant %v", page, got, all)
		}
		for _, key := range []string{"a", "b", "c", "d", "e"} {
			var want []string
			for _, kv := range view.Fetch(key) {
				want = append(want, showWindow(kv.Key, kv.Value))
			}
			if got := drainWindowed(s.Fetch(ctx, key))(t); !slices.Equal(got, want) {
				t.Errorf("page %d: Fetch(%s) = %v, want %v", page, key, got, want)
			}
		}
		// a has a session [0, 0] and one [g+1, g+1+h]: only the second
		// ends at or after 1.
		if got, want := drainWindowed(s.FindSessions(ctx, "a", time.UnixMilli(1), time.UnixMilli(g+1)))(t), []string{fmt.Sprintf("a@%d/%d=2", g+1, g+1+h)}; !slices.Equal(got, want) {
			t.Errorf("page %d: FindSessions(a, 1, g+1) = %v, want %v", page, got, want)
		}
	}
}
