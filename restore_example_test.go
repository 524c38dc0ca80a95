package strata_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"os"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/embedded"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
)

// An instance with two workers counts words. Started again without its local
// state, it restores the counts from their changelog, which its
// MeterProvider measures.
func ExampleConfig_meterProvider() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cluster, err := embedded.Start(ctx, embedded.Config{Topics: []embedded.Topic{
		{Name: "words", Partitions: 2},
		{Name: "counts", Partitions: 2},
	}})
	if err != nil {
		log.Fatal(err)
	}
	defer cluster.Close()

	b := topology.NewBuilder()
	words := kstream.From(b, "words", serde.String(), serde.String())
	ktable.GroupByKey(words).Count(ktable.Named("word-counts")).ToStream().
		To("counts", kstream.WithSerdes(serde.String(), serde.Int64()))
	top, err := b.Build()
	if err != nil {
		log.Fatal(err)
	}
	stateDir, err := os.MkdirTemp("", "strata-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(stateDir)
	cfg := strata.Config{
		ApplicationID: "word-counter",
		Brokers:       cluster.Addrs(),
		StateDir:      stateDir,
		Workers:       2,
		DisableCache:  true, // every count reaches the changelog
		Logger:        slog.New(slog.DiscardHandler),
	}
	// run produces words and runs an app until the counts topic holds
	// want records.
	run := func(cfg strata.Config, want int, words ...string) {
		for _, w := range words {
			if err := cluster.Produce(ctx, &kgo.Record{Topic: "words", Key: []byte(w), Value: []byte(w)}); err != nil {
				log.Fatal(err)
			}
		}
		app, err := strata.New(top, cfg)
		if err != nil {
			log.Fatal(err)
		}
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- app.Run(runCtx) }()
		_, err = cluster.Consume(ctx, "counts", want)
		stop()
		if err := <-done; err != nil {
			log.Fatal(err)
		}
		if err != nil {
			log.Fatal(err)
		}
	}
	run(cfg, 3, "ann", "bob", "ann")

	// The local state is lost; the next run restores it.
	if err := os.RemoveAll(stateDir); err != nil {
		log.Fatal(err)
	}
	reader := sdkmetric.NewManualReader()
	cfg.MeterProvider = sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	run(cfg, 4, "cy")

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		log.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if sum, ok := m.Data.(metricdata.Sum[int64]); ok && m.Name == "strata.restore.records" {
				var n int64
				for _, dp := range sum.DataPoints {
					n += dp.Value
				}
				fmt.Println(m.Name, n)
			}
		}
	}
	// Output:
	// strata.restore.records 3
}
