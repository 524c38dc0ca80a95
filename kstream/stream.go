package kstream

import (
	"fmt"

	"github.com/strata-go/strata/internal/dsl"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
)

// Stream is a typed stream of records: the output of one node of a topology.
// Streams are values; every operation returns a new one and leaves the
// receiver usable, so a stream can feed several operations, each of which
// sees every record. The zero Stream is not usable; streams come from [From]
// and from operations on other streams.
type Stream[K, V any] dsl.Stream[K, V]

func (s Stream[K, V]) core() dsl.Stream[K, V] { return dsl.Stream[K, V](s) }

// builder returns the stream's builder. Operations on the zero Stream panic
// here, with a message saying why, rather than deep in the builder.
func (s Stream[K, V]) builder() *topology.Builder {
	b := s.core().Builder()
	if b == nil {
		panic("kstream: operation on the zero Stream; streams come from From and from operations on other streams")
	}
	return b
}

func (s Stream[K, V]) node() string { return s.core().Node() }

func wrap[K, V any](d dsl.Stream[K, V]) Stream[K, V] { return Stream[K, V](d) }

// From reads topic as a stream, decoding keys and values with the given
// serdes, like Kafka Streams' StreamsBuilder.stream. A nil serde is the
// builder's serde for the type (topology.RegisterSerde, else the built-in
// default), as in kstream.From[string, Payment](b, "payments", nil, nil).
// Records keep the Kafka record's timestamp, unless
// [WithTimestampExtractor] sets another, and its headers.
//
// Options: [Named] (default KSTREAM-SOURCE-NNNNNNNNNN), [Topics] to read
// more topics, [WithTimestampExtractor].
func From[K, V any](b *topology.Builder, topic string, keySerde serde.Serde[K], valueSerde serde.Serde[V], opts ...Option) Stream[K, V] {
	o := collect(b, "From", "KSTREAM-SOURCE-", optTopics|optExtractor, opts)
	user := fmt.Sprintf("From %q", topic)
	keySerde = dsl.GivenOr(b, keySerde, user+" (key)")
	valueSerde = dsl.GivenOr(b, valueSerde, user+" (value)")
	src := topology.Source[K, V]{
		Topics:     append([]string{topic}, o.topics...),
		KeySerde:   keySerde,
		ValueSerde: valueSerde,
	}
	if o.extractor != nil {
		ex, ok := o.extractor.(topology.TimestampExtractor[K, V])
		if !ok {
			var k K
			var v V
			b.Fail(fmt.Errorf("From %q: timestamp extractor is %T, want one for key %T and value %T", o.name, o.extractor, k, v))
		}
		src.TimestampExtractor = ex
	}
	topology.AddSource(b, o.name, src)
	return wrap(dsl.NewStream(b, o.name, keySerde, valueSerde, false))
}

// Filter keeps the records for which keep returns true and drops the others.
// Keys, serdes and the repartition flag are unchanged.
//
// Options: [Named] (default KSTREAM-FILTER-NNNNNNNNNN).
func (s Stream[K, V]) Filter(keep func(key K, value V) bool, opts ...Option) Stream[K, V] {
	return s.filter("Filter", keep, false, opts)
}

// FilterNot drops the records for which drop returns true and keeps the
// others: Filter with the predicate negated.
//
// Options: [Named] (default KSTREAM-FILTER-NNNNNNNNNN).
func (s Stream[K, V]) FilterNot(drop func(key K, value V) bool, opts ...Option) Stream[K, V] {
	return s.filter("FilterNot", drop, true, opts)
}

func (s Stream[K, V]) filter(op string, pred func(K, V) bool, not bool, opts []Option) Stream[K, V] {
	return s.filterOp(op, pred == nil, opts, func() topology.Processor[K, V, K, V] {
		return &filterProc[K, V]{pred: pred, not: not}
	})
}

// filterOp adds the node of op, a filter made by proc, below s, failing
// Build if its predicate is nil.
func (s Stream[K, V]) filterOp(op string, nilPred bool, opts []Option, proc func() topology.Processor[K, V, K, V]) Stream[K, V] {
	b := s.builder()
	name := collect(b, op, "KSTREAM-FILTER-", 0, opts).name
	if nilPred {
		b.Fail(fmt.Errorf("%s %q: nil predicate", op, name))
	}
	topology.AddProcessor(b, name, proc, s.node())
	return s.same(name)
}

// same returns the stream of node name, which forwards s's records with
// their types, serdes and repartition flag.
func (s Stream[K, V]) same(name string) Stream[K, V] {
	c := s.core()
	return wrap(dsl.NewStream(c.Builder(), name, c.KeySerde(), c.ValueSerde(), c.RepartitionRequired()))
}

type filterProc[K, V any] struct {
	passthrough[K, V]
	pred func(K, V) bool
	not  bool
}

func (p *filterProc[K, V]) Process(r topology.Record[K, V]) error {
	if p.pred(r.Key, r.Value) != p.not {
		return p.ctx.Forward(r)
	}
	return nil
}

// MapValues replaces each record's value with fn's result, keeping its key,
// timestamp and headers. The key is not changed, so no repartition is
// needed. The new stream keeps the key serde; its value serde is unknown
// (see [Stream.To] for the default). fn is called for tombstones too, with
// the zero value; a zero value it returns for one stays a tombstone (see
// Nulls in the package documentation).
//
// Options: [Named] (default KSTREAM-MAPVALUES-NNNNNNNNNN).
func MapValues[K, V, V2 any](s Stream[K, V], fn func(key K, value V) V2, opts ...Option) Stream[K, V2] {
	return valuesOp(s, "MapValues", "KSTREAM-MAPVALUES-", fn == nil, opts, func() topology.Processor[K, V, K, V2] {
		return &mapValuesProc[K, V, V2]{fn: fn}
	})
}

// valuesOp adds the node of op, an operation that changes values only,
// made by proc, below s, failing Build if its function is nil: the new
// stream keeps s's key serde and repartition flag, and has an unknown
// value serde.
func valuesOp[K, V, V2 any](s Stream[K, V], op, prefix string, nilFn bool, opts []Option, proc func() topology.Processor[K, V, K, V2]) Stream[K, V2] {
	b := s.builder()
	name := collect(b, op, prefix, 0, opts).name
	if nilFn {
		b.Fail(fmt.Errorf("%s %q: nil function", op, name))
	}
	topology.AddProcessor(b, name, proc, s.node())
	c := s.core()
	return wrap(dsl.NewStream[K, V2](b, name, c.KeySerde(), nil, c.RepartitionRequired()))
}

type mapValuesProc[K, V, V2 any] struct {
	base[K, V2]
	fn func(K, V) V2
}

func (p *mapValuesProc[K, V, V2]) Process(r topology.Record[K, V]) error {
	return p.ctx.Forward(keepNulls(r, topology.WithValue(r, p.fn(r.Key, r.Value))))
}

// To writes the stream to topic, a terminal operation. Records keep their
// timestamps and headers. Keys and values are encoded with the serdes given
// with [WithSerdes], else the stream's where they are known, else the
// builder's serde for their types (topology.RegisterSerde, else
// serde.Default's for string, []byte, int32, int64, float64, bool); a type
// without one fails Build, naming the type and the sink. The partition is picked
// by murmur2 of the encoded key, as Kafka's producers do (records with a nil
// key go round-robin), unless [WithPartitioner] picks it.
//
// Options: [Named] (default KSTREAM-SINK-NNNNNNNNNN), [WithSerdes],
// [WithPartitioner].
func (s Stream[K, V]) To(topic string, opts ...Option) {
	s.to("To", topology.Sink[K, V]{Topic: topic}, opts)
}

// ToTopicFunc writes each record to the topic pick returns for it, like To
// with Kafka Streams' TopicNameExtractor. An error or an empty topic from
// pick stops the task with a [topology.NodeError] naming the sink.
//
// Options: as for [Stream.To].
func (s Stream[K, V]) ToTopicFunc(pick func(r topology.Record[K, V]) (string, error), opts ...Option) {
	s.to("ToTopicFunc", topology.Sink[K, V]{TopicExtractor: pick}, opts)
}

func (s Stream[K, V]) to(op string, sink topology.Sink[K, V], opts []Option) {
	b := s.builder()
	o := collect(b, op, "KSTREAM-SINK-", optSerdes|optPartitioner, opts)
	name := o.name
	c := s.core()
	sink.KeySerde, sink.ValueSerde = writeSerdes(b, op, name, c, o)
	if o.partitioner != nil {
		p, ok := o.partitioner.(topology.Partitioner[K, V])
		if !ok {
			var k K
			var v V
			b.Fail(fmt.Errorf("%s %q: partitioner is %T, want one for key %T and value %T", op, name, o.partitioner, k, v))
		}
		sink.Partitioner = p
	}
	topology.AddSink(b, name, sink, s.node())
}

// writeSerdes returns the serdes an operation writes the stream c with:
// those given with WithSerdes, else the stream's, else the builder's (see
// topology.RegisterSerde).
func writeSerdes[K, V any](b *topology.Builder, op, name string, c dsl.Stream[K, V], o *options) (serde.Serde[K], serde.Serde[V]) {
	var sd serdes[K, V]
	if o.serdes != nil {
		var ok bool
		if sd, ok = o.serdes.(serdes[K, V]); !ok {
			var k K
			var v V
			b.Fail(fmt.Errorf("%s %q: WithSerdes is %T, want serdes for key %T and value %T", op, name, o.serdes, k, v))
		}
	}
	user := fmt.Sprintf("%s %q", op, name)
	if sd.key == nil {
		sd.key = dsl.KeySerdeOr(c, user)
	}
	if sd.value == nil {
		sd.value = dsl.ValueSerdeOr(c, user)
	}
	return sd.key, sd.value
}

// base gives DSL processors a stored context and no-op Init and Close.
type base[K, V any] struct {
	ctx topology.Context[K, V]
}

func (p *base[K, V]) Init(ctx topology.Context[K, V]) error { p.ctx = ctx; return nil }

func (p *base[K, V]) Close() error { return nil }

// passthrough is base for processors that forward their input type.
type passthrough[K, V any] = base[K, V]
