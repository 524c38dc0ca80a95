// Package query reads state stores from outside the topology: Kafka
// Streams' interactive queries, typed. A running strata.App, a strata.View
// and the test driver (testutil.Driver) are each a [Source]; a typed,
// read-only handle on one of its stores is made once, checked against the
// store's key and value types, and is safe for concurrent use:
//
//	counts, err := query.KeyValue[string, int64](app, "counts")
//	if err != nil { ... } // ErrUnknownStore, ErrStoreType
//	n, ok, err := counts.Get(ctx, "alice")
//
// [KeyValue] reads key-value stores (Get, Range, ReverseRange, PrefixScan,
// All, ReverseAll, ApproximateNumEntries), [Window] window stores (Fetch,
// FetchRange, FetchAll) and [Session] session stores (Fetch,
// FindSessions), with the stores' own serdes. The stores of the DSL hold
// state.Timestamped values: ask for V to read values alone, as Kafka
// Streams' keyValueStore() does, or for state.Timestamped[V] to read their
// timestamps too. A wrong type parameter is an error wrapping
// ErrStoreType that names the store's types, never a panic.
//
// # Partitions and where a key lives
//
// A store has a partition per task: the partition count of its
// sub-topology's source topics. The partition of a key is the one Kafka's
// default partitioner (murmur2) picks for the key serialized by the
// store's key serde, which is where its records went, whether produced by
// Kafka's default partitioner to a source topic or repartitioned by the
// application. An instance holds the partitions of the tasks it runs.
//
// Get and Fetch read the key's partition, which must be running on this
// instance. Scans (Range, All, FetchAll, ...) read the partitions this
// instance holds ([KeyValueStore.LocalPartitions]), merged in the order of
// the keys' serialized bytes; for the whole store, ask every instance or
// use the HTTP handler, which does. KeyMetadata tells which partition holds
// a key and which instances run it, active and standby, and [Instances]
// lists the instances of the application with their partitions and their
// Config.ApplicationServer, as the group's last assignment describes them:
// every instance knows them all.
//
// # Errors
//
// A query that cannot be answered here fails with an error saying why
// (test with errors.Is; [Retriable] groups the first four):
//
//   - ErrNotLocal: another instance runs the partition, and the error
//     names it. Ask it (KeyMetadata.Active.Server).
//   - ErrRebalancing: the partition is moving between instances or its
//     state is being restored. Ask again shortly.
//   - ErrNotRunning: the App has not started or has stopped.
//   - ErrUnavailable (over HTTP): the instance holding the partition did
//     not answer.
//   - ErrUnknownStore, ErrStoreType: asking again does not help.
//
// Availability is per task: while the group rebalances, a task that stays
// on its instance, restored, keeps answering; only the tasks that move fail
// with ErrRebalancing until they are restored where they go.
//
// # Consistency
//
// A task's stores are written by the goroutine of the worker running it.
// A query takes that worker's lock for one bounded step, a Get or one page
// of a scan (PageSize entries, 256 by default), so it holds processing off
// only that long, and reads what the task has processed: the record cache's
// writes not yet flushed included, as the task's next read would. A Get is
// consistent; a scan is consistent within each page, and pages follow
// processing: an entry updated between two pages is read as it is when its
// page is read, never twice, and an entry that exists throughout the scan is
// never skipped. ctx bounds the wait for the worker (a commit can hold it
// while the brokers are slow).
//
// Under exactly-once, a read sees what the task processed in the open
// transaction too, which is not yet visible to read_committed consumers
// and which an abort rolls back: the task's state is then restored from its
// changelogs, and reads fail with ErrRebalancing meanwhile. A client that
// must see only committed state reads the output topic read_committed.
//
// With [FromStandby], a partition this instance does not run is read from
// its standby replica here (Config.StandbyReplicas) when the replica is at
// most the given number of changelog records behind the changelog's end as
// last fetched: a stated staleness bound.
//
// Global stores (ktable.Global) are held in full by every instance: one
// partition, 0, read here, as the global thread has applied its topic so
// far.
//
// # Over HTTP
//
// [NewHandler] serves the stores an application names as JSON:
//
//	GET /stores/{store}/get?key=K                  a key's value (key-value)
//	GET /stores/{store}/range?from=K&to=K           a range; also prefix=K, reverse=true; no bounds: all
//	GET /stores/{store}/windows?key=K&from=T&to=T   a key's windows, or every key's without key
//	GET /stores/{store}/sessions?key=K              a key's sessions, or every key's without key
//	GET /instances                                  the application's instances and partitions
//
// Keys take the text of their [KeyFormat] in URLs; times are RFC 3339 or
// Unix milliseconds; limit=N bounds a scan. Keys and values are decoded
// with the stores' serdes, then written with encoding/json:
// {"key":K,"value":V}; scans return {"entries":[...],"more":true} when
// cut by their limit, windows {"key","start","end","value"}. A request for
// a key whose partition another instance runs is forwarded there (to its
// ApplicationServer), once: the forwarded request carries a header that
// keeps the next instance from forwarding it again, and the whole request
// is bounded by HandlerConfig.Timeout. A scan reads each partition where it
// runs, one request per other instance, and merges the entries in key
// order. Errors are JSON too, {"error","code","retriable","parameter"}: a
// malformed parameter is a 400 naming it, an unknown store or key a 404,
// the retriable errors a 503 with Retry-After.
//
// [Client] and its typed clients ([NewKeyValueClient], [NewWindowClient],
// [NewSessionClient]) call the handler of any instance from Go. A user who
// wants an API of their own calls the typed handles directly and routes
// with KeyMetadata and Instances.
//
// # Testing
//
// The test driver is a Source too: a topology's queries are unit-tested
// with the same calls, against a driver that runs every partition.
package query
