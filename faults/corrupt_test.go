package faults_test

import (
	"encoding/binary"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/embedded"
)

// Corrupt local state: a counting app stops cleanly, one task's state
// directory is damaged, more input arrives, and the app starts again. Its
// local state is a cache of its changelog: whatever the damage, the app
// must start, find that the state cannot be trusted, wipe it, restore it
// from the changelog, and count exactly (under exactly-once, every count
// once; under at-least-once, the right final counts).

// The size of the corruption scenarios: the state is built in two runs of
// corruptPerKey records of each of corruptKeys keys (on the counting
// scenario's three partitions), each run's memtables flushed to an sstable
// of its own once it stopped.
const (
	corruptKeys   = 2000
	corruptPerKey = 4
)

// corruptTask is the task whose state the scenarios damage; the others
// must keep their state.
const corruptTask = "0_0"

type corruption struct {
	name string
	// compact makes the damaged database's sstables one compacted
	// level, which no compaction touches at the next open.
	compact bool
	// corrupt damages dir, the task's directory, holding sstables ssts.
	corrupt func(t *testing.T, dir string, ssts []string)
	// reason is part of the error the rebuild's log gives.
	reason string
	// whileProcessing marks damage found by a store read while the
	// task runs, not when it opens.
	whileProcessing bool
}

var corruptions = []corruption{
	{
		name:    "sstable garbled",
		corrupt: func(t *testing.T, _ string, ssts []string) { garble(t, largest(t, ssts), 0, 1) },
		reason:  "corrupt pebble database",
	},
	{
		name: "sstable truncated",
		corrupt: func(t *testing.T, _ string, ssts []string) {
			f := largest(t, ssts)
			st, err := os.Stat(f)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(f, st.Size()/2); err != nil {
				t.Fatal(err)
			}
		},
		reason: "size mismatch",
	},
	{
		name:    "sstable deleted",
		corrupt: func(t *testing.T, _ string, ssts []string) { remove(t, largest(t, ssts)) },
		reason:  "does not exist",
	},
	{
		name: "MANIFEST garbled",
		corrupt: func(t *testing.T, dir string, _ []string) {
			for _, f := range filesOf(t, dir, func(n string) bool { return strings.HasPrefix(n, "MANIFEST-") }) {
				garble(t, f, 0, 1)
			}
		},
		reason: "malformed manifest",
	},
	{
		name: "MANIFEST deleted",
		corrupt: func(t *testing.T, dir string, _ []string) {
			remove(t, filesOf(t, dir, func(n string) bool { return strings.HasPrefix(n, "MANIFEST-") })...)
		},
		reason: "could not open manifest",
	},
	{
		name: "manifest marker deleted",
		corrupt: func(t *testing.T, dir string, _ []string) {
			remove(t, filesOf(t, dir, func(n string) bool { return strings.HasPrefix(n, "marker.manifest.") })...)
		},
		reason: "manifest marker is missing",
	},
	{
		name: "Pebble files deleted, checkpoint kept",
		corrupt: func(t *testing.T, dir string, _ []string) {
			remove(t, filesOf(t, dir, func(n string) bool { return n != checkpointFile })...)
		},
		reason: "the database records none",
	},
	{
		name:    "checkpoint garbled",
		corrupt: func(t *testing.T, dir string, _ []string) { garble(t, filepath.Join(dir, checkpointFile), 0, 1) },
		reason:  "unknown version line",
	},
	{
		// The changelog lost its tail (recreated, or an unclean leader
		// election): the checkpoint, in the file and in the database
		// alike, is past its end.
		name:    "checkpoint ahead of the changelog",
		corrupt: func(t *testing.T, dir string, _ []string) { moveCheckpoint(t, dir, 1000) },
		reason:  "past the end",
	},
	{
		// Data blocks garbled, which no open reads: the first store
		// read of them, while processing, finds the corruption. (The
		// first blocks, which hold the database's checkpoint record,
		// read at open, and the last, the sstable's metadata, are
		// spared.)
		name:    "sstable data garbled, found while processing",
		compact: true,
		corrupt: func(t *testing.T, _ string, ssts []string) {
			for _, f := range ssts {
				garble(t, f, 0.3, 0.6)
			}
		},
		reason:          "checksum",
		whileProcessing: true,
	},
}

// TestCorruptStateIsRebuilt runs every corruption under both guarantees.
// Each checks the output against the model, that the damaged task's state
// was rebuilt once (a WARN naming the damage, Metrics.StateRebuilds) on the
// path the scenario names (at open, or while processing), that the task
// restored its changelog from the beginning, and that the other tasks kept
// their state.
func TestCorruptStateIsRebuilt(t *testing.T) {
	// Beside the outages, which mostly wait: the suite takes as long as
	// the longest of them.
	t.Parallel()
	for _, g := range guarantees {
		for _, sc := range corruptions {
			t.Run(g.String()+"/"+sc.name, func(t *testing.T) { runCorruption(t, g, sc) })
		}
	}
}

func runCorruption(t *testing.T, g strata.Guarantee, sc corruption) {
	c := cluster(t, countTopics()...)
	log, logs := captureLogs(t)
	cfg := appConfig(t, c, "corrupt", g)
	cfg.Logger = log
	cfg.DisableCache = true
	model := countModel{}
	input := func(perKey int) {
		in := keyedInput("in", corruptKeys*perKey, corruptKeys, nil)
		produce(t, c, in...)
		model.add(in)
	}

	// Two runs build the state, each stopping cleanly, checkpointed;
	// the memtables of each are then flushed, so that the state spans
	// several sstables.
	dir := taskDir(cfg, corruptTask)
	var ssts []string
	for range 2 {
		input(corruptPerKey)
		runToEnd(t, c, countTopology(t, nil), cfg)
		ssts = flushToTables(t, dir)
	}
	if len(ssts) < 2 {
		t.Fatalf("the task's state is in %d sstables, want several", len(ssts))
	}
	if sc.compact {
		ssts = compactTables(t, dir)
	}
	sc.corrupt(t, dir, ssts)

	// More input, and a run over the damaged directory.
	input(1)
	restored := newRestores()
	cfg.RestoreListener = restored
	app := runToEnd(t, c, countTopology(t, nil), cfg)

	checkCounts(t, c, model, g)
	if g == strata.AtLeastOnce && !sc.whileProcessing {
		// After a clean stop nothing is processed twice: the final
		// counts are exact. (Corruption found while processing makes
		// the records since the last commit count again over a
		// changelog that may hold them already.)
		checkFinalCounts(t, c, model)
	}

	// The damaged state was rebuilt, once, and said so.
	if n := app.Metrics().StateRebuilds; n != 1 {
		t.Errorf("Metrics().StateRebuilds = %d, want 1", n)
	}
	untrusted := logs.find(slog.LevelWarn, "local state cannot be trusted")
	found := logs.find(slog.LevelWarn, "local state found corrupt; wiping it")
	rebuilt := untrusted
	if sc.whileProcessing {
		rebuilt = found
		if len(untrusted) > 0 {
			t.Errorf("the corruption was found at open, not while processing: %v", untrusted)
		}
		if len(logs.find(slog.LevelWarn, "processing the records since the last commit again")) == 0 {
			t.Error("no log of processing the records since the last commit again")
		}
	} else if len(found) > 0 {
		t.Errorf("the corruption was found while processing, not at open: %v", found)
	}
	if len(rebuilt) != 1 || !strings.Contains(rebuilt[0].attrs, `task="`+corruptTask+`"`) || !strings.Contains(rebuilt[0].attrs, sc.reason) {
		t.Errorf("rebuild logs %v; want one WARN for task %s saying %q", rebuilt, corruptTask, sc.reason)
	}

	// The rebuilt task restored its changelog from the beginning; the
	// other tasks kept their state (but for an abort's rollback, under
	// exactly-once, which restores every task of the worker).
	starts, records := restored.of(corruptTask)
	if len(starts) == 0 || starts[len(starts)-1] != 0 || records == 0 {
		t.Errorf("task %s restored from %v, %d records; want a restoration from 0", corruptTask, starts, records)
	}
	if sc.whileProcessing && g == strata.ExactlyOnce {
		return
	}
	for _, other := range []string{"0_1", "0_2"} {
		if starts, n := restored.of(other); len(starts) > 0 || n > 0 {
			t.Errorf("task %s restored from %v, %d records; want its state kept", other, starts, n)
		}
	}
}

// checkFinalCounts checks that every key's last count in "out" is the
// model's.
func checkFinalCounts(t *testing.T, c *embedded.Cluster, model countModel) {
	t.Helper()
	last := map[string]int64{}
	for _, r := range readAll(t, c, "out") {
		last[string(r.Key)] = int64(binary.BigEndian.Uint64(r.Value))
	}
	bad := 0
	for k, n := range model {
		if last[k] != n {
			if bad++; bad <= 5 {
				t.Errorf("key %s: last count %d, want %d", k, last[k], n)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d keys end on a wrong count", bad, len(model))
	}
}
