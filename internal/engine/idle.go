package engine

// A task with several inputs processes their records in timestamp order,
// but it can only order what it has fetched. When one input's records are
// buffered and another's are still on their way, processing the first
// would put the second's earlier records after them: a stream-table join
// would miss a table update that precedes the stream record. Kafka Streams
// (KIP-695, max.task.idle.ms = 0) therefore holds such a task back while an
// input has nothing buffered and is known to lag: the broker has records
// for it beyond the consumer's position. The runtime tells the task where
// each input's partition ends (SetEnd, from every fetch and from a listing
// when the task opens) and where it starts (SetPosition); the test driver,
// which buffers every record before processing it, tells it nothing, and
// its tasks never wait.

// SetEnd records that the partition of the task's input of topic ends at
// end: the last stable offset, up to which a read_committed consumer reads.
// Ends only move forward.
func (t *Task) SetEnd(topic string, end int64) {
	if in := t.byTopic[topic]; in != nil && end > in.end {
		in.end = end
	}
}

// lagging reports whether the input has nothing buffered while records are
// known to be on their way: its position and end are known, and the
// position is below the end.
func (in *Input) lagging() bool {
	return in.q.Len() == 0 && in.next >= 0 && in.end >= 0 && in.next < in.end
}

// Waiting reports whether the task holds back its buffered records because
// an input lags (see ProcessOne).
func (t *Task) Waiting() bool {
	if len(t.inputs) < 2 || t.enforce {
		return false
	}
	for _, in := range t.inputs {
		if in.lagging() {
			return true
		}
	}
	return false
}

// ProcessAllNow processes every buffered record, even while an input lags:
// Kafka Streams' enforced processing. The runtime calls it before an
// exactly-once commit, which commits the offsets of every record polled, so
// that none is committed unprocessed.
func (t *Task) ProcessAllNow() error {
	t.enforce = true
	defer func() { t.enforce = false }()
	return t.ProcessAll()
}
