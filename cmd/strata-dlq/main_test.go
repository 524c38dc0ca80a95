package main

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata/deadletter"
	"github.com/strata-go/strata/embedded"
)

func TestListAndReplay(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "orders"}, {Name: "dlq"}}})
	at := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	var dls []*kgo.Record
	for i, reason := range []string{deadletter.ReasonDeserialization, deadletter.ReasonProcessing} {
		r := &kgo.Record{Topic: "orders", Offset: int64(i), Key: []byte{'a' + byte(i)}, Value: []byte("v"), Timestamp: at}
		dls = append(dls, deadletter.New("dlq", 1, r, reason, errors.New("failed")))
	}
	if err := c.Produce(t.Context(), dls...); err != nil {
		t.Fatal(err)
	}
	brokers := "-brokers=" + strings.Join(c.Addrs(), ",")

	var out strings.Builder
	if err := run(t.Context(), []string{brokers, "-topic=dlq", "list"}, &out); err != nil {
		t.Fatal(err)
	}
	want := `orders[0]@0 2026-11-22T10:00:00.000Z deserialization: failed key="a" value="v"
orders[0]@1 2026-11-22T10:00:00.000Z processing: failed key="b" value="v"
`
	if out.String() != want {
		t.Errorf("list printed\n%s\nwant\n%s", out.String(), want)
	}

	out.Reset()
	if err := run(t.Context(), []string{brokers, "-topic=dlq", "-reason=processing", "replay"}, &out); err != nil {
		t.Fatal(err)
	}
	if out.String() != "replayed 1 records\n" {
		t.Errorf("replay printed %q", out.String())
	}
	recs, err := c.Consume(t.Context(), "orders", 1)
	if err != nil {
		t.Fatal(err)
	}
	if string(recs[0].Key) != "b" {
		t.Errorf("replayed %s, want b (the processing failure)", recs[0].Key)
	}

	for _, args := range [][]string{{brokers, "list"}, {brokers, "-topic=dlq"}, {brokers, "-topic=dlq", "drop"}} {
		if err := run(t.Context(), args, &out); err == nil {
			t.Errorf("run(%q) succeeded; want a usage error", args)
		}
	}
}
