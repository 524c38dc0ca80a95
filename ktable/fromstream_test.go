package ktable_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
)

// TestFromStreamMaterializes mirrors KStreamImplTest
// .shouldMaterializeKTableFromKStream: the latest value of each key is in
// the named store.
func TestFromStreamMaterializes(t *testing.T) {
	b := topology.NewBuilder()
	ktable.FromStream(kstream.From(b, "input", serde.String(), serde.String()), ktable.Named("store"))
	top := mustBuild(t, b)
	if desc := top.Describe().String(); !strings.Contains(desc, "Processor: KSTREAM-TOTABLE-0000000001 (stores: [store])") {
		t.Fatalf("Describe:\n%s", desc)
	}
	d := testutil.NewDriver(t, top, testutil.Config{})
	in := testutil.NewInputTopic(d, "input", serde.String(), serde.String())
	in.Pipe("A", "01")
	in.Pipe("B", "02")
	in.Pipe("A", "03")
	got := map[string]string{}
	for _, kv := range testutil.KeyValueStore[string, string](d, "store").All() {
		got[kv.Key] = kv.Value
	}
	if fmt.Sprint(got) != "map[A:03 B:02]" {
		t.Fatalf("store %v", got)
	}
}

// TestFromStreamTombstones turns a stream's tombstones into deletes.
func TestFromStreamTombstones(t *testing.T) {
	b := topology.NewBuilder()
	ktable.FromStream(kstream.From(b, "input", serde.String(), serde.String()), ktable.Named("store")).ToStream().To("output")
	d := testutil.NewDriver(t, mustBuild(t, b), testutil.Config{})
	in := testutil.NewInputTopic(d, "input", serde.String(), serde.String())
	out := testutil.NewOutputTopic(d, "output", serde.String(), serde.String())
	in.PipeAt("A", "01", tsAt(1))
	pipeDelete(t, in, "A", tsAt(2))
	pipeDelete(t, in, "B", tsAt(3)) // absent: nothing to delete
	sameList(t, "output", readOutputs(out), "A:01@1", "A:null@2")
	if _, ok := testutil.KeyValueStore[string, string](d, "store").Get("A"); ok {
		t.Fatal("A is still in the store")
	}
}

// TestFromStreamKeyChange mirrors KStreamImplTest
// .shouldSupportKeyChangeKTableFromKStream: a stream whose key changed is
// repartitioned before it becomes a table.
func TestFromStreamKeyChange(t *testing.T) {
	b := topology.NewBuilder()
	mapped := kstream.Map(kstream.From(b, "input", serde.String(), serde.String()),
		func(k, v string) (int32, string) { return int32(k[0] - 'A'), v })
	ktable.FromStream(mapped).ToStream().To("output")
	top := mustBuild(t, b)
	desc := top.Describe().String()
	for _, s := range []string{"Sub-topology: 1", "-repartition-sink", "-repartition-source", "Processor: KSTREAM-TOTABLE-"} {
		if !strings.Contains(desc, s) {
			t.Fatalf("Describe lacks %q:\n%s", s, desc)
		}
	}
	d := testutil.NewDriver(t, top, testutil.Config{})
	in := testutil.NewInputTopic(d, "input", serde.String(), serde.String())
	out := testutil.NewOutputTopic(d, "output", serde.Int32(), serde.String())
	in.PipeAt("A", "01", tsAt(5))
	in.PipeAt("B", "02", tsAt(100))
	in.PipeAt("C", "03", tsAt(0))
	in.PipeAt("D", "04", tsAt(0))
	in.PipeAt("A", "05", tsAt(10))
	in.PipeAt("A", "06", tsAt(8))
	sameList(t, "output", readOutputs(out), "0:01@5", "1:02@100", "2:03@0", "3:04@0", "0:05@10", "0:06@8")
}

// TestFromStreamKeyChangeAcrossPartitions re-keys a stream read from four
// partitions: each key's rows end in the task that owns the key.
func TestFromStreamKeyChangeAcrossPartitions(t *testing.T) {
	b := topology.NewBuilder()
	mapped := kstream.Map(kstream.From(b, "input", serde.String(), serde.String()),
		func(k, v string) (string, string) { return v, k })
	ktable.FromStream(mapped, ktable.Named("by-value"))
	d := testutil.NewDriver(t, mustBuild(t, b), testutil.Config{Partitions: map[string]int{"input": 4}})
	in := testutil.NewInputTopic(d, "input", serde.String(), serde.String())
	want := map[string]string{}
	for i := range 100 {
		k, v := fmt.Sprintf("k%02d", i), fmt.Sprintf("v%d", i%10)
		in.PipeAt(k, v, tsAt(int64(i)))
		want[v] = k
	}
	view := testutil.KeyValueStore[string, string](d, "by-value")
	if got := len(view.All()); got != len(want) {
		t.Fatalf("store holds %d keys, want %d", got, len(want))
	}
	for v, k := range want {
		if got, ok := view.Get(v); !ok || got != k {
			t.Fatalf("%s = %q, %v; want %q", v, got, ok, k)
		}
	}
}

// TestFromStreamGroupByCount mirrors KStreamImplTest
// .shouldSupportGroupByCountWithKStreamToKTable, names included (but for
// the repartition sink and source, which Strata names after the topic).
func TestFromStreamGroupByCount(t *testing.T) {
	b := topology.NewBuilder()
	table := ktable.FromStream(kstream.From(b, "input", serde.String(), serde.String()), uncachedRows)
	ktable.GroupTableBy(table, func(_, v string) (string, string) { return v, v }).Count().ToStream().To("output")
	top := mustBuild(t, b)
	desc := top.Describe().String()
	for _, s := range []string{
		"Processor: KSTREAM-TOTABLE-0000000001 (stores: [KSTREAM-TOTABLE-STATE-STORE-0000000002])",
		"Processor: KTABLE-SELECT-0000000003 (stores: [])",
		"(topic: KTABLE-AGGREGATE-STATE-STORE-0000000004-repartition)",
		"(topics: [KTABLE-AGGREGATE-STATE-STORE-0000000004-repartition])",
		"(stores: [KTABLE-AGGREGATE-STATE-STORE-0000000004])",
	} {
		if !strings.Contains(desc, s) {
			t.Errorf("Describe lacks %q:\n%s", s, desc)
		}
	}
	d := testutil.NewDriver(t, top, testutil.Config{})
	in := testutil.NewInputTopic(d, "input", serde.String(), serde.String())
	out := testutil.NewOutputTopic(d, "output", serde.String(), serde.Int64())
	in.PipeAt("A", "green", tsAt(10))
	in.PipeAt("B", "green", tsAt(9))
	in.PipeAt("A", "blue", tsAt(12))
	in.PipeAt("C", "yellow", tsAt(15))
	in.PipeAt("D", "green", tsAt(11))
	sameList(t, "output", readOutputs(out),
		"green:1@10", "green:2@10", "green:1@12", "blue:1@12", "yellow:1@15", "green:2@12")
}
