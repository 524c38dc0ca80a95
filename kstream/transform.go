package kstream

import (
	"fmt"

	"github.com/strata-go/strata/internal/dsl"
	"github.com/strata-go/strata/topology"
)

// KeyValue is a key and a value: one output record of [FlatMap].
type KeyValue[K, V any] struct {
	Key   K
	Value V
}

// Pair returns a KeyValue, like Kafka Streams' KeyValue.pair.
func Pair[K, V any](key K, value V) KeyValue[K, V] { return KeyValue[K, V]{Key: key, Value: value} }

// Map replaces each record's key and value with fn's results, keeping its
// timestamp and headers. Because the key may change, the new stream is
// marked for repartitioning: a later stateful operation or join reads it
// through a repartition topic. Its serdes are unknown (see [Stream.To]).
// Use [MapValues] when only the value changes. A null key or value that fn
// returns as the zero value it got stays null (see Nulls in the package
// documentation).
//
// Options: [Named] (default KSTREAM-MAP-NNNNNNNNNN).
func Map[K, V, K2, V2 any](s Stream[K, V], fn func(key K, value V) (K2, V2), opts ...Option) Stream[K2, V2] {
	b := s.builder()
	name := collect(b, "Map", "KSTREAM-MAP-", 0, opts).name
	if fn == nil {
		b.Fail(fmt.Errorf("Map %q: nil function", name))
	}
	topology.AddProcessor(b, name, func() topology.Processor[K, V, K2, V2] {
		return &mapProc[K, V, K2, V2]{fn: fn}
	}, s.node())
	return wrap(dsl.NewStream[K2, V2](b, name, nil, nil, true))
}

type mapProc[K, V, K2, V2 any] struct {
	base[K2, V2]
	fn func(K, V) (K2, V2)
}

func (p *mapProc[K, V, K2, V2]) Process(r topology.Record[K, V]) error {
	k, v := p.fn(r.Key, r.Value)
	return p.ctx.Forward(keepNulls(r, topology.WithKeyValue(r, k, v)))
}

// SelectKey replaces each record's key with fn's result, keeping its value,
// timestamp and headers. The new stream is marked for repartitioning, keeps
// the value serde and has an unknown key serde (see [Stream.To]). A null key
// that fn returns as the zero value stays null.
//
// Options: [Named] (default KSTREAM-KEY-SELECT-NNNNNNNNNN).
func SelectKey[K, V, K2 any](s Stream[K, V], fn func(key K, value V) K2, opts ...Option) Stream[K2, V] {
	b := s.builder()
	name := collect(b, "SelectKey", "KSTREAM-KEY-SELECT-", 0, opts).name
	if fn == nil {
		b.Fail(fmt.Errorf("SelectKey %q: nil function", name))
	}
	topology.AddProcessor(b, name, func() topology.Processor[K, V, K2, V] {
		return &selectKeyProc[K, V, K2]{fn: fn}
	}, s.node())
	return wrap(dsl.NewStream[K2, V](b, name, nil, s.core().ValueSerde(), true))
}

type selectKeyProc[K, V, K2 any] struct {
	base[K2, V]
	fn func(K, V) K2
}

func (p *selectKeyProc[K, V, K2]) Process(r topology.Record[K, V]) error {
	return p.ctx.Forward(keepNulls(r, topology.WithKey(r, p.fn(r.Key, r.Value))))
}

// FlatMap replaces each record with the records fn returns for it: none, one
// or many, forwarded in order, each with the input record's timestamp and
// headers. The new stream is marked for repartitioning and its serdes are
// unknown (see [Stream.To]). Use [FlatMapValues] when the key stays. As
// for [Map], a null key or value returned as the zero value stays null.
//
// Options: [Named] (default KSTREAM-FLATMAP-NNNNNNNNNN).
func FlatMap[K, V, K2, V2 any](s Stream[K, V], fn func(key K, value V) []KeyValue[K2, V2], opts ...Option) Stream[K2, V2] {
	b := s.builder()
	name := collect(b, "FlatMap", "KSTREAM-FLATMAP-", 0, opts).name
	if fn == nil {
		b.Fail(fmt.Errorf("FlatMap %q: nil function", name))
	}
	topology.AddProcessor(b, name, func() topology.Processor[K, V, K2, V2] {
		return &flatMapProc[K, V, K2, V2]{fn: fn}
	}, s.node())
	return wrap(dsl.NewStream[K2, V2](b, name, nil, nil, true))
}

type flatMapProc[K, V, K2, V2 any] struct {
	base[K2, V2]
	fn func(K, V) []KeyValue[K2, V2]
}

func (p *flatMapProc[K, V, K2, V2]) Process(r topology.Record[K, V]) error {
	for _, kv := range p.fn(r.Key, r.Value) {
		if err := p.ctx.Forward(keepNulls(r, topology.WithKeyValue(r, kv.Key, kv.Value))); err != nil {
			return err
		}
	}
	return nil
}

// FlatMapValues replaces each record with one record per value fn returns
// for it: none, one or many, forwarded in order, each with the input
// record's key, timestamp and headers. The key is not changed, so no
// repartition is needed; the new stream keeps the key serde and has an
// unknown value serde (see [Stream.To]). A tombstone's value returned as the
// zero value stays null.
//
// Options: [Named] (default KSTREAM-FLATMAPVALUES-NNNNNNNNNN).
func FlatMapValues[K, V, V2 any](s Stream[K, V], fn func(key K, value V) []V2, opts ...Option) Stream[K, V2] {
	return valuesOp(s, "FlatMapValues", "KSTREAM-FLATMAPVALUES-", fn == nil, opts, func() topology.Processor[K, V, K, V2] {
		return &flatMapValuesProc[K, V, V2]{fn: fn}
	})
}

type flatMapValuesProc[K, V, V2 any] struct {
	base[K, V2]
	fn func(K, V) []V2
}

func (p *flatMapValuesProc[K, V, V2]) Process(r topology.Record[K, V]) error {
	return forwardValues(p.ctx, r, p.fn(r.Key, r.Value))
}

// forwardValues forwards one record per value of vs, each with r's key,
// timestamp and headers.
func forwardValues[K, V, V2 any](ctx topology.Context[K, V2], r topology.Record[K, V], vs []V2) error {
	for _, v := range vs {
		if err := ctx.Forward(keepNulls(r, topology.WithValue(r, v))); err != nil {
			return err
		}
	}
	return nil
}
