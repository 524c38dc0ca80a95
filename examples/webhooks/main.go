// Command webhooks is webhooks-as-a-service on Strata: events of many
// types arrive on one topic and are delivered, by type, to the
// subscribers of that type, each subscriber an HTTP endpoint.
//
// The routing table (event type → subscribers) is a table fed by a
// subscriptions topic, so subscriptions change while the dispatcher runs.
// Each event becomes one delivery per subscriber, keyed as the event was,
// and the deliveries go through an outcome handler (kstream's
// Stream.Handle) that posts them: a failed call is retried with backoff
// through the handler's retry topic, without holding up the deliveries
// behind it, so a failing subscriber does not delay another; a delivery
// whose every attempt failed goes to the dead set (see Topology in
// webhooks.go).
//
// A slow subscriber is another matter: the handler's function runs in the
// task, so the deliveries behind a slow call on the same partition wait
// for it. The Deliverer's client timeout bounds that wait (a timed-out
// call is retried like a failed one); more partitions spread it.
//
// Order: a subscriber gets one key's events in the order they were
// published, except a retried delivery, which arrives after the
// deliveries of the same key that were behind it (they were not held up).
// Each event carries its key's sequence number for a subscriber that
// needs to put them back in order. Deliveries are at least once: a
// subscriber may see one twice after a crash, and should be idempotent
// by event ID.
//
// With no flags it starts an in-process Kafka broker and three subscriber
// endpoints (httptest servers: one healthy, one slow, one failing a share
// of calls), publishes the subscriptions and a first batch of events,
// waits until every delivery is accepted or dead, changes the
// subscriptions, publishes a second batch, waits again, and prints what
// each subscriber received and the dead set, checking them against what
// the subscriptions say:
//
//	go run ./examples/webhooks
//	go run ./examples/webhooks -fail 0.8 -exactly-once
//
// With -brokers it does the same on a real cluster, creating its topics
// (all named "webhooks-...") when missing; it refuses to run when the
// events topic or the dead set already holds records, unless -reuse is
// given. The flags for TLS and SASL, and the environment variables that
// can stand for them, are those of every example
// (examples/internal/kafkaflags; -help lists them).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/deadletter"
	"github.com/strata-go/strata/examples/internal/kafkaflags"
	"github.com/strata-go/strata/serde"
)

// Partitions is the partition count of the events topic.
const Partitions = 4

func main() { kafkaflags.Main("webhooks", run) }

// options are the program's flags.
type options struct {
	kafka       *kafkaflags.Flags
	events      int
	failShare   float64
	slow        time.Duration
	exactlyOnce bool
	reuse       bool
	stateDir    string
	timeout     time.Duration
	verbose     bool
}

// topics are the example's topics; the dead set is checked for an earlier
// run's records with them.
var topics = []kafkaflags.Topic{
	{Name: EventsTopic, Partitions: Partitions, Output: true},
	{Name: SubscriptionsTopic, Partitions: 1, Compacted: true},
	{Name: deadletter.DefaultTopic(ApplicationID), Partitions: Partitions, Output: true},
}

// run is the whole program, given its arguments and where to write.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o options
	fs := flag.NewFlagSet("webhooks", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o.kafka = kafkaflags.Register(fs, nil)
	fs.IntVar(&o.events, "events", 40, "number of events in each of the two batches")
	fs.Float64Var(&o.failShare, "fail", 0.5, "`share` of calls the flaky subscriber fails, from 0 to 1")
	fs.DurationVar(&o.slow, "slow", 20*time.Millisecond, "how long the slow subscriber takes per call")
	fs.BoolVar(&o.exactlyOnce, "exactly-once", false, "run the dispatcher exactly-once (default at-least-once)")
	fs.BoolVar(&o.reuse, "reuse", false, "run even if the events topic or the dead set holds records of an earlier run")
	fs.StringVar(&o.stateDir, "state-dir", "", "`directory` for the app's state (default: a temporary directory)")
	fs.DurationVar(&o.timeout, "timeout", time.Minute, "give up after this long")
	fs.BoolVar(&o.verbose, "v", false, "log at info level (default: warnings only)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	case o.events < 1:
		return fmt.Errorf("-events must be positive, got %d", o.events)
	case o.failShare < 0 || o.failShare > 1:
		return fmt.Errorf("-fail must be from 0 to 1, got %v", o.failShare)
	case o.slow < 0 || o.slow >= time.Second:
		return fmt.Errorf("-slow must be from 0 to 1s (the delivery timeout), got %v", o.slow)
	}
	level := slog.LevelWarn
	if o.verbose {
		level = slog.LevelInfo
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()

	conn, err := o.kafka.Open(ctx, o.reuse, topics...)
	if err != nil {
		return err
	}
	defer conn.Close()
	remove, err := kafkaflags.TempDir(&o.stateDir, "webhooks")
	if err != nil {
		return err
	}
	defer remove()

	// The subscribers.
	endpoints := map[string]*Endpoint{
		Healthy: NewEndpoint(Healthy, 0, 0),
		Slow:    NewEndpoint(Slow, o.slow, 0),
		Flaky:   NewEndpoint(Flaky, 0, o.failShare),
	}
	urls := map[string]string{}
	for name, ep := range endpoints {
		srv := httptest.NewServer(ep)
		defer srv.Close()
		urls[name] = srv.URL + "/hooks"
	}
	deliverer := &Deliverer{URLs: urls, Client: &http.Client{Timeout: time.Second}}

	top, err := Topology(deliverer, Policy())
	if err != nil {
		return err
	}
	guarantee := strata.AtLeastOnce
	if o.exactlyOnce {
		guarantee = strata.ExactlyOnce
	}
	app, err := strata.New(top, strata.Config{
		ApplicationID: ApplicationID,
		Brokers:       conn.Seeds,
		Guarantee:     guarantee,
		Logger:        logger,
		StateDir:      o.stateDir,
		// The embedded broker answers a fetch of partitions that were
		// empty when it arrived only at the fetch's max wait (5s by
		// default): the retry topic is often empty.
		ClientOptions: slices.Concat(conn.Options, []kgo.Opt{kgo.FetchMaxWait(100 * time.Millisecond)}),
	})
	if err != nil {
		return err
	}
	cl, err := conn.Client(kgo.FetchMaxWait(100 * time.Millisecond))
	if err != nil {
		return err
	}
	defer cl.Close()
	// Every type's subscribers, PingType's none (an earlier run, with
	// -reuse, left it subscribed).
	if err := publishRoutes(ctx, cl, InitialRoutes(), append(slices.Clone(Types), PingType)); err != nil {
		return err
	}

	var res result
	err = kafkaflags.RunUntil(ctx, app, func(ctx context.Context) (err error) {
		res, err = dispatch(ctx, stdout, conn, cl, endpoints, o)
		return err
	})
	if err != nil {
		return err
	}
	logger.Info("done", "metrics", app.Metrics())
	Print(stdout, res.got, res.dead)
	if err := Check(res.got, res.dead, res.want, res.wantDead); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "every subscriber got exactly its events, each key's in order but for the retried; the dead set is the flaky subscriber's exhausted deliveries\n")
	return nil
}

// result is what a run delivered, and what it should have.
type result struct {
	got      map[string][]Received
	dead     []Dead
	want     map[string][]Keyed
	wantDead []Dead
}

// dispatch publishes the two batches with the subscription change between
// them, waiting for each to settle (every delivery accepted or dead).
func dispatch(ctx context.Context, stdout io.Writer, conn *kafkaflags.Conn, cl *kgo.Client, endpoints map[string]*Endpoint, o options) (result, error) {
	shares := map[string]float64{Flaky: o.failShare}
	routes := InitialRoutes()
	first, second := Sample(0, o.events), Sample(o.events, o.events)
	want := Expected(routes, first)
	fmt.Fprintf(stdout, "%d events to %d subscribers (%s answering in %v, %s failing %.0f%% of calls; up to %d attempts per delivery)\n",
		len(first), len(Subscribers), Slow, o.slow, Flaky, o.failShare*100, Policy().MaxAttempts)
	// The dead set from where it ends now: with -reuse it may hold an
	// earlier run's deliveries.
	deadTopic := deadletter.DefaultTopic(ApplicationID)
	ends, err := conn.Admin().ListEndOffsets(ctx, deadTopic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return result{}, fmt.Errorf("list the dead set's end offsets: %w", err)
	}
	from := map[string]map[int32]kgo.Offset{deadTopic: {}}
	ends.Each(func(o kadm.ListedOffset) { from[deadTopic][o.Partition] = kgo.NewOffset().At(o.Offset) })
	dl, err := conn.Client(
		kgo.ConsumePartitions(from),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.FetchMaxWait(100*time.Millisecond),
	)
	if err != nil {
		return result{}, err
	}
	defer dl.Close()
	var dead []Dead
	if err := publishEvents(ctx, cl, first); err != nil {
		return result{}, err
	}
	if dead, err = settle(ctx, dl, endpoints, total(want), dead); err != nil {
		return result{}, err
	}

	// The change, at run time: the routing table is updated beside the
	// processing, so the program waits until a ping reaches Healthy,
	// subscribed to pings last, before the second batch.
	order, change := RouteChange()
	if err := publishRoutes(ctx, cl, change, order); err != nil {
		return result{}, err
	}
	if err := awaitPing(ctx, cl, endpoints[Healthy]); err != nil {
		return result{}, err
	}
	routes = routes.Apply(change)
	fmt.Fprintf(stdout, "subscriptions changed: order.shipped → %v, refund.issued → %v; %d more events\n",
		routes["order.shipped"], routes["refund.issued"], len(second))
	for s, ks := range Expected(routes, second) {
		want[s] = append(want[s], ks...)
	}
	if err := publishEvents(ctx, cl, second); err != nil {
		return result{}, err
	}
	if dead, err = settle(ctx, dl, endpoints, total(want), dead); err != nil {
		return result{}, err
	}
	return result{got: received(endpoints), dead: dead, want: want, wantDead: WantDead(want, shares, Policy().MaxAttempts)}, nil
}

// publishRoutes publishes routes' subscribers of types, in that order, to
// SubscriptionsTopic (one partition: the routing table applies them in
// that order).
func publishRoutes(ctx context.Context, cl *kgo.Client, routes Routes, types []string) error {
	js := serde.JSON[[]string]()
	var recs []*kgo.Record
	for _, t := range types {
		v, err := js.Serialize(nil, SubscriptionsTopic, routes[t])
		if err != nil {
			return err
		}
		recs = append(recs, &kgo.Record{Topic: SubscriptionsTopic, Key: []byte(t), Value: v})
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return fmt.Errorf("publish subscriptions: %w", err)
	}
	return nil
}

// publishEvents publishes events to EventsTopic, in order.
func publishEvents(ctx context.Context, cl *kgo.Client, events []Keyed) error {
	js := serde.JSON[Event]()
	recs := make([]*kgo.Record, len(events))
	for i, e := range events {
		v, err := js.Serialize(nil, EventsTopic, e.Event)
		if err != nil {
			return err
		}
		recs[i] = &kgo.Record{Topic: EventsTopic, Key: []byte(e.Key), Value: v}
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return fmt.Errorf("publish events: %w", err)
	}
	return nil
}

// settle reads the dead set (dl reads it on from where it is) until the
// subscribers' accepted deliveries and the dead set make want deliveries,
// and returns dead with the dead set's deliveries it read.
func settle(ctx context.Context, dl *kgo.Client, endpoints map[string]*Endpoint, want int, dead []Dead) ([]Dead, error) {
	for {
		got := total(received(endpoints))
		if got+len(dead) >= want {
			return dead, nil
		}
		pollCtx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		fetches := dl.PollFetches(pollCtx)
		cancel()
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("%d of %d deliveries accepted, %d in the dead set: %w", got, want, len(dead), err)
		}
		var err error
		fetches.EachRecord(func(r *kgo.Record) {
			d, perr := deadletter.Parse(r)
			if perr == nil {
				var dd Dead
				dd, perr = ParseDead(d)
				dead = append(dead, dd)
			}
			err = errors.Join(err, perr)
		})
		if err != nil {
			return nil, err
		}
	}
}

// awaitPing publishes pings until ep (subscribed to PingType last by the
// change) receives one: the routing table then has the whole change.
func awaitPing(ctx context.Context, cl *kgo.Client, ep *Endpoint) error {
	js := serde.JSON[Event]()
	for i := 1; ; i++ {
		v, err := js.Serialize(nil, EventsTopic, Event{ID: fmt.Sprintf("ping-%d", i), Type: PingType, Seq: i})
		if err != nil {
			return err
		}
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: EventsTopic, Key: []byte("ping"), Value: v}).FirstErr(); err != nil {
			return fmt.Errorf("publish a ping: %w", err)
		}
		for _, r := range ep.Received() {
			if r.Event.Type == PingType {
				return nil
			}
		}
		select {
		case <-ep.Arrived():
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			return fmt.Errorf("waiting for the subscription change: %w", ctx.Err())
		}
	}
}

// received returns what each endpoint accepted, pings left out.
func received(endpoints map[string]*Endpoint) map[string][]Received {
	out := map[string][]Received{}
	for name, ep := range endpoints {
		for _, r := range ep.Received() {
			if r.Event.Type != PingType {
				out[name] = append(out[name], r)
			}
		}
	}
	return out
}

// total counts the values of m's slices.
func total[T any](m map[string][]T) int {
	n := 0
	for _, s := range m {
		n += len(s)
	}
	return n
}
