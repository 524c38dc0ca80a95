package strata_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/embedded"
)

// TestSourcePartitionsChangedStopsRun: partitions added to a source topic
// while the app runs stop Run, within the check interval, with an error
// wrapping ErrPartitionsChanged that names the topic and both counts, with
// every worker stopped.
func TestSourcePartitionsChangedStopsRun(t *testing.T) {
	const interval = 100 * time.Millisecond
	t.Cleanup(strata.SetPartitionCheckInterval(interval))
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "orders", Partitions: 4}, {Name: "out"}}})
	cfg := testConfig(t, c, "partitions-changed")
	cfg.Workers = 2
	app, err := strata.New(upper(t, "orders", "out", nil), cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := start(t, app)
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	// The app runs and copies a record; nothing changed, so Run goes on.
	if err := c.Produce(ctx, &kgo.Record{Topic: "orders", Key: []byte("k"), Value: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Consume(ctx, "out", 1); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-r.done:
		t.Fatalf("Run returned before any change: %v", err)
	default:
	}

	resp, err := c.Admin().CreatePartitions(ctx, 2, "orders")
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		t.Fatal(err)
	}
	changed := time.Now()
	err = r.wait(t)
	took := time.Since(changed)
	t.Logf("Run returned %v after the change", took)
	if took > 5*time.Second {
		t.Errorf("Run returned %v after the change; the check runs every %v", took, interval)
	}
	if !errors.Is(err, strata.ErrPartitionsChanged) {
		t.Fatalf("Run = %v, want ErrPartitionsChanged", err)
	}
	if want := `source topic "orders" changed from 4 to 6 partitions`; !strings.Contains(err.Error(), want) {
		t.Fatalf("Run = %q, want it to say %q", err, want)
	}
}
