package join_test

import (
	"testing"

	"github.com/strata-go/strata/join"
)

// TestJoin mirrors KStreamKStreamJoinTest.testJoin: an inner join within
// 100 ms, every record at time 0.
func TestJoin(t *testing.T) {
	h := newHarness(t, inner, join.Within(ms(100), 0))
	h.run(t, []step{
		{recs("L", 2, "A", 0), ""},
		{recs("R", 2, "a", 0), "0:A0+a0@0 1:A1+a1@0"},
		{recs("L", 4, "B", 0), "0:B0+a0@0 1:B1+a1@0"},
		{recs("R", 4, "b", 0), "0:A0+b0@0 0:B0+b0@0 1:A1+b1@0 1:B1+b1@0 2:B2+b2@0 3:B3+b3@0"},
		{recs("L", 4, "C", 0), "0:C0+a0@0 0:C0+b0@0 1:C1+a1@0 1:C1+b1@0 2:C2+b2@0 3:C3+b3@0"},
		{recs("R", 2, "c", 0), "0:A0+c0@0 0:B0+c0@0 0:C0+c0@0 1:A1+c1@0 1:B1+c1@0 1:C1+c1@0"},
	})
}

// TestJoinOuterNoClose mirrors KStreamKStreamJoinTest.testOuterJoin: an
// outer join whose windows (grace 24h) never close, so that only the
// matches come out.
func TestJoinOuterNoClose(t *testing.T) {
	h := newHarness(t, outerJoin, join.Within(ms(100), ms(24*3600*1000)))
	h.run(t, []step{
		{recs("L", 2, "A", 0), ""},
		{recs("R", 2, "a", 0), "0:A0+a0@0 1:A1+a1@0"},
		{recs("L", 4, "B", 0), "0:B0+a0@0 1:B1+a1@0"},
		{recs("R", 4, "b", 0), "0:A0+b0@0 0:B0+b0@0 1:A1+b1@0 1:B1+b1@0 2:B2+b2@0 3:B3+b3@0"},
		{recs("L", 4, "C", 0), "0:C0+a0@0 0:C0+b0@0 1:C1+a1@0 1:C1+b1@0 2:C2+b2@0 3:C3+b3@0"},
		{recs("R", 2, "c", 0), "0:A0+c0@0 0:B0+c0@0 0:C0+c0@0 1:A1+c1@0 1:B1+c1@0 1:C1+c1@0"},
	})
}

// TestJoinWindowing mirrors KStreamKStreamJoinTest.testWindowing: the
// bounds of a 100 ms window, no grace, from both sides.
//
// A record joins what the stores still keep even after its window has
// closed, as in Kafka Streams: h to k (900-903 ms) arrive when the right
// store's time is 1104 ms, past their windows, and still join B0 to B3. The
// store keeps records for 200 ms, so g to k are not kept themselves, nor H
// to L on the left: those 40 records count as dropped.
func TestJoinWindowing(t *testing.T) {
	h := newHarness(t, inner, join.Within(ms(100), 0))
	h.run(t, []step{
		{recs("L", 2, "A", 0), ""},
		{recs("R", 2, "a", 0), "0:A0+a0@0 1:A1+a1@0"},
		{recs("L", 4, "B", 1000, 1001, 1002, 1003), ""},
		{recs("R", 4, "b", 1100), "0:B0+b0@1100 1:B1+b1@1100 2:B2+b2@1100 3:B3+b3@1100"},
		{recs("R", 4, "c", 1101), "1:B1+c1@1101 2:B2+c2@1101 3:B3+c3@1101"},
		{recs("R", 4, "d", 1102), "2:B2+d2@1102 3:B3+d3@1102"},
		{recs("R", 4, "e", 1103), "3:B3+e3@1103"},
		{recs("R", 4, "f", 1104), ""},
		{recs("R", 4, "g", 899), ""},
		{recs("R", 4, "h", 900), "0:B0+h0@1000"},
		{recs("R", 4, "i", 901), "0:B0+i0@1000 1:B1+i1@1001"},
		{recs("R", 4, "j", 902), "0:B0+j0@1000 1:B1+j1@1001 2:B2+j2@1002"},
		{recs("R", 4, "k", 903), "0:B0+k0@1000 1:B1+k1@1001 2:B2+k2@1002 3:B3+k3@1003"},
		{recs("R", 4, "l", 2000, 2001, 2002, 2003), ""},
		{recs("L", 4, "C", 2100), "0:C0+l0@2100 1:C1+l1@2100 2:C2+l2@2100 3:C3+l3@2100"},
		{recs("L", 4, "D", 2101), "1:D1+l1@2101 2:D2+l2@2101 3:D3+l3@2101"},
		{recs("L", 4, "E", 2102), "2:E2+l2@2102 3:E3+l3@2102"},
		{recs("L", 4, "F", 2103), "3:F3+l3@2103"},
		{recs("L", 4, "G", 2104), ""},
		{recs("L", 4, "H", 1899), ""},
		{recs("L", 4, "I", 1900), "0:I0+l0@2000"},
		{recs("L", 4, "J", 1901), "0:J0+l0@2000 1:J1+l1@2001"},
		{recs("L", 4, "K", 1902), "0:K0+l0@2000 1:K1+l1@2001 2:K2+l2@2002"},
		{recs("L", 4, "L", 1903), "0:L0+l0@2000 1:L1+l1@2001 2:L2+l2@2002 3:L3+l3@2003"},
	})
	if n := h.d.DroppedRecords(); n != 40 {
		t.Errorf("dropped %d records, want 40 (g to k, H to L)", n)
	}
}

// TestJoinAsymmetricWindowingAfter mirrors KStreamKStreamJoinTest.
// testAsymmetricWindowingAfter: right records from 0 to 100 ms after the
// left one join it.
func TestJoinAsymmetricWindowingAfter(t *testing.T) {
	h := newHarness(t, inner, join.Within(0, 0).After(ms(100)))
	h.run(t, []step{
		{recs("L", 4, "A", 1000, 1001, 1002, 1003), ""},
		{recs("R", 4, "a", 999), ""},
		{recs("R", 4, "b", 1000), "0:A0+b0@1000"},
		{recs("R", 4, "c", 1001), "0:A0+c0@1001 1:A1+c1@1001"},
		{recs("R", 4, "d", 1002), "0:A0+d0@1002 1:A1+d1@1002 2:A2+d2@1002"},
		{recs("R", 4, "e", 1003), "0:A0+e0@1003 1:A1+e1@1003 2:A2+e2@1003 3:A3+e3@1003"},
		{recs("R", 4, "f", 1100), "0:A0+f0@1100 1:A1+f1@1100 2:A2+f2@1100 3:A3+f3@1100"},
		{recs("R", 4, "g", 1101), "1:A1+g1@1101 2:A2+g2@1101 3:A3+g3@1101"},
		{recs("R", 4, "h", 1102), "2:A2+h2@1102 3:A3+h3@1102"},
		{recs("R", 4, "i", 1103), "3:A3+i3@1103"},
		{recs("R", 4, "j", 1104), ""},
	})
}

// TestJoinAsymmetricWindowingBefore mirrors KStreamKStreamJoinTest.
// testAsymmetricWindowingBefore: right records from 100 ms before the left
// one up to it join it.
func TestJoinAsymmetricWindowingBefore(t *testing.T) {
	h := newHarness(t, inner, join.Within(0, 0).Before(ms(100)))
	h.run(t, []step{
		{recs("L", 4, "A", 1000, 1001, 1002, 1003), ""},
		{recs("R", 4, "a", 899), ""},
		{recs("R", 4, "b", 900), "0:A0+b0@1000"},
		{recs("R", 4, "c", 901), "0:A0+c0@1000 1:A1+c1@1001"},
		{recs("R", 4, "d", 902), "0:A0+d0@1000 1:A1+d1@1001 2:A2+d2@1002"},
		{recs("R", 4, "e", 903), "0:A0+e0@1000 1:A1+e1@1001 2:A2+e2@1002 3:A3+e3@1003"},
		{recs("R", 4, "f", 1000), "0:A0+f0@1000 1:A1+f1@1001 2:A2+f2@1002 3:A3+f3@1003"},
		{recs("R", 4, "g", 1001), "1:A1+g1@1001 2:A2+g2@1002 3:A3+g3@1003"},
		{recs("R", 4, "h", 1002), "2:A2+h2@1002 3:A3+h3@1003"},
		{recs("R", 4, "i", 1003), "3:A3+i3@1003"},
		{recs("R", 4, "j", 1004), ""},
	})
}

// TestJoinZeroWindow joins records of equal times only, with the zero
// Windows (Kafka Streams' JoinWindows.ofTimeDifferenceWithNoGrace(0)). With
// no grace, a record older than stream time is too late: A and B have left
// the store when c comes, and c is not kept.
func TestJoinZeroWindow(t *testing.T) {
	h := newHarness(t, inner, join.Windows{})
	h.run(t, []step{
		{"L0:A@5 R0:a@5", "0:A+a@5"},
		{"L0:B@5", "0:B+a@5"},
		{"R0:b@6", ""},
		{"L0:C@6", "0:C+b@6"},
		{"R0:c@5", ""},
	})
	if n := h.d.DroppedRecords(); n != 1 {
		t.Errorf("dropped %d records, want 1", n)
	}
}
