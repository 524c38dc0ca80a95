package join_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/strata-go/strata/join"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
)

// BenchmarkSelfJoin joins one topic with itself through the test driver,
// String keys and values, within 5 s and no grace, Pebble stores on the
// driver's in-memory file system logging to their changelogs: with two
// window stores and two join processors, and with SingleStoreSelfJoin's one
// store and one processor. Record i's key cycles through 10k keys in pairs,
// its timestamp i ms: the first of a pair joins itself, the second the
// first and itself (three results), and a key's previous pair, 20 s older,
// has expired: two results a record.
//
//	go test -run '^$' -bench SelfJoin -benchmem ./join/
func BenchmarkSelfJoin(b *testing.B) {
	for _, o := range selfJoinWays {
		b.Run(o.String(), func(b *testing.B) {
			bld := topology.NewBuilder()
			bld.Optimize(o)
			s := kstream.From(bld, "in", serde.String(), serde.String())
			join.Streams(s, s, join.Within(5*time.Second, 0), func(_, a, b string) string { return a },
				join.Named("j")).To("out")
			top, err := bld.Build()
			if err != nil {
				b.Fatal(err)
			}
			d := testutil.NewDriver(b, top, testutil.Config{ApplicationID: "bench"})
			in := testutil.NewInputTopic(d, "in", serde.String(), serde.String())
			out := testutil.NewOutputTopic(d, "out", serde.Bytes(), serde.Bytes())
			var drain []*testutil.OutputTopic[[]byte, []byte]
			for _, topic := range d.ProducedTopics() {
				drain = append(drain, testutil.NewOutputTopic(d, topic, serde.Bytes(), serde.Bytes()))
			}
			keys := make([]string, benchKeys)
			for i := range keys {
				keys[i] = fmt.Sprintf("key-%05d", i)
			}
			pipe := func(i int) { in.PipeAt(keys[(i/2)%benchKeys], "value-0000000000", time.UnixMilli(int64(i))) }
			// Warm up: a round of every key.
			for i := range 2 * benchKeys {
				pipe(i)
			}
			out.Drain()
			results := 0
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				pipe(2*benchKeys + i)
				if i%4096 == 4095 {
					results += out.Drain()
					for _, o := range drain {
						o.Drain()
					}
				}
			}
			b.StopTimer()
			results += out.Drain()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
			// An odd last record is the first of its pair: one result.
			if want := 2*b.N - b.N%2; results != want {
				b.Fatalf("%d results from %d records, want %d", results, b.N, want)
			}
		})
	}
}
