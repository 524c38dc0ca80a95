package strata

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/strata-go/strata/internal/engine"
	"github.com/strata-go/strata/topology"
)

// meterName is the instrumentation scope of Strata's OpenTelemetry metrics.
const meterName = "github.com/strata-go/strata"

// OpenTelemetry instruments of restoration, with attributes "task" (the task
// ID, as "0_3") and "store" (the store's name).
const (
	// metricRestoreRecords counts changelog records applied to stores
	// while restoring them.
	metricRestoreRecords = "strata.restore.records"
	// metricRestoreRemaining is the number of changelog offsets a store
	// still has to restore: its end offset less the next offset to read.
	// It is 0 once the store is restored.
	metricRestoreRemaining = "strata.restore.remaining"
)

// restoreMetrics reports restoration progress to the app's RestoreListener,
// its log and its OpenTelemetry instruments.
type restoreMetrics struct {
	records   metric.Int64Counter
	remaining metric.Int64Gauge
}

func newRestoreMetrics(mp metric.MeterProvider) (*restoreMetrics, error) {
	m := mp.Meter(meterName)
	records, err := m.Int64Counter(metricRestoreRecords,
		metric.WithDescription("Changelog records applied to state stores while restoring them."),
		metric.WithUnit("{record}"))
	if err != nil {
		return nil, fmt.Errorf("strata: create metric %s: %w", metricRestoreRecords, err)
	}
	remaining, err := m.Int64Gauge(metricRestoreRemaining,
		metric.WithDescription("Changelog offsets a state store still has to restore; 0 once restored."),
		metric.WithUnit("{offset}"))
	if err != nil {
		return nil, fmt.Errorf("strata: create metric %s: %w", metricRestoreRemaining, err)
	}
	return &restoreMetrics{records: records, remaining: remaining}, nil
}

// restoreAttrs are a store's metric attributes, made once per restoration:
// the App's, the task's and the store's.
func (tel *telemetry) restoreAttrs(id topology.TaskID, store string) metric.MeasurementOption {
	kvs := append(append([]attribute.KeyValue{}, tel.base...),
		attribute.String("task", id.String()),
		attribute.String("store", store))
	return metric.WithAttributeSet(attribute.NewSet(kvs...))
}

// started records that p's restoration begins.
func (m *restoreMetrics) started(p *restorePlan) {
	m.remaining.Record(context.Background(), p.end-p.start, p.attrs)
}

// batch records a batch of n records applied to p's store.
func (m *restoreMetrics) batch(p *restorePlan, n int) {
	m.records.Add(context.Background(), int64(n), p.attrs)
	m.remaining.Record(context.Background(), max(p.end-p.next, 0), p.attrs)
}

// ended records that p's store is restored.
func (m *restoreMetrics) ended(p *restorePlan) {
	m.remaining.Record(context.Background(), 0, p.attrs)
}

// restoreStarted reports that p's restoration for task id begins: to the
// RestoreListener, the log and the metrics.
func (a *App) restoreStarted(log *slog.Logger, id topology.TaskID, p *restorePlan) {
	if l := a.cfg.RestoreListener; l != nil {
		l.OnRestoreStart(id, p.store.Name(), p.topic, p.start, p.end)
	}
	p.attrs = a.tel.restoreAttrs(id, p.store.Name())
	p.stats = a.tel.task(engine.TaskID(id)).store(p.store.Name(), p.topic)
	p.stats.remaining.Store(p.end - p.start)
	a.restoreMetrics.started(p)
	log.Info("restoring store", "task", id.String(), "store", p.store.Name(), "changelog", p.topic, "from", p.start, "to", p.end)
}

// restoredBatch reports a batch of n records applied to p's store, up to
// offset p.next.
func (a *App) restoredBatch(id topology.TaskID, p *restorePlan, n int) {
	p.records += int64(n)
	a.metrics.restored.Add(int64(n))
	a.restoreMetrics.batch(p, n)
	p.stats.remaining.Store(max(p.end-p.next, 0))
	if l := a.cfg.RestoreListener; l != nil {
		l.OnBatchRestored(id, p.store.Name(), p.next, n)
	}
}

// restoreEnded reports that p's store is restored, took after its start.
func (a *App) restoreEnded(log *slog.Logger, id topology.TaskID, p *restorePlan, took time.Duration) {
	a.restoreMetrics.ended(p)
	p.stats.remaining.Store(0)
	if l := a.cfg.RestoreListener; l != nil {
		l.OnRestoreEnd(id, p.store.Name(), p.records, took)
	}
	log.Info("restored store", "task", id.String(), "store", p.store.Name(), "records", p.records, "took", took,
		"records_per_second", int64(float64(p.records)/max(took.Seconds(), 1e-9)))
}
