// Package state holds Strata's state stores: typed key-value, window and
// session stores that processors read and write, kept in Pebble (or in
// memory) and backed by compacted changelog topics in Kafka.
//
// Stores are declared on a topology.Builder ([AddKeyValueStore]), connected
// to the processors that use them (Builder.ConnectStores, or the DSL's
// WithStores), and looked up from a processor's context with a typed helper:
//
//	counts, err := state.LookupKeyValue[string, int64](ctx, "counts")
//
// Every write to a logged store (the default) is also sent to the store's
// changelog topic, "<applicationID>-<store>-changelog", in the task's
// partition, through the same producer as the task's output, so that
// exactly-once processing covers state and output together. When a task
// starts on a new instance its stores are restored from their changelogs
// before it processes anything.
//
// # Key order
//
// Stores order keys by their serialized bytes, as Kafka Streams does: range
// queries follow the byte order of the key serde. Strings order
// lexicographically; the big-endian integer serdes order non-negative numbers
// numerically, with negative numbers after them.
package state
