package topology

import (
	"time"
	"unsafe"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata/internal/engine"
)

// Record is one key-value record flowing through a topology.
//
// Kafka distinguishes a null key or value from an empty one; Go types such
// as string and int64 cannot. A record therefore remembers whether its key
// and value are Kafka nulls: a source marks the records it reads with null
// keys or values, and a sink writes a marked key or value as null whatever
// its serde would make of the zero value. A record with a null value is a
// tombstone: it deletes its key from tables and compacted topics. Make one
// with [Tombstone]; test for one with IsTombstone. [NullKey] makes a key
// null, HasNullKey tests for one. [WithKey], [WithValue] and
// [WithKeyValue] make values, not nulls; the DSL's mappers keep a null
// their function passes through (see package kstream).
type Record[K, V any] struct {
	Key   K
	Value V
	// Timestamp is the record's event time. Sources set it from the
	// Kafka record or the source's TimestampExtractor; stream time and
	// windows are computed from it. Kafka keeps milliseconds.
	Timestamp time.Time
	// Headers travel with the record to sinks unless a processor changes
	// them. Processors must treat the slice as read-only: build a new one
	// to change it.
	Headers []Header

	nullKey, nullValue bool
}

// IsTombstone reports whether r's value is a Kafka null.
func (r Record[K, V]) IsTombstone() bool { return r.nullValue }

// HasNullKey reports whether r's key is a Kafka null.
func (r Record[K, V]) HasNullKey() bool { return r.nullKey }

// Tombstone returns a copy of r whose value is a Kafka null (and the zero
// value of V).
func Tombstone[K, V any](r Record[K, V]) Record[K, V] {
	var zero V
	r.Value, r.nullValue = zero, true
	return r
}

// NullKey returns a copy of r whose key is a Kafka null (and the zero value
// of K). Sinks write it as null; repartition topics and stateful operations
// drop such records, counted and logged, as Kafka Streams does.
func NullKey[K, V any](r Record[K, V]) Record[K, V] {
	var zero K
	r.Key, r.nullKey = zero, true
	return r
}

// WithValue returns a copy of r with its value replaced. The new value is
// not a null: use [Tombstone] for that.
func WithValue[K, V, V2 any](r Record[K, V], v V2) Record[K, V2] {
	return Record[K, V2]{Key: r.Key, Value: v, Timestamp: r.Timestamp, Headers: r.Headers, nullKey: r.nullKey}
}

// WithKey returns a copy of r with its key replaced. The new key is not a
// null; a null value stays null.
func WithKey[K, V, K2 any](r Record[K, V], k K2) Record[K2, V] {
	return Record[K2, V]{Key: k, Value: r.Value, Timestamp: r.Timestamp, Headers: r.Headers, nullValue: r.nullValue}
}

// WithKeyValue returns a copy of r with its key and value replaced; neither
// is a null.
func WithKeyValue[K, V, K2, V2 any](r Record[K, V], k K2, v V2) Record[K2, V2] {
	return Record[K2, V2]{Key: k, Value: v, Timestamp: r.Timestamp, Headers: r.Headers}
}

// Header is a Kafka record header.
type Header struct {
	Key   string
	Value []byte
}

// Header has the layout of kgo.RecordHeader, so header slices pass between
// Strata and franz-go without copying. These fail to compile otherwise.
var (
	_ [unsafe.Sizeof(Header{}) - unsafe.Sizeof(kgo.RecordHeader{})]struct{}
	_ [unsafe.Sizeof(kgo.RecordHeader{}) - unsafe.Sizeof(Header{})]struct{}
	_ [unsafe.Offsetof(Header{}.Value) - unsafe.Offsetof(kgo.RecordHeader{}.Value)]struct{}
	_ [unsafe.Offsetof(kgo.RecordHeader{}.Value) - unsafe.Offsetof(Header{}.Value)]struct{}
)

func headersFromKgo(h []kgo.RecordHeader) []Header {
	if len(h) == 0 {
		return nil
	}
	return unsafe.Slice((*Header)(unsafe.Pointer(unsafe.SliceData(h))), len(h))
}

func headersToKgo(h []Header) []kgo.RecordHeader {
	if len(h) == 0 {
		return nil
	}
	return unsafe.Slice((*kgo.RecordHeader)(unsafe.Pointer(unsafe.SliceData(h))), len(h))
}

// RecordMetadata locates the input record being processed.
type RecordMetadata struct {
	Topic     string
	Partition int32
	Offset    int64
	// Attempt counts the earlier deliveries of the record to this task
	// (Context.Redeliver): 0 on its first.
	Attempt int
}

// TaskID identifies a task: one partition of one sub-topology. It prints as
// Kafka Streams prints it, "subtopology_partition".
type TaskID struct {
	Subtopology int
	Partition   int32
}

// String formats the ID as "subtopology_partition", "global" for the
// task that keeps global stores up to date, and "global_partition" (with
// Subtopology -1) where the restoration of one partition of a global topic
// is reported.
func (id TaskID) String() string { return engine.TaskID(id).String() }
