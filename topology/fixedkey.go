package topology

import "time"

// FixedKeyRecord is a record whose key a processor cannot change: what a
// [FixedKeyProcessor] gets and forwards. Its key is read with Key and
// cannot be set, so the records it forwards keep the partitioning of its
// input, and a stateful operation after it needs no repartition (Kafka
// Streams' FixedKeyRecord, KIP-820). Its value, timestamp and headers
// change as a Record's do; [FixedKeyWithValue] and [FixedKeyTombstone]
// make records of another value.
type FixedKeyRecord[K, V any] struct {
	Value V
	// Timestamp is the record's event time.
	Timestamp time.Time
	// Headers travel with the record; treat the slice as read-only.
	Headers []Header

	key                K
	nullKey, nullValue bool
}

// Key returns the record's key.
func (r FixedKeyRecord[K, V]) Key() K { return r.key }

// HasNullKey reports whether r's key is a Kafka null.
func (r FixedKeyRecord[K, V]) HasNullKey() bool { return r.nullKey }

// IsTombstone reports whether r's value is a Kafka null.
func (r FixedKeyRecord[K, V]) IsTombstone() bool { return r.nullValue }

// FixedKeyWithValue returns r with its value replaced by v, which is not
// a null: use [FixedKeyTombstone] for that.
func FixedKeyWithValue[K, V, V2 any](r FixedKeyRecord[K, V], v V2) FixedKeyRecord[K, V2] {
	return FixedKeyRecord[K, V2]{Value: v, Timestamp: r.Timestamp, Headers: r.Headers, key: r.key, nullKey: r.nullKey}
}

// FixedKeyTombstone returns a copy of r whose value is a Kafka null (and
// the zero value of V).
func FixedKeyTombstone[K, V any](r FixedKeyRecord[K, V]) FixedKeyRecord[K, V] {
	var zero V
	r.Value, r.nullValue = zero, true
	return r
}

// fixedKey makes the FixedKeyRecord of r.
func fixedKey[K, V any](r Record[K, V]) FixedKeyRecord[K, V] {
	return FixedKeyRecord[K, V]{Value: r.Value, Timestamp: r.Timestamp, Headers: r.Headers, key: r.Key, nullKey: r.nullKey, nullValue: r.nullValue}
}

// record makes the Record of r.
func (r FixedKeyRecord[K, V]) record() Record[K, V] {
	return Record[K, V]{Key: r.key, Value: r.Value, Timestamp: r.Timestamp, Headers: r.Headers, nullKey: r.nullKey, nullValue: r.nullValue}
}

// FixedKeyProcessor processes records whose key it cannot change: it may
// change their values (and value type), timestamps and headers, and
// forward any number of records per input, all with the input's key (Kafka
// Streams' FixedKeyProcessor, which processValues runs). Add one with
// [AddFixedKeyProcessor], or to a stream with kstream.ProcessValues.
type FixedKeyProcessor[K, VIn, VOut any] interface {
	// Init is called once before the first record.
	Init(ctx FixedKeyContext[K, VOut]) error
	// Process handles one record. An error stops the task, as a
	// Processor's does.
	Process(r FixedKeyRecord[K, VIn]) error
	// Close is called once when the task closes.
	Close() error
}

// FixedKeyContext is what a [FixedKeyProcessor] sees of the task running
// it: a [Context] that forwards FixedKeyRecords.
type FixedKeyContext[K, V any] interface {
	// Forward passes r to every child, in the order they were added, and
	// returns the first error a child returns.
	Forward(r FixedKeyRecord[K, V]) error
	// ForwardTo passes r to the named child only. Naming a node that is
	// not a child is an error.
	ForwardTo(child string, r FixedKeyRecord[K, V]) error
	TaskContext
}

// AddFixedKeyProcessor adds a processor node named name below parents that
// runs a FixedKeyProcessor. supplier is called once per task for a fresh
// processor.
func AddFixedKeyProcessor[K, VIn, VOut any](b *Builder, name string, supplier func() FixedKeyProcessor[K, VIn, VOut], parents ...string) {
	var adapted func() Processor[K, VIn, K, VOut]
	if supplier != nil {
		adapted = func() Processor[K, VIn, K, VOut] {
			p := supplier()
			if p == nil {
				return nil // Init reports it
			}
			return &fixedKeyProcessor[K, VIn, VOut]{p: p}
		}
	}
	AddProcessor(b, name, adapted, parents...)
}

// fixedKeyProcessor runs a FixedKeyProcessor as a Processor.
type fixedKeyProcessor[K, VIn, VOut any] struct {
	p   FixedKeyProcessor[K, VIn, VOut]
	ctx fixedKeyContext[K, VOut]
}

func (a *fixedKeyProcessor[K, VIn, VOut]) Init(ctx Context[K, VOut]) error {
	a.ctx = fixedKeyContext[K, VOut]{TaskContext: ctx, out: ctx}
	return a.p.Init(&a.ctx)
}

func (a *fixedKeyProcessor[K, VIn, VOut]) Process(r Record[K, VIn]) error {
	return a.p.Process(fixedKey(r))
}

func (a *fixedKeyProcessor[K, VIn, VOut]) Close() error { return a.p.Close() }

// fixedKeyContext forwards FixedKeyRecords as Records.
type fixedKeyContext[K, V any] struct {
	TaskContext
	out Context[K, V]
}

func (c *fixedKeyContext[K, V]) Forward(r FixedKeyRecord[K, V]) error {
	return c.out.Forward(r.record())
}

func (c *fixedKeyContext[K, V]) ForwardTo(child string, r FixedKeyRecord[K, V]) error {
	return c.out.ForwardTo(child, r.record())
}
