package ktable_test

import (
	"strings"
	"testing"
	"time"

	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
	"github.com/strata-go/strata/window"
)

// The tests of this file replay Kafka Streams'
// TimeWindowedCogroupedKStreamImplTest,
// SlidingWindowedCogroupedKStreamImplTest and
// SessionWindowedCogroupedKStreamImplTest. Their setup cogroups "topic"
// with TOSTRING_ADDER and "topic2" with TOSTRING_REMOVER; some tests
// cogroup "topic" alone. Outputs print as "[key@start/end] value @ms".

// windowedCogroup is the tests' setup: the cogroup of "topic" (adder) and,
// when both, "topic2" (remover).
func windowedCogroup(b *topology.Builder, both bool) *ktable.CogroupedStream[string, string] {
	group := func(topic string) *ktable.GroupedStream[string, string] {
		return ktable.GroupByKey(kstream.From(b, topic, serde.String(), serde.String()))
	}
	cg := ktable.Cogroup(group("topic"), stringAdder)
	if both {
		cg = ktable.CogroupWith(cg, group("topic2"), stringRemover)
	}
	return cg
}

// runWindowed pipes recs, each to "topic" or, with a "topic2/" prefix to
// its key, to "topic2", and returns what "output" received, its keys read
// with keys.
func runWindowed(t *testing.T, b *topology.Builder, keys serde.Serde[window.Windowed[string]], recs ...wrec) []string {
	t.Helper()
	d := testutil.NewDriver(t, mustBuild(t, b), testutil.Config{})
	out := testutil.NewOutputTopic(d, "output", keys, serde.String())
	for _, r := range recs {
		topic := "topic"
		if k, ok := strings.CutPrefix(r.k, "topic2/"); ok {
			topic, r.k = "topic2", k
		}
		pipeW(d, topic, r)
	}
	return showWindowed(out.ReadAll())
}

var (
	timeWindowedKeys    = window.TimeWindowedSerde(serde.String(), 500*wms)
	sessionWindowedKeys = window.SessionWindowedSerde(serde.String())
)

func TestTimeWindowedCogroup(t *testing.T) {
	tumbling := window.Tumbling(500*wms, 0)
	t.Run("TimeWindowedCogroupedKStreamImplTest.timeWindowAggregateTestStreamsTest", func(t *testing.T) {
		b := topology.NewBuilder()
		windowedCogroup(b, true).WindowedBy(tumbling).Aggregate(stringInit).ToStream().To("output")
		checkWindowed(t, runWindowed(t, b, timeWindowedKeys,
			wrec{"k1", "A", 0}, wrec{"k2", "A", 0}, wrec{"k2", "A", 1}, wrec{"k1", "A", 2},
			wrec{"k1", "B", 3}, wrec{"k2", "B", 3}, wrec{"k2", "B", 4}, wrec{"k1", "B", 4}), []string{
			"[k1@0/500] 0+A @0", "[k2@0/500] 0+A @0", "[k2@0/500] 0+A+A @1", "[k1@0/500] 0+A+A @2",
			"[k1@0/500] 0+A+A+B @3", "[k2@0/500] 0+A+A+B @3", "[k2@0/500] 0+A+A+B+B @4", "[k1@0/500] 0+A+A+B+B @4",
		})
	})
	t.Run("TimeWindowedCogroupedKStreamImplTest.timeWindowMixAggregatorsTest", func(t *testing.T) {
		b := topology.NewBuilder()
		windowedCogroup(b, true).WindowedBy(tumbling).Aggregate(stringInit).ToStream().To("output")
		checkWindowed(t, runWindowed(t, b, timeWindowedKeys,
			wrec{"k1", "A", 0}, wrec{"k2", "A", 0}, wrec{"k2", "A", 1}, wrec{"k1", "A", 2},
			wrec{"topic2/k1", "B", 3}, wrec{"topic2/k2", "B", 3}, wrec{"topic2/k2", "B", 4}, wrec{"topic2/k1", "B", 4}), []string{
			"[k1@0/500] 0+A @0", "[k2@0/500] 0+A @0", "[k2@0/500] 0+A+A @1", "[k1@0/500] 0+A+A @2",
			"[k1@0/500] 0+A+A-B @3", "[k2@0/500] 0+A+A-B @3", "[k2@0/500] 0+A+A-B-B @4", "[k1@0/500] 0+A+A-B-B @4",
		})
	})
	t.Run("TimeWindowedCogroupedKStreamImplTest.timeWindowAggregateManyWindowsTest", func(t *testing.T) {
		b := topology.NewBuilder()
		windowedCogroup(b, false).WindowedBy(tumbling).Aggregate(stringInit).ToStream().To("output")
		checkWindowed(t, runWindowed(t, b, timeWindowedKeys,
			wrec{"k1", "A", 0}, wrec{"k2", "A", 499}, wrec{"k2", "A", 500}, wrec{"k1", "A", 500}), []string{
			"[k1@0/500] 0+A @0", "[k2@0/500] 0+A @499", "[k2@500/1000] 0+A @500", "[k1@500/1000] 0+A @500",
		})
	})
	t.Run("TimeWindowedCogroupedKStreamImplTest.timeWindowAggregateOverlappingWindowsTest", func(t *testing.T) {
		b := topology.NewBuilder()
		windowedCogroup(b, false).WindowedBy(window.Hopping(500*wms, 200*wms, 0)).Aggregate(stringInit).ToStream().To("output")
		checkWindowed(t, runWindowed(t, b, timeWindowedKeys,
			wrec{"k1", "A", 0}, wrec{"k2", "A", 0}, wrec{"k1", "B", 250}, wrec{"k2", "B", 250},
			wrec{"k2", "A", 500}, wrec{"k1", "A", 500}), []string{
			"[k1@0/500] 0+A @0", "[k2@0/500] 0+A @0",
			"[k1@0/500] 0+A+B @250", "[k1@200/700] 0+B @250",
			"[k2@0/500] 0+A+B @250", "[k2@200/700] 0+B @250",
			"[k2@200/700] 0+B+A @500", "[k2@400/900] 0+A @500",
			"[k1@200/700] 0+B+A @500", "[k1@400/900] 0+A @500",
		})
	})
	t.Run("TimeWindowedCogroupedKStreamImplTest.timeWindowMixAggregatorsManyWindowsTest", func(t *testing.T) {
		b := topology.NewBuilder()
		windowedCogroup(b, true).WindowedBy(tumbling).Aggregate(stringInit).ToStream().To("output")
		checkWindowed(t, runWindowed(t, b, timeWindowedKeys,
			wrec{"k1", "A", 0}, wrec{"k2", "A", 0}, wrec{"k2", "A", 1}, wrec{"k1", "A", 2},
			wrec{"topic2/k1", "B", 3}, wrec{"topic2/k2", "B", 3}, wrec{"topic2/k2", "B", 501}, wrec{"topic2/k1", "B", 501}), []string{
			"[k1@0/500] 0+A @0", "[k2@0/500] 0+A @0", "[k2@0/500] 0+A+A @1", "[k1@0/500] 0+A+A @2",
			"[k1@0/500] 0+A+A-B @3", "[k2@0/500] 0+A+A-B @3", "[k2@500/1000] 0-B @501", "[k1@500/1000] 0-B @501",
		})
	})
}

func TestSlidingWindowedCogroup(t *testing.T) {
	sliding := window.Sliding(500*wms, 2000*wms)
	t.Run("SlidingWindowedCogroupedKStreamImplTest.slidingWindowAggregateStreamsTest", func(t *testing.T) {
		b := topology.NewBuilder()
		windowedCogroup(b, true).SlidingWindowedBy(sliding).Aggregate(stringInit).ToStream().To("output")
		checkWindowed(t, runWindowed(t, b, timeWindowedKeys,
			wrec{"k1", "A", 500}, wrec{"k2", "A", 500}, wrec{"k2", "A", 501}, wrec{"k1", "A", 502},
			wrec{"k1", "B", 503}, wrec{"k2", "B", 503}, wrec{"k2", "B", 504}, wrec{"k1", "B", 504}), []string{
			"[k1@0/500] 0+A @500",
			"[k2@0/500] 0+A @500",
			"[k2@501/1001] 0+A @501", "[k2@1/501] 0+A+A @501",
			"[k1@501/1001] 0+A @502", "[k1@2/502] 0+A+A @502",
			"[k1@501/1001] 0+A+B @503", "[k1@503/1003] 0+B @503", "[k1@3/503] 0+A+A+B @503",
			"[k2@501/1001] 0+A+B @503", "[k2@502/1002] 0+B @503", "[k2@3/503] 0+A+A+B @503",
			"[k2@502/1002] 0+B+B @504", "[k2@501/1001] 0+A+B+B @504", "[k2@504/1004] 0+B @504", "[k2@4/504] 0+A+A+B+B @504",
			"[k1@503/1003] 0+B+B @504", "[k1@501/1001] 0+A+B+B @504", "[k1@504/1004] 0+B @504", "[k1@4/504] 0+A+A+B+B @504",
		})
	})
	t.Run("SlidingWindowedCogroupedKStreamImplTest.slidingWindowAggregateOverlappingWindowsTest", func(t *testing.T) {
		b := topology.NewBuilder()
		windowedCogroup(b, false).SlidingWindowedBy(sliding).Aggregate(stringInit).ToStream().To("output")
		got := runWindowed(t, b, timeWindowedKeys,
			wrec{"k1", "A", 500}, wrec{"k2", "A", 500}, wrec{"k1", "B", 750}, wrec{"k2", "B", 750},
			wrec{"k2", "A", 1000}, wrec{"k1", "A", 1000})
		// Kafka's test checks keys, values and timestamps; the windows
		// are the left and right windows its comments name.
		checkWindowed(t, got, []string{
			"[k1@0/500] 0+A @500",
			"[k2@0/500] 0+A @500",
			"[k1@501/1001] 0+B @750", "[k1@250/750] 0+A+B @750",
			"[k2@501/1001] 0+B @750", "[k2@250/750] 0+A+B @750",
			"[k2@501/1001] 0+B+A @1000", "[k2@751/1251] 0+A @1000", "[k2@500/1000] 0+A+B+A @1000",
			"[k1@501/1001] 0+B+A @1000", "[k1@751/1251] 0+A @1000", "[k1@500/1000] 0+A+B+A @1000",
		})
	})
}

func TestSessionWindowedCogroup(t *testing.T) {
	gap500 := window.Session(500*wms, 0)
	gap100 := window.Session(100*wms, 24*time.Hour) // the setup's windows
	t.Run("SessionWindowedCogroupedKStreamImplTest.sessionWindowAggregateTest", func(t *testing.T) {
		b := topology.NewBuilder()
		windowedCogroup(b, false).SessionWindowedBy(gap500).Aggregate(stringInit, sessionMerger).ToStream().To("output")
		checkWindowed(t, runWindowed(t, b, sessionWindowedKeys,
			wrec{"k1", "A", 0}, wrec{"k2", "A", 0}, wrec{"k1", "B", 599}, wrec{"k2", "B", 607}), []string{
			"[k1@0/0] 0+A @0", "[k2@0/0] 0+A @0", "[k1@599/599] 0+B @599", "[k2@607/607] 0+B @607",
		})
	})
	t.Run("SessionWindowedCogroupedKStreamImplTest.sessionWindowAggregate2Test", func(t *testing.T) {
		b := topology.NewBuilder()
		windowedCogroup(b, false).SessionWindowedBy(gap500).Aggregate(stringInit, sessionMerger).ToStream().To("output")
		checkWindowed(t, runWindowed(t, b, sessionWindowedKeys,
			wrec{"k1", "A", 0}, wrec{"k1", "A", 0}, wrec{"k2", "B", 599}, wrec{"k1", "B", 607}), []string{
			"[k1@0/0] 0+A @0", "[k1@0/0] 0+0+A+A @0", "[k2@599/599] 0+B @599", "[k1@607/607] 0+B @607",
		})
	})
	t.Run("SessionWindowedCogroupedKStreamImplTest.sessionWindowAggregateTest2StreamsTest", func(t *testing.T) {
		b := topology.NewBuilder()
		windowedCogroup(b, true).SessionWindowedBy(gap100).Aggregate(stringInit, sessionMerger).ToStream().To("output")
		checkWindowed(t, runWindowed(t, b, sessionWindowedKeys,
			wrec{"k1", "A", 0}, wrec{"k1", "A", 84}, wrec{"k1", "A", 113}, wrec{"k1", "A", 199},
			wrec{"k1", "B", 300}, wrec{"k2", "B", 301}, wrec{"k2", "B", 400}, wrec{"k1", "B", 400}), []string{
			"[k1@0/0] 0+A @0",
			"[k1@0/0] null @0", "[k1@0/84] 0+0+A+A @84",
			"[k1@0/84] null @84", "[k1@0/113] 0+0+0+A+A+A @113",
			"[k1@0/113] null @113", "[k1@0/199] 0+0+0+0+A+A+A+A @199",
			"[k1@300/300] 0+B @300",
			"[k2@301/301] 0+B @301",
			"[k2@301/301] null @301", "[k2@301/400] 0+0+B+B @400",
			"[k1@300/300] null @300", "[k1@300/400] 0+0+B+B @400",
		})
	})
	t.Run("SessionWindowedCogroupedKStreamImplTest.sessionWindowMixAggregatorsTest", func(t *testing.T) {
		b := topology.NewBuilder()
		windowedCogroup(b, true).SessionWindowedBy(gap100).Aggregate(stringInit, sessionMerger).ToStream().To("output")
		checkWindowed(t, runWindowed(t, b, sessionWindowedKeys,
			wrec{"k1", "A", 0}, wrec{"k2", "A", 0}, wrec{"k2", "A", 1}, wrec{"k1", "A", 2},
			wrec{"topic2/k1", "B", 3}, wrec{"topic2/k2", "B", 3}, wrec{"topic2/k2", "B", 444}, wrec{"topic2/k1", "B", 444}), []string{
			"[k1@0/0] 0+A @0",
			"[k2@0/0] 0+A @0",
			"[k2@0/0] null @0", "[k2@0/1] 0+0+A+A @1",
			"[k1@0/0] null @0", "[k1@0/2] 0+0+A+A @2",
			"[k1@0/2] null @2", "[k1@0/3] 0+0+0+A+A-B @3",
			"[k2@0/1] null @1", "[k2@0/3] 0+0+0+A+A-B @3",
			"[k2@444/444] 0-B @444",
			"[k1@444/444] 0-B @444",
		})
	})
	t.Run("SessionWindowedCogroupedKStreamImplTest.sessionWindowMixAggregatorsManyWindowsTest", func(t *testing.T) {
		b := topology.NewBuilder()
		windowedCogroup(b, true).SessionWindowedBy(gap100).Aggregate(stringInit, sessionMerger).ToStream().To("output")
		checkWindowed(t, runWindowed(t, b, sessionWindowedKeys,
			wrec{"k1", "A", 0}, wrec{"k2", "A", 0}, wrec{"k2", "A", 1}, wrec{"k1", "A", 2},
			wrec{"topic2/k1", "B", 3}, wrec{"topic2/k2", "B", 500}, wrec{"topic2/k2", "B", 501}, wrec{"topic2/k1", "B", 501}), []string{
			"[k1@0/0] 0+A @0",
			"[k2@0/0] 0+A @0",
			"[k2@0/0] null @0", "[k2@0/1] 0+0+A+A @1",
			"[k1@0/0] null @0", "[k1@0/2] 0+0+A+A @2",
			"[k1@0/2] null @2", "[k1@0/3] 0+0+0+A+A-B @3",
			"[k2@500/500] 0-B @500",
			"[k2@500/500] null @500", "[k2@500/501] 0+0-B-B @501",
			"[k1@501/501] 0-B @501",
		})
	})
}

// TestWindowedCogroupStores checks that a windowed cogroup keeps its
// windows in one window store, read through the driver.
func TestWindowedCogroupStores(t *testing.T) {
	b := topology.NewBuilder()
	windowedCogroup(b, true).WindowedBy(window.Tumbling(500*wms, 0)).Aggregate(stringInit, ktable.Named("w")).ToStream().To("output")
	d := testutil.NewDriver(t, mustBuild(t, b), testutil.Config{})
	pipeW(d, "topic", wrec{"k", "A", 1})
	pipeW(d, "topic2", wrec{"k", "B", 2})
	if v, ok := testutil.WindowStore[string, string](d, "w").Fetch("k", msAt(0)); !ok || v != "0+A-B" {
		t.Fatalf("w[k@0] = %q, %v; want 0+A-B", v, ok)
	}
}
