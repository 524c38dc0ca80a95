package strata_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/embedded"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
)

// gated holds every record and finishes it on another goroutine once the
// test opens the record's gate; it tells held each record it holds.
type gated struct {
	ctx   topology.Context[string, string]
	gates *gates
}

// gates are channels by offset, closed by the test to let records finish.
type gates struct {
	mu   sync.Mutex
	by   map[int64]chan struct{}
	held chan int64
}

func (g *gates) gate(off int64) chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.by[off] == nil {
		g.by[off] = make(chan struct{})
	}
	return g.by[off]
}

func (p *gated) Init(ctx topology.Context[string, string]) error { p.ctx = ctx; return nil }
func (p *gated) Close() error                                    { return nil }
func (p *gated) Process(r topology.Record[string, string]) error {
	md, _ := p.ctx.RecordMetadata()
	pending := p.ctx.Hold()
	gate := p.gates.gate(md.Offset)
	go func() {
		<-gate
		p.ctx.Post(func() error {
			defer pending.Done()
			return p.ctx.Forward(r)
		})
	}()
	p.gates.held <- md.Offset
	return nil
}

// TestPendingRecordsHoldCommits finishes held records out of order on the
// embedded broker, under both guarantees: the outputs of finished records
// are committed while an earlier record is pending, but the input's
// committed offset does not pass the pending record until it is done.
func TestPendingRecordsHoldCommits(t *testing.T) {
	for _, g := range []strata.Guarantee{strata.AtLeastOnce, strata.ExactlyOnce} {
		t.Run(g.String(), func(t *testing.T) {
			const n = 10
			c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "in"}, {Name: "out"}}})
			gs := &gates{by: map[int64]chan struct{}{}, held: make(chan int64, n)}
			app := newProcessorApp(t, c, "pending", g, func() topology.Processor[string, string, string, string] { return &gated{gates: gs} })
			r := start(t, app)
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			defer cancel()
			var in []*kgo.Record
			for range n {
				in = append(in, &kgo.Record{Topic: "in", Key: []byte("k"), Value: []byte("v")})
			}
			if err := c.Produce(ctx, in...); err != nil {
				t.Fatal(err)
			}
			for range n {
				select {
				case <-gs.held:
				case <-ctx.Done():
					t.Fatal("records were not all held")
				}
			}
			// Every record but the first finishes, last first.
			for off := int64(n - 1); off >= 1; off-- {
				close(gs.gate(off))
			}
			if _, err := c.Consume(ctx, "out", n-1); err != nil {
				t.Fatalf("outputs of the finished records: %v", err)
			}
			offsets, err := c.Admin().FetchOffsets(ctx, "pending")
			if err != nil {
				t.Fatal(err)
			}
			if o, ok := offsets.Lookup("in", 0); ok && o.At > 0 {
				t.Fatalf("in[0] committed at %d while the record at 0 is pending", o.At)
			}
			close(gs.gate(0))
			for {
				offsets, err := c.Admin().FetchOffsets(ctx, "pending")
				if err != nil {
					t.Fatal(err)
				}
				if o, ok := offsets.Lookup("in", 0); ok && o.At == n {
					break
				}
				select {
				case <-ctx.Done():
					t.Fatal("in[0] was never committed to its end")
				case <-time.After(20 * time.Millisecond):
				}
			}
			r.stopAndWait(t)
			if _, err := c.Consume(ctx, "out", n); err != nil {
				t.Fatal(err)
			}
			if got := app.Metrics().Processed; got != n {
				t.Errorf("Metrics.Processed = %d, want %d", got, n)
			}
			if g == strata.ExactlyOnce {
				extra, _ := c.Consume(shortContext(t), "out", n+1)
				if len(extra) != n {
					t.Errorf("read_committed sees %d outputs, want %d", len(extra), n)
				}
			}
		})
	}
}

// newProcessorApp is an App with guarantee g running in → proc → out
// (strings), committing every 50ms.
func newProcessorApp(t *testing.T, c *embedded.Cluster, appID string, g strata.Guarantee, proc func() topology.Processor[string, string, string, string]) *strata.App {
	t.Helper()
	b := topology.NewBuilder()
	topology.AddSource(b, "src", topology.Source[string, string]{Topics: []string{"in"}, KeySerde: serde.String(), ValueSerde: serde.String()})
	topology.AddProcessor(b, "proc", proc, "src")
	topology.AddSink(b, "sink", topology.Sink[string, string]{Topic: "out", KeySerde: serde.String(), ValueSerde: serde.String()}, "proc")
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, c, appID)
	cfg.Guarantee = g
	cfg.CommitInterval = 50 * time.Millisecond
	app, err := strata.New(top, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return app
}

// shortContext is a context of a second, for reads that expect nothing
// more.
func shortContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	t.Cleanup(cancel)
	return ctx
}
