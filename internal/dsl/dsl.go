// Package dsl is the core shared by Strata's DSL packages (kstream, ktable,
// join, window): the typed handle on a topology node that kstream.Stream and
// ktable.Table are defined on, the one Option type the three packages'
// options are (options.go), and the lookup of the serdes an operation
// writes with (SerdeOr and its kin, which fall back to the builder's).
//
// kstream.Stream[K, V] is declared as dsl.Stream[K, V], and ktable.Table[K, V]
// as dsl.Table[K, V], so Strata's packages convert between them for free,
// while users see opaque types and no conversion hatch. kstream never imports
// ktable; ktable imports kstream; join imports both.
package dsl

import (
	"fmt"

	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
)

// Stream is a typed handle on the node whose output a stream is.
type Stream[K, V any] struct {
	b           *topology.Builder
	node        string
	keySerde    serde.Serde[K]
	valueSerde  serde.Serde[V]
	repartition bool
}

// NewStream returns a handle on node. Serdes may be nil when unknown.
func NewStream[K, V any](b *topology.Builder, node string, ks serde.Serde[K], vs serde.Serde[V], repartition bool) Stream[K, V] {
	return Stream[K, V]{b: b, node: node, keySerde: ks, valueSerde: vs, repartition: repartition}
}

// Builder is the builder the stream's node belongs to.
func (s Stream[K, V]) Builder() *topology.Builder { return s.b }

// Node is the name of the node the stream reads from.
func (s Stream[K, V]) Node() string { return s.node }

// KeySerde is the key serde known for the stream, or nil.
func (s Stream[K, V]) KeySerde() serde.Serde[K] { return s.keySerde }

// ValueSerde is the value serde known for the stream, or nil.
func (s Stream[K, V]) ValueSerde() serde.Serde[V] { return s.valueSerde }

// RepartitionRequired reports whether the key may have changed since the
// stream was read, so that a stateful operation or join must repartition
// first.
func (s Stream[K, V]) RepartitionRequired() bool { return s.repartition }

// KeySerdeOr returns the stream's key serde, else the builder's serde for
// K (see topology.RequireSerde), which user needs.
func KeySerdeOr[K, V any](s Stream[K, V], user string) serde.Serde[K] {
	if s.keySerde != nil {
		return s.keySerde
	}
	return topology.RequireSerde[K](s.b, user+" (key)")
}

// ValueSerdeOr returns the stream's value serde, else the builder's serde
// for V (see topology.RequireSerde), which user needs.
func ValueSerdeOr[K, V any](s Stream[K, V], user string) serde.Serde[V] {
	if s.valueSerde != nil {
		return s.valueSerde
	}
	return topology.RequireSerde[V](s.b, user+" (value)")
}

// GivenOr returns given, a serde passed to an operation, else the
// builder's serde for T, which user needs.
func GivenOr[T any](b *topology.Builder, given serde.Serde[T], user string) serde.Serde[T] {
	if given != nil {
		return given
	}
	return topology.RequireSerde[T](b, user)
}

// SerdeOr returns the serde an option set when it has type serde.Serde[T],
// else known, else the builder's serde for T, which op needs for what (see
// topology.RequireSerde): never nil. A set serde of another type is a Build
// error naming op and what the serde is for, and is then ignored.
func SerdeOr[T any](b *topology.Builder, op, what string, set any, known serde.Serde[T]) serde.Serde[T] {
	if s := setOr(b, op, what, set, known); s != nil {
		return s
	}
	return topology.RequireSerde[T](b, op+" ("+what+")")
}

// KnownSerde is SerdeOr for a serde the operation can do without, such as
// the value serde its result carries for later operations: the serde set
// by an option, else known, else the builder's serde for T, else nil.
func KnownSerde[T any](b *topology.Builder, op, what string, set any, known serde.Serde[T]) serde.Serde[T] {
	if s := setOr(b, op, what, set, known); s != nil {
		return s
	}
	return topology.SerdeFor[T](b)
}

// setOr returns set when it is a serde.Serde[T], else known. A set serde of
// another type is a Build error.
func setOr[T any](b *topology.Builder, op, what string, set any, known serde.Serde[T]) serde.Serde[T] {
	if set != nil {
		if s, ok := set.(serde.Serde[T]); ok {
			return s
		}
		var t T
		b.Fail(fmt.Errorf("%s: %s serde is %T, want one for %T", op, what, set, t))
	}
	return known
}
