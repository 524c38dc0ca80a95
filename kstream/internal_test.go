package kstream

import (
	"testing"

	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
)

func TestRepartitionFlag(t *testing.T) {
	b := topology.NewBuilder()
	src := From(b, "in", serde.String(), serde.Int64())
	keep := func(string, int64) bool { return true }
	proc := func() topology.Processor[string, int64, string, int64] { return &filterProc[string, int64]{pred: keep} }
	mapped := Map(src, func(k string, v int64) (string, int64) { return k, v })
	check := func(name string, got, want bool) {
		t.Helper()
		if got != want {
			t.Errorf("%s: RepartitionRequired() = %v, want %v", name, got, want)
		}
	}
	// Key-changing operations set the flag.
	check("From", src.core().RepartitionRequired(), false)
	check("Map", mapped.core().RepartitionRequired(), true)
	check("SelectKey", SelectKey(src, func(k string, _ int64) string { return k }).core().RepartitionRequired(), true)
	check("FlatMap", FlatMap(src, func(string, int64) []KeyValue[string, int64] { return nil }).core().RepartitionRequired(), true)
	check("Process", Process(src, proc).core().RepartitionRequired(), true)
	// Value-only operations carry the input's flag, whichever it is.
	for _, in := range []struct {
		name string
		s    Stream[string, int64]
	}{{"clean", src}, {"mapped", mapped}} {
		want := in.s.core().RepartitionRequired()
		s := in.s
		check(in.name+" MapValues", MapValues(s, func(string, int64) string { return "" }).core().RepartitionRequired(), want)
		check(in.name+" Filter", s.Filter(keep).core().RepartitionRequired(), want)
		check(in.name+" FilterNot", s.FilterNot(keep).core().RepartitionRequired(), want)
		check(in.name+" FlatMapValues", FlatMapValues(s, func(string, int64) []int64 { return nil }).core().RepartitionRequired(), want)
		check(in.name+" Peek", s.Peek(func(string, int64) {}).core().RepartitionRequired(), want)
		for name, br := range s.Split().Branch("x", keep).Default("y") {
			check(in.name+" Split branch "+name, br.core().RepartitionRequired(), want)
		}
	}
	// Merge ORs its inputs' flags.
	other := From(b, "in2", serde.String(), serde.Int64())
	check("Merge clean+clean", src.Merge(other).core().RepartitionRequired(), false)
	check("Merge clean+mapped", src.Merge(mapped).core().RepartitionRequired(), true)
	check("Merge mapped+clean", mapped.Merge(src).core().RepartitionRequired(), true)
	check("Merge mapped+mapped", mapped.Merge(mapped.Filter(keep)).core().RepartitionRequired(), true)
	if _, err := b.Build(); err != nil {
		t.Fatal(err)
	}
}

// TestSerdesCarried checks which serdes each operation keeps.
func TestSerdesCarried(t *testing.T) {
	b := topology.NewBuilder()
	src := From(b, "in", serde.String(), serde.Int64())
	known := func(name string, key, value, wantKey, wantValue bool) {
		t.Helper()
		if key != wantKey || value != wantValue {
			t.Errorf("%s: key serde known %v, value serde known %v; want %v, %v", name, key, value, wantKey, wantValue)
		}
	}
	c := src.Filter(func(string, int64) bool { return true }).core()
	known("Filter", c.KeySerde() != nil, c.ValueSerde() != nil, true, true)
	c = src.Peek(func(string, int64) {}).core()
	known("Peek", c.KeySerde() != nil, c.ValueSerde() != nil, true, true)
	for _, br := range src.Split().Branch("a", func(string, int64) bool { return true }).Default("b") {
		c = br.core()
		known("Split branch", c.KeySerde() != nil, c.ValueSerde() != nil, true, true)
	}
	c2 := MapValues(src, func(string, int64) string { return "" }).core()
	known("MapValues", c2.KeySerde() != nil, c2.ValueSerde() != nil, true, false)
	c2 = FlatMapValues(src, func(string, int64) []string { return nil }).core()
	known("FlatMapValues", c2.KeySerde() != nil, c2.ValueSerde() != nil, true, false)
	c3 := SelectKey(src, func(string, int64) int32 { return 0 }).core()
	known("SelectKey", c3.KeySerde() != nil, c3.ValueSerde() != nil, false, true)
	m := Map(src, func(k string, v int64) (string, int64) { return k, v })
	c = m.core()
	known("Map", c.KeySerde() != nil, c.ValueSerde() != nil, false, false)
	c = m.Merge(src).core()
	known("Merge unknown+known", c.KeySerde() != nil, c.ValueSerde() != nil, true, true)
	c = FlatMap(src, func(string, int64) []KeyValue[string, int64] { return nil }).core()
	known("FlatMap", c.KeySerde() != nil, c.ValueSerde() != nil, false, false)
	c = Process(src, func() topology.Processor[string, int64, string, int64] { return &filterProc[string, int64]{} }).core()
	known("Process", c.KeySerde() != nil, c.ValueSerde() != nil, false, false)
}

// TestGeneratedNames checks Kafka Streams' naming: a prefix and the
// builder's counter, with split branches named after the split node and
// taking a counter value each, as BranchedKStreamImpl does.
func TestGeneratedNames(t *testing.T) {
	b := topology.NewBuilder()
	keep := func(string, string) bool { return true }
	src := From(b, "in", serde.String(), serde.String())
	names := []struct{ got, want string }{{src.node(), "KSTREAM-SOURCE-0000000000"}}
	add := func(s Stream[string, string], want string) Stream[string, string] {
		names = append(names, struct{ got, want string }{s.node(), want})
		return s
	}
	f := add(src.Filter(keep), "KSTREAM-FILTER-0000000001")
	add(MapValues(f, func(_, v string) string { return v }), "KSTREAM-MAPVALUES-0000000002")
	add(Map(f, func(k, v string) (string, string) { return k, v }), "KSTREAM-MAP-0000000003")
	add(FlatMap(f, func(string, string) []KeyValue[string, string] { return nil }), "KSTREAM-FLATMAP-0000000004")
	add(FlatMapValues(f, func(string, string) []string { return nil }), "KSTREAM-FLATMAPVALUES-0000000005")
	add(SelectKey(f, func(k, _ string) string { return k }), "KSTREAM-KEY-SELECT-0000000006")
	p := add(f.Peek(func(string, string) {}), "KSTREAM-PEEK-0000000007")
	add(p.Merge(f), "KSTREAM-MERGE-0000000008")
	br := f.Split().Branch("a", keep).Branch("b", keep, Named("bee")).Default("rest")
	add(br["a"], "KSTREAM-BRANCH-0000000009-a")
	add(br["b"], "bee")
	add(br["rest"], "KSTREAM-BRANCH-0000000009-rest")
	add(Process(f, func() topology.Processor[string, string, string, string] {
		return &filterProc[string, string]{pred: keep}
	}), "KSTREAM-PROCESSOR-0000000013")
	add(f.Filter(keep, Named("mine")), "mine")
	add(f.FilterNot(keep), "KSTREAM-FILTER-0000000014")
	for _, n := range names {
		if n.got != n.want {
			t.Errorf("node %q, want %q", n.got, n.want)
		}
	}
	if len(br) != 3 {
		t.Errorf("split returned %d branches, want 3", len(br))
	}
	if _, err := b.Build(); err != nil {
		t.Fatal(err)
	}
}
