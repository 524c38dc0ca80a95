package engine

import (
	"fmt"
	"runtime/debug"

	"github.com/twmb/franz-go/pkg/kgo"
)

// A panic in user code (a processor, a DSL callback, a serde, a punctuator)
// is recovered by the task rather than crashing the process:
//
//   - while a record is processed (ProcessOne), once per record, into the
//     processing error of the node that panicked, to which the
//     processing-error policy applies (processingFailed);
//   - in a punctuator (fire), in what a cache flush at commit runs
//     (FlushStores), or in a node's Init or Close, into an error naming the
//     node, returned to the caller (call);
//   - in a source's deserializer or timestamp extractor, by the source's
//     queue (Recovered), into a bad record.
//
// To name the node that panicked, nodes say when they run: EnterNode before
// calling user code or forwarding, LeaveNode after. A panic skips LeaveNode,
// so the task's node is then the innermost node running, the one that
// panicked. Tracking is a string assignment, so it costs no allocation.

// Panic describes a panic the task recovered.
type Panic struct {
	// Node is the node running when user code panicked, "" if none was.
	Node string
	// Kind is the node's kind.
	Kind Kind
	// Record is the input record being processed or added, nil when
	// there was none (a punctuation, a flush at commit).
	Record *kgo.Record
	// Processing is set when the panic happened while Record was
	// processed: it is the node's processing error for the record, to
	// which the processing-error policy applies.
	Processing bool
	// Value is what panic was called with.
	Value any
	// Stack is the stack of the goroutine that panicked, from the panic.
	Stack []byte
}

// Error describes the panic; package topology's PanicError (NewPanicError)
// is what tasks return.
func (p *Panic) Error() string {
	return fmt.Sprintf("%s %q panicked: %v", p.Kind, p.Node, p.Value)
}

// NewPanicError makes the error a task returns for a recovered panic.
// Package topology sets it; without it the *Panic itself is returned.
var NewPanicError func(p *Panic) error

// EnterNode records that node runs now, on behalf of the current record, a
// punctuation or a flush, so that a panic is blamed on it. It returns the
// node that ran before, to give back to LeaveNode when node is done.
func (t *Task) EnterNode(node string) (prev string) {
	prev = t.node
	t.node = node
	return prev
}

// LeaveNode makes prev, returned by EnterNode, the running node again.
func (t *Task) LeaveNode(prev string) { t.node = prev }

// Recovered turns v, a panic recovered from node while r was added (in a
// source's deserializer or timestamp extractor), into an error naming node,
// and logs it with its stack. Call it from the deferred function that
// recovered, so that the stack shows where the panic happened.
func (t *Task) Recovered(node string, v any, r *kgo.Record) error {
	t.node = node
	return t.recovered(v, r, false)
}

// RecoveredProcessing turns v, a panic that node recovered itself from user
// code it called for the record being processed, into the record's
// processing error naming node, as ProcessOne's recover would have, and
// logs it with its stack. A node that handles its user code's failures
// itself (FailRecord) calls it from the deferred function that recovered.
// The running node is reset: the node gives back what EnterNode returned
// with LeaveNode, as usual.
func (t *Task) RecoveredProcessing(node string, v any) error {
	t.node = node
	return t.recovered(v, t.processing, true)
}

// RecoveredProcessingFrom is RecoveredProcessing for a panic that node's
// user code raised on another goroutine, while it handled the record being
// processed (Pending.Complete): stack is that goroutine's, taken where the
// panic was recovered (debug.Stack).
func (t *Task) RecoveredProcessingFrom(node string, v any, stack []byte) error {
	t.node = node
	return t.recoveredWith(v, t.processing, true, stack)
}

// recovered turns v, a panic recovered while t.node ran, into an error, and
// logs it at ERROR with the stack. r is the input record being processed
// (processing set) or added, or nil. The running node is reset.
func (t *Task) recovered(v any, r *kgo.Record, processing bool) error {
	return t.recoveredWith(v, r, processing, debug.Stack())
}

// recoveredWith is recovered with the stack of the panic given.
func (t *Task) recoveredWith(v any, r *kgo.Record, processing bool, stack []byte) error {
	p := &Panic{Node: t.node, Kind: t.kindOf(t.node), Record: r, Processing: processing, Value: v, Stack: stack}
	t.node = ""
	attrs := []any{"node", p.Node, "panic", fmt.Sprint(v)}
	if r != nil {
		attrs = append(attrs, "topic", r.Topic, "partition", r.Partition, "offset", r.Offset)
	}
	t.cfg.Logger.Error("recovered a panic in user code", append(attrs, "stack", string(p.Stack))...)
	if NewPanicError != nil {
		return NewPanicError(p)
	}
	return p
}

// kindOf returns the kind of the task's node named name.
func (t *Task) kindOf(name string) Kind {
	for i, n := range t.names {
		if n == name {
			return t.kinds[i]
		}
	}
	return KindProcessor
}

// processHead processes the head record of in, raw as read, recovering a
// panic into the processing error of the node that panicked.
func (t *Task) processHead(in *Input, raw *kgo.Record) (err error) {
	t.processing = raw
	defer func() {
		t.processing = nil
		if v := recover(); v != nil {
			err = t.recovered(v, raw, true)
		}
	}()
	return in.q.ProcessHead()
}

// call runs fn on behalf of node (a punctuator, a flush at commit, a node's
// Init or Close), where no record is processed, recovering a panic into an
// error naming the node that panicked: node, or a node it forwarded to.
func (t *Task) call(node string, fn func() error) (err error) {
	prev, cur := t.EnterNode(node), t.current
	defer func() {
		if v := recover(); v != nil {
			err = t.recovered(v, nil, false)
			t.current = cur // a flush may have left ForwardingAt's
		}
		t.LeaveNode(prev)
	}()
	return fn()
}
