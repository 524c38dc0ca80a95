// Package kstream is Strata's stream DSL: typed, record-by-record
// transformations of Kafka topics, in the style of Kafka Streams' KStream.
//
// Operations that keep the key and value types are methods ([Stream.Filter],
// [Stream.FilterNot], [Stream.Peek], [Stream.Merge], [Stream.Split], and the
// terminal [Stream.To], [Stream.ToTopicFunc], [Stream.Foreach],
// [Stream.Print]); operations that change them are package functions ([Map],
// [MapValues], [FlatMap], [FlatMapValues], [SelectKey], [Process],
// [ProcessValues]), because Go methods cannot take type parameters. Functions given to operations take
// the record's key and value.
//
// Side effects (calling a payment API, sending a webhook) go in outcome
// handlers: [Stream.Handle] calls a function that says what became of each
// record (success, retry through a retry topic with backoff, dead set,
// skip). With [WithConcurrency] a handler has many records of a partition
// in flight at once, by default records of one key in offset order, and the
// committed offsets never pass an unfinished record (Confluent's parallel
// consumer's key-ordered concurrency; Ziggurat's channels);
// [Stream.HandleBatch] gets records in batches of a size or a time
// ([WithBatch]; Ziggurat's batch routes).
//
// Every operation adds nodes to the [topology.Builder] the stream came from
// and accepts options; [Named] gives the node a name of your choosing instead
// of a generated one in Kafka Streams' style (KSTREAM-MAP-0000000003; see
// package topology on why naming matters). [Option] is one type across
// kstream, ktable and join, so kstream.Named, ktable.Named and join.Named
// are interchangeable. Each operation documents the other options it takes.
// Mistakes, such as a nil function, an option the operation does not take,
// a duplicate name or a missing serde, are reported by Builder.Build, each
// naming the node involved, not by the operation.
//
// Records keep their timestamp and headers through every operation; records
// an operation produces (Map, FlatMap, ...) inherit those of the input
// record.
//
// # Serdes
//
// A stream carries the serdes known for it: a source's, kept by operations
// that do not change the type they encode. Where a serde is unknown (after
// Map, SelectKey, Process or a join), a sink or repartition topic uses the
// builder's serde for the type: the one registered once with
// topology.RegisterSerde, else serde.Default's, which covers the basic
// types. [WithSerdes] overrides both for one sink. A type without a serde is
// one Build error naming the type and every operation that needed it.
//
//	b := topology.NewBuilder()
//	topology.RegisterSerde(b, serde.JSON[Payment]())
//	payments := kstream.From[string, Payment](b, "payments", nil, nil)
//	kstream.SelectKey(payments, byAccount).To("by-account") // JSON[Payment] again
//
// # Nulls
//
// Kafka keys and values can be null; Go's string or int64 cannot. A record
// remembers whether its key and value are Kafka nulls (topology.Record):
// sources mark them, sinks write them as nulls, Filter and the other
// operations that forward records as they are keep them. The functions
// given to [Map], [MapValues], [FlatMap], [FlatMapValues] and [SelectKey]
// are called for records with null keys and values too, with the zero
// value, as Kafka Streams calls its mappers with null. What they return
// stays a null when it is the zero value of its type and what it was made
// from was a null: a mapper that passes a tombstone's value through
// (Kafka's map(noOp)), or a null key, keeps it null, so that a re-keyed
// join or aggregation drops it as Kafka Streams does instead of joining ""
// or counting key 0. The rule goes by position: a key stays null only if
// the record's key was, a value only if its value was.
//
// What remains to watch for:
//
//   - A mapper that moves a null value into the key (SelectKey returning
//     the value of a tombstone) gives the zero key, not a null key.
//   - A mapper that turns a null into a value that is not the zero value
//     (strings.ToUpper is fine; v+"!" is not) makes a real value of it, as
//     it would in Kafka Streams.
//   - Process sees the markers (Record.IsTombstone, Record.HasNullKey) and
//     sets them itself, with topology.Tombstone and topology.NullKey;
//     topology.WithKey, WithValue and WithKeyValue make values, not nulls.
//   - A mapper that maps a null to the zero value on purpose, meaning a
//     value (a tombstone to "", say), gets a null. Where the difference
//     matters, use a nilable type (serde.Ptr, []byte), whose nil is the
//     null.
//
// Operations that may change the key (Map, FlatMap, SelectKey, Process) mark
// the resulting stream as needing a repartition: a later stateful operation
// or join reads it through a repartition topic, so that records with equal
// keys meet in the same task: a topic for each such operation, or one for
// all the operations that read the stream when the builder merges
// repartition topics (topology.MergeRepartitionTopics, off by default).
// Value-only operations keep the flag of their
// input, and Merge sets it if either input has it. [ProcessValues] is the
// processor API's value-only operation: its processor forwards
// topology.FixedKeyRecords, whose key it cannot change, so it needs no
// repartition where [Process] would.
//
// # Failures and side effects
//
// A function that can fail returns an error: [Stream.FilterErr],
// [MapValuesErr] and [FlatMapValuesErr] are the forms of Filter, MapValues
// and FlatMapValues whose function returns one. The error, like a panic in
// any function given to an operation, is the record's processing error, to
// which strata's Config.OnProcessingError applies: stop (the default), skip
// the record, or send it to the dead-letter topic and go on.
//
// A side effect that may fail and be worth retrying, such as calling a
// payment API or sending a webhook, is the job of [Stream.Handle], a
// terminal operation in the style of Gojek's Ziggurat: its function returns
// an [Outcome] ([Success], [Retry], [DeadLetter] or [Skip]), and the handler
// retries the record with backoff through the application's retry topic
// (or in place, keeping the partition's order), then gives it up to the
// dead set, where operators view and replay it. [WithRetry] sets the policy
// (package retry); [Attempt] tells the function which attempt a call is.
//
//	cancelled.Handle("reverse-reservation", wallet.Reverse, kstream.WithRetry(retry.Policy{
//		Backoff:     retry.Exponential(100*time.Millisecond, 2),
//		MaxAttempts: 5,
//	}))
//
// examples/reversals is a worker built this way, calling its wallet for
// many bookings at once in key order ([WithConcurrency], [OrderByKey]).
package kstream
