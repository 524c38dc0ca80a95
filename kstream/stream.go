package kstream

import (
	"fmt"

	"github.com/strata-go/strata/internal/dsl"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
)

// Stream is a typed stream of records: the output of one node of a topology.
// Streams are values; every operation returns a new one and leaves the
// receiver usable, so a stream can feed several operations.
type Stream[K, V any] dsl.Stream[K, V]

func (s Stream[K, V]) core() dsl.Stream[K, V] { return dsl.Stream[K, V](s) }

func (s Stream[K, V]) builder() *topology.Builder { return s.core().Builder() }

func (s Stream[K, V]) node() string { return s.core().Node() }

func wrap[K, V any](d dsl.Stream[K, V]) Stream[K, V] { return Stream[K, V](d) }

// From reads topic as a stream, decoding keys and values with the given
// serdes. Options: [Named], [WithTimestampExtractor], [Topics] for more
// topics.
func From[K, V any](b *topology.Builder, topic string, keySerde serde.Serde[K], valueSerde serde.Serde[V], opts ...Option) Stream[K, V] {
	o := collect(b, "From", opts)
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
			b.Fail(fmt.Errorf("source of %q: timestamp extractor is %T, want one for key %T and value %T", topic, o.extractor, k, v))
		}
		src.TimestampExtractor = ex
	}
	name := o.nameOr(b, "KSTREAM-SOURCE-")
	topology.AddSource(b, name, src)
	return wrap(dsl.NewStream(b, name, keySerde, valueSerde, false))
}

// Filter keeps the records for which keep returns true.
func (s Stream[K, V]) Filter(keep func(key K, value V) bool, opts ...Option) Stream[K, V] {
	return s.filter("Filter", keep, false, opts)
}

// FilterNot drops the records for which drop returns true.
func (s Stream[K, V]) FilterNot(drop func(key K, value V) bool, opts ...Option) Stream[K, V] {
	return s.filter("FilterNot", drop, true, opts)
}

func (s Stream[K, V]) filter(op string, pred func(K, V) bool, not bool, opts []Option) Stream[K, V] {
	b := s.builder()
	o := collect(b, op, opts)
	name := o.nameOr(b, "KSTREAM-FILTER-")
	if pred == nil {
		b.Fail(fmt.Errorf("%s %q: nil predicate", op, name))
	}
	topology.AddProcessor(b, name, func() topology.Processor[K, V, K, V] {
		return &filterProc[K, V]{pred: pred, not: not}
	}, s.node())
	c := s.core()
	return wrap(dsl.NewStream(b, name, c.KeySerde(), c.ValueSerde(), c.RepartitionRequired()))
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

// MapValues replaces each record's value with fn's result. The key is not
// changed, so no repartition is needed.
func MapValues[K, V, V2 any](s Stream[K, V], fn func(key K, value V) V2, opts ...Option) Stream[K, V2] {
	b := s.builder()
	o := collect(b, "MapValues", opts)
	name := o.nameOr(b, "KSTREAM-MAPVALUES-")
	if fn == nil {
		b.Fail(fmt.Errorf("MapValues %q: nil function", name))
	}
	topology.AddProcessor(b, name, func() topology.Processor[K, V, K, V2] {
		return &mapValuesProc[K, V, V2]{fn: fn}
	}, s.node())
	c := s.core()
	return wrap(dsl.NewStream[K, V2](b, name, c.KeySerde(), nil, c.RepartitionRequired()))
}

type mapValuesProc[K, V, V2 any] struct {
	base[K, V2]
	fn func(K, V) V2
}

func (p *mapValuesProc[K, V, V2]) Process(r topology.Record[K, V]) error {
	return p.ctx.Forward(topology.WithValue(r, p.fn(r.Key, r.Value)))
}

// To writes the stream to topic. The stream's serdes are used unless
// [WithSerdes] gives others; [WithPartitioner] overrides the default
// murmur2 partitioning.
func (s Stream[K, V]) To(topic string, opts ...Option) {
	s.to(topology.Sink[K, V]{Topic: topic}, opts)
}

// ToTopicFunc writes each record to the topic pick returns for it.
func (s Stream[K, V]) ToTopicFunc(pick func(r topology.Record[K, V]) (string, error), opts ...Option) {
	s.to(topology.Sink[K, V]{TopicExtractor: pick}, opts)
}

func (s Stream[K, V]) to(sink topology.Sink[K, V], opts []Option) {
	b := s.builder()
	o := collect(b, "To", opts)
	name := o.nameOr(b, "KSTREAM-SINK-")
	c := s.core()
	sink.KeySerde, sink.ValueSerde = dsl.KeySerdeOr(c), dsl.ValueSerdeOr(c)
	if o.serdes != nil {
		sd, ok := o.serdes.(serdes[K, V])
		if !ok {
			var k K
			var v V
			b.Fail(fmt.Errorf("sink %q: WithSerdes is %T, want serdes for key %T and value %T", name, o.serdes, k, v))
		}
		if sd.key != nil {
			sink.KeySerde = sd.key
		}
		if sd.value != nil {
			sink.ValueSerde = sd.value
		}
	}
	if o.partitioner != nil {
		p, ok := o.partitioner.(topology.Partitioner[K, V])
		if !ok {
			var k K
			var v V
			b.Fail(fmt.Errorf("sink %q: partitioner is %T, want one for key %T and value %T", name, o.partitioner, k, v))
		}
		sink.Partitioner = p
	}
	topology.AddSink(b, name, sink, s.node())
}

// base gives DSL processors a stored context and no-op Init and Close.
type base[K, V any] struct {
	ctx topology.Context[K, V]
}

func (p *base[K, V]) Init(ctx topology.Context[K, V]) error { p.ctx = ctx; return nil }

func (p *base[K, V]) Close() error { return nil }

// passthrough is base for processors that forward their input type.
type passthrough[K, V any] = base[K, V]
