package strata_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/embedded"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/query"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/topology"
)

// queryTopology counts the records of "in" per key with the DSL into the
// cached store "counts", written to "out" on every commit, reads the topic
// "rows" as a global table into the store "rows", and calls each after
// every record counted.
func queryTopology(t *testing.T, each func()) *topology.Topology {
	t.Helper()
	b := topology.NewBuilder()
	in := kstream.From(b, "in", serde.String(), serde.String())
	in = in.Peek(func(string, string) { each() })
	ktable.GroupByKey(in).Count(ktable.Named("counts")).ToStream().To("out", kstream.WithSerdes(serde.String(), serde.Int64()))
	ktable.Global(b, "rows", serde.String(), serde.String(), ktable.Named("rows"))
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return top
}

// TestQueriesReadProcessedState runs one instance of two workers whose
// counts stay in the record cache (it commits once an hour), and checks
// that queries read what the tasks processed, cached writes included, while
// nothing has reached the changelog; and a global table's rows.
func TestQueriesReadProcessedState(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{
		{Name: "in", Partitions: 4}, {Name: "out", Partitions: 4}, {Name: "rows", Partitions: 2},
	}})
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	if err := c.Produce(ctx, &kgo.Record{Topic: "rows", Key: []byte("r1"), Value: []byte("one")}, &kgo.Record{Topic: "rows", Key: []byte("r2"), Value: []byte("two")}); err != nil {
		t.Fatal(err)
	}
	const n = 500
	var seen atomic.Int64
	all := make(chan struct{})
	cfg := testConfig(t, c, "queries-local")
	cfg.Workers = 2
	cfg.CommitInterval = time.Hour
	cfg.ApplicationServer = "localhost:9999"
	log := newStateLog()
	cfg.StateListener = log.listener
	app, err := strata.New(queryTopology(t, func() {
		if seen.Add(1) == n {
			close(all)
		}
	}), cfg)
	if err != nil {
		t.Fatal(err)
	}
	counts, err := query.KeyValue[string, int64](app, "counts")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := counts.Get(ctx, "k00"); !errors.Is(err, query.ErrNotRunning) {
		t.Errorf("Get before Run: %v, want ErrNotRunning", err)
	}
	r := start(t, app)
	log.await(t, app, strata.Running)
	model := map[string]int64{}
	produceCounting(ctx, t, c, model, n, 20)
	select {
	case <-all:
	case <-ctx.Done():
		t.Fatalf("%d of %d records processed", seen.Load(), n)
	}
	// The last record's processing may still run: a query waits for
	// it, since it takes the task's lock.
	for k, want := range model {
		got, ok, err := counts.Get(ctx, k)
		if err != nil || !ok || got != want {
			t.Errorf("Get(%s) = %d, %v, %v; want %d", k, got, ok, err, want)
		}
	}
	it, err := counts.All(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for k, v := range state.All(it, &err) {
		got[k] = v
	}
	if err != nil || !maps.Equal(got, model) {
		t.Errorf("All = %v, %v; want %v", got, err, model)
	}
	if n, err := counts.ApproximateNumEntries(ctx); err != nil || n != 0 {
		t.Errorf("ApproximateNumEntries = %d, %v: want 0, the store holding nothing yet", n, err)
	}
	ends, err := c.Admin().ListEndOffsets(ctx, "queries-local-counts-changelog", "out")
	if err != nil {
		t.Fatal(err)
	}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset != 0 {
			t.Errorf("%s[%d] ends at %d: the cache was flushed, so the queries may not have read it", o.Topic, o.Partition, o.Offset)
		}
	})

	rows, err := query.KeyValue[string, string](app, "rows")
	if err != nil {
		t.Fatal(err)
	}
	if v, ok, err := rows.Get(ctx, "r2"); err != nil || !ok || v != "two" {
		t.Errorf("global Get(r2) = %q, %v, %v", v, ok, err)
	}
	md, err := counts.KeyMetadata("k01")
	if err != nil || md.Active == nil || !md.Active.Local || md.Active.Server != "localhost:9999" {
		t.Errorf("KeyMetadata = %+v, %v", md, err)
	}
	instances, err := query.Instances(app)
	if err != nil || len(instances) != 1 || fmt.Sprint(instances[0].Active["counts"]) != "[0 1 2 3]" || fmt.Sprint(instances[0].Active["rows"]) != "[0]" {
		t.Errorf("Instances = %+v, %v", instances, err)
	}
	if _, err := query.KeyValue[string, string](app, "counts"); !errors.Is(err, query.ErrStoreType) {
		t.Errorf("wrong value type: %v", err)
	}
	if _, err := query.Window[string, int64](app, "nope"); !errors.Is(err, query.ErrUnknownStore) {
		t.Errorf("unknown store: %v", err)
	}
	r.stopAndWait(t)
	if _, _, err := counts.Get(ctx, "k00"); !errors.Is(err, query.ErrNotRunning) {
		t.Errorf("Get after Run: %v, want ErrNotRunning", err)
	}
	if _, _, err := rows.Get(ctx, "r1"); !errors.Is(err, query.ErrNotRunning) {
		t.Errorf("global Get after Run: %v, want ErrNotRunning", err)
	}
}
