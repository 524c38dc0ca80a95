package engine_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/strata-go/strata/internal/engine"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
)

// logged collects the WARN records a logger writes.
type logged struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (l *logged) Enabled(context.Context, slog.Level) bool { return true }
func (l *logged) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs = append(l.recs, r)
	return nil
}
func (l *logged) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logged) WithGroup(string) slog.Handler      { return l }

// attr returns the value of the record's attribute key.
func attr(r slog.Record, key string) slog.Value {
	var v slog.Value
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == key {
			v = a.Value
			return false
		}
		return true
	})
	return v
}

// dropAll drops every record, saying it is too late.
type dropAll struct {
	ctx topology.Context[string, string]
}

func (p *dropAll) Init(ctx topology.Context[string, string]) error { p.ctx = ctx; return nil }
func (p *dropAll) Close() error                                    { return nil }
func (p *dropAll) Process(topology.Record[string, string]) error {
	p.ctx.SkipRecord("record too late")
	return nil
}

// TestDropsLoggedOncePerInterval checks that a flood of drops of one
// processor and reason is logged once per interval with the count of the
// drops it covers, that LogDrops logs the rest once the interval has
// passed, that Close logs those left whatever the interval, and that
// TakeDrops counts every drop by processor and reason.
func TestDropsLoggedOncePerInterval(t *testing.T) {
	b := topology.NewBuilder()
	kstream.Process(kstream.From(b, "a", serde.String(), serde.String()),
		func() topology.Processor[string, string, string, string] { return &dropAll{} }, kstream.Named("dropper")).
		To("out")
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	et := engine.Built(*top).Topology()
	log := &logged{}
	now := time.Unix(1000, 0)
	task, err := engine.NewTask(et, et.Subtopologies[0], 0, engine.TaskConfig{
		ApplicationID: "app", Collector: &sent{}, Logger: slog.New(log),
		Now: func() time.Time { return now }, DropLogInterval: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Init(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { task.Close() })
	in := task.Input("a")
	task.SetPosition("a", 0)
	var offset int64
	drop := func(n int) {
		t.Helper()
		for range n {
			if err := task.Add(in, rec(offset, 10, "v")); err != nil {
				t.Fatal(err)
			}
			offset++
		}
		if err := task.ProcessAll(); err != nil {
			t.Fatal(err)
		}
	}
	lines := func() []slog.Record {
		log.mu.Lock()
		defer log.mu.Unlock()
		return append([]slog.Record(nil), log.recs...)
	}

	drop(100)
	if got := lines(); len(got) != 1 || attr(got[0], "records").Int64() != 1 || attr(got[0], "offset").Int64() != 0 {
		t.Fatalf("100 drops in an interval logged %d lines (%v), want 1 for the first drop", len(got), got)
	}
	task.LogDrops() // within the interval: nothing
	if got := lines(); len(got) != 1 {
		t.Fatalf("LogDrops within the interval logged %d lines, want none more", len(got)-1)
	}
	now = now.Add(time.Minute)
	task.LogDrops()
	got := lines()
	if len(got) != 2 || attr(got[1], "records").Int64() != 99 || attr(got[1], "offset").Int64() != 99 || attr(got[1], "node").String() != "dropper" {
		t.Fatalf("LogDrops after the interval: %d lines (%v), want a second one of 99 records ending at offset 99", len(got), got)
	}
	drop(4) // within the new interval: counted, not logged
	if got := lines(); len(got) != 2 {
		t.Fatalf("drops within the interval logged %d lines, want none more", len(got)-2)
	}
	now = now.Add(time.Minute)
	drop(1) // the first drop after the interval logs those before it
	if got := lines(); len(got) != 3 || attr(got[2], "records").Int64() != 5 || attr(got[2], "offset").Int64() != 104 {
		t.Fatalf("a drop after the interval logged %d lines (%v), want a third of 5 records ending at offset 104", len(got), got)
	}

	drop(3) // within the interval, then the task closes: Close logs them
	if got := lines(); len(got) != 3 {
		t.Fatalf("drops within the interval logged %d lines, want none more", len(got)-3)
	}
	if err := task.Close(); err != nil {
		t.Fatal(err)
	}
	if got := lines(); len(got) != 4 || attr(got[3], "records").Int64() != 3 || attr(got[3], "offset").Int64() != 107 {
		t.Fatalf("Close logged %d lines (%v), want a fourth of 3 records ending at offset 107", len(got), got)
	}

	counted := map[string]int64{}
	task.TakeDrops(func(node string, reason engine.DropReason, n int64) { counted[node+"/"+reason.String()] += n })
	if len(counted) != 1 || counted["dropper/late"] != 108 {
		t.Fatalf("TakeDrops counted %v, want dropper/late: 108", counted)
	}
	task.TakeDrops(func(node string, _ engine.DropReason, n int64) {
		t.Fatalf("TakeDrops again gave %s %d, want nothing", node, n)
	})
	if task.Metrics.DroppedRecords != 108 {
		t.Fatalf("Metrics.DroppedRecords = %d, want 108", task.Metrics.DroppedRecords)
	}
}

// TestClassifyDrop checks the reasons the DSL gives drops.
func TestClassifyDrop(t *testing.T) {
	for reason, want := range map[string]engine.DropReason{
		"null key":                   engine.DropNullKey,
		"record with null key":       engine.DropNullKey,
		"null value":                 engine.DropNullValue,
		"record too late for window": engine.DropLate,
		"expired window":             engine.DropExpiredWindow,
		"stale foreign-key response": engine.DropStaleResponse,
		"something else entirely":    engine.DropOther,
	} {
		if got := engine.ClassifyDrop(reason); got != want {
			t.Errorf("ClassifyDrop(%q) = %v, want %v", reason, got, want)
		}
	}
}
