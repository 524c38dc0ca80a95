package ktable_test

import (
	"fmt"
	"time"

	"github.com/strata-go/strata/join"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
)

// A versioned table of exchange rates keeps each rate's history, so that a
// payment is converted at the rate of its own time, even when the rate
// that replaced it arrived first.
func ExampleVersioned() {
	b := topology.NewBuilder()
	rates := ktable.From(b, "rates", serde.String(), serde.Float64(), ktable.Versioned(24*time.Hour))
	payments := kstream.From(b, "payments", serde.String(), serde.Float64())
	join.StreamTable(payments, rates, func(_ string, amount, rate float64) string {
		return fmt.Sprintf("%.2f at %.2f", amount*rate, rate)
	}).To("converted")
	top, err := b.Build()
	if err != nil {
		panic(err)
	}

	d := testutil.NewDriver(exampleT{}, top, testutil.Config{}) // in a test: pass t
	r := testutil.NewInputTopic(d, "rates", serde.String(), serde.Float64())
	p := testutil.NewInputTopic(d, "payments", serde.String(), serde.Float64())
	out := testutil.NewOutputTopic(d, "converted", serde.String(), serde.String())
	noon := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	r.PipeAt("EUR", 1.10, noon)
	r.PipeAt("EUR", 1.20, noon.Add(time.Hour))
	p.PipeAt("EUR", 100, noon.Add(30*time.Minute)) // before the new rate
	p.PipeAt("EUR", 100, noon.Add(2*time.Hour))
	for _, v := range out.ReadValues() {
		fmt.Println(v)
	}
	// Output:
	// 110.00 at 1.10
	// 120.00 at 1.20
}
