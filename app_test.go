package strata_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/embedded"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
)

// testTimeout bounds each test that talks to a broker.
const testTimeout = 30 * time.Second

// testLogger logs to t, shown with -v or on failure.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// testConfig is a Config for c with a state directory of the test's own.
func testConfig(t *testing.T, c *embedded.Cluster, appID string) strata.Config {
	return strata.Config{
		ApplicationID: appID,
		Brokers:       c.Addrs(),
		Logger:        testLogger(t),
		StateDir:      t.TempDir(),
		// kfake answers a fetch of partitions that were empty when it
		// arrived only at the fetch's max wait (5 s by default), even
		// when records arrive sooner; tests that produce while the app
		// runs would wait that long for them.
		ClientOptions: []kgo.Opt{kgo.FetchMaxWait(200 * time.Millisecond)},
	}
}

// running is an App running in a goroutine.
type running struct {
	app  *strata.App
	stop context.CancelFunc
	done chan error
}

// start runs app until the returned stop is called or the test ends.
func start(t *testing.T, app *strata.App) *running {
	ctx, stop := context.WithCancel(context.Background())
	r := &running{app: app, stop: stop, done: make(chan error, 1)}
	go func() { r.done <- app.Run(ctx) }()
	t.Cleanup(func() {
		stop()
		<-r.done
	})
	return r
}

// wait returns Run's result, failing the test if it takes too long.
func (r *running) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.done:
		r.done <- err // for the cleanup
		return err
	case <-time.After(testTimeout):
		t.Fatal("Run did not return")
		return nil
	}
}

// stopAndWait cancels Run and requires it to return nil.
func (r *running) stopAndWait(t *testing.T) {
	t.Helper()
	r.stop()
	if err := r.wait(t); err != nil {
		t.Fatalf("Run after cancel: %v, want nil", err)
	}
}

// upper builds in → MapValues(upper-case) → out. each, if not nil, is
// called with each value before it is mapped.
func upper(t *testing.T, in, out string, each func(string)) *topology.Topology {
	t.Helper()
	b := topology.NewBuilder()
	src := kstream.From(b, in, serde.String(), serde.String())
	kstream.MapValues(src, func(_, v string) string {
		if each != nil {
			each(v)
		}
		return strings.ToUpper(v)
	}).To(out)
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return top
}

func TestConfigValidation(t *testing.T) {
	top := upper(t, "in", "out", nil)
	ok := strata.Config{ApplicationID: "app", Brokers: []string{"localhost:9092"}}
	if _, err := strata.New(top, ok); err != nil {
		t.Fatalf("New with a valid config: %v", err)
	}
	withServer := ok
	withServer.ApplicationServer = "[::1]:8080"
	if _, err := strata.New(top, withServer); err != nil {
		t.Fatalf("New with an ApplicationServer: %v", err)
	}
	tests := []struct {
		field  string
		change func(c *strata.Config)
	}{
		{"ApplicationID", func(c *strata.Config) { c.ApplicationID = "" }},
		{"ApplicationID", func(c *strata.Config) { c.ApplicationID = strings.Repeat("a", 201) }},
		{"ApplicationID", func(c *strata.Config) { c.ApplicationID = "my app" }},
		{"ApplicationID", func(c *strata.Config) { c.ApplicationID = "app/1" }},
		{"ApplicationID", func(c *strata.Config) { c.ApplicationID = "appé" }},
		{"Brokers", func(c *strata.Config) { c.Brokers = nil }},
		{"Brokers[1]", func(c *strata.Config) { c.Brokers = []string{"localhost:9092", ""} }},
		{"CommitInterval", func(c *strata.Config) { c.CommitInterval = -time.Second }},
		{"MaxTaskIdle", func(c *strata.Config) { c.MaxTaskIdle = time.Second }},
		{"PollTimeout", func(c *strata.Config) { c.PollTimeout = -time.Millisecond }},
		{"MaxPollRecords", func(c *strata.Config) { c.MaxPollRecords = -1 }},
		{"OnBadRecord", func(c *strata.Config) { c.OnBadRecord = topology.BadRecordPolicy(7) }},
		{"DeadLetterTopic", func(c *strata.Config) { c.DeadLetterTopic = "dlq" }},
		{"DeadLetterTopic", func(c *strata.Config) {
			c.OnBadRecord, c.DeadLetterTopic = topology.BadRecordDeadLetter, "dead letters"
		}},
		{"OnProcessingError", func(c *strata.Config) { c.OnProcessingError = topology.BadRecordPolicy(9) }},
		{"StateMemoryBytes", func(c *strata.Config) { c.StateMemoryBytes = -1 }},
		{"StateMemoryBytes", func(c *strata.Config) { c.StateMemoryBytes = 1 << 20 }},
		{"Guarantee", func(c *strata.Config) { c.Guarantee = strata.Guarantee(7) }},
		{"InstanceID", func(c *strata.Config) { c.InstanceID = "host 1" }},
		{"CacheMaxBytes", func(c *strata.Config) { c.CacheMaxBytes = -1 }},
		{"CacheMaxBytes", func(c *strata.Config) { c.CacheMaxBytes, c.DisableCache = 1<<20, true }},
		{"ReplicationFactor", func(c *strata.Config) { c.ReplicationFactor = -2 }},
		{"Workers", func(c *strata.Config) { c.Workers = -1 }},
		{"StandbyReplicas", func(c *strata.Config) { c.StandbyReplicas = -1 }},
		{"ApplicationServer", func(c *strata.Config) { c.ApplicationServer = "localhost" }},
		{"ApplicationServer", func(c *strata.Config) { c.ApplicationServer = ":8080" }},
		{"ApplicationServer", func(c *strata.Config) { c.ApplicationServer = "localhost:http" }},
	}
	for _, tt := range tests {
		cfg := ok
		tt.change(&cfg)
		app, err := strata.New(top, cfg)
		switch {
		case err == nil:
			t.Errorf("%s: New(%+v) succeeded", tt.field, cfg)
		case !errors.Is(err, strata.ErrInvalidConfig):
			t.Errorf("%s: error %q does not wrap ErrInvalidConfig", tt.field, err)
		case !strings.Contains(err.Error(), ": "+tt.field+": "):
			t.Errorf("error %q does not name %s", err, tt.field)
		case app != nil:
			t.Errorf("%s: New returned an App with an error", tt.field)
		}
	}
	if _, err := strata.New(nil, ok); !errors.Is(err, strata.ErrInvalidConfig) {
		t.Errorf("New(nil topology) = %v, want ErrInvalidConfig", err)
	}
}

func TestRunTwice(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "in"}, {Name: "out"}}})
	app, err := strata.New(upper(t, "in", "out", nil), testConfig(t, c, "twice"))
	if err != nil {
		t.Fatal(err)
	}
	// Two concurrent calls: one runs, the other returns at once.
	a, b := start(t, app), start(t, app)
	var first *running
	select {
	case err := <-a.done:
		a.done <- err
		first = a
	case err := <-b.done:
		b.done <- err
		first = b
	case <-time.After(testTimeout):
		t.Fatal("neither Run returned")
	}
	if err := first.wait(t); !errors.Is(err, strata.ErrAlreadyRunning) {
		t.Fatalf("second Run = %v, want ErrAlreadyRunning", err)
	}
	other := a
	if first == a {
		other = b
	}
	// The other runs: it copies a record.
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	if err := c.Produce(ctx, &kgo.Record{Topic: "in", Value: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Consume(ctx, "out", 1); err != nil {
		t.Fatal(err)
	}
	other.stopAndWait(t)
	// An App runs once, even after it stopped.
	if err := app.Run(t.Context()); !errors.Is(err, strata.ErrAlreadyRunning) {
		t.Errorf("Run after Run = %v, want ErrAlreadyRunning", err)
	}
}

func TestMissingSourceTopic(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "out"}}})
	app, err := strata.New(upper(t, "no-such-input", "out", nil), testConfig(t, c, "missing-source"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	err = app.Run(ctx)
	if err == nil || !strings.Contains(err.Error(), `"no-such-input"`) {
		t.Fatalf("Run = %v, want an error naming the missing topic", err)
	}
	if err := app.Run(ctx); !errors.Is(err, strata.ErrAlreadyRunning) {
		t.Errorf("Run after a failed Run = %v, want ErrAlreadyRunning", err)
	}
}

func TestMissingOutputTopic(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "in", Partitions: 2}}})
	app, err := strata.New(upper(t, "in", "no-such-output", nil), testConfig(t, c, "missing-output"))
	if err != nil {
		t.Fatal(err)
	}
	err = start(t, app).wait(t)
	if err == nil || !strings.Contains(err.Error(), `"no-such-output"`) {
		t.Fatalf("Run = %v, want an error naming the missing topic", err)
	}
}

// badRecordSetup makes a cluster whose topic "in" holds an int64 at offset
// 0, three bytes that are no int64 at offset 1 and an int64 at offset 2,
// and an App that copies "in" to "out" with the given policy.
func badRecordSetup(t *testing.T, policy topology.BadRecordPolicy) (*embedded.Cluster, *strata.App) {
	t.Helper()
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "in"}, {Name: "out"}}})
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	err := c.Produce(ctx,
		&kgo.Record{Topic: "in", Key: []byte("a"), Value: binary.BigEndian.AppendUint64(nil, 1)},
		&kgo.Record{Topic: "in", Key: []byte("b"), Value: []byte{1, 2, 3}},
		&kgo.Record{Topic: "in", Key: []byte("c"), Value: binary.BigEndian.AppendUint64(nil, 3)},
	)
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, c, "bad-records")
	cfg.OnBadRecord = policy
	return c, copyInt64s(t, cfg)
}

// copyInt64s returns an App with cfg that copies "in" to "out", decoding
// string keys and int64 values.
func copyInt64s(t *testing.T, cfg strata.Config) *strata.App {
	t.Helper()
	b := topology.NewBuilder()
	kstream.From(b, "in", serde.String(), serde.Int64()).To("out")
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	app, err := strata.New(top, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return app
}

func TestBadRecordFail(t *testing.T) {
	_, app := badRecordSetup(t, topology.BadRecordFail)
	err := start(t, app).wait(t)
	var bad *topology.BadRecordError
	if !errors.As(err, &bad) {
		t.Fatalf("Run = %v, want a *topology.BadRecordError", err)
	}
	if bad.Topic != "in" || bad.Partition != 0 || bad.Offset != 1 || bad.Part != "value" {
		t.Errorf("BadRecordError at %s[%d]@%d (%s), want in[0]@1 (value)", bad.Topic, bad.Partition, bad.Offset, bad.Part)
	}
	if !errors.Is(err, serde.ErrInvalidLength) {
		t.Errorf("Run = %v, want it to wrap the serde's error", err)
	}
}

func TestBadRecordSkip(t *testing.T) {
	c, app := badRecordSetup(t, topology.BadRecordSkip)
	r := start(t, app)
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	recs, err := c.Consume(ctx, "out", 2)
	if err != nil {
		t.Fatal(err)
	}
	r.stopAndWait(t)
	var got []string
	for _, rec := range recs {
		got = append(got, fmt.Sprintf("%s=%d", rec.Key, binary.BigEndian.Uint64(rec.Value)))
	}
	if strings.Join(got, " ") != "a=1 c=3" {
		t.Errorf("output %q, want [a=1 c=3]", got)
	}
	if m := app.Metrics(); m.SkippedRecords != 1 || m.Processed != 2 {
		t.Errorf("Metrics() = %+v, want 1 skipped and 2 processed", m)
	}
}

// TestRestart stops an app mid-stream and starts another with the same
// application ID: every input record comes out, and, since the first app
// shut down cleanly and committed what it had processed, none comes out
// twice.
func TestRestart(t *testing.T) {
	const n = 2000
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "in", Partitions: 3}, {Name: "out", Partitions: 3}}})
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	var in []*kgo.Record
	for i := range n {
		in = append(in, &kgo.Record{Topic: "in", Key: fmt.Appendf(nil, "k%04d", i), Value: fmt.Appendf(nil, "v%04d", i)})
	}
	if err := c.Produce(ctx, in...); err != nil {
		t.Fatal(err)
	}

	// The first app stops in the middle of the stream: its 500th record
	// holds processing up until it has been told to stop.
	var seen atomic.Int64
	reached, release := make(chan struct{}), make(chan struct{})
	var releaseOnce sync.Once
	defer releaseOnce.Do(func() { close(release) })
	hold := func(string) {
		if seen.Add(1) == n/4 {
			close(reached)
			<-release
		}
	}
	cfg := testConfig(t, c, "restart")
	cfg.MaxPollRecords = 100
	app1, err := strata.New(upper(t, "in", "out", hold), cfg)
	if err != nil {
		t.Fatal(err)
	}
	r1 := start(t, app1)
	select {
	case <-reached:
	case err := <-r1.done:
		t.Fatalf("Run returned early: %v", err)
	case <-ctx.Done():
		t.Fatal("the first app did not reach the middle of the stream")
	}
	// Some output is visible while the first app is held.
	if _, err := c.Consume(ctx, "out", 1); err != nil {
		t.Fatal(err)
	}
	r1.stop()
	releaseOnce.Do(func() { close(release) })
	if err := r1.wait(t); err != nil {
		t.Fatalf("first Run: %v", err)
	}
	processed := app1.Metrics().Processed
	t.Logf("the first app processed %d of %d records", processed, n)
	if processed < n/4 || processed >= n {
		t.Fatalf("the first app processed %d records; want it stopped mid-stream", processed)
	}
	// The clean shutdown committed exactly what was processed.
	if committed := committedTotal(ctx, t, c.Admin(), "restart"); committed != processed {
		t.Errorf("%d offsets committed after processing %d records", committed, processed)
	}

	// The second app takes over from the commit.
	app2, err := strata.New(upper(t, "in", "out", nil), cfg)
	if err != nil {
		t.Fatal(err)
	}
	r2 := start(t, app2)
	waitDistinct(ctx, t, c, "out", n)
	r2.stopAndWait(t)
	if committed := committedTotal(ctx, t, c.Admin(), "restart"); committed != n {
		t.Errorf("%d offsets committed at the end, want %d", committed, n)
	}

	// Read everything written and count.
	total := endTotal(ctx, t, c.Admin(), "out")
	recs, err := c.Consume(ctx, "out", int(total))
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, r := range recs {
		if want := "V" + strings.TrimPrefix(string(r.Key), "k"); string(r.Value) != want {
			t.Errorf("out: %s=%s, want %s", r.Key, r.Value, want)
		}
		count[string(r.Key)]++
	}
	dups := 0
	for _, k := range count {
		dups += k - 1
	}
	t.Logf("%d output records for %d inputs: %d distinct, %d duplicates", len(recs), n, len(count), dups)
	if len(count) != n {
		t.Errorf("%d of %d input records came out", len(count), n)
	}
	if dups != 0 {
		t.Errorf("%d duplicates after a clean stop, want none", dups)
	}
	if p1, p2 := processed, app2.Metrics().Processed; p1+p2 != n {
		t.Errorf("the apps processed %d + %d records, want %d in all", p1, p2, n)
	}
}

// waitDistinct reads topic from the start until it has seen want distinct
// keys.
func waitDistinct(ctx context.Context, t *testing.T, c *embedded.Cluster, topic string, want int) {
	t.Helper()
	cl, err := c.Client(
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	seen := map[string]bool{}
	for len(seen) < want {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("%d of %d distinct keys in %s: %v", len(seen), want, topic, ctx.Err())
		}
		fetches.EachRecord(func(r *kgo.Record) { seen[string(r.Key)] = true })
	}
}

// committedTotal sums the offsets group has committed.
func committedTotal(ctx context.Context, t *testing.T, adm *kadm.Client, group string) int64 {
	t.Helper()
	offs, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	if err := offs.Error(); err != nil {
		t.Fatal(err)
	}
	var total int64
	offs.Each(func(o kadm.OffsetResponse) { total += o.At })
	return total
}

// endTotal sums the end offsets of topic's partitions: its record count.
func endTotal(ctx context.Context, t *testing.T, adm *kadm.Client, topic string) int64 {
	t.Helper()
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	if err := ends.Error(); err != nil {
		t.Fatal(err)
	}
	var total int64
	ends.Each(func(o kadm.ListedOffset) { total += o.Offset })
	return total
}

// Inputs declared co-partitioned (as a join's are) with different partition
// counts stop the app at startup, with an error naming both topics.
func TestCopartitionedTopicsWithDifferentCounts(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{
		{Name: "left", Partitions: 4}, {Name: "right", Partitions: 3}, {Name: "out"},
	}})
	b := topology.NewBuilder()
	l := kstream.From(b, "left", serde.String(), serde.String(), kstream.Named("l"))
	r := kstream.From(b, "right", serde.String(), serde.String(), kstream.Named("r"))
	l.Merge(r).To("out")
	b.Copartition("l", "r")
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	app, err := strata.New(top, testConfig(t, c, "copartition"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	err = app.Run(ctx)
	for _, want := range []string{`"left" (4 partitions)`, `"right" (3 partitions)`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("Run = %v, want an error containing %q", err, want)
		}
	}
}
