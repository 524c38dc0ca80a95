package kstream_test

import (
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
)

// router forwards even values to the child "evens" and odd ones to "odds",
// with the input record's coordinates appended to the value.
type router struct {
	ctx topology.Context[string, string]
}

func (p *router) Init(ctx topology.Context[string, string]) error { p.ctx = ctx; return nil }

func (p *router) Process(r topology.Record[string, int64]) error {
	md, ok := p.ctx.RecordMetadata()
	if !ok {
		return errors.New("no record metadata while processing a record")
	}
	v := fmt.Sprintf("%d@%s[%d]:%d", r.Value, md.Topic, md.Partition, md.Offset)
	child := "odds"
	if r.Value%2 == 0 {
		child = "evens"
	}
	return p.ctx.ForwardTo(child, topology.WithValue(r, v))
}

func (p *router) Close() error { return nil }

func TestProcessForwardToAndRecordMetadata(t *testing.T) {
	b := topology.NewBuilder()
	s := kstream.From(b, "in", serde.String(), serde.Int64())
	routed := kstream.Process(s, func() topology.Processor[string, int64, string, string] { return &router{} }, kstream.Named("router"))
	routed.To("evens", kstream.Named("evens"))
	routed.To("odds", kstream.Named("odds"))
	d := testutil.NewDriver(t, build(t, b), testutil.Config{Partitions: map[string]int{"in": 4, "evens": 4, "odds": 4}})
	in := testutil.NewInputTopic(d, "in", serde.String(), serde.Int64())
	evens := testutil.NewOutputTopic(d, "evens", serde.String(), serde.String())
	odds := testutil.NewOutputTopic(d, "odds", serde.String(), serde.String())

	var wantEvens, wantOdds []out[string, string]
	offsets := map[int32]int64{} // next offset per input partition
	parts := map[int32]bool{}
	for i := range 12 {
		k := "user" + strconv.Itoa(i%5)
		p := kafkaPartition(k, 4)
		parts[p] = true
		in.PipeRecords(topology.Record[string, int64]{Key: k, Value: int64(i), Timestamp: at(int64(10 * i)), Headers: hdr("n", strconv.Itoa(i))})
		o := out[string, string]{k, fmt.Sprintf("%d@in[%d]:%d", i, p, offsets[p]), int64(10 * i), hdr("n", strconv.Itoa(i)), p}
		offsets[p]++
		if i%2 == 0 {
			wantEvens = append(wantEvens, o)
		} else {
			wantOdds = append(wantOdds, o)
		}
	}
	if len(parts) < 2 {
		t.Fatalf("test keys all land in one partition (%v); pick others", parts)
	}
	expect(t, evens, wantEvens...)
	expect(t, odds, wantOdds...)
}

// ticker records its punctuations: each one forwards a record whose key is
// the punctuation type and whose value is the time it was called with.
type ticker struct {
	typ      topology.PunctuationType
	interval time.Duration
	ctx      topology.Context[string, int64]
	cancelAt int64 // cancel the schedule after firing at this time, if > 0
}

func (p *ticker) Init(ctx topology.Context[string, int64]) error {
	p.ctx = ctx
	key := "stream"
	if p.typ == topology.WallClockTime {
		key = "wall"
	}
	var c topology.Cancellable
	c, err := ctx.Schedule(p.interval, p.typ, func(ts time.Time) error {
		if _, ok := ctx.RecordMetadata(); ok {
			return errors.New("record metadata during punctuation")
		}
		if p.cancelAt > 0 && ts.UnixMilli() == p.cancelAt {
			c.Cancel()
		}
		return ctx.Forward(topology.Record[string, int64]{Key: key, Value: ts.UnixMilli(), Timestamp: ts})
	})
	return err
}

func (p *ticker) Process(r topology.Record[string, int64]) error { return nil }

func (p *ticker) Close() error { return nil }

func TestProcessStreamTimePunctuation(t *testing.T) {
	b := topology.NewBuilder()
	s := kstream.From(b, "in", serde.String(), serde.Int64())
	kstream.Process(s, func() topology.Processor[string, int64, string, int64] {
		return &ticker{typ: topology.StreamTime, interval: 10 * time.Millisecond}
	}).To("ticks")
	d := testutil.NewDriver(t, build(t, b), testutil.Config{})
	in := testutil.NewInputTopic(d, "in", serde.String(), serde.Int64())
	ticks := testutil.NewOutputTopic(d, "ticks", serde.String(), serde.Int64())

	// Stream-time punctuation is aligned to 0 and fires after the record
	// that moves stream time to or past the next slot, with the stream time;
	// missed slots are skipped, not fired in a burst; records that do not
	// move stream time forward fire nothing.
	steps := []struct {
		ts   int64
		want []int64
	}{
		{3, []int64{3}},   // first record: slot 0 is due
		{7, nil},          // next slot is 10
		{12, []int64{12}}, // crosses 10; next slot 20
		{5, nil},          // out of order: stream time stays 12
		{19, nil},
		{45, []int64{45}}, // slots 20, 30, 40 missed: one punctuation, next 50
		{49, nil},
		{50, []int64{50}}, // exactly on the slot
		{50, nil},         // same stream time: next slot is 60
		{61, []int64{61}},
	}
	for _, st := range steps {
		in.PipeAt("k", st.ts, at(st.ts))
		var got []int64
		for _, r := range readAll(t, ticks) {
			if r.Key != "stream" || r.TS != r.Value {
				t.Errorf("tick %v: want key stream and timestamp = value", r)
			}
			got = append(got, r.Value)
		}
		if fmt.Sprint(got) != fmt.Sprint(st.want) {
			t.Errorf("after a record at %d: punctuations at %v, want %v", st.ts, got, st.want)
		}
	}
}

func TestProcessWallClockPunctuation(t *testing.T) {
	b := topology.NewBuilder()
	s := kstream.From(b, "in", serde.String(), serde.Int64())
	kstream.Process(s, func() topology.Processor[string, int64, string, int64] {
		return &ticker{typ: topology.WallClockTime, interval: time.Second, cancelAt: 6000}
	}).To("ticks")
	d := testutil.NewDriver(t, build(t, b), testutil.Config{})
	ticks := testutil.NewOutputTopic(d, "ticks", serde.String(), serde.Int64())

	// Scheduled at wall-clock 0, so first due at 1000; fires without input
	// records, with the wall-clock time; missed slots are skipped.
	steps := []struct {
		step time.Duration
		want []int64
	}{
		{500 * time.Millisecond, nil},
		{500 * time.Millisecond, []int64{1000}},
		{999 * time.Millisecond, nil},
		{time.Millisecond, []int64{2000}},
		{2500 * time.Millisecond, []int64{4500}}, // 3000, 4000 missed; next 5000
		{500 * time.Millisecond, []int64{5000}},
		{1000 * time.Millisecond, []int64{6000}}, // cancels itself
		{5000 * time.Millisecond, nil},
	}
	for _, st := range steps {
		d.AdvanceWallClockTime(st.step)
		var got []int64
		for _, r := range readAll(t, ticks) {
			if r.Key != "wall" || r.TS != r.Value {
				t.Errorf("tick %v: want key wall and timestamp = value", r)
			}
			got = append(got, r.Value)
		}
		if fmt.Sprint(got) != fmt.Sprint(st.want) {
			t.Errorf("at wall clock %d: punctuations at %v, want %v", d.WallClockTime().UnixMilli(), got, st.want)
		}
	}
}

// failing returns errBoom for the value "bad".
type failing struct {
	ctx topology.Context[string, string]
}

var errBoom = errors.New("boom")

func (p *failing) Init(ctx topology.Context[string, string]) error { p.ctx = ctx; return nil }

func (p *failing) Process(r topology.Record[string, string]) error {
	if r.Value == "bad" {
		return errBoom
	}
	return p.ctx.Forward(r)
}

func (p *failing) Close() error { return nil }

func TestProcessErrorIsNodeError(t *testing.T) {
	b := topology.NewBuilder()
	s := kstream.From(b, "in", serde.String(), serde.String())
	p := kstream.Process(s.Filter(func(_, v string) bool { return v != "" }), func() topology.Processor[string, string, string, string] {
		return &failing{}
	}, kstream.Named("checker"))
	p.To("out")
	d := testutil.NewDriver(t, build(t, b), testutil.Config{})
	in := testutil.NewInputTopic(d, "in", serde.String(), serde.String())
	o := testutil.NewOutputTopic(d, "out", serde.String(), serde.String())
	if err := in.TryPipe("k", "good"); err != nil {
		t.Fatal(err)
	}
	err := in.TryPipe("k", "bad")
	var ne *topology.NodeError
	if !errors.As(err, &ne) || ne.Node != "checker" || !errors.Is(err, errBoom) {
		t.Fatalf("TryPipe error %v: want a *topology.NodeError for node checker wrapping errBoom", err)
	}
	expectKVs(t, o, testutil.KV("k", "good"))
}

func TestProcessWithStores(t *testing.T) {
	supplier := func() topology.Processor[string, string, string, string] { return &failing{} }
	b := topology.NewBuilder()
	b.DeclareStore("counts")
	kstream.Process(kstream.From(b, "in", serde.String(), serde.String()), supplier, kstream.WithStores("counts")).To("out")
	build(t, b)

	b = topology.NewBuilder()
	kstream.Process(kstream.From(b, "in", serde.String(), serde.String()), supplier, kstream.Named("p"), kstream.WithStores("nope")).To("out")
	buildErr(t, b, `"p" uses unknown store "nope"`)
}
