package join_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/strata-go/strata/join"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
)

// joinBenchKeys is the number of distinct keys, and table rows, of the join
// benchmark.
const joinBenchKeys = 10_000

// BenchmarkStreamTableJoin joins a stream with a table through the test
// driver: in (String keys and values) → StreamTable with the table read
// from "table" (a Pebble store on the driver's in-memory file system, its
// rows loaded before timing starts) → out. Every stream record is
// serialized, queued, deserialized, looked up in the store (a Get that
// decodes the row), joined, and its result serialized to the output
// topic, which is drained as it fills. Records cycle through the 10k keys,
// each of which has a row, so every record produces a result.
//
//	go test -run '^$' -bench StreamTableJoin -benchmem ./join/
func BenchmarkStreamTableJoin(b *testing.B) { benchStreamTableJoin(b) }

// BenchmarkStreamTableJoinVersioned is BenchmarkStreamTableJoin with a
// versioned table (ktable.Versioned): each record reads its key's row as
// of its time (GetAsOf), which here is the latest version.
func BenchmarkStreamTableJoinVersioned(b *testing.B) {
	benchStreamTableJoin(b, ktable.Versioned(time.Hour))
}

func benchStreamTableJoin(b *testing.B, tableOpts ...ktable.Option) {
	bld := topology.NewBuilder()
	s := kstream.From(bld, "in", serde.String(), serde.String())
	t := ktable.From(bld, "table", serde.String(), serde.String(), append(tableOpts, ktable.Named("rows"))...)
	join.StreamTable(s, t, func(_ string, l, r string) string { return r }).To("out")
	top, err := bld.Build()
	if err != nil {
		b.Fatal(err)
	}
	d := testutil.NewDriver(b, top, testutil.Config{ApplicationID: "bench"})
	keys := make([]string, joinBenchKeys)
	table := testutil.NewInputTopic(d, "table", serde.String(), serde.String())
	for i := range keys {
		keys[i] = fmt.Sprintf("key-%05d", i)
		table.Pipe(keys[i], "row-"+keys[i])
	}
	in := testutil.NewInputTopic(d, "in", serde.String(), serde.String())
	out := testutil.NewOutputTopic(d, "out", serde.String(), serde.String())
	changelog := testutil.NewOutputTopic(d, "bench-rows-changelog", serde.Bytes(), serde.Bytes())
	changelog.Drain()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		in.Pipe(keys[i%joinBenchKeys], "v")
		if i%4096 == 4095 {
			out.Drain()
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	// Every record joined its key's row.
	if n := out.Len(); n != b.N%4096 {
		b.Fatalf("%d results left in out, want %d", n, b.N%4096)
	}
	if r := out.ReadRecord(); b.N%4096 != 0 && r.Value != "row-"+r.Key {
		b.Fatalf("result %q for %q", r.Value, r.Key)
	}
}
