package strata_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/embedded"
	"github.com/strata-go/strata/join"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
)

// selfJoinTopology joins topic in with itself within 100 minutes, the
// joiner concatenating the values as in Kafka's
// SelfJoinUpgradeIntegrationTest, into topic out.
func selfJoinTopology(t *testing.T, o topology.Optimization, in, out string) *topology.Topology {
	t.Helper()
	b := topology.NewBuilder()
	b.Optimize(o)
	s := kstream.From(b, in, serde.String(), serde.String())
	join.Streams(s, s, join.Within(100*time.Minute, 0), func(_, a, b string) string { return a + b },
		join.Named("pairs")).To(out)
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return top
}

// readKVs reads n records of topic from its start as "key:value".
func readKVs(ctx context.Context, t *testing.T, c *embedded.Cluster, topic string, n int) []string {
	t.Helper()
	recs, err := c.Consume(ctx, topic, n)
	if err != nil {
		t.Fatalf("consume %s: %v", topic, err)
	}
	var got []string
	for _, r := range recs {
		got = append(got, string(r.Key)+":"+string(r.Value))
	}
	return got
}

// TestSingleStoreSelfJoinOnKafka is the acceptance test of
// topology.SingleStoreSelfJoin on kfake: a stream joined with itself keeps
// its records in one store with one changelog topic, where the same
// topology without the optimization creates two, and both applications,
// run side by side on the same input, give the same outputs.
func TestSingleStoreSelfJoinOnKafka(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{
		{Name: "selfjoin-in", Partitions: 1},
		{Name: "plain-out", Partitions: 1}, {Name: "single-out", Partitions: 1},
	}})
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()

	t0 := time.UnixMilli(1_700_000_000_000)
	var recs []*kgo.Record
	for i, kv := range []string{"k:A", "j:X", "k:B", "k:C", "j:Y"} {
		k, v, _ := strings.Cut(kv, ":")
		recs = append(recs, &kgo.Record{Topic: "selfjoin-in", Key: []byte(k), Value: []byte(v), Timestamp: t0.Add(time.Duration(i) * time.Second)})
	}
	if err := c.Produce(ctx, recs...); err != nil {
		t.Fatal(err)
	}
	for _, a := range []struct {
		prefix string
		o      topology.Optimization
	}{{"plain", 0}, {"single", topology.SingleStoreSelfJoin}} {
		app, err := strata.New(selfJoinTopology(t, a.o, "selfjoin-in", a.prefix+"-out"), testConfig(t, c, a.prefix+"-app"))
		if err != nil {
			t.Fatal(err)
		}
		r := start(t, app)
		defer r.stopAndWait(t)
	}

	// One partition: results in the order the records were processed.
	want := []string{
		"k:AA",
		"j:XX",
		"k:BA", "k:AB", "k:BB",
		"k:CA", "k:CB", "k:AC", "k:BC", "k:CC",
		"j:YX", "j:XY", "j:YY",
	}
	for _, prefix := range []string{"plain", "single"} {
		if got := readKVs(ctx, t, c, prefix+"-out", len(want)); !slices.Equal(got, want) {
			t.Errorf("%s-out %q, want %q", prefix, got, want)
		}
	}

	changelogs := func(app string) []string { return appTopics(ctx, t, c, app, "-changelog") }
	if got, want := changelogs("plain-app"), []string{"plain-app-pairs-other-join-store-changelog", "plain-app-pairs-this-join-store-changelog"}; !slices.Equal(got, want) {
		t.Errorf("unoptimized changelog topics %q, want %q", got, want)
	}
	if got, want := changelogs("single-app"), []string{"single-app-pairs-this-join-store-changelog"}; !slices.Equal(got, want) {
		t.Errorf("optimized changelog topics %q, want %q", got, want)
	}
}

// TestSelfJoinUpgradeOnKafka mirrors Kafka's SelfJoinUpgradeIntegrationTest:
// an application runs its self-join, stops, and runs again with
// SingleStoreSelfJoin on (shouldUpgradeWithTopologyOptimizationOff) or with
// it on both times (shouldRestartWithTopologyOptimizationOn), with a fresh
// state directory the second time. The single store keeps the left store's
// name, so it restores the records of the first run from that store's
// changelog and the new record joins them.
func TestSelfJoinUpgradeOnKafka(t *testing.T) {
	for _, tc := range []struct {
		name          string
		first, second topology.Optimization
	}{
		{"SelfJoinUpgradeIntegrationTest.shouldUpgradeWithTopologyOptimizationOff", 0, topology.OptimizeAll},
		{"SelfJoinUpgradeIntegrationTest.shouldRestartWithTopologyOptimizationOn", topology.OptimizeAll, topology.OptimizeAll},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{
				{Name: "in", Partitions: 1}, {Name: "out", Partitions: 1},
			}})
			ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
			defer cancel()
			t0 := time.UnixMilli(1_700_000_000_000)
			produce := func(value string, at time.Duration) {
				t.Helper()
				if err := c.Produce(ctx, &kgo.Record{Topic: "in", Key: []byte("1"), Value: []byte(value), Timestamp: t0.Add(at)}); err != nil {
					t.Fatal(err)
				}
			}

			app, err := strata.New(selfJoinTopology(t, tc.first, "in", "out"), testConfig(t, c, "app"))
			if err != nil {
				t.Fatal(err)
			}
			r := start(t, app)
			produce("A", 42*time.Millisecond)
			produce("B", 43*time.Millisecond)
			want := []string{"1:AA", "1:BA", "1:AB", "1:BB"}
			if got := readKVs(ctx, t, c, "out", len(want)); !slices.Equal(got, want) {
				t.Fatalf("first run: out %q, want %q", got, want)
			}
			r.stopAndWait(t)

			app, err = strata.New(selfJoinTopology(t, tc.second, "in", "out"), testConfig(t, c, "app"))
			if err != nil {
				t.Fatal(err)
			}
			r = start(t, app)
			defer r.stopAndWait(t)
			produce("C", 44*time.Millisecond)
			want = append(want, "1:CA", "1:CB", "1:AC", "1:BC", "1:CC")
			if got := readKVs(ctx, t, c, "out", len(want)); !slices.Equal(got, want) {
				t.Errorf("second run: out %q, want %q", got, want)
			}
		})
	}
}
