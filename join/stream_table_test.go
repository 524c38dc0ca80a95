package join_test

import (
	"fmt"
	"testing"

	"github.com/strata-go/strata/join"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
)

// The stream-table tests replay KStreamKTableJoinTest and
// KStreamKTableLeftJoinTest: keys 0..3, stream records "<prefix><key>" at
// timestamp key, table rows "<prefix><key>".

// streamTableTopology joins "stream" with the table "table" into "out".
func streamTableTopology(t *testing.T, left bool) *topology.Topology {
	b := topology.NewBuilder()
	s := kstream.From(b, "stream", serde.Int32(), serde.String())
	tbl := ktable.From(b, "table", serde.Int32(), serde.String())
	var joined kstream.Stream[int32, string]
	if left {
		joined = join.StreamTableLeft(s, tbl, func(k int32, l string, r *string) string {
			if r == nil {
				return l + "+null"
			}
			return l + "+" + *r
		})
	} else {
		joined = join.StreamTable(s, tbl, concat)
	}
	joined.To("out")
	return build(t, b)
}

// toStream pipes n stream records; result says each one's output, "" none.
func toStream(n int, prefix string, result func(k int32) string) []step {
	var steps []step
	for k := range int32(n) {
		s := step{topic: "stream", key: k, value: fmt.Sprint(prefix, k), ts: int64(k)}
		if r := result(k); r != "" {
			s.want = outs(fmt.Sprintf("%d:%s%d+%s@%d", k, prefix, k, r, k))
		}
		steps = append(steps, s)
	}
	return steps
}

// toTable pipes n table rows, which cause no output; value "null" deletes.
func toTable(n int, prefix string) []step {
	var steps []step
	for k := range int32(n) {
		v := fmt.Sprint(prefix, k)
		if prefix == "null" {
			v = "null"
		}
		steps = append(steps, step{topic: "table", key: k, value: v, ts: int64(k)})
	}
	return steps
}

// rows says the table holds "<prefix><key>" for keys below n.
func rows(n int32, prefix string) func(int32) string {
	return func(k int32) string {
		if k < n {
			return fmt.Sprint(prefix, k)
		}
		return ""
	}
}

// deleted says the rows of keys below n were deleted from f's.
func deleted(n int32, f func(int32) string) func(int32) string {
	return func(k int32) string {
		if k < n {
			return ""
		}
		return f(k)
	}
}

// orNull is rows for the left join: "null" where there is no row.
func orNull(f func(int32) string) func(int32) string {
	return func(k int32) string {
		if r := f(k); r != "" {
			return r
		}
		return "null"
	}
}

func seq(parts ...[]step) []step {
	var all []step
	for _, p := range parts {
		all = append(all, p...)
	}
	return all
}

func TestStreamTable(t *testing.T) {
	tests := []struct {
		name  string // the Kafka test mirrored
		left  bool
		steps []step
	}{
		{"KStreamKTableJoinTest.shouldNotJoinWithEmptyTableOnStreamUpdates", false,
			toStream(2, "X", rows(0, ""))},
		{"KStreamKTableJoinTest.shouldNotJoinOnTableUpdates", false, seq(
			toStream(2, "X", rows(0, "")),
			toTable(2, "Y"),
			toStream(4, "X", rows(2, "Y")),
			toTable(4, "YY"),
			toStream(4, "X", rows(4, "YY")),
			toTable(4, "YYY"))},
		{"KStreamKTableJoinTest.shouldJoinOnlyIfMatchFoundOnStreamUpdates", false, seq(
			toTable(2, "Y"),
			toStream(4, "X", rows(2, "Y")))},
		{"KStreamKTableJoinTest.shouldClearTableEntryOnNullValueUpdates", false, seq(
			toTable(4, "Y"),
			toStream(4, "X", rows(4, "Y")),
			toTable(2, "null"),
			toStream(4, "XX", deleted(2, rows(4, "Y"))))},
		{"KStreamKTableLeftJoinTest.shouldJoinWithEmptyTableOnStreamUpdates", true,
			toStream(2, "X", orNull(rows(0, "")))},
		{"KStreamKTableLeftJoinTest.shouldNotJoinOnTableUpdates", true, seq(
			toStream(2, "X", orNull(rows(0, ""))),
			toTable(2, "Y"),
			toStream(4, "X", orNull(rows(2, "Y"))),
			toTable(4, "YY"),
			toStream(4, "X", orNull(rows(4, "YY"))),
			toTable(4, "YYY"))},
		{"KStreamKTableLeftJoinTest.shouldJoinRegardlessIfMatchFoundOnStreamUpdates", true, seq(
			toTable(2, "Y"),
			toStream(4, "X", orNull(rows(2, "Y"))))},
		{"KStreamKTableLeftJoinTest.shouldClearTableEntryOnNullValueUpdates", true, seq(
			toTable(4, "Y"),
			toStream(4, "X", orNull(rows(4, "Y"))),
			toTable(2, "null"),
			toStream(4, "XX", orNull(deleted(2, rows(4, "Y")))))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			replay(t, streamTableTopology(t, tc.left), tc.steps)
		})
	}
}
