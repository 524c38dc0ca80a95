package strata

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata/internal/engine"
	"github.com/strata-go/strata/internal/kv"
)

// Local state is a cache of the changelogs: state that cannot be trusted is
// wiped and rebuilt from them, never used. A task's state cannot be trusted
// when
//
//   - its checkpoint file cannot be read or parsed;
//   - its Pebble database fails to open, or reports corruption
//     (kv.ErrCorrupt): files missing, malformed or of the wrong size, a
//     checksum mismatch, the manifest marker gone;
//   - its database does not match its checkpoint: each checkpoint is also
//     written into the database, in the same atomic write as the last of
//     the data it covers (checkpointState), so a database that lost its
//     files, or was replaced by a new one, tells;
//   - the checkpoint is past the end of a changelog (errStaleCheckpoint).
//
// At open (openState), such state is wiped and the task restored from the
// beginning of its changelogs. A store read that finds corruption while
// the task runs fails the task's processing with an error wrapping
// kv.ErrCorrupt; the poll loop then rebuilds the task's state and processes
// the records since the last commit again (recoverCorruption). Either way
// the rebuild is logged at WARN and counted (Metrics.StateRebuilds). A task
// with a persistent store that has no changelog cannot be rebuilt: it fails
// with an error naming the store.

// errUntrusted marks local state that cannot be trusted.
var errUntrusted = errors.New("local state cannot be trusted")

// taskDB is t's Pebble database, if it is open.
func taskDB(t *engine.Task) *kv.PebbleDB {
	db, _ := t.OpenedStorage().(*kv.PebbleDB)
	return db
}

// openState reads t's checkpoint, readies its directory for exactly-once,
// opens its stores and checks that their database matches the checkpoint.
// It returns the checkpoint, or an error wrapping errUntrusted if the state
// cannot be trusted.
func (r *runner) openState(t *engine.Task) (map[string]int64, error) {
	checkpoint, err := readCheckpoint(t.StateDir())
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errUntrusted, err)
	}
	if err := r.prepareExactlyOnce(t, checkpoint); err != nil {
		return nil, err
	}
	if err := t.InitStores(); err != nil {
		return nil, untrustedIfCorrupt(err)
	}
	if err := matchCheckpoint(t, checkpoint); err != nil {
		return nil, err
	}
	return checkpoint, nil
}

// untrustedIfCorrupt marks err as errUntrusted if it wraps kv.ErrCorrupt.
func untrustedIfCorrupt(err error) error {
	if errors.Is(err, kv.ErrCorrupt) {
		return fmt.Errorf("%w: %w", errUntrusted, err)
	}
	return err
}

// matchCheckpoint checks that the database of t's stores, just opened,
// holds the state checkpoint describes: its metadata record, written with
// the last of the data the checkpoint covers, must be the checkpoint. A new
// or emptied database has none.
func matchCheckpoint(t *engine.Task, checkpoint map[string]int64) error {
	db := taskDB(t)
	if len(checkpoint) == 0 || db == nil {
		return nil // no claim to check, or no persistent store it is about
	}
	meta, ok, err := db.Meta()
	if err != nil {
		return fmt.Errorf("%w: read the checkpoint recorded in the database: %w", errUntrusted, err)
	}
	if !ok {
		return fmt.Errorf("%w: the checkpoint records offsets %v, but the database records none: it is new or was emptied", errUntrusted, checkpoint)
	}
	recorded, err := parseCheckpoint(meta)
	if err != nil {
		return fmt.Errorf("%w: the checkpoint recorded in the database: %w", errUntrusted, err)
	}
	if !maps.Equal(recorded, checkpoint) {
		return fmt.Errorf("%w: the checkpoint records offsets %v, but the database was checkpointed at %v", errUntrusted, checkpoint, recorded)
	}
	return nil
}

// checkpointState makes t's state durable and records the offsets it
// covers: first in its database, in the same atomic write as the last of
// its data, then in its checkpoint file. A database that found corruption
// is not checkpointed: closeTask wipes it.
func checkpointState(t *engine.Task, offsets map[string]int64) error {
	if db := taskDB(t); db != nil {
		if db.Corrupt() != nil {
			return nil
		}
		if err := db.FlushMeta(encodeCheckpoint(offsets)); err != nil {
			return fmt.Errorf("strata: task %s: flush state: %w", t.ID, err)
		}
	} else if err := t.FlushStorage(); err != nil {
		return err
	}
	if err := writeCheckpoint(t.StateDir(), offsets); err != nil {
		return fmt.Errorf("strata: task %s: %w", t.ID, err)
	}
	return nil
}

// wipeUntrusted closes t and wipes its state, which cannot be trusted
// (why), for the caller to open the task again over an empty directory and
// restore it from the changelogs. A task with a persistent store that has
// no changelog is left open, and fails: its state cannot be rebuilt. log is
// the task's logger.
func (a *App) wipeUntrusted(log *slog.Logger, t *engine.Task, why error) error {
	if err := a.unrebuildable(t, why); err != nil {
		return err
	}
	log.Warn("local state cannot be trusted; wiping it and restoring it from the changelogs", "err", why)
	a.metrics.rebuilt.Add(1)
	return wipeState(t)
}

// unrebuildable returns an error wrapping why if t has a persistent store
// without a changelog, whose state cannot be rebuilt; else nil.
func (a *App) unrebuildable(t *engine.Task, why error) error {
	for _, s := range t.Stores() {
		if def := a.top.Graph.Store(s.Name()); def.Persistent && !def.Logged && def.SourceTopic == "" {
			return fmt.Errorf("store %q has no changelog to rebuild its state from: %w", s.Name(), why)
		}
	}
	return nil
}

// wipeState closes t and deletes its state directory. Closing a database
// that cannot be trusted may fail; its files are deleted anyway.
func wipeState(t *engine.Task) error {
	closeErr := t.Close()
	if d := t.StateDir(); d != "" {
		if err := os.RemoveAll(d); err != nil {
			return fmt.Errorf("wipe state of task %s: %w", t.ID, errors.Join(err, closeErr))
		}
	}
	return nil
}

// taskLog is the worker's logger for task t.
func (r *runner) taskLog(t *engine.Task) *slog.Logger { return r.log.With("task", t.ID.String()) }

// closeTask closes t, wiping its state if it found corruption (closeState).
func (r *runner) closeTask(t *engine.Task) error { return r.app.closeState(r.taskLog(t), t) }

// closeState closes t. If its database found corruption while it ran, its
// state is wiped, to be rebuilt when the task opens again, unless it cannot
// be rebuilt (a store without a changelog). log is the task's logger.
func (a *App) closeState(log *slog.Logger, t *engine.Task) error {
	db := taskDB(t)
	if db == nil || db.Corrupt() == nil || a.unrebuildable(t, nil) != nil {
		return t.Close()
	}
	log.Warn("local state found corrupt; wiping it, to be restored from the changelogs", "err", db.Corrupt())
	a.metrics.rebuilt.Add(1)
	return wipeState(t)
}

// recoverCorruption handles err, an error of the poll loop that wraps
// kv.ErrCorrupt: a store of a task found its state corrupt, while
// processing, restoring or committing. Every task whose database reports
// corruption is rebuilt, and the records since the last commit are
// processed again:
//
//   - under exactly-once, the open transaction aborts, which rewinds the
//     consumer to the committed offsets, and the tasks' state is rolled
//     back (rollback) as after any abort;
//   - under at-least-once, the corrupt tasks are closed without a
//     checkpoint, their state wiped and their input partitions rewound to
//     the committed offsets; they reopen, restoring from the changelogs,
//     while the other tasks go on with what they hold.
//
// Corrupt standby tasks are wiped and open again from scratch.
// It returns err itself when no task reports corruption (the error came
// from elsewhere, the global stores say), and an error naming the store if
// a corrupt task has a persistent store without a changelog. Called with
// mu held.
func (r *runner) recoverCorruption(ctx context.Context, err error) error {
	var corrupt []*engine.Task
	for _, t := range r.tasks {
		if db := taskDB(t); db != nil && db.Corrupt() != nil {
			corrupt = append(corrupt, t)
		}
	}
	for _, rs := range r.restoring {
		if db := taskDB(rs.task); db != nil && db.Corrupt() != nil {
			corrupt = append(corrupt, rs.task)
		}
	}
	standbys := r.corruptStandbys()
	if len(corrupt) == 0 && len(standbys) == 0 {
		return err
	}
	if len(corrupt) > 0 {
		r.log.Warn("local state found corrupt; rebuilding it and processing the records since the last commit again", "tasks", len(corrupt), "standby_tasks", len(standbys), "err", err)
	} else {
		r.log.Warn("standby state found corrupt; rebuilding it", "standby_tasks", len(standbys), "err", err)
	}
	if len(standbys) > 0 {
		// The failed update may have left other standby tasks'
		// fetched records unapplied: every standby task closes, with a
		// checkpoint of what it applied (a corrupt one is wiped
		// instead), and opens again.
		reopen := append(slices.Collect(maps.Keys(r.standby.tasks)), r.standby.pending...)
		if err := r.closeStandbys(true); err != nil {
			return err
		}
		r.standby.pending = reopen
	}
	if len(corrupt) == 0 {
		return nil
	}
	for _, t := range corrupt {
		if uerr := r.app.unrebuildable(t, err); uerr != nil {
			return fmt.Errorf("strata: task %s: %w", t.ID, uerr)
		}
	}
	if r.eos {
		if aerr := r.abortTransaction(); aerr != nil {
			// The worker's client cannot be trusted: reset it.
			return &resetError{errors.Join(err, aerr)}
		}
		return r.rollback()
	}
	parts := map[string][]int32{}
	rewind := map[string]map[int32]kgo.EpochOffset{}
	committed := r.cl.CommittedOffsets()
	for _, t := range corrupt {
		for _, in := range t.Inputs() {
			parts[in.Topic] = append(parts[in.Topic], in.Partition)
			if off, ok := committed[in.Topic][in.Partition]; ok {
				if rewind[in.Topic] == nil {
					rewind[in.Topic] = map[int32]kgo.EpochOffset{}
				}
				rewind[in.Topic][in.Partition] = off
			}
		}
	}
	if err := r.closeTasks(ctx, parts, false); err != nil {
		return fmt.Errorf("strata: close corrupt tasks: %w", err)
	}
	// Records polled since the last commit were processed against
	// corrupt state or not at all: they are fetched again. No rebalance
	// can run meanwhile (the client blocks them while the loop holds
	// what it polled).
	r.cl.SetOffsets(rewind)
	r.openAssigned(ctx, parts)
	if r.fatal != nil {
		return r.fatal
	}
	// The failure may have cut the processing of the other tasks'
	// records short.
	for _, t := range r.tasks {
		if t.Buffered() > 0 {
			if err := r.processWith(t, t.ProcessAll); err != nil {
				return err
			}
		}
	}
	return nil
}

// corruptStandbys lists the standby tasks whose database reports
// corruption. Called with mu held.
func (r *runner) corruptStandbys() []engine.TaskID {
	var ids []engine.TaskID
	for id, st := range r.standby.tasks {
		if db := taskDB(st.task); db != nil && db.Corrupt() != nil {
			ids = append(ids, id)
		}
	}
	return ids
}
