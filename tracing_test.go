package strata_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/embedded"
	"github.com/strata-go/strata/join"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
)

// headersCarrier reads and writes kgo record headers for a propagator.
type headersCarrier struct{ h *[]kgo.RecordHeader }

func (c headersCarrier) Get(key string) string {
	for _, h := range *c.h {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

func (c headersCarrier) Set(key, value string) {
	*c.h = append(*c.h, kgo.RecordHeader{Key: key, Value: []byte(value)})
}

func (c headersCarrier) Keys() []string {
	var keys []string
	for _, h := range *c.h {
		keys = append(keys, h.Key)
	}
	return keys
}

// TestTraceThroughMapAndJoin: a trace started by a producer's span
// continues through a re-keying map and, past the repartition topic it
// needs, a stream-table join, to the output record's headers. Each
// sub-topology's processing is a span, the second a child of the first,
// the first a child of the producer's; the output carries the second's
// context.
func TestTraceThroughMapAndJoin(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{
		{Name: "orders", Partitions: 2}, {Name: "customers", Partitions: 2}, {Name: "enriched", Partitions: 2},
	}})
	exporter := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exporter), sdktrace.WithSampler(sdktrace.AlwaysSample()))
	t.Cleanup(func() { tp.Shutdown(context.Background()) })

	b := topology.NewBuilder()
	orders := kstream.From(b, "orders", serde.String(), serde.String())
	byCustomer := kstream.Map(orders, func(order, customer string) (string, string) { return customer, order })
	customers := ktable.From(b, "customers", serde.String(), serde.String())
	join.StreamTable(byCustomer, customers, func(customer, order, name string) string { return order + " for " + name }).
		To("enriched")
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, c, "traced")
	cfg.TracerProvider = tp
	app, err := strata.New(top, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := c.Produce(ctx, &kgo.Record{Topic: "customers", Key: []byte("c1"), Value: []byte("Ada")}); err != nil {
		t.Fatal(err)
	}
	pctx, produceSpan := tp.Tracer("producer").Start(ctx, "send order", trace.WithSpanKind(trace.SpanKindProducer))
	order := &kgo.Record{Topic: "orders", Key: []byte("o1"), Value: []byte("c1")}
	propagation.TraceContext{}.Inject(pctx, headersCarrier{&order.Headers})
	produceSpan.End()
	if err := c.Produce(ctx, order); err != nil {
		t.Fatal(err)
	}

	r := start(t, app)
	out, err := c.Consume(ctx, "enriched", 1)
	if err != nil {
		t.Fatalf("consume: %v", err)
	}
	if string(out[0].Value) != "o1 for Ada" {
		t.Fatalf("output %q, want the joined order", out[0].Value)
	}
	sc := trace.SpanContextFromContext(propagation.TraceContext{}.Extract(context.Background(), headersCarrier{&out[0].Headers}))
	if !sc.IsValid() {
		t.Fatalf("the output record carries no trace context; headers %v", out[0].Headers)
	}
	producer := produceSpan.SpanContext()
	if sc.TraceID() != producer.TraceID() {
		t.Errorf("the output's trace %s is not the producer's %s", sc.TraceID(), producer.TraceID())
	}

	// The spans end right after their records' processing: wait for both.
	var first, second *tracetest.SpanStub
	for deadline := time.Now().Add(testTimeout); first == nil || second == nil; {
		spans := exporter.GetSpans()
		first, second = nil, nil
		for i := range spans {
			s := &spans[i]
			switch {
			case s.Name == "process orders":
				first = s
			case strings.HasPrefix(s.Name, "process traced-") && strings.HasSuffix(s.Name, "-repartition"):
				second = s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("spans %v, want one per sub-topology", spanNames(spans))
		}
		if first == nil || second == nil {
			<-time.After(10 * time.Millisecond)
		}
	}
	if first.Parent.SpanID() != producer.SpanID() || first.Parent.TraceID() != producer.TraceID() {
		t.Errorf("%q's parent is %s, want the producer's span %s", first.Name, first.Parent.SpanID(), producer.SpanID())
	}
	if second.Parent.SpanID() != first.SpanContext.SpanID() {
		t.Errorf("%q's parent is %s, want %q's span %s", second.Name, second.Parent.SpanID(), first.Name, first.SpanContext.SpanID())
	}
	if sc.SpanID() != second.SpanContext.SpanID() {
		t.Errorf("the output's parent span is %s, want the join's %s", sc.SpanID(), second.SpanContext.SpanID())
	}
	if first.SpanKind != trace.SpanKindConsumer {
		t.Errorf("span kind %v, want consumer", first.SpanKind)
	}
	for _, s := range []*tracetest.SpanStub{first, second} {
		attrs := map[string]string{}
		for _, kv := range s.Attributes {
			attrs[string(kv.Key)] = kv.Value.Emit()
		}
		if attrs["messaging.system"] != "kafka" || attrs["messaging.consumer.group.name"] != "traced" || attrs["strata.task"] == "" {
			t.Errorf("span %q attributes %v", s.Name, attrs)
		}
	}
	r.stopAndWait(t)
}

func spanNames(spans tracetest.SpanStubs) []string {
	var names []string
	for _, s := range spans {
		names = append(names, s.Name)
	}
	return names
}
