package state_test

import (
	"fmt"
	"time"

	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
)

// priceAt keeps the versions of each product's price and prices each
// order at the price valid when the order was placed, whatever the order
// in which prices and orders arrive.
type priceAt struct {
	ctx    topology.Context[string, string]
	prices state.VersionedKeyValueStore[string, int64]
}

func (p *priceAt) Init(ctx topology.Context[string, string]) (err error) {
	p.ctx = ctx
	p.prices, err = state.LookupVersioned[string, int64](ctx, "prices")
	return err
}

// Process reads "price <cents>" and "order" values keyed by product.
func (p *priceAt) Process(r topology.Record[string, string]) error {
	var cents int64
	if _, err := fmt.Sscanf(r.Value, "price %d", &cents); err == nil {
		_, err := p.prices.PutVersion(r.Key, cents, r.Timestamp)
		return err
	}
	v, ok, err := p.prices.GetAsOf(r.Key, r.Timestamp)
	if err != nil || !ok {
		return err
	}
	return p.ctx.Forward(topology.WithValue(r, fmt.Sprintf("%s at %d", r.Value, v.Value)))
}

func (p *priceAt) Close() error { return nil }

// A versioned store answers "what was the value at that time": an order
// placed at 12:05 is priced at the price set at 12:00, even when it is
// processed after the price of 12:10.
func ExampleAddVersionedKeyValueStore() {
	b := topology.NewBuilder()
	state.AddVersionedKeyValueStore(b, "prices", serde.String(), serde.Int64(), 24*time.Hour)
	topology.AddSource(b, "events", topology.Source[string, string]{Topics: []string{"events"}, KeySerde: serde.String(), ValueSerde: serde.String()})
	topology.AddProcessor(b, "price", func() topology.Processor[string, string, string, string] { return &priceAt{} }, "events")
	b.ConnectStores("price", "prices")
	topology.AddSink(b, "priced", topology.Sink[string, string]{Topic: "priced", KeySerde: serde.String(), ValueSerde: serde.String()}, "price")
	top, err := b.Build()
	if err != nil {
		panic(err)
	}

	d := testutil.NewDriver(windowExampleT{}, top, testutil.Config{}) // in a test: pass t
	in := testutil.NewInputTopic(d, "events", serde.String(), serde.String())
	out := testutil.NewOutputTopic(d, "priced", serde.String(), serde.String())
	noon := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	in.PipeAt("tea", "price 300", noon)
	in.PipeAt("tea", "price 350", noon.Add(10*time.Minute))
	in.PipeAt("tea", "order", noon.Add(5*time.Minute))
	in.PipeAt("tea", "order", noon.Add(15*time.Minute))
	for _, v := range out.ReadValues() {
		fmt.Println(v)
	}
	// Output:
	// order at 300
	// order at 350
}
