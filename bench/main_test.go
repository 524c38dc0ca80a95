package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/strata-go/strata/internal/benchkit"
)

// TestEveryScenarioRuns runs each scenario once on a few thousand records:
// each run's output is read back and checked (every record mapped, every
// key's final count exact), and the report has a row per scenario.
func TestEveryScenarioRuns(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg := config{records: 3000, keys: 100, partitions: 4, run: ".", count: 1, stateDir: t.TempDir(), warmup: true}
	results, err := run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	scenarios := benchkit.Scenarios()
	if len(results) != len(scenarios) {
		t.Fatalf("%d results, want one per scenario (%d)", len(results), len(scenarios))
	}
	var out bytes.Buffer
	report(&out, cfg, results)
	for i, r := range results {
		if r.scenario.Name != scenarios[i].Name || len(r.rates) != 1 || r.rates[0] <= 0 {
			t.Errorf("result %d: %s with rates %v, want %s with one positive rate", i, r.scenario.Name, r.rates, scenarios[i].Name)
		}
		if !strings.Contains(out.String(), "| "+r.scenario.Name+" | ") {
			t.Errorf("report has no row for %s:\n%s", r.scenario.Name, out.String())
		}
	}
}

func TestRunSelectsScenarios(t *testing.T) {
	ctx := context.Background()
	if _, err := run(ctx, config{records: 10, keys: 1, partitions: 1, run: "nothing-matches", count: 1}); err == nil {
		t.Error("a -run matching no scenario is not an error")
	}
	if _, err := run(ctx, config{records: 0, keys: 1, partitions: 1, run: ".", count: 1}); err == nil {
		t.Error("-n 0 is not an error")
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		xs   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
	} {
		if got := median(tc.xs); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.xs, got, tc.want)
		}
	}
}
