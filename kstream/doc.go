// Package kstream is Strata's stream DSL: typed, record-by-record
// transformations of Kafka topics, in the style of Kafka Streams' KStream.
//
// Operations that keep the key and value types are methods ([Stream.Filter],
// [Stream.Peek], [Stream.Merge], [Stream.Split], [Stream.To]); operations that
// change them are package functions ([Map], [MapValues], [FlatMap],
// [FlatMapValues], [SelectKey], [Process]), because Go methods cannot take
// type parameters.
//
// Every operation adds nodes to the [topology.Builder] the stream came from
// and accepts options; [Named] gives the node a name of your choosing instead
// of a generated one (see package topology on why naming matters). Mistakes
// such as a missing serde are reported by Builder.Build, not by the
// operation.
//
// Operations that may change the key (Map, FlatMap, SelectKey, Process) mark
// the resulting stream as needing a repartition: a later stateful operation
// or join reads it through a repartition topic, so that records with equal
// keys meet in the same task.
package kstream
