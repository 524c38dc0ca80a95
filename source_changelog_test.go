package strata_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/embedded"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/topology"
)

// lookup answers each record of a stream with the row of its key in the
// table store "users", as "<value>@<timestamp ms>", or "none".
type lookup struct {
	ctx   topology.Context[string, string]
	users state.KeyValueStore[string, state.Timestamped[int64]]
}

func (l *lookup) Init(ctx topology.Context[string, string]) error {
	l.ctx = ctx
	var err error
	l.users, err = state.LookupKeyValue[string, state.Timestamped[int64]](ctx, "users")
	return err
}

func (l *lookup) Process(r topology.Record[string, string]) error {
	row, ok, err := l.users.Get(r.Key)
	if err != nil {
		return err
	}
	answer := "none"
	if ok {
		answer = fmt.Sprintf("%d@%d", row.Value, row.Timestamp.UnixMilli())
	}
	return l.ctx.Forward(topology.WithValue(r, answer))
}

func (l *lookup) Close() error { return nil }

// sourceChangelogTopology reads "users" as a table whose source topic is its
// changelog, writes the table's updates to "users-out", and answers
// "lookups" from the table's store on "out".
func sourceChangelogTopology(t *testing.T) *topology.Topology {
	t.Helper()
	b := topology.NewBuilder()
	users := ktable.From(b, "users", serde.String(), serde.Int64(), ktable.Named("users"), ktable.SourceAsChangelog())
	users.ToStream().To("users-out")
	lookups := kstream.From(b, "lookups", serde.String(), serde.String())
	kstream.Process(lookups, func() topology.Processor[string, string, string, string] { return &lookup{} },
		kstream.WithStores("users")).To("out")
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return top
}

// A table read with SourceAsChangelog gets no changelog topic; a new
// instance restores it from the source topic, converting raw values to
// timestamped rows and skipping what processing skipped; a clean stop's
// checkpoint makes the next start restore nothing.
func TestTableSourceTopicAsChangelog(t *testing.T) {
	for _, g := range []strata.Guarantee{strata.AtLeastOnce, strata.ExactlyOnce} {
		t.Run(g.String(), func(t *testing.T) { testSourceTopicAsChangelog(t, g) })
	}
}

func testSourceTopicAsChangelog(t *testing.T, guarantee strata.Guarantee) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{
		{Name: "users", Partitions: 2}, {Name: "lookups", Partitions: 2},
		{Name: "users-out"}, {Name: "out"},
	}})
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	i64 := func(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }
	at := func(ms int64) time.Time { return time.UnixMilli(ms) }
	err := c.Produce(ctx,
		&kgo.Record{Topic: "users", Key: []byte("a"), Value: i64(1), Timestamp: at(1000)},
		&kgo.Record{Topic: "users", Key: []byte("b"), Value: i64(2), Timestamp: at(2000)},
		&kgo.Record{Topic: "users", Key: []byte("c"), Value: i64(3), Timestamp: at(3000)},
		&kgo.Record{Topic: "users", Key: []byte("d"), Value: []byte{1, 2, 3}, Timestamp: at(4000)}, // not an int64
		&kgo.Record{Topic: "users", Key: nil, Value: i64(5), Timestamp: at(5000)},
		&kgo.Record{Topic: "users", Key: []byte("c"), Value: nil, Timestamp: at(6000)}, // deletes c
	)
	if err != nil {
		t.Fatal(err)
	}
	config := func(stateDir string) strata.Config {
		cfg := testConfig(t, c, "source-changelog")
		cfg.OnBadRecord = topology.BadRecordSkip
		cfg.DisableCache = true
		cfg.Guarantee = guarantee
		if stateDir != "" {
			cfg.StateDir = stateDir
		}
		return cfg
	}
	newApp := func(cfg strata.Config) *strata.App {
		app, err := strata.New(sourceChangelogTopology(t), cfg)
		if err != nil {
			t.Fatal(err)
		}
		return app
	}

	// First run: the table is built by processing. a, b, c and c's
	// deletion reach users-out; the bad record and the null key do not.
	first := newApp(config(""))
	r := start(t, first)
	if recs, err := c.Consume(ctx, "users-out", 4); err != nil {
		t.Fatalf("consume users-out: %v (got %d)", err, len(recs))
	}
	r.stopAndWait(t)
	topics, err := c.Admin().ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for name := range topics {
		if name == "source-changelog-users-changelog" {
			t.Errorf("topic %q exists: the source topic should serve as the changelog", name)
		}
	}

	// Second run, on a new state directory: the store is restored from
	// "users" up to the committed offsets.
	cfg := config("")
	second := newApp(cfg)
	r = start(t, second)
	if err := c.Produce(ctx,
		&kgo.Record{Topic: "lookups", Key: []byte("a"), Value: []byte("?"), Timestamp: at(7000)},
		&kgo.Record{Topic: "lookups", Key: []byte("b"), Value: []byte("?"), Timestamp: at(7000)},
		&kgo.Record{Topic: "lookups", Key: []byte("c"), Value: []byte("?"), Timestamp: at(7000)},
		&kgo.Record{Topic: "lookups", Key: []byte("d"), Value: []byte("?"), Timestamp: at(7000)},
	); err != nil {
		t.Fatal(err)
	}
	recs, err := c.Consume(ctx, "out", 4)
	if err != nil {
		t.Fatalf("consume out: %v (got %d)", err, len(recs))
	}
	r.stopAndWait(t)
	got := map[string]string{}
	for _, rec := range recs {
		got[string(rec.Key)] = string(rec.Value)
	}
	want := map[string]string{"a": "1@1000", "b": "2@2000", "c": "none", "d": "none"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("lookups after restoring from the source topic: %v, want %v", got, want)
	}
	m := second.Metrics()
	if m.RestoredRecords != 6 || m.SkippedRecords != 1 {
		t.Errorf("second run restored %d records and skipped %d, want 6 and 1 (the undecodable value)", m.RestoredRecords, m.SkippedRecords)
	}

	// Third run, on the second's state directory: its checkpoint covers
	// everything committed, so nothing is restored.
	third := newApp(config(cfg.StateDir))
	r = start(t, third)
	if err := c.Produce(ctx, &kgo.Record{Topic: "lookups", Key: []byte("a"), Value: []byte("?"), Timestamp: at(8000)}); err != nil {
		t.Fatal(err)
	}
	recs, err = c.Consume(ctx, "out", 5)
	if err != nil {
		t.Fatalf("consume out: %v (got %d)", err, len(recs))
	}
	r.stopAndWait(t)
	if last := recs[4]; string(last.Key) != "a" || string(last.Value) != "1@1000" {
		t.Errorf("third run answered %s=%s, want a=1@1000", last.Key, last.Value)
	}
	if n := third.Metrics().RestoredRecords; n != 0 {
		t.Errorf("third run restored %d records, want 0 after a clean stop's checkpoint", n)
	}
}
