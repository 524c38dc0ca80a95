package main

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/embedded"
)

// TestRouterOnKafka runs the router with strata.App on a broker, three
// partitions per topic, and reads the output back with a separate consumer:
// exactly the records the in-memory driver gives (TestPartitions), each
// key's in order.
func TestRouterOnKafka(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	topics := []embedded.Topic{{Name: InputTopic, Partitions: 3}}
	for _, topic := range OutputTopics() {
		topics = append(topics, embedded.Topic{Name: topic, Partitions: 3})
	}
	c := embedded.StartForTest(t, embedded.Config{Topics: topics})

	var in []*kgo.Record
	for _, e := range fixture {
		in = append(in, &kgo.Record{Topic: InputTopic, Key: []byte(e.key), Value: []byte(e.value)})
	}
	if err := c.Produce(ctx, in...); err != nil {
		t.Fatal(err)
	}

	top, err := Topology()
	if err != nil {
		t.Fatal(err)
	}
	app, err := strata.New(top, strata.Config{
		ApplicationID: "router-test",
		Brokers:       c.Addrs(),
		Logger:        slog.New(slog.DiscardHandler),
		StateDir:      t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	appCtx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- app.Run(appCtx) }()

	got := map[string][]rec{}
	for _, topic := range OutputTopics() {
		recs, err := c.Consume(ctx, topic, len(fixtureWant[topic]))
		if err != nil {
			stop()
			t.Fatalf("%v (Run: %v)", err, <-done)
		}
		for _, r := range recs {
			got[topic] = append(got[topic], fromKgo(r))
		}
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	checkOutputs(t, got, fixtureWant)

	// Nothing more was written than was read.
	ends, err := c.Admin().ListEndOffsets(ctx, OutputTopics()...)
	if err != nil {
		t.Fatal(err)
	}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			t.Errorf("%s[%d]: %v", o.Topic, o.Partition, o.Err)
		}
	})
	for topic, parts := range ends.Offsets() {
		var n int64
		for _, o := range parts {
			n += o.At
		}
		if want := len(fixtureWant[topic]); n != int64(want) {
			t.Errorf("%s has %d records, want %d", topic, n, want)
		}
	}
	if m := app.Metrics(); m.Processed != int64(len(fixture)) || m.SkippedRecords != 0 {
		t.Errorf("Metrics() = %+v, want %d processed and none skipped", m, len(fixture))
	}
}
