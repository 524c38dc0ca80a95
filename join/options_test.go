package join_test

import (
	"strings"
	"testing"
	"time"

	"github.com/strata-go/strata/join"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
)

// TestOptionsOfAnyPackage passes the options of one DSL package to the
// operations of the others: kstream.Option, ktable.Option and join.Option
// are one type, so each Named names what the operation it is given to
// names, and store options reach a join's stores whichever package made
// them.
func TestOptionsOfAnyPackage(t *testing.T) {
	b := topology.NewBuilder()
	left := kstream.From(b, "left", serde.String(), serde.String(), ktable.Named("left-source"))
	right := kstream.From(b, "right", serde.String(), serde.String(), join.Named("right-source"))
	counts := ktable.GroupByKey(left).Count(kstream.Named("counts"))
	joined := join.Streams(left, right, join.Within(time.Second, 0),
		func(_, l, r string) string { return l + r },
		kstream.Named("pairs"), ktable.WithStoreOptions(state.Logging(false)))
	joined.Filter(func(_, _ string) bool { return true }, join.Named("keep-all")).To("out")
	join.StreamTable(right, counts, func(_ string, v string, n int64) string { return v },
		ktable.Named("enrich")).To("enriched")
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	desc := top.Describe().String()
	for _, want := range []string{
		"Source: left-source (topics: [left])",
		"Source: right-source (topics: [right])",
		"(stores: [counts])",
		"Processor: pairs-merge",
		"Processor: keep-all",
		"Processor: enrich (stores: [counts])",
		"pairs-this-join-store",
	} {
		if !strings.Contains(desc, want) {
			t.Errorf("Describe lacks %q:\n%s", want, desc)
		}
	}
	// The join's stores keep no changelog; the count's does.
	d := testutil.NewDriver(t, top, testutil.Config{})
	testutil.NewInputTopic(d, "left", serde.String(), serde.String()).Pipe("k", "l")
	testutil.NewInputTopic(d, "right", serde.String(), serde.String()).Pipe("k", "r")
	produced := strings.Join(d.ProducedTopics(), " ")
	if !strings.Contains(produced, "counts-changelog") || strings.Contains(produced, "pairs-this-join-store-changelog") {
		t.Errorf("produced topics %s: want the count's changelog and none of the join's stores", produced)
	}
}

// TestOptionsThatDoNotApply: an option of another package that the
// operation does not take is reported by Build, naming the option and what
// the operation takes.
func TestOptionsThatDoNotApply(t *testing.T) {
	for _, tc := range []struct {
		name string
		add  func(b *topology.Builder, s kstream.Stream[string, string])
		want string
	}{
		{"ktable serde on a stream operation", func(_ *topology.Builder, s kstream.Stream[string, string]) {
			s.Filter(func(_, _ string) bool { return true }, ktable.WithValueSerde(serde.String())).To("out")
		}, `Filter "KSTREAM-FILTER-0000000001": option WithValueSerde does not apply (Filter takes Named)`},
		{"kstream partitions on an aggregation", func(_ *topology.Builder, s kstream.Stream[string, string]) {
			ktable.GroupByKey(s).Count(kstream.WithPartitions(3))
		}, "Count: option WithPartitions does not apply (Count takes Named, WithStoreOptions, WithKeySerde, WithValueSerde)"},
		{"ktable value serde on a join", func(_ *topology.Builder, s kstream.Stream[string, string]) {
			join.Streams(s, s, join.Within(time.Second, 0), func(_, l, r string) string { return l + r },
				ktable.WithValueSerde(serde.String())).To("out")
		}, "Streams: option WithValueSerde does not apply (Streams takes Named, WithStoreOptions, WithKeySerde, WithValueSerdes)"},
		{"emit on close on a join", func(_ *topology.Builder, s kstream.Stream[string, string]) {
			join.Streams(s, s, join.Within(time.Second, 0), func(_, l, r string) string { return l + r },
				ktable.EmitOnWindowClose()).To("out")
		}, "Streams: option EmitOnWindowClose does not apply"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := topology.NewBuilder()
			tc.add(b, kstream.From(b, "in", serde.String(), serde.String()))
			_, err := b.Build()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Build error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
