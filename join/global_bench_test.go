package join_test

import (
	"strconv"
	"testing"

	"github.com/strata-go/strata/join"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
)

// BenchmarkStreamGlobal pipes stream records through a stream-global table
// join against 1,000 rows, in the test driver: each record is decoded, its
// mapped key looked up in the global store (Pebble, through the task's
// read-only view), joined and written by the sink.
//
//	go test -run '^$' -bench StreamGlobal -benchmem ./join/
func BenchmarkStreamGlobal(b *testing.B) {
	bld := topology.NewBuilder()
	s := kstream.From(bld, "orders", serde.String(), serde.String())
	g := ktable.Global(bld, "products", serde.String(), serde.String())
	join.StreamGlobal(s, g, func(_, product string) string { return product },
		func(_, _, name string) string { return name }).To("out", kstream.WithSerdes(serde.String(), serde.String()))
	top, err := bld.Build()
	if err != nil {
		b.Fatal(err)
	}
	d := testutil.NewDriver(b, top, testutil.Config{})
	products := testutil.NewInputTopic(d, "products", serde.String(), serde.String())
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = "product-" + strconv.Itoa(i)
		products.Pipe(keys[i], "name of "+keys[i])
	}
	in := testutil.NewInputTopic(d, "orders", serde.String(), serde.String())
	out := testutil.NewOutputTopic(d, "out", serde.String(), serde.Bytes())
	joined := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		in.Pipe("order", keys[i%len(keys)])
		if out.Len() >= 4096 {
			joined += out.Drain()
		}
	}
	b.StopTimer()
	if joined += out.Len(); joined != b.N {
		b.Fatalf("%d records joined, want %d", joined, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
