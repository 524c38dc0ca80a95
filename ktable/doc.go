// Package ktable is Strata's table DSL: tables built from topics or streams,
// grouping and aggregation (count, reduce, aggregate) with repartitioning,
// and the operations on tables, in the style of Kafka Streams' KTable.
//
// A [Table] is a changelog stream interpreted as a table: each record is an
// update of its key's row, a tombstone deletes the row. Tables flow as
// [Change] records carrying the row's new and old values, so that operations
// downstream (re-aggregation after a GroupTableBy, joins) can retract what a
// row contributed before.
//
// Grouping lives here, not in kstream, because aggregating a grouped stream
// yields a table, and kstream does not import ktable:
//
//	counts := ktable.GroupBy(words, func(_ string, w string) string { return w }).Count()
//	counts.ToStream().To("word-counts")
//
// A key change upstream of an aggregation (GroupBy, or kstream.Map and its
// kin) inserts a repartition topic, "<applicationID>-<store>-repartition",
// so that records with equal keys meet in the same task; the topology splits
// into sub-topologies there. Records whose key is null are dropped before it,
// counted and logged, as Kafka Streams does.
//
// Stream aggregations (Count, Reduce, Aggregate, and their windowed and
// session forms) ignore records whose key or value is null, as Kafka
// Streams documents: such a record changes no aggregate and is counted as
// dropped (the dropped-records metric) and logged. GroupBy drops a record
// with a null value before calling its selector. Table aggregations
// (GroupTableBy) are different: there a null value deletes a row, which
// retracts its contribution from its group.
//
// Aggregations keep their results in a key-value store of
// state.Timestamped values with a changelog. Name the store with [Named] to
// keep its state, and its repartition topic, when the topology changes. A
// grouping named with Named (GroupByKey, GroupBy) names its repartition
// topic, which all its aggregations read, as in Kafka Streams; an unnamed
// grouping's aggregations each repartition through a topic named after
// their store. With topology.MergeRepartitionTopics, every aggregation,
// join and table reading one re-keyed stream shares one topic, the first
// one's.
//
// # Versioned tables
//
// [Versioned] keeps a table's rows in a versioned store, with their history
// for a retention period (Kafka Streams' versioned tables, KIP-889 and
// KIP-914): a stream-table join then meets the row as of each stream
// record's time, and may wait for late table updates
// (join.WithGracePeriod); an out-of-order update, older than its row's
// latest version, goes into the history without changing the current row,
// and table-table and foreign-key joins and re-aggregations ignore it
// (Change.OutOfOrder).
//
// # Transforming values with state
//
// [TransformValues] is MapValues for logic that needs state stores or the
// task's context (Kafka Streams' KTable.transformValues): a
// [ValueTransformer] computes each row's new value, with the stores
// connected by [WithStores]. Its result keeps its rows in a store of its
// own, so each update retracts exactly the value forwarded before, and the
// transformer is called once per update.
//
// # Cogroups
//
// [Cogroup] aggregates several grouped streams into one table with one
// store (Kafka Streams' cogroup, KIP-150): each stream, whatever its value
// type, has an aggregator of its own that folds its records into the one
// aggregate of their key. It replaces an aggregation per stream followed by
// joins of their tables:
//
//	cg := ktable.Cogroup(ktable.GroupByKey(clicks), countClick)
//	cg = ktable.CogroupWith(cg, ktable.GroupByKey(purchases), addPurchase)
//	summaries := cg.Aggregate(newSummary)
//
// A cogroup aggregates per key (Aggregate), or per window
// (CogroupedStream.WindowedBy, SlidingWindowedBy, SessionWindowedBy).
//
// # Writing a chain
//
// Go methods cannot take type parameters, so the operations that make a
// new type are functions ([GroupBy], [Aggregate], [AggregateWindows],
// [AggregateSessions], [AggregateTable], [MapValues], [TransformValues],
// [WindowedBy], [Cogroup], [CogroupWith]) and
// those that keep the types are methods (Count, Reduce, Filter, Suppress,
// ToStream). Nesting the functions makes a chain read inside-out; name
// each step instead, one per line, in the order the records flow, and let
// the methods chain after the last function:
//
//	byAccount := ktable.GroupBy(payments, func(_ string, p Payment) string { return p.Account })
//	totals := ktable.Aggregate(byAccount,
//		func() int64 { return 0 },
//		func(_ string, p Payment, sum int64) int64 { return sum + p.Cents })
//	totals.ToStream().To("totals")
//
//	perMinute := ktable.WindowedBy(ktable.GroupByKey(views), window.Tumbling(time.Minute, 10*time.Second))
//	perMinute.Count().Suppress(ktable.UntilWindowCloses(ktable.Unbounded())).ToStream().To("final-counts")
//
// # Serdes
//
// Operations write keys and values to repartition topics and stores with
// the serdes given to them (WithKeySerde, WithValueSerde), else those their
// input carries, else the builder's serde for the type: the one registered
// with topology.RegisterSerde, before serde.Default's built-in ones. Where
// an operation's documentation says serde.Default, the builder's serdes
// come first.
package ktable
