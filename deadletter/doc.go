// Package deadletter defines Strata's dead-letter records and the dead
// set: an application's dead-letter topic, which operators list, replay
// and delete from Go, over HTTP or with `strata dlq`.
//
// # Dead-letter records
//
// An input record the application gives up on is written, as it was read,
// to the application's dead-letter topic (strata.Config.DeadLetterTopic,
// default "<ApplicationID>-dead-letter"), with headers saying where it came
// from and why, and the application goes on. It gets there in two ways:
//
//   - by a policy, one per kind of failure ([ReasonDeserialization],
//     [ReasonProcessing], [ReasonProduction]): strata.Config.OnBadRecord
//     for a record whose key or value cannot be deserialized (or whose
//     timestamp is invalid), Config.OnProcessingError for a record a
//     processor fails or panics on, and Config.OnProductionError for a
//     record whose output cannot be produced (too large, for instance),
//     each set to topology.BadRecordDeadLetter;
//   - from an outcome handler (kstream's Handle), which dead-letters a
//     record itself, with its own reason, or gives it up after its retry
//     policy's last attempt ([ReasonRetriesExhausted]); the record names
//     the handler and the attempts made.
//
// Under exactly-once the dead-letter record is part of the transaction
// that commits the input offset past it, so a record lands in the topic
// exactly once. The record's key, value, timestamp and headers are the
// failed record's own (for a handler, the record as the handler first got
// it, not a retry's), in the dead-letter topic's partition of its input
// partition's number (modulo the topic's count), so one input partition's
// records stay in order.
//
// # Format and versions
//
// The headers are those of Kafka Streams' dead-letter queue (KIP-1034), so
// tools written for it read Strata's too, and Strata's own:
//
//	__streams.errors.exception  the reason (Reason*, or a handler's own)
//	__streams.errors.message    the error's text
//	__streams.errors.topic      the source topic
//	__streams.errors.partition  the source partition, in decimal
//	__streams.errors.offset     the source offset, in decimal
//	strata.deadletter.version   the format's version, in decimal (2)
//	strata.handler              the outcome handler that gave the record up
//	strata.retry.attempts       how many times it ran on the record
//
// The version says how to read the rest. Version 1 is the format of Strata
// before the dead set: the KIP-1034 headers alone, no version header; Parse
// reads it as ever (a record without the version header is of version 1),
// so a dead-letter topic written before an upgrade is read, replayed and
// deleted after it. Version 2 adds the version header, and the handler and
// attempts of a handler's records. A version changes only when a reader of
// the previous one would misread a record; a header an older reader can
// ignore comes without a new version. A reader refuses a version newer
// than it knows ([ErrUnsupportedVersion]) rather than misread it: upgrade
// the readers (the `strata` command, the applications serving the HTTP
// API) before the writers. New and Encode write the current version.
//
// # The dead set
//
// A [DeadSet] ([Open], or strata.App.DeadSet) is an application's
// dead-letter topic minus the records deleted (or replayed) from it:
//
//   - [DeadSet.List] returns a page: at most a count of the records a
//     [Filter] selects (by source topic, key, reason, handler, timestamp),
//     from a cursor, partition by partition of the dead-letter topic and
//     in offset order within each; a page's Next cursor starts the next.
//     A cursor is an opaque string holding an offset per partition, so
//     paging holds no state on the server and reads each record once. List
//     holds only the page's records, and what its client fetches at once
//     (about a megabyte of compressed records): it reads the topic a
//     partition at a time from the cursor and stops at the first selected
//     record past the page. It reads read_committed: records of aborted
//     transactions never show.
//   - [DeadSet.Replay] sends records back through the application: each to
//     its handler's retry topic, "<ApplicationID>-<handler>-retry", with the
//     retry headers of attempt 0 (a fresh start, with the retry policy's
//     full budget) and due at once, its original key, value, timestamp,
//     headers and source coordinates, in its source partition's number. It
//     never writes to the source topic, which other consumer groups read
//     too, so only this application sees the record again, and its
//     handler runs it as any retry. A record without a handler (of version
//     1, or of a policy) has no retry topic: its replay is refused
//     ([ErrNoHandler]) unless asked explicitly to go to its source topic
//     and partition (Selection.ToSource), for every consumer group of that
//     topic to see, which is how a record the application could not
//     deserialize is processed again once the deserializer is fixed.
//   - [DeadSet.Delete] acknowledges records: they no longer show in List,
//     and no replay selects them, but the dead-letter topic keeps them
//     until its retention removes them.
//
// Replay and Delete take a [Selection]: one record by its coordinates in
// the dead-letter topic (what List shows), or the records a Filter
// selects, narrowed to those before a cursor (what the operator saw, not
// what arrived since) and to a count; a selection of everything must say
// All. Both have a dry run. A replayed record is deleted from the dead set
// in the same transaction as its replay, and one that fails again comes
// back as a new record.
//
// # How deletion works, and why
//
// Each partition of the dead-letter topic has a deleted-up-to position: the
// records before it are deleted. Delete (and Replay) moves it past the
// last record selected in the partition, and writes again, at the end of
// the partition, the records before that one that the selection does not
// take (Result.Kept; they get new coordinates, keep everything else). One
// record selected by its coordinates is deleted by a mark of its own
// instead, so that no other record moves; a position that passes a mark
// forgets it. Positions and marks are records of a compacted topic of one
// partition, "<ApplicationID>-dead-set-positions" (Config.PositionsTopic),
// keyed "<dead-letter topic>/<partition>" (value: the position) and
// "<dead-letter topic>/<partition>@<offset>" (value "deleted"; a tombstone
// once forgotten), created at the first change.
//
// Why positions, and not compaction of the dead-letter topic by record ID
// with tombstones: a tombstone comes after the record it deletes, so a
// reader would have to read the whole topic, and remember every record
// ID, before it could show one page: no bounded memory, no paging; and the
// records' keys would have to be IDs, not the failed records' own keys,
// which KIP-1034 readers and the retry flow expect. Why a topic, and not
// the committed offsets of a consumer group of the application: the
// brokers expire the offsets of a group without members after
// offsets.retention.minutes (7 days by default), which would bring every
// deleted record back after a quiet week; a compacted topic keeps its
// last value per key for good. Its records are written in the same
// transaction as what the change writes, so a position never moves
// without the records it keeps and replays, nor they without it.
//
// # Safe to retry, safe to run twice
//
// A change (a replay or a delete) runs in Kafka transactions of the
// transactional ID "<ApplicationID>-dead-set" (Config.TransactionalID), of
// at most a thousand records each. Each transaction holds the records
// replayed and kept and the positions moved past them, so each record is
// replayed and deleted together, or neither. A change that fails or is
// interrupted leaves its committed transactions done and the rest
// undone, and run again it replays only the rest: replay is exactly once
// per dead-set record, not at least once. (The handler then runs the
// record under the application's own guarantee.) A change begins by
// initialising its transactional producer, which fences a change still
// running, with its open transaction aborted ([ErrConcurrentChange] for
// that one), so two changes never move the same positions: operators and
// instances serving the HTTP API may run them concurrently. After each
// commit a change reads back the last record it wrote: franz-go (v1.22.2)
// now and then ends with an abort, and no error, a transaction asked to
// commit whose first records went to a topic new to its client; a change
// that finds its transaction aborted runs again from the start (at most
// three times), which replays only what the aborted transaction held. Before it
// writes anything, a change reads what it selects and checks that it can
// do it all (handlers, retry and source topics that exist): a refused
// change does nothing.
//
// # HTTP API and command
//
// [DeadSet.Handler] serves the dead set over HTTP: GET /v1/dead_set, POST
// /v1/dead_set/replay and DELETE /v1/dead_set, in JSON, with keys and
// values as text when they are valid UTF-8 and base64 otherwise; every
// parameter is validated ([ParseQuery], [ParseSelection]), and a refused
// request is a 400 naming the problem. The `strata dlq list|replay|delete`
// command (cmd/strata) takes the same parameters as flags and runs the
// same code.
package deadletter
