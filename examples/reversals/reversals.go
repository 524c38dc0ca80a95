package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/retry"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
)

// ApplicationID is the worker's application ID: its consumer group, and the
// prefix of its retry topic and dead set.
const ApplicationID = "reversals-example"

// BookingsTopic is where bookings are published, keyed by booking ID.
const BookingsTopic = "reversals-bookings"

// HandlerName names the worker's outcome handler: its retry topic is
// "reversals-example-reverse-reservation-retry".
const HandlerName = "reverse-reservation"

// Booking is a booking as published on BookingsTopic.
type Booking struct {
	ID     string `json:"id"`
	User   string `json:"user"`
	Amount int64  `json:"amount"` // cents reserved in the user's wallet
	Status string `json:"status"` // "confirmed" or "cancelled"
}

// Policy is the worker's retry policy: exponential backoff from 20ms
// (20ms, 40ms, 80ms, with 20% jitter), four calls at most per booking.
func Policy() retry.Policy {
	return retry.Policy{
		Backoff:     retry.Exponential(20*time.Millisecond, 2),
		MaxAttempts: 4,
		MaxDelay:    time.Second,
		Jitter:      0.2,
	}
}

// Topology is the worker: the cancelled bookings of BookingsTopic, each
// reversed by rev's Reverse, retried as policy says, up to concurrency
// calls at once per partition in key order: the booking ID is the key, so
// one booking's calls never overlap and keep their order while many
// bookings' calls wait on the wallet at once.
func Topology(rev *Reverser, policy retry.Policy, concurrency int) (*topology.Topology, error) {
	b := topology.NewBuilder()
	bookings := kstream.From(b, BookingsTopic, serde.String(), serde.JSON[Booking]())
	cancelled := bookings.Filter(func(_ string, bk Booking) bool { return bk.Status == "cancelled" })
	cancelled.Handle(HandlerName, rev.Reverse, kstream.WithRetry(policy),
		kstream.WithConcurrency(concurrency, kstream.OrderByKey))
	return b.Build()
}

// Reverser calls the wallet service to reverse cancelled bookings'
// reservations.
type Reverser struct {
	// URL is the wallet service's base URL.
	URL string
	// Client makes the calls; nil for http.DefaultClient.
	Client *http.Client
}

// Reverse reverses booking's reservation. What became of the call is the
// Outcome: success on 200; a retry on a failed call, a 5xx or a 429 (the
// wallet may answer next time); the dead set on any other answer, which
// retrying will not change (an unknown booking).
func (rv *Reverser) Reverse(ctx context.Context, id string, bk Booking) kstream.Outcome {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rv.URL+"/v1/reservations/"+url.PathEscape(id)+"/reverse", nil)
	if err != nil {
		return kstream.DeadLetter(fmt.Sprintf("bad booking ID %q: %v", id, err))
	}
	cl := rv.Client
	if cl == nil {
		cl = http.DefaultClient
	}
	resp, err := cl.Do(req)
	if err != nil {
		return kstream.Retry(fmt.Errorf("reverse booking %s: %w", id, err))
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	switch {
	case resp.StatusCode == http.StatusOK:
		return kstream.Success()
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return kstream.Retry(fmt.Errorf("reverse booking %s: wallet answered %s", id, resp.Status))
	default:
		return kstream.DeadLetter(fmt.Sprintf("wallet answered %s: %s", resp.Status, bytesTrim(body)))
	}
}

// bytesTrim returns b as text without its trailing newline.
func bytesTrim(b []byte) string {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return string(b)
}
