package strata

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/strata-go/strata/embedded"
	"github.com/strata-go/strata/internal/engine"
)

// TestStandbyOpenRebuildsUntrustedState opens a standby task over a
// directory whose checkpoint claims offsets its database does not hold
// (the database's files are gone): the standby wipes it and tails the
// changelog from the beginning. Closed cleanly, it leaves a checkpoint that
// its database matches, which the next open trusts.
func TestStandbyOpenRebuildsUntrustedState(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "in", Partitions: 1}}})
	a, in, r := storeRunner(t, c, "standby-untrusted")

	const changelog = "standby-untrusted-counts-changelog"
	id := engine.TaskID{}
	dir := filepath.Join(in.state.path, id.String())
	if err := writeCheckpoint(dir, map[string]int64{changelog: 6}); err != nil {
		t.Fatal(err)
	}
	open := func() int64 {
		t.Helper()
		if !in.dirs.tryLock(id) {
			t.Fatal("task directory busy")
		}
		if err := r.openStandby(id); err != nil {
			t.Fatal(err)
		}
		return r.standby.tasks[id].stores[changelog].next
	}
	if next := open(); next != 0 || a.Metrics().StateRebuilds != 1 {
		t.Fatalf("standby opened at %d after %d rebuilds; want 0 after 1", next, a.Metrics().StateRebuilds)
	}
	if _, err := os.Stat(filepath.Join(dir, checkpointFile)); !os.IsNotExist(err) {
		t.Errorf("the untrusted checkpoint is still there: %v", err)
	}

	// A clean close checkpoints, in the file and the database, where
	// the standby got to (3, say).
	r.standby.tasks[id].stores[changelog].next = 3
	if err := r.closeStandby(id, true); err != nil {
		t.Fatal(err)
	}
	if next := open(); next != 3 || a.Metrics().StateRebuilds != 1 {
		t.Fatalf("reopened at %d after %d rebuilds; want 3 after 1 (the checkpoint trusted)", next, a.Metrics().StateRebuilds)
	}
	if err := r.closeStandby(id, true); err != nil {
		t.Fatal(err)
	}
}
