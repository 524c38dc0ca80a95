package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/strata-go/strata/embedded"
	"github.com/strata-go/strata/examples/internal/kafkaflags"
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
	conn, err := (&kafkaflags.Flags{Brokers: strings.Join(c.Addrs(), ",")}).Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	var receipts []Receipt
	var reversals []Reversal
	for _, topic := range []string{ReceiptsTopic, ReversalsTopic} {
		recs, err := conn.ReadCommitted(ctx, topic)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
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
	}
	sortOutputs(receipts, reversals)
	if got, want := fmt.Sprint(receipts), fmt.Sprint(ExpectedReceipts()); got != want {
		t.Errorf("receipts:\n%s\nwant:\n%s", got, want)
	}
	if got, want := fmt.Sprint(reversals), fmt.Sprint(ExpectedReversals()); got != want {
		t.Errorf("reversals:\n%s\nwant:\n%s", got, want)
	}

	listed, err := c.Admin().ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	repartitions := 0
	for name, d := range listed {
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
	for _, topic := range topics {
		if !strings.HasPrefix(topic.Name, "rides-") {
			t.Errorf("topic %q is not named rides-...", topic.Name)
		}
	}
}

// TestMainRefusesUsedTopics: a second run on the same cluster finds the
// first's receipts and refuses; with -reuse it runs and prints what the
// topics hold, the first run's outputs included.
func TestMainRefusesUsedTopics(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{})
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	args := []string{"-brokers", strings.Join(c.Addrs(), ","), "-state-dir", t.TempDir()}
	var out bytes.Buffer
	if err := run(ctx, args, &out, &out); err != nil {
		t.Fatalf("first run: %v\n%s", err, &out)
	}
	err := run(ctx, args, &out, &out)
	if !errors.Is(err, kafkaflags.ErrUsed) {
		t.Fatalf("second run: %v, want %v", err, kafkaflags.ErrUsed)
	}
	out.Reset()
	if err := run(ctx, append(args, "-reuse"), &out, &out); err != nil {
		t.Fatalf("run with -reuse: %v\n%s", err, &out)
	}
	if !strings.Contains(out.String(), "b2  18.00 back to c2 (payment p2)") {
		t.Errorf("run with -reuse did not print the first run's reversal:\n%s", &out)
	}
}
