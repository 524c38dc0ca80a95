package strata_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/embedded"
	"github.com/strata-go/strata/state"
)

// TestUnloggedStoreCannotBeRebuilt damages the database of a task whose
// persistent store has no changelog: its state cannot be rebuilt, so the
// app does not wipe it but stops with an error naming the store, and the
// files are left for an operator.
func TestUnloggedStoreCannotBeRebuilt(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "in", Partitions: 1}, {Name: "out", Partitions: 1}}})
	cfg := testConfig(t, c, "unlogged")
	cfg.DisableCache = true
	produceKeys(t, c, []string{"a", "b", "a"})
	app, err := strata.New(countTopology(t, nil, state.Logging(false)), cfg)
	if err != nil {
		t.Fatal(err)
	}
	runUntil(t, c, app, 3)

	dir := filepath.Join(cfg.StateDir, cfg.ApplicationID, "0_0")
	markers, err := filepath.Glob(filepath.Join(dir, "marker.manifest.*"))
	if err != nil || len(markers) == 0 {
		t.Fatalf("no manifest marker in %s: %v", dir, err)
	}
	for _, m := range markers {
		if err := os.Remove(m); err != nil {
			t.Fatal(err)
		}
	}

	app, err = strata.New(countTopology(t, nil, state.Logging(false)), cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = start(t, app).wait(t)
	if err == nil || !strings.Contains(err.Error(), `store "counts" has no changelog`) || !strings.Contains(err.Error(), "manifest marker is missing") {
		t.Fatalf("Run: %v; want an error naming the store without a changelog and the damage", err)
	}
	if n := app.Metrics().StateRebuilds; n != 0 {
		t.Errorf("Metrics().StateRebuilds = %d, want 0", n)
	}
	if logs, err := filepath.Glob(filepath.Join(dir, "*.log")); err != nil || len(logs) == 0 {
		t.Errorf("the task's files were deleted (%v, %v); want them left", logs, err)
	}
}
