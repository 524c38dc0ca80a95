package benchkit

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/embedded"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
	"github.com/strata-go/strata/window"
)

// WindowSize is the size of the windowed count's tumbling windows.
const WindowSize = time.Minute

// timedBase is the timestamp of the first record of the timed preloads,
// a whole minute.
var timedBase = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// preloadTimed writes n records into InTopic as Preload does, record i
// stamped timedBase + i ms: 1M records span about 17 minutes, and a key of
// 10k recurs every 10 s.
func preloadTimed(ctx context.Context, c *embedded.Cluster, n, keys int) error {
	value := bytes.Repeat([]byte("v"), ValueSize)
	return ProduceAll(ctx, c, n, func(i int) *kgo.Record {
		return &kgo.Record{Topic: InTopic, Key: Key(i, keys), Value: value, Timestamp: timedBase.Add(time.Duration(i) * time.Millisecond)}
	})
}

// WindowedCount runs a Strata app with guarantee g counting the records of
// In by key in tumbling windows of WindowSize, no grace: GroupByKey →
// WindowedBy → Count (a Pebble window store with a changelog, behind the
// record cache unless env.DisableCache) → ToStream → Out, keys in Kafka
// Streams' time-windowed format, Int64 values. It stops the app once every
// record has been counted.
func WindowedCount(ctx context.Context, env Env, g strata.Guarantee) (*strata.App, error) {
	bld := topology.NewBuilder()
	in := kstream.From(bld, env.In, serde.String(), serde.String())
	stop := stopAfter(env.Records)
	ktable.WindowedBy(ktable.GroupByKey(in.Peek(stop.record)), window.Tumbling(WindowSize, 0)).
		Count(ktable.Named("wcounts")).
		ToStream().To(env.Out, kstream.WithSerdes(window.TimeWindowedSerde(serde.String(), WindowSize), serde.Int64()))
	return runApp(ctx, env, bld, "bench-wcount-"+short(g), g, stop)
}

func windowedCount(g strata.Guarantee) func(context.Context, Env) (time.Duration, error) {
	return func(ctx context.Context, env Env) (time.Duration, error) {
		return timedApp(ctx, env, false, func(ctx context.Context, env Env) (*strata.App, error) {
			return WindowedCount(ctx, env, g)
		})
	}
}

func checkWindowedCounts(ctx context.Context, env Env) error {
	return checkOutput(ctx, env, func(recs []*kgo.Record) error { return CheckWindowedCounts(recs, env.Records, env.Keys) })
}

// CheckWindowedCounts checks the output of the windowed count of n records
// preloaded by preloadTimed over keys distinct keys: the last count of each
// key and window is exactly how many of its records fall in the window.
func CheckWindowedCounts(recs []*kgo.Record, n, keys int) error {
	ks := window.TimeWindowedSerde(serde.String(), WindowSize)
	type kw struct {
		key   string
		start int64
	}
	last := map[kw]int64{}
	for _, r := range recs {
		w, err := ks.Deserialize(r.Topic, r.Key)
		if err != nil {
			return fmt.Errorf("%w: %s[%d]@%d: key: %w", ErrIncomplete, r.Topic, r.Partition, r.Offset, err)
		}
		v, err := serde.Int64().Deserialize(r.Topic, r.Value)
		if err != nil {
			return fmt.Errorf("%w: %s[%d]@%d: %w", ErrIncomplete, r.Topic, r.Partition, r.Offset, err)
		}
		last[kw{w.Key, w.Window.Start.UnixMilli()}] = v
	}
	want := map[kw]int64{}
	size := WindowSize.Milliseconds()
	for i := range n {
		ts := timedBase.UnixMilli() + int64(i)
		want[kw{string(Key(i, keys)), ts - ts%size}]++
	}
	if len(last) != len(want) {
		return fmt.Errorf("%w: %d windows counted, want %d", ErrIncomplete, len(last), len(want))
	}
	for k, c := range want {
		if got, ok := last[k]; !ok || got != c {
			return fmt.Errorf("%w: key %q, window at %d counted %d (present: %v), want %d", ErrIncomplete, k.key, k.start, got, ok, c)
		}
	}
	return nil
}
