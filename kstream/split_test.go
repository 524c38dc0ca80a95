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

// TestSplitFirstMatchWins routes ints through three overlapping branches and
// a default: each record goes to the first branch it matches, only.
func TestSplitFirstMatchWins(t *testing.T) {
	b := topology.NewBuilder()
	s := kstream.From(b, "in", serde.String(), serde.Int64())
	branches := s.Split(kstream.Named("route")).
		Branch("negative", func(_ string, v int64) bool { return v < 0 }).
		Branch("small", func(_ string, v int64) bool { return v < 10 }).
		Branch("even", func(_ string, v int64) bool { return v%2 == 0 }).
		Default("rest")
	if len(branches) != 4 {
		t.Fatalf("got %d branches, want 4: %v", len(branches), branches)
	}
	for _, name := range []string{"negative", "small", "even", "rest"} {
		branches[name].To(name)
	}
	d := testutil.NewDriver(t, build(t, b), testutil.Config{Partitions: map[string]int{"in": 2, "even": 3}})
	in := testutil.NewInputTopic(d, "in", serde.String(), serde.Int64())
	outs := map[string]*testutil.OutputTopic[string, int64]{}
	for _, name := range []string{"negative", "small", "even", "rest"} {
		outs[name] = testutil.NewOutputTopic(d, name, serde.String(), serde.Int64())
	}
	for i, v := range []int64{-2, 4, 12, 13, -1, 9, 100, 11} {
		in.PipeRecords(topology.Record[string, int64]{Key: "k" + strconv.Itoa(i), Value: v, Timestamp: at(int64(i)), Headers: hdr("i", strconv.Itoa(i))})
	}
	rec := func(i int, v int64, partitions int) out[string, int64] {
		k := "k" + strconv.Itoa(i)
		return out[string, int64]{k, v, int64(i), hdr("i", strconv.Itoa(i)), kafkaPartition(k, partitions)}
	}
	expect(t, outs["negative"], rec(0, -2, 1), rec(4, -1, 1))
	expect(t, outs["small"], rec(1, 4, 1), rec(5, 9, 1))
	expect(t, outs["even"], rec(2, 12, 3), rec(6, 100, 3))
	expect(t, outs["rest"], rec(3, 13, 1), rec(7, 11, 1))
}

func TestSplitNoDefaultDrops(t *testing.T) {
	b := topology.NewBuilder()
	s := kstream.From(b, "in", serde.String(), serde.String())
	var seen []string
	branches := s.Split().
		Branch("a", func(k, _ string) bool { return k == "a" }).
		Branch("b", func(k, _ string) bool { return k == "b" }).
		Branch("ab", func(k, _ string) bool { return k == "a" || k == "b" }). // never matches first
		NoDefault()
	branches["a"].To("a")
	branches["b"].To("b")
	branches["ab"].Foreach(func(k, v string) { seen = append(seen, k+v) })
	d := testutil.NewDriver(t, build(t, b), testutil.Config{})
	in := testutil.NewInputTopic(d, "in", serde.String(), serde.String())
	a := testutil.NewOutputTopic(d, "a", serde.String(), serde.String())
	bo := testutil.NewOutputTopic(d, "b", serde.String(), serde.String())
	in.PipeKeyValues(testutil.KV("a", "1"), testutil.KV("c", "2"), testutil.KV("b", "3"), testutil.KV("a", "4"), testutil.KV("d", "5"))
	expectKVs(t, a, testutil.KV("a", "1"), testutil.KV("a", "4"))
	expectKVs(t, bo, testutil.KV("b", "3"))
	if len(seen) != 0 {
		t.Errorf("branch ab saw %q, want nothing: earlier branches match first", seen)
	}
	if got := d.ProducedTopics(); len(got) != 2 {
		t.Errorf("produced topics %q, want [a b]: unmatched records are dropped", got)
	}
}

// TestSplitMergeFanIn splits a stream, transforms each branch differently
// and merges the branches back: every record comes out once, in input
// order, with its timestamp and headers.
func TestSplitMergeFanIn(t *testing.T) {
	b := topology.NewBuilder()
	s := kstream.From(b, "in", serde.String(), serde.Int64())
	br := s.Split().
		Branch("small", func(_ string, v int64) bool { return v < 100 }).
		Default("large")
	small := kstream.MapValues(br["small"], func(_ string, v int64) string { return "small:" + strconv.FormatInt(v, 10) })
	large := kstream.MapValues(br["large"], func(_ string, v int64) string { return "large:" + strconv.FormatInt(v/100, 10) + "h" })
	small.Merge(large).To("out")
	d := testutil.NewDriver(t, build(t, b), testutil.Config{Partitions: map[string]int{"in": 4, "out": 4}})
	in := testutil.NewInputTopic(d, "in", serde.String(), serde.Int64())
	o := testutil.NewOutputTopic(d, "out", serde.String(), serde.String())
	vals := []int64{5, 500, 99, 100, 7, 1234}
	var want []out[string, string]
	for i, v := range vals {
		k := "key" + strconv.Itoa(i)
		in.PipeRecords(topology.Record[string, int64]{Key: k, Value: v, Timestamp: at(int64(1000 - i)), Headers: hdr("v", strconv.FormatInt(v, 10))})
		val := "small:" + strconv.FormatInt(v, 10)
		if v >= 100 {
			val = "large:" + strconv.FormatInt(v/100, 10) + "h"
		}
		want = append(want, out[string, string]{k, val, int64(1000 - i), hdr("v", strconv.FormatInt(v, 10)), kafkaPartition(k, 4)})
	}
	expect(t, o, want...)
}

func TestSplitBuildErrors(t *testing.T) {
	t.Run("duplicate branch", func(t *testing.T) {
		b := topology.NewBuilder()
		s := kstream.From(b, "in", serde.String(), serde.String())
		s.Split(kstream.Named("sp")).
			Branch("x", func(_, _ string) bool { return true }).
			Branch("x", func(_, _ string) bool { return false }).
			NoDefault()["x"].To("out")
		buildErr(t, b, `Split "sp": branch name "x" is used more than once`)
	})
	t.Run("default reuses a branch name", func(t *testing.T) {
		b := topology.NewBuilder()
		s := kstream.From(b, "in", serde.String(), serde.String())
		s.Split(kstream.Named("sp")).Branch("x", func(_, _ string) bool { return true }).Default("x")
		buildErr(t, b, `Split "sp": branch name "x" is used more than once`)
	})
	t.Run("empty branch name", func(t *testing.T) {
		b := topology.NewBuilder()
		s := kstream.From(b, "in", serde.String(), serde.String())
		s.Split(kstream.Named("sp")).Branch("", func(_, _ string) bool { return true }).NoDefault()
		buildErr(t, b, `Split "sp": a branch has an empty name`)
	})
	t.Run("nil predicate", func(t *testing.T) {
		b := topology.NewBuilder()
		s := kstream.From(b, "in", serde.String(), serde.String())
		s.Split(kstream.Named("sp")).Branch("x", nil).NoDefault()
		buildErr(t, b, `Split "sp": branch "x" has a nil predicate`)
	})
	t.Run("branch after default", func(t *testing.T) {
		b := topology.NewBuilder()
		s := kstream.From(b, "in", serde.String(), serde.String())
		sp := s.Split(kstream.Named("sp"))
		sp.Default("rest")
		sp.Branch("late", func(_, _ string) bool { return true })
		sp.NoDefault()
		buildErr(t, b, `Split "sp": Branch "late" after Default or NoDefault`, `Split "sp": NoDefault after Default or NoDefault`)
	})
	t.Run("option that does not apply", func(t *testing.T) {
		b := topology.NewBuilder()
		s := kstream.From(b, "in", serde.String(), serde.String())
		s.Split(kstream.Named("sp")).Branch("x", func(_, _ string) bool { return true }, kstream.WithStores("st")).NoDefault()
		buildErr(t, b, `Branch "sp-x": option WithStores does not apply`)
	})
}

// TestSplitMergeDescribe checks the shape Kafka Streams gives split and
// merge: one split node whose children are one pass-through node per branch,
// and one merge node with both branches as parents. The numbering is
// Kafka's too: each branch takes a counter value, so the merge is 4.
func TestSplitMergeDescribe(t *testing.T) {
	b := topology.NewBuilder()
	s := kstream.From(b, "in", serde.String(), serde.Int64())
	br := s.Split().Branch("small", func(_ string, v int64) bool { return v < 100 }).Default("large")
	br["small"].Merge(br["large"]).To("out")
	want := `Topologies:
   Sub-topology: 0
	Source: KSTREAM-SOURCE-0000000000 (topics: [in])
	  --> KSTREAM-BRANCH-0000000001
	Processor: KSTREAM-BRANCH-0000000001 (stores: [])
	  --> KSTREAM-BRANCH-0000000001-large, KSTREAM-BRANCH-0000000001-small
	  <-- KSTREAM-SOURCE-0000000000
	Processor: KSTREAM-BRANCH-0000000001-large (stores: [])
	  --> KSTREAM-MERGE-0000000004
	  <-- KSTREAM-BRANCH-0000000001
	Processor: KSTREAM-BRANCH-0000000001-small (stores: [])
	  --> KSTREAM-MERGE-0000000004
	  <-- KSTREAM-BRANCH-0000000001
	Processor: KSTREAM-MERGE-0000000004 (stores: [])
	  --> KSTREAM-SINK-0000000005
	  <-- KSTREAM-BRANCH-0000000001-large, KSTREAM-BRANCH-0000000001-small
	Sink: KSTREAM-SINK-0000000005 (topic: out)
	  <-- KSTREAM-MERGE-0000000004
`
	// Compare line by line, ignoring indentation (Describe's own tests
	// cover its layout).
	trim := func(s string) string {
		lines := strings.Split(strings.TrimSpace(s), "\n")
		for i, l := range lines {
			lines[i] = strings.TrimSpace(l)
		}
		return strings.Join(lines, "\n")
	}
	if got := build(t, b).Describe().String(); trim(got) != trim(want) {
		t.Errorf("Describe:\n%s\nwant:\n%s", got, want)
	}
}
