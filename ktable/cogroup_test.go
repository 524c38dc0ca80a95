package ktable_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/strata-go/strata/join"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
	"github.com/strata-go/strata/window"
)

// The tests of this file replay Kafka Streams' CogroupedKStreamImplTest
// (and KGroupedStreamImplTest's cogroup case), each named after the Kafka
// test it mirrors. Kafka's aggregators: STRING_AGGREGATOR appends the
// value, STRING_SUM_AGGREGATOR adds it as a number, MockAggregator's
// TOSTRING_ADDER and TOSTRING_REMOVER append "+v" and "-v"; STRING_INIT is
// "0".

func stringAggregator(_ string, v, agg string) string { return agg + v }
func stringSumAggregator(_ string, v string, agg int32) int32 {
	n, _ := strconv.Atoi(v)
	return agg + int32(n)
}
func stringRemover(_ string, v, agg string) string { return agg + "-" + v }
func emptyInit() string                            { return "" }

// sessionMerger is SessionWindowedCogroupedKStreamImplTest's merger.
func sessionMerger(_ string, a, b string) string { return a + "+" + b }

// cogroupInputs reads topics "one", "two" and "three" as grouped streams of
// strings.
func cogroupInputs(b *topology.Builder) (one, two, three *ktable.GroupedStream[string, string]) {
	group := func(topic string) *ktable.GroupedStream[string, string] {
		return ktable.GroupByKey(kstream.From(b, topic, serde.String(), serde.String()))
	}
	return group("one"), group("two"), group("three")
}

// cogroupRun pipes records ("topic k v ms") and returns what "output"
// received, as "key:value@ms".
func cogroupRun[V any](t *testing.T, b *topology.Builder, vs serde.Serde[V], recs ...string) []string {
	t.Helper()
	d := testutil.NewDriver(t, mustBuild(t, b), testutil.Config{})
	out := testutil.NewOutputTopic(d, "output", serde.String(), vs)
	ins := map[string]*testutil.InputTopic[string, string]{}
	for _, r := range recs {
		f := strings.Fields(r)
		in := ins[f[0]]
		if in == nil {
			in = testutil.NewInputTopic(d, f[0], serde.String(), serde.String())
			ins[f[0]] = in
		}
		ms, err := strconv.ParseInt(f[3], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		if f[2] == "null" {
			pipeDelete(t, in, f[1], tsAt(ms))
			continue
		}
		in.PipeAt(f[1], f[2], tsAt(ms))
	}
	return readOutputs(out)
}

func TestCogroupAggregate(t *testing.T) {
	t.Run("CogroupedKStreamImplTest.shouldCogroupAndAggregateSingleKStreams", func(t *testing.T) {
		b := topology.NewBuilder()
		one, _, _ := cogroupInputs(b)
		ktable.Cogroup(one, stringAggregator).Aggregate(emptyInit).ToStream().To("output")
		sameList(t, "output", cogroupRun(t, b, serde.String(),
			"one k1 A 0", "one k2 B 0", "one k2 B 0", "one k1 A 0"),
			"k1:A@0", "k2:B@0", "k2:BB@0", "k1:AA@0")
	})
	t.Run("CogroupedKStreamImplTest.testCogroupHandleNullValues", func(t *testing.T) {
		b := topology.NewBuilder()
		one, _, _ := cogroupInputs(b)
		ktable.Cogroup(one, stringAggregator).Aggregate(emptyInit).ToStream().To("output")
		d := testutil.NewDriver(t, mustBuild(t, b), testutil.Config{})
		in := testutil.NewInputTopic(d, "one", serde.String(), serde.String())
		out := testutil.NewOutputTopic(d, "output", serde.String(), serde.String())
		in.PipeAt("k1", "A", tsAt(0))
		in.PipeAt("k2", "B", tsAt(0))
		pipeDelete(t, in, "k2", tsAt(0))
		in.PipeAt("k2", "B", tsAt(0))
		in.PipeAt("k1", "A", tsAt(0))
		sameList(t, "output", readOutputs(out), "k1:A@0", "k2:B@0", "k2:BB@0", "k1:AA@0")
		if n := d.DroppedRecords(); n != 1 {
			t.Fatalf("dropped %d records, want the null value", n)
		}
	})
	t.Run("CogroupedKStreamImplTest.shouldCogroupAndAggregateTwoKStreamsWithDistinctKeys", func(t *testing.T) {
		b := topology.NewBuilder()
		one, two, _ := cogroupInputs(b)
		cg := ktable.Cogroup(one, stringAggregator)
		ktable.CogroupWith(cg, two, stringAggregator).Aggregate(emptyInit).ToStream().To("output")
		sameList(t, "output", cogroupRun(t, b, serde.String(),
			"one k1 A 0", "one k1 A 1", "one k1 A 10", "one k1 A 100",
			"two k2 B 100", "two k2 B 200", "two k2 B 1", "two k2 B 500", "two k2 B 500", "two k2 B 100"),
			"k1:A@0", "k1:AA@1", "k1:AAA@10", "k1:AAAA@100",
			"k2:B@100", "k2:BB@200", "k2:BBB@200", "k2:BBBB@500", "k2:BBBBB@500", "k2:BBBBBB@500")
	})
	t.Run("CogroupedKStreamImplTest.shouldCogroupAndAggregateTwoKStreamsWithSharedKeys", func(t *testing.T) {
		b := topology.NewBuilder()
		one, two, _ := cogroupInputs(b)
		cg := ktable.Cogroup(one, stringAggregator)
		ktable.CogroupWith(cg, two, stringAggregator).Aggregate(emptyInit).ToStream().To("output")
		sameList(t, "output", cogroupRun(t, b, serde.String(),
			"one k1 A 0", "one k2 A 1", "one k1 A 10", "one k2 A 100",
			"two k2 B 100", "two k2 B 200", "two k1 B 1", "two k2 B 500", "two k1 B 500", "two k2 B 500",
			"two k3 B 500", "two k2 B 100"),
			"k1:A@0", "k2:A@1", "k1:AA@10", "k2:AA@100", "k2:AAB@100", "k2:AABB@200",
			"k1:AAB@10", "k2:AABBB@500", "k1:AABB@500", "k2:AABBBB@500", "k3:B@500", "k2:AABBBBB@500")
	})
	sums := []string{"k1:1@0", "k2:1@1", "k1:2@10", "k2:2@100", "k2:4@100", "k2:6@200",
		"k1:4@10", "k2:8@500", "k1:6@500", "k2:11@500", "k3:2@500", "k2:13@500"}
	sumInput := []string{"one k1 1 0", "one k2 1 1", "one k1 1 10", "one k2 1 100",
		"two k2 2 100", "two k2 2 200", "two k1 2 1", "two k2 2 500", "two k1 2 500", "two k2 3 500",
		"two k3 2 500", "two k2 2 100"}
	t.Run("CogroupedKStreamImplTest.shouldAllowDifferentOutputTypeInCoGroup", func(t *testing.T) {
		b := topology.NewBuilder()
		one, two, _ := cogroupInputs(b)
		cg := ktable.Cogroup(one, stringSumAggregator)
		ktable.CogroupWith(cg, two, stringSumAggregator).
			Aggregate(func() int32 { return 0 }, ktable.Named("store1"), ktable.WithValueSerde(serde.Int32())).
			ToStream().To("output")
		sameList(t, "output", cogroupRun(t, b, serde.Int32(), sumInput...), sums...)
	})
	t.Run("CogroupedKStreamImplTest.shouldCoGroupStreamsWithDifferentInputTypes", func(t *testing.T) {
		b := topology.NewBuilder()
		one := ktable.GroupByKey(kstream.From(b, "one", serde.String(), serde.String()))
		two := ktable.GroupByKey(kstream.From(b, "two", serde.String(), serde.Int32()))
		cg := ktable.Cogroup(one, stringSumAggregator)
		ktable.CogroupWith(cg, two, func(_ string, v int32, agg int32) int32 { return agg + v }).
			Aggregate(func() int32 { return 0 }, ktable.Named("store1")).
			ToStream().To("output")
		d := testutil.NewDriver(t, mustBuild(t, b), testutil.Config{})
		in1 := testutil.NewInputTopic(d, "one", serde.String(), serde.String())
		in2 := testutil.NewInputTopic(d, "two", serde.String(), serde.Int32())
		out := testutil.NewOutputTopic(d, "output", serde.String(), serde.Int32())
		for _, r := range sumInput {
			f := strings.Fields(r)
			ms, _ := strconv.ParseInt(f[3], 10, 64)
			if f[0] == "one" {
				in1.PipeAt(f[1], f[2], tsAt(ms))
			} else {
				n, _ := strconv.Atoi(f[2])
				in2.PipeAt(f[1], int32(n), tsAt(ms))
			}
		}
		// Kafka's test stops reading after k3; the last record makes 13.
		sameList(t, "output", readOutputs(out), sums...)
	})
	t.Run("CogroupedKStreamImplTest.testCogroupKeyMixedAggregators", func(t *testing.T) {
		b := topology.NewBuilder()
		one, two, _ := cogroupInputs(b)
		cg := ktable.Cogroup(one, stringRemover)
		ktable.CogroupWith(cg, two, stringAdder).
			Aggregate(stringInit, ktable.Named("store1"), ktable.WithValueSerde(serde.String())).
			ToStream().To("output")
		sameList(t, "output", cogroupRun(t, b, serde.String(),
			"one k1 1 0", "one k2 1 1", "one k1 1 10", "one k2 1 100",
			"two k1 2 500", "two k2 2 500", "two k1 2 500", "two k2 2 100"),
			"k1:0-1@0", "k2:0-1@1", "k1:0-1-1@10", "k2:0-1-1@100",
			"k1:0-1-1+2@500", "k2:0-1-1+2@500", "k1:0-1-1+2+2@500", "k2:0-1-1+2+2@500")
	})
	t.Run("CogroupedKStreamImplTest.testCogroupWithThreeGroupedStreams", func(t *testing.T) {
		b := topology.NewBuilder()
		one, two, three := cogroupInputs(b)
		cg := ktable.Cogroup(one, stringAggregator)
		cg = ktable.CogroupWith(cg, two, stringAggregator)
		cg = ktable.CogroupWith(cg, three, stringAggregator)
		cg.Aggregate(emptyInit).ToStream().To("output")
		sameList(t, "output", cogroupRun(t, b, serde.String(),
			"one k1 A 0", "one k2 A 1", "one k1 A 10", "one k2 A 100",
			"two k2 B 100", "two k2 B 200", "two k1 B 1", "two k2 B 500",
			"three k1 B 500", "three k2 B 500", "three k3 B 500", "three k2 B 100"),
			"k1:A@0", "k2:A@1", "k1:AA@10", "k2:AA@100", "k2:AAB@100", "k2:AABB@200",
			"k1:AAB@10", "k2:AABBB@500", "k1:AABB@500", "k2:AABBBB@500", "k3:B@500", "k2:AABBBBB@500")
	})
	t.Run("CogroupedKStreamImplTest.testCogroupWithKTableKTableInnerJoin", func(t *testing.T) {
		b := topology.NewBuilder()
		one := ktable.GroupByKey(kstream.From(b, "one", serde.String(), serde.String()))
		two := ktable.GroupByKey(kstream.From(b, "two", serde.String(), serde.String()))
		cg := ktable.Cogroup(one, stringAggregator)
		table1 := ktable.CogroupWith(cg, two, stringAggregator).Aggregate(emptyInit, ktable.Named("store"))
		table2 := ktable.From(b, "three", serde.String(), serde.String())
		join.Tables(table1, table2, func(_ string, l, r string) string { return l + "+" + r }).ToStream().To("output")
		d := testutil.NewDriver(t, mustBuild(t, b), testutil.Config{})
		out := testutil.NewOutputTopic(d, "output", serde.String(), serde.String())
		testutil.NewInputTopic(d, "one", serde.String(), serde.String()).PipeAt("k1", "A", tsAt(5))
		testutil.NewInputTopic(d, "two", serde.String(), serde.String()).PipeAt("k2", "B", tsAt(6))
		sameList(t, "output before the table", readOutputs(out))
		three := testutil.NewInputTopic(d, "three", serde.String(), serde.String())
		three.PipeAt("k1", "C", tsAt(0))
		three.PipeAt("k2", "D", tsAt(10))
		sameList(t, "output", readOutputs(out), "k1:A+C@5", "k2:B+D@10")
	})
}

// TestCogroupStore checks that the cogroup's one store holds the
// aggregates, read by key across tasks, and that it is restored from its
// changelog, "<app>-<store>-changelog".
func TestCogroupStore(t *testing.T) {
	b := topology.NewBuilder()
	one, two, _ := cogroupInputs(b)
	cg := ktable.Cogroup(one, stringAggregator)
	ktable.CogroupWith(cg, two, stringRemover).Aggregate(emptyInit, ktable.Named("agg")).ToStream().To("output")
	top := mustBuild(t, b)
	d := testutil.NewDriver(t, top, testutil.Config{ApplicationID: "app", Partitions: map[string]int{"one": 3, "two": 3}})
	testutil.NewInputTopic(d, "one", serde.String(), serde.String()).PipeAt("k", "A", tsAt(1))
	testutil.NewInputTopic(d, "two", serde.String(), serde.String()).PipeAt("k", "B", tsAt(2))
	testutil.NewInputTopic(d, "one", serde.String(), serde.String()).PipeAt("j", "C", tsAt(3))
	store := testutil.TimestampedKeyValueStore[string, string](d, "agg")
	if v, ok := store.Get("k"); !ok || v.Value != "A-B" || v.Timestamp.UnixMilli() != 2 {
		t.Fatalf("agg[k] = %+v, %v; want A-B at 2", v, ok)
	}
	if v, ok := store.Get("j"); !ok || v.Value != "C" {
		t.Fatalf("agg[j] = %+v, %v; want C", v, ok)
	}
	changelog := testutil.NewOutputTopic(d, "app-agg-changelog", serde.String(), serde.Bytes())
	if n := changelog.Len(); n != 3 {
		t.Fatalf("changelog holds %d records, want 3", n)
	}
}

// TestCogroupBuildErrors mirrors the argument checks of
// CogroupedKStreamImplTest and KGroupedStreamImplTest. Go has no null
// Named or Materialized to pass; a nil function, an empty name, windows
// that are not valid and a grouped stream given twice fail Build.
func TestCogroupBuildErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		build func(b *topology.Builder)
		want  string
	}{
		{"KGroupedStreamImplTest.shouldNotHaveNullAggregatorOnCogroup", func(b *topology.Builder) {
			one, _, _ := cogroupInputs(b)
			ktable.Cogroup[string, string, string](one, nil).Aggregate(emptyInit)
		}, "Cogroup: nil aggregator"},
		{"CogroupedKStreamImplTest.shouldNotHaveNullAggregatorOnCogroup", func(b *topology.Builder) {
			one, two, _ := cogroupInputs(b)
			ktable.CogroupWith(ktable.Cogroup(one, stringAggregator), two, nil).Aggregate(emptyInit)
		}, "Cogroup: nil aggregator"},
		{"CogroupedKStreamImplTest.shouldNotHaveNullInitializerOnAggregate", func(b *topology.Builder) {
			one, _, _ := cogroupInputs(b)
			ktable.Cogroup(one, stringAggregator).Aggregate(nil)
		}, "CogroupedStream.Aggregate: nil initializer"},
		{"CogroupedKStreamImplTest.shouldNotHaveNullNamedOnAggregate", func(b *topology.Builder) {
			one, _, _ := cogroupInputs(b)
			ktable.Cogroup(one, stringAggregator).Aggregate(emptyInit, ktable.Named(""))
		}, "Named with an empty name"},
		{"CogroupedKStreamImplTest.shouldNotHaveNullWindowOnWindowedByTime", func(b *topology.Builder) {
			one, _, _ := cogroupInputs(b)
			ktable.Cogroup(one, stringAggregator).WindowedBy(window.TimeWindows{}).Aggregate(emptyInit)
		}, "CogroupedStream.WindowedBy"},
		{"CogroupedKStreamImplTest.shouldNotHaveNullWindowOnWindowedBySession", func(b *topology.Builder) {
			one, _, _ := cogroupInputs(b)
			ktable.Cogroup(one, stringAggregator).SessionWindowedBy(window.SessionWindows{}).Aggregate(emptyInit, sessionMerger)
		}, "CogroupedStream.SessionWindowedBy"},
		{"CogroupedKStreamImplTest.shouldNotHaveNullWindowOnWindowedBySliding", func(b *topology.Builder) {
			one, _, _ := cogroupInputs(b)
			ktable.Cogroup(one, stringAggregator).SlidingWindowedBy(window.SlidingWindows{}).Aggregate(emptyInit)
		}, "CogroupedStream.SlidingWindowedBy"},
		{"TimeWindowedCogroupedKStreamImplTest.shouldNotHaveNullInitializerOnAggregate", func(b *topology.Builder) {
			one, _, _ := cogroupInputs(b)
			ktable.Cogroup(one, stringAggregator).WindowedBy(window.Tumbling(500*wms, 0)).Aggregate(nil)
		}, "TimeWindowedCogroupedStream.Aggregate: nil initializer"},
		{"SlidingWindowedCogroupedKStreamImplTest.shouldNotHaveNullInitializerOnAggregate", func(b *topology.Builder) {
			one, _, _ := cogroupInputs(b)
			ktable.Cogroup(one, stringAggregator).SlidingWindowedBy(window.Sliding(500*wms, 2000*wms)).Aggregate(nil)
		}, "TimeWindowedCogroupedStream.Aggregate: nil initializer"},
		{"SessionWindowedCogroupedKStreamImplTest.shouldNotHaveNullInitializerOnAggregate", func(b *topology.Builder) {
			one, _, _ := cogroupInputs(b)
			ktable.Cogroup(one, stringAggregator).SessionWindowedBy(window.Session(100*wms, 0)).Aggregate(nil, sessionMerger)
		}, "SessionWindowedCogroupedStream.Aggregate: nil initializer"},
		{"SessionWindowedCogroupedKStreamImplTest.shouldNotHaveNullSessionMergerOnAggregate", func(b *topology.Builder) {
			one, _, _ := cogroupInputs(b)
			ktable.Cogroup(one, stringAggregator).SessionWindowedBy(window.Session(100*wms, 0)).Aggregate(stringInit, nil)
		}, "SessionWindowedCogroupedStream.Aggregate: nil session merger"},
		{"the same grouped stream twice", func(b *topology.Builder) {
			one, _, _ := cogroupInputs(b)
			ktable.CogroupWith(ktable.Cogroup(one, stringAggregator), one, stringAggregator).Aggregate(emptyInit)
		}, "is in the cogroup already"},
		{"emit on window close", func(b *topology.Builder) {
			one, _, _ := cogroupInputs(b)
			ktable.Cogroup(one, stringAggregator).WindowedBy(window.Tumbling(500*wms, 0)).Aggregate(emptyInit, ktable.EmitOnWindowClose())
		}, "option EmitOnWindowClose does not apply"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := topology.NewBuilder()
			tc.build(b)
			_, err := b.Build()
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, topology.ErrInvalidTopology) {
				t.Fatalf("Build error %v, want one saying %q", err, tc.want)
			}
		})
	}
	t.Run("CogroupedKStreamImplTest.shouldThrowNPEInCogroupIfKGroupedStreamIsNull", func(t *testing.T) {
		defer func() {
			if recover() == nil {
				t.Fatal("CogroupWith with a nil grouped stream did not panic")
			}
		}()
		b := topology.NewBuilder()
		one, _, _ := cogroupInputs(b)
		ktable.CogroupWith[string, string, string](ktable.Cogroup(one, stringAggregator), nil, stringAggregator)
	})
}
