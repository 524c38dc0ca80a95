package strata_test

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/embedded"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
)

// BenchmarkChannels measures outcome handlers on the embedded broker over
// b.N records preloaded in 8 partitions (10k keys), at least once:
//
//   - io-sequential and io-200: a handler waiting 20ms per record (a real
//     timer, as I/O), one record at a time, then 200 in flight per task
//     (key-ordered; Config.MaxInFlight 200 across the instance);
//   - noop-plain and noop-200: a handler that does nothing, one at a time
//     on the task's goroutine, then through the concurrent machinery.
//
// Compare the sub-benchmarks of one run:
//
//	go test -run '^$' -bench 'Channels/io' -benchtime 400x .
//	go test -run '^$' -bench 'Channels/noop' -benchtime 200000x .
func BenchmarkChannels(b *testing.B) {
	wait := func(ctx context.Context, _, _ string) kstream.Outcome {
		t := time.NewTimer(20 * time.Millisecond)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		}
		return kstream.Success()
	}
	noop := func(context.Context, string, string) kstream.Outcome { return kstream.Success() }
	b.Run("io-sequential", func(b *testing.B) { benchOnKafka(b, preload, benchHandler(wait)) })
	b.Run("io-200", func(b *testing.B) {
		benchOnKafka(b, preload, benchHandler(wait, kstream.WithConcurrency(200, kstream.OrderByKey)))
	})
	b.Run("noop-plain", func(b *testing.B) { benchOnKafka(b, preload, benchHandler(noop)) })
	b.Run("noop-200", func(b *testing.B) {
		benchOnKafka(b, preload, benchHandler(noop, kstream.WithConcurrency(200, kstream.OrderByKey)))
	})
}

// benchHandler runs an app whose handler calls fn until it handled n
// records.
func benchHandler(fn func(context.Context, string, string) kstream.Outcome, opts ...kstream.Option) func(b *testing.B, c *embedded.Cluster, n int) {
	return func(b *testing.B, c *embedded.Cluster, n int) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var done atomic.Int64
		bld := topology.NewBuilder()
		kstream.From(bld, "in", serde.String(), serde.String()).Handle("h", func(hctx context.Context, k, v string) kstream.Outcome {
			out := fn(hctx, k, v)
			if done.Add(1) == int64(n) {
				cancel()
			}
			return out
		}, opts...)
		top, err := bld.Build()
		if err != nil {
			b.Fatal(err)
		}
		app, err := strata.New(top, strata.Config{ApplicationID: "bench-channels", Brokers: c.Addrs(), StateDir: b.TempDir(), MaxInFlight: 200, Logger: slog.New(slog.DiscardHandler), ClientOptions: []kgo.Opt{
			// kfake answers a fetch of partitions that were empty when
			// it arrived (the handler's retry topic, partitions at
			// their end) only at the fetch's max wait, 5s by default:
			// a partition resumed meanwhile waits for it (as in
			// internal/benchkit's handle scenarios).
			kgo.FetchMaxWait(50 * time.Millisecond),
		}})
		if err != nil {
			b.Fatal(err)
		}
		if err := app.Run(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
