package strata_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/embedded"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/topology"
)

// ticker counts wall-clock punctuations in a key-value store and forwards
// each count: output that no input record causes.
type ticker struct {
	ctx   topology.Context[string, string]
	ticks state.KeyValueStore[string, int64]
}

func (p *ticker) Init(ctx topology.Context[string, string]) error {
	p.ctx = ctx
	s, err := state.LookupKeyValue[string, int64](ctx, "ticks")
	if err != nil {
		return err
	}
	p.ticks = s
	_, err = ctx.Schedule(5*time.Millisecond, topology.WallClockTime, p.tick)
	return err
}

func (p *ticker) tick(now time.Time) error {
	n, _, err := p.ticks.Get("n")
	if err != nil {
		return err
	}
	n++
	if err := p.ticks.Put("n", n); err != nil {
		return err
	}
	return p.ctx.Forward(topology.Record[string, string]{Key: "tick", Value: strconv.FormatInt(n, 10), Timestamp: now})
}

func (p *ticker) Process(topology.Record[string, string]) error { return nil }
func (p *ticker) Close() error                                  { return nil }

// TestExactlyOncePunctuationOnlyOutput: under exactly-once, transactions
// that hold only a wall-clock punctuator's output and store writes (no
// input record, so no offset moves) commit: the committed output counts
// 1, 2, 3... with no gap and no repeat, across a restart that restores the
// store from its changelog. A transaction the client aborted while the
// runtime took it as committed would leave a gap (the store, committed
// locally, ahead of the changelog and output), and one committed twice a
// repeat.
func TestExactlyOncePunctuationOnlyOutput(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "in"}, {Name: "out"}}})
	b := topology.NewBuilder()
	state.AddKeyValueStore(b, "ticks", serde.String(), serde.Int64())
	kstream.Process(kstream.From(b, "in", serde.String(), serde.String()),
		func() topology.Processor[string, string, string, string] { return &ticker{} },
		kstream.Named("ticker"), kstream.WithStores("ticks")).
		To("out", kstream.WithSerdes(serde.String(), serde.String()))
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	run := func(want int) {
		t.Helper()
		app, err := strata.New(top, strata.Config{
			ApplicationID: "eos-ticks",
			Brokers:       c.Addrs(),
			Guarantee:     strata.ExactlyOnce,
			StateDir:      t.TempDir(), // a new one each run: the count comes back from the changelog
			Logger:        testLogger(t),
		})
		if err != nil {
			t.Fatal(err)
		}
		runUntil(t, c, app, want)
	}
	// One input record, which the ticker ignores, gives the input a
	// committed offset, which each transaction commits again: a
	// transaction committing no offset makes franz-go hold the next one
	// back 500 ms (processedOffsets).
	produceKeys(t, c, []string{"k"})
	run(20)
	run(40)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	recs, err := c.Consume(ctx, "out", 40)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range recs {
		if got, want := string(r.Value), fmt.Sprint(i+1); got != want {
			t.Fatalf("committed output %d is tick %s, want %s (a gap or a repeat)", i, got, want)
		}
	}
}
