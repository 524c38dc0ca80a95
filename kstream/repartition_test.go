package kstream_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
)

func TestRepartition(t *testing.T) {
	b := topology.NewBuilder()
	s := kstream.From(b, "in", serde.String(), serde.String())
	rekeyed := kstream.SelectKey(s, func(_, v string) string { return v })
	rekeyed.Repartition(kstream.Named("by-value"), kstream.WithPartitions(5)).To("out")
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	desc := top.Describe().String()
	for _, want := range []string{"Sub-topology: 1", "by-value-repartition-source (topics: [by-value-repartition])"} {
		if !strings.Contains(desc, want) {
			t.Fatalf("Describe lacks %q:\n%s", want, desc)
		}
	}
	d := testutil.NewDriver(t, top, testutil.Config{ApplicationID: "app", Partitions: map[string]int{"in": 2, "out": 5}})
	in := testutil.NewInputTopic(d, "in", serde.String(), serde.String())
	out := testutil.NewOutputTopic(d, "out", serde.String(), serde.String())
	rep := testutil.NewOutputTopic(d, "app-by-value-repartition", serde.String(), serde.String())
	in.PipeKeyValues(testutil.KV("1", "x"), testutil.KV("2", "y"), testutil.KV("3", "x"))
	got := out.ReadKeyValues()
	if fmt.Sprint(got) != "[{x x} {y y} {x x}]" {
		t.Fatalf("out = %v", got)
	}
	// The repartition topic has the 5 partitions asked for, and records
	// with equal keys share one.
	recs := rep.ReadAll()
	if len(recs) != 3 || recs[0].Partition != recs[2].Partition {
		t.Fatalf("repartition records %+v", recs)
	}
	for _, r := range recs {
		if r.Partition < 0 || r.Partition >= 5 {
			t.Fatalf("partition %d of a 5-partition topic", r.Partition)
		}
	}
}

func TestRepartitionDropsNullKeys(t *testing.T) {
	b := topology.NewBuilder()
	kstream.From(b, "in", serde.String(), serde.String()).Repartition().To("out")
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	d := testutil.NewDriver(t, top, testutil.Config{})
	in := testutil.NewInputTopic(d, "in", serde.String(), serde.String())
	out := testutil.NewOutputTopic(d, "out", serde.String(), serde.String())
	if err := in.PipeRaw(nil, []byte("v"), d.WallClockTime()); err != nil {
		t.Fatal(err)
	}
	in.Pipe("k", "v")
	if got := out.ReadKeyValues(); fmt.Sprint(got) != "[{k v}]" {
		t.Fatalf("out = %v: the null-key record must be dropped", got)
	}
	if n := d.DroppedRecords(); n != 1 {
		t.Fatalf("DroppedRecords = %d, want 1", n)
	}
}

func TestRepartitionErrors(t *testing.T) {
	b := topology.NewBuilder()
	s := kstream.From(b, "in", serde.String(), serde.String())
	s.Repartition(kstream.WithPartitions(-1)).To("a")
	s.Repartition(kstream.WithStores("x")).To("b")
	_, err := b.Build()
	for _, want := range []string{"WithPartitions(-1): the count must be positive", "option WithStores does not apply"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Build error %v lacks %q", err, want)
		}
	}
}
