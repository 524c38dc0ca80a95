package ktable_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
	"github.com/strata-go/strata/window"
)

// Word count, one step per line: Kafka Streams'
// stream.flatMapValues(...).groupBy(...).count().toStream().to(...) reads
// the same in Go once each type-changing step, a function, is named.
func ExampleGroupedStream_Count() {
	b := topology.NewBuilder()
	lines := kstream.From(b, "lines", serde.String(), serde.String())
	words := kstream.FlatMapValues(lines, func(_, line string) []string { return strings.Fields(line) })
	byWord := ktable.GroupBy(words, func(_, word string) string { return word })
	counts := byWord.Count(ktable.Named("word-counts"))
	counts.ToStream().To("counts")
	top, err := b.Build()
	if err != nil {
		panic(err)
	}

	d := testutil.NewDriver(exampleT{}, top, testutil.Config{}) // in a test: pass t
	in := testutil.NewInputTopic(d, "lines", serde.String(), serde.String())
	out := testutil.NewOutputTopic(d, "counts", serde.String(), serde.Int64())
	in.Pipe("", "to be or not to be")
	final := testutil.ReadKeyValuesToMap(out)
	fmt.Println(final["to"], final["be"], final["or"], final["not"])
	// Output:
	// 2 2 1 1
}

// Aggregate is a function, Count and Reduce are methods: Go methods cannot
// take the type parameter of the aggregate. Name the grouped stream, then
// aggregate it, rather than nest the calls.
func ExampleAggregate() {
	type payment struct {
		Account string
		Cents   int64
	}
	b := topology.NewBuilder()
	topology.RegisterSerde(b, serde.JSON[payment]())
	payments := kstream.From[string, payment](b, "payments", nil, nil)

	byAccount := ktable.GroupBy(payments, func(_ string, p payment) string { return p.Account })
	totals := ktable.Aggregate(byAccount,
		func() int64 { return 0 },
		func(_ string, p payment, sum int64) int64 { return sum + p.Cents },
		ktable.Named("totals"))
	totals.ToStream().To("totals")

	top, err := b.Build()
	if err != nil {
		panic(err)
	}
	d := testutil.NewDriver(exampleT{}, top, testutil.Config{}) // in a test: pass t
	in := testutil.NewInputTopic[string, payment](d, "payments", nil, nil)
	out := testutil.NewOutputTopic(d, "totals", serde.String(), serde.Int64())
	in.Pipe("p1", payment{Account: "acc-1", Cents: 500})
	in.Pipe("p2", payment{Account: "acc-2", Cents: 300})
	in.Pipe("p3", payment{Account: "acc-1", Cents: 250})
	for _, kv := range out.ReadKeyValues() {
		fmt.Println(kv.Key, kv.Value)
	}
	// Output:
	// acc-1 500
	// acc-2 300
	// acc-1 750
}

// A windowed count suppressed until each window closes: one final count per
// key and window. The suppression takes the close time from the windows
// (end + 10s of grace), so the window [12:00, 12:01) comes out when stream
// time reaches 12:01:10.
func ExampleUntilWindowCloses() {
	b := topology.NewBuilder()
	views := kstream.From(b, "views", serde.String(), serde.String())
	perMinute := ktable.WindowedBy(ktable.GroupByKey(views), window.Tumbling(time.Minute, 10*time.Second))
	counts := perMinute.Count(ktable.Named("views-per-minute"))
	final := counts.Suppress(ktable.UntilWindowCloses(ktable.Unbounded()))
	final.ToStream().To("final-counts")
	top, err := b.Build()
	if err != nil {
		panic(err)
	}

	d := testutil.NewDriver(exampleT{}, top, testutil.Config{}) // in a test: pass t
	in := testutil.NewInputTopic(d, "views", serde.String(), serde.String())
	out := testutil.NewOutputTopic(d, "final-counts", window.TimeWindowedSerde(serde.String(), time.Minute), serde.Int64())
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	in.PipeAt("ann", "/home", t0.Add(10*time.Second))
	in.PipeAt("ann", "/cart", t0.Add(50*time.Second))
	in.PipeAt("ann", "/pay", t0.Add(65*time.Second))
	fmt.Println("at 12:01:05:", out.Len(), "results")
	in.PipeAt("bob", "/home", t0.Add(70*time.Second))
	for _, kv := range out.ReadKeyValues() {
		fmt.Println("at 12:01:10:", kv.Key, kv.Value)
	}
	// Output:
	// at 12:01:05: 0 results
	// at 12:01:10: [ann@1714564800000/1714564860000] 2
}
