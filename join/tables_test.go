package join_test

import (
	"fmt"
	"testing"

	"github.com/strata-go/strata/join"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
)

// abstractJoinInput is AbstractJoinIntegrationTest's input: one key, left
// and right records at the given timestamps, null deleting the row, with
// the out-of-order records Kafka's test includes.
var abstractJoinInput = []step{
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
func withOutputs(t *testing.T, want ...string) []step {
	t.Helper()
	if len(want) != len(abstractJoinInput) {
		t.Fatalf("%d outputs for %d inputs", len(want), len(abstractJoinInput))
	}
	steps := append([]step(nil), abstractJoinInput...)
	for i, w := range want {
		if w != "" {
			steps[i].want = outs(w)
		}
	}
	return steps
}

func str(p *string) string {
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
			return join.TablesLeft(l, r, func(_ int32, l string, r *string) string { return l + "-" + str(r) }, opts...)
		}, []string{"", "", "0:A-null@3", "0:A-a@4", "0:B-a@5", "0:B-b@6", "0:null@7", "", "0:C-null@9", "0:C-c@10",
			"0:C-null@11", "0:null@12", "", "", "0:D-d@7", "0:null@7", "", "", "0:E-e@15", "0:null@14", "", "0:F-null@4", "0:F-f@4"}},
		{"testOuter", func(l, r ktable.Table[int32, string], opts ...join.Option) ktable.Table[int32, string] {
			return join.TablesOuter(l, r, func(_ int32, l, r *string) string { return str(l) + "-" + str(r) }, opts...)
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
				d := replay(t, build(t, b), withOutputs(t, tc.want...))
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
