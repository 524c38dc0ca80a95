package testutil_test

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/strata-go/strata/internal/testkit"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
	"github.com/strata-go/strata/window"
)

// exampleT stands in for the *testing.T that a test passes to NewDriver, so
// that the examples can run the driver.
type exampleT = testkit.T

// mustBuild builds b's topology, for the examples.
func mustBuild(b *topology.Builder) *topology.Topology {
	top, err := b.Build()
	if err != nil {
		panic(err)
	}
	return top
}

// A test of a topology: pipe records into its input topics and read what it
// writes to its output topics, each record processed before Pipe returns.
func ExampleNewDriver() {
	b := topology.NewBuilder()
	greetings := kstream.From(b, "greetings", serde.String(), serde.String())
	kstream.MapValues(greetings, func(_, v string) string { return strings.ToUpper(v) }).To("shouts")
	top := mustBuild(b)

	d := testutil.NewDriver(exampleT{}, top, testutil.Config{}) // in a test: pass t
	in := testutil.NewInputTopic(d, "greetings", serde.String(), serde.String())
	out := testutil.NewOutputTopic(d, "shouts", serde.String(), serde.String())
	in.Pipe("ann", "hello")
	in.Pipe("bob", "hi")
	fmt.Println(out.ReadKeyValues())
	// Output:
	// [{ann HELLO} {bob HI}]
}

// Read a table's changelog as the table it makes: the last value of each
// key, deleted keys left out.
func ExampleReadKeyValuesToMap() {
	b := topology.NewBuilder()
	ktable.From(b, "users", serde.String(), serde.String()).ToStream().To("users-copy")
	d := testutil.NewDriver(exampleT{}, mustBuild(b), testutil.Config{}) // in a test: pass t
	in := testutil.NewInputTopic(d, "users", serde.String(), serde.String())
	out := testutil.NewOutputTopic(d, "users-copy", serde.String(), serde.String())
	in.Pipe("u1", "ann")
	in.Pipe("u2", "bob")
	in.Pipe("u1", "anna")
	in.PipeTombstone("u2")
	fmt.Println(testutil.ReadKeyValuesToMap(out))
	// Output:
	// map[u1:anna]
}

// Pipe a tombstone and a record with a null key through a topology with
// String serdes, which would write the zero values as empty strings: the
// records keep their nulls, and the table drops the null key, as Kafka
// Streams does.
func ExampleInputTopic_PipeTombstone() {
	b := topology.NewBuilder()
	ktable.From(b, "users", serde.String(), serde.String()).ToStream().To("users-copy")
	d := testutil.NewDriver(exampleT{}, mustBuild(b), testutil.Config{}) // in a test: pass t
	in := testutil.NewInputTopic(d, "users", serde.String(), serde.String())
	out := testutil.NewOutputTopic(d, "users-copy", serde.String(), serde.String())
	in.Pipe("u1", "ann")
	in.PipeTombstone("u1")
	in.PipeNullKey("nobody")
	for _, r := range out.ReadAll() {
		fmt.Printf("key %q null %v, value %q null %v\n", r.Key, r.NullKey, r.Value, r.NullValue)
	}
	fmt.Println("dropped:", d.DroppedRecords())
	// Output:
	// key "u1" null false, value "ann" null false
	// key "u1" null false, value "" null true
	// dropped: 1
}

// Read an aggregation's store, with and without the timestamps of its rows:
// an aggregate's timestamp is the largest timestamp folded into it.
func ExampleTimestampedKeyValueStore() {
	b := topology.NewBuilder()
	clicks := kstream.From(b, "clicks", serde.String(), serde.String())
	ktable.GroupByKey(clicks).Count(ktable.Named("click-counts"))
	d := testutil.NewDriver(exampleT{}, mustBuild(b), testutil.Config{}) // in a test: pass t
	in := testutil.NewInputTopic(d, "clicks", serde.String(), serde.String())
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	in.PipeAt("ann", "/home", t0)
	in.PipeAt("ann", "/cart", t0.Add(time.Minute))
	in.PipeAt("bob", "/home", t0.Add(30*time.Second))

	n, _ := testutil.KeyValueStore[string, int64](d, "click-counts").Get("ann")
	fmt.Println("ann:", n)
	for _, kv := range testutil.TimestampedKeyValueStore[string, int64](d, "click-counts").All() {
		fmt.Println(kv.Key, kv.Value.Value, kv.Value.Timestamp.UTC().Format("15:04:05"))
	}
	// Output:
	// ann: 2
	// ann 2 12:01:00
	// bob 1 12:00:30
}

// Windowed keys print as Kafka Streams prints them, [key@start/end] in
// Unix milliseconds, which makes a windowed table's output easy to compare.
func ExampleWindowStore() {
	b := topology.NewBuilder()
	clicks := kstream.From(b, "clicks", serde.String(), serde.String())
	ktable.WindowedBy(ktable.GroupByKey(clicks), window.Tumbling(time.Minute, 5*time.Minute)).Count(ktable.Named("per-minute"))
	d := testutil.NewDriver(exampleT{}, mustBuild(b), testutil.Config{}) // in a test: pass t
	in := testutil.NewInputTopic(d, "clicks", serde.String(), serde.String())
	in.PipeAt("ann", "/home", time.UnixMilli(1_000))
	in.PipeAt("ann", "/cart", time.UnixMilli(61_000))
	in.PipeAt("bob", "/home", time.UnixMilli(2_000))
	var rows []string
	for _, kv := range testutil.WindowStore[string, int64](d, "per-minute").All() {
		rows = append(rows, fmt.Sprint(kv.Key, " ", kv.Value))
	}
	sort.Strings(rows)
	fmt.Println(strings.Join(rows, "\n"))
	// Output:
	// [ann@0/60000] 1
	// [ann@60000/120000] 1
	// [bob@0/60000] 1
}
