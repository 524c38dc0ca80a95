package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/testutil"
)

// pipe sends events into the driver in order, at their times.
func pipe(t *testing.T, d *testutil.Driver, events []Event) {
	t.Helper()
	bookings := testutil.NewInputTopic(d, BookingsTopic, serde.String(), serde.JSON[Booking]())
	payments := testutil.NewInputTopic(d, PaymentsTopic, serde.String(), serde.JSON[Payment]())
	customers := testutil.NewInputTopic(d, CustomersTopic, serde.String(), serde.JSON[Customer]())
	for _, e := range events {
		at := T0.Add(e.At)
		switch v := e.Value.(type) {
		case Booking:
			bookings.PipeAt(e.Key, v, at)
		case Payment:
			payments.PipeAt(e.Key, v, at)
		case Customer:
			customers.PipeAt(e.Key, v, at)
		default:
			t.Fatalf("event of unknown type %T", e.Value)
		}
	}
}

func outputs(d *testutil.Driver) (receipts []Receipt, reversals []Reversal) {
	for _, kv := range testutil.NewOutputTopic(d, ReceiptsTopic, serde.String(), serde.JSON[Receipt]()).ReadKeyValues() {
		receipts = append(receipts, kv.Value)
	}
	for _, kv := range testutil.NewOutputTopic(d, ReversalsTopic, serde.String(), serde.JSON[Reversal]()).ReadKeyValues() {
		reversals = append(reversals, kv.Value)
	}
	return receipts, reversals
}

// The sample, through the driver with its topics' partition counts, gives
// exactly the expected receipts and reversals, and nothing else.
func TestSample(t *testing.T) {
	top, err := Topology()
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, topic := range topics {
		counts[topic.Name] = int(topic.Partitions)
	}
	d := testutil.NewDriver(t, top, testutil.Config{ApplicationID: ApplicationID, Partitions: counts})
	pipe(t, d, Sample())
	receipts, reversals := outputs(d)
	sortOutputs(receipts, reversals)
	if got, want := fmt.Sprint(receipts), fmt.Sprint(ExpectedReceipts()); got != want {
		t.Errorf("receipts:\n%s\nwant:\n%s", got, want)
	}
	if got, want := fmt.Sprint(reversals), fmt.Sprint(ExpectedReversals()); got != want {
		t.Errorf("reversals:\n%s\nwant:\n%s", got, want)
	}
}

// A cancellation that arrives before the payment still reverses it, once;
// a second payment of the same cancelled booking is reversed too.
func TestReversalWhateverTheOrder(t *testing.T) {
	top, err := Topology()
	if err != nil {
		t.Fatal(err)
	}
	d := testutil.NewDriver(t, top, testutil.Config{ApplicationID: ApplicationID})
	m := time.Minute
	pipe(t, d, []Event{
		{BookingsTopic, "b1", Booking{ID: "b1", CustomerID: "c1", Status: Cancelled, Fare: 500}, 0},
		{PaymentsTopic, "p1", Payment{ID: "p1", BookingID: "b1", Amount: 500}, 1 * m},
		{PaymentsTopic, "p2", Payment{ID: "p2", BookingID: "b1", Amount: 500}, 2 * m},
	})
	_, reversals := outputs(d)
	want := []Reversal{
		{BookingID: "b1", PaymentID: "p1", CustomerID: "c1", Amount: 500},
		{BookingID: "b1", PaymentID: "p2", CustomerID: "c1", Amount: 500},
	}
	if fmt.Sprint(reversals) != fmt.Sprint(want) {
		t.Errorf("reversals %v, want %v", reversals, want)
	}
}
