// Package testutil runs whole topologies in memory, synchronously and
// deterministically, for unit tests: Strata's counterpart of Kafka Streams'
// TopologyTestDriver.
//
// The driver is not a simulation. It compiles the topology into the same
// tasks the Kafka runtime runs (one per partition of each sub-topology) and
// feeds them records through the same serdes, partitioner and record queues.
// What differs is only the transport: topics are in-memory logs, and records
// written to a topic the topology reads (repartition topics, for example) are
// processed right away, in the order they were written.
//
// Topics can have several partitions (Config.Partitions). Records are
// partitioned as Kafka's default partitioner does, so per-partition stream
// time, co-partitioning and repartitioning behave as they will on Kafka,
// which Kafka's own test driver cannot show.
//
// Like Kafka's driver, this one commits after every input record, and wall
// clock time moves only when the test calls [Driver.AdvanceWallClockTime].
//
// Typed topics ([NewInputTopic], [NewOutputTopic]) take serdes, or nil for
// the topology's own (those registered with topology.RegisterSerde, else the
// built-in defaults). An input topic pipes Kafka nulls whatever its serdes
// would make of a zero value: [InputTopic.PipeTombstone] a null value,
// [InputTopic.PipeNullKey] a null key, and PipeRecords records made with
// topology.Tombstone and topology.NullKey. An output topic's records say
// which of their keys and values are nulls (Record.NullKey, NullValue), and
// [ReadKeyValuesToMap] reads it as a table. Stores read as Kafka's driver
// reads them: [KeyValueStore] shows the values of the DSL's timestamped
// stores, [TimestampedKeyValueStore] the values with their timestamps.
package testutil
