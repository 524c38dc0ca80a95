// Package topology is Strata's processor API: the graph of sources,
// processors and sinks that a stream-processing application runs, and the
// typed interfaces its nodes implement.
//
// Most applications build topologies with the DSL in package kstream, which
// adds nodes to a [Builder] for them. The processor API is there for logic the
// DSL does not cover, and mixes freely with it (see kstream.Process).
//
// # Building
//
// A [Builder] collects nodes. Generic package functions add them, because Go
// methods cannot take type parameters: [AddSource], [AddProcessor],
// [AddFixedKeyProcessor] (a [FixedKeyProcessor], which can change values
// but not keys), [AddSink]. Builder methods never return errors; the first problems found are
// kept and [Builder.Build] returns them all, each naming the node, topic or
// store involved. A built [Topology] is immutable and can be run any number of
// times, by the test driver (package testutil) or on Kafka (package strata).
//
// # Serdes
//
// A Builder holds serdes by Go type: register each type's serde once, right
// after NewBuilder, with [RegisterSerde], and every DSL operation that needs
// a serde it does not know (a sink or repartition topic after kstream.Map,
// SelectKey, Process or a join, an aggregate's store, a source given a nil
// serde) takes it from there, before serde.Default's built-in ones:
//
//	b := topology.NewBuilder()
//	topology.RegisterSerde(b, serde.JSON[Payment]())
//	topology.RegisterSerde(b, serde.JSON[Receipt]())
//
// A type needed without a serde is one Build error, wrapping [ErrNoSerde],
// that names the type and every operation that needed it. Processors and
// stores of the processor API take explicit serdes; [SerdeFor] and
// [RequireSerde] look the builder's up for them.
//
// # Names
//
// Every node has a unique name. The DSL generates names in Kafka Streams'
// style, a prefix and a global counter (KSTREAM-MAP-0000000001), unless an
// operation is given one. State stores, changelog topics and repartition
// topics take their names from these, so inserting an operator renames every
// generated name after it. Name the stateful operations and repartitions of a
// topology you will evolve: then its stores and internal topics keep their
// names, and their data, when the topology changes.
//
// # Optimizations
//
// [Builder.Optimize], called right after NewBuilder, turns on rewrites of
// the topology the DSL builds, Kafka Streams' topology.optimization. Like
// Kafka's, they are off by default: an optimization renames or removes
// internal topics and stores, so turning it on is an incompatible change
// for an application that has run (reset it first), and a new application
// should decide once. [MergeRepartitionTopics] gives a re-keyed stream one
// repartition topic however many aggregations, joins and tables read it;
// without it each writes its own copy of the stream. [SingleStoreSelfJoin]
// makes an inner join of a stream with itself one processor over one window
// store and one changelog, instead of two join processors over two stores
// holding the same records. [OptimizeAll] turns on both, Kafka's "all".
// [Topology.Describe] shows the result: one "-repartition" sink where there
// were several, one store where a self-join had two.
//
// # Sub-topologies and tasks
//
// Nodes connected by parent edges, or sharing a state store, form a
// sub-topology. Each sub-topology runs as one task per partition of its input
// topics; a task owns its processor instances, its stream time and its
// punctuation schedule, and processes its records one at a time, picking the
// buffered record with the smallest timestamp across its inputs.
//
// # Errors and panics
//
// A record's processing fails when a processor's Process returns an error of
// its own, a [ProcessingError] (inside a [NodeError] naming the processor),
// or when user code panics while it is processed: a processor, a DSL
// callback, a sink's serde, partitioner or topic extractor. A task recovers
// such a panic, once per record, into a [PanicError] naming the node that
// panicked (the innermost one running: a processor's child that panics is
// blamed, not the processor), the record's coordinates, the panic's value
// and its stack, wrapped in a ProcessingError, and logs it at ERROR with the
// stack. The processing-error policy ([BadRecordPolicy]; the runtime's
// Config.OnProcessingError, the test driver's Config.OnProcessingError)
// applies to both: fail stops processing with the error, skip logs, counts
// and skips the record, dead-letter also writes it to the dead-letter topic.
// Errors a node passes on from downstream, and a sink's own errors, always
// stop processing.
//
// Where no record is processed, the policy does not apply: a panic in a
// punctuator, in a node a store's cache flush forwards to at commit, or in a
// processor's Init or Close, stops processing with a PanicError naming the
// node (and, for a flush, the store). A panic in a source's deserializer or timestamp extractor makes
// the record a bad record, a [BadRecordError] wrapping the PanicError, to
// which the bad-record policy applies, as it does to an error of theirs.
// errors.Is(err, [ErrPanic]) tells a panic from an error in every case.
package topology
