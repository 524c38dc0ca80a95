package ktable_test

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
	"github.com/strata-go/strata/window"
)

// forever is Kafka's ofMillis(Long.MAX_VALUE) time limit: as long as a
// time.Duration goes.
const forever = time.Duration(math.MaxInt64)

// valueCounts is SuppressScenarioTest's table: input (k → v) regrouped by
// value and counted, written raw to output-raw and through suppression s to
// output-suppressed.
func valueCounts(t *testing.T, s ktable.Suppression, opts ...ktable.Option) *topology.Topology {
	b := topology.NewBuilder()
	counts := ktable.GroupTableBy(ktable.From(b, "input", serde.String(), serde.String(), uncachedRows),
		func(k, v string) (string, string) { return v, k }).Count()
	counts.Suppress(s, opts...).ToStream().To("output-suppressed")
	counts.ToStream().To("output-raw")
	return mustBuild(t, b)
}

type scenario struct {
	t               *testing.T
	d               *testutil.Driver
	in              *testutil.InputTopic[string, string]
	raw, suppressed *testutil.OutputTopic[string, int64]
}

func newScenario(t *testing.T, top *topology.Topology) *scenario {
	d := testutil.NewDriver(t, top, testutil.Config{})
	return &scenario{
		t:          t,
		d:          d,
		in:         testutil.NewInputTopic(d, "input", serde.String(), serde.String()),
		raw:        testutil.NewOutputTopic(d, "output-raw", serde.String(), serde.Int64()),
		suppressed: testutil.NewOutputTopic(d, "output-suppressed", serde.String(), serde.Int64()),
	}
}

func (s *scenario) check(raw, suppressed []string) {
	s.t.Helper()
	sameList(s.t, "output-raw", readOutputs(s.raw), raw...)
	sameList(s.t, "output-suppressed", readOutputs(s.suppressed), suppressed...)
}

// TestSuppressZeroTimeLimit mirrors SuppressScenarioTest
// .shouldImmediatelyEmitEventsWithZeroEmitAfter.
func TestSuppressZeroTimeLimit(t *testing.T) {
	s := newScenario(t, valueCounts(t, ktable.UntilTimeLimit(0, ktable.Unbounded())))
	s.in.PipeAt("k1", "v1", tsAt(0))
	s.in.PipeAt("k1", "v2", tsAt(1))
	s.in.PipeAt("k2", "v1", tsAt(2))
	all := []string{"v1:1@0", "v1:0@1", "v2:1@1", "v1:1@2"}
	s.check(all, all)
	s.in.PipeAt("x", "x", tsAt(3))
	s.check([]string{"x:1@3"}, []string{"x:1@3"})
	s.in.PipeAt("x", "y", tsAt(4))
	s.check([]string{"x:0@4", "y:1@4"}, []string{"x:0@4", "y:1@4"})
}

// TestSuppressTimeLimit mirrors SuppressScenarioTest
// .shouldSuppressIntermediateEventsWithTimeLimit.
func TestSuppressTimeLimit(t *testing.T) {
	s := newScenario(t, valueCounts(t, ktable.UntilTimeLimit(2*time.Millisecond, ktable.Unbounded())))
	s.in.PipeAt("k1", "v1", tsAt(0))
	s.in.PipeAt("k1", "v2", tsAt(1))
	s.in.PipeAt("k2", "v1", tsAt(2))
	s.check([]string{"v1:1@0", "v1:0@1", "v2:1@1", "v1:1@2"}, []string{"v1:1@2"})
	// A "tick" just to advance stream time: v2 is now due.
	s.in.PipeAt("tick", "tick", tsAt(3))
	s.check([]string{"tick:1@3"}, []string{"v2:1@1"})
	// tick is still buffered: it was first buffered at 3, and it is 4.
	s.in.PipeAt("tick", "tock", tsAt(4))
	s.check([]string{"tick:0@4", "tock:1@4"}, nil)
}

// TestSuppressRecordLimit mirrors SuppressScenarioTest
// .shouldSuppressIntermediateEventsWithRecordLimit.
func TestSuppressRecordLimit(t *testing.T) {
	s := newScenario(t, valueCounts(t, ktable.UntilTimeLimit(forever, ktable.MaxRecords(1).EmitEarlyWhenFull())))
	s.in.PipeAt("k1", "v1", tsAt(0))
	s.in.PipeAt("k1", "v2", tsAt(1))
	s.in.PipeAt("k2", "v1", tsAt(2))
	// Consecutive updates of v1 are collapsed into the latter; the last
	// update waits until another key comes along.
	s.check([]string{"v1:1@0", "v1:0@1", "v2:1@1", "v1:1@2"}, []string{"v1:0@1", "v2:1@1"})
	s.in.PipeAt("x", "x", tsAt(3))
	// Now the last update of v1 is out; x waits for its eviction.
	s.check([]string{"x:1@3"}, []string{"v1:1@2"})
}

// TestSuppressBytesLimit mirrors SuppressScenarioTest
// .shouldSuppressIntermediateEventsWithBytesLimit. Kafka's entries are a
// little over 100 bytes and its limit 200; Strata's are 30 to 50 bytes
// here, so the limit that holds one entry but not two is 60.
func TestSuppressBytesLimit(t *testing.T) {
	s := newScenario(t, valueCounts(t, ktable.UntilTimeLimit(forever, ktable.MaxBytes(60).EmitEarlyWhenFull())))
	s.in.PipeAt("k1", "v1", tsAt(0))
	s.in.PipeAt("k1", "v2", tsAt(1))
	s.in.PipeAt("k2", "v1", tsAt(2))
	s.check([]string{"v1:1@0", "v1:0@1", "v2:1@1", "v1:1@2"}, []string{"v1:0@1", "v2:1@1"})
	s.in.PipeAt("x", "x", tsAt(3))
	s.check([]string{"x:1@3"}, []string{"v1:1@2"})
}

// TestSuppressShutDownWhenFull stops the task, naming the node, when a
// buffer that must not emit early is full.
func TestSuppressShutDownWhenFull(t *testing.T) {
	for _, buf := range []ktable.BufferConfig{
		ktable.MaxRecords(1).ShutDownWhenFull(),
		ktable.MaxBytes(60).ShutDownWhenFull(),
		ktable.Unbounded().WithMaxRecords(1),
	} {
		s := newScenario(t, valueCounts(t, ktable.UntilTimeLimit(forever, buf), ktable.Named("rate-limit")))
		s.in.PipeAt("k1", "v1", tsAt(0))
		err := s.in.TryPipe("k2", "v2")
		if !errors.Is(err, ktable.ErrBufferFull) || !strings.Contains(err.Error(), `"rate-limit"`) {
			t.Fatalf("error %v, want ErrBufferFull naming the node", err)
		}
	}
}

// windowedCounts is SuppressScenarioTest's windowed count: input grouped
// by key, counted in the windows agg makes, written raw and suppressed
// until each window closes.
func windowedCounts(t *testing.T, agg func(g *ktable.GroupedStream[string, string]) ktable.Table[window.Windowed[string], int64]) *topology.Topology {
	b := topology.NewBuilder()
	g := ktable.GroupBy(kstream.From(b, "input", serde.String(), serde.String()), func(k, _ string) string { return k })
	counts := agg(g)
	// Kafka's tests map each key to its string; a serde printing the key
	// keeps tombstones, which kstream.Map does not.
	shown := kstream.WithSerdes(windowedText, serde.Int64())
	counts.Suppress(ktable.UntilWindowCloses(ktable.Unbounded())).ToStream().To("output-suppressed", shown)
	counts.ToStream().To("output-raw", shown)
	return mustBuild(t, b)
}

// windowedText writes a windowed key as Kafka's Windowed.toString does,
// "[key@start/end]", to be read back as a string.
var windowedText = serde.Func(
	func(dst []byte, _ string, k window.Windowed[string]) ([]byte, error) {
		return fmt.Appendf(dst, "[%s@%d/%d]", k.Key, k.Window.Start.UnixMilli(), k.Window.End.UnixMilli()), nil
	},
	func(string, []byte) (window.Windowed[string], error) {
		return window.Windowed[string]{}, errors.New("write-only serde")
	})

// TestSuppressFinalResultsTimeWindows mirrors SuppressScenarioTest
// .shouldSupportFinalResultsForTimeWindows.
func TestSuppressFinalResultsTimeWindows(t *testing.T) {
	s := newScenario(t, windowedCounts(t, func(g *ktable.GroupedStream[string, string]) ktable.Table[window.Windowed[string], int64] {
		return ktable.WindowedBy(g, window.Tumbling(2*time.Millisecond, time.Millisecond)).Count(ktable.Named("counts"), uncachedRows)
	}))
	for _, ts := range []int64{0, 1, 2, 1, 0, 5} {
		s.in.PipeAt("k1", "v1", tsAt(ts))
	}
	// This last record is dropped: it is out of the grace period.
	s.in.PipeAt("k1", "v1", tsAt(0))
	s.check(
		[]string{"[k1@0/2]:1@0", "[k1@0/2]:2@1", "[k1@2/4]:1@2", "[k1@0/2]:3@1", "[k1@0/2]:4@1", "[k1@4/6]:1@5"},
		[]string{"[k1@0/2]:4@1", "[k1@2/4]:1@2"})
}

// TestSuppressFinalResultsTimeWindowsLargeJump mirrors SuppressScenarioTest
// .shouldSupportFinalResultsForTimeWindowsWithLargeJump.
func TestSuppressFinalResultsTimeWindowsLargeJump(t *testing.T) {
	s := newScenario(t, windowedCounts(t, func(g *ktable.GroupedStream[string, string]) ktable.Table[window.Windowed[string], int64] {
		return ktable.WindowedBy(g, window.Tumbling(2*time.Millisecond, 2*time.Millisecond)).Count(ktable.Named("counts"), uncachedRows)
	}))
	for _, ts := range []int64{0, 1, 2, 0, 3, 0, 4} {
		s.in.PipeAt("k1", "v1", tsAt(ts))
	}
	// Dropped: the previous record advanced stream time and closed the
	// window.
	s.in.PipeAt("k1", "v1", tsAt(0))
	s.in.PipeAt("k1", "v1", tsAt(30))
	s.check(
		[]string{"[k1@0/2]:1@0", "[k1@0/2]:2@1", "[k1@2/4]:1@2", "[k1@0/2]:3@1", "[k1@2/4]:2@3", "[k1@0/2]:4@1", "[k1@4/6]:1@4", "[k1@30/32]:1@30"},
		[]string{"[k1@0/2]:4@1", "[k1@2/4]:2@3", "[k1@4/6]:1@4"})
}

// TestSuppressFinalResultsSlidingWindows mirrors SuppressScenarioTest
// .shouldSupportFinalResultsForSlidingWindows.
func TestSuppressFinalResultsSlidingWindows(t *testing.T) {
	s := newScenario(t, windowedCounts(t, func(g *ktable.GroupedStream[string, string]) ktable.Table[window.Windowed[string], int64] {
		return ktable.SlidingWindowedBy(g, window.Sliding(5*time.Millisecond, 15*time.Millisecond)).Count(ktable.Named("counts"), uncachedRows)
	}))
	for _, ts := range []int64{10, 11, 10, 13, 10, 24} {
		s.in.PipeAt("k1", "v1", tsAt(ts))
	}
	// Dropped: the previous record advanced stream time and closed the
	// window.
	s.in.PipeAt("k1", "v1", tsAt(5))
	s.in.PipeAt("k1", "v1", tsAt(7))
	// Advances stream time and flushes the windows.
	s.in.PipeAt("k1", "v1", tsAt(90))
	raw := readOutputs(s.raw)
	// Kafka sorts the raw output by key, then timestamp.
	slices.SortStableFunc(raw, func(a, b string) int {
		ka, ta, _ := strings.Cut(a, ":")
		kb, tb, _ := strings.Cut(b, ":")
		if c := strings.Compare(ka, kb); c != 0 {
			return c
		}
		_, ta, _ = strings.Cut(ta, "@")
		_, tb, _ = strings.Cut(tb, "@")
		var na, nb int
		fmt.Sscan(ta, &na)
		fmt.Sscan(tb, &nb)
		return na - nb
	})
	sameList(t, "output-raw (sorted)", raw,
		"[k1@11/16]:1@11", "[k1@11/16]:2@13", "[k1@12/17]:1@13", "[k1@19/24]:1@24",
		"[k1@5/10]:1@10", "[k1@5/10]:2@10", "[k1@5/10]:3@10", "[k1@5/10]:4@10", "[k1@5/10]:5@10",
		"[k1@6/11]:2@11", "[k1@6/11]:3@11", "[k1@6/11]:4@11", "[k1@6/11]:5@11",
		"[k1@8/13]:4@13", "[k1@8/13]:5@13", "[k1@85/90]:1@90")
	sameList(t, "output-suppressed", readOutputs(s.suppressed),
		"[k1@5/10]:5@10", "[k1@6/11]:5@11", "[k1@8/13]:5@13", "[k1@11/16]:2@13", "[k1@12/17]:1@13", "[k1@19/24]:1@24")
}

// TestSuppressFinalResultsSessionWindows mirrors SuppressScenarioTest
// .shouldSupportFinalResultsForSessionWindows: the delete of a session
// merged away is not a final result. Kafka takes the suppression's grace
// from the session windows as grace plus inactivity gap: 0 + 5ms.
func TestSuppressFinalResultsSessionWindows(t *testing.T) {
	s := newScenario(t, windowedCounts(t, func(g *ktable.GroupedStream[string, string]) ktable.Table[window.Windowed[string], int64] {
		return ktable.SessionWindowedBy(g, window.Session(5*time.Millisecond, 0)).Count(ktable.Named("counts"), uncachedRows)
	}))
	// First window.
	s.in.PipeAt("k1", "v1", tsAt(0))
	s.in.PipeAt("k1", "v1", tsAt(5))
	// Disordered records are admitted: the window is not closed until
	// stream time > window end + grace.
	s.in.PipeAt("k1", "v1", tsAt(1))
	// Any record of the partition advances stream time (the key differs).
	s.in.PipeAt("k2", "v1", tsAt(11))
	// Late for the first window, now closed: dropped.
	s.in.PipeAt("k1", "v1", tsAt(5))
	// Pushes stream time forward to flush the other events through.
	s.in.PipeAt("k1", "v1", tsAt(30))
	s.check(
		[]string{"[k1@0/0]:1@0", "[k1@0/0]:null@0", "[k1@0/5]:2@5", "[k1@0/5]:null@5", "[k1@0/5]:3@5", "[k2@11/11]:1@11", "[k1@30/30]:1@30"},
		[]string{"[k1@0/5]:3@5", "[k2@11/11]:1@11"})
}

// TestSuppressBeforeGroupBy mirrors SuppressScenarioTest
// .shouldWorkBeforeGroupBy.
func TestSuppressBeforeGroupBy(t *testing.T) {
	b := topology.NewBuilder()
	table := ktable.From(b, "topic", serde.String(), serde.String()).
		Suppress(ktable.UntilTimeLimit(10*time.Millisecond, ktable.Unbounded()))
	ktable.GroupTableBy(table, func(k, v string) (string, string) { return k, v }).Count().ToStream().To("output")
	d := testutil.NewDriver(t, mustBuild(t, b), testutil.Config{})
	in := testutil.NewInputTopic(d, "topic", serde.String(), serde.String())
	out := testutil.NewOutputTopic(d, "output", serde.String(), serde.Int64())
	in.PipeAt("A", "a", tsAt(0))
	in.PipeAt("tick", "tick", tsAt(10))
	sameList(t, "output", readOutputs(out), "A:1@0")
}

// TestSuppressRetractsWhatDownstreamSaw checks the old value an emitted
// update carries: the value downstream saw last, so that a re-aggregation
// downstream retracts the right one. (Kafka Streams sends the old value of
// the latest update instead, here y, which downstream never saw.)
func TestSuppressRetractsWhatDownstreamSaw(t *testing.T) {
	b := topology.NewBuilder()
	table := ktable.From(b, "t", serde.String(), serde.String()).
		Suppress(ktable.UntilTimeLimit(10*time.Millisecond, ktable.Unbounded()))
	ktable.GroupTableBy(table, func(k, v string) (string, string) { return v, k }).Count().ToStream().To("out")
	d := testutil.NewDriver(t, mustBuild(t, b), testutil.Config{})
	in := testutil.NewInputTopic(d, "t", serde.String(), serde.String())
	out := testutil.NewOutputTopic(d, "out", serde.String(), serde.Int64())
	in.PipeAt("A", "x", tsAt(0))
	in.PipeAt("T", "t1", tsAt(10)) // A is due: x counted
	in.PipeAt("A", "y", tsAt(11))
	in.PipeAt("A", "z", tsAt(12))
	in.PipeAt("T", "t2", tsAt(21)) // T (buffered at 10) and A (at 11) are due
	sameList(t, "counts", readOutputs(out), "x:1@0", "t2:1@21", "x:0@12", "z:1@12")
}

// TestSuppressTombstones: a delete replaces a key's buffered update and is
// emitted in its place by a time limit; final results drop deletes.
func TestSuppressTombstones(t *testing.T) {
	b := topology.NewBuilder()
	table := ktable.From(b, "t", serde.String(), serde.String())
	table.Suppress(ktable.UntilTimeLimit(10*time.Millisecond, ktable.Unbounded())).ToStream().To("out")
	d := testutil.NewDriver(t, mustBuild(t, b), testutil.Config{})
	in := testutil.NewInputTopic(d, "t", serde.String(), serde.String())
	out := testutil.NewOutputTopic(d, "out", serde.String(), serde.String())
	in.PipeAt("A", "a", tsAt(0))
	in.PipeAt("B", "b", tsAt(1))
	pipeDelete(t, in, "A", tsAt(2))
	in.PipeAt("tick", "x", tsAt(11))
	sameList(t, "out", readOutputs(out), "A:null@2", "B:b@1")
	// A deleted row not buffered is buffered as a delete too.
	pipeDelete(t, in, "B", tsAt(12))
	in.PipeAt("tick", "y", tsAt(30))
	sameList(t, "out", readOutputs(out), "tick:y@30", "B:null@12")
}

// handWindowed is a windowed table read from a topic: "w" holds windowed
// counts keyed by window.TimeWindowedSerde(String, 10ms).
func handWindowed(t *testing.T, keys serde.Serde[window.Windowed[string]], grace time.Duration) *topology.Topology {
	b := topology.NewBuilder()
	table := ktable.FromStream(kstream.From(b, "w", keys, serde.Int64()), ktable.Named("rows"))
	table.Suppress(ktable.UntilWindowClosesAfter(grace, ktable.MaxRecords(100).ShutDownWhenFull())).ToStream().
		To("out", kstream.WithSerdes(windowedText, serde.Int64()))
	return mustBuild(t, b)
}

func wkey(k string, start int64) window.Windowed[string] {
	return window.Windowed[string]{Key: k, Window: window.Window{Start: tsAt(start), End: tsAt(start + 10)}}
}

// TestSuppressUntilWindowClosesHandMade suppresses a windowed table that is
// no aggregation: each window's last value is emitted once stream time
// reaches its end plus grace, deleted windows not at all, and updates of a
// closed window pass at once.
func TestSuppressUntilWindowClosesHandMade(t *testing.T) {
	keys := window.TimeWindowedSerde(serde.String(), 10*time.Millisecond)
	d := testutil.NewDriver(t, handWindowed(t, keys, 5*time.Millisecond), testutil.Config{})
	in := testutil.NewInputTopic(d, "w", keys, serde.Int64())
	out := testutil.NewOutputTopic(d, "out", serde.String(), serde.Int64())
	in.PipeAt(wkey("a", 0), 1, tsAt(1))
	in.PipeAt(wkey("b", 0), 1, tsAt(2))
	in.PipeAt(wkey("a", 0), 2, tsAt(3))
	in.PipeAt(wkey("c", 0), 1, tsAt(4))
	kb, _ := keys.Serialize(nil, "w", wkey("c", 0))
	if err := in.PipeRaw(kb, nil, tsAt(5)); err != nil { // c deleted
		t.Fatal(err)
	}
	in.PipeAt(wkey("a", 10), 1, tsAt(14))
	sameList(t, "before the close", readOutputs(out))
	in.PipeAt(wkey("a", 10), 2, tsAt(15)) // 15 = 0 + 10 + 5: [0,10) closes
	sameList(t, "window [0,10)", readOutputs(out), "[a@0/10]:2@3", "[b@0/10]:1@2")
	in.PipeAt(wkey("b", 0), 7, tsAt(16)) // a closed window's update passes
	sameList(t, "late update", readOutputs(out), "[b@0/10]:7@16")
	in.PipeAt(wkey("z", 100), 1, tsAt(100))
	sameList(t, "window [10,20)", readOutputs(out), "[a@10/20]:2@15")
}

// TestSuppressWindowEndUnknown stops the task when windowed keys come
// without their end, as window.WindowedSerde decodes them.
func TestSuppressWindowEndUnknown(t *testing.T) {
	keys := window.WindowedSerde(serde.String())
	d := testutil.NewDriver(t, handWindowed(t, keys, 0), testutil.Config{})
	in := testutil.NewInputTopic(d, "w", keys, serde.Int64())
	err := in.TryPipeRecord(topology.Record[window.Windowed[string], int64]{Key: wkey("a", 0), Value: 1, Timestamp: tsAt(1)})
	if err == nil || !strings.Contains(err.Error(), "TimeWindowedSerde") {
		t.Fatalf("error %v, want one pointing to window.TimeWindowedSerde", err)
	}
}

// TestSuppressHeaders: an emitted update keeps its latest headers.
func TestSuppressHeaders(t *testing.T) {
	b := topology.NewBuilder()
	ktable.From(b, "t", serde.String(), serde.String()).
		Suppress(ktable.UntilTimeLimit(10*time.Millisecond, ktable.Unbounded())).ToStream().To("out")
	d := testutil.NewDriver(t, mustBuild(t, b), testutil.Config{})
	in := testutil.NewInputTopic(d, "t", serde.String(), serde.String())
	out := testutil.NewOutputTopic(d, "out", serde.String(), serde.String())
	in.PipeRecords(
		topology.Record[string, string]{Key: "A", Value: "1", Timestamp: tsAt(0), Headers: []topology.Header{{Key: "h", Value: []byte("first")}}},
		topology.Record[string, string]{Key: "A", Value: "2", Timestamp: tsAt(1), Headers: []topology.Header{{Key: "h", Value: []byte("second")}, {Key: "empty", Value: []byte{}}, {Key: "nil"}}},
		topology.Record[string, string]{Key: "tick", Value: "x", Timestamp: tsAt(10)},
	)
	recs := out.ReadAll()
	if len(recs) != 1 || recs[0].Key != "A" || recs[0].Value != "2" {
		t.Fatalf("output %+v", recs)
	}
	h := recs[0].Headers
	if len(h) != 3 || h[0].Key != "h" || string(h[0].Value) != "second" || h[1].Key != "empty" || h[1].Value == nil || len(h[1].Value) != 0 || h[2].Key != "nil" || h[2].Value != nil {
		t.Fatalf("headers %q", h)
	}
}

// TestSuppressNames checks Kafka Streams' names: KTABLE-SUPPRESS-<n> and
// its store KTABLE-SUPPRESS-STATE-STORE-<n+1>, or "<name>" and
// "<name>-store".
func TestSuppressNames(t *testing.T) {
	b := topology.NewBuilder()
	table := ktable.From(b, "t", serde.String(), serde.String(), ktable.Named("rows"))
	table.Suppress(ktable.UntilTimeLimit(time.Second, ktable.Unbounded())).ToStream().To("out1")
	table.Suppress(ktable.UntilTimeLimit(time.Second, ktable.Unbounded()), ktable.Named("sup")).ToStream().To("out2")
	desc := mustBuild(t, b).Describe().String()
	for _, s := range []string{
		"Processor: KTABLE-SUPPRESS-0000000002 (stores: [KTABLE-SUPPRESS-STATE-STORE-0000000003])",
		"Processor: sup (stores: [sup-store])",
	} {
		if !strings.Contains(desc, s) {
			t.Errorf("Describe lacks %q:\n%s", s, desc)
		}
	}
}

// TestSuppressBuildErrors checks the mistakes Build reports.
func TestSuppressBuildErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    ktable.Suppression
		want string
	}{
		{"zero", ktable.Suppression{}, "zero Suppression"},
		{"not windowed", ktable.UntilWindowCloses(ktable.Unbounded()), "needs a table keyed by window.Windowed, not string"},
		{"negative limit", ktable.UntilTimeLimit(-time.Second, ktable.Unbounded()), "negative time limit"},
		{"negative records", ktable.UntilTimeLimit(time.Second, ktable.MaxRecords(-1)), "MaxRecords(-1)"},
		{"negative bytes", ktable.UntilTimeLimit(time.Second, ktable.Unbounded().WithMaxBytes(-2)), "MaxBytes(-2)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := topology.NewBuilder()
			ktable.From(b, "t", serde.String(), serde.String()).Suppress(tc.s).ToStream().To("out")
			_, err := b.Build()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Build error %v, want one containing %q", err, tc.want)
			}
		})
	}
	t.Run("window closes emitting early", func(t *testing.T) {
		b := topology.NewBuilder()
		keys := window.TimeWindowedSerde(serde.String(), time.Second)
		ktable.FromStream(kstream.From(b, "w", keys, serde.Int64())).
			Suppress(ktable.UntilWindowClosesAfter(0, ktable.MaxRecords(10))).ToStream().To("out")
		_, err := b.Build()
		if err == nil || !strings.Contains(err.Error(), "does not emit early") {
			t.Fatalf("Build error %v", err)
		}
	})
}
