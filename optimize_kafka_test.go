package strata_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/embedded"
	"github.com/strata-go/strata/join"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/topology"
)

// sharedRekeyTopology re-keys "orders" by customer and uses the re-keyed
// stream twice: a count per customer (not cached, so that each order
// gives one update) into prefix-counts, and a stream-stream join with
// "payments" into prefix-paired.
func sharedRekeyTopology(t *testing.T, o topology.Optimization, prefix string) *topology.Topology {
	t.Helper()
	b := topology.NewBuilder()
	b.Optimize(o)
	orders := kstream.SelectKey(kstream.From(b, "orders", serde.String(), serde.String()),
		func(_, v string) string { return strings.Split(v, "|")[0] })
	payments := kstream.From(b, "payments", serde.String(), serde.String())
	ktable.GroupByKey(orders).Count(ktable.Named("orders-per-customer"), ktable.WithStoreOptions(state.Caching(false))).
		ToStream().To(prefix+"-counts", kstream.WithSerdes(serde.String(), serde.Int64()))
	join.Streams(orders, payments, join.Within(time.Minute, 0), func(_, o, p string) string { return o + "+" + p },
		join.Named("paid")).To(prefix + "-paired")
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return top
}

// TestMergeRepartitionTopicsOnKafka is the acceptance test of
// topology.MergeRepartitionTopics on kfake: a re-keyed stream read by an
// aggregation and a join is repartitioned through one topic, where the same
// topology without the optimization creates two, and both applications,
// run side by side on the same input, give the same outputs.
func TestMergeRepartitionTopicsOnKafka(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{
		{Name: "orders", Partitions: 1}, {Name: "payments", Partitions: 1},
		{Name: "plain-counts", Partitions: 1}, {Name: "plain-paired", Partitions: 1},
		{Name: "merged-counts", Partitions: 1}, {Name: "merged-paired", Partitions: 1},
	}})
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()

	t0 := time.UnixMilli(1_700_000_000_000)
	rec := func(topic, key, value string) *kgo.Record {
		return &kgo.Record{Topic: topic, Key: []byte(key), Value: []byte(value), Timestamp: t0}
	}
	if err := c.Produce(ctx,
		rec("payments", "ann", "card"), rec("payments", "bob", "cash"),
		rec("orders", "o1", "ann|book"), rec("orders", "o2", "bob|pen"), rec("orders", "o3", "ann|lamp"),
	); err != nil {
		t.Fatal(err)
	}

	apps := []struct {
		prefix string
		o      topology.Optimization
	}{{"plain", 0}, {"merged", topology.MergeRepartitionTopics}}
	for _, a := range apps {
		app, err := strata.New(sharedRekeyTopology(t, a.o, a.prefix), testConfig(t, c, a.prefix+"-app"))
		if err != nil {
			t.Fatal(err)
		}
		r := start(t, app)
		defer r.stopAndWait(t)
	}

	read := func(topic string, n int) []string {
		t.Helper()
		recs, err := c.Consume(ctx, topic, n)
		if err != nil {
			t.Fatalf("consume %s: %v", topic, err)
		}
		var got []string
		for _, r := range recs {
			v := string(r.Value)
			if strings.HasSuffix(topic, "-counts") {
				n, err := serde.Int64().Deserialize(topic, r.Value)
				if err != nil {
					t.Fatalf("%s: %v", topic, err)
				}
				v = strconv.FormatInt(n, 10)
			}
			got = append(got, string(r.Key)+":"+v)
		}
		return got
	}
	// One partition each way: counts come in order; join results in the
	// order the orders were processed.
	wantCounts := []string{"ann:1", "bob:1", "ann:2"}
	wantPaired := []string{"ann:ann|book+card", "bob:bob|pen+cash", "ann:ann|lamp+card"}
	for _, prefix := range []string{"plain", "merged"} {
		if got := read(prefix+"-counts", 3); !slices.Equal(got, wantCounts) {
			t.Errorf("%s-counts %q, want %q", prefix, got, wantCounts)
		}
		got := read(prefix+"-paired", 3)
		slices.Sort(got)
		want := slices.Sorted(slices.Values(wantPaired))
		if !slices.Equal(got, want) {
			t.Errorf("%s-paired %q, want %q", prefix, got, want)
		}
	}

	repartitions := func(app string) []string { return appTopics(ctx, t, c, app, "-repartition") }
	if got, want := repartitions("plain-app"), []string{"plain-app-orders-per-customer-repartition", "plain-app-paid-left-repartition"}; !slices.Equal(got, want) {
		t.Errorf("unoptimized repartition topics %q, want %q", got, want)
	}
	if got, want := repartitions("merged-app"), []string{"merged-app-orders-per-customer-repartition"}; !slices.Equal(got, want) {
		t.Errorf("optimized repartition topics %q, want %q", got, want)
	}
}

// appTopics lists the topics of the cluster that application app's internal
// topics with the given suffix ("-repartition", "-changelog") may be, sorted.
func appTopics(ctx context.Context, t *testing.T, c *embedded.Cluster, app, suffix string) []string {
	t.Helper()
	topics, err := c.Admin().ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, name := range topics.Names() {
		if strings.HasPrefix(name, app+"-") && strings.HasSuffix(name, suffix) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}
