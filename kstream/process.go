package kstream

import (
	"errors"
	"fmt"

	"github.com/strata-go/strata/internal/dsl"
	"github.com/strata-go/strata/topology"
)

// Process runs a processor-API [topology.Processor] on the stream, like
// Kafka Streams' process(), and returns the stream of the records it
// forwards. supplier is called once per task for a fresh processor, which
// must not be shared. The processor sees the full [topology.Context]: it can
// forward to all children or, with ForwardTo, to one named child (name the
// operations on the returned stream with [Named] to know their names), read
// the input record's metadata, and schedule stream-time and wall-clock
// punctuations.
//
// The processor may change keys, so the returned stream is marked for
// repartitioning; its serdes are unknown (see [Stream.To]).
//
// Options: [Named] (default KSTREAM-PROCESSOR-NNNNNNNNNN), [WithStores] to
// connect state stores declared on the builder.
func Process[K, V, K2, V2 any](s Stream[K, V], supplier func() topology.Processor[K, V, K2, V2], opts ...Option) Stream[K2, V2] {
	b := s.builder()
	o := collect(b, "Process", "KSTREAM-PROCESSOR-", optStores, opts)
	name := o.name
	if supplier == nil {
		b.Fail(fmt.Errorf("Process %q: nil processor supplier", name))
	} else {
		topology.AddProcessor(b, name, func() topology.Processor[K, V, K2, V2] {
			if p := supplier(); p != nil {
				return p
			}
			return nilProcessor[K, V, K2, V2]{}
		}, s.node())
		if len(o.stores) > 0 {
			b.ConnectStores(name, o.stores...)
		}
	}
	return wrap(dsl.NewStream[K2, V2](b, name, nil, nil, true))
}

// nilProcessor stands in for a nil processor returned by a supplier, so that
// the mistake fails the task's Init with an error instead of a panic.
type nilProcessor[K, V, K2, V2 any] struct{}

func (nilProcessor[K, V, K2, V2]) Init(topology.Context[K2, V2]) error {
	return errors.New("the processor supplier returned nil")
}

func (nilProcessor[K, V, K2, V2]) Process(topology.Record[K, V]) error { return nil }

func (nilProcessor[K, V, K2, V2]) Close() error { return nil }

// ProcessValues runs a processor-API [topology.FixedKeyProcessor] on the
// stream, like Kafka Streams' processValues (KIP-820), and returns the
// stream of the records it forwards. The processor sees the full task
// context, stores included, and may change values, their type, timestamps
// and headers, but not keys: the records it forwards are
// topology.FixedKeyRecords, whose key is the input's. So, unlike
// [Process], the result keeps the stream's key serde and its repartition
// flag: a stateful operation after it repartitions only if one before it
// would have. Its value serde is unknown (see [Stream.To]). supplier is
// called once per task for a fresh processor.
//
// Options: [Named] (default KSTREAM-PROCESSVALUES-NNNNNNNNNN), [WithStores]
// to connect state stores declared on the builder.
func ProcessValues[K, V, V2 any](s Stream[K, V], supplier func() topology.FixedKeyProcessor[K, V, V2], opts ...Option) Stream[K, V2] {
	b := s.builder()
	o := collect(b, "ProcessValues", "KSTREAM-PROCESSVALUES-", optStores, opts)
	name := o.name
	if supplier == nil {
		b.Fail(fmt.Errorf("ProcessValues %q: nil processor supplier", name))
	} else {
		topology.AddFixedKeyProcessor(b, name, func() topology.FixedKeyProcessor[K, V, V2] {
			if p := supplier(); p != nil {
				return p
			}
			return nilFixedKeyProcessor[K, V, V2]{}
		}, s.node())
		if len(o.stores) > 0 {
			b.ConnectStores(name, o.stores...)
		}
	}
	c := s.core()
	return wrap(dsl.NewStream[K, V2](b, name, c.KeySerde(), nil, c.RepartitionRequired()))
}

// nilFixedKeyProcessor stands in for a nil processor returned by a
// supplier, so that the mistake fails the task's Init with an error.
type nilFixedKeyProcessor[K, V, V2 any] struct{}

func (nilFixedKeyProcessor[K, V, V2]) Init(topology.FixedKeyContext[K, V2]) error {
	return errors.New("the processor supplier returned nil")
}

func (nilFixedKeyProcessor[K, V, V2]) Process(topology.FixedKeyRecord[K, V]) error { return nil }

func (nilFixedKeyProcessor[K, V, V2]) Close() error { return nil }
