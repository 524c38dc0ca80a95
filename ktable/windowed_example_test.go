package ktable_test

import (
	"fmt"
	"time"

	"github.com/strata-go/strata/internal/testkit"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
	"github.com/strata-go/strata/window"
)

// exampleT stands in for the *testing.T that a test passes to
// testutil.NewDriver, so that the examples can run the driver.
type exampleT = testkit.T

// Count page views per user in tumbling one-minute windows that accept
// records up to ten seconds late. The late view at 12:00:55, arriving when
// stream time is 12:01:20, misses its window's grace and is dropped.
func ExampleWindowedBy() {
	b := topology.NewBuilder()
	views := kstream.From(b, "views", serde.String(), serde.String())
	perMinute := window.Tumbling(time.Minute, 10*time.Second)
	counts := ktable.WindowedBy(ktable.GroupByKey(views), perMinute).Count(ktable.Named("views-per-minute"))
	// The table's key serde writes windowed keys as Kafka Streams does.
	counts.ToStream().To("view-counts")
	top, err := b.Build()
	if err != nil {
		panic(err)
	}

	d := testutil.NewDriver(exampleT{}, top, testutil.Config{}) // in a test: pass t
	in := testutil.NewInputTopic(d, "views", serde.String(), serde.String())
	out := testutil.NewOutputTopic(d, "view-counts", window.TimeWindowedSerde(serde.String(), time.Minute), serde.Int64())
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	in.PipeAt("ann", "/home", t0.Add(10*time.Second))
	in.PipeAt("ann", "/cart", t0.Add(50*time.Second))
	in.PipeAt("ann", "/pay", t0.Add(80*time.Second))
	in.PipeAt("ann", "/help", t0.Add(55*time.Second)) // late
	for _, kv := range out.ReadKeyValues() {
		w := kv.Key.Window
		fmt.Printf("%s [%s, %s) %d\n", kv.Key.Key, w.Start.UTC().Format("15:04"), w.End.UTC().Format("15:04"), kv.Value)
	}
	fmt.Println("dropped:", d.DroppedRecords())
	// Output:
	// ann [12:00, 12:01) 1
	// ann [12:00, 12:01) 2
	// ann [12:01, 12:02) 1
	// dropped: 1
}

// Count clicks per user session, sessions ending after 30 minutes without
// a click, and accepting clicks up to 15 minutes late. A late click between
// two sessions merges them: the old sessions are deleted downstream
// (tombstones), then the merged session is written.
func ExampleSessionWindowedBy() {
	b := topology.NewBuilder()
	clicks := kstream.From(b, "clicks", serde.String(), serde.String())
	sessions := ktable.SessionWindowedBy(ktable.GroupByKey(clicks), window.Session(30*time.Minute, 15*time.Minute))
	sessions.Count().ToStream().To("session-counts")
	top, err := b.Build()
	if err != nil {
		panic(err)
	}

	d := testutil.NewDriver(exampleT{}, top, testutil.Config{}) // in a test: pass t
	in := testutil.NewInputTopic(d, "clicks", serde.String(), serde.String())
	out := testutil.NewOutputTopic(d, "session-counts", window.SessionWindowedSerde(serde.String()), serde.Int64())
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	in.PipeAt("bob", "a", t0)
	in.PipeAt("bob", "b", t0.Add(40*time.Minute))
	in.PipeAt("bob", "c", t0.Add(20*time.Minute)) // within 30 minutes of both
	for _, r := range out.ReadAll() {
		w := r.Key.Window
		count := fmt.Sprint(r.Value)
		if r.NullValue {
			count = "deleted"
		}
		fmt.Printf("%s [%s, %s] %s\n", r.Key.Key, w.Start.UTC().Format("15:04"), w.End.UTC().Format("15:04"), count)
	}
	// Output:
	// bob [12:00, 12:00] 1
	// bob [12:40, 12:40] 1
	// bob [12:00, 12:00] deleted
	// bob [12:40, 12:40] deleted
	// bob [12:00, 12:40] 3
}
