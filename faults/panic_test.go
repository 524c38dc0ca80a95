package faults_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/deadletter"
	"github.com/strata-go/strata/embedded"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
)

// panicTimeout bounds every wait of the panic tests.
const panicTimeout = 60 * time.Second

// panicRecord is in[p]@o as TestPanicInMapValues produces it: keyed
// k<p>-<o>, valued v<p>-<o>, except in[1]@2, whose value "boom" makes the
// MapValues panic.
func panicRecord(p int32, o int) *kgo.Record {
	v := fmt.Sprintf("v%d-%d", p, o)
	if p == 1 && o == 2 {
		v = "boom"
	}
	return &kgo.Record{Topic: "in", Partition: p, Key: fmt.Appendf(nil, "k%d-%d", p, o), Value: []byte(v)}
}

// panicTopology maps "in" to "out", upper-casing values in the MapValues
// "upper", which panics on "boom" (an index out of range).
func panicTopology(t *testing.T) *topology.Topology {
	t.Helper()
	b := topology.NewBuilder()
	s := kstream.From(b, "in", serde.String(), serde.String())
	kstream.MapValues(s, func(_, v string) string {
		if v == "boom" {
			var none []string
			return none[len(v)] // panics: index out of range
		}
		return strings.ToUpper(v)
	}, kstream.Named("upper")).To("out")
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return top
}

// TestPanicInMapValues runs a MapValues that panics on one record on the
// embedded broker, under each processing-error policy and both guarantees.
// With fail, Run returns an error naming the processor and the record, and
// the committed output is exactly that of the committed input offsets (under
// exactly-once, nothing of the failed transaction is visible). With skip and
// dead-letter the app goes on: every other record's output is there (exactly
// once under exactly-once), including records produced after the panic, and
// the dead-letter topic holds exactly the panicking record.
func TestPanicInMapValues(t *testing.T) {
	for _, g := range []strata.Guarantee{strata.AtLeastOnce, strata.ExactlyOnce} {
		for _, policy := range []topology.BadRecordPolicy{topology.BadRecordFail, topology.BadRecordSkip, topology.BadRecordDeadLetter} {
			t.Run(g.String()+"/"+policy.String(), func(t *testing.T) {
				testPanicInMapValues(t, g, policy)
			})
		}
	}
}

func testPanicInMapValues(t *testing.T, g strata.Guarantee, policy topology.BadRecordPolicy) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "in", Partitions: 2}, {Name: "out", Partitions: 2}}})
	ctx, cancel := context.WithTimeout(t.Context(), panicTimeout)
	defer cancel()
	pcl, err := c.Client(kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer pcl.Close()
	produce := func(recs ...*kgo.Record) {
		t.Helper()
		if err := pcl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	cfg := strata.Config{
		ApplicationID:     "panics",
		Brokers:           c.Addrs(),
		Guarantee:         g,
		OnProcessingError: policy,
		Logger:            slog.New(slog.NewTextHandler(io.Discard, nil)),
		StateDir:          t.TempDir(),
		// kfake answers a fetch of empty partitions only at its max
		// wait: keep it short for the records produced later.
		ClientOptions: []kgo.Opt{kgo.FetchMaxWait(200 * time.Millisecond)},
	}
	if policy == topology.BadRecordFail {
		// Nothing commits before the panic: under exactly-once, the
		// transaction it fails holds the output of every record
		// before it.
		cfg.CommitInterval = time.Hour
	}
	app, err := strata.New(panicTopology(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- app.Run(runCtx) }()
	wait := func() error {
		select {
		case err := <-done:
			return err
		case <-ctx.Done():
			t.Fatal("Run did not return")
			return nil
		}
	}

	// The records before the panic are processed, their output written
	// (under exactly-once, in the open transaction), before the record
	// that panics comes.
	var in []*kgo.Record
	for o := range 5 {
		in = append(in, panicRecord(0, o))
	}
	in = append(in, panicRecord(1, 0), panicRecord(1, 1))
	produce(in...)
	panicAwaitUncommitted(t, c, "out", len(in))
	rest := []*kgo.Record{panicRecord(1, 2), panicRecord(1, 3), panicRecord(1, 4)}
	produce(rest...)
	in = append(in, rest...)

	if policy == topology.BadRecordFail {
		err := wait()
		var pe *topology.PanicError
		if !errors.Is(err, topology.ErrPanic) || !errors.As(err, &pe) || pe.Node != "upper" {
			t.Fatalf("Run = %v; want a PanicError of node upper", err)
		}
		if want := `processor "upper" panicked on in[1]@2: runtime error: index out of range`; !strings.Contains(err.Error(), want) {
			t.Errorf("Run = %q; want it to say %q", err, want)
		}
		got := panicCheckCommitted(t, c, g, in)
		if g == strata.ExactlyOnce && len(got) > 0 {
			t.Errorf("read_committed output %q; want none: the output before the panic was in the transaction it failed", got)
		}
		return
	}

	// The app goes on: it processes records produced after the panic.
	if _, err := c.Consume(ctx, "out", len(in)-1); err != nil {
		t.Fatal(err)
	}
	later := []*kgo.Record{panicRecord(0, 5), panicRecord(1, 5)}
	produce(later...)
	in = append(in, later...)
	if _, err := c.Consume(ctx, "out", len(in)-1); err != nil {
		t.Fatal(err)
	}
	stop()
	if err := wait(); err != nil {
		t.Fatalf("Run after cancel: %v, want nil", err)
	}
	var want []string
	for _, r := range in {
		if string(r.Value) != "boom" {
			want = append(want, string(r.Key)+"="+strings.ToUpper(string(r.Value)))
		}
	}
	slices.Sort(want)
	got := panicOutput(panicReadCommitted(t, c, "out"))
	if g == strata.AtLeastOnce {
		got = slices.Compact(got) // duplicates are allowed; nothing else
	}
	if !slices.Equal(got, want) {
		t.Errorf("committed output %q, want %q", got, want)
	}
	if m := app.Metrics(); m.FailedRecords != 1 {
		t.Errorf("Metrics().FailedRecords = %d, want 1", m.FailedRecords)
	}
	if policy == topology.BadRecordSkip {
		return
	}
	dead := panicReadCommitted(t, c, "panics-dead-letter")
	if len(dead) != 1 {
		t.Fatalf("%d dead-letter records, want 1", len(dead))
	}
	d, err := deadletter.Parse(dead[0])
	if err != nil {
		t.Fatal(err)
	}
	if d.Topic != "in" || d.Partition != 1 || d.Offset != 2 || string(d.Key) != "k1-2" || string(d.Value) != "boom" ||
		d.Reason != deadletter.ReasonProcessing || !strings.Contains(d.Message, `processor "upper" panicked on in[1]@2: runtime error: index out of range`) {
		t.Errorf("dead letter %+v; want in[1]@2 k1-2=boom, reason processing, a message naming the processor and the record", d)
	}
}

// panicAwaitUncommitted waits until topic holds n records, counting those of
// open transactions (read_uncommitted).
func panicAwaitUncommitted(t *testing.T, c *embedded.Cluster, topic string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), panicTimeout)
	defer cancel()
	cl, err := c.Client(kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadUncommitted()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for seen := 0; seen < n; {
		f := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("%s holds %d records, want %d: %v", topic, seen, n, ctx.Err())
		}
		seen += f.NumRecords()
	}
}

// panicCheckCommitted checks what a run that stopped on the panic left: the
// committed input offsets stop at or before the panicking record, in[1]@2,
// and the committed output is the output of the committed input, exactly
// (under exactly-once) or at least (under at-least-once, which may have
// produced more before failing). It returns the committed output.
func panicCheckCommitted(t *testing.T, c *embedded.Cluster, g strata.Guarantee, in []*kgo.Record) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), panicTimeout)
	defer cancel()
	offsets, err := c.Admin().FetchOffsets(ctx, "panics")
	if err != nil {
		t.Fatal(err)
	}
	committed := func(p int32) int64 {
		if o, ok := offsets.Lookup("in", p); ok && o.Err == nil {
			return o.At
		}
		return 0
	}
	if at := committed(1); at > 2 {
		t.Errorf("in[1] committed up to %d, past the record that panicked (2)", at)
	}
	var want []string
	for _, r := range in {
		if r.Offset < committed(r.Partition) {
			want = append(want, string(r.Key)+"="+strings.ToUpper(string(r.Value)))
		}
	}
	got := panicOutput(panicReadCommitted(t, c, "out"))
	t.Logf("committed input offsets: in[0] %d, in[1] %d; committed output %q", committed(0), committed(1), got)
	if g == strata.ExactlyOnce {
		if !slices.Equal(got, want) {
			t.Errorf("read_committed output %q; want exactly the output of the committed input %q", got, want)
		}
		return got
	}
	for _, w := range want {
		if _, found := slices.BinarySearch(got, w); !found {
			t.Errorf("output of committed input %s is missing (output %q)", w, got)
		}
	}
	return got
}

// panicOutput formats records as key=value, sorted.
func panicOutput(recs []*kgo.Record) []string {
	var out []string
	for _, r := range recs {
		out = append(out, string(r.Key)+"="+string(r.Value))
	}
	slices.Sort(out)
	return out
}

// panicReadCommitted reads every committed record of topic, read_committed,
// up to the end of each partition: it keeps the control records, the
// transaction markers, to see the end even when a marker is the last record,
// and returns the others. An open transaction makes it wait until it ends
// (or the test times out).
func panicReadCommitted(t *testing.T, c *embedded.Cluster, topic string) []*kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), panicTimeout)
	defer cancel()
	ends, err := c.Admin().ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	left := map[int32]int64{} // partition → end, while not reached
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			left[o.Partition] = o.Offset
		}
	})
	if len(left) == 0 {
		return nil
	}
	cl, err := c.Client(kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var out []*kgo.Record
	for len(left) > 0 {
		f := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("reading %s: partitions %v not read to their ends: %v", topic, left, ctx.Err())
		}
		f.EachRecord(func(r *kgo.Record) {
			if !r.Attrs.IsControl() {
				out = append(out, r)
			}
			if end, ok := left[r.Partition]; ok && r.Offset+1 >= end {
				delete(left, r.Partition)
			}
		})
	}
	return out
}

// panicTicker schedules a wall-clock punctuation that panics.
type panicTicker struct{}

func (panicTicker) Init(ctx topology.Context[string, string]) error {
	_, err := ctx.Schedule(10*time.Millisecond, topology.WallClockTime, func(time.Time) error {
		panic("tick")
	})
	return err
}
func (panicTicker) Close() error                                    { return nil }
func (panicTicker) Process(r topology.Record[string, string]) error { return nil }

// TestPanicInPunctuatorStopsRun: a panic in a wall-clock punctuator, where
// no record is processed, stops Run with an error naming the processor,
// under any policy, instead of crashing the process.
func TestPanicInPunctuatorStopsRun(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "in"}}})
	ctx, cancel := context.WithTimeout(t.Context(), panicTimeout)
	defer cancel()
	b := topology.NewBuilder()
	kstream.Process(kstream.From(b, "in", serde.String(), serde.String()),
		func() topology.Processor[string, string, string, string] { return panicTicker{} }, kstream.Named("ticker"))
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	app, err := strata.New(top, strata.Config{
		ApplicationID:     "panics-tick",
		Brokers:           c.Addrs(),
		Guarantee:         strata.ExactlyOnce,
		OnProcessingError: topology.BadRecordSkip,
		Logger:            slog.New(slog.NewTextHandler(io.Discard, nil)),
		StateDir:          t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	err = app.Run(ctx)
	var pe *topology.PanicError
	if ctx.Err() != nil || !errors.As(err, &pe) || pe.Node != "ticker" || pe.HasRecord ||
		!strings.Contains(err.Error(), `punctuate "ticker": processor "ticker" panicked: tick`) {
		t.Fatalf("Run = %v; want it to stop with the punctuator's panic, naming processor ticker", err)
	}
}
