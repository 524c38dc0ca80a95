package testutil_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata/internal/engine"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
)

// TestRedeliverKeepsPartitionOrder asks for a record to be delivered again
// twice: the records behind it in its partition wait, in order, until it
// succeeds; the other partition goes on; each delivery counts an attempt.
func TestRedeliverKeepsPartitionOrder(t *testing.T) {
	var now func() time.Time
	b := topology.NewBuilder()
	topology.AddSource(b, "src", topology.Source[string, string]{Topics: []string{"in"}, KeySerde: serde.String(), ValueSerde: serde.String()})
	topology.AddProcessor(b, "retry", func() topology.Processor[string, string, string, string] {
		return &redeliverAfter{failures: map[string]int{"b": 2}, now: func() time.Time { return now() }}
	}, "src")
	topology.AddSink(b, "sink", topology.Sink[string, string]{Topic: "out", KeySerde: serde.String(), ValueSerde: serde.String()}, "retry")
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	d := testutil.NewDriver(t, top, testutil.Config{Partitions: map[string]int{"in": 2}})
	now = d.WallClockTime
	in := testutil.NewInputTopic(d, "in", serde.String(), serde.String())
	out := testutil.NewOutputTopic(d, "out", serde.String(), serde.String())

	// k1 and k2 land on different partitions of "in".
	k1, k2 := "k1", ""
	for i := 2; k2 == ""; i++ {
		if k := fmt.Sprint("k", i); engine.KeyPartition([]byte(k), 2) != engine.KeyPartition([]byte(k1), 2) {
			k2 = k
		}
	}
	in.Pipe(k1, "a")
	in.Pipe(k1, "b")
	in.Pipe(k1, "c")
	in.Pipe(k2, "x")
	got := out.ReadValues()
	if want := []string{"a@0", "x@0"}; !equal(got, want) {
		t.Fatalf("before the retry is due: %q, want %q (c waits behind b; k2's partition goes on)", got, want)
	}
	d.AdvanceWallClockTime(999 * time.Millisecond)
	if got := out.ReadValues(); len(got) != 0 {
		t.Fatalf("before the second is up: %q, want nothing", got)
	}
	d.AdvanceWallClockTime(time.Millisecond)
	if got := out.ReadValues(); len(got) != 0 {
		t.Fatalf("after the first retry, which fails again: %q, want nothing", got)
	}
	d.AdvanceWallClockTime(time.Second)
	if got, want := out.ReadValues(), []string{"b@2", "c@0"}; !equal(got, want) {
		t.Fatalf("after the second retry: %q, want %q", got, want)
	}
}

// redeliverAfter is retrier with a clock: it asks for a record to be
// delivered again a second after now.
type redeliverAfter struct {
	ctx      topology.Context[string, string]
	failures map[string]int
	now      func() time.Time
}

func (p *redeliverAfter) Init(ctx topology.Context[string, string]) error { p.ctx = ctx; return nil }
func (p *redeliverAfter) Close() error                                    { return nil }
func (p *redeliverAfter) Process(r topology.Record[string, string]) error {
	md, _ := p.ctx.RecordMetadata()
	if md.Attempt < p.failures[r.Value] {
		p.ctx.Redeliver(p.now().Add(time.Second))
		return nil
	}
	r.Value = fmt.Sprintf("%s@%d", r.Value, md.Attempt)
	return p.ctx.Forward(r)
}

// TestSourceDue holds records of a source with a due time until the wall
// clock reaches it; the partition's later records wait behind.
func TestSourceDue(t *testing.T) {
	b := topology.NewBuilder()
	topology.AddSource(b, "src", topology.Source[string, string]{
		Topics: []string{"in"}, KeySerde: serde.String(), ValueSerde: serde.String(),
		Due: func(r *kgo.Record) time.Time {
			for _, h := range r.Headers {
				if h.Key == "due" {
					d, err := time.ParseDuration(string(h.Value))
					if err != nil {
						panic(err)
					}
					return time.Unix(0, 0).Add(d)
				}
			}
			return time.Time{}
		},
	})
	topology.AddSink(b, "sink", topology.Sink[string, string]{Topic: "out", KeySerde: serde.String(), ValueSerde: serde.String()}, "src")
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	d := testutil.NewDriver(t, top, testutil.Config{StartTime: time.Unix(0, 0)})
	in := testutil.NewInputTopic(d, "in", serde.String(), serde.String())
	out := testutil.NewOutputTopic(d, "out", serde.String(), serde.String())
	in.PipeRecords(topology.Record[string, string]{Key: "k", Value: "now"})
	in.PipeRecords(topology.Record[string, string]{Key: "k", Value: "later", Headers: []topology.Header{{Key: "due", Value: []byte("5s")}}})
	in.PipeRecords(topology.Record[string, string]{Key: "k", Value: "behind"})
	if got, want := out.ReadValues(), []string{"now"}; !equal(got, want) {
		t.Fatalf("at 0s: %q, want %q", got, want)
	}
	d.AdvanceWallClockTime(4 * time.Second)
	if got := out.ReadValues(); len(got) != 0 {
		t.Fatalf("at 4s: %q, want nothing", got)
	}
	d.AdvanceWallClockTime(time.Second)
	if got, want := out.ReadValues(), []string{"later", "behind"}; !equal(got, want) {
		t.Fatalf("at 5s: %q, want %q", got, want)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// asyncUpper upper-cases records on another goroutine, holding each until
// its result is posted back.
type asyncUpper struct {
	ctx topology.Context[string, string]
}

func (p *asyncUpper) Init(ctx topology.Context[string, string]) error { p.ctx = ctx; return nil }
func (p *asyncUpper) Close() error                                    { return nil }
func (p *asyncUpper) Process(r topology.Record[string, string]) error {
	pending := p.ctx.Hold()
	go func() {
		r.Value = strings.ToUpper(r.Value)
		p.ctx.Post(func() error {
			defer pending.Done()
			return p.ctx.Forward(r)
		})
	}()
	return nil
}

// TestDriverSettlesHeldRecords: the driver finishes a record a processor
// holds (Context.Hold, Post) before it processes the next, so output order
// is input order.
func TestDriverSettlesHeldRecords(t *testing.T) {
	b := topology.NewBuilder()
	topology.AddSource(b, "src", topology.Source[string, string]{Topics: []string{"in"}, KeySerde: serde.String(), ValueSerde: serde.String()})
	topology.AddProcessor(b, "upper", func() topology.Processor[string, string, string, string] { return &asyncUpper{} }, "src")
	topology.AddSink(b, "sink", topology.Sink[string, string]{Topic: "out", KeySerde: serde.String(), ValueSerde: serde.String()}, "upper")
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	d := testutil.NewDriver(t, top, testutil.Config{})
	in := testutil.NewInputTopic(d, "in", serde.String(), serde.String())
	out := testutil.NewOutputTopic(d, "out", serde.String(), serde.String())
	for _, v := range []string{"a", "b", "c"} {
		in.Pipe("k", v)
	}
	if got, want := out.ReadValues(), []string{"A", "B", "C"}; !equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}
