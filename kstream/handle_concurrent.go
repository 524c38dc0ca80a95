package kstream

import (
	"context"
	"time"

	"github.com/strata-go/strata/internal/dsl"
	"github.com/strata-go/strata/topology"
)

// Ordering says which records a concurrent handler ([WithConcurrency]) may
// handle at the same time: [OrderByKey], [OrderByPartition] or
// [Unordered]. It is topology.Ordering.
type Ordering = topology.Ordering

// Orderings of a concurrent handler.
const (
	// OrderByKey: records of one key never overlap and are handled in
	// offset order; records of different keys overlap.
	OrderByKey = topology.OrderByKey
	// OrderByPartition: one record of a partition at a time, in offset
	// order.
	OrderByPartition = topology.OrderByPartition
	// Unordered: any records overlap.
	Unordered = topology.Unordered
)

// WithConcurrency makes [Stream.Handle] handle up to n records of a task
// (one partition of its input) at once, in the order ordering allows
// ([OrderByKey] keeps the order of each key and is what most handlers
// want): Confluent's parallel consumer's key-ordered concurrency, and
// Gojek Ziggurat's channels, for handlers that wait on I/O. The function
// then runs on n goroutines of the handler per task, not on the task's.
//
//   - Records are taken in offset order; a record whose key has an earlier
//     record in flight waits behind it. Each counts towards n from the
//     moment it is taken until its outcome is applied.
//   - Outcomes are applied on the task's goroutine, as without
//     concurrency (the retry topic, the dead set); under exactly-once they
//     commit in the transaction that commits the offsets.
//   - The committed offset of a partition never passes a record that is
//     not finished: a record finishing before an earlier one is committed
//     with it, once the earlier one is done.
//   - At n records (or strata's Config.MaxInFlight across the instance),
//     the task takes no more; once it has Config.MaxPollRecords records
//     buffered, its partitions are paused.
//   - When the partition is revoked or the application stops, the records
//     in flight get a bounded wait, then their context is cancelled; what
//     did not finish is handled again by the partition's next owner (at
//     least once for the side effect; exactly once for Kafka outputs under
//     exactly-once).
//
// n ≤ 1 is the default: one record at a time, on the task's goroutine. A
// blocking retry policy cannot be concurrent (Build fails).
func WithConcurrency(n int, ordering Ordering) Option {
	return dsl.NewOption(dsl.OptConcurrency, func(o *dsl.Options) { o.Concurrency, o.Ordering = n, ordering })
}

// WithBatch sets the batches of [Stream.HandleBatch]: at most maxRecords
// records (default 100), handled once the first has waited maxWait
// (default 100ms) if the batch is not full by then. Zero keeps a default.
func WithBatch(maxRecords int, maxWait time.Duration) Option {
	return dsl.NewOption(dsl.OptBatch, func(o *dsl.Options) { o.BatchRecords, o.BatchWait = maxRecords, maxWait })
}

// HandleBatch is [Stream.Handle] for records in batches (a bulk insert, a
// bulk API call), Ziggurat's batch routes: fn gets the records of one task
// (one partition of the input) in offset order, up to the size of
// [WithBatch] or what arrived within its wait, and returns their outcomes,
// one per record in the same order (a missing one is a Retry). Each
// outcome is applied as Handle's are: the same retry topic, dead set,
// policies and metrics. One batch of a task is handled at a time, on a
// goroutine of the handler, while the next fills; the committed offsets
// never pass a record whose batch is not done. ctx is cancelled as
// WithConcurrency says; a panic in fn is the processing error of every
// record of the batch.
//
// Options: [WithBatch], [WithRetry] (not blocking), [WithSerdes].
func (s Stream[K, V]) HandleBatch(name string, fn func(ctx context.Context, records []KeyValue[K, V]) []Outcome, opts ...Option) {
	b := s.builder()
	d, ks, vs := handlerOptions(s, "HandleBatch", name, fn == nil, dsl.OptBatch, opts)
	topology.AddBatchHandler(b, name, topology.BatchHandler[K, V]{
		Func: func(ctx context.Context, rs []topology.Record[K, V]) []Outcome {
			// Tasks call it at the same time: a slice per batch.
			kvs := make([]KeyValue[K, V], 0, len(rs))
			for _, r := range rs {
				kvs = append(kvs, KeyValue[K, V]{Key: r.Key, Value: r.Value})
			}
			return fn(ctx, kvs)
		},
		MaxRecords: d.BatchRecords,
		MaxWait:    d.BatchWait,
		KeySerde:   ks,
		ValueSerde: vs,
		Retry:      d.Retry,
	}, s.node())
}
