package join_test

import (
	"fmt"

	"github.com/strata-go/strata/join"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
)

// Enrich orders, keyed by order ID, with the name of their product from a
// global table keyed by product ID: no repartitioning, whatever the
// partitioning of the two topics. An order of an unknown product is joined
// with nil by the left join and dropped by the inner join.
func ExampleStreamGlobal() {
	b := topology.NewBuilder()
	products := ktable.Global(b, "products", serde.String(), serde.String())
	orders := kstream.From(b, "orders", serde.String(), serde.String()) // order ID → product ID
	productOf := func(_, productID string) string { return productID }
	join.StreamGlobal(orders, products, productOf, func(order, _, name string) string {
		return order + " buys " + name
	}).To("enriched", kstream.WithSerdes(serde.String(), serde.String()))
	join.StreamGlobalLeft(orders, products, productOf, func(order, productID string, name *string) string {
		if name == nil {
			return order + " buys unknown product " + productID
		}
		return order + " buys " + *name
	}).To("enriched-all", kstream.WithSerdes(serde.String(), serde.String()))
	top, err := b.Build()
	if err != nil {
		panic(err)
	}

	d := testutil.NewDriver(tableExampleT{}, top, testutil.Config{ // in a test: pass t
		Partitions: map[string]int{"products": 3, "orders": 2},
	})
	testutil.NewInputTopic(d, "products", serde.String(), serde.String()).Pipe("p1", "a lamp")
	in := testutil.NewInputTopic(d, "orders", serde.String(), serde.String())
	in.Pipe("o1", "p1")
	in.Pipe("o2", "p2")
	fmt.Println(testutil.NewOutputTopic(d, "enriched", serde.String(), serde.String()).ReadValues())
	fmt.Println(testutil.NewOutputTopic(d, "enriched-all", serde.String(), serde.String()).ReadValues())
	// Output:
	// [o1 buys a lamp]
	// [o1 buys a lamp o2 buys unknown product p2]
}
