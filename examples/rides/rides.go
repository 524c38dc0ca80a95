package main

import (
	"fmt"
	"time"

	"github.com/strata-go/strata/join"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
)

// The topics the example reads and writes.
const (
	// BookingsTopic holds booking events keyed by booking ID.
	BookingsTopic = "rides-bookings"
	// PaymentsTopic holds payment events keyed by payment ID, as the
	// payment service writes them.
	PaymentsTopic = "rides-payments"
	// CustomersTopic is a compacted topic of customers keyed by ID.
	CustomersTopic = "rides-customers"
	// ReversalsTopic receives one payment-reversal command for each
	// cancelled booking that was paid, keyed by booking ID.
	ReversalsTopic = "rides-payment-reversals"
	// ReceiptsTopic receives a receipt for each paid ride, keyed by
	// customer ID.
	ReceiptsTopic = "rides-receipts"
)

// PaymentWindow is how far apart a booking event and its payment may be.
const PaymentWindow = 10 * time.Minute

// Grace is how late an event may arrive and still join.
const Grace = time.Minute

// Booking statuses.
const (
	Booked    = "booked"
	Cancelled = "cancelled"
)

// Booking is an event of a booking's life: booked, then maybe cancelled.
type Booking struct {
	ID         string `json:"id"`
	CustomerID string `json:"customer_id"`
	Status     string `json:"status"`
	Fare       int64  `json:"fare_cents"`
}

// Payment is a payment made for a booking.
type Payment struct {
	ID        string `json:"id"`
	BookingID string `json:"booking_id"`
	Amount    int64  `json:"amount_cents"`
}

// Customer is a row of the customer table.
type Customer struct {
	Name  string `json:"name"`
	Email string `json:"email"`
}

// Reversal is the command to pay a customer back.
type Reversal struct {
	BookingID  string `json:"booking_id"`
	PaymentID  string `json:"payment_id"`
	CustomerID string `json:"customer_id"`
	Amount     int64  `json:"amount_cents"`
}

// PaidRide is a booking together with its payment.
type PaidRide struct {
	Booking Booking `json:"booking"`
	Payment Payment `json:"payment"`
}

// Receipt is a paid ride enriched with its customer's details; Name and
// Email are empty when the customer is not in the table.
type Receipt struct {
	BookingID string `json:"booking_id"`
	Amount    int64  `json:"amount_cents"`
	Name      string `json:"name"`
	Email     string `json:"email"`
}

// Topology builds the rides pipeline:
//
//   - payments are re-keyed by booking ID (through a repartition topic,
//     co-partitioned with the bookings);
//   - a cancelled booking joined with a payment within PaymentWindow is a
//     Reversal;
//   - a booked booking joined with a payment within PaymentWindow is a
//     PaidRide, which is re-keyed by customer ID (another repartition) and
//     joined with the customer table into a Receipt. The table restores
//     from the compacted customer topic itself: it needs no changelog.
func Topology() (*topology.Topology, error) {
	b := topology.NewBuilder()
	bookings := kstream.From(b, BookingsTopic, serde.String(), serde.JSON[Booking]())
	payments := kstream.From(b, PaymentsTopic, serde.String(), serde.JSON[Payment]())
	// The customer topic is compacted: it serves as the table's changelog.
	customers := ktable.From(b, CustomersTopic, serde.String(), serde.JSON[Customer](),
		ktable.Named("customers"), ktable.SourceAsChangelog())

	// One repartition serves both joins below.
	byBooking := kstream.SelectKey(payments, func(_ string, p Payment) string { return p.BookingID }).
		Repartition(kstream.Named("payments-by-booking"))
	window := join.Within(PaymentWindow, Grace)

	cancelled := bookings.Filter(func(_ string, bk Booking) bool { return bk.Status == Cancelled })
	reversals := join.Streams(cancelled, byBooking, window, func(id string, bk Booking, p Payment) Reversal {
		return Reversal{BookingID: id, PaymentID: p.ID, CustomerID: bk.CustomerID, Amount: p.Amount}
	}, join.Named("cancelled-and-paid"))
	reversals.To(ReversalsTopic, kstream.WithSerdes(serde.String(), serde.JSON[Reversal]()))

	booked := bookings.Filter(func(_ string, bk Booking) bool { return bk.Status == Booked })
	paid := join.Streams(booked, byBooking, window, func(_ string, bk Booking, p Payment) PaidRide {
		return PaidRide{Booking: bk, Payment: p}
	}, join.Named("booked-and-paid"), join.WithValueSerdes(serde.JSON[Booking](), serde.JSON[Payment]()))
	byCustomer := kstream.SelectKey(paid, func(_ string, r PaidRide) string { return r.Booking.CustomerID })
	receipts := join.StreamTableLeft(byCustomer, customers, func(_ string, r PaidRide, c *Customer) Receipt {
		rc := Receipt{BookingID: r.Booking.ID, Amount: r.Payment.Amount}
		if c != nil {
			rc.Name, rc.Email = c.Name, c.Email
		}
		return rc
	}, join.Named("receipts"), join.WithValueSerdes(serde.JSON[PaidRide](), serde.JSON[Customer]()))
	receipts.To(ReceiptsTopic, kstream.WithSerdes(serde.String(), serde.JSON[Receipt]()))

	top, err := b.Build()
	if err != nil {
		return nil, fmt.Errorf("build the rides topology: %w", err)
	}
	return top, nil
}
