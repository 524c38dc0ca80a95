package engine

import (
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
)

// Nodes that report OpenTelemetry metrics of their own (the outcome
// handlers' records by outcome, for instance) make their instruments in
// Init from Task.Meter, the TaskConfig.Meter their runner gives: the
// runtime's comes from strata.Config.MeterProvider, the test driver's from
// testutil.Config.MeterProvider; without one it is a no-op meter, whose
// instruments record nothing.
//
// Recording must not allocate per record: a node builds the attribute
// options it records with once (metric.WithAttributeSet in a slice, per
// attribute value it uses), in Init or on first use, and passes the slice
// on each call. The instruments are made per task; providers return the
// same instrument for the same name, so the tasks of one node feed one
// metric.

// Meter returns the meter the task's nodes make their instruments with:
// TaskConfig.Meter, or a no-op meter.
func (t *Task) Meter() metric.Meter {
	if t.cfg.Meter == nil {
		return noop.Meter{}
	}
	return t.cfg.Meter
}
