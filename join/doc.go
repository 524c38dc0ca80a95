// Package join joins streams and tables the way Kafka Streams does: records
// of two inputs with equal keys meet in one task, and a joiner function makes
// each result.
//
// The joins are package functions, because they change types:
//
//   - stream-stream, within a join window: Streams, StreamsLeft, StreamsOuter;
//   - stream-table, where only stream records trigger output: StreamTable,
//     StreamTableLeft, which against a versioned table (ktable.Versioned)
//     join each record with the row as of its time, and may hold records
//     back for a grace period ([WithGracePeriod]);
//   - stream-global table, with a key mapper: StreamGlobal, StreamGlobalLeft;
//   - table-table, on the primary key: Tables, TablesLeft, TablesOuter;
//   - table-table on a foreign key (many-to-one): ForeignKey, ForeignKeyLeft.
//
// A stream joined with itself (Streams(s, s, ...)) is a self-join. With
// topology.SingleStoreSelfJoin (in topology.OptimizeAll), an inner
// self-join keeps its records in one window store, with one changelog,
// instead of two: Kafka Streams' single.store.self.join (KIP-862).
//
// Table-table and foreign-key joins join current rows: an out-of-order
// update of a versioned table, which changes its history but not its
// current row, is dropped, counted and logged, as in Kafka Streams
// (KIP-914).
//
// Options are those of kstream and ktable too (kstream.Option, ktable.Option
// and join.Option are one type), so [Named] from any of the three names a
// join. The serdes a join writes its stores and repartition topics with are
// the ones given with [WithKeySerde], [WithValueSerdes] and
// [WithResultSerde], else its inputs', else the builder's
// (topology.RegisterSerde).
//
// Inputs whose key may have changed since they were read are repartitioned
// first, and inputs that must be co-partitioned are checked when the app
// starts: a join of topics with different partition counts fails with an
// error naming them. Kafka Streams' join semantics are the reference; where
// Strata differs, docs/deviations.md says so.
package join
