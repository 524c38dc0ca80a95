package engine

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"
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
// Under BadRecordSkip it counts and logs the record and returns nil, so that
// restoration skips what processing skipped; under BadRecordFail it returns
// an error naming the record.
func (t *Task) RestoreBadRecord(store string, r *kgo.Record, reason error) error {
	if t.cfg.OnBadRecord == BadRecordFail {
		return fmt.Errorf("store %q: restore %s[%d]@%d: %w", store, r.Topic, r.Partition, r.Offset, reason)
	}
	t.Metrics.SkippedRecords++
	t.cfg.Logger.Warn("skipping bad record while restoring", "store", store,
		"topic", r.Topic, "partition", r.Partition, "offset", r.Offset, "err", reason)
	return nil
}
