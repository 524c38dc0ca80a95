package topology_test

import (
	"fmt"
	"time"

	"github.com/strata-go/strata/internal/testkit"
	"github.com/strata-go/strata/join"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
	"github.com/strata-go/strata/window"
)

// The types of the payments application.
type (
	// Payment is a payment into an account, keyed by its ID.
	Payment struct {
		ID, Account string
		Cents       int64
	}
	// Account is a row of the accounts table, keyed by account.
	Account struct{ Holder string }
	// Check is the fraud check of a payment, keyed by the payment's ID.
	Check struct{ Approved bool }
	// Receipt is a payment with its account's holder.
	Receipt struct {
		Payment Payment
		Holder  string
	}
	// Cleared is a receipt with the outcome of its check.
	Cleared struct {
		Receipt  Receipt
		Approved bool
	}
)

// registerPaymentSerdes registers one serde per type of the payments
// application.
func registerPaymentSerdes(b *topology.Builder) {
	topology.RegisterSerde(b, serde.JSON[Payment]())
	topology.RegisterSerde(b, serde.JSON[Account]())
	topology.RegisterSerde(b, serde.JSON[Check]())
	topology.RegisterSerde(b, serde.JSON[Receipt]())
	topology.RegisterSerde(b, serde.JSON[Cleared]())
}

// paymentsApp adds the payments application to b: a processor keys payments
// by account; a stream-table join names each account's holder; a windowed
// aggregation totals each account's payments per minute; a stream-stream
// join clears each receipt with its payment's check. No operation is given
// a serde: they come from the builder.
func paymentsApp(b *topology.Builder) {
	payments := kstream.From[string, Payment](b, "payments", nil, nil)
	accounts := ktable.From[string, Account](b, "accounts", nil, nil)
	checks := kstream.From[string, Check](b, "checks", nil, nil)

	byAccount := kstream.Process(payments, newByAccount)

	receipts := join.StreamTable(byAccount, accounts, func(_ string, p Payment, a Account) Receipt {
		return Receipt{Payment: p, Holder: a.Holder}
	})

	perMinute := ktable.WindowedBy(ktable.GroupByKey(byAccount), window.Tumbling(time.Minute, 0))
	totals := ktable.AggregateWindows(perMinute,
		func() int64 { return 0 },
		func(_ string, p Payment, sum int64) int64 { return sum + p.Cents })
	kstream.Map(totals.ToStream(), func(w window.Windowed[string], sum int64) (string, int64) {
		return w.String(), sum
	}).To("totals")

	byPayment := kstream.SelectKey(receipts, func(_ string, r Receipt) string { return r.Payment.ID })
	cleared := join.Streams(byPayment, checks, join.Within(5*time.Minute, 0),
		func(_ string, r Receipt, c Check) Cleared { return Cleared{Receipt: r, Approved: c.Approved} })
	cleared.To("cleared")
}

// byAccount keys payments by account and drops those without an amount.
type byAccount struct {
	ctx topology.Context[string, Payment]
}

func newByAccount() topology.Processor[string, Payment, string, Payment] { return &byAccount{} }

func (p *byAccount) Init(ctx topology.Context[string, Payment]) error { p.ctx = ctx; return nil }

func (p *byAccount) Process(r topology.Record[string, Payment]) error {
	if r.Value.Cents <= 0 {
		return nil
	}
	return p.ctx.Forward(topology.WithKey(r, r.Value.Account))
}

func (p *byAccount) Close() error { return nil }

// exampleT stands in for the *testing.T that a test passes to
// testutil.NewDriver, so that the examples can run the driver.
type exampleT = testkit.T

// A payments application declares the serde of each of its types once, on
// the builder; the sources, the repartition topics, the join and
// aggregation stores and the sinks all take them from there (see
// paymentsApp in this file for the topology).
func ExampleRegisterSerde() {
	b := topology.NewBuilder()
	topology.RegisterSerde(b, serde.JSON[Payment]())
	topology.RegisterSerde(b, serde.JSON[Account]())
	topology.RegisterSerde(b, serde.JSON[Check]())
	topology.RegisterSerde(b, serde.JSON[Receipt]())
	topology.RegisterSerde(b, serde.JSON[Cleared]())
	paymentsApp(b)
	top, err := b.Build()
	if err != nil {
		panic(err)
	}

	// The driver's topics take the topology's serdes too.
	d := testutil.NewDriver(exampleT{}, top, testutil.Config{}) // in a test: pass t
	accounts := testutil.NewInputTopic[string, Account](d, "accounts", nil, nil)
	payments := testutil.NewInputTopic[string, Payment](d, "payments", nil, nil)
	checks := testutil.NewInputTopic[string, Check](d, "checks", nil, nil)
	totals := testutil.NewOutputTopic[string, int64](d, "totals", nil, nil)
	cleared := testutil.NewOutputTopic[string, Cleared](d, "cleared", nil, nil)

	t0 := time.UnixMilli(0)
	accounts.PipeAt("acc-1", Account{Holder: "Ada"}, t0)
	payments.PipeAt("p1", Payment{ID: "p1", Account: "acc-1", Cents: 500}, t0.Add(10*time.Second))
	payments.PipeAt("p2", Payment{ID: "p2", Account: "acc-1", Cents: 250}, t0.Add(20*time.Second))
	checks.PipeAt("p1", Check{Approved: true}, t0.Add(30*time.Second))
	for _, kv := range totals.ReadKeyValues() {
		fmt.Println(kv.Key, kv.Value)
	}
	for _, kv := range cleared.ReadKeyValues() {
		fmt.Println(kv.Key, kv.Value.Receipt.Holder, kv.Value.Receipt.Payment.Cents, kv.Value.Approved)
	}
	// Output:
	// [acc-1@0/60000] 500
	// [acc-1@0/60000] 750
	// p1 Ada 500 true
}
