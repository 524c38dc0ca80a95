package kstream_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
)

// nullsOut reads every record of out as "key:value", a null key or value
// printed "null", as Kafka's tests print them.
func nullsOut[K, V any](out *testutil.OutputTopic[K, V]) string {
	var recs []string
	for _, r := range out.ReadAll() {
		k, v := fmt.Sprint(r.Key), fmt.Sprint(r.Value)
		if r.NullKey {
			k = "null"
		}
		if r.NullValue {
			v = "null"
		}
		recs = append(recs, k+":"+v)
	}
	return strings.Join(recs, " ")
}

// pipeNulls pipes a record with a value, a tombstone, a record with a null
// key and a record with both null into in.
func pipeNulls(in *testutil.InputTopic[string, string]) {
	in.Pipe("k", "v")
	in.PipeTombstone("k")
	in.PipeNullKey("v")
	in.PipeRecords(topology.NullKey(topology.Tombstone(topology.Record[string, string]{})))
}

// TestNullsThroughMappers: a mapper that returns the zero value it got for
// a null key or value keeps it a null, as a Kafka mapper returning its null
// input does; a mapper that returns anything else makes a value. Each case
// writes the mapped stream with serdes that would write the zero value as
// bytes (String), so a null in the output is the record's null marker.
func TestNullsThroughMappers(t *testing.T) {
	for _, tc := range []struct {
		name string
		add  func(s kstream.Stream[string, string]) kstream.Stream[string, string]
		want string
	}{
		{"Map no-op", func(s kstream.Stream[string, string]) kstream.Stream[string, string] {
			return kstream.Map(s, func(k, v string) (string, string) { return k, v })
		}, "k:v k:null null:v null:null"},
		{"Map to values", func(s kstream.Stream[string, string]) kstream.Stream[string, string] {
			return kstream.Map(s, func(k, v string) (string, string) { return k + "!", v + "!" })
		}, "k!:v! k!:! !:v! !:!"},
		{"MapValues no-op", func(s kstream.Stream[string, string]) kstream.Stream[string, string] {
			return kstream.MapValues(s, func(_, v string) string { return v })
		}, "k:v k:null null:v null:null"},
		{"MapValues to upper case", func(s kstream.Stream[string, string]) kstream.Stream[string, string] {
			return kstream.MapValues(s, func(_, v string) string { return strings.ToUpper(v) })
		}, "k:V k:null null:V null:null"},
		{"MapValues of a null to a value", func(s kstream.Stream[string, string]) kstream.Stream[string, string] {
			return kstream.MapValues(s, func(_, v string) string {
				if v == "" {
					return "deleted"
				}
				return v
			})
		}, "k:v k:deleted null:v null:deleted"},
		{"SelectKey no-op", func(s kstream.Stream[string, string]) kstream.Stream[string, string] {
			return kstream.SelectKey(s, func(k, _ string) string { return k })
		}, "k:v k:null null:v null:null"},
		{"SelectKey from the value", func(s kstream.Stream[string, string]) kstream.Stream[string, string] {
			// Kafka's selectValueKeyValueMapper: a null value becomes
			// the zero key, not a null key, since the null moved from
			// the value to the key (the last record's key was null
			// already).
			return kstream.SelectKey(s, func(_, v string) string { return v })
		}, "v:v :null v:v null:null"},
		{"FlatMap no-op", func(s kstream.Stream[string, string]) kstream.Stream[string, string] {
			return kstream.FlatMap(s, func(k, v string) []kstream.KeyValue[string, string] {
				return []kstream.KeyValue[string, string]{kstream.Pair(k, v), kstream.Pair(k, v+"2")}
			})
		}, "k:v k:v2 k:null k:2 null:v null:v2 null:null null:2"},
		{"FlatMapValues no-op", func(s kstream.Stream[string, string]) kstream.Stream[string, string] {
			return kstream.FlatMapValues(s, func(_, v string) []string { return []string{v} })
		}, "k:v k:null null:v null:null"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := topology.NewBuilder()
			tc.add(kstream.From(b, "in", serde.String(), serde.String())).To("out")
			d := testutil.NewDriver(t, build(t, b), testutil.Config{})
			pipeNulls(testutil.NewInputTopic(d, "in", serde.String(), serde.String()))
			if got := nullsOut(testutil.NewOutputTopic(d, "out", serde.String(), serde.String())); got != tc.want {
				t.Errorf("output %q, want %q", got, tc.want)
			}
		})
	}
}

// TestNullsThroughTypeChanges: the zero value of another type keeps a null
// too: a tombstone mapped to a struct stays a tombstone, and a null key
// mapped to the zero int64 stays a null key, so that a later stateful
// operation drops it rather than aggregate it under 0.
func TestNullsThroughTypeChanges(t *testing.T) {
	type length struct{ N int }
	b := topology.NewBuilder()
	in := kstream.From(b, "in", serde.String(), serde.String())
	kstream.Map(in, func(k, v string) (int64, length) { return int64(len(k)), length{len(v)} }).
		To("out", kstream.WithSerdes(serde.Int64(), serde.JSON[length]()))
	d := testutil.NewDriver(t, build(t, b), testutil.Config{})
	pipeNulls(testutil.NewInputTopic(d, "in", serde.String(), serde.String()))
	got := nullsOut(testutil.NewOutputTopic(d, "out", serde.Int64(), serde.JSON[length]()))
	if want := "1:{1} 1:null null:{1} null:null"; got != want {
		t.Errorf("output %q, want %q", got, want)
	}
}

// TestNullsMappedByZeroValuesStayValues: a record without nulls whose
// mapper returns zero values keeps them as values: only a null going in
// can come out null.
func TestNullsMappedByZeroValuesStayValues(t *testing.T) {
	b := topology.NewBuilder()
	in := kstream.From(b, "in", serde.String(), serde.String())
	kstream.Map(in, func(_, _ string) (string, string) { return "", "" }).To("out")
	d := testutil.NewDriver(t, build(t, b), testutil.Config{})
	testutil.NewInputTopic(d, "in", serde.String(), serde.String()).Pipe("k", "v")
	out := testutil.NewOutputTopic(d, "out", serde.String(), serde.String()).ReadAll()
	if len(out) != 1 || out[0].NullKey || out[0].NullValue {
		t.Fatalf("output %+v, want one record with an empty key and value", out)
	}
}

// TestNullsDroppedByRepartition: a re-keyed stream's null keys are dropped
// before the repartition topic, counted, and a tombstone crosses it as a
// tombstone.
func TestNullsDroppedByRepartition(t *testing.T) {
	b := topology.NewBuilder()
	in := kstream.From(b, "in", serde.String(), serde.String())
	kstream.SelectKey(in, func(k, _ string) string { return k }).Repartition(kstream.Named("rekeyed")).To("out")
	d := testutil.NewDriver(t, build(t, b), testutil.Config{})
	pipeNulls(testutil.NewInputTopic(d, "in", serde.String(), serde.String()))
	if got, want := nullsOut(testutil.NewOutputTopic(d, "out", serde.String(), serde.String())), "k:v k:null"; got != want {
		t.Errorf("output %q, want %q", got, want)
	}
	if n := d.DroppedRecords(); n != 2 {
		t.Errorf("dropped %d records, want the 2 with a null key", n)
	}
	if !slices.Contains(d.ProducedTopics(), "test-rekeyed-repartition") {
		t.Errorf("produced topics %q lack the repartition topic", d.ProducedTopics())
	}
}
