package topology

import (
	"errors"
	"fmt"
)

// Optimization is a set of rewrites the DSL packages (kstream, ktable, join)
// apply to the topology they build on a Builder, Kafka Streams'
// topology.optimization. None is on by default, as in Kafka Streams: each
// changes the names of internal topics and stores, so turning one on for a
// running application is an incompatible change (its state and in-flight
// records are in the old topics).
type Optimization uint

const (
	// MergeRepartitionTopics gives a stream one repartition topic, however
	// many aggregations, joins and tables read it after its key changed
	// (Kafka Streams' merge of repartition topics): the first of them names
	// the topic and gives its serdes, and the others read it back too.
	// Without it each such operation writes a topic of its own (unless a
	// named grouping shares one among its aggregations). Explicit
	// repartitions (kstream's Stream.Repartition) are never merged, as in
	// Kafka Streams.
	MergeRepartitionTopics Optimization = 1 << iota

	// OptimizeAll is every optimization Strata has, Kafka Streams' "all";
	// optimizations added later join it. Strata has no single-store
	// self-join (Kafka Streams' single.store.self.join): a self-join
	// keeps its two stores.
	OptimizeAll = MergeRepartitionTopics
)

// ErrOptimizeLate is the Build error of a call to [Builder.Optimize] after
// nodes were added: the DSL decides the topology's shape as each operation
// is added.
var ErrOptimizeLate = errors.New("topology: Optimize called after nodes were added")

// Optimize turns on the optimizations o for the topology built on b. Call it
// right after NewBuilder: a call after the first node fails Build with
// [ErrOptimizeLate]. Describe shows the optimized topology.
func (b *Builder) Optimize(o Optimization) {
	if len(b.g.Nodes) > 0 {
		b.Fail(fmt.Errorf("Optimize(%v): %w", o, ErrOptimizeLate))
		return
	}
	b.optimize |= o
}

// Optimizations returns the optimizations turned on for b.
func (b *Builder) Optimizations() Optimization { return b.optimize }

// String names the optimizations of o by Kafka Streams' names
// ("merge.repartition.topics"), or "none".
func (o Optimization) String() string {
	switch o {
	case 0:
		return "none"
	case MergeRepartitionTopics:
		return "merge.repartition.topics"
	}
	return fmt.Sprintf("Optimization(%d)", uint(o))
}
