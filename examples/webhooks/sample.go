package main

import (
	"fmt"
	"maps"
)

// The sample's subscribers.
const (
	Healthy = "healthy" // answers at once
	Slow    = "slow"    // answers after a delay
	Flaky   = "flaky"   // fails a share of calls
)

// Subscribers lists the sample's subscribers.
var Subscribers = []string{Healthy, Slow, Flaky}

// Types are the sample's event types.
var Types = []string{"order.created", "order.paid", "order.shipped", "refund.issued", "user.signup"}

// PingType is an event type no subscriber has at first; the run-time
// change subscribes Healthy to it, last, so that a ping reaching Healthy
// tells the program the change is in the routing table (a global table is
// updated beside the processing, not in step with it).
const PingType = "ping"

// Routes are subscriptions: event type → subscribers.
type Routes map[string][]string

// InitialRoutes are the subscriptions the sample starts with.
func InitialRoutes() Routes {
	return Routes{
		"order.created": {Healthy, Flaky},
		"order.paid":    {Healthy, Slow, Flaky},
		"order.shipped": {Slow},
		"refund.issued": {Flaky},
		// user.signup: nobody
	}
}

// RouteChange is the subscription change the sample makes at run time,
// between its two batches of events: Healthy subscribes to shipments and
// refunds, Flaky unsubscribes from refunds. The types are in the order
// they are published; PingType is last.
func RouteChange() ([]string, Routes) {
	return []string{"order.shipped", "refund.issued", PingType}, Routes{
		"order.shipped": {Slow, Healthy},
		"refund.issued": {Healthy},
		PingType:        {Healthy},
	}
}

// Keyed is an event and its key.
type Keyed struct {
	Key   string
	Event Event
}

// Keys is the number of distinct keys (customers) in a sample.
const Keys = 5

// Sample returns n events of the sample's types, over Keys keys, each
// key's numbered from 1 in order, with IDs from first on: event i
// (counting from first) is of key "c<i mod Keys>".
func Sample(first, n int) []Keyed {
	out := make([]Keyed, 0, n)
	for i := first; i < first+n; i++ {
		out = append(out, Keyed{
			Key: fmt.Sprintf("c%d", i%Keys),
			Event: Event{
				ID:   fmt.Sprintf("e%04d", i),
				Type: Types[(i*7/3)%len(Types)],
				Seq:  i/Keys + 1,
			},
		})
	}
	return out
}

// Apply returns r with change's routes replacing r's.
func (r Routes) Apply(change Routes) Routes {
	out := maps.Clone(r)
	maps.Copy(out, change)
	return out
}

// Expected returns, by subscriber, the deliveries events should make under
// routes, in the events' order.
func Expected(routes Routes, events []Keyed) map[string][]Keyed {
	out := map[string][]Keyed{}
	for _, e := range events {
		for _, s := range routes[e.Event.Type] {
			out[s] = append(out[s], e)
		}
	}
	return out
}

// Exhausted returns the deliveries of want (one subscriber's) whose every
// one of attempts calls fails at share: the dead set's.
func Exhausted(subscriber string, want []Keyed, share float64, attempts int) []Keyed {
	var out []Keyed
	for _, e := range want {
		all := true
		for a := 1; a <= attempts; a++ {
			all = all && Fails(subscriber, e.Event.ID, a, share)
		}
		if all {
			out = append(out, e)
		}
	}
	return out
}
