package strata_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/embedded"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
)

// TestDroppedRecordsMetric: records with null keys cannot be repartitioned;
// the app drops them and counts them in Metrics.
func TestDroppedRecordsMetric(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "in", Partitions: 2}, {Name: "out", Partitions: 2}}})
	b := topology.NewBuilder()
	kstream.From(b, "in", serde.String(), serde.String()).Repartition(kstream.Named("rekey")).To("out")
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	app, err := strata.New(top, strata.Config{ApplicationID: "dropped", Brokers: c.Addrs(), StateDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	recs := []*kgo.Record{
		{Topic: "in", Value: []byte("no key 1")},
		{Topic: "in", Key: []byte("a"), Value: []byte("keyed")},
		{Topic: "in", Value: []byte("no key 2")},
		{Topic: "in", Key: []byte("b"), Value: []byte("keyed")},
	}
	if err := c.Produce(context.Background(), recs...); err != nil {
		t.Fatal(err)
	}
	runUntil(t, c, app, 2)
	if m := app.Metrics(); m.DroppedRecords != 2 {
		t.Fatalf("Metrics() = %+v, want 2 dropped records", m)
	}
}

// TestRepartitionTopicsArePurged: once processed records' offsets are
// committed, the runtime deletes them from the repartition topic.
func TestRepartitionTopicsArePurged(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "in", Partitions: 2}, {Name: "out", Partitions: 2}}})
	b := topology.NewBuilder()
	kstream.From(b, "in", serde.String(), serde.String()).Repartition(kstream.Named("rekey")).To("out")
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	app, err := strata.New(top, strata.Config{ApplicationID: "purge", Brokers: c.Addrs(), StateDir: t.TempDir(), Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	produceKeys(t, c, []string{"a", "b", "c", "d", "e", "f"})
	runUntil(t, c, app, 6) // the clean stop commits, then purges
	starts, err := c.Admin().ListStartOffsets(context.Background(), "purge-rekey-repartition")
	if err != nil {
		t.Fatal(err)
	}
	var purged int64
	starts.Each(func(o kadm.ListedOffset) { purged += o.Offset })
	if purged != 6 {
		t.Fatalf("the repartition topic starts %d records in, want all 6 purged", purged)
	}
}
