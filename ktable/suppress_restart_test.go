package ktable_test

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
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/topology"
)

// TestSuppressBufferSurvivesRestart runs a time-limited suppression on
// Kafka (kfake), stops it with updates still held back, wipes its local
// state, and starts it again: the buffer comes back from its changelog, and
// the held-back updates are emitted when stream time moves on.
func TestSuppressBufferSurvivesRestart(t *testing.T) {
	for _, tc := range []struct {
		name  string
		store []state.Option
	}{
		{"pebble", nil},
		{"in-memory", []state.Option{state.InMemory()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{
				{Name: "input", Partitions: 1}, {Name: "raw", Partitions: 1}, {Name: "output", Partitions: 1},
			}})
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			stateDir := t.TempDir()
			newApp := func() *strata.App {
				b := topology.NewBuilder()
				table := ktable.From(b, "input", serde.String(), serde.String(), ktable.Named("rows"), uncachedRows)
				table.ToStream().To("raw")
				table.Suppress(ktable.UntilTimeLimit(10*time.Millisecond, ktable.Unbounded()),
					ktable.Named("held"), ktable.WithStoreOptions(tc.store...)).ToStream().To("output")
				top := mustBuild(t, b)
				app, err := strata.New(top, strata.Config{
					ApplicationID:  "suppress-restart",
					Brokers:        c.Addrs(),
					StateDir:       stateDir,
					CommitInterval: 100 * time.Millisecond,
					Logger:         slog.New(slog.DiscardHandler),
				})
				if err != nil {
					t.Fatal(err)
				}
				return app
			}
			produce := func(key, value string, ts int64) {
				t.Helper()
				if err := c.Produce(ctx, &kgo.Record{Topic: "input", Key: []byte(key), Value: []byte(value), Timestamp: time.UnixMilli(ts)}); err != nil {
					t.Fatal(err)
				}
			}
			// run runs an app until topic holds want records, then stops it
			// cleanly, and returns them.
			run := func(topic string, want int) []*kgo.Record {
				t.Helper()
				app := newApp()
				rctx, stop := context.WithCancel(ctx)
				errc := make(chan error, 1)
				go func() { errc <- app.Run(rctx) }()
				recs, err := c.Consume(ctx, topic, want)
				stop()
				if runErr := <-errc; runErr != nil {
					t.Fatalf("Run: %v", runErr)
				}
				if err != nil {
					t.Fatalf("consume %s: %v", topic, err)
				}
				return recs
			}

			// Run 1 buffers three updates, none due.
			produce("A", "a", 0)
			produce("B", "b", 1)
			produce("A", "a2", 5)
			run("raw", 3)

			// Run 2 starts from the changelog alone: stream time 20 makes
			// every buffered update due.
			if err := os.RemoveAll(stateDir); err != nil {
				t.Fatal(err)
			}
			produce("C", "c", 20)
			var got []string
			for _, r := range run("output", 2) {
				got = append(got, fmt.Sprintf("%s:%s@%d", r.Key, r.Value, r.Timestamp.UnixMilli()))
			}
			sameList(t, "output after the restart", got, "A:a2@5", "B:b@1")
		})
	}
}
