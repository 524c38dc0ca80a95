package topology_test

import (
	"fmt"
	"slices"
	"strings"

	"github.com/strata-go/strata/join"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
)

// A stream re-keyed by customer is counted and joined with a table. Each
// operation would write the stream to a repartition topic of its own; with
// MergeRepartitionTopics they share the first one's, which the topology's
// description shows.
func ExampleBuilder_Optimize() {
	repartitionTopics := func(o topology.Optimization) []string {
		b := topology.NewBuilder()
		b.Optimize(o)
		orders := kstream.SelectKey(kstream.From(b, "orders", serde.String(), serde.String()),
			func(_, order string) string { return strings.Split(order, "|")[0] })
		customers := ktable.From(b, "customers", serde.String(), serde.String())
		ktable.GroupByKey(orders).Count(ktable.Named("orders-per-customer")).ToStream().
			To("counts", kstream.WithSerdes(serde.String(), serde.Int64()))
		join.StreamTable(orders, customers, func(_, order, customer string) string {
			return order + " for " + customer
		}, join.Named("labels")).To("labels")
		top, err := b.Build()
		if err != nil {
			panic(err)
		}
		var topics []string
		for _, st := range top.Describe().Subtopologies {
			for _, n := range st.Nodes {
				if n.Kind == topology.KindSink && strings.HasSuffix(n.Topics[0], "-repartition") {
					topics = append(topics, n.Topics[0])
				}
			}
		}
		slices.Sort(topics)
		return topics
	}
	fmt.Println(topology.Optimization(0), repartitionTopics(0))
	fmt.Println(topology.MergeRepartitionTopics, repartitionTopics(topology.MergeRepartitionTopics))
	// Output:
	// none [labels-repartition orders-per-customer-repartition]
	// merge.repartition.topics [orders-per-customer-repartition]
}
