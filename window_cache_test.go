package strata_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"testing"
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

// TestWindowedCountCachedExactlyOnce runs a windowed count under
// exactly-once with the record cache on (the default) and off: either way
// the committed outputs end at every key's final count, with no
// duplicates under exactly-once; with the cache, the window store's
// changelog holds fewer records than there were updates, and a restore
// from it alone gives the counts back.
func TestWindowedCountCachedExactlyOnce(t *testing.T) {
	const n, keys = 1000, 10
	// Every record falls in the same one-hour window.
	at := time.UnixMilli(1_700_000_000_000).Truncate(time.Hour).Add(time.Minute)
	for _, tc := range []struct {
		name    string
		disable bool
	}{{"cached", false}, {"disabled", true}} {
		t.Run(tc.name, func(t *testing.T) {
			c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "in"}, {Name: "out"}}})
			b := topology.NewBuilder()
			counts := ktable.WindowedBy(ktable.GroupByKey(kstream.From(b, "in", serde.String(), serde.String())),
				window.Tumbling(time.Hour, time.Hour)).Count(ktable.Named("wcounts"))
			kstream.Map(counts.ToStream(), func(k window.Windowed[string], n int64) (string, int64) { return k.Key, n }).
				To("out", kstream.WithSerdes(serde.String(), serde.Int64()))
			top, err := b.Build()
			if err != nil {
				t.Fatal(err)
			}
			stateDir := t.TempDir()
			newApp := func() *strata.App {
				app, err := strata.New(top, strata.Config{
					ApplicationID:  "wcache",
					Brokers:        c.Addrs(),
					Guarantee:      strata.ExactlyOnce,
					StateDir:       stateDir,
					CommitInterval: 200 * time.Millisecond,
					DisableCache:   tc.disable,
					Logger:         slog.New(slog.DiscardHandler),
				})
				if err != nil {
					t.Fatal(err)
				}
				return app
			}
			model := map[string]int64{}
			recs := make([]*kgo.Record, n)
			for i := range recs {
				k := fmt.Sprintf("k%02d", i%keys)
				recs[i] = &kgo.Record{Topic: "in", Key: []byte(k), Value: []byte("x"), Timestamp: at}
				model[k]++
			}
			if err := c.Produce(context.Background(), recs...); err != nil {
				t.Fatal(err)
			}
			runUntilCounts(t, c, newApp(), model, true)

			outputs := committedRecords(t, c, "out")
			logged := committedRecords(t, c, "wcache-wcounts-changelog")
			t.Logf("%d updates of %d windows: %d outputs, %d changelog records", n, keys, len(outputs), len(logged))
			switch {
			case tc.disable && (len(logged) != n || len(outputs) != n):
				t.Fatalf("without the cache, %d changelog records and %d outputs, want one per update: %d", len(logged), len(outputs), n)
			case !tc.disable && (len(logged) >= n || len(outputs) >= n):
				t.Fatalf("with the cache, %d changelog records and %d outputs for %d updates", len(logged), len(outputs), n)
			case len(logged) < keys:
				t.Fatalf("the changelog has %d records, fewer than the %d windows", len(logged), keys)
			}

			// Without local state, the next run restores the store
			// from the changelog alone and counts on from there.
			if err := os.RemoveAll(stateDir); err != nil {
				t.Fatal(err)
			}
			if err := c.Produce(context.Background(), &kgo.Record{Topic: "in", Key: []byte("k00"), Value: []byte("x"), Timestamp: at}); err != nil {
				t.Fatal(err)
			}
			model["k00"]++
			app := newApp()
			runUntilCounts(t, c, app, model, true)
			if got := app.Metrics().RestoredRecords; got != int64(len(logged)) {
				t.Fatalf("restored %d records, want the changelog's %d", got, len(logged))
			}
		})
	}
}

// committedRecords reads every committed record of topic's partition 0.
func committedRecords(t *testing.T, c *embedded.Cluster, topic string) []*kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	ends, err := c.Admin().ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	end, ok := ends.Lookup(topic, 0)
	if !ok || end.Err != nil {
		t.Fatalf("%s: end offset: %v %v", topic, ok, end.Err)
	}
	// Control records (transaction markers) are kept so that offsets
	// run on to the end offset, which counts them; they are not counted.
	cl, err := c.Client(kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var out []*kgo.Record
	next := int64(0)
	for next < end.Offset {
		f := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("%s: read up to offset %d, not %d: %v", topic, next, end.Offset, ctx.Err())
		}
		f.EachRecord(func(r *kgo.Record) {
			next = r.Offset + 1
			if !r.Attrs.IsControl() {
				out = append(out, r)
			}
		})
	}
	return out
}
