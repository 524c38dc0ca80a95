package strata_test

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/embedded"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/query"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
)

// TestQueriesRepartitionedStore counts a topic of two partitions after a
// repartition into five: the store has the repartition topic's five
// partitions, and the partition a query computes for each key is the one
// the key's records went to in the repartition topic, where the count was
// made.
func TestQueriesRepartitionedStore(t *testing.T) {
	const (
		appID = "queries-repartitioned"
		n     = 300
		keys  = 30
	)
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "in", Partitions: 2}}})
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	var seen atomic.Int64
	all := make(chan struct{})
	b := topology.NewBuilder()
	in := kstream.From(b, "in", serde.String(), serde.String()).
		Repartition(kstream.Named("spread"), kstream.WithPartitions(5)).
		Peek(func(string, string) {
			if seen.Add(1) == n {
				close(all)
			}
		})
	ktable.GroupByKey(in).Count(ktable.Named("counts"))
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	app, err := strata.New(top, testConfig(t, c, appID))
	if err != nil {
		t.Fatal(err)
	}
	r := start(t, app)
	model := map[string]int64{}
	produceCounting(ctx, t, c, model, n, keys)
	select {
	case <-all:
	case <-ctx.Done():
		t.Fatalf("%d of %d records counted", seen.Load(), n)
	}

	// Where each key's records went in the repartition topic.
	recs, err := c.Consume(ctx, appID+"-spread-repartition", n)
	if err != nil {
		t.Fatal(err)
	}
	went := map[string]int32{}
	for _, rec := range recs {
		k := string(rec.Key)
		if p, ok := went[k]; ok && p != rec.Partition {
			t.Fatalf("key %s in partitions %d and %d of the repartition topic", k, p, rec.Partition)
		}
		went[k] = rec.Partition
	}

	counts, err := query.KeyValue[string, int64](app, "counts")
	if err != nil {
		t.Fatal(err)
	}
	if parts, err := counts.LocalPartitions(); err != nil || !slices.Equal(parts, []int32{0, 1, 2, 3, 4}) {
		t.Errorf("LocalPartitions = %v, %v; want the repartition topic's 5", parts, err)
	}
	used := map[int32]bool{}
	for k, want := range model {
		md, err := counts.KeyMetadata(k)
		if err != nil {
			t.Fatalf("KeyMetadata(%s): %v", k, err)
		}
		if md.Partition != went[k] {
			t.Errorf("KeyMetadata(%s).Partition = %d; its records went to partition %d", k, md.Partition, went[k])
		}
		used[md.Partition] = true
		got, ok, err := counts.Get(ctx, k)
		if err != nil || !ok || got != want {
			t.Errorf("Get(%s) = %d, %v, %v; want %d", k, got, ok, err, want)
		}
	}
	// With 2 partitions the keys would use at most partitions 0 and 1.
	if len(used) <= 2 {
		t.Errorf("the keys went to partitions %v only: the test cannot tell 5 partitions from 2", used)
	}
	r.stopAndWait(t)
}
