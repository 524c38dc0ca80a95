package strata_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/embedded"
	"github.com/strata-go/strata/internal/benchkit"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/query"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
)

// The query benchmarks run an app on franz-go's kfake broker in this
// process. BenchmarkQueryGet times local lookups through the typed query
// API; BenchmarkQueriesBesideProcessing, how much a query load slows
// processing down:
//
//	go test -run '^$' -bench 'QueryGet|QueriesBeside' -benchtime 2s .

// queryBenchKeys is the number of distinct keys the benchmarks count.
const queryBenchKeys = 10_000

// benchKeyStrings are the keys the benchmarks count, made once, so that
// the query load spends nothing making them.
var benchKeyStrings = func() []string {
	keys := make([]string, queryBenchKeys)
	for i := range keys {
		keys[i] = string(benchkit.Key(i, queryBenchKeys))
	}
	return keys
}()

// countApp builds an app counting "in" by key into the store "counts" (a
// Pebble store with a changelog, behind the record cache unless noCache),
// calling seen with every record before it is counted.
func countApp(b *testing.B, c *embedded.Cluster, id string, noCache bool, seen func()) *strata.App {
	b.Helper()
	bld := topology.NewBuilder()
	in := kstream.From(bld, "in", serde.String(), serde.String())
	ktable.GroupByKey(in.Peek(func(string, string) { seen() })).Count(ktable.Named("counts"))
	top, err := bld.Build()
	if err != nil {
		b.Fatal(err)
	}
	app, err := strata.New(top, strata.Config{
		ApplicationID: id,
		Brokers:       c.Addrs(),
		StateDir:      b.TempDir(),
		Logger:        slog.New(slog.DiscardHandler),
		DisableCache:  noCache,
	})
	if err != nil {
		b.Fatal(err)
	}
	return app
}

// BenchmarkQueryGet times Get through the typed query API on an idle app
// holding 10k keys in a Pebble store: with the record cache (the default,
// in which the counts are cached) and without (every Get reads Pebble,
// through the task's write buffer and the block cache); from one goroutine
// and from GOMAXPROCS.
func BenchmarkQueryGet(b *testing.B) {
	ctx := context.Background()
	c, err := embedded.Start(ctx, embedded.Config{Topics: []embedded.Topic{{Name: "in", Partitions: benchPartitions}}})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	const records = 100_000
	if err := benchkit.Preload(ctx, c, "in", records, queryBenchKeys); err != nil {
		b.Fatal(err)
	}
	keys := benchKeyStrings
	for _, mode := range []struct {
		name    string
		noCache bool
	}{{"record-cache", false}, {"pebble", true}} {
		var seen atomic.Int64
		done := make(chan struct{})
		app := countApp(b, c, "bench-get-"+mode.name, mode.noCache, func() {
			if seen.Add(1) == records {
				close(done)
			}
		})
		runCtx, stop := context.WithCancel(ctx)
		errc := make(chan error, 1)
		go func() { errc <- app.Run(runCtx) }()
		select {
		case <-done:
		case err := <-errc:
			b.Fatalf("Run: %v", err)
		}
		counts, err := query.KeyValue[string, int64](app, "counts")
		if err != nil {
			b.Fatal(err)
		}
		if n, ok, err := counts.Get(ctx, keys[0]); err != nil || !ok || n != records/queryBenchKeys {
			b.Fatalf("Get(%s) = %d, %v, %v", keys[0], n, ok, err)
		}
		b.Run(mode.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, ok, err := counts.Get(ctx, keys[i%len(keys)]); err != nil || !ok {
					b.Fatalf("Get: %v, %v", ok, err)
				}
				i++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
		})
		b.Run(mode.name+"-parallel", func(b *testing.B) {
			b.ReportAllocs()
			var next atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				i := int(next.Add(1)) * 7919
				for pb.Next() {
					if _, ok, err := counts.Get(ctx, keys[i%len(keys)]); err != nil || !ok {
						b.Errorf("Get: %v, %v", ok, err)
						return
					}
					i++
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
		})
		stop()
		if err := <-errc; err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkQueriesBesideProcessing counts 1M preloaded records (10k keys,
// 8 partitions) with one worker, first alone, then with a query load running
// beside it: each goroutine of the load asks for counts with Get, one after
// the other, at most rate lookups per second in all (0: as fast as they
// can). Each iteration runs both, on apps of their own; the time is from
// the first record counted to the last. It reports both throughputs, the
// load's lookups per second, and the cost: how much slower processing was
// under the load, in percent, by the wall clock and by the process's CPU
// time per record (the machine may be shared: the CPU cost says what the
// load costs whatever else runs).
func BenchmarkQueriesBesideProcessing(b *testing.B) {
	ctx := context.Background()
	c, err := embedded.Start(ctx, embedded.Config{Topics: []embedded.Topic{{Name: "in", Partitions: benchPartitions}}})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	const records = 1_000_000
	if err := benchkit.Preload(ctx, c, "in", records, queryBenchKeys); err != nil {
		b.Fatal(err)
	}
	for _, load := range []struct {
		name       string
		goroutines int
		rate       int
	}{{"paced-20k", 2, 20_000}, {"unpaced-1", 1, 0}, {"unpaced-2", 2, 0}} {
		b.Run(load.name, func(b *testing.B) {
			var alone, loaded, aloneCPU, loadedCPU time.Duration
			var lookups int64
			for b.Loop() {
				// Each app is new, so that it counts from the start.
				run := besideRuns.Add(1)
				took, cpu, _ := countBeside(b, c, fmt.Sprintf("bench-beside-%d-alone", run), records, 0, 0)
				alone, aloneCPU = alone+took, aloneCPU+cpu
				took, cpu, n := countBeside(b, c, fmt.Sprintf("bench-beside-%d-loaded", run), records, load.goroutines, load.rate)
				loaded, loadedCPU = loaded+took, loadedCPU+cpu
				lookups += n
			}
			b.ReportMetric(float64(b.N*records)/alone.Seconds(), "records/s-alone")
			b.ReportMetric(float64(b.N*records)/loaded.Seconds(), "records/s-loaded")
			b.ReportMetric(float64(lookups)/loaded.Seconds(), "lookups/s")
			b.ReportMetric(100*(1-alone.Seconds()/loaded.Seconds()), "%-cost")
			b.ReportMetric(100*(1-aloneCPU.Seconds()/loadedCPU.Seconds()), "%-cpu-cost")
		})
	}
}

// besideRuns numbers the apps of BenchmarkQueriesBesideProcessing.
var besideRuns atomic.Int64

// countBeside runs an app counting n records with a query load of
// goroutines at rate lookups per second in all (0: unpaced) beside it,
// from its first record on, and returns how long it took from the first
// record to the last, the process's CPU time meanwhile, and how many
// lookups the load made.
func countBeside(b *testing.B, c *embedded.Cluster, id string, n int, goroutines, rate int) (wall, cpu time.Duration, lookups int64) {
	b.Helper()
	var seen atomic.Int64
	first, done := make(chan struct{}), make(chan struct{})
	var began, ended time.Time
	var cpuBegan, cpuEnded time.Duration
	app := countApp(b, c, id, false, func() {
		switch seen.Add(1) {
		case 1:
			began, cpuBegan = time.Now(), processCPU(b)
			close(first)
		case int64(n):
			ended, cpuEnded = time.Now(), processCPU(b)
			close(done)
		}
	})
	ctx, stop := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- app.Run(ctx) }()
	counts, err := query.KeyValue[string, int64](app, "counts")
	if err != nil {
		b.Fatal(err)
	}
	var made atomic.Int64
	var wg sync.WaitGroup
	select {
	case <-first:
	case err := <-errc:
		b.Fatalf("Run: %v", err)
	case <-time.After(time.Minute):
		b.Fatalf("%s: no record counted in a minute", id)
	}
	for g := range goroutines {
		wg.Go(func() {
			var tick *time.Ticker
			const batch = 100
			if rate > 0 {
				// Paced in batches: a ticker per lookup would cost
				// more than the lookups.
				tick = time.NewTicker(time.Duration(int64(time.Second) * batch * int64(goroutines) / int64(rate)))
				defer tick.Stop()
			}
			for i := g * 7919; ; {
				if tick != nil {
					select {
					case <-tick.C:
					case <-done:
						return
					}
				}
				for range batch {
					select {
					case <-done:
						return
					default:
					}
					if _, _, err := counts.Get(ctx, benchKeyStrings[i%queryBenchKeys]); err == nil {
						made.Add(1)
					}
					i++
				}
			}
		})
	}
	select {
	case <-done:
	case err := <-errc:
		b.Fatalf("Run: %v", err)
	case <-time.After(5 * time.Minute):
		b.Fatalf("%s: %d of %d records counted in five minutes", id, seen.Load(), n)
	}
	wg.Wait()
	stop()
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
	return ended.Sub(began), cpuEnded - cpuBegan, made.Load()
}

// processCPU is the CPU time the process has used, user and system.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
