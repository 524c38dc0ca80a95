package join_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/strata-go/strata/join"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/testutil"
)

// The tests of this file mirror Kafka Streams' KStreamKStreamLeftJoinTest.

// TestLeftJoinDuplicates mirrors testLeftJoinDuplicates: unmatched
// duplicates come out once their window closes, matched ones at once and
// never again.
func TestLeftJoinDuplicates(t *testing.T) {
	h := newHarness(t, leftJoin, join.Within(ms(100), ms(10)))
	h.run(t, []step{
		{"L0:A0@0 L0:A0-0@0 R1:a0@111 R2:dummy@500", "0:A0+null@0 0:A0-0+null@0"},
		{"L2:A2@1000 L2:A2-0@1000 R2:a2@1001", "2:A2+a2@1001 2:A2-0+a2@1001"},
		{"R3:a3@315", ""},
	})
}

// TestLeftExpiredNonJoinedByLeft mirrors
// testLeftExpiredNonJoinedRecordsAreEmittedByTheLeftProcessor.
func TestLeftExpiredNonJoinedByLeft(t *testing.T) {
	h := newHarness(t, leftJoin, join.Within(ms(100), 0))
	h.run(t, []step{
		{"L0:A0@1 L1:A1@2 L0:A0-0@3", ""},
		{"R1:a1@3", "1:A1+a1@3"},
		{"L2:dummy@401", "0:A0+null@1 0:A0-0+null@3"},
		{"R2:dummy@401", "2:dummy+dummy@401"},
	})
}

// TestLeftExpiredNonJoinedByRight mirrors
// testLeftExpiredNonJoinedRecordsAreEmittedByTheRightProcessor: the right
// side's processor emits the left side's expired records.
func TestLeftExpiredNonJoinedByRight(t *testing.T) {
	h := newHarness(t, leftJoin, join.Within(ms(100), 0))
	h.run(t, []step{
		{"L0:A0@1 L1:A1@2 L0:A0-0@3", ""},
		{"R1:a1@3", "1:A1+a1@3"},
		{"R2:dummy@401", "0:A0+null@1 0:A0-0+null@3"},
		{"L2:dummy@402", "2:dummy+dummy@402"},
	})
}

// TestLeftRightNonJoinedNeverEmitted mirrors
// testRightNonJoinedRecordsAreNeverEmittedByTheLeftProcessor and
// ...ByTheRightProcessor: unmatched right records make no result.
func TestLeftRightNonJoinedNeverEmitted(t *testing.T) {
	for _, tc := range []struct {
		name, dummy1, dummy2, want string
	}{
		{"ByTheLeftProcessor", "L2:dummy@401", "R2:dummy@402", "2:dummy+dummy@402"},
		{"ByTheRightProcessor", "R2:dummy@401", "L2:dummy@402", "2:dummy+dummy@402"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, leftJoin, join.Within(ms(100), 0))
			h.run(t, []step{
				{"R0:A0@1 R1:A1@2 R0:A0-0@3", ""},
				{"L1:a1@3", "1:a1+A1@3"},
				{tc.dummy1, ""},
				{tc.dummy2, tc.want},
			})
		})
	}
}

// TestLeftJoinedRecordsWithZeroAfter mirrors
// testLeftJoinedRecordsWithZeroAfterAreEmitted: with after 0 a left
// record's window closes at its own time.
func TestLeftJoinedRecordsWithZeroAfter(t *testing.T) {
	h := newHarness(t, leftJoin, join.Within(ms(100), 0).After(0))
	h.run(t, []step{
		{recs("L", 4, "A", 1000, 1001, 1002, 1003), "0:A0+null@1000 1:A1+null@1001 2:A2+null@1002"},
		{recs("R", 4, "a", 999), "0:A0+a0@1000 1:A1+a1@1001 2:A2+a2@1002 3:A3+a3@1003"},
		{recs("R", 4, "b", 1000), "0:A0+b0@1000 1:A1+b1@1001 2:A2+b2@1002 3:A3+b3@1003"},
		{recs("R", 4, "c", 1001), "1:A1+c1@1001 2:A2+c2@1002 3:A3+c3@1003"},
		{recs("R", 4, "d", 1002), "2:A2+d2@1002 3:A3+d3@1003"},
		{recs("R", 4, "e", 1003), "3:A3+e3@1003"},
		{recs("R", 4, "f", 1100), ""},
	})
}

// TestLeftJoin mirrors runLeftJoin (testLeftJoinWithDefaultSuppliers),
// records at time 0 and a last one that closes every window.
func TestLeftJoin(t *testing.T) {
	h := newHarness(t, leftJoin, join.Within(ms(100), 0))
	h.run(t, []step{
		{recs("L", 2, "A", 0), ""},
		{recs("R", 2, "a", 0), "0:A0+a0@0 1:A1+a1@0"},
		{recs("L", 3, "B", 0), "0:B0+a0@0 1:B1+a1@0"},
		{recs("R", 4, "b", 0), "0:A0+b0@0 0:B0+b0@0 1:A1+b1@0 1:B1+b1@0 2:B2+b2@0"},
		{recs("L", 4, "C", 0), "0:C0+a0@0 0:C0+b0@0 1:C1+a1@0 1:C1+b1@0 2:C2+b2@0 3:C3+b3@0"},
		{"L0:dummy@1000", ""},
	})
}

// TestLeftJoinOrdering mirrors testOrdering: expired unmatched records come
// out before the results of the record that closed their window.
func TestLeftJoinOrdering(t *testing.T) {
	h := newHarness(t, leftJoin, join.Within(ms(100), 0))
	h.run(t, []step{
		{"L0:A0@0 L1:A1@100", ""},
		{"R1:a1@110", "0:A0+null@0 1:A1+a1@110"},
	})
}

// TestLeftJoinGracePeriod mirrors testGracePeriod: a window that has ended
// but not closed holds its unmatched records back.
func TestLeftJoinGracePeriod(t *testing.T) {
	h := newHarness(t, leftJoin, join.Within(ms(100), ms(10)))
	h.run(t, []step{
		{recs("L", 2, "A", 0), ""},
		{recs("R", 4, "a", 101), ""},
		{"R0:dummy@1201", "0:A0+null@0 1:A1+null@0"},
	})
}

// TestLeftJoinWindowing mirrors testWindowing with testUpperWindowBound and
// testLowerWindowBound.
func TestLeftJoinWindowing(t *testing.T) {
	h := newHarness(t, leftJoin, join.Within(ms(100), 0))
	h.run(t, []step{
		{recs("L", 2, "A", 0), ""},
		{recs("R", 4, "a", 0), "0:A0+a0@0 1:A1+a1@0"},
		// testUpperWindowBound
		{recs("R", 4, "b", 1000, 1001, 1002, 1003), ""},
		{recs("L", 4, "B", 1100), "0:B0+b0@1100 1:B1+b1@1100 2:B2+b2@1100 3:B3+b3@1100"},
		{recs("L", 4, "C", 1101), "1:C1+b1@1101 2:C2+b2@1101 3:C3+b3@1101"},
		{recs("L", 4, "D", 1102), "2:D2+b2@1102 3:D3+b3@1102"},
		{recs("L", 4, "E", 1103), "3:E3+b3@1103"},
		{recs("L", 4, "F", 1104), ""},
		{"L0:dummy@1405", "0:C0+null@1101 0:D0+null@1102 1:D1+null@1102 0:E0+null@1103 1:E1+null@1103 " +
			"2:E2+null@1103 0:F0+null@1104 1:F1+null@1104 2:F2+null@1104 3:F3+null@1104"},
		// testLowerWindowBound
		{recs("L", 4, "G", 899), "0:G0+null@899 1:G1+null@899 2:G2+null@899 3:G3+null@899"},
		{recs("L", 4, "H", 900), "0:H0+b0@1000 1:H1+null@900 2:H2+null@900 3:H3+null@900"},
		{recs("L", 4, "I", 901), "0:I0+b0@1000 1:I1+b1@1001 2:I2+null@901 3:I3+null@901"},
		{recs("L", 4, "J", 902), "0:J0+b0@1000 1:J1+b1@1001 2:J2+b2@1002 3:J3+null@902"},
		{recs("L", 4, "K", 903), "0:K0+b0@1000 1:K1+b1@1001 2:K2+b2@1002 3:K3+b3@1003"},
		{"L0:dummy@1203", "0:dummy+null@1203"},
	})
}

// TestLeftJoinAsymmetricWindow mirrors
// shouldNotEmitLeftJoinResultForAsymmetricWindow: with before 0 a left
// record's window closes 100 ms after it.
func TestLeftJoinAsymmetricWindow(t *testing.T) {
	h := newHarness(t, leftJoin, join.Within(ms(100), 0).Before(0))
	h.run(t, []step{
		{recs("L", 2, "A", 0, 1), ""},
		{"R0:a0@100", "0:A0+a0@100"},
		{"R1:a1@102", "1:A1+null@1"},
	})
}

// TestLeftOuterStoreChangelog checks what the outer store logs: a left
// record without a partner is put, the first right record to join it
// removes it with one tombstone, and the right records joining it later,
// or joining a left record that found its partner at once, log nothing, as
// Kafka Streams' putIfAbsent(key, null) on its outer store.
func TestLeftOuterStoreChangelog(t *testing.T) {
	h := newHarness(t, leftJoin, join.Within(ms(100), 0))
	h.run(t, []step{
		{"L0:A0@1", ""},
		{"R0:a0@2", "0:A0+a0@2"},
		{"R0:b0@3", "0:A0+b0@3"},
		{"R1:c1@4 L1:C1@5", "1:C1+c1@5"},
		{"R1:d1@6", "1:C1+d1@6"},
	})
	var topic string
	for _, p := range h.d.ProducedTopics() {
		if strings.Contains(p, "OUTERSHARED") {
			topic = p
		}
	}
	if topic == "" {
		t.Fatalf("no outer store changelog among %q", h.d.ProducedTopics())
	}
	var got []string
	for _, r := range testutil.NewOutputTopic(h.d, topic, serde.Bytes(), serde.Bytes()).ReadAll() {
		v := "put"
		if r.NullValue {
			v = "tombstone"
		}
		got = append(got, fmt.Sprintf("%x %s", r.Key, v))
	}
	// Time 1, left side (1), key int32 0.
	key := "0000000000000001" + "01" + "00000000"
	if want := []string{key + " put", key + " tombstone"}; !slices.Equal(got, want) {
		t.Fatalf("outer store changelog:\n%q\nwant\n%q", got, want)
	}
}
