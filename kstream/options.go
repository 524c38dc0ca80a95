package kstream

import (
	"fmt"

	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
)

// Option configures one DSL operation. Options an operation does not use are
// reported by Builder.Build.
type Option interface {
	applyTo(o *options)
}

type options struct {
	op          string
	name        string
	topics      []string
	extractor   any // topology.TimestampExtractor[K, V]
	serdes      any // serdes[K, V]
	partitioner any // topology.Partitioner[K, V]
	stores      []string
}

type optionFunc func(o *options)

func (f optionFunc) applyTo(o *options) { f(o) }

// Named names the operation's node instead of generating a name.
func Named(name string) Option {
	return optionFunc(func(o *options) { o.name = name })
}

// Topics adds topics to the ones a source reads.
func Topics(topics ...string) Option {
	return optionFunc(func(o *options) { o.topics = append(o.topics, topics...) })
}

// WithTimestampExtractor sets a source's event-time extractor.
func WithTimestampExtractor[K, V any](fn topology.TimestampExtractor[K, V]) Option {
	return optionFunc(func(o *options) { o.extractor = fn })
}

type serdes[K, V any] struct {
	key   serde.Serde[K]
	value serde.Serde[V]
}

// WithSerdes sets the serdes a sink encodes with. A nil serde keeps the
// stream's.
func WithSerdes[K, V any](key serde.Serde[K], value serde.Serde[V]) Option {
	return optionFunc(func(o *options) { o.serdes = serdes[K, V]{key, value} })
}

// WithPartitioner sets a sink's partitioner.
func WithPartitioner[K, V any](p topology.Partitioner[K, V]) Option {
	return optionFunc(func(o *options) { o.partitioner = p })
}

// WithStores connects state stores to a [Process] node.
func WithStores(stores ...string) Option {
	return optionFunc(func(o *options) { o.stores = append(o.stores, stores...) })
}

func collect(b *topology.Builder, op string, opts []Option) *options {
	o := &options{op: op}
	for _, opt := range opts {
		if opt == nil {
			b.Fail(fmt.Errorf("%s: nil option", op))
			continue
		}
		opt.applyTo(o)
	}
	return o
}

// nameOr returns the name given with Named, or a generated one.
func (o *options) nameOr(b *topology.Builder, prefix string) string {
	if o.name != "" {
		return o.name
	}
	return b.NewName(prefix)
}
