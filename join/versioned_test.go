package join_test

import (
	"fmt"
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

// The tests of this file replay the versioned cases of Kafka Streams' join
// tests (KIP-914, KIP-923): StreamTableJoinIntegrationTest and
// StreamTableJoinWithGraceIntegrationTest with a versioned table,
// TableTableJoinIntegrationTest with versioned stores, and
// KStreamKTableJoinTest's grace-period cases. Their tables keep 5 minutes
// of history.

const history = 5 * time.Minute

func versioned(on bool) []ktable.Option {
	if on {
		return []ktable.Option{ktable.Versioned(history)}
	}
	return nil
}

// TestStreamTableIntegrationVersioned mirrors StreamTableJoinIntegrationTest.
// testInnerWithVersionedStore and testLeftWithVersionedStore: each stream
// record meets the row as of its time, so the out-of-order D@6 meets b (as
// of 6) where the unversioned join gives d, and F@4 meets a.
func TestStreamTableIntegrationVersioned(t *testing.T) {
	for _, tc := range []struct {
		name  string
		left  bool
		grace bool
		want  []string
	}{
		{"StreamTableJoinIntegrationTest.testInnerWithVersionedStore", false, false,
			[]string{"", "", "", "", "0:B-a@5", "", "", "", "", "", "", "", "", "", "0:D-b@6", "", "", "", "0:E-e@15", "", "", "0:F-a@4", ""}},
		{"StreamTableJoinIntegrationTest.testLeftWithVersionedStore", true, false,
			[]string{"", "", "0:A-null@3", "", "0:B-a@5", "", "", "", "0:C-null@9", "", "", "", "", "", "0:D-b@6", "", "", "", "0:E-e@15", "", "", "0:F-a@4", ""}},
		// With a grace period of 2 ms, each record waits until stream
		// time passes its time by 2 ms: B@5 comes out with C@9, C@9
		// with E@15; D@6 and F@4 are late and joined at once; E@15
		// never comes out.
		{"StreamTableJoinWithGraceIntegrationTest.testInnerWithVersionedStore", false, true,
			[]string{"", "", "", "", "", "", "", "", "0:B-a@5", "", "", "", "", "", "0:D-b@6", "", "", "", "", "", "", "0:F-a@4", ""}},
		{"StreamTableJoinWithGraceIntegrationTest.testLeftWithVersionedStore", true, true,
			[]string{"", "", "", "", "0:A-null@3", "", "", "", "0:B-a@5", "", "", "", "", "", "0:D-b@6", "", "", "", "0:C-null@9", "", "", "0:F-a@4", ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := topology.NewBuilder()
			s := kstream.From(b, "left", serde.Int32(), serde.String())
			tbl := ktable.From(b, "right", serde.Int32(), serde.String(), ktable.Named("table-store"), ktable.Versioned(history))
			var opts []join.Option
			if tc.grace {
				opts = append(opts, join.Named("Grace"), join.WithGracePeriod(2*time.Millisecond))
			}
			if tc.left {
				join.StreamTableLeft(s, tbl, func(_ int32, l string, r *string) string { return l + "-" + orNullStr(r) }, opts...).To("out")
			} else {
				join.StreamTable(s, tbl, func(_ int32, l, r string) string { return l + "-" + r }, opts...).To("out")
			}
			d := replaySteps(t, mustTopology(t, b), withOutputs(t, tc.want...))
			if tc.grace {
				// E@15 is still held: the buffer's changelog
				// deleted every record it released.
				changelog := testutil.NewOutputTopic(d, "test-Grace-Buffer-changelog", serde.String(), serde.Bytes())
				if held := testutil.ReadKeyValuesToMap(changelog); len(held) != 1 {
					t.Fatalf("%d records held back at the end, want E@15", len(held))
				}
			}
		})
	}
}

// graceJoin is KStreamKTableJoinTest.makeJoin: "stream" joined with the
// table "table", versioned, with the given grace period, "X0+Y0" style.
func graceJoin(t *testing.T, grace time.Duration) *topology.Topology {
	b := topology.NewBuilder()
	s := kstream.From(b, "stream", serde.Int32(), serde.String())
	tbl := ktable.From(b, "table", serde.Int32(), serde.String(), ktable.Named("V-grace"), ktable.Versioned(history))
	join.StreamTable(s, tbl, concatJoiner, join.Named("Grace"), join.WithGracePeriod(grace)).To("out")
	return mustTopology(t, b)
}

// pipeTableAt pipes n table rows "<prefix><key>", all at ms (Kafka's
// pushToTableNonRandom uses 0).
func pipeTableAt(n int, prefix string, ms int64) []joinStep {
	var steps []joinStep
	for k := range int32(n) {
		steps = append(steps, joinStep{topic: "table", key: k, value: fmt.Sprint(prefix, k), ts: ms})
	}
	return steps
}

// streamAt pipes one stream record "X<key>" at key ms, expecting outs.
func streamAt(k int32, outs ...string) joinStep {
	return joinStep{topic: "stream", key: k, value: fmt.Sprint("X", k), ts: int64(k), want: outs}
}

func TestStreamTableGracePeriod(t *testing.T) {
	t.Run("KStreamKTableJoinTest.shouldDelayJoinByGracePeriod", func(t *testing.T) {
		replaySteps(t, graceJoin(t, 2*time.Millisecond), joinSeq(
			pipeTableAt(4, "Y", 0),
			// Stream time 2 releases X0, 3 releases X1.
			[]joinStep{streamAt(0), streamAt(1), streamAt(2, "0:X0+Y0@0"), streamAt(3, "1:X1+Y1@1")},
			pipeTableAt(4, "YY", 0),
			// X0 is late (0 < 3-2): joined at once. X1 waits, and is
			// released by its own arrival at the close time.
			[]joinStep{streamAt(0, "0:X0+YY0@0"), streamAt(1, "1:X1+YY1@1"), streamAt(2), streamAt(3)},
			// Stream time 7 releases the Xs at 2 and 3, twice each, in
			// timestamp order, each as of its own time.
			[]joinStep{{topic: "stream", key: 5, value: "test", ts: 7,
				want: wantOuts("2:X2+YY2@2", "2:X2+YY2@2", "3:X3+YY3@3", "3:X3+YY3@3")}},
			pipeTableAt(4, "YYY", 0),
		))
	})
	t.Run("KStreamKTableJoinTest.shouldHandleLateJoinsWithGracePeriod", func(t *testing.T) {
		replaySteps(t, graceJoin(t, 2*time.Millisecond), joinSeq(
			pipeTableAt(4, "Y", 0),
			[]joinStep{streamAt(0), streamAt(1), streamAt(2, "0:X0+Y0@0"), streamAt(3, "1:X1+Y1@1")},
			// Late: processed at once, releasing nothing.
			[]joinStep{streamAt(0, "0:X0+Y0@0")},
		))
	})
	// A table update that arrives out of order, within the grace period,
	// is seen by the stream record it precedes: the point of the grace
	// period (KIP-923).
	t.Run("late table update within the grace period", func(t *testing.T) {
		replaySteps(t, graceJoin(t, 10*time.Millisecond), []joinStep{
			{topic: "table", key: 1, value: "old", ts: 1},
			{topic: "stream", key: 1, value: "X1", ts: 20},
			{topic: "table", key: 1, value: "new", ts: 15},
			{topic: "stream", key: 2, value: "tick", ts: 30, want: wantOuts("1:X1+new@20")},
		})
	})
}

func TestStreamTableGracePeriodBuildErrors(t *testing.T) {
	grace := join.WithGracePeriod(6 * time.Millisecond)
	for _, tc := range []struct {
		name  string
		table func(b *topology.Builder) ktable.Table[string, string]
		grace join.Option
		want  string // "" builds
	}{
		{"KStreamKTableJoinTest.shouldFailIfTableIsNotVersioned", func(b *topology.Builder) ktable.Table[string, string] {
			return ktable.From(b, "topic2", serde.String(), serde.String())
		}, grace, "the table must be versioned"},
		{"KStreamKTableJoinTest.shouldFailIfTableIsNotVersionedButMaterializationIsInherited", func(b *topology.Builder) ktable.Table[string, string] {
			return ktable.From(b, "topic2", serde.String(), serde.String(), ktable.Named("tableB")).Filter(func(_, _ string) bool { return true })
		}, grace, "the table must be versioned"},
		{"KStreamKTableJoinTest.shouldNotFailIfTableIsVersionedButMaterializationIsInherited", func(b *topology.Builder) ktable.Table[string, string] {
			return ktable.From(b, "topic2", serde.String(), serde.String(), ktable.Named("tableB"), ktable.Versioned(history)).
				Filter(func(_, _ string) bool { return true })
		}, grace, ""},
		{"KStreamKTableJoinTest.shouldFailIfGracePeriodIsLongerThanHistoryRetention", func(b *topology.Builder) ktable.Table[string, string] {
			return ktable.From(b, "topic2", serde.String(), serde.String(), ktable.Named("tableB"), ktable.Versioned(history))
		}, join.WithGracePeriod(6 * time.Minute), "history retention 5m0s must be at least the grace period 6m0s"},
		{"KStreamKTableJoinTest.shouldFailIfGracePeriodIsLongerThanHistoryRetentionAndInheritedStore", func(b *topology.Builder) ktable.Table[string, string] {
			return ktable.From(b, "topic2", serde.String(), serde.String(), ktable.Named("V-grace"), ktable.Versioned(0)).
				Filter(func(_, _ string) bool { return true })
		}, grace, "history retention 0s must be at least the grace period 6ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := topology.NewBuilder()
			s := kstream.From(b, "topic", serde.String(), serde.String())
			join.StreamTable(s, tc.table(b), func(_ string, l, r string) string { return l + r },
				join.Named("first-join"), tc.grace).To("out-one")
			_, err := b.Build()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Build: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Build error %v, want one saying %q", err, tc.want)
			}
		})
	}
}

// TestStreamTableVersionedInheritedMaterialization checks the join of a
// filtered versioned table, which has no store of its own: the join keeps
// its rows in a versioned store, and reads them as of each record's time.
func TestStreamTableVersionedInheritedMaterialization(t *testing.T) {
	b := topology.NewBuilder()
	s := kstream.From(b, "stream", serde.Int32(), serde.String())
	tbl := ktable.From(b, "table", serde.Int32(), serde.String(), ktable.Versioned(history)).
		Filter(func(_ int32, v string) bool { return v != "hidden" })
	join.StreamTable(s, tbl, concatJoiner, join.Named("j"), join.WithGracePeriod(time.Millisecond)).To("out")
	d := replaySteps(t, mustTopology(t, b), []joinStep{
		{topic: "table", key: 0, value: "a", ts: 1},
		{topic: "table", key: 0, value: "hidden", ts: 5},
		// Late (3 < 5 - 1): joined at once, as of 3.
		{topic: "stream", key: 0, value: "X", ts: 3, want: wantOuts("0:X+a@3")},
		{topic: "stream", key: 0, value: "Y", ts: 6},
		// Releases Y@6, which finds the row filtered out since 5.
		{topic: "stream", key: 1, value: "tick", ts: 10},
	})
	if r, ok := testutil.VersionedKeyValueStore[int32, string](d, "j-right-store").GetAsOf(0, time.UnixMilli(2)); !ok || r.Value != "a" {
		t.Fatalf("j-right-store[0] as of 2 = %+v, %v; want a", r, ok)
	}
}

// TestTablesVersioned mirrors TableTableJoinIntegrationTest's versioned
// cases: an out-of-order update of a versioned table (right d@7, left D@6,
// ...) changes neither the table's current row nor the join, and is
// dropped; an update of an unversioned table is joined with the versioned
// one's latest row.
func TestTablesVersioned(t *testing.T) {
	tests := []struct {
		name                          string
		leftVersioned, rightVersioned bool
		join                          func(l, r ktable.Table[int32, string], opts ...join.Option) ktable.Table[int32, string]
		want                          []string
	}{
		{"testInnerWithVersionedStores", true, true, innerTables, []string{"", "", "", "0:A-a@4", "0:B-a@5", "0:B-b@6", "0:null@7", "", "",
			"0:C-c@10", "0:null@11", "", "", "", "", "", "", "", "0:E-e@15", "", "", "", ""}},
		{"testLeftWithVersionedStores", true, true, leftTables, []string{"", "", "0:A-null@3", "0:A-a@4", "0:B-a@5", "0:B-b@6", "0:null@7", "",
			"0:C-null@9", "0:C-c@10", "0:C-null@11", "0:null@12", "", "", "", "", "", "", "0:E-e@15", "", "", "", ""}},
		{"testOuterWithVersionedStores", true, true, outerTables, []string{"", "", "0:A-null@3", "0:A-a@4", "0:B-a@5", "0:B-b@6", "0:null-b@7", "0:null@8",
			"0:C-null@9", "0:C-c@10", "0:C-null@11", "0:null@12", "", "", "", "", "", "0:null-e@14", "0:E-e@15", "", "", "", ""}},
		{"testInnerWithLeftVersionedOnly", true, false, innerTables, []string{"", "", "", "0:A-a@4", "0:B-a@5", "0:B-b@6", "0:null@7", "", "",
			"0:C-c@10", "0:null@11", "", "", "", "", "", "", "", "0:E-e@15", "", "0:null@15", "", "0:E-f@15"}},
		{"testLeftWithLeftVersionedOnly", true, false, leftTables, []string{"", "", "0:A-null@3", "0:A-a@4", "0:B-a@5", "0:B-b@6", "0:null@7", "",
			"0:C-null@9", "0:C-c@10", "0:C-null@11", "0:null@12", "", "", "", "", "", "", "0:E-e@15", "", "0:E-null@15", "", "0:E-f@15"}},
		{"testOuterWithLeftVersionedOnly", true, false, outerTables, []string{"", "", "0:A-null@3", "0:A-a@4", "0:B-a@5", "0:B-b@6", "0:null-b@7", "0:null@8",
			"0:C-null@9", "0:C-c@10", "0:C-null@11", "0:null@12", "", "0:null-d@7", "", "", "0:null@3", "0:null-e@14", "0:E-e@15", "",
			"0:E-null@15", "", "0:E-f@15"}},
		{"testInnerWithRightVersionedOnly", false, true, innerTables, []string{"", "", "", "0:A-a@4", "0:B-a@5", "0:B-b@6", "0:null@7", "", "",
			"0:C-c@10", "0:null@11", "", "", "", "", "", "", "", "0:E-e@15", "0:null@14", "", "0:F-e@14", ""}},
		{"testLeftWithRightVersionedOnly", false, true, leftTables, []string{"", "", "0:A-null@3", "0:A-a@4", "0:B-a@5", "0:B-b@6", "0:null@7", "",
			"0:C-null@9", "0:C-c@10", "0:C-null@11", "0:null@12", "", "", "0:D-null@6", "0:null@2", "", "", "0:E-e@15", "0:null@14", "",
			"0:F-e@14", ""}},
		{"testOuterWithRightVersionedOnly", false, true, outerTables, []string{"", "", "0:A-null@3", "0:A-a@4", "0:B-a@5", "0:B-b@6", "0:null-b@7", "0:null@8",
			"0:C-null@9", "0:C-c@10", "0:C-null@11", "0:null@12", "", "", "0:D-null@6", "0:null@2", "", "0:null-e@14", "0:E-e@15", "0:null-e@14",
			"", "0:F-e@14", ""}},
	}
	for _, tc := range tests {
		t.Run("TableTableJoinIntegrationTest."+tc.name, func(t *testing.T) {
			b := topology.NewBuilder()
			l := ktable.From(b, "left", serde.Int32(), serde.String(), append(versioned(tc.leftVersioned), ktable.Named("left"))...)
			r := ktable.From(b, "right", serde.Int32(), serde.String(), append(versioned(tc.rightVersioned), ktable.Named("right"))...)
			tc.join(l, r, join.Named("joined")).ToStream().To("out")
			replaySteps(t, mustTopology(t, b), withOutputs(t, tc.want...))
		})
	}
}

func innerTables(l, r ktable.Table[int32, string], opts ...join.Option) ktable.Table[int32, string] {
	return join.Tables(l, r, func(_ int32, l, r string) string { return l + "-" + r }, opts...)
}

func leftTables(l, r ktable.Table[int32, string], opts ...join.Option) ktable.Table[int32, string] {
	return join.TablesLeft(l, r, func(_ int32, l string, r *string) string { return l + "-" + orNullStr(r) }, opts...)
}

func outerTables(l, r ktable.Table[int32, string], opts ...join.Option) ktable.Table[int32, string] {
	return join.TablesOuter(l, r, func(_ int32, l, r *string) string { return orNullStr(l) + "-" + orNullStr(r) }, opts...)
}
