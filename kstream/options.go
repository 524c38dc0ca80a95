package kstream

import (
	"fmt"
	"strings"

	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
)

// Option configures one DSL operation. Each operation documents the options
// it takes; passing one it does not use is a mistake that Builder.Build
// reports, naming the operation's node and the option.
type Option interface {
	applyTo(o *options)
}

// optKind identifies an option, so that an operation can check that it was
// given only options it uses.
type optKind uint8

const (
	optNamed optKind = 1 << iota
	optTopics
	optExtractor
	optSerdes
	optPartitioner
	optStores
	optPartitions
)

// optKinds lists the kinds in the order errors name them.
var optKinds = []optKind{optNamed, optTopics, optExtractor, optSerdes, optPartitioner, optStores, optPartitions}

func (k optKind) String() string {
	switch k {
	case optNamed:
		return "Named"
	case optTopics:
		return "Topics"
	case optExtractor:
		return "WithTimestampExtractor"
	case optSerdes:
		return "WithSerdes"
	case optPartitioner:
		return "WithPartitioner"
	case optStores:
		return "WithStores"
	case optPartitions:
		return "WithPartitions"
	}
	return fmt.Sprintf("optKind(%d)", uint8(k))
}

// list names the kinds set in k, for error messages.
func (k optKind) list() string {
	var names []string
	for _, kind := range optKinds {
		if k&kind != 0 {
			names = append(names, kind.String())
		}
	}
	return strings.Join(names, ", ")
}

type options struct {
	op          string
	given       optKind
	named       bool
	name        string
	topics      []string
	extractor   any // topology.TimestampExtractor[K, V]
	serdes      any // serdes[K, V]
	partitioner any // topology.Partitioner[K, V]
	stores      []string
	partitions  int
}

type option struct {
	kind optKind
	set  func(o *options)
}

func (opt option) applyTo(o *options) {
	o.given |= opt.kind
	opt.set(o)
}

// Named gives the operation's node a name instead of a generated one. Every
// operation takes it. Name the nodes of a topology you will change: Kafka
// Streams derives state store and internal topic names from node names, and
// generated names shift when an operation is inserted before them.
func Named(name string) Option {
	return option{optNamed, func(o *options) { o.named, o.name = true, name }}
}

// Topics adds topics to the ones a source reads. Only [From] takes it.
func Topics(topics ...string) Option {
	return option{optTopics, func(o *options) { o.topics = append(o.topics, topics...) }}
}

// WithTimestampExtractor sets a source's event-time extractor. Only [From]
// takes it; its key and value types must be the source's.
func WithTimestampExtractor[K, V any](fn topology.TimestampExtractor[K, V]) Option {
	return option{optExtractor, func(o *options) { o.extractor = fn }}
}

type serdes[K, V any] struct {
	key   serde.Serde[K]
	value serde.Serde[V]
}

// WithSerdes sets the serdes a sink encodes with. A nil serde keeps the
// stream's. Only [Stream.To] and [Stream.ToTopicFunc] take it; its types must
// be the stream's.
func WithSerdes[K, V any](key serde.Serde[K], value serde.Serde[V]) Option {
	return option{optSerdes, func(o *options) { o.serdes = serdes[K, V]{key, value} }}
}

// WithPartitioner sets a sink's partitioner. Only [Stream.To] and
// [Stream.ToTopicFunc] take it; its types must be the stream's.
func WithPartitioner[K, V any](p topology.Partitioner[K, V]) Option {
	return option{optPartitioner, func(o *options) { o.partitioner = p }}
}

// WithStores connects state stores, declared on the builder, to a [Process]
// node. Only Process takes it.
func WithStores(stores ...string) Option {
	return option{optStores, func(o *options) { o.stores = append(o.stores, stores...) }}
}

// WithPartitions sets the number of partitions of the topic a [Stream.Repartition]
// writes. Only Repartition takes it.
func WithPartitions(n int) Option {
	return option{optPartitions, func(o *options) { o.partitions = n }}
}

// collect applies opts for operation op, which takes the options in accepts
// (Named is always taken), and names the operation's node: the name given
// with Named, or prefix followed by the builder's counter. Nil options, an
// empty Named and options op does not take are recorded on b for Build to
// report.
func collect(b *topology.Builder, op, prefix string, accepts optKind, opts []Option) *options {
	return collectNamed(b, op, func() string { return b.NewName(prefix) }, accepts, opts)
}

// collectNamed is collect with the default name made by gen.
func collectNamed(b *topology.Builder, op string, gen func() string, accepts optKind, opts []Option) *options {
	o := &options{op: op}
	nils := 0
	for _, opt := range opts {
		if opt == nil {
			nils++
			continue
		}
		opt.applyTo(o)
	}
	switch {
	case o.named && o.name == "":
		o.name = gen()
		b.Fail(fmt.Errorf("%s %q: Named with an empty name", op, o.name))
	case !o.named:
		o.name = gen()
	}
	if nils > 0 {
		b.Fail(fmt.Errorf("%s %q: nil option", op, o.name))
	}
	accepts |= optNamed
	for _, kind := range optKinds {
		if o.given&kind != 0 && accepts&kind == 0 {
			b.Fail(fmt.Errorf("%s %q: option %s does not apply (%s takes %s)", op, o.name, kind, op, accepts.list()))
		}
	}
	return o
}
