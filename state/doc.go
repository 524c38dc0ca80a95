// Package state holds Strata's state stores: typed key-value, window and
// session stores that processors read and write, kept in Pebble (or in
// memory) and backed by changelog topics in Kafka.
//
// Stores are declared on a topology.Builder ([AddKeyValueStore],
// [AddVersionedKeyValueStore], [AddWindowStore], [AddSessionStore]),
// connected to the processors that use
// them (Builder.ConnectStores, or the DSL's WithStores), and looked up from a
// processor's context with a typed helper:
//
//	counts, err := state.LookupKeyValue[string, int64](ctx, "counts")
//
// Asking for a store the processor is not connected to, or with other types
// than it was declared with, is an error that names the store and both types.
//
// # Versioned stores
//
// A versioned key-value store ([AddVersionedKeyValueStore], Kafka Streams'
// KIP-889) keeps every version of each key's value, by timestamp, for a
// history retention period, and answers what a key's value was at a given
// time ([ReadOnlyVersionedKeyValueStore.GetAsOf]). Versions may arrive out
// of order. Versioned tables (ktable.Versioned) keep their rows in one, so
// that a stream-table join finds the row as of each stream record's time.
// It is also a key-value store of its latest versions, so code that reads a
// table's current rows reads a versioned table's too.
//
// # Changelogs and restoration
//
// Every write to a logged store (the default) is also sent to the store's
// changelog topic, "<applicationID>-<store>-changelog", in the task's
// partition, through the same producer as the task's output, so that
// exactly-once processing covers state and output together. Key-value
// changelogs are compacted; window and session changelogs are compacted and
// deleted after the store's retention plus a day, as in Kafka Streams, and
// their keys use Kafka Streams' binary formats.
//
// When a task starts, its stores are restored from their changelogs before it
// processes anything: from the offset its checkpoint records (written when the
// task last closed cleanly) to the changelog's last stable offset. Persistent
// stores therefore replay only the changelog's tail; in-memory stores replay
// all of it.
//
// # Storage
//
// Persistent stores live in Pebble: one database per task, holding all of the
// task's stores under fixed key prefixes, sharing one block cache per
// instance (docs/state-layout.md has the measurements behind this layout).
// [InMemory] keeps a store in an ordered in-memory tree instead, with the
// same behaviour.
//
// # Key order and ranges
//
// Stores order keys by their serialized bytes, as Kafka Streams does: range
// queries follow the byte order of the key serde. Strings order
// lexicographically; the big-endian integer serdes order non-negative numbers
// numerically, with negative numbers after them. Key-value ranges include both
// ends. Window and session stores order entries by key, then time, whatever
// their segment.
//
// # Iterators
//
// Iterators hold resources until closed. Using one after Close is an error
// ([ErrIteratorClosed]), and a store closed with iterators still open reports
// how many. [All] turns an iterator into a range-over-func sequence that
// closes it.
package state
