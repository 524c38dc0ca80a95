// Package retry holds the retry policies of Strata's outcome handlers
// (kstream.Handle) and the format of their retry topics.
//
// A handler's function says what became of each record: success, retry
// (with the error), dead-letter (with a reason) or skip. A [Policy] says how
// a retry happens:
//
//	kstream.Handle(cancelled, "reverse", reverse, kstream.WithRetry(retry.Policy{
//		Backoff:     retry.Exponential(100*time.Millisecond, 2), // 100ms, 200ms, 400ms, ...
//		MaxAttempts: 6,                                          // the first call and 5 retries
//		MaxDelay:    time.Minute,
//		Jitter:      0.2,
//	}))
//
// # Retry topics
//
// By default a retry does not block the record's partition: the record goes
// to the handler's retry topic, "<ApplicationID>-<handler>-retry" ([Topic]),
// which the application creates, as it creates repartition topics, with the
// partition count of the handler's input, and reads itself. The record keeps
// its key, value, timestamp and headers, and gets these headers
// ([NewRecord], [Parse]):
//
//	strata.retry.attempt         the attempt this delivery is: 1 for the first retry
//	                             (0 for a replay from the dead set: a fresh start)
//	strata.retry.due             Unix milliseconds before which it is not handled again
//	strata.retry.error           the text of the last attempt's error
//	__streams.errors.topic       the original record's topic,
//	__streams.errors.partition   partition
//	__streams.errors.offset      and offset, kept unchanged across attempts
//
// A retry goes to the retry topic's partition of the task's number, the
// original record's partition, so the records of a key are retried in the
// order they failed, by the task that read them. The task holds each retry
// record until it is due without polling for it: its partition is paused
// and the task woken when the record falls due, while the handler's input
// goes on. A retry record waits behind those before it in its partition:
// with a backoff that grows, a record failing for the first time may wait
// for one on its fifth retry (MaxDelay bounds that wait). Under exactly-once
// the retry record commits in the transaction that commits the input offset
// it replaces, so a record is never both retried and lost, nor retried
// twice; under at-least-once a crash may retry a record twice.
//
// After the policy's last attempt the record goes to the dead set: the
// application's dead-letter topic (package deadletter), with the reason
// [ReasonExhausted], the handler's name ([HeaderHandler]), the number of
// attempts ([HeaderAttempts]), the last error, and the original record's
// key, value, timestamp, headers and coordinates. A record the function
// dead-letters goes there at once, with the function's reason. A replay
// from the dead set writes the record to its handler's retry topic with
// attempt 0 and a due time of now: only this application sees it again,
// and it gets the policy's full budget.
//
// What the retry topic and the dead set hold is the handler's input: the
// record as its source read it, bytes unchanged, when the handler reads a
// source directly; otherwise the key and value encoded with the stream's
// serdes.
//
// # Blocking retries
//
// With Policy.Blocking a retry happens in place (topology.Context.Redeliver):
// the record's partition waits behind it, keeping strict per-partition
// order, and nothing is written to the retry topic. The wait is capped by
// the consumer group's rebalance timeout and never holds up a rebalance: a
// task that moves starts the record afresh on its new owner, with the
// policy's full budget.
//
// # Testing
//
// Policy.Now and Policy.Rand make due times and jitter predictable; the
// test driver (package testutil) holds retry records until its wall clock
// passes their due time (Driver.AdvanceWallClockTime).
package retry
