package strata_test

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/embedded"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/query"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
	"github.com/strata-go/strata/window"
)

// windowedQueryTopology aggregates "in" by key in hopping windows of 10ms
// advancing by 5ms ("hopping", Kafka's KStreamWindowAggregateTest
// .testAggBasic) and counts it in sessions of a 10ms gap ("sessions"),
// calling each after every record.
func windowedQueryTopology(t *testing.T, each func()) *topology.Topology {
	t.Helper()
	b := topology.NewBuilder()
	in := kstream.From(b, "in", serde.String(), serde.String())
	g := ktable.GroupByKey(in.Peek(func(string, string) { each() }))
	ktable.AggregateWindows(ktable.WindowedBy(g, window.Hopping(10*time.Millisecond, 5*time.Millisecond, 100*time.Millisecond)),
		func() string { return "0" }, func(_ string, v, agg string) string { return agg + "+" + v }, ktable.Named("hopping"))
	ktable.SessionWindowedBy(g, window.Session(10*time.Millisecond, time.Hour)).Count(ktable.Named("sessions"))
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return top
}

// showWindowedEntries renders windowed entries as "key@start/end=value".
func showWindowedEntries[V any](kvs []state.KeyValue[window.Windowed[string], V]) []string {
	var out []string
	for _, kv := range kvs {
		out = append(out, fmt.Sprintf("%s@%d/%d=%v", kv.Key.Key, kv.Key.Window.Start.UnixMilli(), kv.Key.Window.End.UnixMilli(), kv.Value))
	}
	return out
}

// drainEntries reads an iterator of the query API into entries, failing t
// on an error: drainEntries(s.All(ctx))(t).
func drainEntries[V any](it state.Iterator[window.Windowed[string], V], err error) func(t *testing.T) []state.KeyValue[window.Windowed[string], V] {
	return func(t *testing.T) []state.KeyValue[window.Windowed[string], V] {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		var out []state.KeyValue[window.Windowed[string], V]
		for k, v := range state.All(it, &err) {
			out = append(out, state.KeyValue[window.Windowed[string], V]{Key: k, Value: v})
		}
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
}

// TestWindowedQueriesMatchDriver runs Kafka's windowed aggregation case
// (hopping windows, late records within grace) and a session count on the
// embedded broker, over two partitions, and checks that the window and
// session queries of the running app return what the test driver's stores
// hold for the same input.
func TestWindowedQueriesMatchDriver(t *testing.T) {
	recs := []struct {
		k, v string
		ts   int64
	}{
		{"A", "1", 0}, {"B", "2", 1}, {"C", "3", 2}, {"D", "4", 3}, {"A", "1", 4},
		{"A", "1", 5}, {"B", "2", 6}, {"D", "4", 7}, {"B", "2", 8}, {"C", "3", 9},
		{"A", "1", 10}, {"B", "2", 11}, {"D", "4", 12}, {"B", "2", 13}, {"C", "3", 14},
		{"B", "1", 3}, {"B", "2", 2}, {"B", "3", 9}, {"A", "9", 40}, {"C", "9", 31},
	}
	d := testutil.NewDriver(t, windowedQueryTopology(t, func() {}), testutil.Config{Partitions: map[string]int{"in": 2}})
	in := testutil.NewInputTopic(d, "in", serde.String(), serde.String())
	for _, r := range recs {
		in.PipeAt(r.k, r.v, time.UnixMilli(r.ts))
	}
	wantWindows := showWindowedEntries(testutil.WindowStore[string, string](d, "hopping").All())
	wantSessions := showWindowedEntries(testutil.SessionStore[string, int64](d, "sessions").All())

	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "in", Partitions: 2}}})
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	var krecs []*kgo.Record
	for _, r := range recs {
		krecs = append(krecs, &kgo.Record{Topic: "in", Key: []byte(r.k), Value: []byte(r.v), Timestamp: time.UnixMilli(r.ts)})
	}
	if err := c.Produce(ctx, krecs...); err != nil {
		t.Fatal(err)
	}
	var seen atomic.Int64
	all := make(chan struct{})
	app, err := strata.New(windowedQueryTopology(t, func() {
		if seen.Add(1) == int64(len(recs)) {
			close(all)
		}
	}), testConfig(t, c, "queries-windowed"))
	if err != nil {
		t.Fatal(err)
	}
	r := start(t, app)
	select {
	case <-all:
	case <-ctx.Done():
		t.Fatalf("%d of %d records processed", seen.Load(), len(recs))
	}
	windows, err := query.Window[string, string](app, "hopping", query.PageSize(3))
	if err != nil {
		t.Fatal(err)
	}
	sessions, err := query.Session[string, int64](app, "sessions", query.PageSize(2))
	if err != nil {
		t.Fatal(err)
	}
	if got := showWindowedEntries(drainEntries(windows.FetchAll(ctx, time.UnixMilli(0), time.UnixMilli(1000)))(t)); !slices.Equal(got, wantWindows) {
		t.Errorf("windows\n got %v\nwant %v", got, wantWindows)
	}
	if got := showWindowedEntries(drainEntries(sessions.All(ctx))(t)); !slices.Equal(got, wantSessions) {
		t.Errorf("sessions\n got %v\nwant %v", got, wantSessions)
	}
	for _, k := range []string{"A", "B", "C", "D"} {
		var want []string
		for _, kv := range testutil.WindowStore[string, string](d, "hopping").All() {
			if kv.Key.Key == k {
				want = append(want, fmt.Sprintf("%d=%s", kv.Key.Window.Start.UnixMilli(), kv.Value))
			}
		}
		it, err := windows.FetchRange(ctx, k, time.UnixMilli(0), time.UnixMilli(1000))
		var got []string
		if err == nil {
			for start, v := range state.All(it, &err) {
				got = append(got, fmt.Sprintf("%d=%s", start.UnixMilli(), v))
			}
		}
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("FetchRange(%s) = %v, %v; want %v", k, got, err, want)
		}
		if got, want := showWindowedEntries(drainEntries(sessions.Fetch(ctx, k))(t)), showWindowedEntries(testutil.SessionStore[string, int64](d, "sessions").Fetch(k)); !slices.Equal(got, want) {
			t.Errorf("sessions of %s = %v, want %v", k, got, want)
		}
	}
	if v, ok, err := windows.Fetch(ctx, "B", time.UnixMilli(0)); err != nil || !ok || v != "0+2+2+2+1+2+3" {
		t.Errorf("Fetch(B, 0) = %q, %v, %v; want Kafka's 0+2+2+2+1+2+3", v, ok, err)
	}
	r.stopAndWait(t)
}
