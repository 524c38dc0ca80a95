package join_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/strata-go/strata/join"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
)

// The tests of this file mirror Kafka Streams' KStreamKStreamOuterJoinTest.
// Its right values are Longs; here they are the same numbers as strings.

// TestOuterJoinDuplicates mirrors testOuterJoinDuplicates: unmatched
// records of both sides come out in order of time, right before left.
func TestOuterJoinDuplicates(t *testing.T) {
	h := newHarness(t, outerJoin, join.Within(ms(100), ms(10)))
	h.run(t, []step{
		{"L0:A0@0 L0:A0-0@0 R1:11@0 R1:12@0 R1:10@111 R3:100@211",
			"1:null+11@0 1:null+12@0 0:A0+null@0 0:A0-0+null@0"},
		{"L2:A2@200 L2:A2-0@200 R2:13@201 R2:14@201", "2:A2+13@201 2:A2-0+13@201 2:A2+14@201 2:A2-0+14@201"},
		{"R3:100@1500", "1:null+10@111 3:null+100@211"},
	})
}

// TestOuterExpiredNonJoined mirrors testLeftExpiredNonJoinedRecordsAreEmitted
// ByTheLeftProcessor, ...ByTheRightProcessor and the two tests of right
// records: either side's processor emits either side's expired records.
func TestOuterExpiredNonJoined(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"LeftByTheLeftProcessor", []step{
			{"L0:A0@1 L1:A1@2 L0:A0-0@3", ""},
			{"R1:11@3", "1:A1+11@3"},
			{"L2:dummy@401", "0:A0+null@1 0:A0-0+null@3"},
			{"R2:100@401", "2:dummy+100@401"},
		}},
		{"LeftByTheRightProcessor", []step{
			{"L0:A0@1 L1:A1@2 L0:A0-0@3", ""},
			{"R1:11@3", "1:A1+11@3"},
			{"R2:100@401", "0:A0+null@1 0:A0-0+null@3"},
			{"L2:dummy@402", "2:dummy+100@402"},
		}},
		{"RightByTheLeftProcessor", []step{
			{"R0:10@1 R1:11@2 R0:12@3", ""},
			{"L1:A1@3", "1:A1+11@3"},
			{"L2:dummy@401", "0:null+10@1 0:null+12@3"},
			{"R2:100@402", "2:dummy+100@402"},
		}},
		{"RightByTheRightProcessor", []step{
			{"R0:10@1 R1:11@2 R0:12@3", ""},
			{"L1:A1@3", "1:A1+11@3"},
			{"R2:100@401", "0:null+10@1 0:null+12@3"},
			{"L2:dummy@402", "2:dummy+100@402"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			newHarness(t, outerJoin, join.Within(ms(100), 0)).run(t, tc.steps)
		})
	}
}

// TestOuterJoinOrdering mirrors testOrdering.
func TestOuterJoinOrdering(t *testing.T) {
	newHarness(t, outerJoin, join.Within(ms(100), 0)).run(t, []step{
		{"L0:A0@0 L1:A1@100", ""},
		{"R1:11@110", "0:A0+null@0 1:A1+11@110"},
	})
}

// TestOuterJoinGracePeriod mirrors testGracePeriod.
func TestOuterJoinGracePeriod(t *testing.T) {
	newHarness(t, outerJoin, join.Within(ms(100), ms(10))).run(t, []step{
		{"L0:A0@0 R1:11@0", ""},
		{"L1:A1@101 R0:10@101", ""},
		{"R0:100@112", "1:null+11@0 0:A0+null@0"},
	})
}

// TestOuterJoinAsymmetricWindow mirrors
// testEmitAllNonJoinedResultsForAsymmetricWindow: left records' windows
// close 20 ms after them, right records' 5 ms after.
func TestOuterJoinAsymmetricWindow(t *testing.T) {
	newHarness(t, outerJoin, join.Within(ms(5), 0).After(ms(20))).run(t, []step{
		{"L0:A0@29", ""},
		{"L1:A1@30", ""},
		{"R2:12@31", ""},
		{"R3:13@36", ""},
		{"R4:14@37", "2:null+12@31"},
		{"R5:15@50", "0:A0+null@29 3:null+13@36 4:null+14@37"},
	})
}

// TestOuterJoin mirrors runOuterJoin (testOuterJoinWithDefaultSuppliers).
func TestOuterJoin(t *testing.T) {
	newHarness(t, outerJoin, join.Within(ms(100), 0)).run(t, []step{
		{"L0:A0@0 L1:A1@0", ""},
		{"R0:10@0 R1:11@0", "0:A0+10@0 1:A1+11@0"},
		{"L0:B0@0 L1:B1@0 L2:B2@0", "0:B0+10@0 1:B1+11@0"},
		{"R0:20@0 R1:21@0 R2:22@0 R3:23@0", "0:A0+20@0 0:B0+20@0 1:A1+21@0 1:B1+21@0 2:B2+22@0"},
		{recs("L", 4, "C", 0), "0:C0+10@0 0:C0+20@0 1:C1+11@0 1:C1+21@0 2:C2+22@0 3:C3+23@0"},
		{"L0:dummy@400", ""},
	})
}

// TestOuterJoinWindowing mirrors testWindowing with its testUpperWindowBound
// and testLowerWindowBound.
func TestOuterJoinWindowing(t *testing.T) {
	newHarness(t, outerJoin, join.Within(ms(100), 0)).run(t, []step{
		{recs("L", 2, "A", 0), ""},
		{"R0:10@0 R1:11@0 R2:12@0 R3:13@0", "0:A0+10@0 1:A1+11@0"},
		{"R0:20@1000 R1:21@1001 R2:22@1002 R3:23@1003", "2:null+12@0 3:null+13@0"},
		{recs("L", 4, "B", 1100), "0:B0+20@1100 1:B1+21@1100 2:B2+22@1100 3:B3+23@1100"},
		{recs("L", 4, "C", 1101), "1:C1+21@1101 2:C2+22@1101 3:C3+23@1101"},
		{recs("L", 4, "D", 1102), "2:D2+22@1102 3:D3+23@1102"},
		{recs("L", 4, "E", 1103), "3:E3+23@1103"},
		{recs("L", 4, "F", 1104), ""},
		{"L0:dummy@1405", "0:C0+null@1101 0:D0+null@1102 1:D1+null@1102 0:E0+null@1103 1:E1+null@1103 " +
			"2:E2+null@1103 0:F0+null@1104 1:F1+null@1104 2:F2+null@1104 3:F3+null@1104"},
		{recs("L", 4, "G", 899), "0:G0+null@899 1:G1+null@899 2:G2+null@899 3:G3+null@899"},
		{recs("L", 4, "H", 900), "0:H0+20@1000 1:H1+null@900 2:H2+null@900 3:H3+null@900"},
		{recs("L", 4, "I", 901), "0:I0+20@1000 1:I1+21@1001 2:I2+null@901 3:I3+null@901"},
		{recs("L", 4, "J", 902), "0:J0+20@1000 1:J1+21@1001 2:J2+22@1002 3:J3+null@902"},
		{recs("L", 4, "K", 903), "0:K0+20@1000 1:K1+21@1001 2:K2+22@1002 3:K3+23@1003"},
		{"L0:dummy@1103", "0:dummy+null@1103"},
	})
}

// TestOuterJoinAsymmetricBeforeWindow mirrors
// testShouldNotEmitLeftJoinResultForAsymmetricBeforeWindow.
func TestOuterJoinAsymmetricBeforeWindow(t *testing.T) {
	newHarness(t, outerJoin, join.Within(ms(100), 0).Before(0)).run(t, []step{
		{"L0:A0@0 L1:A1@1", ""},
		{"R0:10@100", "0:A0+10@100"},
		{"R1:11@102", "1:A1+null@1"},
		{"R2:12@103", "1:null+11@102"},
		{"L2:A2@103", "2:A2+12@103"},
	})
}

// TestOuterJoinAsymmetricAfterWindow mirrors
// testShouldNotEmitLeftJoinResultForAsymmetricAfterWindow.
func TestOuterJoinAsymmetricAfterWindow(t *testing.T) {
	newHarness(t, outerJoin, join.Within(ms(100), 0).After(0)).run(t, []step{
		{"L0:A0@0 L1:A1@1", "0:A0+null@0"},
		{"R1:11@1", "1:A1+11@1"},
		{"R2:12@101", ""},
		{"R3:13@101", ""},
		{"L2:A2@201", "2:A2+12@201"},
	})
}

// TestOuterJoinForwardsCurrentHeaders mirrors testShouldForwardCurrentHeaders:
// results carry the headers of the record being processed, also the
// unmatched records that record's arrival emits.
func TestOuterJoinForwardsCurrentHeaders(t *testing.T) {
	h := newHarness(t, outerJoin, join.Within(ms(100), ms(10)))
	pipe := func(in *testutil.InputTopic[int32, string], k int32, v string, ts int64, hv byte) {
		in.PipeRecords(topology.Record[int32, string]{Key: k, Value: v, Timestamp: time.UnixMilli(ts),
			Headers: []topology.Header{{Key: "h", Value: []byte{hv}}}})
	}
	right := testutil.NewInputTopic(h.d, "topic2", serde.Int32(), serde.String())
	check := func(want ...string) {
		t.Helper()
		var got []string
		for _, r := range h.out.ReadAll() {
			got = append(got, fmt.Sprintf("%d:%s@%d h=%x", r.Key, r.Value, r.Timestamp.UnixMilli(), r.Headers[0].Value))
		}
		if !slices.Equal(got, want) {
			t.Fatalf("got %q\nwant %q", got, want)
		}
	}
	pipe(h.left, 0, "A0", 0, 1)
	pipe(right, 1, "10", 0, 2)
	pipe(right, 3, "100", 211, 3)
	check("1:null+10@0 h=03", "0:A0+null@0 h=03")
	pipe(h.left, 2, "A2", 200, 4)
	pipe(right, 2, "12", 200, 5)
	check("2:A2+12@200 h=05")
}
