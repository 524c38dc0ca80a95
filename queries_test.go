package strata_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
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

// TestQueriesFromStandby runs two instances with a standby replica of each
// task: an instance answers for the other's partition only when asked to
// read standbys, once its replica has caught up.
func TestQueriesFromStandby(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{
		{Name: "in", Partitions: 2}, {Name: "out", Partitions: 2}, {Name: "rows", Partitions: 1},
	}})
	ctx, cancel := context.WithTimeout(t.Context(), 2*testTimeout)
	defer cancel()
	var apps []*strata.App
	var events *logEvents
	for i := range 2 {
		cfg := testConfig(t, c, "queries-standby")
		cfg.InstanceID = fmt.Sprintf("instance-%d", i)
		cfg.StandbyReplicas = 1
		cfg.CommitInterval = 100 * time.Millisecond
		cfg.ClientOptions = append(cfg.ClientOptions, kgo.HeartbeatInterval(100*time.Millisecond))
		log := newStateLog()
		cfg.StateListener = log.listener
		if i == 0 {
			cfg.Logger, events = newLogWatch(t)
		}
		app, err := strata.New(queryTopology(t, func() {}), cfg)
		if err != nil {
			t.Fatal(err)
		}
		start(t, app)
		log.await(t, app, strata.Running)
		apps = append(apps, app)
	}
	model := map[string]int64{}
	produceCounting(ctx, t, c, model, 400, 20)
	if err := waitCounts(ctx, c, model, true); err != nil {
		t.Fatal(err)
	}
	active, err := query.KeyValue[string, int64](apps[0], "counts")
	if err != nil {
		t.Fatal(err)
	}
	standby, err := query.KeyValue[string, int64](apps[0], "counts", query.FromStandby(0))
	if err != nil {
		t.Fatal(err)
	}
	var elsewhere []string
	for k := range model {
		md, err := active.KeyMetadata(k)
		if err != nil {
			t.Fatal(err)
		}
		if md.Active == nil || md.Active.Local {
			continue
		}
		elsewhere = append(elsewhere, k)
		if len(md.Standbys) != 1 || !md.Standbys[0].Local {
			t.Errorf("KeyMetadata(%s) = %+v: want this instance's standby", k, md)
		}
		if _, _, err := active.Get(ctx, k); !errors.Is(err, query.ErrNotLocal) || !strings.Contains(err.Error(), "instance-1") {
			t.Errorf("Get(%s) without standbys: %v, want ErrNotLocal naming instance-1", k, err)
		}
	}
	if len(elsewhere) == 0 {
		t.Fatal("every key is local: the test needs keys of the other instance")
	}
	for _, k := range elsewhere {
		for {
			v, ok, err := standby.Get(ctx, k)
			if err == nil {
				if !ok || v != model[k] {
					t.Errorf("Get(%s) from the standby = %d, %v; want %d", k, v, ok, model[k])
				}
				break
			}
			if !errors.Is(err, query.ErrNotLocal) {
				t.Fatalf("Get(%s) from the standby: %v", k, err)
			}
			// The replica is behind: wait for it to apply more.
			select {
			case <-events.changed:
			case <-ctx.Done():
				t.Fatalf("the standby never caught up: %v", ctx.Err())
			}
		}
	}
	if parts, err := standby.LocalPartitions(); err != nil || fmt.Sprint(parts) != "[0 1]" {
		t.Errorf("LocalPartitions with standbys = %v, %v", parts, err)
	}
	if parts, err := active.LocalPartitions(); err != nil || len(parts) != 1 {
		t.Errorf("LocalPartitions = %v, %v", parts, err)
	}
}
