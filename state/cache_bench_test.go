package state_test

import (
	"fmt"
	"testing"

	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
)

// BenchmarkKeyValueGetPut measures the read-modify-write of an aggregation
// on a typed, logged Pebble store (String keys, Int64 values, 10k keys): Get
// then Put of the incremented value, per update. The store is built by a
// one-processor topology in the test driver, and the loop calls it
// directly. "cached" runs with a 10 MiB record cache and flushes it every
// 10k updates, as commits would; "uncached" writes every update through to
// Pebble and the changelog. Changelog records go to the driver's in-memory
// topic, drained every 10k updates.
//
//	go test -run '^$' -bench KeyValueGetPut -count 3 ./state/
func BenchmarkKeyValueGetPut(b *testing.B) {
	for _, tc := range []struct {
		name   string
		budget int64
	}{{"cached", 10 << 20}, {"uncached", 0}} {
		b.Run(tc.name, func(b *testing.B) { benchGetPut(b, tc.budget) })
	}
}

func benchGetPut(b *testing.B, budget int64) {
	const nkeys, commitEvery = 10_000, 10_000
	tb := topology.NewBuilder()
	state.AddKeyValueStore(tb, "s", serde.String(), serde.Int64(), state.Caching(budget > 0))
	topology.AddSource(tb, "src", topology.Source[string, string]{Topics: []string{"in"}, KeySerde: serde.String(), ValueSerde: serde.String()})
	topology.AddProcessor(tb, "p", func() topology.Processor[string, string, string, string] { return noop{} }, "src")
	tb.ConnectStores("p", "s")
	top, err := tb.Build()
	if err != nil {
		b.Fatal(err)
	}
	d := testutil.NewDriver(b, top, testutil.Config{ApplicationID: "bench", CacheMaxBytes: budget})
	s := testutil.KeyValueStore[string, int64](d, "s").Partition(0).(state.KeyValueStore[string, int64])
	flusher := s.(interface{ Flush() error })
	changelog := testutil.NewOutputTopic(d, "bench-s-changelog", serde.String(), serde.Int64())
	keys := make([]string, nkeys)
	for i := range keys {
		keys[i] = fmt.Sprintf("key-%05d", i)
	}
	commit := func() {
		if err := flusher.Flush(); err != nil {
			b.Fatal(err)
		}
		changelog.Drain()
	}
	// Warm up: every key exists in the store, as in a steady state.
	for _, k := range keys {
		if err := s.Put(k, 0); err != nil {
			b.Fatal(err)
		}
	}
	commit()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := keys[i%nkeys]
		v, _, err := s.Get(k)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Put(k, v+1); err != nil {
			b.Fatal(err)
		}
		if (i+1)%commitEvery == 0 {
			commit()
		}
	}
	commit()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "updates/s")
}
