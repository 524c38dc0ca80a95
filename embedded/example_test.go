package embedded_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata/embedded"
)

func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	c, err := embedded.Start(ctx, embedded.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	if err := c.CreateTopics(ctx, embedded.Topic{Name: "greetings", Partitions: 3}); err != nil {
		log.Fatal(err)
	}
	if err := c.Produce(ctx, &kgo.Record{Topic: "greetings", Key: []byte("en"), Value: []byte("hello")}); err != nil {
		log.Fatal(err)
	}
	recs, err := c.Consume(ctx, "greetings", 1)
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range recs {
		fmt.Printf("%s: %s=%s\n", r.Topic, r.Key, r.Value)
	}
	// Output:
	// greetings: en=hello
}
