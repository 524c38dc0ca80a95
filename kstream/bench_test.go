package kstream_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
)

// BenchmarkStatelessPipeline pipes records through Filter, MapValues and
// Map with String serdes, in the test driver: every record is serialized,
// partitioned, queued, deserialized, processed by the engine's task, and
// serialized again by the sink. The output is read and discarded as it goes.
//
//	go test -run '^$' -bench StatelessPipeline -benchmem ./kstream/
func BenchmarkStatelessPipeline(b *testing.B) {
	bld := topology.NewBuilder()
	s := kstream.From(bld, "in", serde.String(), serde.String())
	kept := s.Filter(func(_, v string) bool { return len(v) > 0 })
	upper := kstream.MapValues(kept, func(_, v string) string { return strings.ToUpper(v) })
	kstream.Map(upper, func(k, v string) (string, string) { return k, v }).To("out")
	top, err := bld.Build()
	if err != nil {
		b.Fatal(err)
	}
	d := testutil.NewDriver(b, top, testutil.Config{})
	in := testutil.NewInputTopic(d, "in", serde.String(), serde.String())
	out := testutil.NewOutputTopic(d, "out", serde.String(), serde.Bytes())
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = "key-" + strconv.Itoa(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		in.Pipe(keys[i%len(keys)], "some value")
		if out.Len() >= 4096 {
			out.Drain()
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
