package topology_test

import (
	"testing"

	"github.com/strata-go/strata/topology"
)

// TestOptimizationString checks that optimizations print as Kafka Streams'
// topology.optimization setting lists them.
func TestOptimizationString(t *testing.T) {
	for _, tc := range []struct {
		o    topology.Optimization
		want string
	}{
		{0, "none"},
		{topology.MergeRepartitionTopics, "merge.repartition.topics"},
		{topology.SingleStoreSelfJoin, "single.store.self.join"},
		{topology.OptimizeAll, "merge.repartition.topics,single.store.self.join"},
		{topology.SingleStoreSelfJoin | 1<<7, "single.store.self.join,Optimization(128)"},
	} {
		if got := tc.o.String(); got != tc.want {
			t.Errorf("Optimization(%d).String() = %q, want %q", uint(tc.o), got, tc.want)
		}
	}
}
