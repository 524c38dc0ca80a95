package strata_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/embedded"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/topology"
)

// TestRecordCacheChangelog runs the counting app over 1000 updates of 10
// keys with its store cached and commits every 200ms: the cache collapses
// each key's updates between commits into one changelog record, and a
// restore from that changelog gives the final counts. With DisableCache,
// every update is logged.
func TestRecordCacheChangelog(t *testing.T) {
	const n, keys = 1000, 10
	for _, tc := range []struct {
		name    string
		disable bool
	}{{"cached", false}, {"disabled", true}} {
		t.Run(tc.name, func(t *testing.T) {
			c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "in"}, {Name: "out"}}})
			var in []string
			want := map[string]int64{}
			for i := 0; i < n; i++ {
				k := fmt.Sprintf("k%d", i%keys)
				in = append(in, k)
				want[k]++
			}
			stateDir := t.TempDir()
			newApp := func(snapshot func(topology.TaskID, map[string]int64)) *strata.App {
				app, err := strata.New(countTopology(t, snapshot, state.Caching(true)), strata.Config{
					ApplicationID:  "cache",
					Brokers:        c.Addrs(),
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
			produceKeys(t, c, in)
			out := runUntil(t, c, newApp(nil), n)
			if last := out[len(out)-1]; len(out) != n || last.Offset != n-1 {
				t.Fatalf("got %d outputs; every update is still forwarded by the processor", len(out))
			}

			ends, err := c.Admin().ListEndOffsets(context.Background(), "cache-counts-changelog")
			if err != nil {
				t.Fatal(err)
			}
			end, ok := ends.Lookup("cache-counts-changelog", 0)
			if !ok || end.Err != nil {
				t.Fatalf("changelog end offset: %v %v", ok, end.Err)
			}
			logged := end.Offset
			t.Logf("%d updates of %d keys wrote %d changelog records", n, keys, logged)
			switch {
			case tc.disable && logged != n:
				t.Fatalf("with the cache disabled, the changelog has %d records, want one per update: %d", logged, n)
			case !tc.disable && logged >= n:
				t.Fatalf("with the cache, the changelog has %d records for %d updates", logged, n)
			case !tc.disable && logged < keys:
				t.Fatalf("the changelog has %d records, fewer than the %d keys", logged, keys)
			}

			// Without local state, the next run restores the
			// store from the changelog alone.
			if err := os.RemoveAll(stateDir); err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			var seen map[string]int64
			app2 := newApp(func(_ topology.TaskID, contents map[string]int64) {
				mu.Lock()
				defer mu.Unlock()
				seen = contents
			})
			produceKeys(t, c, []string{"k0"})
			runUntil(t, c, app2, n+1)
			if got := app2.Metrics().RestoredRecords; got != logged {
				t.Fatalf("restored %d records, want the changelog's %d", got, logged)
			}
			mu.Lock()
			defer mu.Unlock()
			assertSnapshotsMatch(t, seen, want)
		})
	}
}

func TestCacheConfig(t *testing.T) {
	top := countTopology(t, nil)
	base := strata.Config{ApplicationID: "app", Brokers: []string{"localhost:9092"}}
	for _, tc := range []struct {
		name   string
		change func(*strata.Config)
		err    string
	}{
		{"default", func(*strata.Config) {}, ""},
		{"budget", func(c *strata.Config) { c.CacheMaxBytes = 1 << 20 }, ""},
		{"disabled", func(c *strata.Config) { c.DisableCache = true }, ""},
		{"negative", func(c *strata.Config) { c.CacheMaxBytes = -1 }, "CacheMaxBytes: must not be negative"},
		{"both", func(c *strata.Config) { c.CacheMaxBytes, c.DisableCache = 1<<20, true }, "CacheMaxBytes: is 1048576, but DisableCache is set"},
		// The record cache is part of StateMemoryBytes, at most half.
		{"half the budget", func(c *strata.Config) { c.CacheMaxBytes = 32 << 20 }, ""},
		{"over half the budget", func(c *strata.Config) { c.CacheMaxBytes = 32<<20 + 1 }, "CacheMaxBytes: is 33554433, more than half of StateMemoryBytes (67108864)"},
		{"over half of a set budget", func(c *strata.Config) { c.CacheMaxBytes, c.StateMemoryBytes = 10<<20, 16<<20 }, "more than half of StateMemoryBytes (16777216)"},
		{"a larger budget", func(c *strata.Config) { c.CacheMaxBytes, c.StateMemoryBytes = 100<<20, 256<<20 }, ""},
		// The default cache shrinks to half of a small budget.
		{"default in a small budget", func(c *strata.Config) { c.StateMemoryBytes = 16 << 20 }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base
			tc.change(&cfg)
			_, err := strata.New(top, cfg)
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tc.err != "" && (!errors.Is(err, strata.ErrInvalidConfig) || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("New = %v, want ErrInvalidConfig with %q", err, tc.err)
			}
		})
	}
}

// When a cache flush forwards an entry, what processors downstream write
// carries the entry's time, not that of the last record processed: Kafka
// Streams restores the entry's record context. A deletion at 5 ms and an
// update at 9 ms land in one commit; the deletion, applied to a second
// cached table as the first one flushes, still reaches "out" at 5 ms.
func TestCacheFlushForwardsAtEntryTime(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "in"}, {Name: "out"}}})
	b := topology.NewBuilder()
	first := ktable.From(b, "in", serde.String(), serde.String(), ktable.Named("first"))
	ktable.FromStream(first.ToStream(), ktable.Named("copy")).ToStream().To("out")
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	cfg := testConfig(t, c, "flush-time")
	cfg.CommitInterval = 100 * time.Millisecond
	app, err := strata.New(top, cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := start(t, app)
	at := func(ms int64) time.Time { return time.UnixMilli(ms) }
	if err := c.Produce(ctx, &kgo.Record{Topic: "in", Key: []byte("k1"), Value: []byte("a"), Timestamp: at(1)}); err != nil {
		t.Fatal(err)
	}
	if recs, err := c.Consume(ctx, "out", 1); err != nil {
		t.Fatalf("consume: %v (got %d)", err, len(recs))
	}
	if err := c.Produce(ctx,
		&kgo.Record{Topic: "in", Key: []byte("k1"), Value: nil, Timestamp: at(5)},
		&kgo.Record{Topic: "in", Key: []byte("k2"), Value: []byte("b"), Timestamp: at(9)},
	); err != nil {
		t.Fatal(err)
	}
	recs, err := c.Consume(ctx, "out", 3)
	if err != nil {
		t.Fatalf("consume: %v (got %d)", err, len(recs))
	}
	r.stopAndWait(t)
	for _, rec := range recs[1:] {
		want := map[string]int64{"k1": 5, "k2": 9}[string(rec.Key)]
		if got := rec.Timestamp.UnixMilli(); got != want {
			t.Errorf("%s (value %q) at %d ms, want %d ms: the time of the input record", rec.Key, rec.Value, got, want)
		}
	}
}
