package kstream

import (
	"github.com/strata-go/strata/internal/dsl"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
)

// Option configures one DSL operation. It is the same type as ktable.Option
// and join.Option: the option functions of the three packages make options
// any operation accepts, so [Named] names a table or a join as well as a
// stream operation (and ktable.Named a stream operation). Each operation
// documents the options it takes; passing one it does not use is a mistake
// that Builder.Build reports, naming the operation and the option. Options
// come from the option functions: the zero Option is a Build error too.
type Option = dsl.Option

// The kinds of kstream's options.
const (
	optTopics      = dsl.OptTopics
	optExtractor   = dsl.OptExtractor
	optSerdes      = dsl.OptSerdes
	optPartitioner = dsl.OptPartitioner
	optStores      = dsl.OptStores
	optPartitions  = dsl.OptPartitions
)

// options are the settings of one operation.
type options struct {
	name        string
	topics      []string
	extractor   any // topology.TimestampExtractor[K, V]
	serdes      any // serdes[K, V]
	partitioner any // topology.Partitioner[K, V]
	stores      []string
	partitions  int
}

// Named gives the operation a name instead of a generated one. Every
// operation takes it: a stream operation's node takes the name; tables and
// joins name their stores, and so their changelogs and repartition topics,
// after it (ktable.Named and join.Named are the same option). Name the
// nodes of a topology you will change: Kafka Streams derives state store and
// internal topic names from node names, and generated names shift when an
// operation is inserted before them.
func Named(name string) Option { return dsl.Named(name) }

// Topics adds topics to the ones a source reads. Only [From] takes it.
func Topics(topics ...string) Option {
	return dsl.NewOption(optTopics, func(o *dsl.Options) { o.Topics = append(o.Topics, topics...) })
}

// WithTimestampExtractor sets a source's event-time extractor. Only [From]
// takes it; its key and value types must be the source's.
func WithTimestampExtractor[K, V any](fn topology.TimestampExtractor[K, V]) Option {
	return dsl.NewOption(optExtractor, func(o *dsl.Options) { o.Extractor = fn })
}

type serdes[K, V any] struct {
	key   serde.Serde[K]
	value serde.Serde[V]
}

// WithSerdes sets the serdes a sink or a repartition topic encodes with. A
// nil serde keeps the stream's. Only [Stream.To], [Stream.ToTopicFunc] and
// [Stream.Repartition] take it; its types must be the stream's.
func WithSerdes[K, V any](key serde.Serde[K], value serde.Serde[V]) Option {
	return dsl.NewOption(optSerdes, func(o *dsl.Options) { o.Serdes = serdes[K, V]{key, value} })
}

// WithPartitioner sets a sink's partitioner. Only [Stream.To] and
// [Stream.ToTopicFunc] take it; its types must be the stream's.
func WithPartitioner[K, V any](p topology.Partitioner[K, V]) Option {
	return dsl.NewOption(optPartitioner, func(o *dsl.Options) { o.Partitioner = p })
}

// WithStores connects state stores, declared on the builder, to a [Process]
// node. Only Process takes it.
func WithStores(stores ...string) Option {
	return dsl.NewOption(optStores, func(o *dsl.Options) { o.Stores = append(o.Stores, stores...) })
}

// WithPartitions sets the number of partitions of the topic a [Stream.Repartition]
// writes. Only Repartition takes it.
func WithPartitions(n int) Option {
	return dsl.NewOption(optPartitions, func(o *dsl.Options) { o.Partitions = n })
}

// collect applies opts for operation op, which takes the options in accepts
// (Named is always taken), and names the operation's node: the name given
// with Named, or prefix followed by the builder's counter. Zero options, an
// empty Named and options op does not take are recorded on b for Build to
// report.
func collect(b *topology.Builder, op, prefix string, accepts dsl.Kind, opts []Option) *options {
	return collectNamed(b, op, func() string { return b.NewName(prefix) }, accepts, opts)
}

// collectNamed is collect with the default name made by gen.
func collectNamed(b *topology.Builder, op string, gen func() string, accepts dsl.Kind, opts []Option) *options {
	d := dsl.Collect(b, op, accepts, gen, opts)
	return &options{
		name:        d.Name,
		topics:      d.Topics,
		extractor:   d.Extractor,
		serdes:      d.Serdes,
		partitioner: d.Partitioner,
		stores:      d.Stores,
		partitions:  d.Partitions,
	}
}
