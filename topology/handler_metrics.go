package topology

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Outcomes the handler metrics count besides the functions' own.
const (
	// outcomeExhausted: the function asked to retry after the policy's
	// last attempt; the record went to the dead set.
	outcomeExhausted outcomeKind = outcomeSkip + 1 + iota
	// outcomePanic: the function panicked.
	outcomePanic
	numOutcomes
)

// outcomeNames are the values of the attribute "outcome", by kind.
var outcomeNames = [numOutcomes]string{
	outcomeSuccess:    "success",
	outcomeRetry:      "retry",
	outcomeDeadLetter: "dead-letter",
	outcomeSkip:       "skip",
	outcomeExhausted:  "exhausted",
	outcomePanic:      "panic",
}

// Names of the handler metrics.
const (
	metricHandlerRecords  = "strata.handler.records"
	metricHandlerDuration = "strata.handler.duration"
	metricHandlerRetries  = "strata.handler.retries"
	// Of concurrent and batch handlers (handler_concurrent.go).
	metricHandlerInFlight  = "strata.handler.in_flight"
	metricHandlerRunning   = "strata.handler.running"
	metricHandlerQueueWait = "strata.handler.queue_wait"
)

// handlerMetrics are a handler's instruments in one task, with the
// attribute options they record with, built once (engine/meter.go): a
// record costs no allocation.
type handlerMetrics struct {
	records  metric.Int64Counter
	duration metric.Float64Histogram
	retries  metric.Int64Counter
	// attrs are the application's and handler's attributes.
	attrs     []attribute.KeyValue
	byOutcome [numOutcomes][]metric.AddOption
	timed     []metric.RecordOption
	// byAttempt are the options of strata.handler.retries, by attempt,
	// made on first use.
	byAttempt [][]metric.AddOption
	// Of a concurrent or batch handler: records taken and not done,
	// calls running, and the time records waited between being taken and
	// their call.
	inFlight  metric.Int64UpDownCounter
	running   metric.Int64UpDownCounter
	queueWait metric.Float64Histogram
	added     []metric.AddOption
}

func (m *handlerMetrics) init(meter metric.Meter, app, handler string, concurrent bool) error {
	var err error
	if m.records, err = meter.Int64Counter(metricHandlerRecords, metric.WithUnit("{record}"),
		metric.WithDescription("Records an outcome handler handled, by outcome: success, retry, exhausted, dead-letter, skip, panic.")); err != nil {
		return fmt.Errorf("handler %q: create metric %s: %w", handler, metricHandlerRecords, err)
	}
	if m.duration, err = meter.Float64Histogram(metricHandlerDuration, metric.WithUnit("s"),
		metric.WithDescription("Time an outcome handler's function took per call.")); err != nil {
		return fmt.Errorf("handler %q: create metric %s: %w", handler, metricHandlerDuration, err)
	}
	if m.retries, err = meter.Int64Counter(metricHandlerRetries, metric.WithUnit("{retry}"),
		metric.WithDescription("Retries an outcome handler scheduled, by the attempt each will be (1 for the first retry).")); err != nil {
		return fmt.Errorf("handler %q: create metric %s: %w", handler, metricHandlerRetries, err)
	}
	m.attrs = []attribute.KeyValue{attribute.String("application", app), attribute.String("handler", handler)}
	for k, name := range outcomeNames {
		set := attribute.NewSet(append(m.attrs[:len(m.attrs):len(m.attrs)], attribute.String("outcome", name))...)
		m.byOutcome[k] = []metric.AddOption{metric.WithAttributeSet(set)}
	}
	set := attribute.NewSet(m.attrs...)
	m.timed = []metric.RecordOption{metric.WithAttributeSet(set)}
	m.added = []metric.AddOption{metric.WithAttributeSet(set)}
	if !concurrent {
		return nil
	}
	if m.inFlight, err = meter.Int64UpDownCounter(metricHandlerInFlight, metric.WithUnit("{record}"),
		metric.WithDescription("Records a concurrent or batch outcome handler took and has not finished: running, or waiting for an earlier record of their key or for their batch.")); err != nil {
		return fmt.Errorf("handler %q: create metric %s: %w", handler, metricHandlerInFlight, err)
	}
	if m.running, err = meter.Int64UpDownCounter(metricHandlerRunning, metric.WithUnit("{call}"),
		metric.WithDescription("Calls of a concurrent or batch outcome handler's function running now: the concurrency in use.")); err != nil {
		return fmt.Errorf("handler %q: create metric %s: %w", handler, metricHandlerRunning, err)
	}
	if m.queueWait, err = meter.Float64Histogram(metricHandlerQueueWait, metric.WithUnit("s"),
		metric.WithDescription("Time a record waited between a concurrent or batch outcome handler taking it and the call that handles it.")); err != nil {
		return fmt.Errorf("handler %q: create metric %s: %w", handler, metricHandlerQueueWait, err)
	}
	return nil
}

// taken counts records a concurrent or batch handler takes and
// finishes.
func (m *handlerMetrics) taken(n int64) { m.inFlight.Add(context.Background(), n, m.added...) }

// calling counts calls starting (1) and ending (-1).
func (m *handlerMetrics) calling(n int64) { m.running.Add(context.Background(), n, m.added...) }

// waited records how long a record waited for its call.
func (m *handlerMetrics) waited(d time.Duration) {
	m.queueWait.Record(context.Background(), d.Seconds(), m.timed...)
}

func (m *handlerMetrics) count(k outcomeKind) {
	m.records.Add(context.Background(), 1, m.byOutcome[k]...)
}

func (m *handlerMetrics) took(d time.Duration) {
	m.duration.Record(context.Background(), d.Seconds(), m.timed...)
}

func (m *handlerMetrics) retried(attempt int) {
	for len(m.byAttempt) <= attempt {
		set := attribute.NewSet(append(m.attrs[:len(m.attrs):len(m.attrs)], attribute.Int("attempt", len(m.byAttempt)))...)
		m.byAttempt = append(m.byAttempt, []metric.AddOption{metric.WithAttributeSet(set)})
	}
	m.retries.Add(context.Background(), 1, m.byAttempt[attempt]...)
}
