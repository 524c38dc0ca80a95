package strata_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/embedded"
	"github.com/strata-go/strata/internal/benchkit"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/topology"
)

// The end-to-end benchmarks run on franz-go's kfake broker in this process,
// so the broker's work shares the machine with the client's. Each measures
// how long it takes to move b.N preloaded records from "in" (8 partitions,
// 10k keys, 16-byte values) through a map to "out", every output record
// acknowledged. Compare the sub-benchmarks of one run, not numbers across
// machines:
//
//	go test -run '^$' -bench MapThrough -benchtime 1000000x .
func BenchmarkMapThrough(b *testing.B) {
	b.Run("franz-go", func(b *testing.B) { benchMapThrough(b, plainLoop) })
	b.Run("strata", func(b *testing.B) { benchMapThrough(b, strataMapThrough) })
}

const benchPartitions = 8

func benchMapThrough(b *testing.B, run func(b *testing.B, c *embedded.Cluster, n int)) {
	benchOnKafka(b, preload, run)
}

// benchOnKafka starts a broker with "in" and "out" (8 partitions each),
// preloads b.N records into "in" with load, and times run over them.
func benchOnKafka(b *testing.B, load, run func(b *testing.B, c *embedded.Cluster, n int)) {
	ctx := context.Background()
	c, err := embedded.Start(ctx, embedded.Config{Topics: []embedded.Topic{
		{Name: "in", Partitions: benchPartitions},
		{Name: "out", Partitions: benchPartitions},
	}})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	load(b, c, b.N)
	b.ResetTimer()
	run(b, c, b.N)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// preload writes n records with 10k distinct keys.
func preload(b *testing.B, c *embedded.Cluster, n int) {
	if err := benchkit.Preload(context.Background(), c, "in", n, benchKeys); err != nil {
		b.Fatal(err)
	}
}

// benchKeys is the number of distinct keys of the preloaded records.
const benchKeys = 10_000

// plainLoop is the baseline: one franz-go client consuming "in" from the
// start, upper-casing each value and producing it to "out".
func plainLoop(b *testing.B, c *embedded.Cluster, n int) {
	if err := benchkit.PlainLoop(context.Background(), c.Addrs(), "in", "out", n); err != nil {
		b.Fatal(err)
	}
}

// strataMapThrough runs the same map as a Strata app, at least once. It
// stops once every record has been processed; Run returns after flushing
// and committing, so the output is acknowledged when it returns.
func strataMapThrough(b *testing.B, c *embedded.Cluster, n int) {
	env := benchkit.Env{Cluster: c, In: "in", Out: "out", Records: n, Keys: benchKeys, StateDir: b.TempDir()}
	if _, err := benchkit.MapThrough(context.Background(), env, strata.AtLeastOnce); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkRestore measures how fast a Pebble store restores from its
// changelog on kfake: b.N changelog records (10k keys, 8-byte values) are
// preloaded, then an app starts with no local state and restores them all
// before processing. The time is the restore's own, as the restore listener
// reports it.
//
//	go test -run '^$' -bench Restore -benchtime 1000000x .
func BenchmarkRestore(b *testing.B) {
	const changelog = "bench-restore-counts-changelog"
	ctx := context.Background()
	c, err := embedded.Start(ctx, embedded.Config{Topics: []embedded.Topic{
		{Name: "in"}, {Name: "out"},
		{Name: changelog, Configs: map[string]*string{"cleanup.policy": ptrTo("compact")}},
	}})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	cl, err := c.Client(kgo.ProducerLinger(5 * time.Millisecond))
	if err != nil {
		b.Fatal(err)
	}
	value := make([]byte, 8)
	var failed atomic.Pointer[error]
	for i := 0; i < b.N; i++ {
		r := &kgo.Record{Topic: changelog, Key: fmt.Appendf(nil, "key-%05d", i%10000), Value: value}
		cl.Produce(ctx, r, func(_ *kgo.Record, err error) {
			if err != nil {
				failed.CompareAndSwap(nil, &err)
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	cl.Close()
	if err := failed.Load(); err != nil {
		b.Fatal(*err)
	}

	l := &restoreTimer{done: make(chan struct{})}
	bld := topology.NewBuilder()
	state.AddKeyValueStore(bld, "counts", serde.String(), serde.Int64())
	topology.AddSource(bld, "src", topology.Source[string, string]{Topics: []string{"in"}, KeySerde: serde.String(), ValueSerde: serde.String()})
	topology.AddProcessor(bld, "noop", func() topology.Processor[string, string, string, string] { return &nopProc{} }, "src")
	bld.ConnectStores("noop", "counts")
	top, err := bld.Build()
	if err != nil {
		b.Fatal(err)
	}
	app, err := strata.New(top, strata.Config{
		ApplicationID:   "bench-restore",
		Brokers:         c.Addrs(),
		StateDir:        b.TempDir(),
		RestoreListener: l,
		Logger:          slog.New(slog.DiscardHandler),
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	runCtx, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() { errc <- app.Run(runCtx) }()
	select {
	case <-l.done:
	case err := <-errc:
		b.Fatalf("app stopped before restoring: %v", err)
	}
	b.StopTimer()
	cancel()
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
	if l.records != int64(b.N) {
		b.Fatalf("restored %d records, want %d", l.records, b.N)
	}
	b.ReportMetric(float64(l.records)/l.took.Seconds(), "records/s")
}

type restoreTimer struct {
	done    chan struct{}
	records int64
	took    time.Duration
}

func (*restoreTimer) OnRestoreStart(topology.TaskID, string, string, int64, int64) {}
func (*restoreTimer) OnBatchRestored(topology.TaskID, string, int64, int)          {}
func (l *restoreTimer) OnRestoreEnd(_ topology.TaskID, _ string, n int64, took time.Duration) {
	l.records, l.took = n, took
	close(l.done)
}

type nopProc struct{}

func (nopProc) Init(topology.Context[string, string]) error   { return nil }
func (nopProc) Process(topology.Record[string, string]) error { return nil }
func (nopProc) Close() error                                  { return nil }

func ptrTo[T any](v T) *T { return &v }
