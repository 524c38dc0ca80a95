package strata_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/embedded"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/topology"
)

// latestCounts reads out read_committed and keeps the last count per key;
// it also reports how many records it read.
func latestCounts(t *testing.T, c *embedded.Cluster, want int) (map[string]int64, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	recs, err := c.Consume(ctx, "out", want)
	if err != nil {
		t.Fatalf("read %d outputs: %v (got %d)", want, err, len(recs))
	}
	counts := map[string]int64{}
	for _, r := range recs {
		counts[string(r.Key)] = int64(binary.BigEndian.Uint64(r.Value))
	}
	return counts, len(recs)
}

func TestExactlyOnceCounts(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "in", Partitions: 3}, {Name: "out", Partitions: 3}}})
	stateDir := t.TempDir()
	newApp := func() *strata.App {
		app, err := strata.New(countTopology(t, nil), strata.Config{
			ApplicationID: "eos",
			Brokers:       c.Addrs(),
			Guarantee:     strata.ExactlyOnce,
			StateDir:      stateDir,
			Logger:        testLogger(t),
		})
		if err != nil {
			t.Fatal(err)
		}
		return app
	}
	var keys []string
	want := map[string]int64{}
	for i := 0; i < 300; i++ {
		k := fmt.Sprintf("k%02d", i%30)
		keys = append(keys, k)
		want[k]++
	}
	produceKeys(t, c, keys[:150])
	runUntil(t, c, newApp(), 150)
	produceKeys(t, c, keys[150:])
	app2 := newApp()
	runUntil(t, c, app2, 300)
	// Every input produced exactly one committed output, and the last
	// count of every key is its number of inputs.
	got, n := latestCounts(t, c, 300)
	if n != 300 {
		t.Fatalf("%d committed outputs for 300 inputs", n)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("count of %s = %d, want %d", k, got[k], v)
		}
	}
	if app2.Metrics().RestoredRecords != 0 {
		t.Errorf("after a clean stop the second run restored %d records; its checkpoint should have made that 0", app2.Metrics().RestoredRecords)
	}
}

// failingCounter fails on the record whose value is "boom", after earlier
// records of the same poll have already produced output.
type failingCounter struct {
	counter
	fail *atomic.Bool
	// written blocks until output of the open transaction is in the log.
	written func() error
}

func (f *failingCounter) Process(r topology.Record[string, string]) error {
	if r.Value == "boom" && f.fail.Load() {
		if err := f.written(); err != nil {
			return err
		}
		return errBoom
	}
	return f.counter.Process(r)
}

// uncommittedWritten returns a function that blocks until topic holds a
// record, committed or not, as a read_uncommitted consumer sees it.
func uncommittedWritten(t *testing.T, c *embedded.Cluster, topic string) func() error {
	return func() error {
		cl, err := c.Client(kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadUncommitted()))
		if err != nil {
			return err
		}
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		for {
			f := cl.PollFetches(ctx)
			if ctx.Err() != nil {
				return fmt.Errorf("no uncommitted output appeared: %w", ctx.Err())
			}
			if f.NumRecords() > 0 {
				return nil
			}
		}
	}
}

func TestExactlyOnceAbortHidesPartialOutput(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "in"}, {Name: "out"}}})
	var fail atomic.Bool
	fail.Store(true)
	build := func() *topology.Topology {
		b := topology.NewBuilder()
		state.AddKeyValueStore(b, "counts", serde.String(), serde.Int64())
		topology.AddSource(b, "src", topology.Source[string, string]{Topics: []string{"in"}, KeySerde: serde.String(), ValueSerde: serde.String()})
		topology.AddProcessor(b, "count", func() topology.Processor[string, string, string, int64] {
			return &failingCounter{fail: &fail, written: uncommittedWritten(t, c, "out")}
		}, "src")
		b.ConnectStores("count", "counts")
		topology.AddSink(b, "sink", topology.Sink[string, int64]{Topic: "out", KeySerde: serde.String(), ValueSerde: serde.Int64()}, "count")
		top, err := b.Build()
		if err != nil {
			t.Fatal(err)
		}
		return top
	}
	cfg := strata.Config{ApplicationID: "eos-abort", Brokers: c.Addrs(), Guarantee: strata.ExactlyOnce, StateDir: t.TempDir(), Logger: testLogger(t)}
	// One batch: a, a, b, boom, c. a and b are counted and produced
	// before boom fails the transaction.
	var recs []*kgo.Record
	for _, v := range []string{"x", "x", "x", "boom", "x"} {
		k := map[string]string{"x": "a", "boom": "b"}[v]
		recs = append(recs, &kgo.Record{Topic: "in", Key: []byte(k), Value: []byte(v)})
	}
	recs[2].Key = []byte("b")
	if err := c.Produce(context.Background(), recs...); err != nil {
		t.Fatal(err)
	}
	app, err := strata.New(build(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := app.Run(ctx); !errors.Is(err, errBoom) {
		t.Fatalf("Run = %v, want the processor's error", err)
	}
	// The failed transaction wrote output before it aborted...
	hw, err := c.Admin().ListEndOffsets(ctx, "out")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := hw.Lookup("out", 0); o.Offset == 0 {
		t.Fatal("the transaction wrote nothing before failing; the test proves nothing")
	}
	// ...and none of it is visible to read_committed: a reader sees
	// nothing before a marker written after the abort.
	if before := readUntilMarker(t, c, "out", "marker-1"); len(before) != 0 {
		t.Fatalf("%d outputs of the aborted transaction are visible", len(before))
	}
	// After the fix, a new run processes the batch again, once.
	fail.Store(false)
	app2, err := strata.New(build(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	runUntil(t, c, app2, 6) // marker-1 and five counts
	visible := readUntilMarker(t, c, "out", "marker-2")
	counts := map[string]int64{}
	n := 0
	for _, r := range visible {
		if string(r.Key) == "marker-1" {
			continue
		}
		n++
		counts[string(r.Key)] = int64(binary.BigEndian.Uint64(r.Value))
	}
	if n != 5 || counts["a"] != 3 || counts["b"] != 2 {
		t.Fatalf("after recovery: %d outputs, counts %v; want 5 outputs, a=3 b=2", n, counts)
	}
}

// readUntilMarker writes a committed marker record to every partition of
// topic and returns every record a read_committed reader sees before the
// markers, in order within each partition.
func readUntilMarker(t *testing.T, c *embedded.Cluster, topic, marker string) []*kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	details, err := c.Admin().ListTopics(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	parts := len(details[topic].Partitions)
	if parts == 0 {
		t.Fatalf("topic %s has no partitions", topic)
	}
	pcl, err := c.Client(kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	for p := 0; p < parts; p++ {
		r := &kgo.Record{Topic: topic, Partition: int32(p), Key: []byte(marker), Value: make([]byte, 8)}
		if err := pcl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	pcl.Close()
	cl, err := c.Client(kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var before []*kgo.Record
	done := map[int32]bool{}
	for len(done) < parts {
		f := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("markers %s seen on %d of %d partitions: %v", marker, len(done), parts, ctx.Err())
		}
		for _, r := range f.Records() {
			switch {
			case done[r.Partition]:
			case string(r.Key) == marker:
				done[r.Partition] = true
			default:
				before = append(before, r)
			}
		}
	}
	return before
}

// errBoom is the processor failure TestExactlyOnceAbortHidesPartialOutput
// injects.
var errBoom = errors.New("boom")
