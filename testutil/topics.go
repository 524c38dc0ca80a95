package testutil

import (
	"fmt"
	"reflect"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata/internal/engine"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
)

// KeyValue is a key and a value, for comparing output in tests.
type KeyValue[K, V any] struct {
	Key   K
	Value V
}

// KV returns a KeyValue.
func KV[K, V any](k K, v V) KeyValue[K, V] { return KeyValue[K, V]{k, v} }

// Record is an output record as a test sees it.
type Record[K, V any] struct {
	Key       K
	Value     V
	Timestamp time.Time
	Headers   []topology.Header
	Topic     string
	Partition int32
	Offset    int64
	// NullKey and NullValue report Kafka nulls; a null value is a
	// tombstone.
	NullKey, NullValue bool
}

// InputTopic pipes typed records into one topic.
type InputTopic[K, V any] struct {
	d          *Driver
	topic      *topicLog
	keySerde   serde.Serde[K]
	valueSerde serde.Serde[V]
	time       time.Time
	advance    time.Duration
	// The raw record and its buffers are reused by every Pipe: the
	// driver processes a piped record completely before Pipe returns,
	// and serdes copy what they keep.
	rec          kgo.Record
	keyBuf, vBuf []byte
}

// NewInputTopic returns a handle that pipes records into topic, encoding them
// with the given serdes. A nil serde is the topology's serde for the type:
// the one registered on its builder with topology.RegisterSerde, else the
// built-in default. It fails the test if the topology does not read topic,
// or a serde is nil and the topology has none for the type.
func NewInputTopic[K, V any](d *Driver, topic string, keySerde serde.Serde[K], valueSerde serde.Serde[V]) *InputTopic[K, V] {
	d.tb.Helper()
	if !d.reads(topic) {
		d.tb.Fatalf("testutil: input topic %q: the topology does not read it (it reads %q)", topic, d.readTopics())
	}
	keySerde = topicSerde(d, "input", topic, keySerde)
	valueSerde = topicSerde(d, "input", topic, valueSerde)
	return &InputTopic[K, V]{d: d, topic: d.topic(topic), keySerde: keySerde, valueSerde: valueSerde, time: d.cfg.StartTime}
}

// AutoAdvance makes every Pipe without a timestamp move the topic's clock
// forward by step after it.
func (in *InputTopic[K, V]) AutoAdvance(step time.Duration) *InputTopic[K, V] {
	in.advance = step
	return in
}

// AdvanceTime moves the timestamp given to the next Pipe forward by step.
func (in *InputTopic[K, V]) AdvanceTime(step time.Duration) { in.time = in.time.Add(step) }

// Pipe writes one record with the topic's current time and processes it and
// everything it causes. Errors fail the test; use TryPipe to inspect them.
func (in *InputTopic[K, V]) Pipe(key K, value V) {
	in.d.tb.Helper()
	if err := in.TryPipe(key, value); err != nil {
		in.d.tb.Fatalf("testutil: pipe into %q: %v", in.topic.name, err)
	}
}

// PipeAt is Pipe with an explicit timestamp.
func (in *InputTopic[K, V]) PipeAt(key K, value V, ts time.Time) {
	in.d.tb.Helper()
	if err := in.TryPipeRecord(topology.Record[K, V]{Key: key, Value: value, Timestamp: ts}); err != nil {
		in.d.tb.Fatalf("testutil: pipe into %q: %v", in.topic.name, err)
	}
}

// PipeTombstone pipes a record of key with a null value, a tombstone, at
// the topic's current time, as Kafka's pipeInput(key, null) does.
func (in *InputTopic[K, V]) PipeTombstone(key K) {
	in.d.tb.Helper()
	in.PipeRecords(topology.Tombstone(topology.Record[K, V]{Key: key}))
}

// PipeNullKey pipes a record of value with a null key at the topic's
// current time, as Kafka's pipeInput(null, value) does. It goes to a
// partition of the topic round-robin, as Kafka's producers spread records
// without a key.
func (in *InputTopic[K, V]) PipeNullKey(value V) {
	in.d.tb.Helper()
	in.PipeRecords(topology.NullKey(topology.Record[K, V]{Value: value}))
}

// PipeKeyValues pipes each pair in order, as Pipe does.
func (in *InputTopic[K, V]) PipeKeyValues(kvs ...KeyValue[K, V]) {
	in.d.tb.Helper()
	for _, kv := range kvs {
		in.Pipe(kv.Key, kv.Value)
	}
}

// PipeRecords pipes records in order, with their timestamps and headers. A
// record with a zero Timestamp gets the topic's current time. A record made
// with topology.Tombstone has a null value, and one made with
// topology.NullKey a null key, whatever the serdes would make of their zero
// values: topology.NullKey(topology.Tombstone(r)) has both.
func (in *InputTopic[K, V]) PipeRecords(recs ...topology.Record[K, V]) {
	in.d.tb.Helper()
	for _, r := range recs {
		if err := in.TryPipeRecord(r); err != nil {
			in.d.tb.Fatalf("testutil: pipe into %q: %v", in.topic.name, err)
		}
	}
}

// TryPipe is Pipe returning the processing error instead of failing the
// test.
func (in *InputTopic[K, V]) TryPipe(key K, value V) error {
	return in.TryPipeRecord(topology.Record[K, V]{Key: key, Value: value})
}

// TryPipeRecord pipes r and returns the processing error, if any.
func (in *InputTopic[K, V]) TryPipeRecord(r topology.Record[K, V]) error {
	if in.d.closed {
		return fmt.Errorf("driver is closed")
	}
	ts := r.Timestamp
	if ts.IsZero() {
		ts = in.time
		in.time = in.time.Add(in.advance)
	}
	var kb, vb []byte
	var err error
	if !r.HasNullKey() {
		if kb, err = in.keySerde.Serialize(in.keyBuf[:0], in.topic.name, r.Key); err != nil {
			return fmt.Errorf("serialize key: %w", err)
		}
		if kb != nil {
			in.keyBuf = kb
		}
	}
	if !r.IsTombstone() {
		if vb, err = in.valueSerde.Serialize(in.vBuf[:0], in.topic.name, r.Value); err != nil {
			return fmt.Errorf("serialize value: %w", err)
		}
		if vb != nil {
			in.vBuf = vb
		}
	}
	return in.pipeRaw(kb, vb, ts, r.Headers)
}

// PipeRaw writes a record of raw bytes, bypassing the serdes, to test how a
// topology handles bytes it cannot decode.
func (in *InputTopic[K, V]) PipeRaw(key, value []byte, ts time.Time) error {
	return in.pipeRaw(key, value, ts, nil)
}

func (in *InputTopic[K, V]) pipeRaw(kb, vb []byte, ts time.Time, headers []topology.Header) error {
	tl := in.topic
	var p int32
	if kb != nil {
		p = engine.KeyPartition(kb, tl.partitions)
	} else {
		p = int32(tl.rr % uint32(tl.partitions))
		tl.rr++
	}
	r := &in.rec
	*r = kgo.Record{Topic: tl.name, Partition: p, Key: kb, Value: vb, Timestamp: ts}
	if len(headers) > 0 {
		r.Headers = make([]kgo.RecordHeader, len(headers))
		for i, h := range headers {
			r.Headers[i] = kgo.RecordHeader{Key: h.Key, Value: h.Value}
		}
	}
	in.d.append(tl, r, false)
	return in.d.run()
}

// OutputTopic reads typed records from one topic, in the order they were
// written across all its partitions. Reading consumes records.
type OutputTopic[K, V any] struct {
	d          *Driver
	topic      *topicLog
	keySerde   serde.Serde[K]
	valueSerde serde.Serde[V]
}

// NewOutputTopic returns a reader of topic that decodes with the given
// serdes; a nil serde is the topology's serde for the type, as for
// [NewInputTopic]. It fails the test if no sink of the topology can write
// topic.
func NewOutputTopic[K, V any](d *Driver, topic string, keySerde serde.Serde[K], valueSerde serde.Serde[V]) *OutputTopic[K, V] {
	d.tb.Helper()
	if ok, fixed := d.writes(topic); !ok {
		d.tb.Fatalf("testutil: output topic %q: no sink of the topology writes it (sinks write %q)", topic, fixed)
	}
	keySerde = topicSerde(d, "output", topic, keySerde)
	valueSerde = topicSerde(d, "output", topic, valueSerde)
	return &OutputTopic[K, V]{d: d, topic: d.topic(topic), keySerde: keySerde, valueSerde: valueSerde}
}

// IsEmpty reports whether every record written so far has been read.
func (out *OutputTopic[K, V]) IsEmpty() bool { return out.topic.read == len(out.topic.records) }

// Len is the number of records not yet read.
func (out *OutputTopic[K, V]) Len() int { return len(out.topic.records) - out.topic.read }

// ReadRecord reads the next record. It fails the test if there is none.
func (out *OutputTopic[K, V]) ReadRecord() Record[K, V] {
	out.d.tb.Helper()
	if out.IsEmpty() {
		out.d.tb.Fatalf("testutil: output topic %q: no more records (%d read)", out.topic.name, out.topic.read)
	}
	r := out.topic.records[out.topic.read]
	out.topic.read++
	k, err := out.keySerde.Deserialize(r.Topic, r.Key)
	if err != nil {
		out.d.tb.Fatalf("testutil: output topic %q offset %d: deserialize key: %v", r.Topic, r.Offset, err)
	}
	v, err := out.valueSerde.Deserialize(r.Topic, r.Value)
	if err != nil {
		out.d.tb.Fatalf("testutil: output topic %q offset %d: deserialize value: %v", r.Topic, r.Offset, err)
	}
	var hs []topology.Header
	for _, h := range r.Headers {
		hs = append(hs, topology.Header{Key: h.Key, Value: h.Value})
	}
	return Record[K, V]{
		Key: k, Value: v, Timestamp: r.Timestamp, Headers: hs,
		Topic: r.Topic, Partition: r.Partition, Offset: r.Offset,
		NullKey: r.Key == nil, NullValue: r.Value == nil,
	}
}

// ReadKeyValue reads the next record's key and value.
func (out *OutputTopic[K, V]) ReadKeyValue() KeyValue[K, V] {
	out.d.tb.Helper()
	r := out.ReadRecord()
	return KeyValue[K, V]{r.Key, r.Value}
}

// ReadValue reads the next record's value.
func (out *OutputTopic[K, V]) ReadValue() V {
	out.d.tb.Helper()
	return out.ReadRecord().Value
}

// ReadAll reads every remaining record.
func (out *OutputTopic[K, V]) ReadAll() []Record[K, V] {
	out.d.tb.Helper()
	var recs []Record[K, V]
	for !out.IsEmpty() {
		recs = append(recs, out.ReadRecord())
	}
	return recs
}

// ReadKeyValues reads every remaining record's key and value.
func (out *OutputTopic[K, V]) ReadKeyValues() []KeyValue[K, V] {
	out.d.tb.Helper()
	var kvs []KeyValue[K, V]
	for !out.IsEmpty() {
		kvs = append(kvs, out.ReadKeyValue())
	}
	return kvs
}

// ReadKeyValuesToMap reads every remaining record of out and returns the
// last value of each key: the output read as a table, as Kafka's
// TestOutputTopic.readKeyValuesToMap. A tombstone deletes its key (Kafka
// keeps the key, with a null value a Go map could not tell from the zero
// value). A record with a null key fails the test, as Kafka's throws. It is
// a function, not a method, because K must be comparable.
func ReadKeyValuesToMap[K comparable, V any](out *OutputTopic[K, V]) map[K]V {
	out.d.tb.Helper()
	m := map[K]V{}
	for !out.IsEmpty() {
		r := out.ReadRecord()
		switch {
		case r.NullKey:
			out.d.tb.Fatalf("testutil: output topic %q offset %d: ReadKeyValuesToMap: a record with a null key", r.Topic, r.Offset)
		case r.NullValue:
			delete(m, r.Key)
		default:
			m[r.Key] = r.Value
		}
	}
	return m
}

// ReadValues reads every remaining record's value.
func (out *OutputTopic[K, V]) ReadValues() []V {
	out.d.tb.Helper()
	var vs []V
	for !out.IsEmpty() {
		vs = append(vs, out.ReadValue())
	}
	return vs
}

// Drain marks every remaining record as read without decoding it, and
// returns how many there were. Benchmarks use it to discard output.
func (out *OutputTopic[K, V]) Drain() int {
	n := out.Len()
	out.topic.read = len(out.topic.records)
	return n
}

// topicSerde returns s, or when it is nil the topology's serde for T: the
// one registered on its builder, else serde.Default's. It fails the test
// when there is none.
func topicSerde[T any](d *Driver, dir, topic string, s serde.Serde[T]) serde.Serde[T] {
	d.tb.Helper()
	if s != nil {
		return s
	}
	t := reflect.TypeFor[T]()
	if r, ok := d.top.Graph.Serdes[t]; ok {
		return r.(serde.Serde[T])
	}
	if s, ok := serde.Default[T](); ok {
		return s
	}
	d.tb.Fatalf("testutil: %s topic %q: nil serde, and the topology has none for %v (register one with topology.RegisterSerde)", dir, topic, t)
	return nil
}
