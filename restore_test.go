package strata_test

import (
	"context"
	"errors"
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
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/topology"
)

// counter counts records per key in a key-value store and forwards the new
// count. Before its first record it reports the store's contents, so a test
// sees what restoration produced before any processing.
type counter struct {
	ctx      topology.Context[string, int64]
	store    state.KeyValueStore[string, int64]
	snapshot func(task topology.TaskID, contents map[string]int64)
	first    bool
}

func (c *counter) Init(ctx topology.Context[string, int64]) error {
	c.ctx = ctx
	s, err := state.LookupKeyValue[string, int64](ctx, "counts")
	c.store, c.first = s, true
	return err
}

func (c *counter) Process(r topology.Record[string, string]) error {
	if c.first && c.snapshot != nil {
		c.first = false
		contents := map[string]int64{}
		it, err := c.store.All()
		if err != nil {
			return err
		}
		for it.Next() {
			contents[it.Key()] = it.Value()
		}
		if err := it.Close(); err != nil {
			return err
		}
		c.snapshot(c.ctx.TaskID(), contents)
	}
	n, _, err := c.store.Get(r.Key)
	if err != nil {
		return err
	}
	n++
	if err := c.store.Put(r.Key, n); err != nil {
		return err
	}
	return c.ctx.Forward(topology.WithValue(r, n))
}

func (c *counter) Close() error { return nil }

func countTopology(t *testing.T, snapshot func(topology.TaskID, map[string]int64), opts ...state.Option) *topology.Topology {
	t.Helper()
	b := topology.NewBuilder()
	state.AddKeyValueStore(b, "counts", serde.String(), serde.Int64(), opts...)
	topology.AddSource(b, "src", topology.Source[string, string]{Topics: []string{"in"}, KeySerde: serde.String(), ValueSerde: serde.String()})
	topology.AddProcessor(b, "count", func() topology.Processor[string, string, string, int64] {
		return &counter{snapshot: snapshot}
	}, "src")
	b.ConnectStores("count", "counts")
	topology.AddSink(b, "sink", topology.Sink[string, int64]{Topic: "out", KeySerde: serde.String(), ValueSerde: serde.Int64()}, "count")
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return top
}

// restoreCounter records restoration as the listener sees it.
type restoreCounter struct {
	mu       sync.Mutex
	starts   map[string]int64 // store/task -> start offset
	ends     map[string]int64 // store/task -> records restored
	restored int64
}

func (l *restoreCounter) OnRestoreStart(task topology.TaskID, store, _ string, start, _ int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.starts == nil {
		l.starts = map[string]int64{}
	}
	l.starts[fmt.Sprintf("%s/%s", store, task)] = start
}

func (l *restoreCounter) OnBatchRestored(topology.TaskID, string, int64, int) {}

func (l *restoreCounter) OnRestoreEnd(task topology.TaskID, store string, n int64, _ time.Duration) {
	l.mu.Lock()
	l.restored += n
	if l.ends == nil {
		l.ends = map[string]int64{}
	}
	l.ends[fmt.Sprintf("%s/%s", store, task)] = n
	l.mu.Unlock()
}

// runUntil runs app until out holds want records in total (counting from
// the start of the topic), then stops it cleanly.
func runUntil(t *testing.T, c *embedded.Cluster, app *strata.App, want int) []*kgo.Record {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- app.Run(ctx) }()
	cctx, ccancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer ccancel()
	recs, err := c.Consume(cctx, "out", want)
	cancel()
	if runErr := <-errc; runErr != nil {
		t.Fatalf("Run: %v", runErr)
	}
	if err != nil {
		t.Fatalf("consume %d outputs: %v (got %d)", want, err, len(recs))
	}
	return recs
}

func produceKeys(t *testing.T, c *embedded.Cluster, keys []string) {
	t.Helper()
	var recs []*kgo.Record
	for _, k := range keys {
		recs = append(recs, &kgo.Record{Topic: "in", Key: []byte(k), Value: []byte("x")})
	}
	if err := c.Produce(context.Background(), recs...); err != nil {
		t.Fatal(err)
	}
}

func TestRestoreFromChangelog(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "in", Partitions: 2}, {Name: "out", Partitions: 2}}})
	const n = 300
	var keys []string
	want := map[string]int64{}
	for i := 0; i < n; i++ {
		k := fmt.Sprintf("k%03d", i%100)
		keys = append(keys, k)
		want[k]++
	}
	stateDir := t.TempDir()
	newApp := func(snapshot func(topology.TaskID, map[string]int64), l strata.RestoreListener) *strata.App {
		app, err := strata.New(countTopology(t, snapshot), strata.Config{
			ApplicationID:   "restore",
			Brokers:         c.Addrs(),
			StateDir:        stateDir,
			RestoreListener: l,
			Logger:          slog.New(slog.DiscardHandler),
		})
		if err != nil {
			t.Fatal(err)
		}
		return app
	}

	// Run 1 builds the state: 100 keys, 300 changelog records.
	produceKeys(t, c, keys)
	runUntil(t, c, newApp(nil, nil), n)

	// Run 2, state directory deleted: every store restores the whole
	// changelog before the task sees its next record.
	if err := os.RemoveAll(stateDir); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string]int64{}
	snap := func(_ topology.TaskID, contents map[string]int64) {
		mu.Lock()
		defer mu.Unlock()
		for k, v := range contents {
			seen[k] = v
		}
	}
	l2 := &restoreCounter{}
	app2 := newApp(snap, l2)
	produceKeys(t, c, []string{"k000", "k001"}) // land in both partitions
	runUntil(t, c, app2, n+2)
	if l2.restored != n || app2.Metrics().RestoredRecords != n {
		t.Fatalf("restored %d records (metric %d), want the whole changelog: %d", l2.restored, app2.Metrics().RestoredRecords, n)
	}
	for _, start := range l2.starts {
		if start != 0 {
			t.Fatalf("with no local state, restoration must start at 0: %v", l2.starts)
		}
	}
	mu.Lock()
	for k, v := range want {
		if seen[k] != v && (k == "k000" || k == "k001") && seen[k] == 0 {
			continue // the partition's first record may be a later key
		}
	}
	mu.Unlock()
	assertSnapshotsMatch(t, seen, want)

	// Run 3, state directory kept: the clean shutdown of run 2 wrote a
	// checkpoint, so only what was written after it is replayed: nothing.
	l3 := &restoreCounter{}
	app3 := newApp(nil, l3)
	produceKeys(t, c, []string{"k002"})
	runUntil(t, c, app3, n+3)
	if l3.restored != 0 || app3.Metrics().RestoredRecords != 0 {
		t.Fatalf("with a checkpoint, restored %d records, want 0", l3.restored)
	}
	// A checkpoint that is behind replays only the tail: rewind one
	// task's checkpoint by the 5 records it wrote last and count.
	cp := rewindCheckpoint(t, stateDir, 5)
	l4 := &restoreCounter{}
	app4 := newApp(nil, l4)
	produceKeys(t, c, []string{"k003"})
	runUntil(t, c, app4, n+4)
	if l4.restored != 5 {
		t.Fatalf("checkpoint %s rewound by 5: restored %d records, want 5", cp, l4.restored)
	}
}

// assertSnapshotsMatch checks that every restored count equals the count
// the first run wrote.
func assertSnapshotsMatch(t *testing.T, seen, want map[string]int64) {
	t.Helper()
	if len(seen) != len(want) {
		t.Fatalf("restored state has %d keys, want %d", len(seen), len(want))
	}
	for k, v := range want {
		if seen[k] != v {
			t.Fatalf("restored count of %q = %d, want %d", k, seen[k], v)
		}
	}
}

// rewindCheckpoint lowers the offset in one task's checkpoint by n, in its
// file and in its database, and returns the checkpoint's path.
func rewindCheckpoint(t *testing.T, stateDir string, n int64) string {
	t.Helper()
	path := filepath.Join(stateDir, "restore", "0_0", ".checkpoint")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 {
		t.Fatalf("checkpoint %q: %q", path, b)
	}
	var topic string
	var off int64
	if _, err := fmt.Sscanf(lines[1], "%s %d", &topic, &off); err != nil {
		t.Fatal(err)
	}
	if err := strata.SetCheckpoint(filepath.Dir(path), map[string]int64{topic: off - n}); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestStateDirLocked(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "in"}, {Name: "out"}}})
	dir := t.TempDir()
	cfg := strata.Config{ApplicationID: "locked", Brokers: c.Addrs(), StateDir: dir, Logger: testLogger(t)}
	app1, err := strata.New(countTopology(t, nil), cfg)
	if err != nil {
		t.Fatal(err)
	}
	produceKeys(t, c, []string{"a"})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- app1.Run(ctx) }()
	// Once app1 produced output it holds the lock.
	cctx, ccancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer ccancel()
	if _, err := c.Consume(cctx, "out", 1); err != nil {
		cancel()
		t.Fatalf("first instance produced nothing: %v; Run: %v", err, <-errc)
	}
	defer func() {
		cancel()
		if err := <-errc; err != nil {
			t.Error(err)
		}
	}()
	app2, err := strata.New(countTopology(t, nil), cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = app2.Run(context.Background())
	if !errors.Is(err, strata.ErrStateDirLocked) || !strings.Contains(err.Error(), filepath.Join(dir, "locked")) {
		t.Fatalf("second instance on one state dir: %v, want ErrStateDirLocked naming the directory", err)
	}
}

func TestStateDirNotWritable(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "in"}, {Name: "out"}}})
	file := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	app, err := strata.New(countTopology(t, nil), strata.Config{ApplicationID: "unwritable", Brokers: c.Addrs(), StateDir: file, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	err = app.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "state directory") || !strings.Contains(err.Error(), file) {
		t.Fatalf("Run with a file as state dir: %v, want an error naming the state directory", err)
	}
}

func TestChangelogWithWrongPartitionCount(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{
		{Name: "in", Partitions: 3}, {Name: "out"},
		{Name: "wrong-counts-changelog", Partitions: 2},
	}})
	app, err := strata.New(countTopology(t, nil), strata.Config{ApplicationID: "wrong", Brokers: c.Addrs(), StateDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	err = app.Run(context.Background())
	for _, want := range []string{`"wrong-counts-changelog" has 2 partitions`, `store "counts"`, "needs 3"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("Run = %v, want an error containing %q", err, want)
		}
	}
}

func TestCorruptChangelogRecord(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{
		{Name: "in"}, {Name: "out"},
		{Name: "corrupt-counts-changelog", Configs: map[string]*string{"cleanup.policy": ptr("compact")}},
	}})
	// A record with a null key cannot be a store entry.
	if err := c.Produce(context.Background(), &kgo.Record{Topic: "corrupt-counts-changelog", Value: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	produceKeys(t, c, []string{"a"})
	app, err := strata.New(countTopology(t, nil), strata.Config{ApplicationID: "corrupt", Brokers: c.Addrs(), StateDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = app.Run(ctx)
	for _, want := range []string{`store "counts"`, "task 0_0", "corrupt changelog record", "corrupt-counts-changelog[0]@0"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("Run = %v, want an error containing %q", err, want)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// TestStatelessAppHoldsNoStateDir runs two stateless instances on one state
// directory: with no stores to keep, neither creates or locks it.
func TestStatelessAppHoldsNoStateDir(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "in", Partitions: 2}, {Name: "out"}}})
	dir := filepath.Join(t.TempDir(), "never-created")
	b := topology.NewBuilder()
	topology.AddSource(b, "src", topology.Source[string, string]{Topics: []string{"in"}, KeySerde: serde.String(), ValueSerde: serde.String()})
	topology.AddSink(b, "sink", topology.Sink[string, string]{Topic: "out", KeySerde: serde.String(), ValueSerde: serde.String()}, "src")
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	cfg := strata.Config{ApplicationID: "stateless", Brokers: c.Addrs(), StateDir: dir, Logger: slog.New(slog.DiscardHandler)}
	app1, err := strata.New(top, cfg)
	if err != nil {
		t.Fatal(err)
	}
	app2, err := strata.New(top, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errs := make(chan error, 2)
	go func() { errs <- app1.Run(ctx) }()
	go func() { errs <- app2.Run(ctx) }()
	produceKeys(t, c, []string{"a", "b", "c", "d"})
	cctx, ccancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer ccancel()
	if _, err := c.Consume(cctx, "out", 4); err != nil {
		cancel()
		t.Fatalf("two stateless instances did not process: %v", err)
	}
	cancel()
	for i := 0; i < 2; i++ {
		if err := <-errs; err != nil {
			t.Fatalf("Run: %v", err)
		}
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a stateless app created its state directory: %v", err)
	}
}
