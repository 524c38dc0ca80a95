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

func wordCount(t *testing.T) *topology.Topology {
	t.Helper()
	b := topology.NewBuilder()
	lines := kstream.From(b, "lines", serde.String(), serde.String())
	words := kstream.FlatMapValues(lines, func(_ string, line string) []string { return strings.Fields(strings.ToLower(line)) })
	counts := ktable.GroupBy(words, func(_ string, w string) string { return w }).Count(ktable.Named("counts"))
	counts.ToStream().To("word-counts", kstream.WithSerdes(serde.String(), serde.Int64()))
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return top
}

func TestWordCountRepartitions(t *testing.T) {
	top := wordCount(t)
	d := testutil.NewDriver(t, top, testutil.Config{ApplicationID: "wc", Partitions: map[string]int{"lines": 3, "word-counts": 3}})
	in := testutil.NewInputTopic(d, "lines", serde.String(), serde.String())
	out := testutil.NewOutputTopic(d, "word-counts", serde.String(), serde.Int64())
	in.Pipe("l1", "the quick brown fox")
	in.Pipe("l2", "The lazy dog")
	in.Pipe("l3", "the end")
	final := map[string]int64{}
	for _, kv := range out.ReadKeyValues() {
		final[kv.Key] = kv.Value
	}
	want := map[string]int64{"the": 3, "quick": 1, "brown": 1, "fox": 1, "lazy": 1, "dog": 1, "end": 1}
	if fmt.Sprint(final) != fmt.Sprint(want) {
		t.Fatalf("counts %v, want %v", final, want)
	}
	// The repartition topic is internal, named after the store, and the
	// count store holds the same counts across the tasks that own them.
	desc := top.Describe().String()
	for _, s := range []string{"Sub-topology: 1", "counts-repartition"} {
		if !strings.Contains(desc, s) {
			t.Fatalf("Describe lacks %q:\n%s", s, desc)
		}
	}
	view := testutil.KeyValueStore[string, int64](d, "counts")
	if n, ok := view.Get("the"); !ok || n != 3 {
		t.Fatalf("store: the = %d, %v", n, ok)
	}
	if got := len(view.All()); got != len(want) {
		t.Fatalf("store holds %d words, want %d", got, len(want))
	}
	rep := testutil.NewOutputTopic(d, "wc-counts-repartition", serde.String(), serde.String())
	if n := rep.Len(); n != 9 {
		t.Fatalf("repartition topic holds %d records, want 9 words", n)
	}
}

// TestCachingCollapsesUpdates mirrors Kafka Streams' caching behaviour in
// its test driver: the cache is flushed after every input record, so the
// updates one record causes to a key reach downstream once.
func TestCachingCollapsesUpdates(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cache int64
		want  []testutil.KeyValue[string, int64]
	}{
		{"no cache", 0, []testutil.KeyValue[string, int64]{testutil.KV("a", int64(1)), testutil.KV("a", int64(2)), testutil.KV("a", int64(3)), testutil.KV("b", int64(1))}},
		{"cache", 1 << 20, []testutil.KeyValue[string, int64]{testutil.KV("a", int64(3)), testutil.KV("b", int64(1))}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := testutil.NewDriver(t, wordCount(t), testutil.Config{CacheMaxBytes: tc.cache})
			in := testutil.NewInputTopic(d, "lines", serde.String(), serde.String())
			out := testutil.NewOutputTopic(d, "word-counts", serde.String(), serde.Int64())
			in.Pipe("l1", "a a a b")
			if got := out.ReadKeyValues(); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}
