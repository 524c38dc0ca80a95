package kstream_test

import (
	"fmt"

	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
)

// runningTotal keeps each key's total in the store "totals" and forwards
// it: a stateful processor that changes values, never keys.
type runningTotal struct {
	ctx    topology.FixedKeyContext[string, int64]
	totals state.KeyValueStore[string, int64]
}

func (p *runningTotal) Init(ctx topology.FixedKeyContext[string, int64]) error {
	p.ctx = ctx
	s, err := state.LookupKeyValue[string, int64](ctx, "totals")
	p.totals = s
	return err
}

func (p *runningTotal) Process(r topology.FixedKeyRecord[string, int64]) error {
	sum, _, err := p.totals.Get(r.Key())
	if err != nil {
		return err
	}
	sum += r.Value
	if err := p.totals.Put(r.Key(), sum); err != nil {
		return err
	}
	return p.ctx.Forward(topology.FixedKeyWithValue(r, sum))
}

func (p *runningTotal) Close() error { return nil }

// ProcessValues runs a processor that cannot change keys, so the stream
// keeps its partitioning: a join or aggregation after it needs no
// repartition topic.
func ExampleProcessValues() {
	b := topology.NewBuilder()
	state.AddKeyValueStore(b, "totals", serde.String(), serde.Int64())
	amounts := kstream.From(b, "amounts", serde.String(), serde.Int64())
	kstream.ProcessValues(amounts, func() topology.FixedKeyProcessor[string, int64, int64] { return &runningTotal{} },
		kstream.WithStores("totals")).To("totals")
	top, err := b.Build()
	if err != nil {
		panic(err)
	}

	d := testutil.NewDriver(exampleT{}, top, testutil.Config{}) // in a test: pass t
	in := testutil.NewInputTopic(d, "amounts", serde.String(), serde.Int64())
	out := testutil.NewOutputTopic(d, "totals", serde.String(), serde.Int64())
	in.PipeKeyValues(testutil.KV("ann", int64(5)), testutil.KV("bob", int64(7)), testutil.KV("ann", int64(10)))
	for _, kv := range out.ReadKeyValues() {
		fmt.Println(kv.Key, kv.Value)
	}
	// Output:
	// ann 5
	// bob 7
	// ann 15
}
