package strata

import (
	"context"
	"slices"
	"strconv"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/strata-go/strata/internal/engine"
)

// Tracing (Config.TracerProvider). A share of the input records
// (Config.TraceSampleRatio) is each processed in a span, "process <topic>",
// of kind consumer, whose parent is the trace context the record's headers
// carry (W3C Trace Context by default: the "traceparent" and "tracestate"
// headers, read by Config.Propagator): a record produced in a span continues
// its trace. Every record a sink writes while the record is processed
// carries the span's context on in its headers, written by the same
// propagator in place of what they carried, so the trace goes on through
// repartition topics to the next sub-topology and to the application's
// output. Records not traced keep the headers they were given, the
// incoming trace context included where the topology passes headers on.
// Changelog records carry none. Without a TracerProvider the tasks are
// given no tracer, and tracing costs nothing per record.

// tracerName is the instrumentation scope of Strata's spans.
const tracerName = meterName

// recordTracer is the engine.Tracer of an App's tasks.
type recordTracer struct {
	tracer trace.Tracer
	prop   propagation.TextMapPropagator
	// fields are the headers prop writes, removed from an output
	// record's headers before it writes them.
	fields []string
	group  string
}

func newRecordTracer(cfg *Config) *recordTracer {
	if cfg.TracerProvider == nil {
		return nil
	}
	return &recordTracer{
		tracer: cfg.TracerProvider.Tracer(tracerName),
		prop:   cfg.Propagator,
		fields: cfg.Propagator.Fields(),
		group:  cfg.ApplicationID,
	}
}

// Start begins the span of the processing of in by t, a child of the
// context in's headers carry.
func (rt *recordTracer) Start(t *engine.Task, in *kgo.Record) engine.Span {
	ctx := rt.prop.Extract(context.Background(), &recordCarrier{rec: in})
	ctx, span := rt.tracer.Start(ctx, "process "+in.Topic,
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(
			attribute.String("messaging.system", "kafka"),
			attribute.String("messaging.operation.type", "process"),
			attribute.String("messaging.destination.name", in.Topic),
			attribute.String("messaging.destination.partition.id", strconv.Itoa(int(in.Partition))),
			attribute.Int64("messaging.kafka.offset", in.Offset),
			attribute.String("messaging.consumer.group.name", rt.group),
			attribute.String("strata.task", t.ID.String()),
		))
	return &recordSpan{rt: rt, ctx: ctx, span: span}
}

// recordSpan is the span of one record's processing.
type recordSpan struct {
	rt   *recordTracer
	ctx  context.Context
	span trace.Span
}

// Inject writes the span's context into out's headers, in a new slice: the
// one out has may be shared with the input record and other outputs.
func (s *recordSpan) Inject(out *kgo.Record) {
	c := recordCarrier{rec: out}
	c.headers = make([]kgo.RecordHeader, 0, len(out.Headers)+len(s.rt.fields))
	for _, h := range out.Headers {
		if !slices.Contains(s.rt.fields, h.Key) {
			c.headers = append(c.headers, h)
		}
	}
	c.writing = true
	s.rt.prop.Inject(s.ctx, &c)
	out.Headers = c.headers
}

// End ends the span, with an error status if the processing failed.
func (s *recordSpan) End(err error) {
	if err != nil {
		s.span.RecordError(err)
		s.span.SetStatus(codes.Error, err.Error())
	}
	s.span.End()
}

// recordCarrier is a record's headers as OpenTelemetry's propagators read
// and write them: reading rec's, or, once writing, writing headers.
type recordCarrier struct {
	rec     *kgo.Record
	headers []kgo.RecordHeader
	writing bool
}

// Get returns the value of the last header named key, "" if none.
func (c recordCarrier) Get(key string) string {
	hs := c.rec.Headers
	if c.writing {
		hs = c.headers
	}
	for i := len(hs) - 1; i >= 0; i-- {
		if hs[i].Key == key {
			return string(hs[i].Value)
		}
	}
	return ""
}

// Set adds the header key with value, replacing any named key.
func (c *recordCarrier) Set(key, value string) {
	c.headers = slices.DeleteFunc(c.headers, func(h kgo.RecordHeader) bool { return h.Key == key })
	c.headers = append(c.headers, kgo.RecordHeader{Key: key, Value: []byte(value)})
}

// Keys lists the headers' names.
func (c recordCarrier) Keys() []string {
	hs := c.rec.Headers
	if c.writing {
		hs = c.headers
	}
	keys := make([]string, len(hs))
	for i, h := range hs {
		keys[i] = h.Key
	}
	return keys
}

var _ propagation.TextMapCarrier = (*recordCarrier)(nil)
