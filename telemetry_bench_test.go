package strata

import (
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/strata-go/strata/internal/engine"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
)

// The cost of metrics and tracing on the hot path: the stateless pipeline
// of kstream's BenchmarkStatelessPipeline (Filter → MapValues → Map, String
// serdes) run by one engine task as the runtime makes it, with the
// runtime's own Observer (telemetry.go) and Tracer (tracing.go), without a
// broker in the way.

// freeing is a collector that frees what it is sent, as the runtime's
// producer does once a record is acknowledged.
type freeing struct{}

func (freeing) Send(r *kgo.Record) error {
	engine.FreeOutputRecord(r)
	return nil
}

func (freeing) PartitionCount(string) (int, error) { return 1, nil }

// pipelineMode is what a pipeline task measures.
type pipelineMode struct {
	name    string
	metrics bool
	// trace is the share of records traced, 0 for no tracer.
	trace float64
}

var pipelineModes = []pipelineMode{
	{name: "off"},
	{name: "metrics", metrics: true},
	{name: "metrics+trace-1%", metrics: true, trace: 0.01},
	{name: "metrics+trace-100%", metrics: true, trace: 1},
}

// pipeline is one task of the stateless pipeline and a batch of input
// records to feed it again and again.
type pipeline struct {
	task   *engine.Task
	in     *engine.Input
	batch  []*kgo.Record
	offset int64
}

func newPipeline(tb testing.TB, mode pipelineMode) *pipeline {
	tb.Helper()
	bld := topology.NewBuilder()
	s := kstream.From(bld, "in", serde.String(), serde.String())
	kept := s.Filter(func(_, v string) bool { return len(v) > 0 })
	upper := kstream.MapValues(kept, func(_, v string) string { return strings.ToUpper(v) })
	kstream.Map(upper, func(k, v string) (string, string) { return k, v }).To("out")
	top, err := bld.Build()
	if err != nil {
		tb.Fatal(err)
	}
	cfg := Config{ApplicationID: "bench", InstanceID: "bench-0", Workers: 1}
	tcfg := engine.TaskConfig{ApplicationID: "bench", Collector: freeing{}}
	if mode.metrics {
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
		tel, err := newTelemetry(mp, &cfg, &metrics{})
		if err != nil {
			tb.Fatal(err)
		}
		tcfg.Observer = tel.observer(tel.task(engine.TaskID{}))
	}
	if mode.trace > 0 {
		cfg.TracerProvider = sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()))
		cfg.TraceSampleRatio, cfg.Propagator = mode.trace, propagation.TraceContext{}
		tcfg.Tracer, tcfg.TraceRatio = newRecordTracer(&cfg), cfg.TraceSampleRatio
	}
	et := engine.Built(*top).Topology().Resolve("bench")
	task, err := engine.NewTask(et, et.Subtopologies[0], 0, tcfg)
	if err != nil {
		tb.Fatal(err)
	}
	if err := task.Init(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { task.Close() })
	p := &pipeline{task: task, in: task.Input("in")}
	task.SetPosition("in", 0)
	for i := range 1024 {
		p.batch = append(p.batch, &kgo.Record{Topic: "in", Key: []byte("key-" + strconv.Itoa(i)), Value: []byte("some value"), Timestamp: time.Now()})
	}
	return p
}

// run processes n records.
func (p *pipeline) run(tb testing.TB, n int) {
	for n > 0 {
		batch := p.batch[:min(n, len(p.batch))]
		for _, r := range batch {
			r.Offset = p.offset
			p.offset++
		}
		if err := p.task.Add(p.in, batch...); err != nil {
			tb.Fatal(err)
		}
		if err := p.task.ProcessAll(); err != nil {
			tb.Fatal(err)
		}
		p.task.ReleaseOutputBuffers()
		n -= len(batch)
	}
}

// BenchmarkPipelineTelemetry measures the stateless pipeline with nothing
// measured, with metrics, and with metrics and tracing of 1% and 100% of
// the records (an SDK tracer recording every span it is given, exporting
// nowhere):
//
//	go test -run '^$' -bench PipelineTelemetry -benchmem -count 5 .
func BenchmarkPipelineTelemetry(b *testing.B) {
	for _, mode := range pipelineModes {
		b.Run(mode.name, func(b *testing.B) {
			p := newPipeline(b, mode)
			p.run(b, 4096) // warm up: slab, pools, attribute options
			b.ReportAllocs()
			b.ResetTimer()
			p.run(b, b.N)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// TestMetricsAllocateNothingPerRecord checks that metrics add no
// allocation per record to the stateless pipeline, and that without a
// tracer nothing is spent on tracing: the allocations per record with
// metrics on are those with them off.
func TestMetricsAllocateNothingPerRecord(t *testing.T) {
	const batch = 1024
	perRecord := func(mode pipelineMode) float64 {
		p := newPipeline(t, mode)
		p.run(t, 4*batch)
		// The least of several measurements: sync.Pool's records are
		// dropped at every GC, and under the race detector at random,
		// which only ever adds allocations.
		least := math.Inf(1)
		for range 5 {
			least = min(least, testing.AllocsPerRun(20, func() { p.run(t, batch) })/batch)
		}
		return least
	}
	// Allow less than one allocation per 100 records, below what an
	// allocation on the sampled path alone (one record in 64) would add.
	off, on := perRecord(pipelineModes[0]), perRecord(pipelineModes[1])
	if on > off+0.01 {
		t.Fatalf("with metrics the pipeline allocates %.3f times per record, without %.3f", on, off)
	}
	traced := perRecord(pipelineModes[3])
	if traced <= on {
		t.Fatalf("tracing every record allocates %.3f times per record, no more than without (%.3f): is the tracer used?", traced, on)
	}
}
