package ktable_test

import (
	"fmt"

	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
)

// Read a topic of exchange rates, with three partitions, as a global table:
// its one store holds the rows of every partition, and a deletion removes a
// row. Join streams with it with join.StreamGlobal.
func ExampleGlobal() {
	b := topology.NewBuilder()
	ktable.Global(b, "rates", serde.String(), serde.Ptr(serde.Float64()), ktable.Named("rates"))
	top, err := b.Build()
	if err != nil {
		panic(err)
	}

	d := testutil.NewDriver(exampleT{}, top, testutil.Config{ // in a test: pass t
		Partitions: map[string]int{"rates": 3},
	})
	rates := testutil.NewInputTopic(d, "rates", serde.String(), serde.Ptr(serde.Float64()))
	rate := func(r float64) *float64 { return &r }
	rates.Pipe("EUR", rate(1.08))
	rates.Pipe("GBP", rate(1.27))
	rates.Pipe("JPY", rate(0.0067))
	rates.Pipe("GBP", nil) // deletes GBP
	for _, kv := range testutil.KeyValueStore[string, *float64](d, "rates").All() {
		fmt.Println(kv.Key, *kv.Value)
	}
	// Output:
	// EUR 1.08
	// JPY 0.0067
}
