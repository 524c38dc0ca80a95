package join_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/strata-go/strata/join"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
)

// benchKeys is the number of distinct keys the benchmark joins.
const benchKeys = 10_000

// BenchmarkStreamsJoin joins two topics through the test driver, String
// keys and values, within 5 s and no grace, the two window stores (and for
// the left join the outer store) in Pebble on the driver's in-memory file
// system, or in memory (state.InMemory), logging to their changelogs. Record i goes to the left topic when
// i is even and to the right one when odd, its key cycling through 10k keys
// in pairs, its timestamp i ms: each right record joins the left one just
// before it, and a key's previous pair, 20 s older, has expired. Every
// record is serialized, queued, deserialized, put in its window store and
// changelog, and looked up in the other side's store; every pair makes one
// result, written to the output topic. The left join also keeps each left
// record in the outer store until its partner arrives, and removes it then.
//
//	go test -run '^$' -bench StreamsJoin -benchmem ./join/
func BenchmarkStreamsJoin(b *testing.B) {
	for _, bc := range []struct {
		k     kind
		store string
		opts  []state.Option
	}{
		{inner, "pebble", nil},
		{leftJoin, "pebble", nil},
		{inner, "memory", []state.Option{state.InMemory()}},
		{leftJoin, "memory", []state.Option{state.InMemory()}},
	} {
		b.Run(bc.k.String()+"/"+bc.store, func(b *testing.B) {
			bld := topology.NewBuilder()
			l := kstream.From(bld, "left", serde.String(), serde.String())
			r := kstream.From(bld, "right", serde.String(), serde.String())
			joinTopics(bc.k, l, r, join.Within(5*time.Second, 0), join.Named("j"), join.WithStoreOptions(bc.opts...)).To("out")
			top, err := bld.Build()
			if err != nil {
				b.Fatal(err)
			}
			d := testutil.NewDriver(b, top, testutil.Config{ApplicationID: "bench"})
			ins := [2]*testutil.InputTopic[string, string]{
				testutil.NewInputTopic(d, "left", serde.String(), serde.String()),
				testutil.NewInputTopic(d, "right", serde.String(), serde.String()),
			}
			out := testutil.NewOutputTopic(d, "out", serde.Bytes(), serde.Bytes())
			var drain []*testutil.OutputTopic[[]byte, []byte]
			for _, topic := range d.ProducedTopics() {
				drain = append(drain, testutil.NewOutputTopic(d, topic, serde.Bytes(), serde.Bytes()))
			}
			keys := make([]string, benchKeys)
			for i := range keys {
				keys[i] = fmt.Sprintf("key-%05d", i)
			}
			values := [2]string{"left-value-00000", "right-value-0000"}
			pipe := func(i int) {
				ins[i%2].PipeAt(keys[(i/2)%benchKeys], values[i%2], time.UnixMilli(int64(i)))
			}
			// Warm up: a round of every key on both sides.
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
			if want := (b.N + 1) / 2; results != want && b.N > 1 {
				b.Fatalf("%d results from %d records, want %d", results, b.N, want)
			}
		})
	}
}
