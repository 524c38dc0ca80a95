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

// The stream-table tests replay KStreamKTableJoinTest and
// KStreamKTableLeftJoinTest: keys 0..3, stream records "<prefix><key>" at
// timestamp key, table rows "<prefix><key>".

// streamTableTopology joins "stream" with the table "table" into "out".
// A versioned table (ktable.Versioned) is joined as of each stream
// record's time.
func streamTableTopology(t *testing.T, left, versioned bool) *topology.Topology {
	b := topology.NewBuilder()
	s := kstream.From(b, "stream", serde.Int32(), serde.String())
	var opts []ktable.Option
	if versioned {
		opts = append(opts, ktable.Versioned(5*time.Minute))
	}
	tbl := ktable.From(b, "table", serde.Int32(), serde.String(), opts...)
	var joined kstream.Stream[int32, string]
	if left {
		joined = join.StreamTableLeft(s, tbl, func(k int32, l string, r *string) string {
			if r == nil {
				return l + "+null"
			}
			return l + "+" + *r
		})
	} else {
		joined = join.StreamTable(s, tbl, concatJoiner)
	}
	joined.To("out")
	return mustTopology(t, b)
}

// pipeStream pipes n stream records; result says each one's output, "" none.
func pipeStream(n int, prefix string, result func(k int32) string) []joinStep {
	var steps []joinStep
	for k := range int32(n) {
		s := joinStep{topic: "stream", key: k, value: fmt.Sprint(prefix, k), ts: int64(k)}
		if r := result(k); r != "" {
			s.want = wantOuts(fmt.Sprintf("%d:%s%d+%s@%d", k, prefix, k, r, k))
		}
		steps = append(steps, s)
	}
	return steps
}

// pipeTable pipes n table rows, which cause no output; value "null" deletes.
func pipeTable(n int, prefix string) []joinStep {
	var steps []joinStep
	for k := range int32(n) {
		v := fmt.Sprint(prefix, k)
		if prefix == "null" {
			v = "null"
		}
		steps = append(steps, joinStep{topic: "table", key: k, value: v, ts: int64(k)})
	}
	return steps
}

// rowsBelow says the table holds "<prefix><key>" for keys below n.
func rowsBelow(n int32, prefix string) func(int32) string {
	return func(k int32) string {
		if k < n {
			return fmt.Sprint(prefix, k)
		}
		return ""
	}
}

// deletedBelow says the rows of keys below n were deleted from f's.
func deletedBelow(n int32, f func(int32) string) func(int32) string {
	return func(k int32) string {
		if k < n {
			return ""
		}
		return f(k)
	}
}

// orNullRow is rows for the left join: "null" where there is no row.
func orNullRow(f func(int32) string) func(int32) string {
	return func(k int32) string {
		if r := f(k); r != "" {
			return r
		}
		return "null"
	}
}

func joinSeq(parts ...[]joinStep) []joinStep {
	var all []joinStep
	for _, p := range parts {
		all = append(all, p...)
	}
	return all
}

func TestStreamTable(t *testing.T) {
	tests := []struct {
		name  string // the Kafka test mirrored
		left  bool
		steps []joinStep
	}{
		{"KStreamKTableJoinTest.shouldNotJoinWithEmptyTableOnStreamUpdates", false,
			pipeStream(2, "X", rowsBelow(0, ""))},
		{"KStreamKTableJoinTest.shouldNotJoinOnTableUpdates", false, joinSeq(
			pipeStream(2, "X", rowsBelow(0, "")),
			pipeTable(2, "Y"),
			pipeStream(4, "X", rowsBelow(2, "Y")),
			pipeTable(4, "YY"),
			pipeStream(4, "X", rowsBelow(4, "YY")),
			pipeTable(4, "YYY"))},
		{"KStreamKTableJoinTest.shouldJoinOnlyIfMatchFoundOnStreamUpdates", false, joinSeq(
			pipeTable(2, "Y"),
			pipeStream(4, "X", rowsBelow(2, "Y")))},
		{"KStreamKTableJoinTest.shouldClearTableEntryOnNullValueUpdates", false, joinSeq(
			pipeTable(4, "Y"),
			pipeStream(4, "X", rowsBelow(4, "Y")),
			pipeTable(2, "null"),
			pipeStream(4, "XX", deletedBelow(2, rowsBelow(4, "Y"))))},
		{"KStreamKTableLeftJoinTest.shouldJoinWithEmptyTableOnStreamUpdates", true,
			pipeStream(2, "X", orNullRow(rowsBelow(0, "")))},
		{"KStreamKTableLeftJoinTest.shouldNotJoinOnTableUpdates", true, joinSeq(
			pipeStream(2, "X", orNullRow(rowsBelow(0, ""))),
			pipeTable(2, "Y"),
			pipeStream(4, "X", orNullRow(rowsBelow(2, "Y"))),
			pipeTable(4, "YY"),
			pipeStream(4, "X", orNullRow(rowsBelow(4, "YY"))),
			pipeTable(4, "YYY"))},
		{"KStreamKTableLeftJoinTest.shouldJoinRegardlessIfMatchFoundOnStreamUpdates", true, joinSeq(
			pipeTable(2, "Y"),
			pipeStream(4, "X", orNullRow(rowsBelow(2, "Y"))))},
		{"KStreamKTableLeftJoinTest.shouldClearTableEntryOnNullValueUpdates", true, joinSeq(
			pipeTable(4, "Y"),
			pipeStream(4, "X", orNullRow(rowsBelow(4, "Y"))),
			pipeTable(2, "null"),
			pipeStream(4, "XX", orNullRow(deletedBelow(2, rowsBelow(4, "Y")))))},
	}
	// Every case passes with a versioned table too: its rows are put at
	// the stream records' times or before, so the rows as of each
	// stream record are the current ones.
	for _, tc := range tests {
		for _, versioned := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/versioned=%v", tc.name, versioned), func(t *testing.T) {
				replaySteps(t, streamTableTopology(t, tc.left, versioned), tc.steps)
			})
		}
	}
}

// TestStreamTableIntegration mirrors StreamTableJoinIntegrationTest.testInner
// and testLeft (without versioned stores): AbstractJoinIntegrationTest's
// input, the left topic read as a stream, whose null values are dropped.
func TestStreamTableIntegration(t *testing.T) {
	for _, tc := range []struct {
		name string
		left bool
		want []string
	}{
		{"testInner", false, []string{"", "", "", "", "0:B-a@5", "", "", "", "", "", "", "", "", "", "0:D-d@6", "", "", "", "0:E-e@15", "", "", "", ""}},
		{"testLeft", true, []string{"", "", "0:A-null@3", "", "0:B-a@5", "", "", "", "0:C-null@9", "", "", "", "", "", "0:D-d@6", "", "", "", "0:E-e@15", "", "", "0:F-null@4", ""}},
	} {
		t.Run("StreamTableJoinIntegrationTest."+tc.name, func(t *testing.T) {
			b := topology.NewBuilder()
			s := kstream.From(b, "left", serde.Int32(), serde.String())
			tbl := ktable.From(b, "right", serde.Int32(), serde.String())
			if tc.left {
				join.StreamTableLeft(s, tbl, func(_ int32, l string, r *string) string { return l + "-" + orNullStr(r) }).To("out")
			} else {
				join.StreamTable(s, tbl, func(_ int32, l, r string) string { return l + "-" + r }).To("out")
			}
			d := replaySteps(t, mustTopology(t, b), withOutputs(t, tc.want...))
			// The left topic's five nulls were dropped, counted.
			if n := d.DroppedRecords(); n != 5 {
				t.Fatalf("dropped %d records, want the 5 null stream values", n)
			}
		})
	}
}

// TestStreamTableNullKeys mirrors KStreamKTableJoinTest.
// shouldLogAndMeterWhenSkippingNullLeftKey and KIP-962's left join of a
// null key: the inner join drops the record, counting it; the left join
// joins it with no row.
func TestStreamTableNullKeys(t *testing.T) {
	for _, left := range []bool{false, true} {
		b := topology.NewBuilder()
		s := kstream.From(b, "stream", serde.Ptr(serde.String()), serde.String())
		tbl := ktable.From(b, "table", serde.Ptr(serde.String()), serde.String())
		if left {
			join.StreamTableLeft(s, tbl, func(_ *string, l string, r *string) string { return l + "+" + orNullStr(r) }).To("out")
		} else {
			join.StreamTable(s, tbl, func(_ *string, l, r string) string { return l + "+" + r }).To("out")
		}
		d := testutil.NewDriver(t, mustTopology(t, b), testutil.Config{})
		in := testutil.NewInputTopic(d, "stream", serde.Ptr(serde.String()), serde.String())
		out := testutil.NewOutputTopic(d, "out", serde.Ptr(serde.String()), serde.String())
		in.Pipe(nil, "A")
		got := out.ReadAll()
		switch {
		case left && (len(got) != 1 || !got[0].NullKey || got[0].Value != "A+null"):
			t.Fatalf("left join of a null key: got %+v, want one A+null with a null key", got)
		case !left && (len(got) != 0 || d.DroppedRecords() != 1):
			t.Fatalf("inner join of a null key: got %+v and %d dropped, want nothing and 1 dropped", got, d.DroppedRecords())
		}
	}
}

// A stream whose key changed is repartitioned before the join, through
// "<app>-<name>-repartition", and a table without a store is
// materialized for it.
func TestStreamTableRepartitionsAndMaterializes(t *testing.T) {
	b := topology.NewBuilder()
	s := kstream.From(b, "stream", serde.String(), serde.String())
	rekeyed := kstream.SelectKey(s, func(_ string, v string) string { return strings.ToUpper(v[:1]) })
	tbl := ktable.From(b, "table", serde.String(), serde.String()).Filter(func(_ string, v string) bool { return v != "hidden" })
	join.StreamTable(rekeyed, tbl, func(k, l, r string) string { return k + ":" + l + "+" + r }, join.Named("j")).To("out")
	d := testutil.NewDriver(t, mustTopology(t, b), testutil.Config{Partitions: map[string]int{"stream": 2, "table": 3}})
	tin := testutil.NewInputTopic(d, "table", serde.String(), serde.String())
	sin := testutil.NewInputTopic(d, "stream", serde.String(), serde.String())
	out := testutil.NewOutputTopic(d, "out", serde.String(), serde.String())
	tin.Pipe("A", "alpha")
	tin.Pipe("B", "hidden")
	for _, v := range []string{"apple", "banana", "avocado", "cherry"} {
		sin.Pipe(fmt.Sprint(len(v)), v)
	}
	var got []string
	for _, r := range out.ReadAll() {
		got = append(got, r.Value)
	}
	if want := []string{"A:apple+alpha", "A:avocado+alpha"}; !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	topics := d.ProducedTopics()
	for _, want := range []string{"test-j-repartition", "test-j-right-store-changelog"} {
		if !slices.Contains(topics, want) {
			t.Errorf("no topic %q among %q", want, topics)
		}
	}
}

// The stream's and the table's topics must have as many partitions.
func TestStreamTableCopartitioning(t *testing.T) {
	b := topology.NewBuilder()
	s := kstream.From(b, "stream", serde.String(), serde.String())
	tbl := ktable.From(b, "table", serde.String(), serde.String())
	join.StreamTable(s, tbl, func(_ string, l, r string) string { return l + r }).To("out")
	top := mustTopology(t, b)
	msg := driverFailure(t, top, testutil.Config{Partitions: map[string]int{"stream": 2, "table": 3}})
	if !strings.Contains(msg, `"stream" (2 partitions), "table" (3 partitions) must have the same number of partitions`) {
		t.Fatalf("driver reported %q, want a co-partitioning error", msg)
	}
}
