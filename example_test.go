package strata_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/embedded"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
)

// A topology runs on Kafka as an App: here on a broker in this process,
// until its output has come out and its context is cancelled.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// A broker with an input and an output topic, and some input.
	cluster, err := embedded.Start(ctx, embedded.Config{Topics: []embedded.Topic{
		{Name: "greetings", Partitions: 3},
		{Name: "shouts", Partitions: 3},
	}})
	if err != nil {
		log.Fatal(err)
	}
	defer cluster.Close()
	err = cluster.Produce(ctx,
		&kgo.Record{Topic: "greetings", Key: []byte("ann"), Value: []byte("hello")},
		&kgo.Record{Topic: "greetings", Key: []byte("bob"), Value: []byte("hi")},
		&kgo.Record{Topic: "greetings", Key: []byte("cy"), Value: []byte("good morning")},
	)
	if err != nil {
		log.Fatal(err)
	}

	// The topology: shout every greeting.
	b := topology.NewBuilder()
	greetings := kstream.From(b, "greetings", serde.String(), serde.String())
	kstream.MapValues(greetings, func(_, v string) string {
		return strings.ToUpper(v) + "!"
	}).To("shouts")
	top, err := b.Build()
	if err != nil {
		log.Fatal(err)
	}

	// The app, run until the three shouts have come out.
	app, err := strata.New(top, strata.Config{
		ApplicationID: "shouter",
		Brokers:       cluster.Addrs(),
		Logger:        slog.New(slog.DiscardHandler),
	})
	if err != nil {
		log.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- app.Run(runCtx) }()

	shouts, err := cluster.Consume(ctx, "shouts", 3)
	stop()
	if err := <-done; err != nil {
		log.Fatal(err)
	}
	if err != nil {
		log.Fatal(err)
	}
	// Partitions are read in no particular order: sort for printing.
	slices.SortFunc(shouts, func(a, b *kgo.Record) int { return strings.Compare(string(a.Key), string(b.Key)) })
	for _, r := range shouts {
		fmt.Printf("%s: %s\n", r.Key, r.Value)
	}
	fmt.Println("processed:", app.Metrics().Processed)
	// Output:
	// ann: HELLO!
	// bob: HI!
	// cy: GOOD MORNING!
	// processed: 3
}
