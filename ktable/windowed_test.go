package ktable_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/strata-go/strata/internal/engine"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
	"github.com/strata-go/strata/window"
)

// The tests below mirror Kafka Streams' KStreamWindowAggregateTest,
// KStreamSlidingWindowAggregateTest and
// KStreamSessionWindowAggregateProcessorTest, with their inputs and expected
// outputs. Records print as Kafka's tests print them: "[key@start/end]",
// then the value ("null" for a tombstone) and "@timestamp".

const wms = time.Millisecond

func msAt(v int64) time.Time { return time.UnixMilli(v) }

// wrec is an input record: key, value, timestamp in ms.
type wrec struct {
	k, v string
	ts   int64
}

func pipeW(d *testutil.Driver, topic string, recs ...wrec) {
	it := testutil.NewInputTopic(d, topic, serde.String(), serde.String())
	for _, r := range recs {
		it.PipeAt(r.k, r.v, msAt(r.ts))
	}
}

// MockInitializer.STRING_INIT and MockAggregator.TOSTRING_ADDER.
func stringInit() string                         { return "0" }
func stringAdder(_ string, v, agg string) string { return agg + "+" + v }

func showWindowed[V any](recs []testutil.Record[window.Windowed[string], V]) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		v := fmt.Sprint(r.Value)
		if r.NullValue {
			v = "null"
		}
		out[i] = fmt.Sprintf("[%s@%d/%d] %s @%d", r.Key.Key, r.Key.Window.Start.UnixMilli(), r.Key.Window.End.UnixMilli(), v, r.Timestamp.UnixMilli())
	}
	return out
}

func checkWindowed(t *testing.T, got, want []string) {
	t.Helper()
	if (len(got) != 0 || len(want) != 0) && !reflect.DeepEqual(got, want) {
		t.Fatalf("got %d records:\n  %s\nwant %d:\n  %s", len(got), strings.Join(got, "\n  "), len(want), strings.Join(want, "\n  "))
	}
}

func buildTop(t *testing.T, b *topology.Builder) *topology.Topology {
	t.Helper()
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return top
}

// emitStrategies runs f for the default emit strategy and EmitOnWindowClose.
func emitStrategies(t *testing.T, f func(t *testing.T, emitFinal bool, opts ...ktable.Option)) {
	t.Run("OnWindowUpdate", func(t *testing.T) { f(t, false) })
	t.Run("OnWindowClose", func(t *testing.T) { f(t, true, ktable.EmitOnWindowClose()) })
}

// cacheModes runs f without a record cache and with one, as Kafka's
// windowed aggregation tests run with caching disabled and enabled. The
// driver commits, and so flushes the cache, after every record, as Kafka's
// TopologyTestDriver does: the outputs of the cases below are the same
// either way, as they are in Kafka.
func cacheModes(t *testing.T, f func(t *testing.T, cfg testutil.Config)) {
	t.Run("uncached", func(t *testing.T) { f(t, testutil.Config{}) })
	t.Run("cached", func(t *testing.T) { f(t, testutil.Config{CacheMaxBytes: 10 << 20}) })
}

// timeWindowAgg builds topic → groupByKey → windowedBy(w) → aggregate(STRING_INIT,
// TOSTRING_ADDER) → "output", and returns the driver, run with cfg, and
// output topic.
func timeWindowAgg(t *testing.T, cfg testutil.Config, w window.TimeWindows, initial func() string, opts ...ktable.Option) (*testutil.Driver, *testutil.OutputTopic[window.Windowed[string], string]) {
	t.Helper()
	b := topology.NewBuilder()
	s := kstream.From(b, "topic", serde.String(), serde.String())
	tbl := ktable.AggregateWindows(ktable.WindowedBy(ktable.GroupByKey(s), w), initial, stringAdder, opts...)
	tbl.ToStream().To("output")
	d := testutil.NewDriver(t, buildTop(t, b), cfg)
	return d, testutil.NewOutputTopic(d, "output", window.TimeWindowedSerde(serde.String(), w.Size), serde.String())
}

// Mirrors KStreamWindowAggregateTest.testAggBasic: hopping windows of 10ms
// advancing by 5ms, grace 100ms; each record updates every window it falls
// in, in order of start; late-arriving records within grace update old
// windows, whose timestamp stays the largest in the window.
func TestWindowAggBasic(t *testing.T) {
	cacheModes(t, func(t *testing.T, cfg testutil.Config) {
		emitStrategies(t, func(t *testing.T, emitFinal bool, opts ...ktable.Option) {
			d, out := timeWindowAgg(t, cfg, window.Hopping(10*wms, 5*wms, 100*wms), stringInit, append(opts, ktable.Named("topic1-Canonized"))...)
			pipeW(d, "topic",
				wrec{"A", "1", 0}, wrec{"B", "2", 1}, wrec{"C", "3", 2}, wrec{"D", "4", 3}, wrec{"A", "1", 4},
				wrec{"A", "1", 5}, wrec{"B", "2", 6}, wrec{"D", "4", 7}, wrec{"B", "2", 8}, wrec{"C", "3", 9},
				wrec{"A", "1", 10}, wrec{"B", "2", 11}, wrec{"D", "4", 12}, wrec{"B", "2", 13}, wrec{"C", "3", 14},
				wrec{"B", "1", 3}, wrec{"B", "2", 2}, wrec{"B", "3", 9})
			if emitFinal {
				// Nothing closes: grace is 100ms.
				checkWindowed(t, showWindowed(out.ReadAll()), nil)
			} else {
				checkWindowed(t, showWindowed(out.ReadAll()), []string{
					"[A@0/10] 0+1 @0",
					"[B@0/10] 0+2 @1",
					"[C@0/10] 0+3 @2",
					"[D@0/10] 0+4 @3",
					"[A@0/10] 0+1+1 @4",
					"[A@0/10] 0+1+1+1 @5",
					"[A@5/15] 0+1 @5",
					"[B@0/10] 0+2+2 @6",
					"[B@5/15] 0+2 @6",
					"[D@0/10] 0+4+4 @7",
					"[D@5/15] 0+4 @7",
					"[B@0/10] 0+2+2+2 @8",
					"[B@5/15] 0+2+2 @8",
					"[C@0/10] 0+3+3 @9",
					"[C@5/15] 0+3 @9",
					"[A@5/15] 0+1+1 @10",
					"[A@10/20] 0+1 @10",
					"[B@5/15] 0+2+2+2 @11",
					"[B@10/20] 0+2 @11",
					"[D@5/15] 0+4+4 @12",
					"[D@10/20] 0+4 @12",
					"[B@5/15] 0+2+2+2+2 @13",
					"[B@10/20] 0+2+2 @13",
					"[C@5/15] 0+3+3 @14",
					"[C@10/20] 0+3 @14",
					"[B@0/10] 0+2+2+2+1 @8",
					"[B@0/10] 0+2+2+2+1+2 @8",
					"[B@0/10] 0+2+2+2+1+2+3 @9",
					"[B@5/15] 0+2+2+2+2+3 @13",
				})
			}
			// Whatever the strategy, the store holds every window, with
			// the timestamp of its latest record.
			store := testutil.WindowStore[string, state.Timestamped[string]](d, "topic1-Canonized")
			if v, ok := store.Fetch("B", msAt(0)); !ok || v.Value != "0+2+2+2+1+2+3" || v.Timestamp.UnixMilli() != 9 {
				t.Fatalf("store: B@5 = %+v, %v", v, ok)
			}
			var windows []string
			for _, kv := range store.All() {
				windows = append(windows, fmt.Sprintf("%s@%d/%d=%s", kv.Key.Key, kv.Key.Window.Start.UnixMilli(), kv.Key.Window.End.UnixMilli(), kv.Value.Value))
			}
			checkWindowed(t, windows, []string{
				"A@0/10=0+1+1+1", "A@5/15=0+1+1", "A@10/20=0+1",
				"B@0/10=0+2+2+2+1+2+3", "B@5/15=0+2+2+2+2+3", "B@10/20=0+2+2",
				"C@0/10=0+3+3", "C@5/15=0+3+3", "C@10/20=0+3",
				"D@0/10=0+4+4", "D@5/15=0+4+4", "D@10/20=0+4",
			})
			if n := d.DroppedRecords(); n != 0 {
				t.Fatalf("DroppedRecords = %d, want 0", n)
			}
		})
	})
}

// Mirrors KStreamWindowAggregateTest.shouldLogAndMeterWhenSkippingExpiredWindow:
// hopping windows of 10ms by 5ms with a grace of 90ms. At stream time 100,
// the window [0,10) has closed (10 <= 100-90): records 0 to 6 are dropped
// for it, seven drops, while 5 and 6 still update [5,15).
func TestWindowAggSkipsExpiredWindow(t *testing.T) {
	cacheModes(t, func(t *testing.T, cfg testutil.Config) {
		emitStrategies(t, func(t *testing.T, emitFinal bool, opts ...ktable.Option) {
			d, out := timeWindowAgg(t, cfg, window.Hopping(10*wms, 5*wms, 90*wms), func() string { return "" }, opts...)
			pipeW(d, "topic",
				wrec{"k", "100", 100}, wrec{"k", "0", 0}, wrec{"k", "1", 1}, wrec{"k", "2", 2}, wrec{"k", "3", 3},
				wrec{"k", "4", 4}, wrec{"k", "5", 5}, wrec{"k", "6", 6}, wrec{"k", "105", 105}, wrec{"k", "106", 106})
			if n := d.DroppedRecords(); n != 7 {
				t.Fatalf("DroppedRecords = %d, want 7", n)
			}
			if emitFinal {
				// The window close time reaches 15 at record 105.
				checkWindowed(t, showWindowed(out.ReadAll()), []string{"[k@5/15] +5+6 @6"})
				return
			}
			checkWindowed(t, showWindowed(out.ReadAll()), []string{
				"[k@95/105] +100 @100",
				"[k@100/110] +100 @100",
				"[k@5/15] +5 @5",
				"[k@5/15] +5+6 @6",
				"[k@100/110] +100+105 @105",
				"[k@105/115] +105 @105",
				"[k@100/110] +100+105+106 @106",
				"[k@105/115] +105+106 @106",
			})
		})
	})
}

// Mirrors KStreamWindowAggregateTest.shouldLogAndMeterWhenSkippingExpiredWindowByGrace:
// tumbling windows of 10ms with a grace of 90ms; at stream time 200 the
// windows up to [100,110) have closed.
func TestWindowAggSkipsExpiredWindowByGrace(t *testing.T) {
	cacheModes(t, func(t *testing.T, cfg testutil.Config) {
		emitStrategies(t, func(t *testing.T, emitFinal bool, opts ...ktable.Option) {
			d, out := timeWindowAgg(t, cfg, window.Tumbling(10*wms, 90*wms), func() string { return "" }, opts...)
			pipeW(d, "topic",
				wrec{"k", "100", 200}, wrec{"k", "0", 100}, wrec{"k", "1", 101}, wrec{"k", "2", 102},
				wrec{"k", "3", 103}, wrec{"k", "4", 104}, wrec{"k", "5", 105}, wrec{"k", "6", 6})
			if n := d.DroppedRecords(); n != 7 {
				t.Fatalf("DroppedRecords = %d, want 7", n)
			}
			var want []string
			if !emitFinal {
				want = []string{"[k@200/210] +100 @200"}
			}
			checkWindowed(t, showWindowed(out.ReadAll()), want)
		})
	})
}

// Mirrors KStreamWindowAggregateTest.shouldEmitWithInterval0 and
// shouldNotEmitFinalIfNotProgressEnough: with EmitOnWindowClose, a window
// is emitted once, when stream time passes its end plus grace, in order of
// window start, then key; records that do not move the close time past a
// window emit nothing.
func TestWindowAggEmitOnWindowClose(t *testing.T) {
	cacheModes(t, func(t *testing.T, cfg testutil.Config) {
		t.Run("shouldEmitWithInterval0", func(t *testing.T) {
			d, out := timeWindowAgg(t, cfg, window.Hopping(10*wms, 5*wms, 5*wms), stringInit, ktable.EmitOnWindowClose())
			pipeW(d, "topic", wrec{"A", "1", 0}, wrec{"A", "1", 5}, wrec{"B", "2", 10}, wrec{"C", "3", 15})
			checkWindowed(t, showWindowed(out.ReadAll()), []string{"[A@0/10] 0+1+1 @5"})
			pipeW(d, "topic", wrec{"D", "4", 20})
			checkWindowed(t, showWindowed(out.ReadAll()), []string{"[A@5/15] 0+1 @5", "[B@5/15] 0+2 @10"})
		})
		t.Run("shouldNotEmitFinalIfNotProgressEnough", func(t *testing.T) {
			d, out := timeWindowAgg(t, cfg, window.Hopping(10*wms, 5*wms, 5*wms), stringInit, ktable.EmitOnWindowClose())
			pipeW(d, "topic", wrec{"A", "1", 0}, wrec{"B", "2", 5}, wrec{"C", "3", 15})
			checkWindowed(t, showWindowed(out.ReadAll()), []string{"[A@0/10] 0+1 @0", "[B@0/10] 0+2 @5"})
			pipeW(d, "topic", wrec{"D", "4", 15}) // stream time does not move
			checkWindowed(t, showWindowed(out.ReadAll()), nil)
			pipeW(d, "topic", wrec{"E", "5", 19}) // not far enough to close [5,15)
			checkWindowed(t, showWindowed(out.ReadAll()), nil)
			// The windows are in the store all the same.
			if v, ok := testutil.WindowStore[string, state.Timestamped[string]](d, "KSTREAM-AGGREGATE-STATE-STORE-0000000001").Fetch("B", msAt(5)); !ok || v.Value != "0+2" {
				t.Fatalf("store: B@5 = %+v, %v", v, ok)
			}
			pipeW(d, "topic", wrec{"F", "6", 20})
			checkWindowed(t, showWindowed(out.ReadAll()), []string{"[B@5/15] 0+2 @5"})
		})
	})
}

// A tumbling count with out-of-order and late records, in the manner of
// testAggBasic: a record within grace updates its old window (whose
// timestamp becomes the largest of its records); one past grace is dropped
// and counted.
func TestTumblingCountOutOfOrderAndLate(t *testing.T) {
	b := topology.NewBuilder()
	s := kstream.From(b, "clicks", serde.String(), serde.String())
	ktable.WindowedBy(ktable.GroupByKey(s), window.Tumbling(10*wms, 5*wms)).Count().ToStream().To("counts")
	top := buildTop(t, b)
	d := testutil.NewDriver(t, top, testutil.Config{})
	out := testutil.NewOutputTopic(d, "counts", window.TimeWindowedSerde(serde.String(), 10*wms), serde.Int64())
	pipeW(d, "clicks",
		wrec{"A", "a", 1},
		wrec{"A", "b", 12},
		wrec{"A", "c", 8}, // stream time 12, close time 7: [0,10) is open
		wrec{"B", "d", 3},
		wrec{"A", "e", 16},
		wrec{"A", "f", 9}, // close time 11: [0,10) has closed
		wrec{"B", "g", 14})
	checkWindowed(t, showWindowed(out.ReadAll()), []string{
		"[A@0/10] 1 @1",
		"[A@10/20] 1 @12",
		"[A@0/10] 2 @8",
		"[B@0/10] 1 @3",
		"[A@10/20] 2 @16",
		"[B@10/20] 1 @14",
	})
	if n := d.DroppedRecords(); n != 1 {
		t.Fatalf("DroppedRecords = %d, want 1", n)
	}
	// The default names are Kafka Streams': the store, then the processor.
	desc := top.Describe().String()
	for _, s := range []string{"KSTREAM-AGGREGATE-STATE-STORE-0000000001", "KSTREAM-AGGREGATE-0000000002"} {
		if !strings.Contains(desc, s) {
			t.Fatalf("Describe lacks %q:\n%s", s, desc)
		}
	}
}

// The late-drop rule at its boundary (KStreamWindowAggregate.process): a
// record is dropped for a window whose end <= streamTime - grace; a
// millisecond less of stream time and it is not.
func TestWindowGraceBoundary(t *testing.T) {
	b := topology.NewBuilder()
	s := kstream.From(b, "in", serde.String(), serde.String())
	ktable.WindowedBy(ktable.GroupByKey(s), window.Tumbling(10*wms, 5*wms)).Count().ToStream().To("out")
	d := testutil.NewDriver(t, buildTop(t, b), testutil.Config{})
	out := testutil.NewOutputTopic(d, "out", window.TimeWindowedSerde(serde.String(), 10*wms), serde.Int64())
	pipeW(d, "in", wrec{"k", "", 14}, wrec{"k", "", 5}) // end 10 > 14-5: on time
	checkWindowed(t, showWindowed(out.ReadAll()), []string{"[k@10/20] 1 @14", "[k@0/10] 1 @5"})
	pipeW(d, "in", wrec{"k", "", 15}, wrec{"k", "", 6}) // end 10 == 15-5: late
	checkWindowed(t, showWindowed(out.ReadAll()), []string{"[k@10/20] 2 @15"})
	if n := d.DroppedRecords(); n != 1 {
		t.Fatalf("DroppedRecords = %d, want 1", n)
	}
}

// Hopping windows (the hopping half of testAggBasic): a record updates
// every window it falls in, in order of start, and no window starts before
// the epoch.
func TestHoppingCountUpdatesEveryWindow(t *testing.T) {
	b := topology.NewBuilder()
	s := kstream.From(b, "in", serde.String(), serde.String())
	ktable.WindowedBy(ktable.GroupByKey(s), window.Hopping(10*wms, 3*wms, 0)).Count().ToStream().To("out")
	d := testutil.NewDriver(t, buildTop(t, b), testutil.Config{})
	out := testutil.NewOutputTopic(d, "out", window.TimeWindowedSerde(serde.String(), 10*wms), serde.Int64())
	pipeW(d, "in", wrec{"k", "", 1}, wrec{"k", "", 10})
	checkWindowed(t, showWindowed(out.ReadAll()), []string{
		"[k@0/10] 1 @1",
		"[k@3/13] 1 @10",
		"[k@6/16] 1 @10",
		"[k@9/19] 1 @10",
	})
}

// Stream time is per task, so per input partition: a record far behind
// another partition's stream time is not late on its own partition.
func TestWindowedStreamTimeIsPerPartition(t *testing.T) {
	// Two keys that land on different partitions of a 2-partition topic.
	keys := map[int32]string{}
	for i := 0; len(keys) < 2; i++ {
		k := fmt.Sprintf("k%d", i)
		p := engine.KeyPartition([]byte(k), 2)
		if _, ok := keys[p]; !ok {
			keys[p] = k
		}
	}
	k0, k1 := keys[0], keys[1]
	b := topology.NewBuilder()
	s := kstream.From(b, "in", serde.String(), serde.String())
	ktable.WindowedBy(ktable.GroupByKey(s), window.Tumbling(10*wms, 0)).Count(ktable.Named("counts")).ToStream().To("out")
	d := testutil.NewDriver(t, buildTop(t, b), testutil.Config{Partitions: map[string]int{"in": 2}})
	out := testutil.NewOutputTopic(d, "out", window.TimeWindowedSerde(serde.String(), 10*wms), serde.Int64())
	pipeW(d, "in",
		wrec{k0, "", 100}, // partition 0: stream time 100
		wrec{k1, "", 5},   // partition 1: stream time 5, on time
		wrec{k0, "", 5})   // partition 0: late
	checkWindowed(t, showWindowed(out.ReadAll()), []string{
		fmt.Sprintf("[%s@100/110] 1 @100", k0),
		fmt.Sprintf("[%s@0/10] 1 @5", k1),
	})
	if n := d.DroppedRecords(); n != 1 {
		t.Fatalf("DroppedRecords = %d, want 1", n)
	}
	store := testutil.WindowStore[string, state.Timestamped[int64]](d, "counts")
	if v, ok, err := store.Partition(1).Fetch(k1, msAt(0)); err != nil || !ok || v.Value != 1 {
		t.Fatalf("partition 1 store: %s@0 = %+v, %v, %v", k1, v, ok, err)
	}
	// The driver also shows the values alone, as Kafka's getWindowStore.
	if v, ok := testutil.WindowStore[string, int64](d, "counts").Fetch(k1, msAt(0)); !ok || v != 1 {
		t.Fatalf("values-only view: %s@0 = %d, %v", k1, v, ok)
	}
}

// A key changed upstream is repartitioned through "<store>-repartition"
// before the windowed aggregation, as for GroupedStream's aggregations.
func TestWindowedAggregationRepartitions(t *testing.T) {
	b := topology.NewBuilder()
	s := kstream.From(b, "in", serde.String(), serde.String())
	g := ktable.GroupBy(s, func(_, v string) string { return v })
	ktable.WindowedBy(g, window.Tumbling(10*wms, 0)).Count(ktable.Named("by-value")).ToStream().To("out")
	top := buildTop(t, b)
	if desc := top.Describe().String(); !strings.Contains(desc, "by-value-repartition") {
		t.Fatalf("no repartition topic:\n%s", desc)
	}
	d := testutil.NewDriver(t, top, testutil.Config{Partitions: map[string]int{"in": 2}})
	out := testutil.NewOutputTopic(d, "out", window.TimeWindowedSerde(serde.String(), 10*wms), serde.Int64())
	pipeW(d, "in", wrec{"a", "x", 1}, wrec{"b", "x", 2}, wrec{"c", "y", 3})
	got := showWindowed(out.ReadAll())
	sort.Strings(got)
	checkWindowed(t, got, []string{"[x@0/10] 1 @1", "[x@0/10] 2 @2", "[y@0/10] 1 @3"})
}

// Invalid window specs fail Build with the operation's name, and
// EmitOnWindowClose applies only to windowed aggregations.
func TestWindowSpecErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		add  func(g *ktable.GroupedStream[string, string])
		want string
	}{
		{"zero size", func(g *ktable.GroupedStream[string, string]) {
			ktable.WindowedBy(g, window.Tumbling(0, 0)).Count()
		}, "WindowedBy: window size 0s must be at least a millisecond"},
		{"advance > size", func(g *ktable.GroupedStream[string, string]) {
			ktable.WindowedBy(g, window.Hopping(10*wms, 20*wms, 0)).Count()
		}, "WindowedBy: window advance 20ms is larger than the window size 10ms"},
		{"negative grace", func(g *ktable.GroupedStream[string, string]) {
			ktable.WindowedBy(g, window.Tumbling(10*wms, -wms)).Count()
		}, "WindowedBy: grace period -1ms is negative"},
		{"sliding", func(g *ktable.GroupedStream[string, string]) {
			ktable.SlidingWindowedBy(g, window.Sliding(0, 0)).Count()
		}, "SlidingWindowedBy: sliding window time difference 0s must be at least a millisecond"},
		{"session", func(g *ktable.GroupedStream[string, string]) {
			ktable.SessionWindowedBy(g, window.Session(-wms, 0)).Count()
		}, "SessionWindowedBy: session inactivity gap -1ms must be at least a millisecond"},
		{"emit on close elsewhere", func(g *ktable.GroupedStream[string, string]) {
			g.Count(ktable.EmitOnWindowClose())
		}, "Count: option"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := topology.NewBuilder()
			tc.add(ktable.GroupByKey(kstream.From(b, "in", serde.String(), serde.String())))
			_, err := b.Build()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Build error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// slidingWindowAgg builds topic → groupByKey → windowedBy(sliding) → an
// aggregation made by agg → "output".
func slidingWindowAgg(t *testing.T, w window.SlidingWindows, agg func(*ktable.TimeWindowedStream[string, string]) ktable.Table[window.Windowed[string], string]) (*testutil.Driver, *testutil.OutputTopic[window.Windowed[string], string]) {
	t.Helper()
	b := topology.NewBuilder()
	s := kstream.From(b, "topic", serde.String(), serde.String())
	agg(ktable.SlidingWindowedBy(ktable.GroupByKey(s), w)).ToStream().To("output")
	d := testutil.NewDriver(t, buildTop(t, b), testutil.Config{})
	return d, testutil.NewOutputTopic(d, "output", window.TimeWindowedSerde(serde.String(), w.TimeDifference), serde.String())
}

func slidingStringAgg(opts ...ktable.Option) func(*ktable.TimeWindowedStream[string, string]) ktable.Table[window.Windowed[string], string] {
	return func(ws *ktable.TimeWindowedStream[string, string]) ktable.Table[window.Windowed[string], string] {
		return ktable.AggregateWindows(ws, stringInit, stringAdder, opts...)
	}
}

// gatherSliding groups output as Kafka's sliding window tests do: by window start,
// the set of "value@timestamp".
func gatherSliding(t *testing.T, recs []testutil.Record[window.Windowed[string], string], d int64) map[int64][]string {
	t.Helper()
	out := map[int64][]string{}
	for _, r := range recs {
		start := r.Key.Window.Start.UnixMilli()
		if end := r.Key.Window.End.UnixMilli(); end != start+d {
			t.Fatalf("window [%d,%d] is not %dms long", start, end, d)
		}
		v := fmt.Sprintf("%s@%d", r.Value, r.Timestamp.UnixMilli())
		if !containsStr(out[start], v) {
			out[start] = append(out[start], v)
		}
	}
	for _, vs := range out {
		sort.Strings(vs)
	}
	return out
}

func containsStr(vs []string, v string) bool {
	for _, x := range vs {
		if x == v {
			return true
		}
	}
	return false
}

func checkSliding(t *testing.T, got, want map[int64][]string) {
	t.Helper()
	for _, vs := range want {
		sort.Strings(vs)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %v\nwant %v", got, want)
	}
}

// Mirrors KStreamSlidingWindowAggregateTest.testAggregateSmallInput.
func TestSlidingAggregateSmallInput(t *testing.T) {
	emitStrategies(t, func(t *testing.T, emitFinal bool, opts ...ktable.Option) {
		d, out := slidingWindowAgg(t, window.Sliding(10*wms, 5*wms), slidingStringAgg(opts...))
		pipeW(d, "topic", wrec{"A", "1", 10}, wrec{"A", "2", 10}, wrec{"A", "3", 14}, wrec{"A", "4", 15},
			wrec{"A", "5", 20}, wrec{"A", "6", 22}, wrec{"A", "7", 30})
		want := map[int64][]string{
			0:  {"0+1@10", "0+1+2@10"},
			4:  {"0+1+2+3@14"},
			5:  {"0+1+2+3+4@15"},
			10: {"0+1+2+3+4+5@20"},
			11: {"0+3@14", "0+3+4@15", "0+3+4+5@20"},
			12: {"0+3+4+5+6@22"},
			15: {"0+4@15", "0+4+5@20", "0+4+5+6@22"},
			16: {"0+5@20", "0+5+6@22"},
			20: {"0+5+6+7@30"},
			21: {"0+6@22", "0+6+7@30"},
			23: {"0+7@30"},
		}
		if emitFinal {
			want = map[int64][]string{
				0:  {"0+1+2@10"},
				4:  {"0+1+2+3@14"},
				5:  {"0+1+2+3+4@15"},
				10: {"0+1+2+3+4+5@20"},
				11: {"0+3+4+5@20"},
				12: {"0+3+4+5+6@22"},
			}
		}
		checkSliding(t, gatherSliding(t, out.ReadAll(), 10), want)
	})
}

// Mirrors KStreamSlidingWindowAggregateTest.testReduceSmallInput.
func TestSlidingReduceSmallInput(t *testing.T) {
	emitStrategies(t, func(t *testing.T, emitFinal bool, opts ...ktable.Option) {
		d, out := slidingWindowAgg(t, window.Sliding(10*wms, 5*wms), func(ws *ktable.TimeWindowedStream[string, string]) ktable.Table[window.Windowed[string], string] {
			return ws.Reduce(func(agg, v string) string { return agg + "+" + v }, opts...)
		})
		pipeW(d, "topic", wrec{"A", "1", 10}, wrec{"A", "2", 14}, wrec{"A", "3", 15}, wrec{"A", "4", 22},
			wrec{"A", "5", 26}, wrec{"A", "6", 30})
		want := map[int64][]string{
			0:  {"1@10"},
			4:  {"1+2@14"},
			5:  {"1+2+3@15"},
			11: {"2@14", "2+3@15"},
			12: {"2+3+4@22"},
			15: {"3@15", "3+4@22"},
			16: {"4@22", "4+5@26"},
			20: {"4+5+6@30"},
			23: {"5@26", "5+6@30"},
			27: {"6@30"},
		}
		if emitFinal {
			want = map[int64][]string{
				0:  {"1@10"},
				4:  {"1+2@14"},
				5:  {"1+2+3@15"},
				11: {"2+3@15"},
				12: {"2+3+4@22"},
			}
		}
		checkSliding(t, gatherSliding(t, out.ReadAll(), 10), want)
	})
}

// Mirrors KStreamSlidingWindowAggregateTest.testAggregateLargeInput: the
// output sorted by key, then window start (a stable sort, as Java's), is
// exactly Kafka's, which also pins the order of the updates of each window.
func TestSlidingAggregateLargeInput(t *testing.T) {
	emitStrategies(t, func(t *testing.T, emitFinal bool, opts ...ktable.Option) {
		grace := 50 * wms
		if emitFinal {
			grace = 10 * wms
		}
		d, out := slidingWindowAgg(t, window.Sliding(10*wms, grace), slidingStringAgg(opts...))
		pipeW(d, "topic",
			wrec{"A", "1", 10}, wrec{"A", "2", 20}, wrec{"A", "3", 22}, wrec{"A", "4", 15},
			wrec{"B", "1", 12}, wrec{"B", "2", 13}, wrec{"B", "3", 18}, wrec{"B", "4", 19}, wrec{"B", "5", 25}, wrec{"B", "6", 14},
			wrec{"C", "1", 11}, wrec{"C", "2", 15}, wrec{"C", "3", 16}, wrec{"C", "4", 21}, wrec{"C", "5", 23},
			wrec{"D", "4", 11}, wrec{"D", "2", 12}, wrec{"D", "3", 29}, wrec{"D", "5", 16})
		recs := out.ReadAll()
		sort.SliceStable(recs, func(i, j int) bool {
			if recs[i].Key.Key != recs[j].Key.Key {
				return recs[i].Key.Key < recs[j].Key.Key
			}
			return recs[i].Key.Window.Start.Before(recs[j].Key.Window.Start)
		})
		if emitFinal {
			checkWindowed(t, showWindowed(recs), []string{
				"[A@0/10] 0+1 @10",
				"[A@5/15] 0+1+4 @15",
				"[B@2/12] 0+1 @12",
				"[B@3/13] 0+1+2 @13",
				"[B@8/18] 0+1+2+3+6 @18",
				"[C@5/15] 0+2 @15",
				"[C@6/16] 0+2+3 @16",
			})
			return
		}
		checkWindowed(t, showWindowed(recs), []string{
			"[A@0/10] 0+1 @10",
			"[A@5/15] 0+1+4 @15",
			"[A@10/20] 0+1+2 @20",
			"[A@10/20] 0+1+2+4 @20",
			"[A@11/21] 0+2 @20",
			"[A@11/21] 0+2+4 @20",
			"[A@12/22] 0+2+3 @22",
			"[A@12/22] 0+2+3+4 @22",
			"[A@16/26] 0+2+3 @22",
			"[A@21/31] 0+3 @22",
			"[B@2/12] 0+1 @12",
			"[B@3/13] 0+1+2 @13",
			"[B@4/14] 0+1+2+6 @14",
			"[B@8/18] 0+1+2+3 @18",
			"[B@8/18] 0+1+2+3+6 @18",
			"[B@9/19] 0+1+2+3+4 @19",
			"[B@9/19] 0+1+2+3+4+6 @19",
			"[B@13/23] 0+2 @13",
			"[B@13/23] 0+2+3 @18",
			"[B@13/23] 0+2+3+4 @19",
			"[B@13/23] 0+2+3+4+6 @19",
			"[B@14/24] 0+3 @18",
			"[B@14/24] 0+3+4 @19",
			"[B@14/24] 0+3+4+6 @19",
			"[B@15/25] 0+3+4+5 @25",
			"[B@19/29] 0+4 @19",
			"[B@19/29] 0+4+5 @25",
			"[B@20/30] 0+5 @25",
			"[C@1/11] 0+1 @11",
			"[C@5/15] 0+1+2 @15",
			"[C@6/16] 0+1+2+3 @16",
			"[C@11/21] 0+1+2+3+4 @21",
			"[C@12/22] 0+2 @15",
			"[C@12/22] 0+2+3 @16",
			"[C@12/22] 0+2+3+4 @21",
			"[C@13/23] 0+2+3+4+5 @23",
			"[C@16/26] 0+3 @16",
			"[C@16/26] 0+3+4 @21",
			"[C@16/26] 0+3+4+5 @23",
			"[C@17/27] 0+4 @21",
			"[C@17/27] 0+4+5 @23",
			"[C@22/32] 0+5 @23",
			"[D@1/11] 0+4 @11",
			"[D@2/12] 0+4+2 @12",
			"[D@6/16] 0+4+2+5 @16",
			"[D@12/22] 0+2 @12",
			"[D@12/22] 0+2+5 @16",
			"[D@13/23] 0+5 @16",
			"[D@19/29] 0+3 @29",
		})
	})
}

// Mirrors KStreamSlidingWindowAggregateTest.testEarlyRecordsSmallInput:
// records before the time difference share the window [0, d].
func TestSlidingEarlyRecordsSmallInput(t *testing.T) {
	emitStrategies(t, func(t *testing.T, emitFinal bool, opts ...ktable.Option) {
		d, out := slidingWindowAgg(t, window.Sliding(50*wms, 0), slidingStringAgg(opts...))
		pipeW(d, "topic", wrec{"A", "1", 0}, wrec{"A", "2", 5}, wrec{"A", "3", 6}, wrec{"A", "4", 3},
			wrec{"A", "5", 13}, wrec{"A", "6", 10}, wrec{"A", "7", 70})
		want := map[int64][]string{
			0:  {"0+1@0", "0+1+2@5", "0+1+2+3@6", "0+1+2+3+4@6", "0+1+2+3+4+5@13", "0+1+2+3+4+5+6@13"},
			1:  {"0+2@5", "0+2+3@6", "0+2+3+4@6", "0+2+3+4+5@13", "0+2+3+4+5+6@13"},
			4:  {"0+2+3@6", "0+2+3+5@13", "0+2+3+5+6@13"},
			6:  {"0+3@6", "0+3+5@13", "0+3+5+6@13"},
			7:  {"0+5@13", "0+5+6@13"},
			11: {"0+5@13"},
			20: {"0+7@70"},
		}
		if emitFinal {
			want = map[int64][]string{
				0:  {"0+1+2+3+4+5+6@13"},
				1:  {"0+2+3+4+5+6@13"},
				4:  {"0+2+3+5+6@13"},
				6:  {"0+3+5+6@13"},
				7:  {"0+5+6@13"},
				11: {"0+5@13"},
			}
		}
		checkSliding(t, gatherSliding(t, out.ReadAll(), 50), want)
	})
}

// Mirrors KStreamSlidingWindowAggregateTest.testEarlyRecordsRepeatedInput.
func TestSlidingEarlyRecordsRepeatedInput(t *testing.T) {
	emitStrategies(t, func(t *testing.T, emitFinal bool, opts ...ktable.Option) {
		d, out := slidingWindowAgg(t, window.Sliding(5*wms, 0), slidingStringAgg(opts...))
		pipeW(d, "topic", wrec{"A", "1", 0}, wrec{"A", "2", 2}, wrec{"A", "3", 4}, wrec{"A", "4", 0},
			wrec{"A", "5", 2}, wrec{"A", "6", 2}, wrec{"A", "7", 0}, wrec{"A", "8", 7})
		want := map[int64][]string{
			0: {"0+1@0", "0+1+2@2", "0+1+2+3+4+5@4", "0+1+2+3+4+5+6@4", "0+1+2+3@4", "0+1+2+3+4@4", "0+1+2+3+4+5+6+7@4"},
			1: {"0+2+3+5+6@4", "0+2@2", "0+2+3@4", "0+2+3+5@4"},
			2: {"0+2+3+5+6+8@7"},
			3: {"0+3@4", "0+3+8@7"},
			5: {"0+8@7"},
		}
		if emitFinal {
			want = map[int64][]string{
				0: {"0+1+2+3+4+5+6+7@4"},
				1: {"0+2+3+5+6@4"},
			}
		}
		checkSliding(t, gatherSliding(t, out.ReadAll(), 5), want)
	})
}

// Mirrors KStreamSlidingWindowAggregateTest.testNoGracePeriodSmallInput.
func TestSlidingNoGracePeriodSmallInput(t *testing.T) {
	emitStrategies(t, func(t *testing.T, emitFinal bool, opts ...ktable.Option) {
		d, out := slidingWindowAgg(t, window.Sliding(50*wms, 0), slidingStringAgg(opts...))
		pipeW(d, "topic", wrec{"A", "1", 100}, wrec{"A", "2", 105}, wrec{"A", "3", 106}, wrec{"A", "4", 103},
			wrec{"A", "5", 113}, wrec{"A", "6", 110})
		want := map[int64][]string{
			50:  {"0+1@100"},
			55:  {"0+1+2@105"},
			56:  {"0+1+2+3@106", "0+1+2+3+4@106"},
			63:  {"0+1+2+3+4+5@113", "0+1+2+3+4+5+6@113"},
			101: {"0+2@105", "0+2+3@106", "0+2+3+4@106", "0+2+3+4+5@113", "0+2+3+4+5+6@113"},
			104: {"0+2+3@106", "0+2+3+5@113", "0+2+3+5+6@113"},
			106: {"0+3@106", "0+3+5@113", "0+3+5+6@113"},
			107: {"0+5@113", "0+5+6@113"},
			111: {"0+5@113"},
		}
		if emitFinal {
			want = map[int64][]string{
				50: {"0+1@100"},
				55: {"0+1+2@105"},
				56: {"0+1+2+3+4@106"},
			}
		}
		checkSliding(t, gatherSliding(t, out.ReadAll(), 50), want)
	})
}

// Mirrors KStreamSlidingWindowAggregateTest.shouldLogAndMeterWhenSkippingExpiredWindowByGrace:
// a sliding window is dropped when end < streamTime - grace (its end is
// inclusive); a record whose right window is closed too is dropped whole.
func TestSlidingSkipsExpiredWindowByGrace(t *testing.T) {
	emitStrategies(t, func(t *testing.T, emitFinal bool, opts ...ktable.Option) {
		d, out := slidingWindowAgg(t, window.Sliding(10*wms, 90*wms), slidingStringAgg(opts...))
		pipeW(d, "topic",
			wrec{"k", "100", 200}, wrec{"k", "0", 100}, wrec{"k", "1", 101}, wrec{"k", "2", 102}, wrec{"k", "3", 103},
			wrec{"k", "4", 104}, wrec{"k", "5", 105}, wrec{"k", "6", 15}, wrec{"k", "101", 300}, wrec{"k", "102", 400})
		if n := d.DroppedRecords(); n != 7 {
			t.Fatalf("DroppedRecords = %d, want 7", n)
		}
		want := []string{"[k@190/200] 0+100 @200", "[k@290/300] 0+101 @300"}
		if !emitFinal {
			want = append(want, "[k@390/400] 0+102 @400")
		}
		checkWindowed(t, showWindowed(out.ReadAll()), want)
	})
}

// The sliding late-drop rule at its boundary: windows include their end,
// so a window ending exactly at streamTime - grace still takes records.
func TestSlidingGraceBoundary(t *testing.T) {
	d, out := slidingWindowAgg(t, window.Sliding(10*wms, 5*wms), slidingStringAgg())
	// Stream time 30, close time 25: the left window of a record at 25,
	// [15,25], is open; the record also joins [20,30] and makes its right
	// window [26,36] from it.
	pipeW(d, "topic", wrec{"k", "a", 30}, wrec{"k", "b", 25})
	checkWindowed(t, showWindowed(out.ReadAll()), []string{"[k@20/30] 0+a @30", "[k@20/30] 0+a+b @30", "[k@15/25] 0+b @25", "[k@26/36] 0+a @30"})
	if n := d.DroppedRecords(); n != 0 {
		t.Fatalf("DroppedRecords = %d, want 0", n)
	}
	// A record at 14 has windows up to [15,24]... its right window would
	// end at 24 < 25: it is dropped whole, and counted once.
	pipeW(d, "topic", wrec{"k", "c", 14})
	if n := d.DroppedRecords(); n != 1 {
		t.Fatalf("DroppedRecords = %d, want 1", n)
	}
	checkWindowed(t, showWindowed(out.ReadAll()), nil)
}

// sessionCountAgg builds topic → groupByKey → windowedBy(w) → count, with
// the store "session-store", → "output".
func sessionCountAgg(t *testing.T, w window.SessionWindows, opts ...ktable.Option) (*testutil.Driver, *testutil.OutputTopic[window.Windowed[string], int64]) {
	t.Helper()
	return sessionCountAggWith(t, testutil.Config{}, w, opts...)
}

// sessionCountAggWith is sessionCountAgg with a driver run with cfg.
func sessionCountAggWith(t *testing.T, cfg testutil.Config, w window.SessionWindows, opts ...ktable.Option) (*testutil.Driver, *testutil.OutputTopic[window.Windowed[string], int64]) {
	t.Helper()
	b := topology.NewBuilder()
	s := kstream.From(b, "topic", serde.String(), serde.String())
	ktable.SessionWindowedBy(ktable.GroupByKey(s), w).Count(append(opts, ktable.Named("session-store"))...).ToStream().To("output")
	d := testutil.NewDriver(t, buildTop(t, b), cfg)
	return d, testutil.NewOutputTopic(d, "output", window.SessionWindowedSerde(serde.String()), serde.Int64())
}

const sessionGapMS = 5 * 60 * 1000 // KStreamSessionWindowAggregateProcessorTest.GAP_MS

func sessionRows[V any](d *testutil.Driver, store string) []string {
	var out []string
	for _, kv := range testutil.SessionStore[string, V](d, store).All() {
		out = append(out, fmt.Sprintf("%s@%d/%d=%v", kv.Key.Key, kv.Key.Window.Start.UnixMilli(), kv.Key.Window.End.UnixMilli(), kv.Value))
	}
	return out
}

// Mirrors KStreamSessionWindowAggregateProcessorTest.shouldImmediatelyForwardRemovedSessionsWhenMerging
// and shouldRemoveMergedSessionsFromStateStore: a merge forwards a
// tombstone for the replaced session, then the merged session, each at its
// session's end, and the store holds the merged session only.
func TestSessionMergeForwardsTombstoneThenMerged(t *testing.T) {
	cacheModes(t, func(t *testing.T, cfg testutil.Config) {
		d, out := sessionCountAggWith(t, cfg, window.Session(sessionGapMS*wms, 0))
		pipeW(d, "topic", wrec{"a", "1", 0}, wrec{"a", "1", 5})
		checkWindowed(t, showWindowed(out.ReadAll()), []string{
			"[a@0/0] 1 @0",
			"[a@0/0] null @0",
			"[a@0/5] 2 @5",
		})
		checkWindowed(t, sessionRows[int64](d, "session-store"), []string{"a@0/5=2"})
	})
}

// Mirrors KStreamSessionWindowAggregateProcessorTest.shouldHandleMultipleSessionsAndMerging
// with a commit after every record (so every update is forwarded, with a
// cache or without) and, with EmitOnWindowClose, its emit-final result.
// TestCachedSessionsOneFlush runs it with one commit at the end, as
// Kafka's test flushes its cached store once.
func TestSessionMultipleSessionsAndMerging(t *testing.T) {
	cacheModes(t, func(t *testing.T, cfg testutil.Config) {
		emitStrategies(t, func(t *testing.T, emitFinal bool, opts ...ktable.Option) {
			d, out := sessionCountAggWith(t, cfg, window.Session(sessionGapMS*wms, 0), opts...)
			pipeW(d, "topic",
				wrec{"a", "1", 0}, wrec{"b", "1", 0}, wrec{"c", "1", 0}, wrec{"d", "1", 0}, wrec{"d", "2", sessionGapMS / 2},
				wrec{"a", "2", sessionGapMS + 1}, wrec{"b", "2", sessionGapMS + 1}, wrec{"a", "3", sessionGapMS + 1 + sessionGapMS/2}, wrec{"c", "3", sessionGapMS + 1 + sessionGapMS/2})
			s := func(k string, start, end int64, v string) string {
				return fmt.Sprintf("[%s@%d/%d] %s @%d", k, start, end, v, end)
			}
			const g, h = sessionGapMS, sessionGapMS / 2
			if emitFinal {
				checkWindowed(t, showWindowed(out.ReadAll()), []string{
					s("a", 0, 0, "1"), s("b", 0, 0, "1"), s("c", 0, 0, "1"), s("d", 0, h, "2"),
				})
			} else {
				checkWindowed(t, showWindowed(out.ReadAll()), []string{
					s("a", 0, 0, "1"),
					s("b", 0, 0, "1"),
					s("c", 0, 0, "1"),
					s("d", 0, 0, "1"),
					s("d", 0, 0, "null"),
					s("d", 0, h, "2"),
					s("a", g+1, g+1, "1"),
					s("b", g+1, g+1, "1"),
					s("a", g+1, g+1, "null"),
					s("a", g+1, g+1+h, "2"),
					s("c", g+1+h, g+1+h, "1"),
				})
			}
			// The store keeps sessions for gap + grace + 1ms: those that
			// end by 150000 have expired.
			checkWindowed(t, sessionRows[int64](d, "session-store"), []string{
				fmt.Sprintf("a@%d/%d=2", g+1, g+1+h),
				fmt.Sprintf("b@%d/%d=1", g+1, g+1),
				fmt.Sprintf("c@%d/%d=1", g+1+h, g+1+h),
			})
		})
	})
}

// Mirrors KStreamSessionWindowAggregateProcessorTest.shouldHaveMultipleSessionsForSameIdWhenTimestampApartBySessionGap
// (uncached) and shouldUpdateSessionIfTheSameTime: a record at the time of
// a single-record session replaces its aggregate, with no tombstone.
func TestSessionsApartByGap(t *testing.T) {
	cacheModes(t, func(t *testing.T, cfg testutil.Config) {
		emitStrategies(t, func(t *testing.T, emitFinal bool, opts ...ktable.Option) {
			d, out := sessionCountAggWith(t, cfg, window.Session(sessionGapMS*wms, 0), opts...)
			const now1, now2 = sessionGapMS + 1, 2 * (sessionGapMS + 1)
			pipeW(d, "topic", wrec{"mel", "first", 0}, wrec{"mel", "second", now1}, wrec{"mel", "second", now1},
				wrec{"mel", "third", now2}, wrec{"mel", "third", now2}, wrec{"mel", "third", now2})
			s := func(t, v int64) string { return fmt.Sprintf("[mel@%d/%d] %d @%d", t, t, v, t) }
			if emitFinal {
				checkWindowed(t, showWindowed(out.ReadAll()), []string{s(0, 1), s(now1, 2)})
			} else {
				checkWindowed(t, showWindowed(out.ReadAll()), []string{s(0, 1), s(now1, 1), s(now1, 2), s(now2, 1), s(now2, 2), s(now2, 3)})
			}
		})
	})
}

// Mirrors KStreamSessionWindowAggregateProcessorTest.shouldLogAndMeterWhenSkippingLateRecordWithZeroGrace
// and shouldLogAndMeterWhenSkippingLateRecordWithNonzeroGrace: a record is
// late when its session would end before streamTime - grace - gap; a
// session ending exactly there is still accepted (and kept in the store).
func TestSessionLateRecords(t *testing.T) {
	cacheModes(t, func(t *testing.T, cfg testutil.Config) {
		t.Run("zero grace", func(t *testing.T) {
			d, out := sessionCountAggWith(t, cfg, window.Session(10*wms, 0))
			pipeW(d, "topic", wrec{"dummy", "dummy", 0}, wrec{"OnTime1", "1", 0}, wrec{"dummy", "dummy", 11}, wrec{"Late1", "1", 0})
			checkWindowed(t, showWindowed(out.ReadAll()), []string{"[dummy@0/0] 1 @0", "[OnTime1@0/0] 1 @0", "[dummy@11/11] 1 @11"})
			if n := d.DroppedRecords(); n != 1 {
				t.Fatalf("DroppedRecords = %d, want 1", n)
			}
		})
		t.Run("nonzero grace", func(t *testing.T) {
			d, out := sessionCountAggWith(t, cfg, window.Session(10*wms, wms))
			pipeW(d, "topic", wrec{"dummy", "dummy", 0}, wrec{"OnTime1", "1", 0}, wrec{"dummy", "dummy", 11},
				wrec{"OnTime2", "1", 0})
			// OnTime2's session ends exactly at the close time, 11-1-10,
			// and the store keeps it.
			if got := testutil.SessionStore[string, int64](d, "session-store").Fetch("OnTime2"); len(got) != 1 || got[0].Value != 1 {
				t.Fatalf("store: OnTime2 sessions %v", got)
			}
			pipeW(d, "topic", wrec{"dummy", "dummy", 12}, wrec{"Late1", "1", 0})
			checkWindowed(t, showWindowed(out.ReadAll()), []string{
				"[dummy@0/0] 1 @0", "[OnTime1@0/0] 1 @0", "[dummy@11/11] 1 @11",
				"[OnTime2@0/0] 1 @0", "[dummy@11/11] null @11", "[dummy@11/12] 2 @12",
			})
			if n := d.DroppedRecords(); n != 1 {
				t.Fatalf("DroppedRecords = %d, want 1", n)
			}
		})
	})
}

// Session merging with AggregateSessions and Reduce: a record between two
// sessions merges both (tombstones in order of session end, then the
// merged session); AggregateSessions merges into init() first, as Kafka
// Streams does.
//
// A record does not join a closed session: with no grace, [0,0] has closed
// at stream time 20, and a@10 joins [20,20] only.
func TestSessionMergeAggregateAndReduce(t *testing.T) {
	b := topology.NewBuilder()
	s := kstream.From(b, "topic", serde.String(), serde.String())
	sw := ktable.SessionWindowedBy(ktable.GroupByKey(s), window.Session(10*wms, 10*wms))
	ktable.AggregateSessions(sw, stringInit, stringAdder, func(_ string, a, b string) string { return a + "|" + b },
		ktable.Named("agg")).ToStream().To("aggregated")
	sw.Reduce(func(agg, v string) string { return agg + "+" + v }, ktable.Named("red")).ToStream().To("reduced")
	d := testutil.NewDriver(t, buildTop(t, b), testutil.Config{})
	pipeW(d, "topic", wrec{"a", "1", 0}, wrec{"a", "2", 20}, wrec{"a", "3", 10})
	agg := testutil.NewOutputTopic(d, "aggregated", window.SessionWindowedSerde(serde.String()), serde.String())
	red := testutil.NewOutputTopic(d, "reduced", window.SessionWindowedSerde(serde.String()), serde.String())
	checkWindowed(t, showWindowed(agg.ReadAll()), []string{
		"[a@0/0] 0+1 @0",
		"[a@20/20] 0+2 @20",
		"[a@0/0] null @0",
		"[a@20/20] null @20",
		"[a@0/20] 0|0+1|0+2+3 @20",
	})
	checkWindowed(t, showWindowed(red.ReadAll()), []string{
		"[a@0/0] 1 @0",
		"[a@20/20] 2 @20",
		"[a@0/0] null @0",
		"[a@20/20] null @20",
		"[a@0/20] 1+2+3 @20",
	})
	checkWindowed(t, sessionRows[string](d, "agg"), []string{"a@0/20=0|0+1|0+2+3"})
	checkWindowed(t, sessionRows[string](d, "red"), []string{"a@0/20=1+2+3"})
}

func TestSessionRecordDoesNotJoinClosedSession(t *testing.T) {
	d, out := sessionCountAgg(t, window.Session(10*wms, 0))
	pipeW(d, "topic", wrec{"a", "", 0}, wrec{"a", "", 20}, wrec{"a", "", 10})
	checkWindowed(t, showWindowed(out.ReadAll()), []string{
		"[a@0/0] 1 @0",
		"[a@20/20] 1 @20",
		"[a@20/20] null @20",
		"[a@10/20] 2 @20",
	})
}

// With EmitOnWindowClose, a session is emitted once it closes, at
// streamTime > end + gap + grace, in order of end; sessions merged into
// others are not emitted.
func TestSessionEmitOnWindowClose(t *testing.T) {
	d, out := sessionCountAgg(t, window.Session(10*wms, 5*wms), ktable.EmitOnWindowClose())
	pipeW(d, "topic", wrec{"a", "", 0}, wrec{"a", "", 8}, wrec{"b", "", 3}, wrec{"a", "", 17})
	checkWindowed(t, showWindowed(out.ReadAll()), nil)
	pipeW(d, "topic", wrec{"c", "", 19}) // close time 4: b [3,3] has closed
	checkWindowed(t, showWindowed(out.ReadAll()), []string{"[b@3/3] 1 @3"})
	pipeW(d, "topic", wrec{"c", "", 35}) // close time 20: a [0,17], c [19,19] have closed
	checkWindowed(t, showWindowed(out.ReadAll()), []string{"[a@0/17] 3 @17", "[c@19/19] 1 @19"})
	pipeW(d, "topic", wrec{"c", "", 100})
	checkWindowed(t, showWindowed(out.ReadAll()), []string{"[c@35/35] 1 @35"})
}

// In the spirit of KStreamSlidingWindowAggregateTest.testAggregateRandomInput:
// whatever the arrival order, with a grace that drops nothing, the store
// ends up holding KIP-450's windows: each record's left window [t-d, t]
// ([0, d] before d), and the right window [t+1, t+1+d] of each record
// time that has records in it, each with the count of its records and the
// largest of their timestamps.
func TestSlidingRandomInputMatchesModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := 0; iter < 200; iter++ {
		d := int64(1 + rng.IntN(20))
		n := 1 + rng.IntN(30)
		ts := make([]int64, n)
		for i := range ts {
			ts[i] = int64(rng.IntN(80))
		}
		b := topology.NewBuilder()
		s := kstream.From(b, "topic", serde.String(), serde.String())
		ktable.SlidingWindowedBy(ktable.GroupByKey(s), window.Sliding(time.Duration(d)*wms, time.Hour)).Count(ktable.Named("counts"))
		dr := testutil.NewDriver(t, buildTop(t, b), testutil.Config{})
		var recs []wrec
		for _, x := range ts {
			recs = append(recs, wrec{"k", "", x})
		}
		pipeW(dr, "topic", recs...)

		starts := map[int64]bool{}
		for _, x := range ts {
			starts[max(0, x-d)] = true
			for _, y := range ts {
				if y >= x+1 && y <= x+1+d {
					starts[x+1] = true
				}
			}
		}
		var want []string
		for st := range starts {
			var cnt, maxTs int64 = 0, -1
			for _, y := range ts {
				if y >= st && y <= st+d {
					cnt++
					maxTs = max(maxTs, y)
				}
			}
			want = append(want, fmt.Sprintf("%03d: %d @%d", st, cnt, maxTs))
		}
		sort.Strings(want)
		var got []string
		for _, kv := range testutil.WindowStore[string, state.Timestamped[int64]](dr, "counts").All() {
			got = append(got, fmt.Sprintf("%03d: %d @%d", kv.Key.Window.Start.UnixMilli(), kv.Value.Value, kv.Value.Timestamp.UnixMilli()))
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("d=%d, records at %v:\ngot  %v\nwant %v", d, ts, got, want)
		}
	}
}

// Whatever the arrival order, with a grace that drops nothing, the session
// store ends up holding the sessions of the sorted record times: runs of
// times each within gap of the one before.
func TestSessionRandomInputMatchesModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for iter := 0; iter < 200; iter++ {
		gap := int64(1 + rng.IntN(10))
		n := 1 + rng.IntN(30)
		ts := make([]int64, n)
		for i := range ts {
			ts[i] = int64(rng.IntN(100))
		}
		b := topology.NewBuilder()
		s := kstream.From(b, "topic", serde.String(), serde.String())
		ktable.SessionWindowedBy(ktable.GroupByKey(s), window.Session(time.Duration(gap)*wms, time.Hour)).Count(ktable.Named("sessions"))
		dr := testutil.NewDriver(t, buildTop(t, b), testutil.Config{})
		var recs []wrec
		for _, x := range ts {
			recs = append(recs, wrec{"k", "", x})
		}
		pipeW(dr, "topic", recs...)

		sorted := append([]int64(nil), ts...)
		sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
		var want []string
		first, cnt := sorted[0], 1
		for i := 1; i <= len(sorted); i++ {
			if i < len(sorted) && sorted[i]-sorted[i-1] <= gap {
				cnt++
				continue
			}
			want = append(want, fmt.Sprintf("k@%d/%d=%d", first, sorted[i-1], cnt))
			if i < len(sorted) {
				first, cnt = sorted[i], 1
			}
		}
		if got := sessionRows[int64](dr, "sessions"); !reflect.DeepEqual(got, want) {
			t.Fatalf("gap=%d, records at %v:\ngot  %v\nwant %v", gap, ts, got, want)
		}
	}
}

// With EmitOnWindowClose, every time window that received records is
// emitted exactly once, with the aggregate of the records that were on
// time for it, once stream time passes its end plus grace: random hopping
// windows and out-of-order input against a model of the late-drop rule.
func TestEmitOnWindowCloseRandomInputMatchesModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for iter := 0; iter < 200; iter++ {
		size := int64(1 + rng.IntN(10))
		adv := int64(1 + rng.IntN(int(size)))
		grace := int64(rng.IntN(10))
		w := window.Hopping(time.Duration(size)*wms, time.Duration(adv)*wms, time.Duration(grace)*wms)
		b := topology.NewBuilder()
		s := kstream.From(b, "topic", serde.String(), serde.String())
		ktable.WindowedBy(ktable.GroupByKey(s), w).Count(ktable.EmitOnWindowClose()).ToStream().To("out")
		dr := testutil.NewDriver(t, buildTop(t, b), testutil.Config{})
		out := testutil.NewOutputTopic(dr, "out", window.TimeWindowedSerde(serde.String(), w.Size), serde.Int64())

		type win struct {
			key   string
			start int64
		}
		counts, maxTs := map[win]int64{}, map[win]int64{}
		st := int64(-1)
		var recs []wrec
		for i := 0; i < 1+rng.IntN(40); i++ {
			r := wrec{[]string{"a", "b"}[rng.IntN(2)], "", int64(rng.IntN(60))}
			recs = append(recs, r)
			st = max(st, r.ts)
			for _, ww := range w.WindowsFor(msAt(r.ts)) {
				if ww.End.UnixMilli() > st-grace {
					k := win{r.k, ww.Start.UnixMilli()}
					counts[k]++
					maxTs[k] = max(maxTs[k], r.ts)
				}
			}
		}
		recs = append(recs, wrec{"z", "", 1000}) // closes every window above
		pipeW(dr, "topic", recs...)
		var want []string
		for k, n := range counts {
			want = append(want, fmt.Sprintf("[%s@%d/%d] %d @%d", k.key, k.start, k.start+size, n, maxTs[k]))
		}
		sort.Strings(want)
		got := showWindowed(out.ReadAll())
		sort.Strings(got)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%+v, records %v:\ngot  %v\nwant %v", w, recs, got, want)
		}
	}
}

// With EmitOnWindowClose, every session is emitted exactly once, when it
// closes: random out-of-order input against a model of session merging
// and of the late-drop rule.
func TestSessionEmitOnWindowCloseRandomInputMatchesModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	type session struct {
		key        string
		start, end int64
		n          int64
	}
	for iter := 0; iter < 200; iter++ {
		gap := int64(1 + rng.IntN(10))
		grace := int64(rng.IntN(10))
		b := topology.NewBuilder()
		s := kstream.From(b, "topic", serde.String(), serde.String())
		ktable.SessionWindowedBy(ktable.GroupByKey(s), window.Session(time.Duration(gap)*wms, time.Duration(grace)*wms)).
			Count(ktable.EmitOnWindowClose()).ToStream().To("out")
		dr := testutil.NewDriver(t, buildTop(t, b), testutil.Config{})
		out := testutil.NewOutputTopic(dr, "out", window.SessionWindowedSerde(serde.String()), serde.Int64())

		var model []session
		st := int64(-1)
		var recs []wrec
		for i := 0; i < 1+rng.IntN(40); i++ {
			r := wrec{[]string{"a", "b"}[rng.IntN(2)], "", int64(rng.IntN(100))}
			recs = append(recs, r)
			st = max(st, r.ts)
			closeTime := st - grace - gap
			merged := session{r.k, r.ts, r.ts, 1}
			var keep []session
			for _, x := range model {
				if x.key == r.k && x.end >= r.ts-gap && x.start <= r.ts+gap && x.end >= closeTime {
					merged.start, merged.end, merged.n = min(merged.start, x.start), max(merged.end, x.end), merged.n+x.n
					continue
				}
				keep = append(keep, x)
			}
			if merged.end < closeTime {
				continue // late: the model is unchanged
			}
			model = append(keep, merged)
		}
		recs = append(recs, wrec{"z", "", 1000}) // closes every session above
		pipeW(dr, "topic", recs...)
		var want []string
		for _, x := range model {
			want = append(want, fmt.Sprintf("[%s@%d/%d] %d @%d", x.key, x.start, x.end, x.n, x.end))
		}
		sort.Strings(want)
		got := showWindowed(out.ReadAll())
		sort.Strings(got)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("gap %d grace %d, records %v:\ngot  %v\nwant %v", gap, grace, recs, got, want)
		}
	}
}
