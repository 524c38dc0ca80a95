package join_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/strata-go/strata/join"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
)

// selfJoin joins topic1 with itself, the joiner concatenating the values
// as in Kafka's KStreamKStreamSelfJoinTest, under the optimizations o.
func selfJoin(t *testing.T, w join.Windows, o topology.Optimization) *harness {
	b := topology.NewBuilder()
	b.Optimize(o)
	s := kstream.From(b, "topic1", serde.Int32(), serde.String())
	join.Streams(s, s, w, func(_ int32, a, b string) string { return a + b }).To("out")
	return startHarness(t, b)
}

// selfJoinWays are the two topologies of a self-join: two stores and two
// join processors, and one store with one self-join processor.
var selfJoinWays = []topology.Optimization{0, topology.SingleStoreSelfJoin}

// stores returns the state stores of top, sorted.
func stores(top *topology.Topology) []string {
	var names []string
	for _, st := range top.Describe().Subtopologies {
		for _, n := range st.Nodes {
			for _, s := range n.Stores {
				if !slices.Contains(names, s) {
					names = append(names, s)
				}
			}
		}
	}
	slices.Sort(names)
	return names
}

// TestSelfJoin replays Kafka's KStreamKStreamSelfJoinTest (keys A to D are
// 0 to 3 here) on both topologies of a self-join, which give the same
// results, as the Kafka test asserts: each record joins the earlier ones
// within its window as the left side, then they and itself join it as the
// right side, in time order.
//
// shouldMatchInnerJoinWithSelfJoinWithTwoStreams is the single-stream case:
// Kafka merges two sources of one topic into one, where Strata refuses a
// topic read by two sources, so its self-join is join.Streams(s, s).
//
// In the out-of-order case the last record (A5 at 6 s) is older than the
// stores keep (20 s before 30 s): it joins the A records still kept, at
// 13 s and 15 s, but not A1 and A2 (0 and 9.999 s) nor itself, and is
// dropped by each store that would keep it: two with two stores, one with
// the single store. Kafka Streams gives the same results both ways: its
// window stores return no record older than stream time minus the
// retention plus one (KAFKA-12960, Kafka 3.4), and its self-join joins a
// record with itself only when its time is after that
// (KStreamKStreamSelfJoin's emitSelfRecord). Its RocksDB stores still
// write A5, its 60 s segment being live, and count no drop; its in-memory
// stores drop it, once per store (docs/deviations.md).
func TestSelfJoin(t *testing.T) {
	for _, tc := range []struct {
		name    string
		w       join.Windows
		steps   []step
		dropped [2]int64 // with two stores, with one
	}{
		{"KStreamKStreamSelfJoinTest.shouldMatchInnerJoinWithSelfJoinWithSingleStream", join.Within(ms(100), 0), []step{
			{"L0:1@1", "0:11@1"},
			{"L1:1@2", "1:11@2"},
			{"L0:2@3", "0:21@3 0:12@3 0:22@3"},
			{"L1:2@4", "1:21@4 1:12@4 1:22@4"},
			{"L1:3@5", "1:31@5 1:32@5 1:13@5 1:23@5 1:33@5"},
		}, [2]int64{0, 0}},
		{"KStreamKStreamSelfJoinTest.shouldMatchInnerJoinWithSelfJoinDifferentBeforeAfterWindows", join.Within(11*time.Second, 10*time.Second), []step{
			{"L0:1@0", "0:11@0"},
			{"L0:2@11000", "0:21@11000 0:12@11000 0:22@11000"},
			{"L1:1@12000", "1:11@12000"},
			{"L0:3@13000", "0:32@13000 0:23@13000 0:33@13000"},
			{"L0:4@15000", "0:42@15000 0:43@15000 0:24@15000 0:34@15000 0:44@15000"},
			{"L2:1@16000", "2:11@16000"},
			{"L3:1@17000", "3:11@17000"},
			{"L0:5@30000", "0:55@30000"},
		}, [2]int64{0, 0}},
		{"KStreamKStreamSelfJoinTest.shouldMatchInnerJoinWithSelfJoinOutOfOrderMessages", join.Within(10*time.Second, 0), []step{
			{"L0:1@0", "0:11@0"},
			{"L0:2@9999", "0:21@9999 0:12@9999 0:22@9999"},
			{"L1:1@11000", "1:11@11000"},
			{"L0:3@13000", "0:32@13000 0:23@13000 0:33@13000"},
			{"L0:4@15000", "0:42@15000 0:43@15000 0:24@15000 0:34@15000 0:44@15000"},
			{"L2:1@16000", "2:11@16000"},
			{"L3:1@17000", "3:11@17000"},
			{"L0:5@30000", "0:55@30000"},
			{"L0:5@6000", "0:53@13000 0:54@15000 0:35@13000 0:45@15000"},
		}, [2]int64{2, 1}},
	} {
		for i, o := range selfJoinWays {
			t.Run(tc.name+"/"+o.String(), func(t *testing.T) {
				h := selfJoin(t, tc.w, o)
				h.run(t, tc.steps)
				if n := h.d.DroppedRecords(); n != tc.dropped[i] {
					t.Errorf("dropped %d records, want %d", n, tc.dropped[i])
				}
			})
		}
	}
}

// TestSelfJoinSameResults runs inputs the Kafka test does not through both
// topologies, which must give the same results: windows reaching further
// back than forward (a record as the left side and as the right side
// looks at different ranges), records of equal times, out-of-order records
// within the grace period, and records with a null key or value, which the
// two-store join drops at each of its join processors and the self-join
// once.
func TestSelfJoinSameResults(t *testing.T) {
	steps := []step{
		{"L0:a@100", "0:aa@100"},
		{"L0:b@100", "0:ba@100 0:ab@100 0:bb@100"},
		// Left windows [t-30, t+5], right ones [t-5, t+30].
		{"L0:c@120", "0:ca@120 0:cb@120 0:cc@120"},
		{"L0:d@95", "0:da@100 0:db@100 0:dd@95 0:ad@100 0:bd@100 0:cd@120"},
		{"L0:e@125", "0:ed@125 0:ea@125 0:eb@125 0:ec@125 0:ce@125 0:ee@125"},
		{"L0:f@97", "0:fd@97 0:fa@100 0:fb@100 0:df@97 0:ff@97 0:af@100 0:bf@100 0:cf@120 0:ef@125"},
		{"L_:g@130 L0:null@130", ""},
		{"L1:x@131", "1:xx@131"},
	}
	for i, o := range selfJoinWays {
		t.Run(o.String(), func(t *testing.T) {
			h := selfJoin(t, join.Within(0, 40*time.Millisecond).Before(30*time.Millisecond).After(5*time.Millisecond), o)
			h.run(t, steps)
			if n, want := h.d.DroppedRecords(), int64(2-i)*2; n != want {
				t.Errorf("dropped %d records, want %d", n, want)
			}
		})
	}
}

// TestSelfJoinRetentionBoundary pins the one input where the two topologies
// differ beyond dropped-record counts, as they do in Kafka Streams: a
// record exactly one millisecond inside the store's retention (20 ms
// here) behind the latest one. Both stores keep it, so the two-store join
// finds it in the left store and joins it with itself; Kafka's self-join
// joins a record with itself only if its time is after the latest time
// minus the retention plus one (KStreamKStreamSelfJoin's emitSelfRecord),
// and Strata's does the same. Later records join it either way.
func TestSelfJoinRetentionBoundary(t *testing.T) {
	for _, tc := range []struct {
		o    topology.Optimization
		self string
	}{{0, "0:bb@81"}, {topology.SingleStoreSelfJoin, ""}} {
		t.Run(tc.o.String(), func(t *testing.T) {
			h := selfJoin(t, join.Within(10*time.Millisecond, 0), tc.o)
			h.run(t, []step{
				{"L0:a@100", "0:aa@100"},
				{"L0:b@81", tc.self},
				{"L0:c@90", "0:cb@90 0:ca@100 0:bc@90 0:cc@90 0:ac@100"},
				// 82 > 100 - 20 + 1: both join it with itself.
				{"L0:d@82", "0:db@82 0:dc@90 0:bd@82 0:dd@82 0:cd@90"},
			})
		})
	}
}

// TestSelfJoinTopology checks which joins SingleStoreSelfJoin rewrites, by
// their stores, as Kafka's InternalStreamsBuilderTest does by their nodes:
// an inner join of a stream with itself, repartitioned once if its key
// changed, and each of several such joins; not a left or outer self-join
// (StreamsConfig documents single.store.self.join for inner joins), nor the
// join of a stream with another stream made from it (a filter), nor the
// same join without the optimization.
func TestSelfJoinTopology(t *testing.T) {
	w := join.Within(time.Second, 0)
	concat := func(_ string, a, b string) string { return a + b }
	for _, tc := range []struct {
		name   string
		o      topology.Optimization
		build  func(s kstream.Stream[string, string])
		stores []string
	}{
		{"shouldOptimizeJoinWhenInConfig", topology.SingleStoreSelfJoin, func(s kstream.Stream[string, string]) {
			join.Streams(s, s, w, concat).To("out")
		}, []string{"KSTREAM-JOINTHIS-0000000003-store"}},
		{"shouldNotOptimizeJoinWhenNotInConfig", topology.MergeRepartitionTopics, func(s kstream.Stream[string, string]) {
			join.Streams(s, s, w, concat).To("out")
		}, []string{"KSTREAM-JOINOTHER-0000000004-store", "KSTREAM-JOINTHIS-0000000003-store"}},
		{"shouldMarkAllStreamStreamJoinsAsSelfJoin", topology.OptimizeAll, func(s kstream.Stream[string, string]) {
			join.Streams(s, s, w, concat, join.Named("one")).To("out")
			join.Streams(s, s, w, concat, join.Named("two")).To("out2")
		}, []string{"one-this-join-store", "two-this-join-store"}},
		{"repartitioned once, one store", topology.OptimizeAll, func(s kstream.Stream[string, string]) {
			r := kstream.SelectKey(s, func(_, v string) string { return v })
			join.Streams(r, r, w, concat, join.Named("pairs")).To("out")
		}, []string{"pairs-this-join-store"}},
		{"shouldNotMarkStreamStreamJoinAsSelfJoinTwoStreamsWithFilter", topology.OptimizeAll, func(s kstream.Stream[string, string]) {
			join.Streams(s.Filter(func(_, v string) bool { return v != "" }), s, w, concat, join.Named("f")).To("out")
		}, []string{"f-other-join-store", "f-this-join-store"}},
		{"left self-join keeps its stores", topology.OptimizeAll, func(s kstream.Stream[string, string]) {
			join.StreamsLeft(s, s, w, func(_ string, a string, b *string) string { return a + str(b) }, join.Named("l")).To("out")
		}, []string{"l-left-shared-join-store", "l-outer-other-join-store", "l-this-join-store"}},
		{"outer self-join keeps its stores", topology.OptimizeAll, func(s kstream.Stream[string, string]) {
			join.StreamsOuter(s, s, w, func(_ string, a, b *string) string { return str(a) + str(b) }, join.Named("o")).To("out")
		}, []string{"o-outer-other-join-store", "o-outer-shared-join-store", "o-outer-this-join-store"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := topology.NewBuilder()
			b.Optimize(tc.o)
			tc.build(kstream.From(b, "in", serde.String(), serde.String()))
			top, err := b.Build()
			if err != nil {
				t.Fatal(err)
			}
			if got := stores(top); !slices.Equal(got, tc.stores) {
				t.Errorf("stores %q, want %q", got, tc.stores)
			}
			if n := len(repartitionSinks(top)); n > 1 {
				t.Errorf("%d repartition topics, want at most 1", n)
			}
		})
	}
}

// TestSelfJoinDescribe checks the description of a single-store self-join:
// the left side's windowed processor keeps the records, and the self-join
// processor, named as the join's merge node, reads the same store, as in
// Kafka Streams; the right side's names are drawn but unused.
func TestSelfJoinDescribe(t *testing.T) {
	b := topology.NewBuilder()
	b.Optimize(topology.SingleStoreSelfJoin)
	s := kstream.From(b, "topic1", serde.Int32(), serde.String())
	join.Streams(s, s, join.Within(time.Second, 0), func(_ int32, a, b string) string { return a + b }).To("out")
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	want := `Topologies:
   Sub-topology: 0
    Source: KSTREAM-SOURCE-0000000000 (topics: [topic1])
      --> KSTREAM-WINDOWED-0000000001
    Processor: KSTREAM-WINDOWED-0000000001 (stores: [KSTREAM-JOINTHIS-0000000003-store])
      --> KSTREAM-MERGE-0000000005
      <-- KSTREAM-SOURCE-0000000000
    Processor: KSTREAM-MERGE-0000000005 (stores: [KSTREAM-JOINTHIS-0000000003-store])
      --> KSTREAM-SINK-0000000006
      <-- KSTREAM-WINDOWED-0000000001
    Sink: KSTREAM-SINK-0000000006 (topic: out)
      <-- KSTREAM-MERGE-0000000005
`
	if got := top.Describe().String(); strings.TrimSpace(got) != strings.TrimSpace(want) {
		t.Errorf("description:\n%s\nwant:\n%s", got, want)
	}
}

// TestSelfJoinRepartitioned joins a re-keyed stream with itself: the
// stream is repartitioned once, and both topologies give the same results,
// by the new key.
func TestSelfJoinRepartitioned(t *testing.T) {
	for _, o := range selfJoinWays {
		t.Run(o.String(), func(t *testing.T) {
			b := topology.NewBuilder()
			b.Optimize(o)
			s := kstream.SelectKey(kstream.From(b, "in", serde.String(), serde.String()),
				func(_, v string) string { return v[:1] })
			join.Streams(s, s, join.Within(time.Second, 0), func(k, a, b string) string { return k + ":" + a + "+" + b },
				join.Named("pairs")).To("out")
			top, err := b.Build()
			if err != nil {
				t.Fatal(err)
			}
			if got := repartitionSinks(top); !slices.Equal(got, []string{"pairs-left-repartition"}) {
				t.Errorf("repartition topics %q, want [pairs-left-repartition]", got)
			}
			d := testutil.NewDriver(t, top, testutil.Config{})
			in := testutil.NewInputTopic(d, "in", serde.String(), serde.String())
			t0 := time.UnixMilli(1_000)
			in.PipeAt("o1", "a1", t0)
			in.PipeAt("o2", "b1", t0)
			in.PipeAt("o3", "a2", t0.Add(500*time.Millisecond))
			in.PipeAt("o4", "a3", t0.Add(1400*time.Millisecond)) // 1.4 s after a1: too late for it
			var got []string
			for _, r := range testutil.NewOutputTopic(d, "out", serde.String(), serde.String()).ReadAll() {
				got = append(got, r.Value)
			}
			want := []string{"a:a1+a1", "b:b1+b1", "a:a2+a1", "a:a1+a2", "a:a2+a2", "a:a3+a2", "a:a2+a3", "a:a3+a3"}
			if !slices.Equal(got, want) {
				t.Errorf("results %q, want %q", got, want)
			}
		})
	}
}
