package main

import (
	"encoding/json"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// T0 is when the sample's first booking is made.
var T0 = time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)

// Event is one record of the sample: its topic, key, value and time.
type Event struct {
	Topic string
	Key   string
	Value any
	At    time.Duration // after T0
}

// Sample is the example's input, in the order it is produced. Customers
// come first, an hour before the rides. Then:
//
//   - b1: booked, paid two minutes later: a receipt for Ann;
//   - b2: booked, paid, cancelled: a receipt for Bob and one reversal;
//   - b3: booked and cancelled, never paid: nothing;
//   - b4: paid 16 minutes after booking, outside the window: nothing;
//   - b5: booked and paid by a customer missing from the table: a receipt
//     without a name;
//   - b6: the payment arrives before the booking: a receipt for Ann;
//   - b7: booked, paid, cancelled 19 minutes after the payment, too late to
//     join it: a receipt for Bob and no reversal.
func Sample() []Event {
	m := time.Minute
	return []Event{
		{CustomersTopic, "c1", Customer{Name: "Ann", Email: "ann@example.com"}, -time.Hour},
		{CustomersTopic, "c2", Customer{Name: "Bob", Email: "bob@example.com"}, -time.Hour},

		{BookingsTopic, "b1", Booking{ID: "b1", CustomerID: "c1", Status: Booked, Fare: 1250}, 0},
		{BookingsTopic, "b2", Booking{ID: "b2", CustomerID: "c2", Status: Booked, Fare: 1800}, 1 * m},
		{PaymentsTopic, "p1", Payment{ID: "p1", BookingID: "b1", Amount: 1250}, 2 * m},
		{PaymentsTopic, "p2", Payment{ID: "p2", BookingID: "b2", Amount: 1800}, 3 * m},
		{BookingsTopic, "b3", Booking{ID: "b3", CustomerID: "c1", Status: Booked, Fare: 900}, 3 * m},
		{BookingsTopic, "b4", Booking{ID: "b4", CustomerID: "c3", Status: Booked, Fare: 2200}, 4 * m},
		{BookingsTopic, "b2", Booking{ID: "b2", CustomerID: "c2", Status: Cancelled, Fare: 1800}, 5 * m},
		{BookingsTopic, "b3", Booking{ID: "b3", CustomerID: "c1", Status: Cancelled, Fare: 900}, 5 * m},
		{BookingsTopic, "b5", Booking{ID: "b5", CustomerID: "c3", Status: Booked, Fare: 700}, 6 * m},
		{PaymentsTopic, "p5", Payment{ID: "p5", BookingID: "b5", Amount: 700}, 7 * m},
		{PaymentsTopic, "p6", Payment{ID: "p6", BookingID: "b6", Amount: 1500}, 8 * m},
		{BookingsTopic, "b6", Booking{ID: "b6", CustomerID: "c1", Status: Booked, Fare: 1500}, 9 * m},
		{BookingsTopic, "b7", Booking{ID: "b7", CustomerID: "c2", Status: Booked, Fare: 1100}, 10 * m},
		{PaymentsTopic, "p7", Payment{ID: "p7", BookingID: "b7", Amount: 1100}, 11 * m},
		{PaymentsTopic, "p4", Payment{ID: "p4", BookingID: "b4", Amount: 2200}, 20 * m},
		{BookingsTopic, "b7", Booking{ID: "b7", CustomerID: "c2", Status: Cancelled, Fare: 1100}, 30 * m},
	}
}

// Records returns events as Kafka records, values encoded as JSON.
func Records(events []Event) []*kgo.Record {
	recs := make([]*kgo.Record, len(events))
	for i, e := range events {
		v, err := json.Marshal(e.Value)
		if err != nil {
			panic(err) // the sample's types always marshal
		}
		recs[i] = &kgo.Record{Topic: e.Topic, Key: []byte(e.Key), Value: v, Timestamp: T0.Add(e.At)}
	}
	return recs
}

// ExpectedReceipts are the receipts the sample produces, by booking ID.
func ExpectedReceipts() []Receipt {
	return []Receipt{
		{BookingID: "b1", Amount: 1250, Name: "Ann", Email: "ann@example.com"},
		{BookingID: "b2", Amount: 1800, Name: "Bob", Email: "bob@example.com"},
		{BookingID: "b5", Amount: 700},
		{BookingID: "b6", Amount: 1500, Name: "Ann", Email: "ann@example.com"},
		{BookingID: "b7", Amount: 1100, Name: "Bob", Email: "bob@example.com"},
	}
}

// ExpectedReversals are the payment reversals the sample produces.
func ExpectedReversals() []Reversal {
	return []Reversal{{BookingID: "b2", PaymentID: "p2", CustomerID: "c2", Amount: 1800}}
}
