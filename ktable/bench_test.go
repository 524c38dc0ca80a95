package ktable_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
	"github.com/strata-go/strata/window"
)

// benchKeys is the number of distinct keys the benchmarks count.
const benchKeys = 10_000

// benchKeyNames returns the keys records cycle through.
func benchKeyNames() []string {
	keys := make([]string, benchKeys)
	for i := range keys {
		keys[i] = fmt.Sprintf("key-%05d", i)
	}
	return keys
}

// BenchmarkCountByKey counts records by key through the test driver:
// in (String keys) → GroupByKey → Count → ToStream → out, with the count in
// a Pebble store (on the driver's in-memory file system) that logs to its
// changelog. Records cycle through 10k keys. Every record is serialized,
// queued, deserialized, counted (a get and a put of its key's row) and its
// count serialized to the changelog and the output topic, both of which are
// drained as they fill.
//
// The driver commits after every input record, as Kafka's
// TopologyTestDriver does, and a commit flushes the record cache: with the
// cache on, each record's update still reaches Pebble, the changelog and
// the output, one commit later, so the cache only adds its own work here.
// On Kafka, where commits are seconds apart, it collapses updates instead
// (see the state package's benchmarks and BenchmarkWordCount).
//
//	go test -run '^$' -bench CountByKey -benchmem ./ktable/
func BenchmarkCountByKey(b *testing.B) {
	for _, bc := range []struct {
		name  string
		cache int64
	}{
		{"cache=off", 0},
		{"cache=10MiB", 10 << 20},
	} {
		b.Run(bc.name, func(b *testing.B) {
			bld := topology.NewBuilder()
			in := kstream.From(bld, "in", serde.String(), serde.String())
			ktable.GroupByKey(in).Count(ktable.Named("counts")).
				ToStream().To("out", kstream.WithSerdes(serde.String(), serde.Int64()))
			top, err := bld.Build()
			if err != nil {
				b.Fatal(err)
			}
			d := testutil.NewDriver(b, top, testutil.Config{ApplicationID: "bench", CacheMaxBytes: bc.cache})
			benchPipe(b, d, []string{"out", "bench-counts-changelog"}, func(pipe *testutil.InputTopic[string, string], key string, _ int) {
				pipe.Pipe(key, "v")
			})
			// The first key was counted once in the warm-up and
			// then every benchKeys records.
			want := 1 + int64((b.N+benchKeys-1)/benchKeys)
			if n, ok := testutil.KeyValueStore[string, int64](d, "counts").Get("key-00000"); !ok || n != want {
				b.Fatalf("key-00000 counted %d times (%v), want %d", n, ok, want)
			}
		})
	}
}

// BenchmarkWindowedCount counts records by key in tumbling one-minute
// windows with no grace, through the test driver: in (String keys) →
// GroupByKey → WindowedBy(Tumbling(1m, 0)) → Count → ToStream → out, with
// the counts in a Pebble window store that logs to its changelog. Records cycle through 10k
// keys, their timestamps a millisecond apart: 60k records, six per key,
// fall in each window, and windows expire from the store as stream time
// passes them.
//
// "updates" forwards every count as it changes, without a record cache
// (the driver's default); "updates-cached" runs it with a record cache,
// which the driver flushes after every record, as Kafka's does: it costs
// the cache's work without collapsing anything, the worst case for a
// cached window store. "emit-on-close" forwards each window's count once,
// when it closes (EmitOnWindowClose), which adds a scan of the closed
// windows to the first record after each minute.
//
//	go test -run '^$' -bench WindowedCount -benchmem ./ktable/
func BenchmarkWindowedCount(b *testing.B) {
	for _, bc := range []struct {
		name  string
		opts  []ktable.Option
		cache int64
	}{
		{"updates", nil, 0},
		{"updates-cached", nil, 10 << 20},
		{"emit-on-close", []ktable.Option{ktable.EmitOnWindowClose()}, 0},
	} {
		b.Run(bc.name, func(b *testing.B) {
			bld := topology.NewBuilder()
			in := kstream.From(bld, "in", serde.String(), serde.String())
			opts := append([]ktable.Option{ktable.Named("counts")}, bc.opts...)
			ktable.WindowedBy(ktable.GroupByKey(in), window.Tumbling(time.Minute, 0)).Count(opts...).
				ToStream().To("out")
			top, err := bld.Build()
			if err != nil {
				b.Fatal(err)
			}
			d := testutil.NewDriver(b, top, testutil.Config{ApplicationID: "bench", CacheMaxBytes: bc.cache})
			start := time.UnixMilli(0)
			benchPipe(b, d, []string{"out", "bench-counts-changelog"}, func(pipe *testutil.InputTopic[string, string], key string, i int) {
				pipe.PipeAt(key, "v", start.Add(time.Duration(i)*time.Millisecond))
			})
			// The store holds the current window, in which the first
			// key came at every multiple of benchKeys ms.
			last := int64(benchKeys + b.N - 1)
			ws := last / 60_000 * 60_000
			want := last/benchKeys - (ws+benchKeys-1)/benchKeys + 1
			if n, ok := testutil.WindowStore[string, state.Timestamped[int64]](d, "counts").Fetch("key-00000", time.UnixMilli(ws)); !ok || n.Value != want {
				b.Fatalf("key-00000 in the window at %v counted %d times (%v), want %d", ws, n.Value, ok, want)
			}
		})
	}
}

// benchPipe pipes b.N records into "in" through pipe, cycling through
// benchKeys keys, and drains the given topics as they fill. It reports
// input records per second.
func benchPipe(b *testing.B, d *testutil.Driver, drain []string, pipe func(in *testutil.InputTopic[string, string], key string, i int)) {
	in := testutil.NewInputTopic(d, "in", serde.String(), serde.String())
	var outs []*testutil.OutputTopic[[]byte, []byte]
	for _, topic := range drain {
		outs = append(outs, testutil.NewOutputTopic(d, topic, serde.Bytes(), serde.Bytes()))
	}
	keys := benchKeyNames()
	// Warm up: every key has a row before timing starts.
	for i, k := range keys {
		pipe(in, k, i)
	}
	for _, out := range outs {
		out.Drain()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		pipe(in, keys[i%len(keys)], len(keys)+i)
		if i%4096 == 4095 {
			for _, out := range outs {
				out.Drain()
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
