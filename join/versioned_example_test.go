package join_test

import (
	"fmt"
	"time"

	"github.com/strata-go/strata/join"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
)

// With a grace period, a stream-table join waits for the table to catch
// up: the shipment at 12:05 is joined only once stream time has passed
// 12:15, and so meets the address update of 12:02 that arrived after it.
func ExampleWithGracePeriod() {
	b := topology.NewBuilder()
	addresses := ktable.From(b, "addresses", serde.String(), serde.String(), ktable.Versioned(time.Hour))
	shipments := kstream.From(b, "shipments", serde.String(), serde.String())
	join.StreamTable(shipments, addresses, func(_ string, item, address string) string {
		return item + " to " + address
	}, join.WithGracePeriod(10*time.Minute)).To("labels")
	top, err := b.Build()
	if err != nil {
		panic(err)
	}

	d := testutil.NewDriver(streamsExampleT{}, top, testutil.Config{}) // in a test: pass t
	a := testutil.NewInputTopic(d, "addresses", serde.String(), serde.String())
	s := testutil.NewInputTopic(d, "shipments", serde.String(), serde.String())
	out := testutil.NewOutputTopic(d, "labels", serde.String(), serde.String())
	noon := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	a.PipeAt("ann", "Old Street 1", noon)
	s.PipeAt("ann", "book", noon.Add(5*time.Minute))
	a.PipeAt("ann", "New Street 2", noon.Add(2*time.Minute)) // late, within the grace period
	fmt.Println(len(out.ReadValues()), "labels so far")
	s.PipeAt("ann", "pen", noon.Add(20*time.Minute)) // moves stream time past 12:15
	for _, v := range out.ReadValues() {
		fmt.Println(v)
	}
	// Output:
	// 0 labels so far
	// book to New Street 2
}
