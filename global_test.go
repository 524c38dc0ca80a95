package strata_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/embedded"
	"github.com/strata-go/strata/join"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/topology"
)

// globalJoinTopology left-joins "orders" (order ID → country code) with the
// global table "countries" (country code → population) and writes
// "<order>:<population>", or "<order>:none", to "enriched".
func globalJoinTopology(t *testing.T) *topology.Topology {
	t.Helper()
	b := topology.NewBuilder()
	countries := ktable.Global(b, "countries", serde.String(), serde.Int64(), ktable.Named("countries"))
	orders := kstream.From(b, "orders", serde.String(), serde.String())
	join.StreamGlobalLeft(orders, countries,
		func(_, country string) string { return country },
		func(order, _ string, population *int64) string {
			if population == nil {
				return order + ":none"
			}
			return fmt.Sprintf("%s:%d", order, *population)
		}).To("enriched", kstream.WithSerdes(serde.String(), serde.String()))
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return top
}

// producer produces to the partitions records name.
func manualProducer(t *testing.T, c *embedded.Cluster) func(ctx context.Context, recs ...*kgo.Record) {
	cl, err := c.Client(kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return func(ctx context.Context, recs ...*kgo.Record) {
		t.Helper()
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
}

func country(code string, population uint64, partition int32) *kgo.Record {
	return &kgo.Record{Topic: "countries", Partition: partition, Key: []byte(code), Value: binary.BigEndian.AppendUint64(nil, population)}
}

func order(id, country string, partition int32) *kgo.Record {
	return &kgo.Record{Topic: "orders", Partition: partition, Key: []byte(id), Value: []byte(country)}
}

// outputReader reads "enriched" from the start, one record at a time.
func outputReader(t *testing.T, c *embedded.Cluster) func(ctx context.Context) *kgo.Record {
	cl, err := c.Client(
		kgo.ConsumeTopics("enriched"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.FetchMaxWait(200*time.Millisecond),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	var buf []*kgo.Record
	return func(ctx context.Context) *kgo.Record {
		t.Helper()
		for len(buf) == 0 {
			fetches := cl.PollRecords(ctx, 100)
			if ctx.Err() != nil {
				t.Fatalf("read enriched: %v", ctx.Err())
			}
			buf = fetches.Records()
		}
		r := buf[0]
		buf = buf[1:]
		return r
	}
}

// A stream joined with a global table on two instances: each instance
// restores every partition of the table's three, so orders processed by
// either find every country; a table update made while the apps run reaches
// the orders processed after it.
func TestGlobalTableJoin(t *testing.T) {
	for _, g := range []strata.Guarantee{strata.AtLeastOnce, strata.ExactlyOnce} {
		t.Run(g.String(), func(t *testing.T) { testGlobalTableJoin(t, g) })
	}
}

func testGlobalTableJoin(t *testing.T, guarantee strata.Guarantee) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{
		{Name: "countries", Partitions: 3}, {Name: "orders", Partitions: 2}, {Name: "enriched"},
	}})
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	produce := manualProducer(t, c)
	for i := range 9 {
		produce(ctx, country(fmt.Sprintf("c%d", i), uint64(1000+i), int32(i%3)))
	}
	top := globalJoinTopology(t)
	var apps []*strata.App
	for range 2 {
		cfg := testConfig(t, c, "global-join")
		cfg.Guarantee = guarantee
		app, err := strata.New(top, cfg)
		if err != nil {
			t.Fatal(err)
		}
		apps = append(apps, app)
	}
	var runs []*running
	for _, app := range apps {
		runs = append(runs, start(t, app))
	}

	// Orders on both partitions, referencing countries of all three, and
	// one unknown country.
	want := map[string]string{}
	for i := range 20 {
		id := fmt.Sprintf("o%02d", i)
		code := fmt.Sprintf("c%d", i%9)
		want[id] = fmt.Sprintf("%s:%d", id, 1000+i%9)
		produce(ctx, order(id, code, int32(i%2)))
	}
	produce(ctx, order("o99", "c99", 1))
	want["o99"] = "o99:none"
	read := outputReader(t, c)
	got := map[string]string{}
	for len(got) < len(want) {
		r := read(ctx)
		got[string(r.Key)] = string(r.Value)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("enriched orders:\n got %v\nwant %v", got, want)
	}

	// Renaming a country while the apps run: orders keep finding the old
	// population until their instance has read the update, then the new
	// one, never the old one again on that partition.
	produce(ctx, country("c4", 4444, 1))
	var updated [2]bool
	for n := 0; !updated[0] || !updated[1]; n++ {
		if n == 200 {
			t.Fatalf("orders after the update still find the old population (partition 0 updated: %v, partition 1: %v)", updated[0], updated[1])
		}
		p := int32(n % 2)
		id := fmt.Sprintf("u%03d", n)
		produce(ctx, order(id, "c4", p))
		var r *kgo.Record
		for r == nil || string(r.Key) != id {
			r = read(ctx)
		}
		switch string(r.Value) {
		case id + ":4444":
			updated[p] = true
		case id + ":1004":
			if updated[p] {
				t.Fatalf("order %s found the old population after an earlier order of partition %d found the new one", id, p)
			}
		default:
			t.Fatalf("order %s: %s", id, r.Value)
		}
	}
	for _, r := range runs {
		r.stopAndWait(t)
	}
	for i, app := range apps {
		m := app.Metrics()
		// 9, or 10 for an instance that started after the update: a
		// partition left out would leave at most 7.
		if m.RestoredRecords < 9 {
			t.Errorf("instance %d restored %d global records, want all 9 (or 10) of the table's 3 partitions", i, m.RestoredRecords)
		}
	}
	if p0, p1 := apps[0].Metrics().Processed, apps[1].Metrics().Processed; p0+p1 < 21 {
		t.Errorf("the instances processed %d + %d orders, want at least 21", p0, p1)
	}
}

// A clean stop checkpoints the global store: the next start, on the same
// state directory, restores only what was written to the table's topic
// since, and still has the rest.
func TestGlobalTableCheckpoint(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{
		{Name: "countries", Partitions: 3}, {Name: "orders"}, {Name: "enriched"},
	}})
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	produce := manualProducer(t, c)
	for i := range 9 {
		produce(ctx, country(fmt.Sprintf("c%d", i), uint64(1000+i), int32(i%3)))
	}
	cfg := testConfig(t, c, "global-checkpoint")
	read := outputReader(t, c)
	expect := func(id, want string) {
		t.Helper()
		if r := read(ctx); string(r.Key) != id || string(r.Value) != want {
			t.Fatalf("enriched %s=%s, want %s=%s", r.Key, r.Value, id, want)
		}
	}

	first, err := strata.New(globalJoinTopology(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := start(t, first)
	produce(ctx, order("o1", "c1", 0))
	expect("o1", "o1:1001")
	r.stopAndWait(t)
	if n := first.Metrics().RestoredRecords; n != 9 {
		t.Fatalf("first start restored %d records, want 9", n)
	}
	cp, err := os.ReadFile(filepath.Join(cfg.StateDir, cfg.ApplicationID, "global", ".checkpoint"))
	if err != nil {
		t.Fatalf("global checkpoint: %v", err)
	}
	for p := range 3 {
		if line := fmt.Sprintf("countries-%d 3\n", p); !strings.Contains(string(cp), line) {
			t.Errorf("global checkpoint %q lacks %q", cp, line)
		}
	}

	// While the app is down: an update, a deletion and a new country.
	produce(ctx, country("c0", 2000, 0),
		&kgo.Record{Topic: "countries", Partition: 2, Key: []byte("c2")},
		country("c9", 1009, 1))
	listener := &restoreCounter{}
	cfg.RestoreListener = listener
	second, err := strata.New(globalJoinTopology(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	r = start(t, second)
	produce(ctx, order("o2", "c0", 0), order("o3", "c2", 0), order("o4", "c5", 0), order("o5", "c9", 0))
	expect("o2", "o2:2000")
	expect("o3", "o3:none")
	expect("o4", "o4:1005")
	expect("o5", "o5:1009")
	r.stopAndWait(t)
	if n := second.Metrics().RestoredRecords; n != 3 {
		t.Errorf("second start restored %d records, want only the 3 written since the checkpoint", n)
	}
	// The listener heard of each partition's restoration: from the
	// checkpoint's offset 3, one record each.
	listener.mu.Lock()
	defer listener.mu.Unlock()
	for p := range 3 {
		key := fmt.Sprintf("countries/global_%d", p)
		if start, ok := listener.starts[key]; !ok || start != 3 {
			t.Errorf("restoration of %s started at %d (reported: %v), want 3", key, start, ok)
		}
		if n, ok := listener.ends[key]; !ok || n != 1 {
			t.Errorf("restoration of %s ended with %d records (reported: %v), want 1", key, n, ok)
		}
	}
	if len(listener.starts) != 3 || len(listener.ends) != 3 {
		t.Errorf("listener heard of %v starts and %v ends, want 3 partitions", listener.starts, listener.ends)
	}
}

// A global table update that cannot be applied, under BadRecordFail, stops
// the app with an error.
func TestGlobalTableFailureStopsApp(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{
		{Name: "countries", Partitions: 3}, {Name: "orders"}, {Name: "enriched"},
	}})
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	produce := manualProducer(t, c)
	produce(ctx, country("c1", 1001, 1))
	app, err := strata.New(globalJoinTopology(t), testConfig(t, c, "global-failure"))
	if err != nil {
		t.Fatal(err)
	}
	r := start(t, app)
	// Once an order is joined, the global store is restored and the
	// global thread applies updates.
	produce(ctx, order("o1", "c1", 0))
	read := outputReader(t, c)
	if rec := read(ctx); string(rec.Value) != "o1:1001" {
		t.Fatalf("enriched %s, want o1:1001", rec.Value)
	}
	produce(ctx, &kgo.Record{Topic: "countries", Partition: 2, Key: []byte("c2"), Value: []byte{1, 2, 3}})
	err = r.wait(t)
	if err == nil || !strings.Contains(err.Error(), "global") || !strings.Contains(err.Error(), "countries") {
		t.Fatalf("Run returned %v, want the global thread's error about the bad countries record", err)
	}
}

// A global checkpoint past the end of its partition (the topic was
// recreated, say) does not fit the topic: the global state is wiped and
// restored from the beginning.
func TestGlobalTableStaleCheckpoint(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{
		{Name: "countries", Partitions: 3}, {Name: "orders"}, {Name: "enriched"},
	}})
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	produce := manualProducer(t, c)
	produce(ctx, country("c0", 1000, 0), country("c1", 1001, 1), country("c2", 1002, 2))
	cfg := testConfig(t, c, "global-stale")
	dir := filepath.Join(cfg.StateDir, cfg.ApplicationID, "global")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".checkpoint"), []byte("strata-checkpoint 1\ncountries-0 50\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	app, err := strata.New(globalJoinTopology(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := start(t, app)
	produce(ctx, order("o1", "c0", 0))
	if rec := outputReader(t, c)(ctx); string(rec.Value) != "o1:1000" {
		t.Fatalf("enriched %s, want o1:1000", rec.Value)
	}
	r.stopAndWait(t)
	if n := app.Metrics().RestoredRecords; n != 3 {
		t.Errorf("restored %d records, want all 3 after wiping the stale state", n)
	}
}

// A global table whose topic does not exist stops the app at startup,
// naming the topic.
func TestGlobalTableMissingTopic(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "orders"}, {Name: "enriched"}}})
	app, err := strata.New(globalJoinTopology(t), testConfig(t, c, "global-missing"))
	if err != nil {
		t.Fatal(err)
	}
	err = start(t, app).wait(t)
	if err == nil || !strings.Contains(err.Error(), `global table topics do not exist: ["countries"]`) {
		t.Fatalf("Run: %v, want an error naming the missing global topic", err)
	}
}

// globalUpdater is a global store's update processor (the processor API's
// addGlobalStore): it stores each record and reports the store's row "a".
type globalUpdater struct {
	store state.KeyValueStore[string, string]
	seen  chan<- string
}

func (u *globalUpdater) Init(ctx topology.Context[string, string]) error {
	var err error
	u.store, err = state.LookupKeyValue[string, string](ctx, "g")
	return err
}

func (u *globalUpdater) Process(r topology.Record[string, string]) error {
	if err := u.store.Put(r.Key, r.Value); err != nil {
		return err
	}
	a, _, err := u.store.Get("a")
	u.seen <- r.Key + " sees a=" + a
	return err
}

func (u *globalUpdater) Close() error { return nil }

// A topology of a global store alone, added with topology.AddGlobalStore:
// the app restores the store (the raw records), then runs the update
// processor for each record that arrives, until it is stopped.
func TestGlobalStoreOnlyTopology(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "g-topic", Partitions: 3}}})
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	produce := manualProducer(t, c)
	produce(ctx,
		&kgo.Record{Topic: "g-topic", Partition: 0, Key: []byte("a"), Value: []byte("1")},
		&kgo.Record{Topic: "g-topic", Partition: 1, Key: []byte("b"), Value: []byte("2")})
	seen := make(chan string, 1)
	b := topology.NewBuilder()
	state.AddKeyValueStore(b, "g", serde.String(), serde.String(), state.Logging(false))
	topology.AddGlobalStore(b, "g", "g-source",
		topology.Source[string, string]{Topics: []string{"g-topic"}, KeySerde: serde.String(), ValueSerde: serde.String()},
		"g-update", func() topology.Processor[string, string, string, string] { return &globalUpdater{seen: seen} })
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, c, "global-only")
	restored := make(chan struct{})
	cfg.Logger = slog.New(onMessage{cfg.Logger.Handler(), "restored global stores", restored, &sync.Once{}})
	app, err := strata.New(top, cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := start(t, app)
	// Once restored, a new record goes through the update processor.
	select {
	case <-restored:
	case <-ctx.Done():
		t.Fatal("the global store was never restored")
	}
	produce(ctx, &kgo.Record{Topic: "g-topic", Partition: 2, Key: []byte("c"), Value: []byte("3")})
	select {
	case got := <-seen:
		if got != "c sees a=1" {
			t.Errorf("update processor: %q, want %q", got, "c sees a=1")
		}
	case <-ctx.Done():
		t.Fatal("the update processor never ran")
	}
	r.stopAndWait(t)
	if n := app.Metrics().RestoredRecords; n != 2 {
		t.Errorf("restored %d records, want 2", n)
	}
}

// onMessage is a log handler that closes done when a record with message msg
// is logged, then hands every record to next.
type onMessage struct {
	next slog.Handler
	msg  string
	done chan struct{}
	once *sync.Once
}

func (h onMessage) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h onMessage) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == h.msg {
		h.once.Do(func() { close(h.done) })
	}
	return h.next.Handle(ctx, r)
}

func (h onMessage) WithAttrs(attrs []slog.Attr) slog.Handler {
	return onMessage{h.next.WithAttrs(attrs), h.msg, h.done, h.once}
}

func (h onMessage) WithGroup(name string) slog.Handler {
	return onMessage{h.next.WithGroup(name), h.msg, h.done, h.once}
}
