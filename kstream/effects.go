package kstream

import (
	"fmt"
	"io"
	"sync"

	"github.com/strata-go/strata/topology"
)

// Peek calls fn for each record, for a side effect such as logging or
// metrics, and forwards the record unchanged. Keys, serdes and the
// repartition flag are unchanged. fn runs in the task processing the record:
// with several tasks it may be called concurrently, so it must be safe for
// concurrent use if it shares state.
//
// Options: [Named] (default KSTREAM-PEEK-NNNNNNNNNN).
func (s Stream[K, V]) Peek(fn func(key K, value V), opts ...Option) Stream[K, V] {
	b := s.builder()
	name := collect(b, "Peek", "KSTREAM-PEEK-", 0, opts).name
	if fn == nil {
		b.Fail(fmt.Errorf("Peek %q: nil function", name))
	}
	topology.AddProcessor(b, name, func() topology.Processor[K, V, K, V] {
		return &peekProc[K, V]{fn: fn, forward: true}
	}, s.node())
	return s.same(name)
}

// Foreach calls fn for each record, a terminal operation: nothing follows
// it. As with [Stream.Peek], fn may be called concurrently by several tasks.
//
// Options: [Named] (default KSTREAM-FOREACH-NNNNNNNNNN).
func (s Stream[K, V]) Foreach(fn func(key K, value V), opts ...Option) {
	b := s.builder()
	name := collect(b, "Foreach", "KSTREAM-FOREACH-", 0, opts).name
	if fn == nil {
		b.Fail(fmt.Errorf("Foreach %q: nil function", name))
	}
	topology.AddProcessor(b, name, func() topology.Processor[K, V, K, V] {
		return &peekProc[K, V]{fn: fn}
	}, s.node())
}

type peekProc[K, V any] struct {
	passthrough[K, V]
	fn      func(K, V)
	forward bool
}

func (p *peekProc[K, V]) Process(r topology.Record[K, V]) error {
	p.fn(r.Key, r.Value)
	if p.forward {
		return p.ctx.Forward(r)
	}
	return nil
}

// Print writes each record to w as a line "[label]: key, value", formatting
// key and value with %v, a terminal operation like Kafka Streams'
// print(Printed.toSysOut()). The label is the node's name. Writes from
// several tasks are serialized; a write error stops the task with a
// [topology.NodeError].
//
// Options: [Named] (default KSTREAM-PRINTER-NNNNNNNNNN).
func (s Stream[K, V]) Print(w io.Writer, opts ...Option) {
	b := s.builder()
	name := collect(b, "Print", "KSTREAM-PRINTER-", 0, opts).name
	if w == nil {
		b.Fail(fmt.Errorf("Print %q: nil writer", name))
	}
	mu := new(sync.Mutex)
	topology.AddProcessor(b, name, func() topology.Processor[K, V, K, V] {
		return &printProc[K, V]{w: w, mu: mu, label: name}
	}, s.node())
}

type printProc[K, V any] struct {
	passthrough[K, V]
	w     io.Writer
	mu    *sync.Mutex // shared by the node's instances in all tasks
	label string
	buf   []byte
}

func (p *printProc[K, V]) Process(r topology.Record[K, V]) error {
	p.buf = fmt.Appendf(p.buf[:0], "[%s]: %v, %v\n", p.label, r.Key, r.Value)
	p.mu.Lock()
	defer p.mu.Unlock()
	_, err := p.w.Write(p.buf)
	return err
}
