package strata_test

import (
	"context"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/embedded"
)

// TestCountersExported checks that an App's counters reach its
// MeterProvider: after a run, each OpenTelemetry counter, with the
// application's attribute, holds what App.Metrics reports.
func TestCountersExported(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "in", Partitions: 2}, {Name: "out", Partitions: 2}}})
	cfg := testConfig(t, c, "counters")
	cfg.DisableCache = true // one output per input
	reader := sdkmetric.NewManualReader()
	cfg.MeterProvider = sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	app, err := strata.New(countTopology(t, nil), cfg)
	if err != nil {
		t.Fatal(err)
	}
	keys := []string{"a", "b", "c", "a", "b", "a"}
	produceKeys(t, c, keys)
	runUntil(t, c, app, len(keys))

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != "github.com/strata-go/strata" {
			continue
		}
		for _, m := range sm.Metrics {
			sum, ok := m.Data.(metricdata.Sum[int64])
			if !ok || !sum.IsMonotonic {
				continue
			}
			for _, dp := range sum.DataPoints {
				if v, ok := dp.Attributes.Value("application"); ok && v.AsString() == "counters" {
					got[m.Name] = dp.Value
				}
			}
		}
	}
	m := app.Metrics()
	if m.Processed != int64(len(keys)) || m.Commits < 1 {
		t.Fatalf("Metrics() = %+v, want %d processed and a commit", m, len(keys))
	}
	for name, want := range map[string]int64{
		"strata.records.processed": m.Processed,
		"strata.records.skipped":   m.SkippedRecords,
		"strata.records.dropped":   m.DroppedRecords,
		"strata.records.failed":    m.FailedRecords,
		"strata.commits":           m.Commits,
		"strata.standby.records":   m.StandbyRecords,
		"strata.fenced":            m.Fenced,
		"strata.state.rebuilt":     m.StateRebuilds,
	} {
		if v, ok := got[name]; !ok || v != want {
			t.Errorf("%s = %d (reported: %v), want %d", name, v, ok, want)
		}
	}
}
