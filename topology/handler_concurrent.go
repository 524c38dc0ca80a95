package topology

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata/internal/engine"
)

// A concurrent outcome handler (Handler.Concurrency > 1) takes records in
// offset order on the task's goroutine and calls its function for up to
// Concurrency of them at once on goroutines of its own, as its Ordering
// allows. Each record it takes is held (engine.Task.Hold): its offset, and
// its partition's later offsets, are not committable until the record is
// done. Records go to the goroutines, and their outcomes come back to the
// task's goroutine, in batches (handler_concurrent_queue.go): one post
// (Task.Post) brings back every call returned since the task last took
// them. Each outcome is applied as a sequential handler's is (the output to
// the retry topic or the dead set, in the task's transaction under
// exactly-once) and the record completed (Pending.Complete): a commit then
// covers it, and its outputs with it, once every earlier record is done
// too. While the handler holds Concurrency records (those waiting for an
// earlier record of their key count), or the instance holds
// Config.MaxInFlight, the task takes no more (engine.Task.AddBusyCheck):
// the runtime pauses its partitions once it buffers a poll's worth
// (strata's busy.go). A task closing (revoked, the application stopping)
// first waits a bounded time for what is held, then the handler's context
// is cancelled; what did not complete is not committed, and is handled
// again by the partition's next owner.

// Ordering says which records of a concurrent handler may be handled at
// the same time.
type Ordering int

const (
	// OrderByKey: records with the same key (its bytes, as read or as
	// the handler's key serde writes it) never overlap and are handled in
	// offset order; records of different keys overlap. The default.
	OrderByKey Ordering = iota
	// OrderByPartition: one record of a partition at a time, in offset
	// order, as a handler without concurrency; but the call runs off the
	// task's goroutine.
	OrderByPartition
	// Unordered: any records overlap, up to the handler's Concurrency.
	Unordered
)

// String names the ordering.
func (o Ordering) String() string {
	switch o {
	case OrderByKey:
		return "by key"
	case OrderByPartition:
		return "by partition"
	case Unordered:
		return "unordered"
	}
	return fmt.Sprintf("Ordering(%d)", int(o))
}

// checkConcurrency validates h's concurrency settings.
func (h Handler[K, V]) checkConcurrency() error {
	switch {
	case h.Concurrency < 0:
		return fmt.Errorf("Concurrency is %d; it must be 0 or more", h.Concurrency)
	case h.Ordering < OrderByKey || h.Ordering > Unordered:
		return fmt.Errorf("unknown Ordering %d", int(h.Ordering))
	case h.Concurrency > 1 && h.Retry.Blocking:
		return fmt.Errorf("a blocking retry policy retries in place, one record at a time: it needs Concurrency ≤ 1, not %d", h.Concurrency)
	}
	return nil
}

// inFlight is a record a concurrent or batch handler took and has not
// finished.
type inFlight[K, V any] struct {
	rec Record[K, V]
	a   attemptOf
	p   *engine.Pending
	// raw is a copy of the record as read (engine.Task.Processing),
	// whose bytes are key, value and headers: the input's may be reused
	// once its processing returns.
	raw        kgo.Record
	key, value []byte
	headers    []kgo.RecordHeader
	taken      time.Time
	// ctx is the context of the record's call.
	ctx handlerContext
	// out is the call's outcome; panicked and stack a panic's.
	out      Outcome
	panicked any
	stack    []byte
	// next is the record behind it in its key's queue; q the queue.
	next *inFlight[K, V]
	q    *keyQueue[K, V]
	// returned is set once the call returned, on the task's goroutine.
	returned bool
}

// keep copies raw, the record being processed as read, into the item.
func (it *inFlight[K, V]) keep(raw *kgo.Record) {
	if raw == nil {
		it.raw = kgo.Record{}
		return
	}
	it.key = append(it.key[:0], raw.Key...)
	it.value = append(it.value[:0], raw.Value...)
	it.headers = append(it.headers[:0], raw.Headers...)
	it.raw = *raw
	it.raw.Key, it.raw.Value, it.raw.Headers = it.key, it.value, it.headers
	if raw.Key == nil {
		it.raw.Key = nil
	}
	if raw.Value == nil {
		it.raw.Value = nil
	}
	it.raw.Context = nil
}

// keyQueue is the records of one key a concurrent handler holds: the one
// running, then those waiting, in offset order.
type keyQueue[K, V any] struct {
	name       string
	head, tail *inFlight[K, V] // waiting
}

// concurrent runs a handler's function for many records at once.
type concurrent[K, V any] struct {
	n        *handlerNode[K, V]
	limit    int
	ordering Ordering
	// held counts the records taken and not done.
	held int
	// order is the records taken, in offset order, from head: their
	// outcomes are applied in that order.
	order []*inFlight[K, V]
	head  int
	// keys are the queues of the keys held, by key bytes.
	keys   map[string]*keyQueue[K, V]
	keyBuf []byte
	// free are items and queues to reuse.
	free   []*inFlight[K, V]
	freeQs []*keyQueue[K, V]
	// work hands records to the goroutines calling the function, done
	// brings them back (handler_concurrent_queue.go); drain is posted to
	// the task to complete what done holds.
	work   workQueue[K, V]
	done   doneQueue[K, V]
	drain  func() error
	ctx    context.Context
	cancel context.CancelFunc
	global *engine.InFlightLimit
}

// start starts the goroutines that call the function, as many as the
// limit; the task takes records only while it is not busy.
func (c *concurrent[K, V]) start() {
	t := c.n.task
	c.ctx, c.cancel = context.WithCancel(t.Context())
	c.global = t.Config().InFlight
	c.keys = map[string]*keyQueue[K, V]{}
	c.work.init(c.limit)
	c.drain = c.drainDone
	for range c.limit {
		go c.worker()
	}
	t.AddBusyCheck(c.busy)
}

// stop cancels the calls running and ends the goroutines once they return.
// Outcomes posted afterwards are dropped with the task.
func (c *concurrent[K, V]) stop() {
	if c.cancel != nil {
		c.cancel()
		c.work.close()
		c.cancel = nil
	}
}

// busy reports whether the task must take no record now.
func (c *concurrent[K, V]) busy() bool {
	return c.held >= c.limit || c.global.Full()
}

// item returns an item to fill, reused if possible.
func (c *concurrent[K, V]) item() *inFlight[K, V] {
	if n := len(c.free); n > 0 {
		it := c.free[n-1]
		c.free = c.free[:n-1]
		return it
	}
	it := &inFlight[K, V]{}
	// Set once, never cleared: a context derived from it during a call
	// may read it after the call returned (net/http cancels a request's
	// context on its connection's goroutine once the response is read).
	it.ctx.Context = c.ctx
	return it
}

// takeItem fills it with the record being processed, r, for handler n:
// held (engine.Task.Hold) and counted in flight, in the handler's and the
// instance's counts.
func (n *handlerNode[K, V]) takeItem(it *inFlight[K, V], r Record[K, V], global *engine.InFlightLimit) {
	t := n.task
	it.rec, it.a, it.p = r, n.attemptOf(), t.Hold()
	it.keep(t.Processing())
	it.taken = time.Now()
	global.Acquire()
	n.m.taken(1)
}

// take takes the record being processed: held, and handed to a goroutine
// when its key (by the ordering) has no earlier record held.
func (c *concurrent[K, V]) take(r Record[K, V]) error {
	it := c.item()
	c.n.takeItem(it, r, c.global)
	c.held++
	c.order = append(c.order, it)
	if c.ordering == Unordered {
		c.dispatch(it)
		return nil
	}
	key, err := c.keyOf(it)
	if err != nil {
		// The record cannot be ordered: it fails as its call would.
		it.panicked, it.out = nil, Outcome{}
		return c.fail(it, err)
	}
	if q := c.keys[string(key)]; q != nil {
		it.q = q
		if q.tail == nil {
			q.head = it
		} else {
			q.tail.next = it
		}
		q.tail = it
		return nil
	}
	q := c.queue()
	q.name = string(key)
	c.keys[q.name] = q
	it.q = q
	c.dispatch(it)
	return nil
}

// fail completes it, taken, with the processing error err.
func (c *concurrent[K, V]) fail(it *inFlight[K, V], err error) error {
	c.order = c.order[:len(c.order)-1]
	c.held--
	c.global.Release()
	c.n.m.taken(-1)
	// Hold made it pending; the error returned now is the record's
	// processing error (ProcessOne applies the policy and finishes it).
	c.put(it)
	return &NodeError{Node: c.n.name, Err: err}
}

// keyOf returns the bytes that order it: its key as read, or as the
// handler's key serde writes it; nothing for OrderByPartition.
func (c *concurrent[K, V]) keyOf(it *inFlight[K, V]) ([]byte, error) {
	if c.ordering == OrderByPartition {
		return nil, nil
	}
	n := c.n
	if (it.a.fromRetry || n.raw) && it.raw.Topic != "" {
		return it.raw.Key, nil
	}
	if it.rec.nullKey {
		return nil, nil
	}
	var err error
	c.keyBuf, err = n.h.KeySerde.Serialize(c.keyBuf[:0], n.retryTopic, it.rec.Key)
	if err != nil {
		return nil, fmt.Errorf("serialize the key to order records by key: %w", err)
	}
	return c.keyBuf, nil
}

// queue returns an empty key queue, reused if possible.
func (c *concurrent[K, V]) queue() *keyQueue[K, V] {
	if n := len(c.freeQs); n > 0 {
		q := c.freeQs[n-1]
		c.freeQs = c.freeQs[:n-1]
		return q
	}
	return &keyQueue[K, V]{}
}

// dispatch hands it to a goroutine.
func (c *concurrent[K, V]) dispatch(it *inFlight[K, V]) {
	it.ctx.attempt = it.a.attempt
	c.work.push(it)
}

// worker calls the function for the records it is handed and brings each
// back to the task: the first one returned since the task last drained
// posts a drain.
func (c *concurrent[K, V]) worker() {
	n := c.n
	t := n.task
	for {
		it := c.work.pop()
		if it == nil {
			return
		}
		start := time.Now()
		n.m.waited(start.Sub(it.taken))
		n.m.calling(1)
		it.out, it.panicked, it.stack = c.call(it)
		n.m.took(time.Since(start))
		n.m.calling(-1)
		if c.done.push(it) {
			t.Post(c.drain)
		}
	}
}

// drainDone completes, on the task's goroutine, the records whose calls
// returned since the last drain, and returns the first error; the records
// after it are completed all the same (as functions posted one by one
// are, engine.Task.RunPosted).
func (c *concurrent[K, V]) drainDone() error {
	items := c.done.take()
	var first error
	for i, it := range items {
		items[i] = nil
		if err := c.complete(it); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// call calls the function for it, recovering a panic.
func (c *concurrent[K, V]) call(it *inFlight[K, V]) (out Outcome, panicked any, stack []byte) {
	defer func() {
		if v := recover(); v != nil {
			panicked, stack = v, debug.Stack()
		}
	}()
	return c.n.h.Func(&it.ctx, it.rec), nil, nil
}

// complete runs on the task's goroutine once it's call returned: the next
// record of its key may run, and the outcomes of the records whose calls
// returned are applied in the order the records were taken, up to the
// first one still running. Applying in order keeps a task's outputs behind
// its committable offset: what a commit (a transaction, under
// exactly-once) holds is the outcome of records all of whose predecessors
// are done, so a record handled again after a crash has no output
// committed yet.
func (c *concurrent[K, V]) complete(it *inFlight[K, V]) error {
	it.returned = true
	if q := it.q; q != nil {
		if next := q.head; next != nil {
			q.head = next.next
			if q.head == nil {
				q.tail = nil
			}
			next.next = nil
			c.dispatch(next)
		} else {
			delete(c.keys, q.name)
			q.name = ""
			c.freeQs = append(c.freeQs, q)
		}
	}
	n := c.n
	for c.head < len(c.order) && c.order[c.head].returned {
		done := c.order[c.head]
		c.order[c.head] = nil
		c.head++
		err := n.completeItem(done)
		c.held--
		c.global.Release()
		n.m.taken(-1)
		c.put(done)
		if err != nil {
			return err
		}
	}
	if c.head == len(c.order) {
		c.order, c.head = c.order[:0], 0
	}
	return nil
}

// put keeps it for reuse.
func (c *concurrent[K, V]) put(it *inFlight[K, V]) {
	it.reset()
	c.free = append(c.free, it)
}

// reset forgets what it held, keeping its buffers.
func (it *inFlight[K, V]) reset() {
	var zero Record[K, V]
	it.rec, it.a, it.p, it.q, it.next = zero, attemptOf{}, nil, nil, nil
	it.out, it.panicked, it.stack, it.returned = Outcome{}, nil, nil, false
	clear(it.headers)
	it.raw = kgo.Record{}
}

// completeItem applies the outcome of it's call, on the task's goroutine,
// as the rest of the record's processing (Pending.Complete): under
// exactly-once its outputs commit with its offset.
func (n *handlerNode[K, V]) completeItem(it *inFlight[K, V]) error {
	t := n.task
	var raw *kgo.Record
	if it.raw.Topic != "" {
		raw = &it.raw
	}
	return it.p.Complete(raw, func() error {
		prev := t.EnterNode(n.name)
		defer t.LeaveNode(prev)
		var perr error
		if it.panicked != nil {
			perr = t.RecoveredProcessingFrom(n.name, it.panicked, it.stack)
			t.EnterNode(n.name)
		}
		return n.apply(it.rec, it.a, it.out, perr)
	})
}
