package join_test

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/strata-go/strata/join"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
)

// repartitionSinks returns the topics the repartition sinks of top write,
// as Kafka's RepartitionOptimizingTest counts them in the description
// ("Sink: .*-repartition").
func repartitionSinks(top *topology.Topology) []string {
	var topics []string
	for _, st := range top.Describe().Subtopologies {
		for _, n := range st.Nodes {
			if n.Kind == topology.KindSink && len(n.Topics) == 1 && strings.HasSuffix(n.Topics[0], "-repartition") {
				topics = append(topics, n.Topics[0])
			}
		}
	}
	slices.Sort(topics)
	return topics
}

// upperValues is RepartitionOptimizingTest's SimpleProcessor: it collects
// the values it is given.
type upperValues struct{ got *[]string }

func (p upperValues) Init(topology.Context[string, string]) error { return nil }
func (p upperValues) Process(r topology.Record[string, string]) error {
	*p.got = append(*p.got, r.Value)
	return nil
}
func (p upperValues) Close() error { return nil }

// TestRepartitionOptimizing mirrors Kafka Streams' RepartitionOptimizingTest
// (shouldSendCorrectRecords_OPTIMIZED, shouldSendCorrectResults_NO_OPTIMIZATION):
// a re-keyed stream read by a processor, a count, an aggregation, a reduce
// after a filter and a peek, and a stream-stream join after a filter. The
// results are the same either way. Unoptimized there are 4 repartition
// topics, as in Kafka. Optimized, the count and the aggregation, which read
// the re-keyed stream itself, share the count's topic; the reduce and the
// join read filters of it and keep theirs, where Kafka moves the filters
// after one merged topic (docs/deviations.md): 3 topics, not Kafka's 1.
func TestRepartitionOptimizing(t *testing.T) {
	for _, tc := range []struct {
		name     string
		optimize topology.Optimization
		topics   []string
	}{
		{"RepartitionOptimizingTest.shouldSendCorrectResults_NO_OPTIMIZATION", 0, []string{
			"aggregate-groupByKey-repartition", "count-groupByKey-repartition", "join-left-repartition", "reduce-groupByKey-repartition"}},
		{"RepartitionOptimizingTest.shouldSendCorrectRecords_OPTIMIZED", topology.MergeRepartitionTopics, []string{
			"count-groupByKey-repartition", "join-left-repartition", "reduce-groupByKey-repartition"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := topology.NewBuilder()
			b.Optimize(tc.optimize)
			source := kstream.From(b, "input", serde.String(), serde.String(), kstream.Named("sourceStream"))
			mapped := kstream.Map(source, func(k, v string) (string, string) { return strings.ToUpper(k), v },
				kstream.Named("source-map"))

			var collected []string
			kstream.Process(kstream.MapValues(mapped.Filter(func(k, _ string) bool { return k == "B" }, kstream.Named("process-filter")),
				func(_, v string) string { return strings.ToUpper(v) }, kstream.Named("process-mapValues")),
				func() topology.Processor[string, string, string, string] { return upperValues{&collected} }, kstream.Named("process"))

			countStream := ktable.GroupByKey(mapped, ktable.Named("count-groupByKey")).
				Count(ktable.Named("count-store")).ToStream()
			countStream.To("outputTopic_0")

			ktable.Aggregate(ktable.GroupByKey(mapped, ktable.Named("aggregate-groupByKey")),
				func() int32 { return 0 }, func(_, v string, agg int32) int32 { return agg + int32(len(v)) },
				ktable.Named("aggregate-store"), ktable.WithValueSerde(serde.Int32())).ToStream().To("outputTopic_1")

			ktable.GroupByKey(mapped.Filter(func(_, _ string) bool { return true }, kstream.Named("reduce-filter")).
				Peek(func(_, _ string) {}, kstream.Named("reduce-peek")), ktable.Named("reduce-groupByKey")).
				Reduce(func(agg, v string) string { return agg + ":" + v }, ktable.Named("reduce-store")).
				ToStream().To("outputTopic_2")

			join.Streams(mapped.Filter(func(k, _ string) bool { return k == "A" }, kstream.Named("join-filter")), countStream,
				join.Within(5*time.Second, 0), func(_ string, v string, n int64) string { return v + ":" + itoa(n) },
				join.Named("join")).To("joinedOutputTopic")

			top := mustTopology(t, b)
			if got := repartitionSinks(top); !slices.Equal(got, tc.topics) {
				t.Fatalf("repartition topics %q, want %q\n%s", got, tc.topics, top.Describe())
			}

			d := testutil.NewDriver(t, top, testutil.Config{})
			in := testutil.NewInputTopic(d, "input", serde.String(), serde.String())
			at := time.UnixMilli(1_000)
			for _, k := range []string{"a", "b", "c"} {
				for _, v := range []string{"foo", "bar", "baz"} {
					in.PipeAt(k, v, at)
				}
			}
			if want := []string{"FOO", "BAR", "BAZ"}; !slices.Equal(collected, want) {
				t.Errorf("processor got %q, want %q", collected, want)
			}
			wantMap(t, "count", testutil.ReadKeyValuesToMap(testutil.NewOutputTopic(d, "outputTopic_0", serde.String(), serde.Int64())),
				map[string]int64{"A": 3, "B": 3, "C": 3})
			wantMap(t, "aggregate", testutil.ReadKeyValuesToMap(testutil.NewOutputTopic(d, "outputTopic_1", serde.String(), serde.Int32())),
				map[string]int32{"A": 9, "B": 9, "C": 9})
			wantMap(t, "reduce", testutil.ReadKeyValuesToMap(testutil.NewOutputTopic(d, "outputTopic_2", serde.String(), serde.String())),
				map[string]string{"A": "foo:bar:baz", "B": "foo:bar:baz", "C": "foo:bar:baz"})
			wantMap(t, "join", testutil.ReadKeyValuesToMap(testutil.NewOutputTopic(d, "joinedOutputTopic", serde.String(), serde.String())),
				map[string]string{"A": "baz:3"})
		})
	}
}

// TestRepartitionOptimizingSharedStream is the case Strata's optimization is
// for: one re-keyed stream read by an aggregation, a stream-table join and
// a stream-stream join gets one repartition topic, named after the first
// of them, instead of three, with the same results.
func TestRepartitionOptimizingSharedStream(t *testing.T) {
	type result struct {
		topics               []string
		counts, labels, pair map[string]string
	}
	run := func(t *testing.T, opt topology.Optimization) result {
		b := topology.NewBuilder()
		b.Optimize(opt)
		orders := kstream.SelectKey(kstream.From(b, "orders", serde.String(), serde.String()),
			func(_, v string) string { return strings.Split(v, "|")[0] })
		customers := ktable.From(b, "customers", serde.String(), serde.String())
		payments := kstream.From(b, "payments", serde.String(), serde.String())
		ktable.GroupByKey(orders).Count(ktable.Named("orders-per-customer")).ToStream().
			To("counts", kstream.WithSerdes(serde.String(), serde.Int64()))
		join.StreamTable(orders, customers, func(_, o, c string) string { return o + "@" + c }).To("labels")
		join.Streams(orders, payments, join.Within(time.Minute, 0), func(_, o, p string) string { return o + "+" + p },
			join.Named("paid")).To("paired")
		top := mustTopology(t, b)
		d := testutil.NewDriver(t, top, testutil.Config{})
		o := testutil.NewInputTopic(d, "orders", serde.String(), serde.String())
		c := testutil.NewInputTopic(d, "customers", serde.String(), serde.String())
		p := testutil.NewInputTopic(d, "payments", serde.String(), serde.String())
		at := time.UnixMilli(10_000)
		c.PipeAt("ann", "Leeds", at)
		p.PipeAt("ann", "card", at)
		o.PipeAt("o1", "ann|book", at)
		o.PipeAt("o2", "bob|pen", at)
		o.PipeAt("o3", "ann|lamp", at.Add(time.Second))
		counts := map[string]string{}
		for k, v := range testutil.ReadKeyValuesToMap(testutil.NewOutputTopic(d, "counts", serde.String(), serde.Int64())) {
			counts[k] = itoa(v)
		}
		return result{
			topics: repartitionSinks(top),
			counts: counts,
			labels: testutil.ReadKeyValuesToMap(testutil.NewOutputTopic(d, "labels", serde.String(), serde.String())),
			pair:   testutil.ReadKeyValuesToMap(testutil.NewOutputTopic(d, "paired", serde.String(), serde.String())),
		}
	}
	plain := run(t, 0)
	merged := run(t, topology.MergeRepartitionTopics)
	if len(plain.topics) != 3 {
		t.Fatalf("unoptimized: repartition topics %q, want 3", plain.topics)
	}
	if want := []string{"orders-per-customer-repartition"}; !slices.Equal(merged.topics, want) {
		t.Fatalf("optimized: repartition topics %q, want %q", merged.topics, want)
	}
	wantMap(t, "counts", merged.counts, map[string]string{"ann": "2", "bob": "1"})
	wantMap(t, "labels", merged.labels, map[string]string{"ann": "ann|lamp@Leeds"})
	wantMap(t, "paired", merged.pair, map[string]string{"ann": "ann|lamp+card"})
	wantMap(t, "counts (unoptimized)", plain.counts, merged.counts)
	wantMap(t, "labels (unoptimized)", plain.labels, merged.labels)
	wantMap(t, "paired (unoptimized)", plain.pair, merged.pair)
}

// TestOptimizeAfterNodes checks that Optimize refuses to change a topology
// whose shape the DSL has already decided.
func TestOptimizeAfterNodes(t *testing.T) {
	b := topology.NewBuilder()
	kstream.From(b, "in", serde.String(), serde.String()).To("out")
	b.Optimize(topology.OptimizeAll)
	if _, err := b.Build(); !errors.Is(err, topology.ErrOptimizeLate) {
		t.Fatalf("Build error %v, want ErrOptimizeLate", err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
