package strata

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

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
// looks at what failed, then the offsets of what the tasks processed are
// added and the transaction commits. If the commit fails (a rebalance or
// fencing got in the way, or output failed), the transaction aborts and the
// tasks' local state, which may hold its writes, is rolled back. If its end
// is unknown (the brokers did not answer within ctx), it is aborted with a
// new bound, and if that fails too, the worker resets.
//
// The offsets committed are the tasks' (CommittableOffsets: the first
// record each has not processed), not the positions the consumer polled up
// to, which franz-go's session would commit: a task may hold polled
// records back (waiting for a lagging input, or for a record's due time),
// and those must not be committed unprocessed. The session's offset commit
// request is rewritten to say so (kgo.PreTxnCommitFnContext); after an
// abort the consumer is rewound to these offsets (rewind).
func (r *runner) commitTransaction(ctx context.Context) error {
	if !r.txnOpen() {
		return nil
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
	offsets := r.processedOffsets()
	committed, err := r.sess.End(kgo.PreTxnCommitFnContext(ctx, func(req *kmsg.TxnOffsetCommitRequest) error {
		setTxnOffsets(req, offsets, r.commitMetadata)
		return nil
	}), kgo.TryCommit)
	if err == nil {
		r.inTxn, r.polled, r.processed = false, 0, false
	}
	if err != nil {
		if isFenced(err) {
			return fmt.Errorf("strata: commit transaction: %w", err)
		}
		return r.endFailed(fmt.Errorf("strata: commit transaction: %w", err))
	}
	if !committed {
		r.stats.txnAborted.Add(1)
		r.log.Warn("transaction aborted; restoring the tasks' state and processing its records again")
		return r.rollback()
	}
	for _, t := range r.tasks {
		t.ReleaseOutputBuffers()
	}
	r.lastCommit = time.Now()
	r.app.metrics.commits.Add(1)
	r.stats.txnCommitted.Add(1)
	r.app.tel.committed(r.stats, time.Since(r.commitStart))
	for topic, ps := range offsets {
		for p, eo := range ps {
			r.committed[topicPartition{topic, p}] = eo.Offset
		}
	}
	committedOffsets := r.committedOffsets()
	r.prunePoisoned(committedOffsets)
	r.purgeRepartition(ctx, func() map[string]map[int32]kgo.EpochOffset { return committedOffsets })
	return nil
}

// processedOffsets returns, for each input partition of the active tasks,
// the offset of the first record not processed, where it moved since the
// last commit. Called with mu held.
//
// When none moved (a transaction holding only a punctuation's output, or
// records held back), it returns every offset the tasks know, unchanged:
// committing them again costs one request, and a transaction that commits
// no offsets costs more with franz-go (v1.22.2). Its session then sees no
// KIP-447 offset commit and holds its lock for 500 ms after the commit, so
// the next transaction's end waits that long (measured: an idle input's
// wall-clock punctuations committed one every 600 ms, not every 5 ms;
// TestExactlyOncePunctuationOnlyOutput), and it may end a transaction
// whose only records went to a topic new to the client with an abort
// (deadletter's errSilentAbort), which the session would report as
// committed to no one's notice.
func (r *runner) processedOffsets() map[string]map[int32]kgo.EpochOffset {
	if offsets := r.taskOffsets(true); len(offsets) > 0 {
		return offsets
	}
	if offsets := r.taskOffsets(false); len(offsets) > 0 {
		return offsets
	}
	// No task processed a record since it was assigned: the group's
	// committed offsets, which the client fetched at the assignment.
	offsets := map[string]map[int32]kgo.EpochOffset{}
	committed := r.cl.CommittedOffsets()
	for _, t := range r.tasks {
		for _, in := range t.Inputs() {
			if eo, ok := committed[in.Topic][t.ID.Partition]; ok && eo.Offset >= 0 {
				if offsets[in.Topic] == nil {
					offsets[in.Topic] = map[int32]kgo.EpochOffset{}
				}
				offsets[in.Topic][t.ID.Partition] = eo
			}
		}
	}
	return offsets
}

// taskOffsets returns the offset of the first record not processed of each
// input partition of the active tasks; if moved, only those where it moved
// since the last commit. Called with mu held.
func (r *runner) taskOffsets(moved bool) map[string]map[int32]kgo.EpochOffset {
	offsets := map[string]map[int32]kgo.EpochOffset{}
	for _, t := range r.tasks {
		for topic, off := range t.CommittableOffsets() {
			tp := topicPartition{topic, t.ID.Partition}
			if last, ok := r.committed[tp]; moved && ok && last == off {
				continue
			}
			if offsets[topic] == nil {
				offsets[topic] = map[int32]kgo.EpochOffset{}
			}
			offsets[topic][t.ID.Partition] = kgo.EpochOffset{Epoch: -1, Offset: off}
		}
	}
	return offsets
}

// setTxnOffsets makes req, a transaction's offset commit, commit offsets:
// the partitions franz-go put in it (those polled) are replaced by those
// the tasks processed, with the metadata meta returns (the member ID where
// it returns nil). Topic IDs are kept where franz-go knew them.
func setTxnOffsets(req *kmsg.TxnOffsetCommitRequest, offsets map[string]map[int32]kgo.EpochOffset, meta func(topic string, p int32) *string) {
	ids := make(map[string][16]byte, len(req.Topics))
	for _, t := range req.Topics {
		ids[t.Topic] = t.TopicID
	}
	req.Topics = req.Topics[:0]
	for topic, ps := range offsets {
		rt := kmsg.NewTxnOffsetCommitRequestTopic()
		rt.Topic, rt.TopicID = topic, ids[topic]
		for p, eo := range ps {
			rp := kmsg.NewTxnOffsetCommitRequestTopicPartition()
			rp.Partition, rp.Offset, rp.LeaderEpoch = p, eo.Offset, eo.Epoch
			rp.Metadata = meta(topic, p)
			if rp.Metadata == nil {
				rp.Metadata = &req.MemberID
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		req.Topics = append(req.Topics, rt)
	}
}

// rewind moves the consumer of parts back to the offsets this worker last
// committed, after a transaction aborted: franz-go rewinds to the
// positions it polled up to at the last commit, past records the tasks
// held back then, which the rolled-back tasks no longer hold. Partitions
// this worker has not committed since they were assigned need nothing:
// franz-go's position is the group's committed offset.
func (r *runner) rewind(parts map[string][]int32) {
	set := map[string]map[int32]kgo.EpochOffset{}
	for topic, ps := range parts {
		for _, p := range ps {
			if off, ok := r.committed[topicPartition{topic, p}]; ok {
				if set[topic] == nil {
					set[topic] = map[int32]kgo.EpochOffset{}
				}
				set[topic][p] = kgo.EpochOffset{Epoch: -1, Offset: off}
			}
		}
	}
	if len(set) > 0 {
		r.cl.SetOffsets(set)
	}
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
	r.inTxn, r.polled, r.processed = false, 0, false
	r.stats.txnAborted.Add(1)
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
	r.rewind(assigned)
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
	r.inTxn, r.polled, r.processed = false, 0, false
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
		r.stats.txnAborted.Add(1)
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
