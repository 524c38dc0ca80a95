package strata_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/embedded"
	"github.com/strata-go/strata/join"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
)

// rekeyedOrder is a left value of TestRekeyedJoinWithMapOnKafka.
type rekeyedOrder struct{ Item string }

// TestRekeyedJoinWithMapOnKafka runs Kafka's map(noOp) re-keyed left join
// on kfake, with the orders' serde registered once on the builder and
// given to no operation: both sides go through repartition topics, the
// left after kstream.Map returning its input, the right after SelectKey.
// Tombstones cross the repartition topics as nulls and are dropped by the
// join, not joined as empty values; the right side's null key is dropped
// before its repartition topic; the left side's crosses it and joins with
// no right value at once, as in Kafka Streams 3.7 and later. Each topic has
// one partition, so the records of a side are processed in the order
// produced, and the two results mean every record has been processed.
func TestRekeyedJoinWithMapOnKafka(t *testing.T) {
	const app = "rekeyed-join"
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{
		{Name: "orders", Partitions: 1}, {Name: "payments", Partitions: 1}, {Name: "out", Partitions: 1},
	}})
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()

	b := topology.NewBuilder()
	topology.RegisterSerde(b, serde.JSON[rekeyedOrder]())
	orders := kstream.Map(kstream.From[string, rekeyedOrder](b, "orders", nil, nil),
		func(k string, o rekeyedOrder) (string, rekeyedOrder) { return k, o })
	payments := kstream.SelectKey(kstream.From[string, string](b, "payments", nil, nil),
		func(k, _ string) string { return k })
	join.StreamsLeft(orders, payments, join.Within(time.Minute, 0), func(_ string, o rekeyedOrder, p *string) string {
		if p == nil {
			return o.Item + "+null"
		}
		return o.Item + "+" + *p
	}, join.Named("paid")).To("out")
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}

	t0 := time.UnixMilli(1_700_000_000_000)
	rec := func(topic string, key, value []byte) *kgo.Record {
		return &kgo.Record{Topic: topic, Key: key, Value: value, Timestamp: t0}
	}
	book, err := json.Marshal(rekeyedOrder{Item: "book"})
	if err != nil {
		t.Fatal(err)
	}
	lamp, err := json.Marshal(rekeyedOrder{Item: "lamp"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Produce(ctx,
		rec("orders", []byte("o2"), nil),   // tombstone: dropped by the join
		rec("orders", nil, lamp),           // null key: joined at once
		rec("orders", []byte("o1"), book),  // joins the payment of o1
		rec("payments", nil, []byte("r")),  // null key: dropped before the repartition topic
		rec("payments", []byte("o1"), nil), // tombstone: dropped by the join
		rec("payments", []byte("o1"), []byte("paid")),
	); err != nil {
		t.Fatal(err)
	}

	a, err := strata.New(top, testConfig(t, c, app))
	if err != nil {
		t.Fatal(err)
	}
	r := start(t, a)
	out, err := c.Consume(ctx, "out", 2)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, rec := range out {
		k := string(rec.Key)
		if rec.Key == nil {
			k = "null"
		}
		got = append(got, k+":"+string(rec.Value))
	}
	slices.Sort(got)
	if want := []string{"null:lamp+null", "o1:book+paid"}; !slices.Equal(got, want) {
		t.Errorf("out %q, want %q", got, want)
	}
	if n := a.Metrics().DroppedRecords; n != 3 {
		t.Errorf("dropped %d records, want the 2 tombstones and the right side's null key", n)
	}
	r.stopAndWait(t)

	topics, err := c.Admin().ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{app + "-paid-left-repartition", app + "-paid-right-repartition"} {
		if _, ok := topics[name]; !ok {
			t.Errorf("repartition topic %q was not created; topics: %v", name, topics.Names())
		}
	}
}
