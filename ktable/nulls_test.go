package ktable_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"testing"

	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
	"github.com/strata-go/strata/window"
)

// Stream aggregations skip records whose value is null, as Kafka Streams'
// KStreamAggregate, KStreamReduce and KStreamSlidingWindowAggregate do and
// KGroupedStream's, TimeWindowedKStream's and SessionWindowedKStream's
// javadoc says ("records with null key or value are ignored"): the record
// changes no aggregate, forwards nothing, and is counted as dropped and
// logged. Each test pipes a value, a null and a value for one key, then
// checks the output equals the output without the null.

// nullLog returns a driver config whose logger writes to the returned
// buffer.
func nullLog() (testutil.Config, *bytes.Buffer) {
	var buf bytes.Buffer
	return testutil.Config{Logger: slog.New(slog.NewTextHandler(&buf, nil))}, &buf
}

// pipeNull pipes a record with key k and a null value at ms.
func pipeNull(t *testing.T, d *testutil.Driver, topic, k string, ms int64) {
	t.Helper()
	in := testutil.NewInputTopic(d, topic, serde.String(), serde.String())
	in.PipeRecords(topology.Tombstone(topology.Record[string, string]{Key: k, Timestamp: msAt(ms)}))
}

// pipeValueNullValue pipes k:a at 1ms, k:null at 2ms and k:b at 3ms.
func pipeValueNullValue(t *testing.T, d *testutil.Driver, topic string) {
	t.Helper()
	in := testutil.NewInputTopic(d, topic, serde.String(), serde.String())
	in.PipeAt("k", "a", msAt(1))
	pipeNull(t, d, topic, "k", 2)
	in.PipeAt("k", "b", msAt(3))
}

// checkDropped fails t unless d dropped want records and logged each with
// reason.
func checkDropped(t *testing.T, d *testutil.Driver, log *bytes.Buffer, want int64, reason string) {
	t.Helper()
	if n := d.DroppedRecords(); n != want {
		t.Fatalf("DroppedRecords = %d, want %d", n, want)
	}
	if n := int64(strings.Count(log.String(), `reason="`+reason+`"`)); n != want {
		t.Fatalf("logged %d drops with reason %q, want %d; log:\n%s", n, reason, want, log)
	}
}

func showKV[V any](recs []testutil.Record[string, V]) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = fmt.Sprintf("%s:%v@%d", r.Key, r.Value, r.Timestamp.UnixMilli())
	}
	return out
}

func TestStreamAggregationsSkipNullValues(t *testing.T) {
	b := topology.NewBuilder()
	s := kstream.From(b, "in", serde.String(), serde.String())
	g := ktable.GroupByKey(s)
	g.Count().ToStream().To("counted", kstream.WithSerdes(serde.String(), serde.Int64()))
	g.Reduce(func(agg, v string) string { return agg + "|" + v }).ToStream().To("reduced")
	ktable.Aggregate(g, stringInit, stringAdder).ToStream().To("aggregated")
	cfg, log := nullLog()
	d := testutil.NewDriver(t, buildTop(t, b), cfg)
	pipeValueNullValue(t, d, "in")
	counted := testutil.NewOutputTopic(d, "counted", serde.String(), serde.Int64())
	reduced := testutil.NewOutputTopic(d, "reduced", serde.String(), serde.String())
	aggregated := testutil.NewOutputTopic(d, "aggregated", serde.String(), serde.String())
	sameList(t, "Count", showKV(counted.ReadAll()), "k:1@1", "k:2@3")
	sameList(t, "Reduce", showKV(reduced.ReadAll()), "k:a@1", "k:a|b@3")
	sameList(t, "Aggregate", showKV(aggregated.ReadAll()), "k:0+a@1", "k:0+a+b@3")
	// One record, dropped by each of the three aggregations.
	checkDropped(t, d, log, 3, "null value in stream aggregation")
}

// A null value through serde.Ptr: the source reads it as a nil pointer
// marked null, and the aggregation skips it without calling the aggregator,
// which need not handle nil.
func TestAggregateSkipsNullPointerValues(t *testing.T) {
	b := topology.NewBuilder()
	s := kstream.From(b, "in", serde.String(), serde.Ptr(serde.Int64()))
	ktable.Aggregate(ktable.GroupByKey(s), func() int64 { return 0 },
		func(_ string, v *int64, sum int64) int64 { return sum + *v }).
		ToStream().To("sums", kstream.WithSerdes(serde.String(), serde.Int64()))
	cfg, log := nullLog()
	d := testutil.NewDriver(t, buildTop(t, b), cfg)
	in := testutil.NewInputTopic(d, "in", serde.String(), serde.Ptr(serde.Int64()))
	one, two := int64(1), int64(2)
	in.PipeAt("k", &one, msAt(1))
	in.PipeAt("k", nil, msAt(2))
	in.PipeAt("k", &two, msAt(3))
	out := testutil.NewOutputTopic(d, "sums", serde.String(), serde.Int64())
	sameList(t, "sums", showKV(out.ReadAll()), "k:1@1", "k:3@3")
	checkDropped(t, d, log, 1, "null value in stream aggregation")
}

// A null key is dropped before the repartition topic; a null value goes
// through it, as in Kafka Streams, and the aggregation drops it: counted
// once, by the task that aggregates.
func TestAggregationAfterRepartitionSkipsNullValues(t *testing.T) {
	b := topology.NewBuilder()
	s := kstream.From(b, "in", serde.String(), serde.String())
	rekeyed := kstream.SelectKey(s, func(k, _ string) string { return strings.ToUpper(k) })
	ktable.GroupByKey(rekeyed, ktable.WithKeySerde(serde.String()), ktable.WithValueSerde(serde.String())).
		Count(ktable.Named("counts")).ToStream().To("counted", kstream.WithSerdes(serde.String(), serde.Int64()))
	cfg, log := nullLog()
	cfg.Partitions = map[string]int{"in": 2}
	d := testutil.NewDriver(t, buildTop(t, b), cfg)
	pipeValueNullValue(t, d, "in")
	counted := testutil.NewOutputTopic(d, "counted", serde.String(), serde.Int64())
	sameList(t, "Count", showKV(counted.ReadAll()), "K:1@1", "K:2@3")
	rep := testutil.NewOutputTopic(d, "test-counts-repartition", serde.String(), serde.String())
	recs := rep.ReadAll()
	if len(recs) != 3 || !recs[1].NullValue {
		t.Fatalf("repartition topic holds %d records (%+v), want 3 with the null second", len(recs), recs)
	}
	checkDropped(t, d, log, 1, "null value in stream aggregation")
}

// GroupBy does not call its selector for a record with a null value: it
// drops the record itself, counted and logged once, and writes nothing to
// the repartition topic for it. (Kafka Streams calls the selector and drops
// the record in the aggregation; the counts are the same.)
func TestGroupBySkipsNullValuesBeforeSelector(t *testing.T) {
	b := topology.NewBuilder()
	s := kstream.From(b, "in", serde.String(), serde.Ptr(serde.String()))
	var calls []string
	byValue := ktable.GroupBy(s, func(k string, v *string) string {
		calls = append(calls, k)
		return *v // a nil v would panic
	}, ktable.WithKeySerde(serde.String()))
	byValue.Count(ktable.Named("counts")).ToStream().To("counted", kstream.WithSerdes(serde.String(), serde.Int64()))
	cfg, log := nullLog()
	d := testutil.NewDriver(t, buildTop(t, b), cfg)
	in := testutil.NewInputTopic(d, "in", serde.String(), serde.Ptr(serde.String()))
	x := "x"
	in.PipeAt("a", &x, msAt(1))
	in.PipeAt("b", nil, msAt(2))
	in.PipeAt("c", &x, msAt(3))
	sameList(t, "selector calls", calls, "a", "c")
	counted := testutil.NewOutputTopic(d, "counted", serde.String(), serde.Int64())
	sameList(t, "Count", showKV(counted.ReadAll()), "x:1@1", "x:2@3")
	if n := testutil.NewOutputTopic(d, "test-counts-repartition", serde.String(), serde.Ptr(serde.String())).Len(); n != 2 {
		t.Fatalf("repartition topic holds %d records, want 2", n)
	}
	checkDropped(t, d, log, 1, "null value in GroupBy")
}

// Tumbling and hopping windows: a null value updates no window and is
// counted once, not once per window it falls in. (Kafka Streams'
// KStreamWindowAggregate checks only the key, though TimeWindowedKStream's
// javadoc says null values are ignored: Strata follows the javadoc, see
// docs/deviations.md.)
func TestTimeWindowedAggregationsSkipNullValues(t *testing.T) {
	for _, tc := range []struct {
		name    string
		windows window.TimeWindows
		// The updates without the null; other's windows stay open.
		count, reduce []string
		others        []string
	}{
		{"tumbling", window.Tumbling(10*wms, 0),
			[]string{"[k@0/10] 1 @1", "[k@0/10] 2 @8"},
			[]string{"[k@0/10] a @1", "[k@0/10] a|b @8"},
			[]string{"[other@100/110]"}},
		{"hopping", window.Hopping(10*wms, 5*wms, 0),
			[]string{"[k@0/10] 1 @1", "[k@0/10] 2 @8", "[k@5/15] 1 @8"},
			[]string{"[k@0/10] a @1", "[k@0/10] a|b @8", "[k@5/15] b @8"},
			[]string{"[other@95/105]", "[other@100/110]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			emitStrategies(t, func(t *testing.T, emitFinal bool, opts ...ktable.Option) {
				b := topology.NewBuilder()
				s := kstream.From(b, "in", serde.String(), serde.String())
				w := ktable.WindowedBy(ktable.GroupByKey(s), tc.windows)
				w.Count(opts...).ToStream().To("counted")
				w.Reduce(func(agg, v string) string { return agg + "|" + v }, opts...).ToStream().To("reduced")
				ktable.AggregateWindows(w, stringInit, stringAdder, opts...).ToStream().To("aggregated")
				cfg, log := nullLog()
				d := testutil.NewDriver(t, buildTop(t, b), cfg)
				in := testutil.NewInputTopic(d, "in", serde.String(), serde.String())
				in.PipeAt("k", "a", msAt(1))
				pipeNull(t, d, "in", "k", 7) // in [0,10) and [5,15)
				in.PipeAt("k", "b", msAt(8))
				in.PipeAt("other", "z", msAt(100)) // closes the windows
				ks := window.TimeWindowedSerde(serde.String(), 10*wms)
				counted := testutil.NewOutputTopic(d, "counted", ks, serde.Int64())
				reduced := testutil.NewOutputTopic(d, "reduced", ks, serde.String())
				aggregated := testutil.NewOutputTopic(d, "aggregated", ks, serde.String())
				wantCount, wantReduce := tc.count, tc.reduce
				if emitFinal {
					wantCount, wantReduce = finalWindows(wantCount), finalWindows(wantReduce)
				} else {
					for _, w := range tc.others {
						wantCount = append(wantCount, w+" 1 @100")
						wantReduce = append(wantReduce, w+" z @100")
					}
				}
				checkWindowed(t, sortedFrom(showWindowed(counted.ReadAll())), sortedFrom(wantCount))
				checkWindowed(t, sortedFrom(showWindowed(reduced.ReadAll())), sortedFrom(wantReduce))
				wantAgg := make([]string, len(wantReduce))
				for i, r := range wantReduce {
					wantAgg[i] = strings.ReplaceAll(strings.ReplaceAll(r, "] ", "] 0+"), "|", "+")
				}
				checkWindowed(t, sortedFrom(showWindowed(aggregated.ReadAll())), sortedFrom(wantAgg))
				checkDropped(t, d, log, 3, "null value in stream aggregation")
			})
		})
	}
}

// finalWindows keeps the last update of each window of want, the one
// EmitOnWindowClose forwards.
func finalWindows(want []string) []string {
	last := map[string]string{}
	for _, w := range want {
		last[w[:strings.Index(w, "]")+1]] = w
	}
	var out []string
	for _, w := range last {
		out = append(out, w)
	}
	return out
}

func sortedFrom(s []string) []string {
	s = append([]string(nil), s...)
	sort.Strings(s)
	return s
}

// Sliding windows skip null values, as Kafka Streams'
// KStreamSlidingWindowAggregate does.
func TestSlidingWindowedAggregationSkipsNullValues(t *testing.T) {
	b := topology.NewBuilder()
	s := kstream.From(b, "in", serde.String(), serde.String())
	ktable.SlidingWindowedBy(ktable.GroupByKey(s), window.Sliding(10*wms, 0)).Count().ToStream().To("counted")
	cfg, log := nullLog()
	d := testutil.NewDriver(t, buildTop(t, b), cfg)
	in := testutil.NewInputTopic(d, "in", serde.String(), serde.String())
	in.PipeAt("k", "a", msAt(20))
	pipeNull(t, d, "in", "k", 22)
	in.PipeAt("k", "b", msAt(25))
	counted := testutil.NewOutputTopic(d, "counted", window.TimeWindowedSerde(serde.String(), 10*wms), serde.Int64())
	// Without the null: a@20 makes [10,20]; b@25 makes a's right window
	// [21,31] (b alone), then its own [15,25] (both).
	checkWindowed(t, showWindowed(counted.ReadAll()),
		[]string{"[k@10/20] 1 @20", "[k@21/31] 1 @25", "[k@15/25] 2 @25"})
	checkDropped(t, d, log, 1, "null value in stream aggregation")
}

// Session windows: a null value neither starts nor extends a session, so
// it cannot merge the sessions around it. (Kafka Streams'
// KStreamSessionWindowAggregate checks only the key, though
// SessionWindowedKStream's javadoc says null values are ignored: see
// docs/deviations.md.)
func TestSessionWindowedAggregationsSkipNullValues(t *testing.T) {
	emitStrategies(t, func(t *testing.T, emitFinal bool, opts ...ktable.Option) {
		b := topology.NewBuilder()
		s := kstream.From(b, "in", serde.String(), serde.String())
		sw := ktable.SessionWindowedBy(ktable.GroupByKey(s), window.Session(5*wms, 0))
		sw.Count(opts...).ToStream().To("counted")
		sw.Reduce(func(agg, v string) string { return agg + "|" + v }, opts...).ToStream().To("reduced")
		ktable.AggregateSessions(sw, stringInit, stringAdder,
			func(_ string, a, b string) string { return a + "&" + b }, opts...).ToStream().To("aggregated")
		cfg, log := nullLog()
		d := testutil.NewDriver(t, buildTop(t, b), cfg)
		in := testutil.NewInputTopic(d, "in", serde.String(), serde.String())
		in.PipeAt("k", "a", msAt(0))
		in.PipeAt("k", "b", msAt(10))
		pipeNull(t, d, "in", "k", 5) // would bridge [0,0] and [10,10]
		in.PipeAt("other", "z", msAt(100))
		ks := window.SessionWindowedSerde(serde.String())
		counted := testutil.NewOutputTopic(d, "counted", ks, serde.Int64())
		reduced := testutil.NewOutputTopic(d, "reduced", ks, serde.String())
		aggregated := testutil.NewOutputTopic(d, "aggregated", ks, serde.String())
		wantCount := []string{"[k@0/0] 1 @0", "[k@10/10] 1 @10"}
		wantReduce := []string{"[k@0/0] a @0", "[k@10/10] b @10"}
		wantAgg := []string{"[k@0/0] 0+a @0", "[k@10/10] 0+b @10"}
		if !emitFinal {
			wantCount = append(wantCount, "[other@100/100] 1 @100")
			wantReduce = append(wantReduce, "[other@100/100] z @100")
			wantAgg = append(wantAgg, "[other@100/100] 0+z @100")
		}
		checkWindowed(t, showWindowed(counted.ReadAll()), wantCount)
		checkWindowed(t, showWindowed(reduced.ReadAll()), wantReduce)
		checkWindowed(t, showWindowed(aggregated.ReadAll()), wantAgg)
		checkDropped(t, d, log, 3, "null value in stream aggregation")
	})
}
