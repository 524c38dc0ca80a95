package engine

import (
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
var recordPool = sync.Pool{New: func() any { return new(kgo.Record) }}

// NewOutputRecord returns a zeroed record to fill and hand to Collector.Send.
func NewOutputRecord() *kgo.Record {
	return recordPool.Get().(*kgo.Record)
}

// FreeOutputRecord zeroes r and lets NewOutputRecord return it again. A
// collector calls it once the record is produced and nothing refers to it
// any more (in franz-go, in the produce promise); a collector that keeps
// records, as the test driver does, never calls it.
func FreeOutputRecord(r *kgo.Record) {
	*r = kgo.Record{}
	recordPool.Put(r)
}
