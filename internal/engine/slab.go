package engine

import "unsafe"

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
