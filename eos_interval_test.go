package strata_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/embedded"
)

// TestExactlyOnceTransactionSpansCommitInterval checks how exactly-once
// transactions are cut. With a CommitInterval of an hour, the 200 records
// an instance counts, ten per poll, stay in one open transaction: nothing
// is committed. A second instance joining makes a rebalance wait for that
// transaction, which the first instance then commits at once instead of at
// the end of the interval: its counts become visible to read_committed
// readers. After more input, the first instance stops and the second, with
// the default interval, finishes; every key's counts are read exactly once.
func TestExactlyOnceTransactionSpansCommitInterval(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{
		{Name: "in", Partitions: 4}, {Name: "out", Partitions: 4},
	}})
	ctx, cancel := context.WithTimeout(t.Context(), 2*testTimeout)
	defer cancel()
	const keys, batch = 20, 200
	produced := map[string]int64{}
	produce := func(n int) { produceCounting(ctx, t, c, produced, n, keys) }
	var counted atomic.Int64
	firstBatch := make(chan struct{})
	each := func() {
		if counted.Add(1) == batch {
			close(firstBatch)
		}
	}
	newApp := func(i int, interval time.Duration) *strata.App {
		cfg := crashConfig(t, c, strata.ExactlyOnce, i)
		cfg.ApplicationID = "eos-interval"
		cfg.MaxPollRecords = 10
		cfg.CommitInterval = interval
		app, err := strata.New(crashTopology(t, each), cfg)
		if err != nil {
			t.Fatal(err)
		}
		return app
	}

	first := newApp(0, time.Hour)
	r1 := start(t, first)
	produce(batch)
	select {
	case <-firstBatch:
	case <-ctx.Done():
		t.Fatalf("counted %d of %d records", counted.Load(), batch)
	}
	if n := first.Metrics().Commits; n != 0 {
		t.Fatalf("after %d records in polls of 10: %d commits, want 0 (one open transaction)", batch, n)
	}

	second := newApp(1, 0)
	r2 := start(t, second)
	// Visible only once the first instance commits, which the
	// rebalance, not the interval, makes it do.
	if err := waitCounts(ctx, c, produced, true); err != nil {
		t.Fatal(err)
	}
	if n := first.Metrics().Commits; n < 1 {
		t.Fatalf("first instance: %d commits after its output became visible", n)
	}

	produce(batch)
	r1.stopAndWait(t)
	if err := waitCounts(ctx, c, produced, true); err != nil {
		t.Fatal(err)
	}
	r2.stopAndWait(t)
	checkCountSequences(t, strata.ExactlyOnce, produced, readUntilMarker(t, c, "out", "marker"))
}
