package join_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/strata-go/strata/join"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
)

// abstractJoinInput is AbstractJoinIntegrationTest's input: one key, left
// and right records at the given timestamps, null deleting the row, with
// the out-of-order records Kafka's test includes.
var abstractJoinInput = []joinStep{
	{topic: "left", value: "null", ts: 1},
	{topic: "right", value: "null", ts: 2},
	{topic: "left", value: "A", ts: 3},
	{topic: "right", value: "a", ts: 4},
	{topic: "left", value: "B", ts: 5},
	{topic: "right", value: "b", ts: 6},
	{topic: "left", value: "null", ts: 7},
	{topic: "right", value: "null", ts: 8},
	{topic: "left", value: "C", ts: 9},
	{topic: "right", value: "c", ts: 10},
	{topic: "right", value: "null", ts: 11},
	{topic: "left", value: "null", ts: 12},
	{topic: "right", value: "null", ts: 13},
	{topic: "right", value: "d", ts: 7},
	{topic: "left", value: "D", ts: 6},
	{topic: "left", value: "null", ts: 2},
	{topic: "right", value: "null", ts: 3},
	{topic: "right", value: "e", ts: 14},
	{topic: "left", value: "E", ts: 15},
	{topic: "left", value: "null", ts: 10},
	{topic: "right", value: "null", ts: 9},
	{topic: "left", value: "F", ts: 4},
	{topic: "right", value: "f", ts: 3},
}

// withOutputs pairs abstractJoinInput with one expected output per input
// row ("" for none), as TableTableJoinIntegrationTest lists them.
func withOutputs(t *testing.T, want ...string) []joinStep {
	t.Helper()
	if len(want) != len(abstractJoinInput) {
		t.Fatalf("%d outputs for %d inputs", len(want), len(abstractJoinInput))
	}
	steps := append([]joinStep(nil), abstractJoinInput...)
	for i, w := range want {
		if w != "" {
			steps[i].want = wantOuts(w)
		}
	}
	return steps
}

func orNullStr(p *string) string {
	if p == nil {
		return "null"
	}
	return *p
}

// TestTables mirrors TableTableJoinIntegrationTest.testInner, testLeft and
// testOuter without caching, with the result materialized (Named) and not.
func TestTables(t *testing.T) {
	tests := []struct {
		name string
		join func(l, r ktable.Table[int32, string], opts ...join.Option) ktable.Table[int32, string]
		want []string
	}{
		{"testInner", func(l, r ktable.Table[int32, string], opts ...join.Option) ktable.Table[int32, string] {
			return join.Tables(l, r, func(_ int32, l, r string) string { return l + "-" + r }, opts...)
		}, []string{"", "", "", "0:A-a@4", "0:B-a@5", "0:B-b@6", "0:null@7", "", "", "0:C-c@10", "0:null@11", "", "",
			"", "0:D-d@7", "0:null@7", "", "", "0:E-e@15", "0:null@14", "", "", "0:F-f@4"}},
		{"testLeft", func(l, r ktable.Table[int32, string], opts ...join.Option) ktable.Table[int32, string] {
			return join.TablesLeft(l, r, func(_ int32, l string, r *string) string { return l + "-" + orNullStr(r) }, opts...)
		}, []string{"", "", "0:A-null@3", "0:A-a@4", "0:B-a@5", "0:B-b@6", "0:null@7", "", "0:C-null@9", "0:C-c@10",
			"0:C-null@11", "0:null@12", "", "", "0:D-d@7", "0:null@7", "", "", "0:E-e@15", "0:null@14", "", "0:F-null@4", "0:F-f@4"}},
		{"testOuter", func(l, r ktable.Table[int32, string], opts ...join.Option) ktable.Table[int32, string] {
			return join.TablesOuter(l, r, func(_ int32, l, r *string) string { return orNullStr(l) + "-" + orNullStr(r) }, opts...)
		}, []string{"", "", "0:A-null@3", "0:A-a@4", "0:B-a@5", "0:B-b@6", "0:null-b@7", "0:null@8", "0:C-null@9", "0:C-c@10",
			"0:C-null@11", "0:null@12", "", "0:null-d@7", "0:D-d@7", "0:null-d@7", "0:null@3", "0:null-e@14", "0:E-e@15",
			"0:null-e@14", "0:null@9", "0:F-null@4", "0:F-f@4"}},
	}
	for _, tc := range tests {
		for _, materialized := range []bool{false, true} {
			t.Run(fmt.Sprintf("TableTableJoinIntegrationTest.%s/materialized=%v", tc.name, materialized), func(t *testing.T) {
				b := topology.NewBuilder()
				l := ktable.From(b, "left", serde.Int32(), serde.String(), ktable.Named("left"))
				r := ktable.From(b, "right", serde.Int32(), serde.String(), ktable.Named("right"))
				var opts []join.Option
				if materialized {
					opts = append(opts, join.Named("joined"))
				}
				tc.join(l, r, opts...).ToStream().To("out")
				d := replaySteps(t, mustTopology(t, b), withOutputs(t, tc.want...))
				if materialized {
					// The store holds the final result, F-f, as
					// runTestWithDriver checks.
					if v, ok := testutil.KeyValueStore[int32, string](d, "joined").Get(0); !ok || v != "F-f" {
						t.Fatalf("store joined holds %q, %v; want F-f", v, ok)
					}
				}
			})
		}
	}
}

// A join's result works with the table operations downstream, which need
// its old values: GroupTableBy retracts a row's old result from its old
// group. The inputs are a filtered table without a store, which the join
// materializes, and a table read from a topic.
func TestTablesDownstream(t *testing.T) {
	b := topology.NewBuilder()
	users := ktable.From(b, "users", serde.String(), serde.String()).
		Filter(func(_ string, v string) bool { return v != "banned" })
	regions := ktable.From(b, "regions", serde.String(), serde.String())
	joined := join.TablesLeft(users, regions, func(_ string, name string, region *string) string {
		return name + "@" + orNullStr(region)
	})
	ktable.GroupTableBy(joined, func(_ string, v string) (string, string) {
		return v[strings.Index(v, "@")+1:], v
	}).Count(ktable.Named("per-region")).ToStream().To("counts")
	joined.Filter(func(_ string, v string) bool { return !strings.HasSuffix(v, "@null") }).ToStream().To("out")

	d := testutil.NewDriver(t, mustTopology(t, b), testutil.Config{})
	u := testutil.NewInputTopic(d, "users", serde.String(), serde.String())
	r := testutil.NewInputTopic(d, "regions", serde.String(), serde.String())
	out := testutil.NewOutputTopic(d, "out", serde.String(), serde.String())
	counts := testutil.NewOutputTopic(d, "counts", serde.String(), serde.Int64())
	step := func(what string, pipe func(), wantOut, wantCounts []string) {
		t.Helper()
		pipe()
		if got := readOutputs(out); !slices.Equal(got, wantOut) {
			t.Fatalf("%s: out\n got %q\nwant %q", what, got, wantOut)
		}
		if got := readOutputs(counts); !slices.Equal(got, wantCounts) {
			t.Fatalf("%s: counts\n got %q\nwant %q", what, got, wantCounts)
		}
	}
	at := func(ms int64) time.Time { return time.UnixMilli(ms) }
	step("ann joins", func() { u.PipeAt("u1", "ann", at(1)) }, wantOuts("u1:null@1"), wantOuts("null:1@1"))
	step("ann's region", func() { r.PipeAt("u1", "eu", at(2)) }, wantOuts("u1:ann@eu@2"), wantOuts("null:0@2", "eu:1@2"))
	step("bob", func() { u.PipeAt("u2", "bob", at(3)); r.PipeAt("u2", "eu", at(4)) },
		wantOuts("u2:null@3", "u2:bob@eu@4"), wantOuts("null:1@3", "null:0@4", "eu:2@4"))
	step("ann moves", func() { r.PipeAt("u1", "us", at(5)) }, wantOuts("u1:ann@us@5"), wantOuts("eu:1@5", "us:1@5"))
	step("bob is banned", func() { u.PipeAt("u2", "banned", at(6)) }, wantOuts("u2:null@6"), wantOuts("eu:0@6"))
	step("ann's region is deleted", func() {
		r.PipeRecords(topology.Tombstone(topology.Record[string, string]{Key: "u1", Timestamp: at(7)}))
	}, wantOuts("u1:null@7"), wantOuts("us:0@7", "null:1@7"))
}

// The result of a named join is a queryable store that the application
// restores from its changelog, "<app>-<name>-changelog".
func TestTablesNamedStore(t *testing.T) {
	b := topology.NewBuilder()
	l := ktable.From(b, "l", serde.String(), serde.Int64())
	r := ktable.From(b, "r", serde.String(), serde.Int64())
	join.TablesOuter(l, r, func(_ string, a, b *int64) int64 {
		var s int64
		for _, p := range []*int64{a, b} {
			if p != nil {
				s += *p
			}
		}
		return s
	}, join.Named("sums")).ToStream().To("out", kstream.WithSerdes(serde.String(), serde.Int64()))
	d := testutil.NewDriver(t, mustTopology(t, b), testutil.Config{})
	testutil.NewInputTopic(d, "l", serde.String(), serde.Int64()).Pipe("k", 2)
	testutil.NewInputTopic(d, "r", serde.String(), serde.Int64()).Pipe("k", 40)
	if v, ok := testutil.KeyValueStore[string, int64](d, "sums").Get("k"); !ok || v != 42 {
		t.Fatalf("sums[k] = %d, %v; want 42", v, ok)
	}
	if !slices.Contains(d.ProducedTopics(), "test-sums-changelog") {
		t.Fatalf("no changelog among %q", d.ProducedTopics())
	}
}
