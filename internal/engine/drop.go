package engine

// Drop records that an operator dropped the current record on purpose (a
// null key where a key is needed, a record too late for its window): it is
// counted in Metrics.DroppedRecords and logged at WARN with its coordinates.
func (t *Task) Drop(node, reason string) {
	t.Metrics.DroppedRecords++
	c := t.current
	t.cfg.Logger.Warn("dropping record", "node", node, "reason", reason,
		"topic", c.Topic, "partition", c.Partition, "offset", c.Offset, "timestamp", c.Timestamp)
}
