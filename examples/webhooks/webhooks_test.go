package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata/deadletter"
	"github.com/strata-go/strata/retry"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/testutil"
)

// startEndpoints serves the sample's subscribers, Flaky failing share of
// calls, and returns them and a Deliverer of them.
func startEndpoints(t *testing.T, share float64) (map[string]*Endpoint, *Deliverer) {
	t.Helper()
	eps := map[string]*Endpoint{
		Healthy: NewEndpoint(Healthy, 0, 0),
		Slow:    NewEndpoint(Slow, time.Millisecond, 0),
		Flaky:   NewEndpoint(Flaky, 0, share),
	}
	urls := map[string]string{}
	for name, ep := range eps {
		srv := httptest.NewServer(ep)
		t.Cleanup(srv.Close)
		urls[name] = srv.URL + "/hooks"
	}
	return eps, &Deliverer{URLs: urls, Client: &http.Client{Timeout: 5 * time.Second}}
}

// The dispatcher in the test driver, the retries due on the driver's
// clock: the subscribers that do not fail get all their deliveries before
// any retry of the flaky one is due; after the retries every subscriber
// got exactly the events its subscriptions say, each key's in order but
// for the retried, the flaky one's exhausted deliveries are the dead set,
// and the subscription change applies from the events after it.
func TestDispatchInDriver(t *testing.T) {
	const share, n = 0.5, 60
	eps, deliverer := startEndpoints(t, share)
	var d *testutil.Driver
	policy := Policy()
	policy.Jitter = 0
	policy.Now = func() time.Time { return d.WallClockTime() }
	top, err := Topology(deliverer, policy)
	if err != nil {
		t.Fatal(err)
	}
	d = testutil.NewDriver(t, top, testutil.Config{ApplicationID: ApplicationID, Partitions: map[string]int{EventsTopic: Partitions}})
	subs := testutil.NewInputTopic(d, SubscriptionsTopic, serde.String(), serde.JSON[[]string]())
	events := testutil.NewInputTopic(d, EventsTopic, serde.String(), serde.JSON[Event]())
	deadTopic := testutil.NewOutputTopic(d, deadletter.DefaultTopic(ApplicationID), serde.Bytes(), serde.Bytes())
	routes := InitialRoutes()
	for _, typ := range Types {
		subs.Pipe(typ, routes[typ])
	}
	first, second := Sample(0, n), Sample(n, n)
	for _, e := range first {
		events.Pipe(e.Key, e.Event)
	}
	want := Expected(routes, first)

	// No retry is due yet: the subscribers that do not fail have all
	// theirs, the flaky one those it took at the first attempt.
	got := received(eps)
	for _, s := range []string{Healthy, Slow} {
		if len(got[s]) != len(want[s]) {
			t.Fatalf("%s received %d of %d deliveries while the flaky subscriber's retries wait", s, len(got[s]), len(want[s]))
		}
	}
	firstTime := 0
	for _, k := range want[Flaky] {
		if !Fails(Flaky, k.Event.ID, 1, share) {
			firstTime++
		}
	}
	if len(got[Flaky]) != firstTime || firstTime == len(want[Flaky]) {
		t.Fatalf("flaky received %d of %d deliveries before any retry was due, want %d", len(got[Flaky]), len(want[Flaky]), firstTime)
	}
	// The retries wait 10ms, then 20ms; the clock moves a millisecond at
	// a time, as each retry counts its due time from when it ran.
	for range 40 {
		d.AdvanceWallClockTime(time.Millisecond)
	}

	// The change, between the batches.
	order, change := RouteChange()
	for _, typ := range order {
		subs.Pipe(typ, change[typ])
	}
	routes = routes.Apply(change)
	for s, ks := range Expected(routes, second) {
		want[s] = append(want[s], ks...)
	}
	for _, e := range second {
		events.Pipe(e.Key, e.Event)
	}
	for range 40 {
		d.AdvanceWallClockTime(time.Millisecond)
	}

	var dead []Dead
	for _, r := range deadTopic.ReadAll() {
		kr := &kgo.Record{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Key: r.Key, Value: r.Value, Timestamp: r.Timestamp}
		for _, h := range r.Headers {
			kr.Headers = append(kr.Headers, kgo.RecordHeader{Key: h.Key, Value: h.Value})
		}
		dl, err := deadletter.Parse(kr)
		if err != nil {
			t.Fatal(err)
		}
		if dl.Reason != retry.ReasonExhausted || dl.Topic != EventsTopic || dl.Handler != HandlerName || dl.Attempts != policy.MaxAttempts {
			t.Errorf("dead-set record %s: reason %q from %q by %q after %d attempts, want %q from %q by %q after %d",
				dl.Key, dl.Reason, dl.Topic, dl.Handler, dl.Attempts, retry.ReasonExhausted, EventsTopic, HandlerName, policy.MaxAttempts)
		}
		dd, err := ParseDead(dl)
		if err != nil {
			t.Fatal(err)
		}
		dead = append(dead, dd)
	}
	wantDead := WantDead(want, map[string]float64{Flaky: share}, policy.MaxAttempts)
	if len(wantDead) == 0 {
		t.Fatal("the sample exhausts no delivery: the test needs some")
	}
	got = received(eps)
	if err := Check(got, dead, want, wantDead); err != nil {
		t.Fatal(err)
	}
	// The change took effect: Healthy got refunds of the second batch
	// only, Flaky of the first only.
	refunds := func(s string) (before, after int) {
		for _, r := range got[s] {
			if r.Event.Type == "refund.issued" {
				if strings.Compare(r.Event.ID, second[0].Event.ID) < 0 {
					before++
				} else {
					after++
				}
			}
		}
		return before, after
	}
	if b, a := refunds(Healthy); b != 0 || a == 0 {
		t.Errorf("healthy got %d refunds before the change and %d after, want 0 and some", b, a)
	}
	if b, a := refunds(Flaky); b == 0 || a != 0 {
		t.Errorf("flaky got %d refunds before the change and %d after, want some and 0", b, a)
	}
}

// Check finds what is wrong: a delivery missing, one twice, one out of
// order, one not subscribed to, a dead set that differs.
func TestCheck(t *testing.T) {
	ev := func(id string, seq int) Keyed { return Keyed{Key: "k", Event: Event{ID: id, Type: "t", Seq: seq}} }
	rcv := func(k Keyed, attempt int) Received { return Received{Key: k.Key, Event: k.Event, Attempt: attempt} }
	a, b, c := ev("a", 1), ev("b", 2), ev("c", 3)
	want := map[string][]Keyed{Healthy: {a, b, c}}
	dead := []Dead{{Key: "k", Delivery: Delivery{Subscriber: Healthy, Event: c.Event}}}
	tests := []struct {
		name     string
		got      []Received
		dead     []Dead
		wantDead []Dead
		err      string // "" for none
	}{
		{"all", []Received{rcv(a, 1), rcv(b, 1), rcv(c, 1)}, nil, nil, ""},
		{"retried after", []Received{rcv(b, 1), rcv(c, 1), rcv(a, 2)}, nil, nil, ""},
		{"dead", []Received{rcv(a, 1), rcv(b, 1)}, dead, dead, ""},
		{"missing", []Received{rcv(a, 1), rcv(b, 1)}, nil, nil, "never received c"},
		{"twice", []Received{rcv(a, 1), rcv(b, 1), rcv(b, 2), rcv(c, 1)}, nil, nil, "received b twice"},
		{"out of order", []Received{rcv(b, 1), rcv(a, 1), rcv(c, 1)}, nil, nil, "received a (key k, #1) after #2"},
		{"not subscribed", []Received{rcv(a, 1), rcv(b, 1), rcv(c, 1), rcv(ev("d", 4), 1)}, nil, nil, "received d (t), not subscribed"},
		{"dead differs", []Received{rcv(a, 1), rcv(b, 1)}, dead, nil, "dead set [healthy/c], want []"},
		{"dead and received", []Received{rcv(a, 1), rcv(b, 1), rcv(c, 3)}, dead, dead, "received c, which is in the dead set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(map[string][]Received{Healthy: tt.got}, tt.dead, want, tt.wantDead)
			switch {
			case tt.err == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Fatalf("error %v, want one saying %q", err, tt.err)
			}
		})
	}
}
