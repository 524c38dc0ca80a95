package engine

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata/deadletter"
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
		topic := t.cfg.DeadLetterTopic
		n, err := t.cfg.Collector.PartitionCount(topic)
		if err == nil {
			err = t.cfg.Collector.Send(deadletter.New(topic, n, r, deadletter.ReasonDeserialization, reason))
		}
		if err != nil {
			return fmt.Errorf("task %s: write %s[%d]@%d to dead-letter topic %q: %w (the record: %w)", t.ID, r.Topic, r.Partition, r.Offset, topic, err, reason)
		}
		t.Metrics.SkippedRecords++
		t.cfg.Logger.Warn("bad input record written to the dead-letter topic", "topic", r.Topic, "partition", r.Partition, "offset", r.Offset, "dead_letter_topic", topic, "err", reason)
		return nil
	}
	t.Metrics.SkippedRecords++
	t.cfg.Logger.Warn("skipping bad input record", "topic", r.Topic, "partition", r.Partition, "offset", r.Offset, "err", reason)
	return nil
}
