package topology

import (
	"errors"
	"fmt"
	"strings"
)

// Optimization is a set of rewrites the DSL packages (kstream, ktable, join)
// apply to the topology they build on a Builder, Kafka Streams'
// topology.optimization. None is on by default, as in Kafka Streams: each
// removes or renames internal topics and stores, so turning one on for a
// running application may be an incompatible change (its state and
// in-flight records are in the old topics). MergeRepartitionTopics is one;
// SingleStoreSelfJoin keeps the store whose records the rewritten join
// still needs (see join.Streams).
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

	// SingleStoreSelfJoin makes an inner stream-stream join of a stream
	// with itself (join.Streams(s, s, ...), both sides the same stream)
	// one processor over one window store, with one changelog, instead of
	// two window stores and two join processors (Kafka Streams'
	// single.store.self.join, KIP-862). Each record joins the records the
	// store keeps within its window, and itself, as the two-store join
	// does; see join.Streams for where the two differ. Left and outer
	// self-joins, and joins of a stream with another made from it (a
	// filter of it, say), keep their two stores.
	SingleStoreSelfJoin

	// OptimizeAll is every optimization Strata has, Kafka Streams' "all";
	// optimizations added later join it.
	OptimizeAll = MergeRepartitionTopics | SingleStoreSelfJoin
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

// optimizationNames are Kafka Streams' names of the optimizations, in the
// order String lists them.
var optimizationNames = []struct {
	o    Optimization
	name string
}{
	{MergeRepartitionTopics, "merge.repartition.topics"},
	{SingleStoreSelfJoin, "single.store.self.join"},
}

// String names the optimizations of o by Kafka Streams' names, separated
// by commas as in its topology.optimization setting
// ("merge.repartition.topics,single.store.self.join"), or "none".
func (o Optimization) String() string {
	if o == 0 {
		return "none"
	}
	var names []string
	for _, n := range optimizationNames {
		if o&n.o != 0 {
			names = append(names, n.name)
			o &^= n.o
		}
	}
	if o != 0 {
		names = append(names, fmt.Sprintf("Optimization(%d)", uint(o)))
	}
	return strings.Join(names, ",")
}
