package engine_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/strata-go/strata/internal/engine"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
)

// holder holds every record, twice, and keeps what Hold returned for the
// test to complete.
type holder struct {
	ctx  topology.Context[string, string]
	held *[]*topology.Pending
}

func (p *holder) Init(ctx topology.Context[string, string]) error { p.ctx = ctx; return nil }
func (p *holder) Close() error                                    { return nil }
func (p *holder) Process(topology.Record[string, string]) error {
	p.ctx.Hold()
	*p.held = append(*p.held, p.ctx.Hold())
	return nil
}

// TestRecordHeldByTwoNodes: two nodes reading one source (two handlers of
// one stream) hold the same record; it stays pending, and its offset not
// committable, until both have completed it, however many times each held
// it.
func TestRecordHeldByTwoNodes(t *testing.T) {
	b := topology.NewBuilder()
	src := kstream.From(b, "a", serde.String(), serde.String())
	var first, second []*topology.Pending
	kstream.Process(src, func() topology.Processor[string, string, string, string] { return &holder{held: &first} }, kstream.Named("first"))
	kstream.Process(src, func() topology.Processor[string, string, string, string] { return &holder{held: &second} }, kstream.Named("second"))
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	et := engine.Built(*top).Topology()
	task, err := engine.NewTask(et, et.Subtopologies[0], 0, engine.TaskConfig{
		ApplicationID: "app", Collector: &sent{}, Logger: slog.New(slog.DiscardHandler), Now: time.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Init(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { task.Close() })
	task.SetPosition("a", 0)
	if err := task.Add(task.Input("a"), rec(0, 10, "v")); err != nil {
		t.Fatal(err)
	}
	if err := task.ProcessAll(); err != nil {
		t.Fatal(err)
	}
	if len(first) != 1 || len(second) != 1 || task.Pending() != 1 {
		t.Fatalf("held by first %d, second %d times; %d pending; want 1, 1, 1", len(first), len(second), task.Pending())
	}
	first[0].Done()
	if off, ok := task.CommittableOffsets()["a"]; !ok || off != 0 || task.Pending() != 1 {
		t.Fatalf("after the first node's Done: committable offset %d (%v), %d pending; want 0 and 1: the second node is not done", off, ok, task.Pending())
	}
	second[0].Done()
	if off := task.CommittableOffsets()["a"]; off != 1 || task.Pending() != 0 || task.Metrics.Processed != 1 {
		t.Fatalf("after both: committable offset %d, %d pending, %d processed; want 1, 0, 1", off, task.Pending(), task.Metrics.Processed)
	}
}
