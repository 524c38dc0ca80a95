package strata_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/embedded"
	"github.com/strata-go/strata/join"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
)

// TestForeignKeyJoinOnKafka runs a foreign-key join on kfake between tables
// of different partition counts (orders 3, customers 2): the app creates
// the subscription topic with the customers' count and the response topic
// with the orders', subscriptions and responses cross between the two
// sub-topologies, and every order ends up joined with its customer's last
// name.
func TestForeignKeyJoinOnKafka(t *testing.T) {
	const app = "fkjoin"
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{
		{Name: "orders", Partitions: 3},
		{Name: "customers", Partitions: 2},
		{Name: "out", Partitions: 3},
	}})
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()

	want := map[string]string{}
	var recs []*kgo.Record
	for i := range 4 {
		recs = append(recs, &kgo.Record{Topic: "customers", Key: fmt.Appendf(nil, "c%d", i), Value: fmt.Appendf(nil, "customer %d", i)})
	}
	for i := range 12 {
		recs = append(recs, &kgo.Record{Topic: "orders", Key: fmt.Appendf(nil, "o%d", i), Value: fmt.Appendf(nil, "order %d|c%d", i, i%4)})
		name := fmt.Sprint("customer ", i%4)
		if i%4 == 1 {
			name = "renamed 1"
		}
		want[fmt.Sprint("o", i)] = fmt.Sprintf("order %d for %s", i, name)
	}
	recs = append(recs, &kgo.Record{Topic: "customers", Key: []byte("c1"), Value: []byte("renamed 1")})
	if err := c.Produce(ctx, recs...); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	got := map[string]string{}
	done := make(chan struct{})
	b := topology.NewBuilder()
	orders := ktable.From(b, "orders", serde.String(), serde.String())
	customers := ktable.From(b, "customers", serde.String(), serde.String())
	join.ForeignKey(orders, customers,
		func(o string) string { return o[strings.Index(o, "|")+1:] },
		func(o, name string) string { return o[:strings.Index(o, "|")] + " for " + name },
		join.Named("orders-customers")).
		ToStream().Peek(func(k, v string) {
		mu.Lock()
		defer mu.Unlock()
		got[k] = v
		for o, w := range want {
			if got[o] != w {
				return
			}
		}
		select {
		case <-done:
		default:
			close(done)
		}
	}).To("out")
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, c, app)
	cfg.CommitInterval = 100 * time.Millisecond
	a, err := strata.New(top, cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := start(t, a)
	select {
	case <-done:
	case err := <-r.done:
		t.Fatalf("Run returned early: %v", err)
	case <-ctx.Done():
		mu.Lock()
		t.Fatalf("results %v, want %v", got, want)
	}
	r.stopAndWait(t)

	topics, err := c.Admin().ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for name, n := range map[string]int{
		app + "-orders-customers-subscription-registration-topic": 2,
		app + "-orders-customers-subscription-response-topic":     3,
		app + "-orders-customers-subscription-store-changelog":    2,
		app + "-orders-customers-changelog":                       3,
	} {
		d, ok := topics[name]
		switch {
		case !ok:
			t.Errorf("internal topic %q was not created; topics: %v", name, topics.Names())
		case d.Err != nil:
			t.Errorf("internal topic %q: %v", name, d.Err)
		case len(d.Partitions) != n:
			t.Errorf("internal topic %q has %d partitions, want %d", name, len(d.Partitions), n)
		}
	}
}
