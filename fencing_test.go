package strata_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/embedded"
)

// TestFencedInstanceStopsWriting fences a running exactly-once instance: a
// producer takes its transactional ID, as a second instance started with
// the same InstanceID would. The fenced instance's next commit fails; it
// stops with the error and commits nothing more. Started again, it fences
// the intruder in turn and finishes the input, and read_committed readers
// see every key's counts exactly once: 1, 2, ..., its input count.
func TestFencedInstanceStopsWriting(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{
		{Name: "in", Partitions: 4}, {Name: "out", Partitions: 4},
	}})
	ctx, cancel := context.WithTimeout(t.Context(), 2*testTimeout)
	defer cancel()
	const keys = 20
	produced := map[string]int64{}
	produce := func(n int) {
		t.Helper()
		recs := make([]*kgo.Record, n)
		for i := range recs {
			k := fmt.Sprintf("k%02d", i%keys)
			recs[i] = &kgo.Record{Topic: "in", Key: []byte(k), Value: []byte("x")}
			produced[k]++
		}
		if err := c.Produce(ctx, recs...); err != nil {
			t.Fatal(err)
		}
	}
	cfg := crashConfig(t, c, strata.ExactlyOnce, 0)
	cfg.ApplicationID = "fencing"
	newApp := func() *strata.App {
		app, err := strata.New(crashTopology(t, func() {}), cfg)
		if err != nil {
			t.Fatal(err)
		}
		return app
	}

	first := newApp()
	r := start(t, first)
	produce(500)
	if err := waitCounts(ctx, c, produced, true); err != nil {
		t.Fatal(err)
	}

	// The intruder initialises a producer under the instance's
	// transactional ID, which bumps its epoch: the instance is fenced.
	intruder, err := c.Client(kgo.TransactionalID(cfg.ApplicationID + "-" + cfg.InstanceID))
	if err != nil {
		t.Fatal(err)
	}
	defer intruder.Close()
	if err := intruder.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := intruder.ProduceSync(ctx, &kgo.Record{Topic: "out", Key: []byte("intruder"), Value: []byte("x")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if err := intruder.EndTransaction(ctx, kgo.TryAbort); err != nil {
		t.Fatal(err)
	}

	produce(500)
	err = r.wait(t)
	if !errors.Is(err, kerr.ProducerFenced) {
		t.Fatalf("fenced instance: Run = %v, want an error wrapping kerr.ProducerFenced", err)
	}
	t.Logf("fenced instance stopped: %v", err)

	second := newApp()
	r = start(t, second)
	produce(500)
	if err := waitCounts(ctx, c, produced, true); err != nil {
		t.Fatal(err)
	}
	r.stopAndWait(t)
	checkCountSequences(t, strata.ExactlyOnce, produced, readUntilMarker(t, c, "out", "marker"))
}
