package strata

import (
	"context"
	"fmt"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Metrics is a snapshot of an App's counters. The same counters are
// reported to Config.MeterProvider as OpenTelemetry counters: see
// Config.MeterProvider.
type Metrics struct {
	// Processed counts input records processed.
	Processed int64
	// SkippedRecords counts bad input records skipped by the
	// BadRecordSkip or BadRecordDeadLetter policy (the latter also wrote
	// them to the dead-letter topic).
	SkippedRecords int64
	// FailedRecords counts records a processor failed that the
	// OnProcessingError policy skipped or wrote to the dead-letter topic,
	// and records whose output could not be produced that the
	// OnProductionError policy did.
	FailedRecords int64
	// Commits counts successful offset commits.
	Commits int64
	// RestoredRecords counts changelog records applied to state stores
	// while restoring them.
	RestoredRecords int64
	// DroppedRecords counts records operators dropped on purpose: null
	// keys where a key is needed, null values in stream aggregations,
	// records too late for their window. Each is also logged.
	DroppedRecords int64
	// StandbyRecords counts changelog records applied to standby
	// replicas (Config.StandbyReplicas).
	StandbyRecords int64
	// Fenced counts the times a worker's transactional producer was
	// fenced under exactly-once and the worker recovered by rejoining
	// the group (see ErrFenced).
	Fenced int64
	// Resets counts the times a worker reset: dropped its uncommitted
	// state, closed its Kafka client and joined the group with a new one,
	// because the old one could not be trusted (a transaction whose end
	// is unknown after an outage, a fenced producer).
	Resets int64
	// StateRebuilds counts the times a task's, a standby task's or the
	// global stores' local state could not be trusted (corrupt, or not
	// matching its checkpoint) and was wiped, to be restored from the
	// changelogs. Each is also logged at WARN.
	StateRebuilds int64
}

// metrics are an App's counters, updated by its workers.
type metrics struct {
	processed, skipped, failed, commits, restored, dropped, standby, fenced, resets, rebuilt atomic.Int64
}

// OpenTelemetry counters of an App, with the attribute "application" (the
// ApplicationID). Each is the App's counter of the same meaning (Metrics),
// observed when the MeterProvider's reader collects.
var counters = []struct {
	name, unit, description string
	value                   func(*metrics) *atomic.Int64
}{
	{"strata.records.processed", "{record}", "Input records processed.", func(m *metrics) *atomic.Int64 { return &m.processed }},
	{"strata.records.skipped", "{record}", "Bad input records skipped by the BadRecordSkip or BadRecordDeadLetter policy.", func(m *metrics) *atomic.Int64 { return &m.skipped }},
	{"strata.records.failed", "{record}", "Records a processor failed, or whose output could not be produced, that the OnProcessingError or OnProductionError policy skipped or dead-lettered.", func(m *metrics) *atomic.Int64 { return &m.failed }},
	{"strata.records.dropped", "{record}", "Records operators dropped on purpose: null keys where a key is needed, null values in stream aggregations, records too late for their window.", func(m *metrics) *atomic.Int64 { return &m.dropped }},
	{"strata.commits", "{commit}", "Successful commits: offset commits under at-least-once, transactions under exactly-once.", func(m *metrics) *atomic.Int64 { return &m.commits }},
	{"strata.standby.records", "{record}", "Changelog records applied to standby replicas.", func(m *metrics) *atomic.Int64 { return &m.standby }},
	{"strata.fenced", "{fencing}", "Times a worker's transactional producer was fenced and the worker rejoined the group.", func(m *metrics) *atomic.Int64 { return &m.fenced }},
	{"strata.worker.resets", "{reset}", "Times a worker dropped its uncommitted state and joined the group with a new Kafka client.", func(m *metrics) *atomic.Int64 { return &m.resets }},
	{"strata.state.rebuilt", "{rebuild}", "Times local state that could not be trusted (corrupt, or not matching its checkpoint) was wiped and restored from the changelogs.", func(m *metrics) *atomic.Int64 { return &m.rebuilt }},
}

// observe registers the counters with mp, reporting m's values.
func (m *metrics) observe(mp metric.MeterProvider, app string) error {
	meter := mp.Meter(meterName)
	attrs := metric.WithAttributeSet(attribute.NewSet(attribute.String("application", app)))
	insts := make([]metric.Int64ObservableCounter, len(counters))
	obs := make([]metric.Observable, len(counters))
	for i, c := range counters {
		inst, err := meter.Int64ObservableCounter(c.name, metric.WithUnit(c.unit), metric.WithDescription(c.description))
		if err != nil {
			return fmt.Errorf("strata: create metric %s: %w", c.name, err)
		}
		insts[i], obs[i] = inst, inst
	}
	_, err := meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		for i, c := range counters {
			o.ObserveInt64(insts[i], c.value(m).Load(), attrs)
		}
		return nil
	}, obs...)
	if err != nil {
		return fmt.Errorf("strata: register metrics callback: %w", err)
	}
	return nil
}

// Metrics returns the App's counters. It is safe to call while Run runs.
func (a *App) Metrics() Metrics {
	return Metrics{
		Processed:       a.metrics.processed.Load(),
		SkippedRecords:  a.metrics.skipped.Load(),
		FailedRecords:   a.metrics.failed.Load(),
		Commits:         a.metrics.commits.Load(),
		RestoredRecords: a.metrics.restored.Load(),
		DroppedRecords:  a.metrics.dropped.Load(),
		StandbyRecords:  a.metrics.standby.Load(),
		Fenced:          a.metrics.fenced.Load(),
		Resets:          a.metrics.resets.Load(),
		StateRebuilds:   a.metrics.rebuilt.Load(),
	}
}
