package ktable_test

import (
	"fmt"

	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
)

// A customer's clicks (strings) and purchases (amounts in cents) fold into
// one summary per customer, in one store: no join of two tables, each
// stream with its own aggregator.
func ExampleCogroup() {
	type summary struct {
		Clicks int
		Spent  int64
	}
	b := topology.NewBuilder()
	topology.RegisterSerde(b, serde.JSON[summary]())
	clicks := ktable.GroupByKey(kstream.From(b, "clicks", serde.String(), serde.String()))
	purchases := ktable.GroupByKey(kstream.From(b, "purchases", serde.String(), serde.Int64()))

	cg := ktable.Cogroup(clicks, func(_ string, _ string, s summary) summary { s.Clicks++; return s })
	cg = ktable.CogroupWith(cg, purchases, func(_ string, cents int64, s summary) summary { s.Spent += cents; return s })
	summaries := cg.Aggregate(func() summary { return summary{} }, ktable.Named("summaries"))
	summaries.ToStream().To("summaries")

	top, err := b.Build()
	if err != nil {
		panic(err)
	}
	d := testutil.NewDriver(exampleT{}, top, testutil.Config{}) // in a test: pass t
	testutil.NewInputTopic(d, "clicks", serde.String(), serde.String()).Pipe("ann", "/shoes")
	testutil.NewInputTopic(d, "purchases", serde.String(), serde.Int64()).Pipe("ann", 4999)
	testutil.NewInputTopic(d, "clicks", serde.String(), serde.String()).Pipe("ann", "/socks")
	out := testutil.NewOutputTopic[string, summary](d, "summaries", nil, nil)
	for _, kv := range out.ReadKeyValues() {
		fmt.Printf("%s %+v\n", kv.Key, kv.Value)
	}
	// Output:
	// ann {Clicks:1 Spent:0}
	// ann {Clicks:1 Spent:4999}
	// ann {Clicks:2 Spent:4999}
}
