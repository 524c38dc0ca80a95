package strata_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/embedded"
	"github.com/strata-go/strata/join"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
)

// TestStreamTableJoinWaitsForLaggingTable runs a stream-table left join whose
// table topic holds many updates, fetched one batch at a time, all older
// than the stream records, which come in one batch. Each stream record must
// join its key's last update, as in the test driver, where every record is
// there before the next one is processed: the task holds the stream records
// back while the table's partition is known to hold more than was fetched
// (Config.MaxTaskIdle's default, Kafka Streams' KIP-695). Without the wait
// (MaxTaskIdle negative) every stream record joined an older value in 15 of
// 20 runs of this scenario, and none in the others, which fetched the
// stream's batch last.
func TestStreamTableJoinWaitsForLaggingTable(t *testing.T) {
	for _, g := range []strata.Guarantee{strata.AtLeastOnce, strata.ExactlyOnce} {
		t.Run(g.String(), func(t *testing.T) {
			if stale := joinAgainstLaggingTable(t, g, true); stale != 0 {
				t.Fatalf("%d stream records joined an older table value", stale)
			}
		})
	}
}

// joinAgainstLaggingTable runs the join once and returns how many stream
// records joined an older table value than their key's last. Under
// exactly-once a commit is put off while the task waits, as the session
// commits the offsets of every record polled.
func joinAgainstLaggingTable(t *testing.T, g strata.Guarantee, wait bool) int {
	const keys, rounds = 50, 100
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{
		{Name: "table", Partitions: 1}, {Name: "stream", Partitions: 1}, {Name: "out", Partitions: 1},
	}})
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	base := time.UnixMilli(1_000_000)
	// The table: rounds of one update per key, each round its own
	// produce call and so its own batch, all before the stream's time.
	for round := range rounds {
		recs := make([]*kgo.Record, keys)
		for k := range recs {
			recs[k] = &kgo.Record{Topic: "table", Key: fmt.Appendf(nil, "k%02d", k), Value: fmt.Appendf(nil, "r%03d", round), Timestamp: base.Add(time.Duration(round) * time.Millisecond)}
		}
		if err := c.Produce(ctx, recs...); err != nil {
			t.Fatal(err)
		}
	}
	stream := make([]*kgo.Record, keys)
	for k := range stream {
		stream[k] = &kgo.Record{Topic: "stream", Key: fmt.Appendf(nil, "k%02d", k), Value: []byte("s"), Timestamp: base.Add(time.Hour)}
	}
	if err := c.Produce(ctx, stream...); err != nil {
		t.Fatal(err)
	}

	b := topology.NewBuilder()
	s := kstream.From(b, "stream", serde.String(), serde.String())
	tbl := ktable.From(b, "table", serde.String(), serde.String())
	join.StreamTableLeft(s, tbl, func(_ string, sv string, tv *string) string {
		if tv == nil {
			return sv + "+none"
		}
		return sv + "+" + *tv
	}).To("out")
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, c, "idle")
	cfg.Guarantee = g
	if !wait {
		cfg.MaxTaskIdle = -1
	}
	// One batch per partition per fetch: the table arrives in a hundred
	// fetches, the stream's one batch with the first.
	cfg.ClientOptions = append(cfg.ClientOptions, kgo.FetchMaxPartitionBytes(1))
	app, err := strata.New(top, cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := start(t, app)
	out := readN(ctx, t, c, "out", keys)
	r.stopAndWait(t)
	stale := 0
	last := fmt.Sprintf("s+r%03d", rounds-1)
	for _, rec := range out {
		if string(rec.Value) != last {
			stale++
		}
	}
	t.Logf("wait=%v: %d of %d stream records joined an older table value (last is %q)", wait, stale, keys, last)
	return stale
}

// readN reads topic from the start, read_committed, until it has n records.
func readN(ctx context.Context, t *testing.T, c *embedded.Cluster, topic string, n int) []*kgo.Record {
	t.Helper()
	cl, err := c.Client(kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.FetchMaxWait(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var out []*kgo.Record
	for len(out) < n {
		f := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %s: %d of %d records: %v", topic, len(out), n, ctx.Err())
		}
		out = append(out, f.Records()...)
	}
	return out
}
