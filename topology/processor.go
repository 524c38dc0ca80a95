package topology

import (
	"log/slog"
	"time"

	"github.com/strata-go/strata/internal/engine"
)

// Processor processes records of one type and forwards records of another.
// Each task has its own instance, made by the supplier given to
// [AddProcessor], so a processor needs no locking.
type Processor[KIn, VIn, KOut, VOut any] interface {
	// Init is called once before the first record. The processor keeps
	// ctx to forward records, read metadata and schedule punctuations.
	Init(ctx Context[KOut, VOut]) error
	// Process handles one record. An error stops the task: return one
	// only for failures the application cannot handle itself.
	Process(r Record[KIn, VIn]) error
	// Close is called once when the task closes.
	Close() error
}

// Context is what a processor sees of the task running it.
type Context[K, V any] interface {
	// Forward passes r to every child, in the order they were added, and
	// returns the first error a child returns.
	Forward(r Record[K, V]) error
	// ForwardTo passes r to the named child only. Naming a node that is
	// not a child is an error.
	ForwardTo(child string, r Record[K, V]) error
	TaskContext
}

// TaskContext is what every processor sees of the task running it,
// whatever it forwards: the part of [Context] and [FixedKeyContext] that
// does not forward, and what a ktable.ValueTransformer gets.
type TaskContext interface {
	// RecordMetadata describes the input record being processed. ok is
	// false during punctuation, when there is none.
	RecordMetadata() (md RecordMetadata, ok bool)
	// TaskID identifies the task.
	TaskID() TaskID
	// ApplicationID is the application's ID, the prefix of its internal
	// topics and its consumer group.
	ApplicationID() string
	// StreamTime is the largest record timestamp the task has processed;
	// the zero Time before the first record.
	StreamTime() time.Time
	// Schedule calls fn every interval. StreamTime punctuations fire
	// when records move stream time past the next slot; WallClockTime
	// punctuations fire from the wall clock. Records fn forwards go to
	// this processor's children.
	Schedule(interval time.Duration, typ PunctuationType, fn Punctuator) (Cancellable, error)
	// Logger returns the task's logger.
	Logger() *slog.Logger
	// SkipRecord reports that the processor drops the current record on
	// purpose, for the reason given: the record is counted in the task's
	// dropped-records metric and logged with its coordinates, so that no
	// record disappears silently.
	SkipRecord(reason string)
	// StateStore returns the named state store, which must be connected
	// to this processor. Processors normally use package state's typed
	// helpers instead, such as state.LookupKeyValue[K, V](ctx, name).
	StateStore(name string) (StateStore, error)
	// Redeliver asks that the input record being processed be delivered
	// again, from its source, no earlier than at: its partition's later
	// records wait behind it, its offset is not committed, and the next
	// delivery's RecordMetadata says one more Attempt. It is how a
	// processor retries a record in place, keeping the partition's
	// order (a blocking retry); meanwhile the worker goes on with its
	// other partitions, commits and rebalances. What the record's
	// processing did before is not undone: use it where the record
	// reached the processor from its source through stateless
	// operations, or be idempotent. A task that moves to another
	// instance delivers the record anew (Attempt 0). Outside the
	// processing of a record (in a punctuation) it does nothing.
	Redeliver(at time.Time)
	// Hold lets the processor finish the input record being processed
	// after Process returns, for work done on another goroutine (a call
	// to a service): until the returned Pending's Done, the record's
	// offset, and its partition's later offsets, are not committed, so
	// a commit never passes unfinished work, while the task goes on
	// with later records. The work's result goes back to the task's
	// goroutine with Post, where the processor forwards its output and
	// calls Done. Records still pending when the task closes (its
	// partitions revoked, the app stopping or failing) are processed
	// again by whoever takes the task over. Outside the processing of a
	// record Hold returns nil. Several processors may hold one record
	// (two handlers of one stream): each calls Done once, and the record
	// is done when the last has; calling Hold again in one processor
	// returns the same Pending, still to be done once.
	Hold() *Pending
	// Post runs fn on the task's goroutine soon, as if it were part of
	// processing: it may forward records, use stores and call
	// Pending.Done. Post is safe to call from any goroutine; fn's error
	// stops the task as a processing error of this processor would.
	Post(fn func() error)
}

// Pending is an input record whose processing goes on after Process
// returned (Context.Hold).
type Pending struct{ p *engine.Pending }

// Done completes the record: it counts as processed, and its offset is
// committed once every earlier record of its partition is done. Call it
// once, from a function given to Context.Post.
func (p *Pending) Done() {
	if p != nil {
		p.p.Done()
	}
}

// StateStore is implemented by every state store.
type StateStore interface {
	Name() string
}

// Punctuator is called by a scheduled punctuation with the time that
// triggered it: stream time or wall-clock time.
type Punctuator func(ts time.Time) error

// PunctuationType selects the clock that drives a punctuation.
type PunctuationType = engine.PunctuationType

// Punctuation types.
const (
	StreamTime    = engine.StreamTime
	WallClockTime = engine.WallClockTime
)

// Cancellable cancels a scheduled punctuation.
type Cancellable interface {
	Cancel()
}

// TimestampExtractor returns the event time of a record, given the record as
// deserialized (its Timestamp is the Kafka record's timestamp) and the
// largest timestamp seen so far on its partition (the zero Time before the
// first). A returned error, or a time before the Unix epoch, marks the record
// as bad: the application's bad-record policy then fails or skips it.
type TimestampExtractor[K, V any] func(r Record[K, V], partitionTime time.Time) (time.Time, error)

// Partitioner picks the partition of an output record among n. ok false
// means "use the default": murmur2 of the serialized key, as Kafka's Java
// producer and franz-go do.
type Partitioner[K, V any] func(topic string, key K, value V, n int) (partition int32, ok bool)

// TopicExtractor picks the topic of an output record.
type TopicExtractor[K, V any] func(r Record[K, V]) (string, error)
