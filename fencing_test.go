package strata_test

import (
	"context"
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/embedded"
)

// TestFencedInstanceRejoins fences a running exactly-once instance: a
// producer takes its transactional ID, as a second instance started with the
// same InstanceID would, and leaves a transaction of its own aborted. The
// instance's next transaction fails; it drops its uncommitted state,
// initialises its producer again, which fences the intruder in turn, rejoins
// the group and finishes the input. Read_committed readers see every key's
// counts exactly once: 1, 2, ..., its input count, and nothing of the
// intruder's.
func TestFencedInstanceRejoins(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{
		{Name: "in", Partitions: 4}, {Name: "out", Partitions: 4},
	}})
	ctx, cancel := context.WithTimeout(t.Context(), 2*testTimeout)
	defer cancel()
	const keys = 20
	produced := map[string]int64{}
	produce := func(n int) { produceCounting(ctx, t, c, produced, n, keys) }
	cfg := crashConfig(t, c, strata.ExactlyOnce, 0)
	cfg.ApplicationID = "fencing"
	app, err := strata.New(crashTopology(t, func() {}), cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := start(t, app)
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
	if err := waitCounts(ctx, c, produced, true); err != nil {
		t.Fatal(err)
	}
	if n := app.Metrics().Fenced; n != 1 {
		t.Fatalf("Metrics().Fenced = %d, want 1", n)
	}
	// The instance took its transactional ID back: the intruder is
	// fenced now.
	if err := intruder.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	perr := intruder.ProduceSync(ctx, &kgo.Record{Topic: "out", Key: []byte("intruder"), Value: []byte("y")}).FirstErr()
	eerr := intruder.EndTransaction(ctx, kgo.TryCommit)
	if err := errors.Join(perr, eerr); !errors.Is(err, kerr.ProducerFenced) && !errors.Is(err, kerr.InvalidProducerEpoch) {
		t.Fatalf("intruder's transaction after the instance rejoined: %v, want it fenced", err)
	}

	produce(500)
	if err := waitCounts(ctx, c, produced, true); err != nil {
		t.Fatal(err)
	}
	r.stopAndWait(t)
	checkCountSequences(t, strata.ExactlyOnce, produced, readUntilMarker(t, c, "out", "marker"))
}
