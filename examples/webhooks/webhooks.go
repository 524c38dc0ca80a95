package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/strata-go/strata/join"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/retry"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
)

// ApplicationID is the dispatcher's application ID: its consumer group,
// and the prefix of its retry topic ("webhooks-example-deliver-retry") and
// dead set ("webhooks-example-dead-letter").
const ApplicationID = "webhooks-example"

// Topics the example reads.
const (
	// EventsTopic holds the events of every type, keyed by the entity
	// they are about (a customer ID here): a subscriber sees one key's
	// events in the order they were published.
	EventsTopic = "webhooks-events"
	// SubscriptionsTopic is the routing table: keyed by event type, each
	// value the names of the type's subscribers (a JSON array). A new
	// record for a type replaces its subscribers; a tombstone or an empty
	// array leaves it with none.
	SubscriptionsTopic = "webhooks-subscriptions"
)

// HandlerName names the outcome handler that delivers; its retry topic is
// retry.Topic(ApplicationID, HandlerName).
const HandlerName = "deliver"

// Event is an event as published on EventsTopic.
type Event struct {
	ID   string `json:"id"`
	Type string `json:"type"` // "order.created", "order.paid", ...
	// Seq numbers the events of one key from 1, in publishing order: a
	// subscriber can tell the order it should have seen them in.
	Seq     int             `json:"seq"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// Delivery is one event for one subscriber: the record the outcome
// handler retries and dead-letters, so that a subscriber's failures are
// its own.
type Delivery struct {
	Subscriber string `json:"subscriber"`
	Event      Event  `json:"event"`
}

// Policy is the delivery retry policy: exponential backoff from 10ms
// (10ms, 20ms, with 20% jitter), three attempts per delivery, then the
// dead set.
func Policy() retry.Policy {
	return retry.Policy{
		Backoff:     retry.Exponential(10*time.Millisecond, 2),
		MaxAttempts: 3,
		MaxDelay:    time.Second,
		Jitter:      0.2,
	}
}

// Topology is the dispatcher. Each event is looked up by its type in the
// routing table (a global table of SubscriptionsTopic: every instance holds
// all of it, and the events need no repartitioning), becomes one Delivery
// per subscriber, keyed as the event was (so on the event's partition, in
// its order), and each delivery goes through the outcome handler, which
// calls the subscriber's endpoint and retries a failed call through the
// retry topic without holding up the deliveries behind it. An event of a
// type nobody subscribes to is dropped.
func Topology(d *Deliverer, policy retry.Policy) (*topology.Topology, error) {
	b := topology.NewBuilder()
	routes := ktable.Global(b, SubscriptionsTopic, serde.String(), serde.JSON[[]string]())
	events := kstream.From(b, EventsTopic, serde.String(), serde.JSON[Event]())
	routed := join.StreamGlobal(events, routes,
		func(_ string, e Event) string { return e.Type },
		func(_ string, e Event, subscribers []string) []Delivery {
			out := make([]Delivery, len(subscribers))
			for i, s := range subscribers {
				out[i] = Delivery{Subscriber: s, Event: e}
			}
			return out
		})
	deliveries := kstream.FlatMapValues(routed, func(_ string, ds []Delivery) []Delivery { return ds })
	deliveries.Handle(HandlerName, d.Deliver, kstream.WithRetry(policy),
		kstream.WithSerdes(serde.String(), serde.JSON[Delivery]()))
	return b.Build()
}

// Deliverer posts deliveries to their subscribers' endpoints.
type Deliverer struct {
	// URLs are the subscribers' endpoints, by name.
	URLs map[string]string
	// Client makes the calls; its Timeout bounds what a slow subscriber
	// costs the deliveries behind it on the same partition.
	Client *http.Client
}

// Deliver posts d's event to its subscriber, with the attempt and the key
// in headers. What became of the call is the Outcome: success on a 2xx; a
// retry on a failed call, a 5xx or a 429; the dead set for an unknown
// subscriber or any other answer, which retrying will not change.
func (dl *Deliverer) Deliver(ctx context.Context, key string, d Delivery) kstream.Outcome {
	url, ok := dl.URLs[d.Subscriber]
	if !ok {
		return kstream.DeadLetter("unknown subscriber " + strconv.Quote(d.Subscriber))
	}
	body, err := json.Marshal(d.Event)
	if err != nil {
		return kstream.DeadLetter(fmt.Sprintf("encode event %s: %v", d.Event.ID, err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return kstream.DeadLetter(fmt.Sprintf("subscriber %s: %v", d.Subscriber, err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderKey, key)
	req.Header.Set(HeaderAttempt, strconv.Itoa(kstream.Attempt(ctx)+1))
	resp, err := dl.Client.Do(req)
	if err != nil {
		return kstream.Retry(fmt.Errorf("deliver %s to %s: %w", d.Event.ID, d.Subscriber, err))
	}
	resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return kstream.Success()
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return kstream.Retry(fmt.Errorf("deliver %s to %s: %s", d.Event.ID, d.Subscriber, resp.Status))
	default:
		return kstream.DeadLetter(fmt.Sprintf("%s answered %s", d.Subscriber, resp.Status))
	}
}

// Headers of a delivery's request.
const (
	// HeaderKey is the event's key.
	HeaderKey = "Webhook-Key"
	// HeaderAttempt is the delivery's attempt, from 1.
	HeaderAttempt = "Webhook-Attempt"
)
