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
// updates into it, the output is acknowledged, the production-error policy
// looks at what failed, then the session adds the offsets of every record
// polled since the last commit and commits. If the commit fails (a
// rebalance or fencing got in the way, or output failed), the transaction
// aborts and the tasks' local state, which may hold its writes, is rolled
// back. If its end is unknown (the brokers did not answer within ctx), it
// is aborted with a new bound, and if that fails too, the worker resets.
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
		return &resetError{err}
	}
	if err := r.awaitOutput(ctx); err != nil {
		return r.endFailed(fmt.Errorf("strata: commit transaction: %w", err))
	}
	if abort, err := r.checkOutput(ctx); abort {
		if isFenced(err) {
			// Another producer took the transactional ID over:
			// the loop rejoins (rejoinFenced).
			return err
		}
		if aerr := r.abortTransaction(); aerr != nil {
			if isFenced(aerr) {
				return aerr
			}
			return &resetError{errors.Join(err, aerr)}
		}
		if err != nil {
			return err // the policy does not cover it: Run stops
		}
		return r.rollback()
	}
	committed, err := r.sess.End(ctx, kgo.TryCommit)
	if err == nil {
		r.inTxn, r.polled = false, 0
	}
	if err != nil {
		if isFenced(err) {
			return fmt.Errorf("strata: commit transaction: %w", err)
		}
		return r.endFailed(fmt.Errorf("strata: commit transaction: %w", err))
	}
	if !committed {
		r.log.Warn("transaction aborted; restoring the tasks' state and processing its records again")
		return r.rollback()
	}
	for _, t := range r.tasks {
		t.ReleaseOutputBuffers()
	}
	r.lastCommit = time.Now()
	r.app.metrics.commits.Add(1)
	committedOffsets := r.cl.CommittedOffsets()
	r.prunePoisoned(committedOffsets)
	r.purgeRepartition(ctx, func() map[string]map[int32]kgo.EpochOffset { return committedOffsets })
	return nil
}

// endFailed handles a transaction whose end failed with cause, other than
// by fencing: its outcome may be unknown, and its output and offsets may be
// pending at the brokers, holding back read_committed readers. It is
// aborted, with a bound of its own; the state it wrote is rolled back and
// its records are processed again. If even the abort fails, the worker's
// client cannot be trusted: the loop resets it, and its new producer's
// initialisation aborts the transaction.
func (r *runner) endFailed(cause error) error {
	r.log.Warn("transaction did not commit; aborting it", "err", cause)
	if err := r.abortTransaction(); err != nil {
		if isFenced(err) {
			return err
		}
		return &resetError{errors.Join(cause, err)}
	}
	return r.rollback()
}

// abortTransaction ends an open transaction without committing, waiting on
// the brokers at most commitTimeout; the session rewinds to the committed
// offsets. The caller rolls state back. Output handed over before is
// discarded, its failures with it.
//
// It only ends a transaction with records polled or output produced since
// the last commit: then a poll happened since the loop last allowed a
// rebalance, so no rebalance callback runs meanwhile. (The session's
// callback wrappers hold the lock End takes while they call the worker's
// callbacks, which take mu: ending a session from the loop, which holds mu,
// while a callback runs would deadlock.)
func (r *runner) abortTransaction() error {
	if !r.txnOpen() || r.sess == nil {
		return nil
	}
	ctx, cancel := r.commitContext()
	defer cancel()
	r.inTxn, r.polled = false, 0
	_, err := r.sess.End(ctx, kgo.TryAbort)
	r.output.take()
	if err != nil {
		return fmt.Errorf("strata: abort transaction: %w", err)
	}
	return nil
}

// rollback discards the tasks' local state after an aborted transaction:
// each task is closed without a checkpoint, its state wiped, and reopened,
// restoring from the changelogs, which read_committed shows without the
// aborted writes.
func (r *runner) rollback() error {
	ctx, cancel := context.WithTimeout(r.produceCtx, attemptTimeout)
	defer cancel()
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
	err = r.fatal
	r.fatal = nil
	return err
}

// resetSession ends the transaction session after a rebalance, aborting
// the transaction if one was open, in which case the tasks' state, which may
// hold its writes, is rolled back.
func (r *runner) resetSession() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	open := r.txnOpen()
	r.inTxn, r.polled = false, 0
	ctx, cancel := r.commitContext()
	defer cancel()
	_, err := r.sess.End(ctx, kgo.TryAbort)
	r.output.take()
	if err != nil {
		if isFenced(err) {
			return fmt.Errorf("strata: reset transaction session: %w", err)
		}
		return &resetError{fmt.Errorf("strata: reset transaction session: %w", err)}
	}
	if open {
		r.log.Warn("partitions lost mid-transaction; aborted it, restoring the tasks' state and processing its records again")
		return r.rollback()
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
