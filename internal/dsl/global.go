package dsl

import (
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
)

// GlobalTable is a typed handle on a global table: the global store holding
// its rows, as state.Timestamped values, and the serdes of its topic.
// ktable.GlobalTable is defined on it, so that package join reaches the
// store without an exported accessor.
type GlobalTable[K, V any] struct {
	b          *topology.Builder
	topic      string
	store      string
	keySerde   serde.Serde[K]
	valueSerde serde.Serde[V]
}

// NewGlobalTable returns a handle on the global table read from topic and
// kept in store.
func NewGlobalTable[K, V any](b *topology.Builder, topic, store string, ks serde.Serde[K], vs serde.Serde[V]) GlobalTable[K, V] {
	return GlobalTable[K, V]{b: b, topic: topic, store: store, keySerde: ks, valueSerde: vs}
}

// Topic is the topic the table is read from, which serdes are given as
// context.
func (g GlobalTable[K, V]) Topic() string { return g.topic }

// Builder is the builder the table belongs to.
func (g GlobalTable[K, V]) Builder() *topology.Builder { return g.b }

// Store is the name of the global store holding the rows.
func (g GlobalTable[K, V]) Store() string { return g.store }

// KeySerde is the serde of the table's keys.
func (g GlobalTable[K, V]) KeySerde() serde.Serde[K] { return g.keySerde }

// ValueSerde is the serde of the table's values.
func (g GlobalTable[K, V]) ValueSerde() serde.Serde[V] { return g.valueSerde }
