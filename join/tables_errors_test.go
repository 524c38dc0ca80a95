package join_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/strata-go/strata/join"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
)

// Mistakes in stream-table, table-table and foreign-key joins fail Build
// with an error naming the join and the mistake.
func TestTableJoinBuildErrors(t *testing.T) {
	type pair struct{ A, B string }
	cases := []struct {
		name string
		add  func(b *topology.Builder, s kstream.Stream[string, string], l, r ktable.Table[string, string])
		want string
	}{
		{"nil stream-table joiner", func(b *topology.Builder, s kstream.Stream[string, string], _, r ktable.Table[string, string]) {
			join.StreamTable[string, string, string, string](s, r, nil).To("out")
		}, `join.StreamTable "KSTREAM-JOIN-`},
		{"nil left stream-table joiner", func(b *topology.Builder, s kstream.Stream[string, string], _, r ktable.Table[string, string]) {
			join.StreamTableLeft[string, string, string, string](s, r, nil, join.Named("j")).To("out")
		}, `join.StreamTableLeft "j": nil joiner`},
		{"nil table joiner", func(_ *topology.Builder, _ kstream.Stream[string, string], l, r ktable.Table[string, string]) {
			join.TablesOuter[string, string, string, string](l, r, nil, join.Named("j"))
		}, `join.TablesOuter "j": nil joiner`},
		{"nil foreign key extractor", func(_ *topology.Builder, _ kstream.Stream[string, string], l, r ktable.Table[string, string]) {
			join.ForeignKey(l, r, nil, func(a, b string) string { return a + b }, join.Named("j"))
		}, `join.ForeignKey "j": nil foreign key extractor`},
		{"nil foreign-key joiner", func(_ *topology.Builder, _ kstream.Stream[string, string], l, r ktable.Table[string, string]) {
			join.ForeignKeyLeft[string, string, string, string, string](l, r, func(v string) string { return v }, nil, join.Named("j"))
		}, `join.ForeignKeyLeft "j": nil joiner`},
		{"result serde of another type", func(_ *topology.Builder, _ kstream.Stream[string, string], l, r ktable.Table[string, string]) {
			join.Tables(l, r, func(_ string, a, b string) string { return a + b }, join.Named("j"), join.WithResultSerde(serde.Int64()))
		}, "join.Tables: result serde is serde.int64Serde, want one for string"},
		{"value serdes of another type", func(_ *topology.Builder, s kstream.Stream[string, string], l, r ktable.Table[string, string]) {
			filtered := r.Filter(func(string, string) bool { return true })
			join.StreamTable(s, filtered, func(_ string, a, b string) string { return a + b }, join.WithValueSerdes[string, int64](nil, serde.Int64())).To("out")
		}, "join.StreamTable: right value serde is serde.int64Serde, want one for string"},
		{"key serde of another type", func(_ *topology.Builder, _ kstream.Stream[string, string], l, r ktable.Table[string, string]) {
			join.ForeignKey(l, r, func(v string) string { return v }, func(a, b string) string { return a + b }, join.WithKeySerde(serde.Int32()))
		}, "join.ForeignKey: key serde is serde.int32Serde, want one for string"},
		{"no serde for a materialized result", func(_ *topology.Builder, _ kstream.Stream[string, string], l, r ktable.Table[string, string]) {
			join.Tables(l, r, func(_ string, a, b string) pair { return pair{a, b} }, join.Named("pairs"))
		}, `no serde for join_test.pair, needed by join.Tables (result)`},
		{"no serde for a foreign-key result", func(_ *topology.Builder, _ kstream.Stream[string, string], l, r ktable.Table[string, string]) {
			join.ForeignKey(l, r, func(v string) string { return v }, func(a, b string) pair { return pair{a, b} })
		}, "no serde for join_test.pair, needed by join.ForeignKey (result)"},
		{"zero Option", func(_ *topology.Builder, _ kstream.Stream[string, string], l, r ktable.Table[string, string]) {
			join.TablesLeft(l, r, func(_ string, a string, b *string) string { return a }, join.Option{})
		}, "join.TablesLeft: zero Option"},
		{"empty name", func(_ *topology.Builder, s kstream.Stream[string, string], _, r ktable.Table[string, string]) {
			join.StreamTable(s, r, func(_ string, a, b string) string { return a + b }, join.Named("")).To("out")
		}, "join.StreamTable: Named with an empty name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := topology.NewBuilder()
			s := kstream.From(b, "s", serde.String(), serde.String())
			l := ktable.From(b, "l", serde.String(), serde.String())
			r := ktable.From(b, "r", serde.String(), serde.String())
			tc.add(b, s, l, r)
			_, err := b.Build()
			if !errors.Is(err, topology.ErrInvalidTopology) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Build error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
