package testutil_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strata-go/strata/deadletter"
	"github.com/strata-go/strata/join"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
)

// A panic case: a topology reading "in" and writing "out" (strings) whose
// user code panics on the value "boom". Each case is run under each policy
// with the records a, boom and b (offsets 0, 1 and 2 of in[0]).
type panicCase struct {
	name string
	// build adds the topology to b; setup pipes what the case needs
	// before the records (a table's rows).
	build func(b *topology.Builder)
	setup func(d *testutil.Driver)
	// node and kind name the node that panics.
	node, kind string
	// badRecord is set when the bad-record policy (OnBadRecord) applies,
	// not the processing-error policy.
	badRecord bool
	// want is the output of a and b, when boom is skipped.
	want []testutil.KeyValue[string, string]
}

var errPanicked = errors.New("panicked on purpose")

// boom panics on "boom" with a value that is not an error.
func boom(v string) {
	if v == "boom" {
		panic("cannot take " + v)
	}
}

// panicky is a processor that writes to a nil map, a runtime error, on
// "boom", after forwarding nothing.
type panicky struct {
	ctx  topology.Context[string, string]
	seen map[string]int
}

func (p *panicky) Init(ctx topology.Context[string, string]) error { p.ctx = ctx; return nil }
func (p *panicky) Close() error                                    { return nil }
func (p *panicky) Process(r topology.Record[string, string]) error {
	if r.Value == "boom" {
		p.seen[r.Value]++ // nil map: panics
	}
	return p.ctx.Forward(topology.WithValue(r, r.Value+"!"))
}

// boomSerde is a string serde whose serializer and deserializer panic on
// "boom".
func boomSerde() serde.Serde[string] {
	return serde.Func(func(dst []byte, _ string, v string) ([]byte, error) {
		boom(v)
		return append(dst, v...), nil
	}, func(_ string, data []byte) (string, error) {
		boom(string(data))
		return string(data), nil
	})
}

var panicCases = []panicCase{{
	name: "MapValues",
	build: func(b *topology.Builder) {
		s := kstream.From(b, "in", serde.String(), serde.String())
		kstream.MapValues(s, func(_, v string) string { boom(v); return strings.ToUpper(v) }, kstream.Named("upper")).To("out")
	},
	node: "upper", kind: "processor",
	want: []testutil.KeyValue[string, string]{testutil.KV("k", "A"), testutil.KV("k", "B")},
}, {
	name: "Processor",
	build: func(b *topology.Builder) {
		s := kstream.From(b, "in", serde.String(), serde.String())
		kstream.Process(s, func() topology.Processor[string, string, string, string] { return &panicky{} }, kstream.Named("proc")).To("out")
	},
	node: "proc", kind: "processor",
	want: []testutil.KeyValue[string, string]{testutil.KV("k", "a!"), testutil.KV("k", "b!")},
}, {
	name: "Aggregator",
	build: func(b *topology.Builder) {
		s := kstream.From(b, "in", serde.String(), serde.String())
		agg := ktable.Aggregate(ktable.GroupByKey(s), func() string { return "" },
			func(_, v, agg string) string { boom(v); return agg + v }, ktable.Named("concat"))
		agg.ToStream().To("out")
	},
	// Named names the aggregation's store; its processor has a
	// generated name.
	node: "KSTREAM-AGGREGATE-0000000001", kind: "processor",
	// The aggregate goes on from a: boom left no trace.
	want: []testutil.KeyValue[string, string]{testutil.KV("k", "a"), testutil.KV("k", "ab")},
}, {
	name: "Joiner",
	build: func(b *topology.Builder) {
		s := kstream.From(b, "in", serde.String(), serde.String())
		t := ktable.From(b, "rows", serde.String(), serde.String())
		join.StreamTable(s, t, func(_, l, r string) string { boom(l); return l + "/" + r }, join.Named("enrich")).
			To("out", kstream.WithSerdes(serde.String(), serde.String()))
	},
	setup: func(d *testutil.Driver) {
		testutil.NewInputTopic(d, "rows", serde.String(), serde.String()).Pipe("k", "row")
	},
	node: "enrich", kind: "processor",
	want: []testutil.KeyValue[string, string]{testutil.KV("k", "a/row"), testutil.KV("k", "b/row")},
}, {
	name: "SinkSerializer",
	build: func(b *topology.Builder) {
		kstream.From(b, "in", serde.String(), serde.String()).
			To("out", kstream.Named("write"), kstream.WithSerdes(serde.String(), boomSerde()))
	},
	node: "write", kind: "sink",
	want: []testutil.KeyValue[string, string]{testutil.KV("k", "a"), testutil.KV("k", "b")},
}, {
	name: "SourceDeserializer",
	build: func(b *topology.Builder) {
		kstream.From(b, "in", serde.String(), boomSerde(), kstream.Named("read")).
			To("out", kstream.WithSerdes(serde.String(), serde.String()))
	},
	node: "read", kind: "source", badRecord: true,
	want: []testutil.KeyValue[string, string]{testutil.KV("k", "a"), testutil.KV("k", "b")},
}}

// TestPanicPolicies runs every panic case under every policy.
func TestPanicPolicies(t *testing.T) {
	for _, c := range panicCases {
		for _, policy := range []topology.BadRecordPolicy{topology.BadRecordFail, topology.BadRecordSkip, topology.BadRecordDeadLetter} {
			t.Run(c.name+"/"+policy.String(), func(t *testing.T) {
				b := topology.NewBuilder()
				c.build(b)
				top, err := b.Build()
				if err != nil {
					t.Fatal(err)
				}
				cfg := testutil.Config{OnProcessingError: policy}
				if c.badRecord {
					cfg = testutil.Config{OnBadRecord: policy}
				}
				d := testutil.NewDriver(t, top, cfg)
				if c.setup != nil {
					c.setup(d)
				}
				in := testutil.NewInputTopic(d, "in", serde.String(), serde.String())
				out := testutil.NewOutputTopic(d, "out", serde.String(), serde.String())
				in.Pipe("k", "a")
				err = in.TryPipe("k", "boom")
				if policy == topology.BadRecordFail {
					checkPanicError(t, c, err)
					return
				}
				if err != nil {
					t.Fatalf("TryPipe(boom) under %s: %v", policy, err)
				}
				in.Pipe("k", "b")
				expectOut(t, out, c.want...)
				failed, skipped := d.FailedRecords(), d.SkippedRecords()
				if c.badRecord {
					failed, skipped = skipped, failed
				}
				if failed != 1 || skipped != 0 {
					t.Errorf("%d records failed and %d skipped, want 1 failed (by the policy that applies) and 0 by the other", failed, skipped)
				}
				if policy == topology.BadRecordSkip {
					if produced := d.ProducedTopics(); slices.Contains(produced, "test-dead-letter") {
						t.Errorf("topics written under skip: %q, including the dead-letter topic", produced)
					}
					return
				}
				dead := testutil.NewOutputTopic(d, "test-dead-letter", serde.String(), serde.String())
				reason := deadletter.ReasonProcessing
				if c.badRecord {
					reason = deadletter.ReasonDeserialization
				}
				checkDeadLetter(t, dead, reason, fmt.Sprintf("%s %q panicked", c.kind, c.node))
			})
		}
	}
}

// expectOut checks that out holds exactly want, in order.
func expectOut(t *testing.T, out *testutil.OutputTopic[string, string], want ...testutil.KeyValue[string, string]) {
	t.Helper()
	if got := out.ReadKeyValues(); !slices.Equal(got, want) {
		t.Errorf("output %v, want %v", got, want)
	}
}

// checkPanicError checks the error of the record boom under the policy
// fail: a PanicError naming the case's node, and the record, within a
// ProcessingError (or a BadRecordError for a source).
func checkPanicError(t *testing.T, c panicCase, err error) {
	t.Helper()
	var pe *topology.PanicError
	if !errors.Is(err, topology.ErrPanic) || !errors.As(err, &pe) {
		t.Fatalf("TryPipe(boom) = %v; want a *topology.PanicError", err)
	}
	if pe.Node != c.node || pe.Kind != c.kind || len(pe.Stack) == 0 || pe.Value == nil {
		t.Errorf("PanicError{Node: %q, Kind: %q, Value: %v, %d bytes of stack}; want node %q, kind %q, a value and a stack", pe.Node, pe.Kind, pe.Value, len(pe.Stack), c.node, c.kind)
	}
	var proc *topology.ProcessingError
	var bad *topology.BadRecordError
	if c.badRecord {
		if !errors.As(err, &bad) || bad.Offset != 1 || bad.Part != "value" || errors.As(err, &proc) || pe.HasRecord {
			t.Errorf("error %v: want a BadRecordError for the value at offset 1 wrapping the panic, not a ProcessingError", err)
		}
		want := fmt.Sprintf(`bad record at in[0]@1: value: source %q panicked: cannot take boom`, c.node)
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
		return
	}
	if !errors.As(err, &proc) || errors.As(err, &bad) {
		t.Errorf("error %v: want a ProcessingError, to which the policy applies", err)
	}
	if want := (topology.RecordMetadata{Topic: "in", Partition: 0, Offset: 1}); !pe.HasRecord || pe.Record != want {
		t.Errorf("PanicError.Record = %+v (HasRecord %v), want %+v", pe.Record, pe.HasRecord, want)
	}
	want := fmt.Sprintf(`task 0_0: %s %q panicked on in[0]@1: `, c.kind, c.node)
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
}

// checkDeadLetter checks that dead holds exactly the record boom, at offset 1
// of in[0], with reason and a message containing msg.
func checkDeadLetter(t *testing.T, dead *testutil.OutputTopic[string, string], reason, msg string) {
	t.Helper()
	if n := dead.Len(); n != 1 {
		t.Fatalf("%d dead-letter records, want 1", n)
	}
	r := dead.ReadRecord()
	h := map[string]string{}
	for _, x := range r.Headers {
		h[x.Key] = string(x.Value)
	}
	if r.Key != "k" || r.Value != "boom" || h[deadletter.HeaderException] != reason ||
		h[deadletter.HeaderTopic] != "in" || h[deadletter.HeaderPartition] != "0" || h[deadletter.HeaderOffset] != "1" ||
		!strings.Contains(h[deadletter.HeaderMessage], msg) {
		t.Errorf("dead letter %s=%s with headers %v; want k=boom from in[0]@1, reason %s, a message saying %q", r.Key, r.Value, h, reason, msg)
	}
}

// A runtime error unwraps from the PanicError, and the panic is logged at
// ERROR with its stack, which shows where it happened.
func TestPanicRuntimeErrorAndStack(t *testing.T) {
	b := topology.NewBuilder()
	panicCases[1].build(b) // the processor writing to a nil map
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	logs := &recordingHandler{}
	d := testutil.NewDriver(t, top, testutil.Config{Logger: slog.New(logs)})
	in := testutil.NewInputTopic(d, "in", serde.String(), serde.String())
	err = in.TryPipe("k", "boom")
	var re runtime.Error
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "assignment to entry in nil map") {
		t.Fatalf("TryPipe = %v; want the runtime error", err)
	}
	r, ok := logs.find(slog.LevelError, "stack")
	if !ok {
		t.Fatalf("no ERROR log with a stack; logs: %v", logs.messages())
	}
	attrs := map[string]string{}
	r.Attrs(func(a slog.Attr) bool { attrs[a.Key] = a.Value.String(); return true })
	if attrs["node"] != "proc" || attrs["topic"] != "in" || attrs["offset"] != "0" ||
		!strings.Contains(attrs["stack"], "(*panicky).Process") {
		t.Errorf("ERROR log %q with %v; want node proc, in@0 and a stack through (*panicky).Process", r.Message, attrs)
	}
}

// recordingHandler keeps every log record.
type recordingHandler struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (h *recordingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordingHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *recordingHandler) WithGroup(string) slog.Handler            { return h }
func (h *recordingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recs = append(h.recs, r.Clone())
	return nil
}

// find returns the first record at level with the attribute key.
func (h *recordingHandler) find(level slog.Level, key string) (slog.Record, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range h.recs {
		found := false
		r.Attrs(func(a slog.Attr) bool { found = found || a.Key == key; return !found })
		if r.Level == level && found {
			return r, true
		}
	}
	return slog.Record{}, false
}

func (h *recordingHandler) messages() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, r := range h.recs {
		out = append(out, r.Message)
	}
	return out
}

// ticking schedules fn every 10ms of the given clock and forwards records.
type ticking struct {
	ctx topology.Context[string, string]
	typ topology.PunctuationType
}

func (p *ticking) Init(ctx topology.Context[string, string]) error {
	p.ctx = ctx
	_, err := ctx.Schedule(10*time.Millisecond, p.typ, func(time.Time) error {
		var m map[string]int
		m["tick"]++ // nil map: panics
		return nil
	})
	return err
}
func (p *ticking) Close() error { return nil }
func (p *ticking) Process(r topology.Record[string, string]) error {
	return p.ctx.Forward(r)
}

func tickingTopology(t *testing.T, typ topology.PunctuationType) *topology.Topology {
	t.Helper()
	b := topology.NewBuilder()
	s := kstream.From(b, "in", serde.String(), serde.String())
	kstream.Process(s, func() topology.Processor[string, string, string, string] { return &ticking{typ: typ} }, kstream.Named("ticker")).To("out")
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return top
}

// A panic in a stream-time punctuator has no record: processing stops with
// an error naming the processor, whatever the policy.
func TestPanicInStreamTimePunctuator(t *testing.T) {
	for _, policy := range []topology.BadRecordPolicy{topology.BadRecordFail, topology.BadRecordSkip, topology.BadRecordDeadLetter} {
		t.Run(policy.String(), func(t *testing.T) {
			d := testutil.NewDriver(t, tickingTopology(t, topology.StreamTime), testutil.Config{OnProcessingError: policy})
			in := testutil.NewInputTopic(d, "in", serde.String(), serde.String())
			out := testutil.NewOutputTopic(d, "out", serde.String(), serde.String())
			// The first record moves stream time to 0, when the
			// punctuation is first due.
			err := in.TryPipe("k", "a")
			var pe *topology.PanicError
			var proc *topology.ProcessingError
			if !errors.As(err, &pe) || pe.Node != "ticker" || pe.HasRecord || errors.As(err, &proc) {
				t.Fatalf("TryPipe = %v; want a PanicError of node ticker, without a record, not a ProcessingError", err)
			}
			if want := `task 0_0: punctuate "ticker": processor "ticker" panicked: assignment to entry in nil map`; err.Error() != want {
				t.Errorf("error %q, want %q", err, want)
			}
			// The record itself was processed before the punctuation.
			expectOut(t, out, testutil.KV("k", "a"))
			if n := d.FailedRecords(); n != 0 {
				t.Errorf("FailedRecords() = %d, want 0: no record failed", n)
			}
		})
	}
}

// A panic in a wall-clock punctuator fails the test with the processor's
// name, rather than crashing the test binary.
func TestPanicInWallClockPunctuator(t *testing.T) {
	msg := fails(t, func(tb testing.TB) {
		d := testutil.NewDriver(tb, tickingTopology(t, topology.WallClockTime), testutil.Config{OnProcessingError: topology.BadRecordSkip})
		d.AdvanceWallClockTime(10 * time.Millisecond)
	})
	if want := `wall-clock punctuation: task 0_0: punctuate "ticker": processor "ticker" panicked: assignment to entry in nil map`; !strings.Contains(msg, want) {
		t.Errorf("driver reported %q, want it to say %q", msg, want)
	}
}

// cachedCountTopology counts "in" by key in a cached store and maps the
// counts downstream of the cache, in "after-flush", which panics on a count
// of 2.
func cachedCountTopology(t *testing.T) *topology.Topology {
	t.Helper()
	b := topology.NewBuilder()
	s := kstream.From(b, "in", serde.String(), serde.String())
	counts := ktable.GroupByKey(s).Count(ktable.Named("counts")).ToStream()
	kstream.MapValues(counts, func(_ string, n int64) string {
		if n == 2 {
			panic(errPanicked)
		}
		return fmt.Sprint(n)
	}, kstream.Named("after-flush")).To("out", kstream.WithSerdes(serde.String(), serde.String()))
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return top
}

// A panic downstream of a cache flush at commit has no record: processing
// stops with an error naming the processor that panicked and the store
// being flushed, whatever the policy.
func TestPanicInCacheFlushAtCommit(t *testing.T) {
	d := testutil.NewDriver(t, cachedCountTopology(t), testutil.Config{OnProcessingError: topology.BadRecordSkip, CacheMaxBytes: 1 << 20})
	in := testutil.NewInputTopic(d, "in", serde.String(), serde.String())
	out := testutil.NewOutputTopic(d, "out", serde.String(), serde.String())
	in.Pipe("k", "a") // the driver commits after each record: count 1
	err := in.TryPipe("k", "b")
	var pe *topology.PanicError
	var proc *topology.ProcessingError
	if !errors.As(err, &pe) || pe.Node != "after-flush" || pe.HasRecord || errors.As(err, &proc) || !errors.Is(err, errPanicked) {
		t.Fatalf("TryPipe = %v; want a PanicError of node after-flush wrapping the panic's error, not a ProcessingError", err)
	}
	if want := `task 0_0: flush store "counts": processor "after-flush" panicked: panicked on purpose`; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	expectOut(t, out, testutil.KV("k", "1"))
}

// A panic downstream of a cache eviction is the record's: the policy skips
// it, and the cache goes on working for the next records.
func TestPanicInCacheEvictionIsTheRecords(t *testing.T) {
	// A budget smaller than one entry: every write evicts, and so
	// flushes, while its record is processed.
	d := testutil.NewDriver(t, cachedCountTopology(t), testutil.Config{OnProcessingError: topology.BadRecordSkip, CacheMaxBytes: 1})
	in := testutil.NewInputTopic(d, "in", serde.String(), serde.String())
	out := testutil.NewOutputTopic(d, "out", serde.String(), serde.String())
	for _, v := range []string{"a", "b", "c", "d"} {
		if err := in.TryPipe("k", v); err != nil {
			t.Fatalf("TryPipe(%q): %v", v, err)
		}
	}
	// The count reached 2 with b, whose output panicked; the store
	// kept counting.
	expectOut(t, out, testutil.KV("k", "1"), testutil.KV("k", "3"), testutil.KV("k", "4"))
	if n := d.FailedRecords(); n != 1 {
		t.Errorf("FailedRecords() = %d, want 1", n)
	}
	if got := testutil.KeyValueStore[string, int64](d, "counts").All(); len(got) != 1 || got[0].Value != 4 {
		t.Errorf("store counts = %v, want k=4", got)
	}
}

// panicsIn is a processor that panics in Init or Close.
type panicsIn struct {
	init, close bool
}

func (p *panicsIn) Init(topology.Context[string, string]) error {
	if p.init {
		panic("cannot init")
	}
	return nil
}

func (p *panicsIn) Close() error {
	if p.close {
		panic("cannot close")
	}
	return nil
}

func (p *panicsIn) Process(topology.Record[string, string]) error { return nil }

func panicsInTopology(t *testing.T, p *panicsIn) *topology.Topology {
	t.Helper()
	b := topology.NewBuilder()
	s := kstream.From(b, "in", serde.String(), serde.String())
	kstream.Process(s, func() topology.Processor[string, string, string, string] { return p }, kstream.Named("fragile")).To("out")
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return top
}

// A panic in a processor's Init or Close is an error naming it.
func TestPanicInInitAndClose(t *testing.T) {
	msg := fails(t, func(tb testing.TB) {
		testutil.NewDriver(tb, panicsInTopology(t, &panicsIn{init: true}), testutil.Config{})
	})
	if want := `task 0_0: init "fragile": processor "fragile" panicked: cannot init`; !strings.Contains(msg, want) {
		t.Errorf("NewDriver reported %q, want it to say %q", msg, want)
	}
	d := testutil.NewDriver(t, panicsInTopology(t, &panicsIn{close: true}), testutil.Config{})
	err := d.Close()
	var pe *topology.PanicError
	if !errors.As(err, &pe) || pe.Node != "fragile" || !strings.Contains(err.Error(), `task 0_0: close "fragile": processor "fragile" panicked: cannot close`) {
		t.Errorf("Close = %v; want a PanicError naming fragile", err)
	}
}
