package kafkaflags

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata/embedded"
)

// TestConnectFresh: a used output topic is refused unless reuse; a used
// input topic is not.
func TestConnectFresh(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{
		{Name: "fresh-in", Partitions: 1}, {Name: "fresh-out", Partitions: 1},
	}})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	in := Topic{Name: "fresh-in", Partitions: 1}
	out := Topic{Name: "fresh-out", Partitions: 1, Output: true}
	f := &Flags{Brokers: strings.Join(c.Addrs(), ",")}
	conn, err := f.ConnectFresh(ctx, false, in, out)
	if err != nil {
		t.Fatalf("ConnectFresh with unused topics: %v", err)
	}
	conn.Close()
	if err := c.Produce(ctx, &kgo.Record{Topic: "fresh-in", Value: []byte("v")}); err != nil {
		t.Fatal(err)
	}
	if conn, err = f.ConnectFresh(ctx, false, in, out); err != nil {
		t.Fatalf("ConnectFresh with a used input topic: %v", err)
	}
	conn.Close()
	if err := c.Produce(ctx, &kgo.Record{Topic: "fresh-out", Value: []byte("v")}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.ConnectFresh(ctx, false, in, out); !errors.Is(err, ErrUsed) || !strings.Contains(err.Error(), "fresh-out") {
		t.Errorf("ConnectFresh with a used output topic: %v, want ErrUsed naming fresh-out", err)
	}
	if conn, err = f.ConnectFresh(ctx, true, in, out); err != nil {
		t.Fatalf("ConnectFresh with reuse: %v", err)
	}
	conn.Close()
}
