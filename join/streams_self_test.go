package join_test

import (
	"testing"
	"time"

	"github.com/strata-go/strata/join"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
)

// selfJoin joins topic1 with itself, the joiner concatenating the values
// as in Kafka's KStreamKStreamSelfJoinTest.
func selfJoin(t *testing.T, w join.Windows) *harness {
	b := topology.NewBuilder()
	s := kstream.From(b, "topic1", serde.Int32(), serde.String())
	join.Streams(s, s, w, func(_ int32, a, b string) string { return a + b }).To("out")
	return startHarness(t, b)
}

// TestSelfJoin mirrors KStreamKStreamSelfJoinTest.
// shouldMatchInnerJoinWithSelfJoinWithSingleStream, whose expectations are
// those of the inner join of a stream with itself (keys A and B are 0 and
// 1 here): each record joins the earlier ones, then every one, itself
// included, joins it.
func TestSelfJoin(t *testing.T) {
	selfJoin(t, join.Within(ms(100), 0)).run(t, []step{
		{"L0:1@1", "0:11@1"},
		{"L1:1@2", "1:11@2"},
		{"L0:2@3", "0:21@3 0:12@3 0:22@3"},
		{"L1:2@4", "1:21@4 1:12@4 1:22@4"},
		{"L1:3@5", "1:31@5 1:32@5 1:13@5 1:23@5 1:33@5"},
	})
}

// TestSelfJoinOutOfOrder mirrors shouldMatchInnerJoinWithSelfJoinOutOfOrder
// Messages (keys A to D are 0 to 3): the last record is older than the
// store keeps (20 s before 30 s), so it joins the A records still kept, at
// 13 s and 15 s, but not itself, and counts as dropped.
//
// Kafka Streams' RocksDB stores drop expired records a 60 s segment at a
// time, so there it would still meet A1 and A2 (0 and 9.999 s); Strata's
// stores stop returning records exactly at their retention.
func TestSelfJoinOutOfOrder(t *testing.T) {
	h := selfJoin(t, join.Within(10*time.Second, 0))
	h.run(t, []step{
		{"L0:1@0", "0:11@0"},
		{"L0:2@9999", "0:21@9999 0:12@9999 0:22@9999"},
		{"L1:1@11000", "1:11@11000"},
		{"L0:3@13000", "0:32@13000 0:23@13000 0:33@13000"},
		{"L0:4@15000", "0:42@15000 0:43@15000 0:24@15000 0:34@15000 0:44@15000"},
		{"L2:1@16000", "2:11@16000"},
		{"L3:1@17000", "3:11@17000"},
		{"L0:5@30000", "0:55@30000"},
		{"L0:5@6000", "0:53@13000 0:54@15000 0:35@13000 0:45@15000"},
	})
	// Not kept by either of the join's two stores.
	if n := h.d.DroppedRecords(); n != 2 {
		t.Errorf("dropped %d records, want 2", n)
	}
}
