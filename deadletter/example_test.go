package deadletter_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata/deadletter"
	"github.com/strata-go/strata/embedded"
)

// View a dead-letter topic, then replay its records to their topics, for
// instance once the consumer that failed them is fixed.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := embedded.Start(ctx, embedded.Config{Topics: []embedded.Topic{{Name: "orders"}, {Name: "shop-dead-letter"}}})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	// What Strata writes when "orders" holds a record it cannot decode.
	bad := &kgo.Record{Topic: "orders", Partition: 0, Offset: 17, Key: []byte("o-17"), Value: []byte("{not json")}
	dl := deadletter.New("shop-dead-letter", 1, bad, deadletter.ReasonDeserialization, errors.New("unexpected end of JSON input"))
	if err := c.Produce(ctx, dl); err != nil {
		log.Fatal(err)
	}

	records, err := deadletter.Read(ctx, "shop-dead-letter", kgo.SeedBrokers(c.Addrs()...))
	if err != nil {
		log.Fatal(err)
	}
	for _, d := range records {
		fmt.Printf("%s[%d]@%d %s=%s: %s: %s\n", d.Topic, d.Partition, d.Offset, d.Key, d.Value, d.Reason, d.Message)
	}
	n, err := deadletter.Replay(ctx, "shop-dead-letter", nil, kgo.SeedBrokers(c.Addrs()...))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("replayed", n)
	replayed, err := c.Consume(ctx, "orders", 1)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("orders: %s=%s\n", replayed[0].Key, replayed[0].Value)
	// Output:
	// orders[0]@17 o-17={not json: deserialization: unexpected end of JSON input
	// replayed 1
	// orders: o-17={not json
}
