package strata

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"path/filepath"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata/embedded"
	"github.com/strata-go/strata/internal/engine"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/topology"
)

// TestLocalLags: a worker reports, per stateful task, how far behind its
// changelog the instance's state is: 0 for its active tasks, the changelog
// records its standby tasks have not applied yet, and those after the
// checkpoints of other task directories on disk.
func TestLocalLags(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "in", Partitions: 3}}})
	_, in, r := storeRunner(t, c, "lags")

	// The changelog holds 10, 4 and 7 records in partitions 0, 1 and 2.
	const changelog = "lags-counts-changelog"
	var recs []*kgo.Record
	for p, n := range []int{10, 4, 7} {
		for i := range n {
			recs = append(recs, &kgo.Record{Topic: changelog, Partition: int32(p), Key: fmt.Appendf(nil, "k%d", i)})
		}
	}
	pcl, err := c.Client(kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer pcl.Close()
	if err := pcl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	// Task 0_0's directory was checkpointed at 6; 0_1 is a standby at 1;
	// 0_2 is active; a directory without a checkpoint says nothing.
	if err := writeCheckpoint(filepath.Join(in.state.path, "0_0"), map[string]int64{changelog: 6}); err != nil {
		t.Fatal(err)
	}
	if err := writeCheckpoint(filepath.Join(in.state.path, "0_1"), map[string]int64{changelog: 0}); err != nil {
		t.Fatal(err)
	}
	r.setPositions(engine.TaskID{Partition: 1}, map[string]int64{changelog: 1})
	r.setActive(engine.TaskID{Partition: 2}, true)
	want := map[engine.TaskID]int64{{Partition: 0}: 4, {Partition: 1}: 3, {Partition: 2}: 0}
	if got := r.localLags(); !maps.Equal(got, want) {
		t.Errorf("localLags() = %v, want %v", got, want)
	}
	r.setActive(engine.TaskID{Partition: 2}, false)
	r.setPositions(engine.TaskID{Partition: 1}, nil)
	want = map[engine.TaskID]int64{{Partition: 0}: 4, {Partition: 1}: 4}
	if got := r.localLags(); !maps.Equal(got, want) {
		t.Errorf("after closing: localLags() = %v, want %v", got, want)
	}
}

// storeRunner sets up, for app appID on c, a worker that has not joined the
// group, of a topology reading "in" into a no-op processor connected to the
// persistent, logged store "counts" (its changelog is created). The
// instance and worker are released at the end of the test.
func storeRunner(t *testing.T, c *embedded.Cluster, appID string) (*App, *instance, *runner) {
	t.Helper()
	b := topology.NewBuilder()
	state.AddKeyValueStore(b, "counts", serde.String(), serde.Int64())
	topology.AddSource(b, "src", topology.Source[string, string]{Topics: []string{"in"}, KeySerde: serde.String(), ValueSerde: serde.String()})
	topology.AddProcessor(b, "noop", func() topology.Processor[string, string, string, string] { return noop{} }, "src")
	b.ConnectStores("noop", "counts")
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(top, Config{ApplicationID: appID, Brokers: c.Addrs(), StateDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	in, err := openInstance(t.Context(), a)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.close(false) })
	r, err := newRunner(t.Context(), a, in, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.release() })
	return a, in, r
}

type noop struct{}

func (noop) Init(topology.Context[string, string]) error   { return nil }
func (noop) Process(topology.Record[string, string]) error { return nil }
func (noop) Close() error                                  { return nil }
