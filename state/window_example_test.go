package state_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
	"github.com/strata-go/strata/window"
)

// windowExampleT stands in for the *testing.T that a test passes to
// testutil.NewDriver, so that the example can run the driver: it panics
// where a test would fail.
type windowExampleT struct{ testing.TB }

func (windowExampleT) Helper()                           {}
func (windowExampleT) Cleanup(func())                    {}
func (windowExampleT) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
func (windowExampleT) Errorf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }

// clickCounter counts each user's clicks per minute in a window store and
// forwards the running count of the click's window.
type clickCounter struct {
	ctx    topology.Context[window.Windowed[string], int64]
	counts state.WindowStore[string, int64]
}

func (c *clickCounter) Init(ctx topology.Context[window.Windowed[string], int64]) (err error) {
	c.ctx = ctx
	c.counts, err = state.LookupWindow[string, int64](ctx, "clicks-per-minute")
	return err
}

func (c *clickCounter) Process(r topology.Record[string, string]) error {
	start := r.Timestamp.Truncate(time.Minute)
	n, _, err := c.counts.Fetch(r.Key, start)
	if err != nil {
		return err
	}
	n++
	if err := c.counts.Put(r.Key, n, start); err != nil {
		return err
	}
	w := window.Window{Start: start, End: start.Add(time.Minute)}
	return c.ctx.Forward(topology.Record[window.Windowed[string], int64]{
		Key: window.Windowed[string]{Key: r.Key, Window: w}, Value: n, Timestamp: r.Timestamp,
	})
}

func (c *clickCounter) Close() error { return nil }

// A processor keeps per-minute counts in a window store that keeps an hour
// of windows, and writes them keyed as Kafka Streams writes windowed keys.
func ExampleAddWindowStore() {
	b := topology.NewBuilder()
	state.AddWindowStore(b, "clicks-per-minute", serde.String(), serde.Int64(), time.Minute, time.Hour)
	topology.AddSource(b, "clicks", topology.Source[string, string]{Topics: []string{"clicks"}, KeySerde: serde.String(), ValueSerde: serde.String()})
	topology.AddProcessor(b, "count", func() topology.Processor[string, string, window.Windowed[string], int64] {
		return &clickCounter{}
	}, "clicks")
	b.ConnectStores("count", "clicks-per-minute")
	windowed := window.TimeWindowedSerde(serde.String(), time.Minute)
	topology.AddSink(b, "counts", topology.Sink[window.Windowed[string], int64]{Topic: "counts", KeySerde: windowed, ValueSerde: serde.Int64()}, "count")
	top, err := b.Build()
	if err != nil {
		panic(err)
	}

	d := testutil.NewDriver(windowExampleT{}, top, testutil.Config{}) // in a test: pass t
	in := testutil.NewInputTopic(d, "clicks", serde.String(), serde.String())
	out := testutil.NewOutputTopic(d, "counts", windowed, serde.Int64())
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	in.PipeAt("ann", "/home", t0.Add(10*time.Second))
	in.PipeAt("ann", "/cart", t0.Add(50*time.Second))
	in.PipeAt("ann", "/pay", t0.Add(70*time.Second))
	for _, kv := range out.ReadKeyValues() {
		w := kv.Key.Window
		fmt.Printf("%s [%s, %s) %d\n", kv.Key.Key, w.Start.UTC().Format("15:04"), w.End.UTC().Format("15:04"), kv.Value)
	}
	// Output:
	// ann [12:00, 12:01) 1
	// ann [12:00, 12:01) 2
	// ann [12:01, 12:02) 1
}
