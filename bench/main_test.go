package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/strata-go/strata/internal/benchkit"
)

// TestMain makes the test binary a child process of the command's runs when
// it is started as one (see childMain).
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(childMain(os.Stdin, os.Stdout))
	}
	os.Exit(m.Run())
}

// TestEveryScenarioRuns runs each scenario once on a few thousand records,
// the high-cardinality ones on at most 4000 keys and the I/O-bound ones on
// at most 400 records, each in a child process:
// each run's output is read back and checked (every record mapped, every
// key's final count exact, every pair joined), and the report has a row
// per scenario with the child's peak RSS.
func TestEveryScenarioRuns(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg := config{records: 3000, keys: 100, partitions: 4, run: ".", count: 1, stateDir: t.TempDir(), warmup: true, keyCap: 4000, recordCap: 400}
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
		// A Go program's RSS is a few MiB at least, and a child with
		// a broker client far from a GiB.
		if len(r.rss) != 1 || r.rss[0] < 4 || r.rss[0] > 1024 {
			t.Errorf("%s: peak RSS %v MiB, want one plausible value", r.scenario.Name, r.rss)
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
