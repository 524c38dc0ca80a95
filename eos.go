package strata

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata/internal/engine"
)

// begin opens a transaction under exactly-once if none is open. Records
// produced outside a transaction would not be atomic with anything.
func (r *runner) begin() error {
	if !r.eos || r.inTxn {
		return nil
	}
	if err := r.sess.Begin(); err != nil {
		return fmt.Errorf("strata: begin transaction: %w", err)
	}
	r.inTxn = true
	return nil
}

// commitTransaction commits the open transaction: stores flush their cached
// updates into it, then the session flushes the output, adds the offsets of
// every record polled since the last commit and commits. If the commit
// fails (a rebalance or fencing got in the way), the transaction aborts and
// the tasks' local state, which may hold its writes, is rolled back.
func (r *runner) commitTransaction(ctx context.Context) error {
	if !r.inTxn && r.polled == 0 {
		return nil
	}
	// The session commits the offset of every record polled: a record a
	// task holds back for a lagging input (Config.MaxTaskIdle) is
	// processed now, or it would be committed unprocessed.
	for _, t := range r.tasks {
		if t.Buffered() > 0 {
			if err := r.processWith(t, t.ProcessAllNow); err != nil {
				return err
			}
		}
	}
	for _, t := range r.tasks {
		if err := t.FlushStores(); err != nil {
			return fmt.Errorf("strata: %w", err)
		}
	}
	if err := r.begin(); err != nil {
		return err
	}
	committed, err := r.sess.End(ctx, kgo.TryCommit)
	r.inTxn, r.polled = false, 0
	if err != nil {
		return fmt.Errorf("strata: commit transaction: %w", err)
	}
	if perr := r.produceErr.Load(); perr != nil {
		return fmt.Errorf("strata: %w", *perr)
	}
	if !committed {
		r.log.Warn("transaction aborted; restoring the tasks' state and processing its records again")
		return r.rollback(ctx)
	}
	for _, t := range r.tasks {
		t.ReleaseOutputBuffers()
	}
	r.lastCommit = time.Now()
	r.app.metrics.commits.Add(1)
	r.purgeRepartition(ctx, r.cl.CommittedOffsets)
	return nil
}

// abortTransaction ends an open transaction without committing; the session
// rewinds to the committed offsets. The caller rolls state back.
func (r *runner) abortTransaction(ctx context.Context) error {
	if !r.eos || !r.inTxn {
		return nil
	}
	r.inTxn, r.polled = false, 0
	if _, err := r.sess.End(ctx, kgo.TryAbort); err != nil {
		return fmt.Errorf("strata: abort transaction: %w", err)
	}
	return nil
}

// rollback discards the tasks' local state after an aborted transaction:
// each task is closed without a checkpoint, its state wiped, and reopened,
// restoring from the changelogs, which read_committed shows without the
// aborted writes.
func (r *runner) rollback(ctx context.Context) error {
	assigned := map[string][]int32{}
	for tp := range r.inputs {
		assigned[tp.topic] = append(assigned[tp.topic], tp.partition)
	}
	var dirs []string
	for _, t := range r.tasks {
		if d := t.StateDir(); d != "" {
			dirs = append(dirs, d)
		}
	}
	err := r.closeTasks(ctx, nil, false)
	for _, d := range dirs {
		err = errors.Join(err, os.RemoveAll(d))
	}
	if err != nil {
		return fmt.Errorf("strata: roll back state: %w", err)
	}
	r.openAssigned(ctx, assigned)
	return r.fatal
}

// resetSession ends the transaction session after a rebalance, aborting
// the transaction if one was open, in which case the tasks' state, which may
// hold its writes, is rolled back.
func (r *runner) resetSession() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	open := r.txnOpen()
	r.inTxn, r.polled = false, 0
	if _, err := r.sess.End(r.produceCtx, kgo.TryAbort); err != nil {
		return fmt.Errorf("strata: reset transaction session: %w", err)
	}
	if open {
		r.log.Warn("partitions lost mid-transaction; aborted it, restoring the tasks' state and processing its records again")
		return r.rollback(r.produceCtx)
	}
	return nil
}

// prepareExactlyOnce readies a task's state directory before its stores
// open. Under exactly-once local state is trusted only if it was closed
// cleanly, which the checkpoint records; the checkpoint is removed now so
// that a crash from here on leaves none, and state without one is wiped.
func (r *runner) prepareExactlyOnce(t *engine.Task, checkpoint map[string]int64) error {
	if !r.eos || t.StateDir() == "" {
		return nil
	}
	if len(checkpoint) == 0 {
		if err := os.RemoveAll(t.StateDir()); err != nil {
			return fmt.Errorf("wipe state without checkpoint: %w", err)
		}
		return nil
	}
	return removeCheckpoint(t.StateDir())
}
