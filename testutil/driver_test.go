package testutil_test

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
)

// fatalTB records the first Fatalf and stops the goroutine that called it,
// so a test can assert what the driver reports.
type fatalTB struct {
	testing.TB
	mu  sync.Mutex
	msg string
}

func (f *fatalTB) Helper() {}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.mu.Lock()
	f.msg = fmt.Sprintf(format, args...)
	f.mu.Unlock()
	runtime.Goexit()
}

func (f *fatalTB) Fatal(args ...any) { f.Fatalf("%s", fmt.Sprint(args...)) }

// fails runs fn with a fatalTB and returns what it reported.
func fails(t *testing.T, fn func(tb testing.TB)) string {
	t.Helper()
	f := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.msg == "" {
		t.Fatal("expected the driver to fail the test; it did not")
	}
	return f.msg
}

func upperTopology(t *testing.T) *topology.Topology {
	t.Helper()
	b := topology.NewBuilder()
	s := kstream.From(b, "in", serde.String(), serde.String())
	kstream.MapValues(s, func(_, v string) string { return strings.ToUpper(v) }).To("out")
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return top
}

// copartitionedTopology merges topics left and right, declared
// co-partitioned as a join's inputs are.
func copartitionedTopology(t *testing.T) *topology.Topology {
	t.Helper()
	b := topology.NewBuilder()
	l := kstream.From(b, "left", serde.String(), serde.String(), kstream.Named("l"))
	r := kstream.From(b, "right", serde.String(), serde.String(), kstream.Named("r"))
	l.Merge(r).To("out")
	b.Copartition("l", "r")
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return top
}

func TestCopartitionedTopicsWithEqualCounts(t *testing.T) {
	d := testutil.NewDriver(t, copartitionedTopology(t), testutil.Config{Partitions: map[string]int{"left": 3, "right": 3}})
	testutil.NewInputTopic(d, "right", serde.String(), serde.String()).Pipe("k", "v")
	if got := testutil.NewOutputTopic(d, "out", serde.String(), serde.String()).ReadKeyValue(); got.Key != "k" || got.Value != "v" {
		t.Fatalf("read %+v", got)
	}
}

func TestMisusedTopicsFailClearly(t *testing.T) {
	top := upperTopology(t)
	cases := []struct {
		name string
		fn   func(tb testing.TB)
		want string
	}{
		{"pipe into a topic nobody reads", func(tb testing.TB) {
			d := testutil.NewDriver(tb, top, testutil.Config{})
			testutil.NewInputTopic(d, "nope", serde.String(), serde.String())
		}, `input topic "nope": the topology does not read it (it reads ["in"])`},
		{"read a topic nobody writes", func(tb testing.TB) {
			d := testutil.NewDriver(tb, top, testutil.Config{})
			testutil.NewOutputTopic(d, "nope", serde.String(), serde.String())
		}, `output topic "nope": no sink of the topology writes it (sinks write ["out"])`},
		{"read past the end", func(tb testing.TB) {
			d := testutil.NewDriver(tb, top, testutil.Config{})
			testutil.NewOutputTopic(d, "out", serde.String(), serde.String()).ReadRecord()
		}, `output topic "out": no more records (0 read)`},
		{"nil serde for a type without one", func(tb testing.TB) {
			d := testutil.NewDriver(tb, top, testutil.Config{})
			testutil.NewInputTopic[string, struct{ X int }](d, "in", serde.String(), nil)
		}, `input topic "in": nil serde, and the topology has none for struct { X int }`},
		{"time going back", func(tb testing.TB) {
			d := testutil.NewDriver(tb, top, testutil.Config{})
			d.AdvanceWallClockTime(-time.Second)
		}, "time cannot go back"},
		{"zero partitions", func(tb testing.TB) {
			testutil.NewDriver(tb, top, testutil.Config{Partitions: map[string]int{"in": 0}})
		}, `Config.Partitions["in"] = 0: a topic needs at least one partition`},
		{"co-partitioned topics with different counts", func(tb testing.TB) {
			testutil.NewDriver(tb, copartitionedTopology(t), testutil.Config{Partitions: map[string]int{"left": 2, "right": 3}})
		}, `topics "left" (2 partitions), "right" (3 partitions) must have the same number of partitions`},
		{"unknown store", func(tb testing.TB) {
			d := testutil.NewDriver(tb, top, testutil.Config{})
			testutil.KeyValueStore[string, int64](d, "nope")
		}, `the topology has no store "nope"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := fails(t, c.fn); !strings.Contains(got, c.want) {
				t.Fatalf("driver reported %q, want it to contain %q", got, c.want)
			}
		})
	}
}

// streamTimes forwards, for every record, the stream time of its task.
type streamTimes struct {
	ctx topology.Context[string, int64]
}

func (p *streamTimes) Init(ctx topology.Context[string, int64]) error { p.ctx = ctx; return nil }
func (p *streamTimes) Close() error                                   { return nil }
func (p *streamTimes) Process(r topology.Record[string, string]) error {
	return p.ctx.Forward(topology.WithValue(r, p.ctx.StreamTime().UnixMilli()))
}

func TestStreamTimeIsPerPartition(t *testing.T) {
	b := topology.NewBuilder()
	topology.AddSource(b, "src", topology.Source[string, string]{Topics: []string{"in"}, KeySerde: serde.String(), ValueSerde: serde.String()})
	topology.AddProcessor(b, "times", func() topology.Processor[string, string, string, int64] { return &streamTimes{} }, "src")
	topology.AddSink(b, "sink", topology.Sink[string, int64]{Topic: "out", KeySerde: serde.String(), ValueSerde: serde.Int64()}, "times")
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	d := testutil.NewDriver(t, top, testutil.Config{Partitions: map[string]int{"in": 2, "out": 2}})
	in := testutil.NewInputTopic(d, "in", serde.String(), serde.String())
	out := testutil.NewOutputTopic(d, "out", serde.String(), serde.Int64())
	// Find two keys on different partitions.
	in.PipeAt("a", "", time.UnixMilli(1))
	pa := out.ReadRecord().Partition
	other := ""
	for i := 0; other == ""; i++ {
		k := fmt.Sprintf("k%d", i)
		in.PipeAt(k, "", time.UnixMilli(1))
		if out.ReadRecord().Partition != pa {
			other = k
		}
	}
	in.PipeAt("a", "", time.UnixMilli(1000))   // partition A: stream time 1000
	in.PipeAt(other, "", time.UnixMilli(50))   // partition B: stream time 50, not 1000
	in.PipeAt("a", "", time.UnixMilli(10))     // out of order: A stays at 1000
	in.PipeAt(other, "", time.UnixMilli(2000)) // B moves on
	got := out.ReadValues()
	want := []int64{1000, 50, 1000, 2000}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("stream times %v, want %v", got, want)
	}
}

func TestTopicsTheTopologyReadsAreLoopedBack(t *testing.T) {
	// Sub-topology 0 re-keys and writes "mid"; sub-topology 1 reads "mid",
	// as a repartition does. Records of "mid" are processed right away,
	// in the order they were written.
	b := topology.NewBuilder()
	s := kstream.From(b, "in", serde.String(), serde.String())
	kstream.SelectKey(s, func(_, v string) string { return v }).To("mid")
	kstream.MapValues(kstream.From(b, "mid", serde.String(), serde.String()), func(k, v string) string { return k + "!" }).To("out")
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(top.Describe().Subtopologies); n != 2 {
		t.Fatalf("%d sub-topologies, want 2", n)
	}
	d := testutil.NewDriver(t, top, testutil.Config{Partitions: map[string]int{"in": 2, "mid": 3, "out": 3}})
	in := testutil.NewInputTopic(d, "in", serde.String(), serde.String())
	out := testutil.NewOutputTopic(d, "out", serde.String(), serde.String())
	in.PipeKeyValues(testutil.KV("1", "x"), testutil.KV("2", "y"), testutil.KV("3", "z"))
	got := out.ReadKeyValues()
	want := []testutil.KeyValue[string, string]{testutil.KV("x", "x!"), testutil.KV("y", "y!"), testutil.KV("z", "z!")}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if fmt.Sprint(d.ProducedTopics()) != "[mid out]" {
		t.Fatalf("produced topics %v", d.ProducedTopics())
	}
}

// putter stores each record's value under its key.
type putter struct {
	store state.KeyValueStore[int64, string]
}

func (p *putter) Init(ctx topology.Context[int64, string]) error {
	s, err := state.LookupKeyValue[int64, string](ctx, "s")
	p.store = s
	return err
}
func (p *putter) Close() error { return nil }
func (p *putter) Process(r topology.Record[int64, string]) error {
	return p.store.Put(r.Key, r.Value)
}

func TestKeyValueStoreViewAcrossPartitions(t *testing.T) {
	b := topology.NewBuilder()
	state.AddKeyValueStore(b, "s", serde.Int64(), serde.String())
	topology.AddSource(b, "src", topology.Source[int64, string]{Topics: []string{"in"}, KeySerde: serde.Int64(), ValueSerde: serde.String()})
	topology.AddProcessor(b, "put", func() topology.Processor[int64, string, int64, string] { return &putter{} }, "src")
	b.ConnectStores("put", "s")
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	d := testutil.NewDriver(t, top, testutil.Config{ApplicationID: "app", Partitions: map[string]int{"in": 4}})
	in := testutil.NewInputTopic(d, "in", serde.Int64(), serde.String())
	for _, k := range []int64{300, 2, 40, 1000, 7} {
		in.Pipe(k, fmt.Sprint("v", k))
	}
	view := testutil.KeyValueStore[int64, string](d, "s")
	var keys []int64
	for _, kv := range view.All() {
		keys = append(keys, kv.Key)
	}
	// Big-endian int64 keys merge across the 4 tasks in numeric order.
	if fmt.Sprint(keys) != "[2 7 40 300 1000]" {
		t.Fatalf("keys %v", keys)
	}
	if v, ok := view.Get(40); !ok || v != "v40" {
		t.Fatalf("Get(40) = %q, %v", v, ok)
	}
	// The changelog, one partition per task, is readable like any topic.
	log := testutil.NewOutputTopic(d, "app-s-changelog", serde.Int64(), serde.String())
	if n := log.Len(); n != 5 {
		t.Fatalf("changelog holds %d records, want 5", n)
	}
}

func TestDeterministic(t *testing.T) {
	run := func() []testutil.Record[string, string] {
		d := testutil.NewDriver(t, upperTopology(t), testutil.Config{Partitions: map[string]int{"in": 3, "out": 3}})
		in := testutil.NewInputTopic(d, "in", serde.String(), serde.String()).AutoAdvance(time.Second)
		for i := 0; i < 50; i++ {
			in.Pipe(fmt.Sprint("k", i%7), fmt.Sprint("v", i))
		}
		return testutil.NewOutputTopic(d, "out", serde.String(), serde.String()).ReadAll()
	}
	a, b := run(), run()
	if fmt.Sprint(a) != fmt.Sprint(b) || len(a) != 50 {
		t.Fatalf("two runs differ or lost records: %d vs %d", len(a), len(b))
	}
}
