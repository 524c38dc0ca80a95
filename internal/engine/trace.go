package engine

import "github.com/twmb/franz-go/pkg/kgo"

// Tracing: with a TaskConfig.Tracer, a share of the input records
// (TaskConfig.TraceRatio) is each processed in a span the tracer starts,
// continuing the trace the record's headers carry, and every record a sink
// writes while that record is processed carries the span's context on in
// its headers (Emit). Changelog records carry nothing. Without a Tracer a
// task spends nothing on tracing.

// Tracer starts the span of an input record's processing.
type Tracer interface {
	// Start begins the span of the processing of in, whose headers may
	// carry the context of the trace it continues.
	Start(t *Task, in *kgo.Record) Span
}

// Span is the processing of one input record, as a trace span.
type Span interface {
	// Inject writes the span's context into the headers of out, an output
	// record of the processing, in place of any trace context they
	// carried.
	Inject(out *kgo.Record)
	// End ends the span; err is the processing's error, if any.
	End(err error)
}

// traced reports whether the next record is processed in a span: a share
// TraceRatio of the records, spread evenly, the first one included.
func (t *Task) traced() bool {
	t.traceAcc += t.cfg.TraceRatio
	if t.traceAcc >= 1 {
		t.traceAcc--
		return true
	}
	return false
}
