package strata

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata/internal/engine"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
)

type discard struct{}

func (discard) Send(*kgo.Record) error             { return nil }
func (discard) PartitionCount(string) (int, error) { return 1, nil }

// waitingTask returns partition p of a -> merge(b) -> out holding a record
// of a while b lags, so that it waits.
func waitingTask(t *testing.T, p int32) *engine.Task {
	t.Helper()
	b := topology.NewBuilder()
	kstream.From(b, "a", serde.String(), serde.String()).Merge(kstream.From(b, "b", serde.String(), serde.String())).To("out")
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	et := engine.Built(*top).Topology()
	task, err := engine.NewTask(et, et.Subtopologies[0], p, engine.TaskConfig{ApplicationID: "app", Collector: discard{}, Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Init(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { task.Close() })
	task.SetPosition("a", 0)
	task.SetPosition("b", 0)
	task.SetEnd("b", 10)
	if err := task.Add(task.Input("a"), &kgo.Record{Key: []byte("k"), Value: []byte("v"), Timestamp: time.UnixMilli(1)}); err != nil {
		t.Fatal(err)
	}
	if !task.Waiting() || task.Buffered() != 1 {
		t.Fatalf("task %d: waiting %v with %d buffered, want waiting with 1", p, task.Waiting(), task.Buffered())
	}
	return task
}

// TestTaskWaitsAreTimedPerTask checks that a task is forced to process what
// it holds only after it has itself waited, without progress, for the whole
// wait: tasks taking turns to wait (as they do while a poll drains the
// client's buffered fetches partition by partition) are not forced because
// some task or other has been waiting that long, and a task that processed
// records in between starts its wait again.
func TestTaskWaitsAreTimedPerTask(t *testing.T) {
	const wait = 5 * time.Second
	t0 := time.Unix(1000, 0)
	a, b := waitingTask(t, 0), waitingTask(t, 1)
	var w taskWaits
	if due := w.due(map[engine.TaskID]*engine.Task{a.ID: a}, t0, wait); len(due) != 0 {
		t.Fatalf("at the start: %d due", len(due))
	}
	// b begins to wait 4s later; a stops waiting (it got b's records)
	// and starts again: neither has waited 5s on its own at 6s.
	if due := w.due(map[engine.TaskID]*engine.Task{a.ID: a, b.ID: b}, t0.Add(4*time.Second), wait); len(due) != 0 {
		t.Fatalf("at 4s: %d due", len(due))
	}
	a.Metrics.Processed++ // a made progress at 5s
	if due := w.due(map[engine.TaskID]*engine.Task{a.ID: a, b.ID: b}, t0.Add(5*time.Second), wait); len(due) != 0 {
		t.Fatalf("at 5s: %d due, want none (a progressed, b waited 1s)", len(due))
	}
	due := w.due(map[engine.TaskID]*engine.Task{a.ID: a, b.ID: b}, t0.Add(9*time.Second), wait)
	if len(due) != 1 || due[0] != b {
		t.Fatalf("at 9s: due %v, want b only (waiting since 4s)", due)
	}
	due = w.due(map[engine.TaskID]*engine.Task{a.ID: a, b.ID: b}, t0.Add(10*time.Second), wait)
	if len(due) != 1 || due[0] != a {
		t.Fatalf("at 10s: due %v, want a only (waiting since 5s; b's wait starts over)", due)
	}
	// A task that is gone is forgotten.
	w.due(map[engine.TaskID]*engine.Task{}, t0.Add(11*time.Second), wait)
	if len(w) != 0 {
		t.Fatalf("%d tasks still timed after every task is gone", len(w))
	}
}
