package engine

import "time"

// A task measures its own work for whoever runs it: the runtime turns the
// measurements into OpenTelemetry metrics; the test driver measures nothing.
// Counts (records processed, dropped, failed) are plain fields of the task
// (Metrics, TakeDrops), read by the goroutine running it between calls.
// Latencies go to TaskConfig.Observer as they are measured. The hot path
// stays allocation-free and nearly free of clock reads: latencies of records
// and store operations are sampled, one in SampleEvery (the first one
// included), and nothing is measured without an Observer.

// SampleEvery is how many records (or outputs, or store operations of one
// store) a task counts per latency it measures: one record in SampleEvery
// is timed, starting with the first. A power of two.
const SampleEvery = 64

const sampleMask = SampleEvery - 1

// Observer receives a task's latency measurements. The runtime makes one per
// task; it is called on the goroutine running the task, so it must not
// block.
type Observer interface {
	// Processed reports how long the processing of one input record took
	// (sampled): from its source to the end of everything it caused.
	Processed(d time.Duration)
	// Punctuated reports how long one punctuation took (every one).
	Punctuated(d time.Duration)
	// Emitted reports the end-to-end latency of a record the sink named
	// sink wrote (sampled): the wall-clock time when it was written less
	// the record's timestamp.
	Emitted(sink string, latency time.Duration)
	// StoreOp reports how long one operation of the store named store
	// took (sampled per store).
	StoreOp(store string, op StoreOp, d time.Duration)
}

// StoreOp is a kind of store operation whose latency is measured.
type StoreOp int

// Store operations.
const (
	// StoreGet is a read of one key (or one window of one key).
	StoreGet StoreOp = iota
	// StorePut is a write of one key: a put or a delete.
	StorePut
)

func (op StoreOp) String() string {
	if op == StoreGet {
		return "get"
	}
	return "put"
}

// sample reports whether the n-th event (counting from 0) is measured, and
// counts it.
func sample(n *uint32) bool {
	s := *n&sampleMask == 0
	*n++
	return s
}

// StoreSampler times one store's operations for the task's Observer, one in
// SampleEvery of each kind. A nil StoreSampler (the task has no Observer)
// times nothing: stores use it as
//
//	start, ok := s.sampler.Start(engine.StoreGet)
//	... the operation ...
//	if ok {
//		s.sampler.Done(engine.StoreGet, start)
//	}
type StoreSampler struct {
	obs   Observer
	store string
	n     [2]uint32 // by StoreOp
}

// StoreSampler returns a sampler of the operations of the task's store named
// store, or nil when the task has no Observer. Stores call it from Init.
func (t *Task) StoreSampler(store string) *StoreSampler {
	if t.cfg.Observer == nil {
		return nil
	}
	return &StoreSampler{obs: t.cfg.Observer, store: store}
}

// Start counts an operation of kind op and reports whether it is timed,
// with the time it starts.
func (s *StoreSampler) Start(op StoreOp) (time.Time, bool) {
	if s == nil || !sample(&s.n[op]) {
		return time.Time{}, false
	}
	return time.Now(), true
}

// Done reports a timed operation of kind op that started at start.
func (s *StoreSampler) Done(op StoreOp, start time.Time) {
	s.obs.StoreOp(s.store, op, time.Since(start))
}
