package strata_test

import (
	"context"
	"os"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/embedded"
)

// TestRestoreMetrics: an instance that lost its local state restores it
// from the changelogs, and reports that to its MeterProvider: the records
// restored per task and store, and nothing left to restore at the end.
func TestRestoreMetrics(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "in", Partitions: 2}, {Name: "out", Partitions: 2}}})
	cfg := testConfig(t, c, "restore-metrics")
	cfg.DisableCache = true // one changelog record per input
	app, err := strata.New(countTopology(t, nil), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for i := range 300 {
		keys = append(keys, string(rune('a'+i%26))+string(rune('a'+i%7)))
	}
	produceKeys(t, c, keys)
	runUntil(t, c, app, len(keys))
	if err := os.RemoveAll(cfg.StateDir); err != nil {
		t.Fatal(err)
	}
	ends, err := c.Admin().ListEndOffsets(context.Background(), "restore-metrics-counts-changelog")
	if err != nil {
		t.Fatal(err)
	}
	changelog := map[string]int64{}
	ends.Each(func(o kadm.ListedOffset) { changelog[taskOf(o.Partition)] = o.Offset })

	reader := sdkmetric.NewManualReader()
	cfg.MeterProvider = sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	listener := &restoreCounter{}
	cfg.RestoreListener = listener
	app2, err := strata.New(countTopology(t, nil), cfg)
	if err != nil {
		t.Fatal(err)
	}
	produceKeys(t, c, []string{"zz"})
	runUntil(t, c, app2, len(keys)+1)

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	restored, remaining := map[string]int64{}, map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != "github.com/strata-go/strata" {
			continue
		}
		for _, m := range sm.Metrics {
			switch data := m.Data.(type) {
			case metricdata.Sum[int64]:
				if m.Name == "strata.restore.records" {
					for _, dp := range data.DataPoints {
						restored[pointKey(t, dp.Attributes)] += dp.Value
					}
				}
			case metricdata.Gauge[int64]:
				if m.Name == "strata.restore.remaining" {
					for _, dp := range data.DataPoints {
						remaining[pointKey(t, dp.Attributes)] = dp.Value
					}
				}
			}
		}
	}
	var total int64
	for task, n := range changelog {
		key := "counts/" + task
		if restored[key] != n {
			t.Errorf("strata.restore.records{%s} = %d, want the changelog's %d records", key, restored[key], n)
		}
		if v, ok := remaining[key]; !ok || v != 0 {
			t.Errorf("strata.restore.remaining{%s} = %d (reported: %v), want 0", key, v, ok)
		}
		total += n
	}
	if total != int64(len(keys)) || len(restored) != 2 || len(remaining) != 2 {
		t.Errorf("restored %v, remaining %v; want the %d records of 2 tasks", restored, remaining, len(keys))
	}
	if got := app2.Metrics().RestoredRecords; got != total {
		t.Errorf("Metrics().RestoredRecords = %d, want %d", got, total)
	}
	if listener.restored != total {
		t.Errorf("the RestoreListener saw %d records restored, want %d", listener.restored, total)
	}
}

// taskOf names the task of sub-topology 0 reading partition p.
func taskOf(p int32) string { return "0_" + string(rune('0'+p)) }

// pointKey is a data point's "store/task" attributes.
func pointKey(t *testing.T, attrs attribute.Set) string {
	t.Helper()
	store, ok1 := attrs.Value("store")
	task, ok2 := attrs.Value("task")
	app, ok3 := attrs.Value("application")
	_, ok4 := attrs.Value("instance")
	if !ok1 || !ok2 || !ok3 || app.AsString() != "restore-metrics" || !ok4 || attrs.Len() != 4 {
		t.Fatalf("data point attributes %v, want application, instance, task and store", slices.Collect(func(yield func(attribute.KeyValue) bool) {
			for it := attrs.Iter(); it.Next(); {
				if !yield(it.Attribute()) {
					return
				}
			}
		}))
	}
	return store.AsString() + "/" + task.AsString()
}
