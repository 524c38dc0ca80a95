package topology

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata/internal/engine"
	"github.com/strata-go/strata/serde"
)

// Builder collects the nodes of a topology. The zero Builder is not usable;
// call [NewBuilder]. A Builder is not safe for concurrent use.
type Builder struct {
	g        engine.Graph
	counter  int
	errs     []error
	built    bool
	serdes   builderSerdes
	optimize Optimization
}

// NewBuilder returns an empty Builder.
func NewBuilder() *Builder {
	return &Builder{}
}

// NewName returns prefix followed by the next value of the builder's counter
// as ten digits, the way Kafka Streams names nodes: "KSTREAM-MAP-0000000003".
func (b *Builder) NewName(prefix string) string {
	name := fmt.Sprintf("%s%010d", prefix, b.counter)
	b.counter++
	return name
}

// Fail records a problem for Build to report. DSL packages use it for
// mistakes they find while adding nodes.
func (b *Builder) Fail(err error) {
	b.errs = append(b.errs, err)
}

// add records def, keeping any problem for Build.
func (b *Builder) add(def *engine.NodeDef) {
	if b.built {
		b.Fail(fmt.Errorf("%s %q added after Build", def.Kind, def.Name))
		return
	}
	if def.Name == "" {
		b.Fail(fmt.Errorf("a %s has an empty name", def.Kind))
		return
	}
	if err := b.g.Add(def); err != nil {
		b.Fail(err)
	}
}

// ConnectStores gives the named processor access to state stores. Stores are
// declared on the builder by package state; connecting an undeclared store
// fails Build.
func (b *Builder) ConnectStores(processor string, stores ...string) {
	if b.built {
		b.Fail(fmt.Errorf("stores %q connected to %q after Build", stores, processor))
		return
	}
	n := b.g.Node(processor)
	if n == nil {
		b.Fail(fmt.Errorf("cannot connect stores %q to unknown processor %q", stores, processor))
		return
	}
	if n.Kind != engine.KindProcessor {
		b.Fail(fmt.Errorf("cannot connect stores to %s %q: only processors use stores", n.Kind, processor))
		return
	}
	for _, s := range stores {
		if !slices.Contains(n.Stores, s) {
			n.Stores = append(n.Stores, s)
		}
	}
}

// Copartition declares that the named nodes read co-partitioned inputs: the
// source topics upstream of them must have the same number of partitions, so
// that records with equal keys meet in the task of the same number. Joins
// declare their inputs this way. The check runs when the app starts (and when
// the test driver starts), because partition counts are only known then:
// topics with different counts stop it with an error naming them, and
// repartition topics in the group are created with the group's count.
func (b *Builder) Copartition(nodes ...string) {
	if b.built {
		b.Fail(fmt.Errorf("co-partition group %q declared after Build", nodes))
		return
	}
	b.g.Copartitions = append(b.g.Copartitions, slices.Clone(nodes))
}

// AddStore declares a state store. Package state declares stores through
// it: use state.AddKeyValueStore and its siblings rather than calling it.
func (b *Builder) AddStore(def *engine.StoreDef) {
	switch {
	case b.built:
		b.Fail(errors.New("store added after Build"))
	case def == nil || def.Name == "":
		b.Fail(errors.New("a store has an empty name"))
	case def.New == nil:
		b.Fail(fmt.Errorf("store %q has no constructor", def.Name))
	default:
		if err := b.g.AddStore(def); err != nil {
			b.Fail(err)
		}
	}
}

// Build validates the collected nodes and returns the topology. The error
// wraps [ErrInvalidTopology] and lists every problem found: duplicate or
// empty names, unknown parents or stores, sources without topics, a topic
// read by two sources, a sink without a topic, missing serdes (one error
// per type, wrapping [ErrNoSerde]), cycles.
//
// A Builder builds once: the topology shares its nodes, so later changes to
// the builder are refused, and a second Build is an error.
func (b *Builder) Build() (*Topology, error) {
	if b.built {
		return nil, fmt.Errorf("%w: Build called twice on one Builder", ErrInvalidTopology)
	}
	errs := append([]error(nil), b.errs...)
	errs = append(errs, b.serdes.errors()...)
	if len(b.g.Nodes) == 0 {
		errs = append(errs, errors.New("the topology has no nodes"))
	}
	var top *engine.Topology
	if len(errs) == 0 {
		b.g.Serdes = b.serdes.byType
		var ferrs []error
		top, ferrs = engine.Freeze(&b.g)
		errs = append(errs, ferrs...)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: %w", ErrInvalidTopology, errors.Join(errs...))
	}
	b.built = true
	t := Topology(engine.NewBuilt(top))
	return &t, nil
}

// Topology is a validated, immutable topology. Run it with the test driver in
// package testutil or on Kafka with package strata.
type Topology engine.Built

func (t *Topology) engine() *engine.Topology { return engine.Built(*t).Topology() }

// SourceTopics returns the topics the topology reads, sorted.
func (t *Topology) SourceTopics() []string {
	var out []string
	for _, st := range t.engine().Subtopologies {
		out = append(out, st.SourceTopics...)
	}
	sort.Strings(out)
	return out
}

// Source configures a source node: the topics it reads and how to decode
// them. KeySerde and ValueSerde are required.
type Source[K, V any] struct {
	Topics     []string
	KeySerde   serde.Serde[K]
	ValueSerde serde.Serde[V]
	// TimestampExtractor sets each record's event time. Nil uses the
	// Kafka record's timestamp.
	TimestampExtractor TimestampExtractor[K, V]
	// Due, if set, gives for each record as read the wall-clock time
	// before which it must not be processed (the zero time for at once):
	// the partition's later records wait behind it, and the runtime
	// pauses the partition meanwhile. For sources of records that wait,
	// such as a retry topic's.
	Due func(r *kgo.Record) time.Time
}

// AddSource adds a source node named name.
func AddSource[K, V any](b *Builder, name string, src Source[K, V]) {
	addSource(b, name, src, false)
}

// AddInternalSource adds a source of internal topics: topics the application
// creates and owns, whose real names are "<applicationID>-" followed by the
// names given, such as the repartition topics the DSL inserts.
func AddInternalSource[K, V any](b *Builder, name string, src Source[K, V]) {
	addSource(b, name, src, true)
}

func addSource[K, V any](b *Builder, name string, src Source[K, V], internal bool) {
	if src.KeySerde == nil {
		b.Fail(fmt.Errorf("source %q has no key serde", name))
	}
	if src.ValueSerde == nil {
		b.Fail(fmt.Errorf("source %q has no value serde", name))
	}
	topics := append([]string(nil), src.Topics...)
	b.add(&engine.NodeDef{
		Name:     name,
		Kind:     engine.KindSource,
		Topics:   topics,
		Internal: internal,
		New: func() engine.Node {
			return &sourceNode[K, V]{name: name, src: src}
		},
	})
}

// AddProcessor adds a processor node named name below parents. supplier is
// called once per task for a fresh Processor.
func AddProcessor[KIn, VIn, KOut, VOut any](b *Builder, name string, supplier func() Processor[KIn, VIn, KOut, VOut], parents ...string) {
	if supplier == nil {
		// Keep the node so that its children do not report it missing.
		b.Fail(fmt.Errorf("processor %q has no supplier", name))
	}
	def := &engine.NodeDef{
		Name:    name,
		Kind:    engine.KindProcessor,
		Parents: append([]string(nil), parents...),
	}
	def.New = func() engine.Node {
		n := &processorNode[KIn, VIn, KOut, VOut]{name: name, p: supplier()}
		n.ctx.node = name
		n.ctx.stores = def.Stores
		return n
	}
	b.add(def)
}

// Sink configures a sink node: where records go and how to encode them.
// Exactly one of Topic and TopicExtractor is set. KeySerde and ValueSerde
// are required.
type Sink[K, V any] struct {
	Topic          string
	TopicExtractor TopicExtractor[K, V]
	KeySerde       serde.Serde[K]
	ValueSerde     serde.Serde[V]
	// Partitioner picks output partitions. Nil, or a partitioner that
	// returns ok false, uses murmur2 of the serialized key; records with
	// a null key are spread round-robin.
	Partitioner Partitioner[K, V]
}

// AddSink adds a sink node named name below parents.
func AddSink[K, V any](b *Builder, name string, sink Sink[K, V], parents ...string) {
	addSink(b, name, sink, false, 0, parents)
}

// AddInternalSink adds a sink writing an internal topic (see
// AddInternalSource), created by the application with the given number of
// partitions, or, with 0, as many as the sink's sub-topology has tasks.
func AddInternalSink[K, V any](b *Builder, name string, sink Sink[K, V], partitions int, parents ...string) {
	if sink.TopicExtractor != nil {
		b.Fail(fmt.Errorf("internal sink %q cannot pick its topic per record", name))
	}
	if partitions < 0 {
		b.Fail(fmt.Errorf("internal sink %q: partition count %d is negative", name, partitions))
	}
	addSink(b, name, sink, true, partitions, parents)
}

func addSink[K, V any](b *Builder, name string, sink Sink[K, V], internal bool, partitions int, parents []string) {
	switch {
	case sink.Topic == "" && sink.TopicExtractor == nil:
		b.Fail(fmt.Errorf("sink %q has no topic", name))
	case sink.Topic != "" && sink.TopicExtractor != nil:
		b.Fail(fmt.Errorf("sink %q has both a topic and a topic extractor", name))
	}
	if sink.KeySerde == nil {
		b.Fail(fmt.Errorf("sink %q has no key serde", name))
	}
	if sink.ValueSerde == nil {
		b.Fail(fmt.Errorf("sink %q has no value serde", name))
	}
	def := &engine.NodeDef{
		Name:       name,
		Kind:       engine.KindSink,
		Parents:    append([]string(nil), parents...),
		Internal:   internal,
		Partitions: partitions,
		New: func() engine.Node {
			return &sinkNode[K, V]{name: name, sink: sink, internal: internal}
		},
	}
	if sink.Topic != "" {
		def.Topics = []string{sink.Topic}
	} else {
		def.TopicExtractorName = "TopicExtractor"
	}
	b.add(def)
}

// DeclareStore declares a store by name only. Deprecated: temporary, for
// tests written before package state; removed once they move to AddStore.
func (b *Builder) DeclareStore(name string) {
	b.AddStore(&engine.StoreDef{Name: name, Kind: "key-value", New: func() engine.Store { return nil }})
}
