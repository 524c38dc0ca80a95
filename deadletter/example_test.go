package deadletter_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net/http/httptest"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata/deadletter"
	"github.com/strata-go/strata/embedded"
)

// Read the dead set of application "shop" a page at a time, replay one
// record through its handler's retry topic, and delete the records the
// bad-record policy wrote.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := embedded.Start(ctx, embedded.Config{Topics: []embedded.Topic{
		{Name: "orders"}, {Name: "shop-dead-letter"}, {Name: "shop-charge-retry"},
	}})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	// What the app writes: a record its handler "charge" gave up after
	// five attempts, and one it could not decode.
	gaveUp := deadletter.Record{
		Topic: "orders", Partition: 0, Offset: 16, Key: []byte("o-16"), Value: []byte(`{"cents":1200}`),
		Reason: deadletter.ReasonRetriesExhausted, Message: "payments: 503", Handler: "charge", Attempts: 5,
	}
	bad := &kgo.Record{Topic: "orders", Partition: 0, Offset: 17, Key: []byte("o-17"), Value: []byte("{not json")}
	err = c.Produce(ctx,
		deadletter.Encode("shop-dead-letter", 1, gaveUp),
		deadletter.New("shop-dead-letter", 1, bad, deadletter.ReasonDeserialization, errors.New("unexpected end of JSON input")))
	if err != nil {
		log.Fatal(err)
	}

	ds, err := deadletter.Open(deadletter.Config{
		ApplicationID: "shop", // dead-letter topic shop-dead-letter
		ClientOptions: []kgo.Opt{kgo.SeedBrokers(c.Addrs()...)},
		Logger:        slog.New(slog.DiscardHandler),
	})
	if err != nil {
		log.Fatal(err)
	}
	q := deadletter.Query{Count: 1}
	for {
		page, err := ds.List(ctx, q)
		if err != nil {
			log.Fatal(err)
		}
		for _, d := range page.Records {
			fmt.Printf("%d@%d %s[%d]@%d %s=%s: %s (%q, %d attempts): %s\n", d.DeadLetterPartition, d.DeadLetterOffset,
				d.Topic, d.Partition, d.Offset, d.Key, d.Value, d.Reason, d.Handler, d.Attempts, d.Message)
		}
		if !page.More {
			break
		}
		q.After = page.Next
	}

	// Replay the first by its coordinates: to shop-charge-retry, attempt 0.
	res, err := ds.Replay(ctx, deadletter.Selection{Record: &deadletter.Coordinates{Partition: 0, Offset: 0}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("replayed", res.Count)
	retried, err := c.Consume(ctx, "shop-charge-retry", 1)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("shop-charge-retry: %s=%s\n", retried[0].Key, retried[0].Value)

	// The undecodable record names no handler: its replay is refused.
	_, err = ds.Replay(ctx, deadletter.Selection{Filter: deadletter.Filter{Reason: deadletter.ReasonDeserialization}})
	fmt.Println("no handler:", errors.Is(err, deadletter.ErrNoHandler))
	res, err = ds.Delete(ctx, deadletter.Selection{Filter: deadletter.Filter{Reason: deadletter.ReasonDeserialization}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("deleted", res.Count)

	// The same over HTTP, as an application serves it.
	srv := httptest.NewServer(ds.Handler())
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/v1/dead_set")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	fmt.Println(resp.Status)
	// Output:
	// 0@0 orders[0]@16 o-16={"cents":1200}: retries-exhausted ("charge", 5 attempts): payments: 503
	// 0@1 orders[0]@17 o-17={not json: deserialization ("", 0 attempts): unexpected end of JSON input
	// replayed 1
	// shop-charge-retry: o-16={"cents":1200}
	// no handler: true
	// deleted 1
	// 200 OK
}
