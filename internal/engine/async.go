package engine

import (
	"fmt"
	"slices"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
)

// A node may finish a record after its receive returned: it calls Hold
// while the record is processed, hands the work to another goroutine (an
// I/O-bound handler, a call to a service), and completes the record later,
// on the task's goroutine, with Pending.Done from a function it posted
// (Post). Until then the record is pending: its offset, and the offset of
// every later record of its input, is not committable (CommittableOffsets
// reports the lowest unfinished offset), so no commit passes unfinished
// work, and it is not counted as processed. The task's other records go on
// meanwhile. Whoever drives the task (the runtime's worker, the test
// driver) runs the posted functions (RunPosted) when TaskConfig.OnPost tells
// it that there are some, and before it closes a task waits for, or gives
// up on, its pending records (Pending).
//
// Everything but Post runs on the task's goroutine.

// Pending is an input record whose processing goes on after the node that
// held it returned.
type Pending struct {
	t      *Task
	in     *Input
	offset int64
	done   bool
	// cur is the record as Current described it when held (Complete).
	cur Current
	// holder is the node that held the record first, others those that
	// held it too (rare: two handlers of one stream); each completes it
	// once, and it is done when the last one has. failed is set when one
	// of them failed it.
	holder string
	others []string
	failed bool
}

// pendingList is an input's pending records in offset order, completed
// ones dropped from the front.
type pendingList struct {
	recs []*Pending
	head int
}

// Hold marks the input record being processed as pending and returns it, for
// the node to complete with Done once its processing is over. Outside the
// processing of a record (in a punctuation, a cache flush) it returns nil.
//
// Several nodes may hold one record (two handlers reading one stream): each
// gets the same Pending and completes it once, and the record is done when
// the last has. A node holding the record again gets it again, still to
// complete once.
func (t *Task) Hold() *Pending {
	if !t.current.Valid || t.processing == nil {
		return t.holding
	}
	if p := t.holding; p != nil {
		if t.node != p.holder && !slices.Contains(p.others, t.node) {
			p.others = append(p.others, t.node)
		}
		return p
	}
	in := t.byTopic[t.current.Topic]
	if in == nil {
		return nil
	}
	p := &Pending{t: t, in: in, offset: t.current.Offset, cur: t.current, holder: t.node}
	t.holding = p
	in.pending.recs = append(in.pending.recs, p)
	t.pendingCount++
	return p
}

// Done completes a pending record: it counts as processed, and once every
// earlier record of its input is done its offset is committable. Call it
// once, on the task's goroutine (from a function posted with Post). Where
// several nodes held the record, it is done when each has called Done (or
// Complete).
func (p *Pending) Done() { p.release(true) }

// release completes one holder's part of a pending record, processed or
// failed, and the record once it was the last holder's. A record one
// holder failed counts as failed.
func (p *Pending) release(processed bool) {
	if p == nil || p.done {
		return
	}
	p.failed = p.failed || !processed
	if n := len(p.others); n > 0 {
		p.others = p.others[:n-1]
		return
	}
	p.finish(!p.failed)
}

// finish completes a pending record, whoever still holds it, counting it as
// processed if asked (a record the processing-error policy handled counts as
// failed instead).
func (p *Pending) finish(processed bool) {
	if p == nil || p.done {
		return
	}
	p.done = true
	p.t.pendingCount--
	if processed {
		p.t.Metrics.Processed++
	}
	l := &p.in.pending
	for l.head < len(l.recs) && l.recs[l.head].done {
		l.recs[l.head] = nil
		l.head++
	}
	if l.head == len(l.recs) {
		l.recs, l.head = l.recs[:0], 0
	}
}

// drop forgets a pending record the task delivers again instead
// (Redeliver): it was the last one held.
func (p *Pending) drop() {
	l := &p.in.pending
	if n := len(l.recs); n > l.head && l.recs[n-1] == p {
		l.recs[n-1] = nil
		l.recs = l.recs[:n-1]
		p.t.pendingCount--
		p.done = true
	}
}

// Offset is the pending record's offset in its input partition.
func (p *Pending) Offset() int64 { return p.offset }

// first returns the lowest offset still pending on the input, if any.
func (l *pendingList) first() (int64, bool) {
	if l.head < len(l.recs) {
		return l.recs[l.head].offset, true
	}
	return 0, false
}

// Pending reports how many of the task's records are pending.
func (t *Task) Pending() int { return t.pendingCount }

// Post queues fn to run on the task's goroutine at the next RunPosted and
// tells the task's driver (TaskConfig.OnPost). It is safe to call from any
// goroutine, also after the task closed (fn then never runs).
func (t *Task) Post(fn func() error) {
	t.postMu.Lock()
	t.posted = append(t.posted, fn)
	t.postMu.Unlock()
	if f := t.cfg.OnPost; f != nil {
		f(t)
	}
}

// RunPosted runs the functions posted since the last call, in the order they
// were posted, and returns the first error, after which the rest still run.
// Each runs as node code runs: a panic is recovered into an error.
func (t *Task) RunPosted() error {
	t.postMu.Lock()
	fns := t.posted
	t.posted = t.spare[:0]
	t.postMu.Unlock()
	var first error
	for i, fn := range fns {
		if err := t.runPosted(fn); err != nil && first == nil {
			first = fmt.Errorf("task %s: %w", t.ID, err)
		}
		fns[i] = nil
	}
	t.spare = fns[:0]
	return first
}

// runPosted runs fn, recovering a panic.
func (t *Task) runPosted(fn func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("posted function panicked: %v", v)
		}
	}()
	return fn()
}

// postState is a task's queue of posted functions.
type postState struct {
	postMu sync.Mutex
	posted []func() error
	spare  []func() error
}

// Complete finishes the pending record p on the task's goroutine (from a
// posted function) by running fn as the rest of its processing: during fn,
// Current describes the record as when it was held and Processing returns
// raw (the record as read, which the node kept: the input's own bytes may
// have been reused since), so that what fn sends, and the dead-letter
// records it writes, are the record's, and under exactly-once commit with
// its offset. An error of fn goes to the processing-error policy as an
// error of the record's processing does (ProcessOne); the record is then
// done either way, counted as processed or failed, unless the policy's
// error is returned (fail), which stops the task. Each node that held the
// record calls it, or Done, once; the record is done once all have.
func (p *Pending) Complete(raw *kgo.Record, fn func() error) error {
	if p == nil || p.done {
		return nil
	}
	t := p.t
	prevCur, prevProc, prevHold := t.current, t.processing, t.holding
	t.current, t.processing, t.holding = p.cur, raw, nil
	defer func() { t.current, t.processing, t.holding = prevCur, prevProc, prevHold }()
	if err := fn(); err != nil {
		p.release(false)
		return t.processingFailed(raw, err)
	}
	p.release(true)
	return nil
}
