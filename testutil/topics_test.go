package testutil_test

import (
	"maps"
	"strings"
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

// passThrough copies topic "in" to "out".
func passThrough(t *testing.T) *topology.Topology {
	t.Helper()
	b := topology.NewBuilder()
	kstream.From(b, "in", serde.String(), serde.String()).To("out")
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return top
}

// TestReadKeyValuesToMap: the last value of each key wins, a tombstone
// deletes its key, and the records are consumed.
func TestReadKeyValuesToMap(t *testing.T) {
	d := testutil.NewDriver(t, passThrough(t), testutil.Config{Partitions: map[string]int{"in": 3}})
	in := testutil.NewInputTopic(d, "in", serde.String(), serde.String())
	out := testutil.NewOutputTopic(d, "out", serde.String(), serde.String())
	in.PipeKeyValues(testutil.KV("a", "1"), testutil.KV("b", "1"), testutil.KV("a", "2"), testutil.KV("c", "1"))
	in.PipeTombstone("b")
	in.Pipe("c", "") // an empty value is a value, not a tombstone
	got := testutil.ReadKeyValuesToMap(out)
	if want := map[string]string{"a": "2", "c": ""}; !maps.Equal(got, want) {
		t.Errorf("map %v, want %v", got, want)
	}
	if !out.IsEmpty() {
		t.Errorf("%d records left unread", out.Len())
	}
	if got := testutil.ReadKeyValuesToMap(out); len(got) != 0 {
		t.Errorf("second read %v, want nothing", got)
	}
}

// TestReadKeyValuesToMapNullKey fails the test on a record with a null
// key, as Kafka's readKeyValuesToMap throws.
func TestReadKeyValuesToMapNullKey(t *testing.T) {
	got := fails(t, func(tb testing.TB) {
		d := testutil.NewDriver(tb, passThrough(t), testutil.Config{})
		testutil.NewInputTopic(d, "in", serde.String(), serde.String()).PipeNullKey("v")
		testutil.ReadKeyValuesToMap(testutil.NewOutputTopic(d, "out", serde.String(), serde.String()))
	})
	if !strings.Contains(got, "ReadKeyValuesToMap: a record with a null key") {
		t.Errorf("reported %q", got)
	}
}

// TestPipeNulls: the typed topics pipe a null key and a null value whatever
// their serdes would make of the zero values (String writes "" as empty
// bytes): the topology sees the nulls and writes them as nulls.
func TestPipeNulls(t *testing.T) {
	d := testutil.NewDriver(t, passThrough(t), testutil.Config{})
	in := testutil.NewInputTopic(d, "in", serde.String(), serde.String())
	out := testutil.NewOutputTopic(d, "out", serde.String(), serde.String())
	in.PipeTombstone("k")
	in.PipeNullKey("v")
	in.PipeNullKey("w")
	in.PipeRecords(topology.NullKey(topology.Tombstone(topology.Record[string, string]{Timestamp: time.UnixMilli(7)})))
	in.Pipe("", "")
	recs := out.ReadAll()
	type nulls struct{ key, value bool }
	want := []nulls{{false, true}, {true, false}, {true, false}, {true, true}, {false, false}}
	if len(recs) != len(want) {
		t.Fatalf("read %d records, want %d", len(recs), len(want))
	}
	for i, r := range recs {
		if got := (nulls{r.NullKey, r.NullValue}); got != want[i] {
			t.Errorf("record %d: nulls %+v, want %+v", i, got, want[i])
		}
	}
	if ts := recs[3].Timestamp.UnixMilli(); ts != 7 {
		t.Errorf("record 3 at %d, want its own timestamp 7", ts)
	}
}

// TestStoresWithTimestamps reads the DSL's stores with the timestamps of
// their rows: a table's row has the time of its last update, an aggregate
// the largest time folded into it, a window the largest time in it.
func TestStoresWithTimestamps(t *testing.T) {
	b := topology.NewBuilder()
	ktable.From(b, "rows", serde.String(), serde.String(), ktable.Named("rows"))
	clicks := kstream.From(b, "clicks", serde.String(), serde.String())
	ktable.GroupByKey(clicks).Count(ktable.Named("counts"))
	ktable.WindowedBy(ktable.GroupByKey(clicks), window.Tumbling(time.Minute, 0)).Count(ktable.Named("windows"))
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	d := testutil.NewDriver(t, top, testutil.Config{})
	rows := testutil.NewInputTopic(d, "rows", serde.String(), serde.String())
	in := testutil.NewInputTopic(d, "clicks", serde.String(), serde.String())
	rows.PipeAt("r", "old", time.UnixMilli(10))
	rows.PipeAt("r", "new", time.UnixMilli(20))
	in.PipeAt("ann", "x", time.UnixMilli(30))
	in.PipeAt("ann", "y", time.UnixMilli(25)) // out of order: the count keeps 30

	if got, ok := testutil.TimestampedKeyValueStore[string, string](d, "rows").Get("r"); !ok || got.Value != "new" || got.Timestamp.UnixMilli() != 20 {
		t.Errorf("row %+v %v, want new@20", got, ok)
	}
	if got, ok := testutil.KeyValueStore[string, state.Timestamped[int64]](d, "counts").Get("ann"); !ok || got.Value != 2 || got.Timestamp.UnixMilli() != 30 {
		t.Errorf("count %+v %v, want 2@30", got, ok)
	}
	if got, ok := testutil.KeyValueStore[string, int64](d, "counts").Get("ann"); !ok || got != 2 {
		t.Errorf("count without timestamp %v %v, want 2", got, ok)
	}
	if got, ok := testutil.WindowStore[string, state.Timestamped[int64]](d, "windows").Fetch("ann", time.UnixMilli(0)); !ok || got.Value != 2 || got.Timestamp.UnixMilli() != 30 {
		t.Errorf("window %+v %v, want 2@30", got, ok)
	}
}

// TestTopicSerdesFromTheTopology: topics given nil serdes use the serdes
// registered on the topology's builder, else the built-in defaults.
func TestTopicSerdesFromTheTopology(t *testing.T) {
	type point struct{ X, Y int }
	b := topology.NewBuilder()
	topology.RegisterSerde(b, serde.JSON[point]())
	kstream.From[string, point](b, "in", nil, nil).To("out")
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	d := testutil.NewDriver(t, top, testutil.Config{})
	testutil.NewInputTopic[string, point](d, "in", nil, nil).Pipe("p", point{1, 2})
	raw := testutil.NewOutputTopic(d, "out", serde.String(), serde.String()).ReadKeyValue()
	if raw.Key != "p" || raw.Value != `{"X":1,"Y":2}` {
		t.Errorf("written %+v, want the registered JSON serde's bytes", raw)
	}
}
