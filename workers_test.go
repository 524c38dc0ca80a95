package strata_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/embedded"
)

// logWatch is a slog handler that logs to the test and tells a test, as an
// event, each record with its attributes (those added with Logger.With
// included), so that tests can wait for what the runtime logs.
type logWatch struct {
	inner slog.Handler
	attrs []slog.Attr
	w     *logEvents
}

// logEvents collects what a logWatch saw, for tests to wait on.
type logEvents struct {
	mu      sync.Mutex
	changed chan struct{}
	// tasks is each worker's task count from its last "partitions
	// assigned", "revoked" or "lost" line.
	tasks map[int64]int64
	// standbys maps each open standby task to its next changelog offset
	// (of its one store), from the "standby task" lines.
	standbys map[string]int64
	// active are the partitions of "in" assigned and not revoked.
	active map[int32]bool
}

func newLogWatch(t *testing.T) (*slog.Logger, *logEvents) {
	ev := &logEvents{changed: make(chan struct{}, 1), tasks: map[int64]int64{}, standbys: map[string]int64{}, active: map[int32]bool{}}
	return slog.New(&logWatch{inner: testLogger(t).Handler(), w: ev}), ev
}

// Enabled is true down to DEBUG, where standby progress is logged; only
// what the inner handler enables reaches the test's log.
func (h *logWatch) Enabled(context.Context, slog.Level) bool { return true }

func (h *logWatch) Handle(ctx context.Context, r slog.Record) error {
	attrs := map[string]slog.Value{}
	for _, a := range h.attrs {
		attrs[a.Key] = a.Value
	}
	r.Attrs(func(a slog.Attr) bool {
		attrs[a.Key] = a.Value
		return true
	})
	h.w.mu.Lock()
	switch r.Message {
	case "partitions assigned", "partitions revoked", "partitions lost":
		// One worker logs no worker index: it is worker 0.
		var worker int64
		if v, ok := attrs["worker"]; ok {
			worker = v.Int64()
		}
		h.w.tasks[worker] = attrs["tasks"].Int64()
		if parts, ok := attrs["partitions"].Any().(map[string][]int32); ok {
			for _, p := range parts["in"] {
				h.w.active[p] = r.Message == "partitions assigned"
			}
		}
	case "standby task opened":
		h.w.standbys[attrs["task"].String()] = -1
	case "standby task updated":
		h.w.standbys[attrs["task"].String()] = attrs["next"].Int64()
	case "standby task closed":
		delete(h.w.standbys, attrs["task"].String())
	}
	h.w.mu.Unlock()
	select {
	case h.w.changed <- struct{}{}:
	default:
	}
	if !h.inner.Enabled(ctx, r.Level) {
		return nil
	}
	return h.inner.Handle(ctx, r)
}

func (h *logWatch) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &logWatch{inner: h.inner.WithAttrs(attrs), attrs: append(append([]slog.Attr(nil), h.attrs...), attrs...), w: h.w}
}

func (h *logWatch) WithGroup(name string) slog.Handler {
	return &logWatch{inner: h.inner.WithGroup(name), attrs: h.attrs, w: h.w}
}

// waitTasks blocks until settled holds of the workers' task counts.
func (ev *logEvents) waitTasks(ctx context.Context, t *testing.T, what string, settled func(map[int64]int64) bool) map[int64]int64 {
	t.Helper()
	var tasks map[int64]int64
	ev.wait(ctx, t, what, func() bool {
		tasks = maps.Clone(ev.tasks)
		return settled(tasks)
	})
	return tasks
}

// wait blocks until settled, called with mu held, holds.
func (ev *logEvents) wait(ctx context.Context, t *testing.T, what string, settled func() bool) {
	t.Helper()
	for {
		ev.mu.Lock()
		ok := settled()
		state := fmt.Sprintf("tasks by worker %v, standbys %v", ev.tasks, ev.standbys)
		ev.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ev.changed:
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v; %s", what, ctx.Err(), state)
		}
	}
}

// TestWorkers runs one instance with three workers over eight partitions
// under exactly-once: the eight tasks are spread over the three workers,
// which are three members of the group, and every input is counted exactly
// once.
func TestWorkers(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "in", Partitions: 8}, {Name: "out", Partitions: 8}}})
	log, events := newLogWatch(t)
	app, err := strata.New(countTopology(t, nil), strata.Config{
		ApplicationID: "workers",
		Brokers:       c.Addrs(),
		Guarantee:     strata.ExactlyOnce,
		StateDir:      t.TempDir(),
		Workers:       3,
		Logger:        log,
	})
	if err != nil {
		t.Fatal(err)
	}
	run := start(t, app)
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	tasks := events.waitTasks(ctx, t, "8 tasks over 3 workers", func(tasks map[int64]int64) bool {
		var sum int64
		for w := range int64(3) {
			if n := tasks[w]; n < 2 || n > 3 {
				return false
			}
			sum += tasks[w]
		}
		return sum == 8
	})
	t.Logf("tasks by worker: %v", tasks)
	described, err := c.Admin().DescribeGroups(ctx, "workers")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(described["workers"].Members); n != 3 {
		t.Errorf("the group has %d members, want the 3 workers", n)
	}

	var keys []string
	want := map[string]int64{}
	for i := range 2000 {
		k := fmt.Sprintf("k%03d", i%100)
		keys = append(keys, k)
		want[k]++
	}
	produceKeys(t, c, keys)
	latestCounts(t, c, len(keys))
	run.stopAndWait(t)
	// Every input produced one committed output, and the last count of
	// every key is its number of inputs.
	visible := readUntilMarker(t, c, "out", "marker")
	if len(visible) != len(keys) {
		t.Fatalf("%d committed outputs for %d inputs", len(visible), len(keys))
	}
	got := map[string]int64{}
	for _, r := range visible {
		got[string(r.Key)] = int64(binary.BigEndian.Uint64(r.Value))
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("count of %s = %d, want %d", k, got[k], v)
		}
	}
	if m := app.Metrics(); m.Processed != int64(len(keys)) {
		t.Errorf("Metrics().Processed = %d, want %d", m.Processed, len(keys))
	}
}

// TestWorkersCrash: the crash hook stops every worker of an instance, in
// the middle of their work under exactly-once; restarted with the same
// InstanceID, each worker's transactional ID fences its predecessor's open
// transaction, and every input is counted exactly once.
func TestWorkersCrash(t *testing.T) {
	const n, keys = 3000, 60
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "in", Partitions: 6}, {Name: "out", Partitions: 6}}})
	model := map[string]int64{}
	var in []string
	for i := range n {
		k := fmt.Sprintf("k%02d", i%keys)
		model[k]++
		in = append(in, k)
	}
	produceKeys(t, c, in)
	log, events := newLogWatch(t)
	cfg := strata.Config{
		ApplicationID:  "workers-crash",
		Brokers:        c.Addrs(),
		Guarantee:      strata.ExactlyOnce,
		InstanceID:     "instance-1",
		StateDir:       t.TempDir(),
		Workers:        2,
		MaxPollRecords: 50,
		Logger:         log,
	}
	// Crash once both workers have tasks and a third of the input is
	// processed.
	var seen atomic.Int64
	var app1 *strata.App
	app1, err := strata.New(hookedTopology(t, func() {
		if seen.Add(1) == n/3 {
			strata.Crash(app1)
		}
	}), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := app1.Run(context.Background()); !errors.Is(err, strata.ErrCrashed) {
		t.Fatalf("first run: %v, want the crash", err)
	}
	events.mu.Lock()
	t.Logf("crashed after %d records; tasks by worker %v", seen.Load(), events.tasks)
	events.mu.Unlock()

	app2, err := strata.New(hookedTopology(t, func() {}), cfg)
	if err != nil {
		t.Fatal(err)
	}
	runUntilCounts(t, c, app2, model, true)
	visible := readUntilMarker(t, c, "out", "marker")
	if len(visible) != n {
		t.Errorf("%d committed outputs for %d inputs", len(visible), n)
	}
}
