package kstream_test

import (
	"strings"
	"testing"

	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
)

func TestSmokeFilterMapValuesTo(t *testing.T) {
	b := topology.NewBuilder()
	s := kstream.From(b, "input", serde.String(), serde.String())
	up := kstream.MapValues(s.Filter(func(k, v string) bool { return v != "" }), func(_ string, v string) string { return strings.ToUpper(v) })
	up.To("output")
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	d := testutil.NewDriver(t, top, testutil.Config{Partitions: map[string]int{"input": 3, "output": 2}})
	in := testutil.NewInputTopic(d, "input", serde.String(), serde.String())
	out := testutil.NewOutputTopic(d, "output", serde.String(), serde.String())
	in.PipeKeyValues(testutil.KV("a", "x"), testutil.KV("b", ""), testutil.KV("c", "y"))
	got := out.ReadKeyValues()
	want := []testutil.KeyValue[string, string]{testutil.KV("a", "X"), testutil.KV("c", "Y")}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("got %v, want %v", got, want)
	}
}
