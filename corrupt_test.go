package strata_test

import (
	"context"
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
	removeManifestMarker(t, dir)

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

// TestGlobalStateCorruptIsRebuilt deletes the manifest marker of the global
// stores' database while the app is stopped: the next start finds it, wipes
// the global state and restores it from its topic in full.
func TestGlobalStateCorruptIsRebuilt(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{
		{Name: "countries", Partitions: 3}, {Name: "orders"}, {Name: "enriched"},
	}})
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	produce := manualProducer(t, c)
	produce(ctx, country("c0", 1000, 0), country("c1", 1001, 1), country("c2", 1002, 2))
	cfg := testConfig(t, c, "global-corrupt")
	read := outputReader(t, c)
	run := func(o, country, want string) *strata.App {
		t.Helper()
		app, err := strata.New(globalJoinTopology(t), cfg)
		if err != nil {
			t.Fatal(err)
		}
		r := start(t, app)
		produce(ctx, order(o, country, 0))
		if rec := read(ctx); string(rec.Value) != want {
			t.Fatalf("enriched %s, want %s", rec.Value, want)
		}
		r.stopAndWait(t)
		return app
	}
	run("o1", "c1", "o1:1001")

	dir := filepath.Join(cfg.StateDir, cfg.ApplicationID, "global")
	removeManifestMarker(t, dir)
	app := run("o2", "c2", "o2:1002")
	if m := app.Metrics(); m.StateRebuilds != 1 || m.RestoredRecords != 3 {
		t.Errorf("second start: %d rebuilds, %d records restored; want 1 rebuild restoring all 3", m.StateRebuilds, m.RestoredRecords)
	}
}

// removeManifestMarker deletes the manifest marker of the Pebble database
// in dir, leaving its other files.
func removeManifestMarker(t *testing.T, dir string) {
	t.Helper()
	markers, err := filepath.Glob(filepath.Join(dir, "marker.manifest.*"))
	if err != nil || len(markers) == 0 {
		t.Fatalf("no manifest marker in %s: %v", dir, err)
	}
	for _, m := range markers {
		if err := os.Remove(m); err != nil {
			t.Fatal(err)
		}
	}
}
