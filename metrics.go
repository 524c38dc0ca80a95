package strata

import "sync/atomic"

// Metrics is a snapshot of an App's counters. The same counts, and many more
// measurements, are reported to Config.MeterProvider as OpenTelemetry
// metrics (telemetry.go; see docs/operations.md for the list).
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
	// records too late for their window. Each is also logged, at most
	// once per processor and reason every 10 seconds.
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
