package topology

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/strata-go/strata/internal/engine"
	"github.com/strata-go/strata/retry"
	"github.com/strata-go/strata/serde"
)

// Defaults of BatchHandler.
const (
	DefaultBatchMaxRecords = 100
	DefaultBatchMaxWait    = 100 * time.Millisecond
)

// BatchHandler configures a batch outcome handler: its function gets the
// records of one partition (one task) in batches, and says what became of
// each (a bulk insert, a bulk API call). See [AddBatchHandler].
type BatchHandler[K, V any] struct {
	// Func handles a batch of records, in offset order, and returns
	// their outcomes, one per record in the same order. Outcomes
	// missing (a shorter slice) are Retry with an error saying so; extra
	// ones are ignored. ctx is cancelled when the application stops or
	// the partition is revoked (after a bounded wait for the batch). The
	// slice is reused after Func returns: do not keep it.
	Func func(ctx context.Context, rs []Record[K, V]) []Outcome
	// MaxRecords is the most records a batch holds. Default
	// DefaultBatchMaxRecords.
	MaxRecords int
	// MaxWait is the longest the first record of a batch waits for more
	// before the batch is handled. Default DefaultBatchMaxWait.
	MaxWait time.Duration
	// KeySerde, ValueSerde and Retry are as in Handler.
	KeySerde   serde.Serde[K]
	ValueSerde serde.Serde[V]
	Retry      retry.Policy
}

// AddBatchHandler adds a batch outcome handler named name below parents,
// a terminal node like AddHandler's, whose function gets records in
// batches: per task (one partition of each input), a batch is handled once
// it holds h.MaxRecords records, or once its first record has waited
// h.MaxWait, whichever comes first. One batch of a task is handled at a
// time, on a goroutine of the handler, while the task goes on taking
// records into the next; once that one is full too, the task takes no more
// (the runtime pauses its partitions once it buffers a poll's worth). Each
// record's outcome is applied as
// AddHandler's are, with the same retry topic, dead set, policies and
// metrics (plus those of concurrent handlers: records in flight, calls
// running, the time records waited for their batch's call); the records of
// a batch are held until their outcomes are applied, so no commit passes a
// record whose batch was not handled (see Handler.Concurrency). A panic in
// h.Func is the processing error of every record of the batch. A blocking
// retry policy is refused.
func AddBatchHandler[K, V any](b *Builder, name string, h BatchHandler[K, V], parents ...string) {
	checkHandler(b, "batch handler", name, h.Func == nil, h.KeySerde == nil, h.ValueSerde == nil)
	if h.MaxRecords < 0 {
		b.Fail(fmt.Errorf("batch handler %q: MaxRecords is %d; it must be 0 (the default) or more", name, h.MaxRecords))
	}
	if h.MaxWait < 0 {
		b.Fail(fmt.Errorf("batch handler %q: MaxWait is %v; it must be 0 (the default) or more", name, h.MaxWait))
	}
	if h.Retry.Blocking {
		b.Fail(fmt.Errorf("batch handler %q: a blocking retry policy retries in place, one record at a time; a batch handler cannot", name))
	}
	if h.MaxRecords == 0 {
		h.MaxRecords = DefaultBatchMaxRecords
	}
	if h.MaxWait == 0 {
		h.MaxWait = DefaultBatchMaxWait
	}
	addHandler(b, name, Handler[K, V]{KeySerde: h.KeySerde, ValueSerde: h.ValueSerde, Retry: h.Retry}, func(n *handlerNode[K, V]) {
		n.batch = &batcher[K, V]{n: n, fn: h.Func, max: h.MaxRecords, wait: h.MaxWait}
	}, parents...)
}

// batcher collects a task's records into batches and runs one at a time.
type batcher[K, V any] struct {
	n    *handlerNode[K, V]
	fn   func(ctx context.Context, rs []Record[K, V]) []Outcome
	max  int
	wait time.Duration
	// filling is the batch taking records; running the one handed to the
	// goroutine, nil when none is.
	filling, running []*inFlight[K, V]
	spare            []*inFlight[K, V]
	free             []*inFlight[K, V]
	// recs, outs, panicked and stack are the running batch's call: its
	// records, and what the call returned.
	recs     []Record[K, V]
	outs     []Outcome
	panicked any
	stack    []byte
	timer    *time.Timer
	// onTimer and done are posted to the task: when a batch may be due,
	// when the running batch's call returned.
	onTimer, done func() error
	work          chan struct{}
	ctx           context.Context
	cancel        context.CancelFunc
	global        *engine.InFlightLimit
}

func (b *batcher[K, V]) start() {
	t := b.n.task
	b.ctx, b.cancel = context.WithCancel(t.Context())
	b.global = t.Config().InFlight
	b.work = make(chan struct{}, 1)
	b.onTimer = func() error { return b.flushIfDue() }
	b.done = b.complete
	b.timer = time.AfterFunc(time.Hour, func() { t.Post(b.onTimer) })
	b.timer.Stop()
	go b.worker()
	t.AddBusyCheck(b.busy)
}

func (b *batcher[K, V]) stop() {
	if b.cancel != nil {
		b.cancel()
		b.timer.Stop()
		close(b.work)
		b.cancel = nil
	}
}

// busy: a batch runs and the next is full.
func (b *batcher[K, V]) busy() bool {
	return len(b.filling) >= b.max || b.global.Full()
}

// take adds the record being processed to the filling batch.
func (b *batcher[K, V]) take(r Record[K, V]) error {
	var it *inFlight[K, V]
	if k := len(b.free); k > 0 {
		it = b.free[k-1]
		b.free = b.free[:k-1]
	} else {
		it = &inFlight[K, V]{}
	}
	b.n.takeItem(it, r, b.global)
	b.filling = append(b.filling, it)
	switch {
	case len(b.filling) >= b.max:
		b.flush()
	case len(b.filling) == 1:
		b.timer.Reset(b.wait)
	}
	return nil
}

// flushIfDue hands the filling batch to the goroutine if it is full or its
// first record has waited long enough.
func (b *batcher[K, V]) flushIfDue() error {
	if b.cancel == nil || len(b.filling) == 0 {
		return nil
	}
	if len(b.filling) >= b.max {
		b.flush()
		return nil
	}
	if left := b.wait - time.Since(b.filling[0].taken); left > 0 {
		b.timer.Reset(left)
		return nil
	}
	b.flush()
	return nil
}

// flush hands the filling batch to the goroutine unless one runs (it then
// goes when that one is done).
func (b *batcher[K, V]) flush() {
	if b.running != nil {
		return
	}
	b.timer.Stop()
	b.running, b.filling = b.filling, b.spare[:0]
	b.recs = b.recs[:0]
	for _, it := range b.running {
		b.recs = append(b.recs, it.rec)
	}
	b.work <- struct{}{}
}

// worker calls the function for each batch handed to it.
func (b *batcher[K, V]) worker() {
	n := b.n
	for range b.work {
		now := time.Now()
		for _, it := range b.running {
			n.m.waited(now.Sub(it.taken))
		}
		n.m.calling(1)
		b.outs, b.panicked, b.stack = b.call()
		n.m.took(time.Since(now))
		n.m.calling(-1)
		n.task.Post(b.done)
	}
}

func (b *batcher[K, V]) call() (outs []Outcome, panicked any, stack []byte) {
	defer func() {
		if v := recover(); v != nil {
			panicked, stack = v, debug.Stack()
		}
	}()
	return b.fn(b.ctx, b.recs), nil, nil
}

// complete applies the outcomes of the running batch, on the task's
// goroutine, in offset order, and hands on the next batch if it is due.
func (b *batcher[K, V]) complete() error {
	n := b.n
	var first error
	for i, it := range b.running {
		switch {
		case b.panicked != nil:
			it.panicked, it.stack = b.panicked, b.stack
		case i < len(b.outs):
			it.out = b.outs[i]
		default:
			it.out = Retry(fmt.Errorf("batch handler %q returned %d outcomes for %d records", n.name, len(b.outs), len(b.running)))
		}
		if first == nil {
			first = n.completeItem(it)
		}
		b.global.Release()
		n.m.taken(-1)
		it.reset()
		b.free = append(b.free, it)
		b.running[i] = nil
	}
	b.spare, b.running = b.running[:0], nil
	clear(b.recs)
	b.outs, b.panicked, b.stack = nil, nil, nil
	if first != nil {
		return first
	}
	return b.flushIfDue()
}
