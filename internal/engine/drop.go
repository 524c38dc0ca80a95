package engine

import (
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata/deadletter"
	"github.com/strata-go/strata/internal/kv"
)

// Drop records that an operator dropped the current record on purpose (a
// null key where a key is needed, a record too late for its window): it is
// counted in Metrics.DroppedRecords and logged at WARN with its coordinates.
func (t *Task) Drop(node, reason string) {
	t.Metrics.DroppedRecords++
	c := t.current
	t.cfg.Logger.Warn("dropping record", "node", node, "reason", reason,
		"topic", c.Topic, "partition", c.Partition, "offset", c.Offset, "timestamp", c.Timestamp)
}

// RestoreBadRecord applies the task's bad-record policy to a record a store
// cannot restore from a source topic that serves as its changelog: a record
// processing would have skipped, such as an undecodable value or a null key.
// Under BadRecordSkip and BadRecordDeadLetter it counts and logs the record
// and returns nil, so that restoration skips what processing skipped (and
// writes no dead-letter record: processing wrote it, and global stores,
// which read their topics this way, are updated outside any transaction);
// under BadRecordFail it returns an error naming the record.
func (t *Task) RestoreBadRecord(store string, r *kgo.Record, reason error) error {
	if t.cfg.OnBadRecord == BadRecordFail {
		return fmt.Errorf("store %q: restore %s[%d]@%d: %w", store, r.Topic, r.Partition, r.Offset, reason)
	}
	t.Metrics.SkippedRecords++
	t.cfg.Logger.Warn("skipping bad record while restoring", "store", store,
		"topic", r.Topic, "partition", r.Partition, "offset", r.Offset, "err", reason)
	return nil
}

// IsProcessingError reports whether err holds a processor's own error for
// its record (a topology.ProcessingError), to which the processing-error
// policy applies. Package topology sets it.
var IsProcessingError func(err error) bool

// IsSerializationError reports whether err holds a sink's failure to
// serialize an output record (a topology.SerializationError), to which the
// production-error policy applies. Package topology sets it.
var IsSerializationError func(err error) bool

// processingFailed applies the task's processing-error policy to r, whose
// processing failed with err: err itself, wrapped, unless err is a
// processor's own error (IsProcessingError) and the policy skips
// or dead-letters it. What r's processing wrote before the failure (state,
// output) stays, as in Kafka Streams. A store that found its state corrupt
// (kv.ErrCorrupt) is never the record's fault: the error is returned, for
// the runtime to rebuild the state and process the record again.
//
// A sink's failure to serialize an output record (IsSerializationError)
// goes to the production-error policy instead, with the reason
// "production", as in Kafka Streams (KIP-399).
func (t *Task) processingFailed(r *kgo.Record, err error) error {
	err = fmt.Errorf("task %s: %w", t.ID, err)
	policy, reason := t.cfg.OnProcessingError, deadletter.ReasonProcessing
	switch {
	case errors.Is(err, kv.ErrCorrupt):
		return err
	case IsSerializationError != nil && IsSerializationError(err):
		policy, reason = t.cfg.OnProductionError, deadletter.ReasonProduction
	case IsProcessingError == nil || !IsProcessingError(err):
		return err
	}
	if policy == BadRecordFail {
		return err
	}
	if policy == BadRecordDeadLetter {
		if werr := t.deadLetter(r, reason, err); werr != nil {
			return werr
		}
	}
	t.Metrics.FailedRecords++
	t.cfg.Logger.Warn("record failed; skipped by policy", "reason", reason, "dead_lettered", policy == BadRecordDeadLetter,
		"topic", r.Topic, "partition", r.Partition, "offset", r.Offset, "err", err)
	return nil
}

// deadLetter writes r, which failed with err for reason, to the dead-letter
// topic through the task's collector.
func (t *Task) deadLetter(r *kgo.Record, reason string, err error) error {
	werr := t.SendDeadLetter(func(topic string, n int) (*kgo.Record, error) {
		dl := deadletter.New(topic, n, r, reason, err)
		// The input's bytes may be reused once it is processed (the
		// test driver's are): the output gets copies, in the slab.
		dl.Key, dl.Value = t.KeepCopy(r.Key), t.KeepCopy(r.Value)
		return dl, nil
	})
	if werr != nil {
		return fmt.Errorf("task %s: write %s[%d]@%d to dead-letter topic %q: %w (the record: %w)", t.ID, r.Topic, r.Partition, r.Offset, t.cfg.DeadLetterTopic, werr, err)
	}
	return nil
}

// SendDeadLetter sends the record that build makes, given the dead-letter
// topic (TaskConfig.DeadLetterTopic) and its partition count, through the
// task's collector: under exactly-once it commits with the input offset of
// the record being processed. The record's bytes must outlive the input's:
// copies in the task's output slab (KeepCopy), for instance. An error of
// build is returned.
func (t *Task) SendDeadLetter(build func(topic string, partitions int) (*kgo.Record, error)) error {
	topic := t.cfg.DeadLetterTopic
	n, err := t.cfg.Collector.PartitionCount(topic)
	if err != nil {
		return err
	}
	r, err := build(topic, n)
	if err != nil {
		return err
	}
	return t.cfg.Collector.Send(r)
}

// FailRecord applies the processing-error policy to the record being
// processed, which node failed with err (a processing error, such as
// RecoveredProcessing returns) and handles itself rather than returning
// err: under BadRecordFail it returns err, for the node to return; under
// BadRecordSkip and BadRecordDeadLetter it counts the record in
// Metrics.FailedRecords, logs it at WARN and returns nil, after sending,
// under BadRecordDeadLetter, the node's own dead-letter record, which
// deadLetter builds as SendDeadLetter's build does.
func (t *Task) FailRecord(node string, err error, deadLetter func(topic string, partitions int) (*kgo.Record, error)) error {
	policy := t.cfg.OnProcessingError
	if policy == BadRecordFail {
		return err
	}
	c := t.current
	if policy == BadRecordDeadLetter {
		if werr := t.SendDeadLetter(deadLetter); werr != nil {
			return fmt.Errorf("task %s: node %q: write %s[%d]@%d to dead-letter topic %q: %w (the record: %w)", t.ID, node, c.Topic, c.Partition, c.Offset, t.cfg.DeadLetterTopic, werr, err)
		}
	}
	t.Metrics.FailedRecords++
	t.cfg.Logger.Warn("record failed processing; skipped by policy", "node", node, "dead_lettered", policy == BadRecordDeadLetter,
		"topic", c.Topic, "partition", c.Partition, "offset", c.Offset, "err", err)
	return nil
}

// badRecord applies the task's bad-record policy to an input record that
// cannot be decoded: an error under BadRecordFail; under
// BadRecordDeadLetter the record goes to the dead-letter topic, through the
// task's collector (and so, under exactly-once, into the transaction that
// commits its offset); it is counted and logged under both that and
// BadRecordSkip.
func (t *Task) badRecord(r *kgo.Record, reason error) error {
	switch t.cfg.OnBadRecord {
	case BadRecordFail:
		return fmt.Errorf("task %s: %w", t.ID, reason)
	case BadRecordDeadLetter:
		if err := t.deadLetter(r, deadletter.ReasonDeserialization, reason); err != nil {
			return err
		}
	}
	t.Metrics.SkippedRecords++
	t.cfg.Logger.Warn("skipping bad input record", "dead_lettered", t.cfg.OnBadRecord == BadRecordDeadLetter,
		"topic", r.Topic, "partition", r.Partition, "offset", r.Offset, "err", reason)
	return nil
}

// Reject handles r, the next record of in, by policy instead of processing
// it: its processing failed before with cause, for reason (a
// deadletter.Reason*), in a way that would fail again, and what it wrote
// then was rolled back. Under BadRecordDeadLetter the record goes to the
// dead-letter topic; under BadRecordSkip and BadRecordDeadLetter it is
// counted in Metrics.FailedRecords and logged. Under BadRecordFail, Reject
// returns an error naming the record. The input's position moves past r.
func (t *Task) Reject(in *Input, r *kgo.Record, policy BadRecordPolicy, reason string, cause error) error {
	switch policy {
	case BadRecordFail:
		return fmt.Errorf("task %s: %s[%d]@%d: %w", t.ID, r.Topic, r.Partition, r.Offset, cause)
	case BadRecordDeadLetter:
		if err := t.deadLetter(r, reason, cause); err != nil {
			return err
		}
	}
	in.next = r.Offset + 1
	t.Metrics.FailedRecords++
	t.cfg.Logger.Warn("record failed; skipped by policy", "reason", reason, "dead_lettered", policy == BadRecordDeadLetter,
		"topic", r.Topic, "partition", r.Partition, "offset", r.Offset, "err", cause)
	return nil
}

// KeepCopy copies b into the task's output slab; nil stays nil.
func (t *Task) KeepCopy(b []byte) []byte {
	if b == nil {
		return nil
	}
	c := append(t.OutputBuffer(), b...)
	t.KeepOutput(c)
	return c
}
