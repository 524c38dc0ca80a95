package engine_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata/internal/engine"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
)

// sent collects a task's output records.
type sent struct{ values []string }

func (s *sent) Send(r *kgo.Record) error {
	s.values = append(s.values, string(r.Value))
	return nil
}

func (s *sent) PartitionCount(string) (int, error) { return 1, nil }

// mergeTask is partition 0 of a -> merge(b) -> out.
func mergeTask(t *testing.T) (*engine.Task, *sent) {
	t.Helper()
	b := topology.NewBuilder()
	kstream.From(b, "a", serde.String(), serde.String()).
		Merge(kstream.From(b, "b", serde.String(), serde.String())).
		To("out")
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	et := engine.Built(*top).Topology()
	out := &sent{}
	task, err := engine.NewTask(et, et.Subtopologies[0], 0, engine.TaskConfig{ApplicationID: "app", Collector: out, Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Init(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { task.Close() })
	return task, out
}

func rec(offset, ts int64, value string) *kgo.Record {
	return &kgo.Record{Key: []byte("k"), Value: []byte(value), Offset: offset, Timestamp: time.UnixMilli(ts)}
}

func marker(offset int64) *kgo.Record {
	return &kgo.Record{Offset: offset, Attrs: kgo.NewRecordAttrs(kgo.RecordAttrsOpts{Control: true, Transactional: true})}
}

// TestTaskWaitsForLaggingInput checks KIP-695's rule: a task with several
// inputs holds its buffered records back while an input with nothing
// buffered is known to lag, so that records arriving later on it are still
// processed in timestamp order; a transaction marker moves an input's
// position; a task whose inputs' ends are unknown never waits.
func TestTaskWaitsForLaggingInput(t *testing.T) {
	task, out := mergeTask(t)
	a, b := task.Input("a"), task.Input("b")
	task.SetPosition("a", 0)
	task.SetPosition("b", 0)
	task.SetEnd("a", 1)
	task.SetEnd("b", 3) // two records and a commit marker are on their way

	if err := task.Add(a, rec(0, 20, "a@20")); err != nil {
		t.Fatal(err)
	}
	if err := task.ProcessAll(); err != nil {
		t.Fatal(err)
	}
	if !task.Waiting() || len(out.values) != 0 {
		t.Fatalf("b lags: waiting = %v, sent %v; want waiting and nothing sent", task.Waiting(), out.values)
	}
	if err := task.Add(b, rec(0, 10, "b@10")); err != nil {
		t.Fatal(err)
	}
	if err := task.ProcessAll(); err != nil {
		t.Fatal(err)
	}
	// b's first record is processed; then b is empty and still lags.
	if got := fmt.Sprint(out.values); got != "[b@10]" || !task.Waiting() {
		t.Fatalf("after b@10: sent %s, waiting = %v; want [b@10] and waiting", got, task.Waiting())
	}
	if err := task.Add(b, rec(1, 15, "b@15"), marker(2)); err != nil {
		t.Fatal(err)
	}
	if err := task.ProcessAll(); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(out.values); got != "[b@10 b@15 a@20]" || task.Waiting() {
		t.Fatalf("after b's marker: sent %s, waiting = %v; want [b@10 b@15 a@20], not waiting", got, task.Waiting())
	}
	if got := task.CommittableOffsets()["b"]; got != 3 {
		t.Fatalf("b's committable offset %d, want 3 (past the marker)", got)
	}

	// Ends only move forward; a new end above the position makes b lag
	// again.
	task.SetEnd("b", 2)
	if err := task.Add(a, rec(1, 30, "a@30")); err != nil {
		t.Fatal(err)
	}
	task.SetEnd("a", 2)
	if err := task.ProcessAll(); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(out.values); got != "[b@10 b@15 a@20 a@30]" {
		t.Fatalf("b caught up: sent %s", got)
	}
	task.SetEnd("b", 4)
	if err := task.Add(a, rec(2, 40, "a@40")); err != nil {
		t.Fatal(err)
	}
	if err := task.ProcessAll(); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(out.values); got != "[b@10 b@15 a@20 a@30]" || !task.Waiting() {
		t.Fatalf("b lags again: sent %s, waiting = %v", got, task.Waiting())
	}
	// Enforced processing (before an exactly-once commit) processes what
	// is held back, and the task waits again afterwards.
	if err := task.ProcessAllNow(); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(out.values); got != "[b@10 b@15 a@20 a@30 a@40]" || task.Buffered() != 0 {
		t.Fatalf("after ProcessAllNow: sent %s, %d buffered", got, task.Buffered())
	}
	if err := task.Add(a, rec(3, 50, "a@50")); err != nil {
		t.Fatal(err)
	}
	if err := task.ProcessAll(); err != nil {
		t.Fatal(err)
	}
	if !task.Waiting() || task.Buffered() != 1 {
		t.Fatalf("after ProcessAllNow, b still lags: waiting = %v, %d buffered", task.Waiting(), task.Buffered())
	}
}

// TestTaskWithUnknownEndsDoesNotWait is the test driver's case: no ends
// are known, and records are processed as they come.
func TestTaskWithUnknownEndsDoesNotWait(t *testing.T) {
	task, out := mergeTask(t)
	if err := task.Add(task.Input("a"), rec(0, 20, "a@20")); err != nil {
		t.Fatal(err)
	}
	if err := task.ProcessAll(); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(out.values); got != "[a@20]" || task.Waiting() {
		t.Fatalf("sent %s, waiting = %v; want [a@20], not waiting", got, task.Waiting())
	}
}
