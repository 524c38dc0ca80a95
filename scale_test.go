package strata_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/embedded"
)

// TestScaleOutAndIn counts per key over 8 partitions under exactly-once
// while the application grows from one instance to three and shrinks back
// to one, a third of the input produced at each size. Tasks move by
// restoration: the instances that join restore the tasks they take over,
// and the one that stays restores the tasks it gets back. Every key's
// counts, read_committed, are exactly 1, 2, ..., its input count.
func TestScaleOutAndIn(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{
		{Name: "in", Partitions: crashPartitions}, {Name: "out", Partitions: crashPartitions},
	}})
	ctx, cancel := context.WithTimeout(t.Context(), 2*testTimeout)
	defer cancel()
	const n, keys = 3000, 40
	var all []string
	for i := range n {
		all = append(all, fmt.Sprintf("k%02d", i%keys))
	}
	thirds := slices.Collect(slices.Chunk(all, n/3))
	// produce writes a third of the input and waits until the outputs
	// count everything produced so far.
	produced := map[string]int64{}
	produce := func(keys []string) {
		t.Helper()
		recs := make([]*kgo.Record, len(keys))
		for i, k := range keys {
			recs[i] = &kgo.Record{Topic: "in", Key: []byte(k), Value: []byte("x")}
			produced[k]++
		}
		if err := c.Produce(ctx, recs...); err != nil {
			t.Fatal(err)
		}
		if err := waitCounts(ctx, c, produced, true); err != nil {
			t.Fatalf("outputs did not reach the counts of the input so far: %v", err)
		}
	}
	newApp := func(i int) *strata.App {
		cfg := crashConfig(t, c, strata.ExactlyOnce, i)
		cfg.ApplicationID = "scale"
		// The newcomers stop for good: they leave the group, so that
		// their tasks go back at once, not when their static members'
		// sessions time out.
		cfg.LeaveGroupOnStop = i > 0
		app, err := strata.New(crashTopology(t, func() {}), cfg)
		if err != nil {
			t.Fatal(err)
		}
		return app
	}

	a := newApp(0)
	ra := start(t, a)
	produce(thirds[0])
	restoredA := a.Metrics().RestoredRecords

	b, cApp := newApp(1), newApp(2)
	rb, rc := start(t, b), start(t, cApp)
	// Both newcomers must have taken tasks, and so restored their state,
	// before they leave: the second third goes in small batches, and
	// more input follows until each newcomer has processed some.
	for batch := range slices.Chunk(thirds[1], 50) {
		produce(batch)
	}
	for extra := 0; b.Metrics().Processed == 0 || cApp.Metrics().Processed == 0; extra++ {
		if ctx.Err() != nil {
			t.Fatalf("the new instances never processed anything: %v", ctx.Err())
		}
		produce([]string{fmt.Sprintf("k%02d", extra%keys)})
	}
	rb.stopAndWait(t)
	rc.stopAndWait(t)
	produce(thirds[2])
	ra.stopAndWait(t)

	if got := b.Metrics().RestoredRecords + cApp.Metrics().RestoredRecords; got == 0 {
		t.Error("the instances that joined restored nothing: tasks moved without their state")
	}
	if got := a.Metrics().RestoredRecords - restoredA; got == 0 {
		t.Error("the remaining instance restored nothing when it took its tasks back")
	}
	t.Logf("restored: a %d (after the first third: %d), b %d, c %d; processed: a %d, b %d, c %d",
		a.Metrics().RestoredRecords, restoredA, b.Metrics().RestoredRecords, cApp.Metrics().RestoredRecords,
		a.Metrics().Processed, b.Metrics().Processed, cApp.Metrics().Processed)
	checkCountSequences(t, strata.ExactlyOnce, produced, readUntilMarker(t, c, "out", "marker"))
}
