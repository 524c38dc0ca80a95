package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata/embedded"
)

// mainOutput is what the example prints with no flags.
const mainOutput = `receipts:
  b1  12.50 Ann <ann@example.com>
  b2  18.00 Bob <bob@example.com>
  b5   7.00 (unknown customer)
  b6  15.00 Ann <ann@example.com>
  b7  11.00 Bob <bob@example.com>
payment reversals:
  b2  18.00 back to c2 (payment p2)
`

func TestMainRuns(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	if err := run(ctx, nil, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\nstderr:\n%s", err, &stderr)
	}
	if got := stdout.String(); got != mainOutput {
		t.Errorf("output:\n%s\nwant:\n%s", got, mainOutput)
	}
	if stderr.Len() > 0 {
		t.Errorf("logged at warn level or above:\n%s", &stderr)
	}
}

// TestOnKafka runs the example against a cluster of multi-partition topics
// and then reads everything the app wrote, read_committed, with a separate
// consumer: exactly the expected receipts and reversals, none twice, and
// repartition topics co-partitioned with the topics they are joined with.
func TestOnKafka(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{})
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	if err := run(ctx, []string{"-brokers", strings.Join(c.Addrs(), ",")}, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\nstderr:\n%s", err, &stderr)
	}

	var receipts []Receipt
	var reversals []Reversal
	for _, r := range readAll(ctx, t, c, ReceiptsTopic, ReversalsTopic) {
		switch r.Topic {
		case ReceiptsTopic:
			var rc Receipt
			if err := json.Unmarshal(r.Value, &rc); err != nil {
				t.Fatal(err)
			}
			if string(r.Key) == "" {
				t.Errorf("receipt %+v has no key", rc)
			}
			receipts = append(receipts, rc)
		case ReversalsTopic:
			var rv Reversal
			if err := json.Unmarshal(r.Value, &rv); err != nil {
				t.Fatal(err)
			}
			if string(r.Key) != rv.BookingID {
				t.Errorf("reversal %+v keyed %q, want its booking ID", rv, r.Key)
			}
			reversals = append(reversals, rv)
		}
	}
	sortOutputs(receipts, reversals)
	if got, want := fmt.Sprint(receipts), fmt.Sprint(ExpectedReceipts()); got != want {
		t.Errorf("receipts:\n%s\nwant:\n%s", got, want)
	}
	if got, want := fmt.Sprint(reversals), fmt.Sprint(ExpectedReversals()); got != want {
		t.Errorf("reversals:\n%s\nwant:\n%s", got, want)
	}

	topics, err := c.Admin().ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	repartitions := 0
	for name, d := range topics {
		if !strings.HasPrefix(name, ApplicationID+"-") || !strings.HasSuffix(name, "-repartition") {
			continue
		}
		repartitions++
		if len(d.Partitions) != 4 {
			t.Errorf("repartition topic %q has %d partitions, want 4 like the topics it is joined with", name, len(d.Partitions))
		}
	}
	if repartitions < 2 {
		t.Errorf("%d repartition topics, want at least 2 (payments by booking, paid rides by customer)", repartitions)
	}
}

// readAll reads topics from their start, read_committed, up to a marker it
// appends to every partition: everything written before.
func readAll(ctx context.Context, t *testing.T, c *embedded.Cluster, topics ...string) []*kgo.Record {
	t.Helper()
	var markers []*kgo.Record
	for _, topic := range topics {
		for p := range partitions[topic] {
			markers = append(markers, &kgo.Record{Topic: topic, Partition: p, Key: []byte("marker")})
		}
	}
	cl, err := c.Client(
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ConsumeTopics(topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(ctx, markers...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	var recs []*kgo.Record
	for seen := 0; seen < len(markers); {
		fetches := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("read %s: %d of %d markers: %v", topics, seen, len(markers), err)
		}
		fetches.EachRecord(func(r *kgo.Record) {
			if string(r.Key) == "marker" && r.Value == nil {
				seen++
				return
			}
			recs = append(recs, r)
		})
	}
	return recs
}
