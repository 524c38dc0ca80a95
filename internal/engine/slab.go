package engine

import (
	"context"
	"sync"
	"unsafe"

	"github.com/twmb/franz-go/pkg/kgo"
)

const slabChunk = 64 << 10

// OutputBuffer returns an empty slice whose capacity is free space in the
// task's output slab. Serializers append to it; KeepOutput then claims what
// they wrote. Output bytes live until ReleaseOutputBuffers, so a task encodes
// many records into one allocation instead of one or two per record.
func (t *Task) OutputBuffer() []byte {
	if cap(t.slab)-len(t.slab) < 512 {
		t.slab = make([]byte, 0, slabChunk)
	}
	return t.slab[len(t.slab):len(t.slab)]
}

// KeepOutput claims b if it was written into the slab by appending to a slice
// from OutputBuffer. Bytes that outgrew the slab were allocated by append and
// need nothing.
func (t *Task) KeepOutput(b []byte) {
	if len(b) == 0 || cap(t.slab) == len(t.slab) {
		return
	}
	free := t.slab[len(t.slab):cap(t.slab)]
	if unsafe.SliceData(b) == unsafe.SliceData(free) {
		t.slab = t.slab[:len(t.slab)+len(b)]
	}
}

// ReleaseOutputBuffers lets the task reuse its output slab. Call it only once
// no output record sent so far is referenced any more: after the producer
// has acknowledged every record, for instance.
func (t *Task) ReleaseOutputBuffers() {
	t.slab = t.slab[:0]
}

// recordPool recycles output records: sinks and changelogs take them with
// NewOutputRecord, and a collector that is done with a record once it is
// produced returns it with FreeOutputRecord. A record is about 200 bytes
// with pointers; allocating one per output record was a sixth of the
// runtime's CPU time in the map-through benchmark (go run ./bench).
var recordPool = sync.Pool{New: func() any {
	o := new(outputRecord)
	o.origin.Context = context.Background()
	o.rec.Context = &o.origin
	return o
}}

// outputRecord is a pooled output record with the input record whose
// processing sent it. The record's Context points at origin, which is how
// OutputOrigin and FreeOutputRecord find it again; franz-go only asks a
// record's context whether it is done, and origin never is.
type outputRecord struct {
	rec    kgo.Record
	origin origin
}

// origin is an output record's context: never cancelled, it carries the
// input record whose processing sent the output.
type origin struct {
	context.Context
	owner *outputRecord
	in    *kgo.Record
}

// NewOutputRecord returns a zeroed record to fill and hand to Collector.Send.
// Its Context, which franz-go reads, must be left as it is.
func NewOutputRecord() *kgo.Record {
	o := recordPool.Get().(*outputRecord)
	o.origin.owner = o
	return &o.rec
}

// FreeOutputRecord zeroes r and lets NewOutputRecord return it again. A
// collector calls it once the record is produced and nothing refers to it
// any more (in franz-go, in the produce promise); a collector that keeps
// records, as the test driver does, never calls it. Records that did not
// come from NewOutputRecord (dead-letter records, for instance) are left to
// the garbage collector.
func FreeOutputRecord(r *kgo.Record) {
	o, ok := r.Context.(*origin)
	if !ok || o.owner == nil || &o.owner.rec != r {
		return
	}
	owner := o.owner
	o.in = nil
	owner.rec = kgo.Record{Context: o}
	recordPool.Put(owner)
}

// OutputOrigin returns the input record whose processing sent r (Task.Send
// notes it), or nil when r was sent outside the processing of a record (by
// a cache flush at commit or a punctuation) or did not come from
// NewOutputRecord. The runtime uses it to apply the production-error policy
// to the input record whose output could not be produced.
func OutputOrigin(r *kgo.Record) *kgo.Record {
	if o, ok := r.Context.(*origin); ok {
		return o.in
	}
	return nil
}
