package join_test

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/embedded"
	"github.com/strata-go/strata/join"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
)

// TestStreamsLeftRestoresOnKafka runs a left join on kfake, stops it with a
// matched pair half done and a left record waiting for a partner, and
// starts it again with an empty state directory: the window stores and the
// outer store come back from their changelogs, so the pair completes and
// the waiting record comes out once its window closes, with another one of
// the same key and time, kept with it after the restore.
func TestStreamsLeftRestoresOnKafka(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{
		{Name: "left", Partitions: 1}, {Name: "right", Partitions: 1}, {Name: "out", Partitions: 1},
	}})
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	t0 := time.UnixMilli(1_700_000_000_000)
	rec := func(topic, k, v string, at time.Duration) *kgo.Record {
		return &kgo.Record{Topic: topic, Key: []byte(k), Value: []byte(v), Timestamp: t0.Add(at)}
	}

	// run starts the join, produces each batch of records and waits until
	// the join has seen them all before the next (a task picks records
	// from its two partitions as they come), then stops it.
	run := func(batches ...[]*kgo.Record) {
		t.Helper()
		seen := make(chan struct{}, 16)
		note := func(string, string) { seen <- struct{}{} }
		b := topology.NewBuilder()
		l := kstream.From(b, "left", serde.String(), serde.String()).Peek(note)
		r := kstream.From(b, "right", serde.String(), serde.String()).Peek(note)
		join.StreamsLeft(l, r, join.Within(time.Second, 0), func(_, a string, b *string) string {
			if b == nil {
				return a + "+null"
			}
			return a + "+" + *b
		}, join.Named("j")).To("out")
		top, err := b.Build()
		if err != nil {
			t.Fatal(err)
		}
		app, err := strata.New(top, strata.Config{
			ApplicationID:  "ssjoin",
			Brokers:        c.Addrs(),
			StateDir:       t.TempDir(), // empty: the stores restore
			CommitInterval: 100 * time.Millisecond,
			Logger:         slog.New(slog.DiscardHandler),
			ClientOptions:  []kgo.Opt{kgo.FetchMaxWait(200 * time.Millisecond)},
		})
		if err != nil {
			t.Fatal(err)
		}
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- app.Run(runCtx) }()
		for _, recs := range batches {
			if err := c.Produce(ctx, recs...); err != nil {
				t.Fatal(err)
			}
			for range recs {
				select {
				case <-seen:
				case <-ctx.Done():
					t.Fatal("the join did not see every record")
				}
			}
		}
		stop()
		if err := <-done; err != nil {
			t.Fatalf("Run: %v", err)
		}
	}

	run([]*kgo.Record{rec("left", "k1", "A", 0), rec("left", "k3", "B", 0)})
	// C joins x; the results before it are all there are.
	run([]*kgo.Record{rec("left", "k1", "A2", 0)},
		[]*kgo.Record{rec("right", "k3", "b", 100*time.Millisecond), rec("right", "k2", "x", 5*time.Second)},
		[]*kgo.Record{rec("left", "k2", "C", 5*time.Second)})
	out, err := c.Consume(ctx, "out", 4)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range out {
		got = append(got, string(r.Key)+":"+string(r.Value))
	}
	if want := []string{"k3:B+b", "k1:A+null", "k1:A2+null", "k2:C+x"}; !slices.Equal(got, want) {
		t.Fatalf("out: %q, want %q", got, want)
	}
}
