package engine

import "github.com/twmb/franz-go/pkg/kgo"

// Node is one instance of a topology node inside one task.
type Node interface {
	// Connect is called once for each child, in the child's insertion
	// order, before Init. A node checks that the child accepts what it
	// forwards and keeps a typed reference to it.
	Connect(child string, n Node) error
	// Init prepares the node to run in t.
	Init(t *Task) error
	// Close releases what Init acquired.
	Close() error
}

// Source is a node that reads records from topics.
type Source interface {
	Node
	// NewQueue returns an empty input queue for one partition of one of the
	// source's topics.
	NewQueue(topic string, partition int32) Queue
}

// Queue buffers decoded input records of one topic-partition until the task
// processes them.
type Queue interface {
	// Add decodes r and appends it. A record that cannot be decoded, or
	// whose timestamp is invalid, is not appended; the returned error
	// carries the record's coordinates.
	Add(r *kgo.Record) error
	// Len is the number of buffered records.
	Len() int
	// HeadTime is the timestamp, in milliseconds, of the first buffered
	// record. It is only called when Len() > 0.
	HeadTime() int64
	// HeadOffset is the offset of the first buffered record.
	HeadOffset() int64
	// HeadRecord is the first buffered record as it was read.
	HeadRecord() *kgo.Record
	// ProcessHead removes the first record, tells the task it is current
	// and forwards it to the source's children.
	ProcessHead() error
	// HeadDue is the wall-clock time, in Unix milliseconds, before which
	// the first buffered record must not be processed; 0 when it may be
	// processed at once. It is only called when Len() > 0.
	HeadDue() int64
	// Requeue puts the record ProcessHead last removed back at the head,
	// not to be processed before due (Unix milliseconds), as one more
	// delivery of it (see Task.Redeliver).
	Requeue(due int64)
}

// Collector takes a task's output records.
type Collector interface {
	// Send hands r to the output. r, r.Key and r.Value must stay untouched
	// until the task's output buffers are released (see
	// Task.ReleaseOutputBuffers).
	Send(r *kgo.Record) error
	// PartitionCount returns how many partitions topic has.
	PartitionCount(topic string) (int, error)
}
