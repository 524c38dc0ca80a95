// Package engine is Strata's processing core: the node graph a topology
// compiles to, its sub-topologies, and the Task that runs one partition of one
// sub-topology.
//
// The engine is untyped. Typed node implementations live in package topology
// and plug in through the [Node], [Source] and [Sink] interfaces; the engine
// wires them together once, when a task is created, so that records travel
// between nodes through typed method calls with no per-record lookups.
//
// The same Task runs under testutil's in-memory driver and under the Kafka
// runtime: both feed it input records and give it a [Collector] for output.
package engine
