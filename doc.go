// Package strata runs stream-processing topologies on Kafka.
//
// A topology is built with the DSL in packages kstream (streams), ktable
// (tables, grouping, aggregations, windowed aggregations, suppression),
// window (window specs and windowed keys) and join (stream and table
// joins), or with the processor API in package topology, with the serdes
// of its types registered once on the builder (topology.RegisterSerde),
// tested in memory with package testutil, and deployed with an [App]:
//
//	app, err := strata.New(top, strata.Config{
//		ApplicationID: "orders-router",
//		Brokers:       []string{"localhost:9092"},
//	})
//	if err != nil { ... }
//	err = app.Run(ctx) // until ctx is cancelled
//
// An App is a member of a Kafka consumer group named by the application ID,
// or Config.Workers members, each with its own client and goroutine (Kafka
// Streams' stream threads). It turns each assigned partition of each
// sub-topology into a task, the same task code the test driver runs, and
// scales by starting more workers or more instances.
//
// # Processing guarantee
//
// By default the runtime processes at least once: output records are
// acknowledged by the brokers before the input offsets that caused them are
// committed, so a crash may repeat output but never loses it.
//
// With Config.Guarantee set to ExactlyOnce, each worker processes its records
// in Kafka transactions, one per Config.CommitInterval (100ms by default),
// each holding the output records, the state stores' changelog writes and
// the input offsets (committed with the consumer group's metadata, so a
// zombie of an old generation is fenced). Consumers reading read_committed
// see each input's effect exactly once. A rebalance waits until the open
// transaction has committed, which the worker then does at once, so none
// lands inside one; if a transaction
// aborts anyway, the tasks' local state is wiped and restored from the
// changelogs, and the records are processed again. A worker whose
// transactional producer is fenced drops its uncommitted state, initialises
// its producer again and rejoins the group (ErrFenced if that keeps
// happening). An instance that stops uncleanly leaves no checkpoint, so its
// tasks' state is restored from the changelogs when they start again.
//
// # Assignment
//
// Strata's own group balancer assigns tasks, not partitions: partition p of
// every co-partitioned topic of a sub-topology goes to the same member. It is
// sticky, so tasks stay where their state is, spreads tasks (and each
// sub-topology's tasks) evenly, and rebalances cooperatively: a task moving
// between members is revoked from one before it is assigned to the other,
// while the rest keep running. Members report their instance and how far
// behind their local state of each task is (from checkpoints on disk and
// standby replicas); a task without an owner goes preferably to the instance
// whose state of it is the least behind.
//
// # Group membership
//
// With Config.InstanceID set, each worker is a static member of the
// consumer group (Kafka's group.instance.id): a restart within the group's
// session timeout takes the stopped member's place, and its tasks, at once,
// and after a clean stop restores nothing. A static member does not leave
// the group when it stops, so the tasks of an instance that stops for good
// move to the others only when its session times out, unless
// Config.LeaveGroupOnStop is set (to scale in); a worker that stops while
// the group rebalances leaves it anyway, so as not to hold the rebalance
// up. Without InstanceID, workers are dynamic members, which leave the group
// as they stop.
//
// # Partition counts
//
// Tasks, their state and co-partitioning are laid out by the partition
// counts of the topics an App reads, as they are when it starts. A running
// App looks them up every 30 seconds, and when one changed (partitions
// were added to a source topic), Run stops its workers cleanly and returns
// an error wrapping ErrPartitionsChanged that names the topic and both
// counts. Strata does not move state between partitions: to use the new
// count, reset the application or deploy it under a new ApplicationID.
//
// # Restoration
//
// A task's stores are restored from their changelogs, from the offsets its
// checkpoint records (or the beginning) to their ends, before the task
// processes anything. A worker restores in its poll loop, a fetch at a
// time between its other tasks' work, with the restoring task's input
// partitions paused, so a long restoration holds back neither the other
// tasks nor the group's rebalances. Restoration is reported to
// Config.RestoreListener, logged, and measured as OpenTelemetry metrics on
// Config.MeterProvider.
//
// Local state is a cache of the changelogs, and state that cannot be
// trusted is never used: it is wiped and restored from the beginning of the
// changelogs. That is state whose checkpoint cannot be read; whose Pebble
// database fails to open, or reports corruption (a file missing, truncated
// or garbled, a checksum mismatch); and whose database does not match its
// checkpoint: a checkpoint is written into the database too, in the same
// atomic write as the last of the data it covers, and at the next open the
// two must agree, so a database that lost its files, or an empty one in
// their place, is caught. A store read that finds corruption while a task
// runs rebuilds the task's state the same way, and the records since the
// last commit are processed again: under exactly-once the open transaction
// aborts; under at-least-once the task's input is rewound to its committed
// offsets, so some records may count twice, none is lost. Each rebuild is
// logged at WARN and counted in Metrics.StateRebuilds. A task with a
// persistent store that has no changelog cannot be rebuilt: it fails with
// an error naming the store. Standby replicas and global stores get the
// same checks when they open.
//
// # Standby replicas
//
// With Config.StandbyReplicas set, each task with a persistent, logged store
// has that many standby replicas on other instances (never on the instance
// running it): copies of its state kept warm by tailing its changelogs,
// read_committed. When the task moves, for instance because its instance
// failed, it goes preferably to the instance of its most caught-up replica,
// which then restores only the changelog's tail.
//
// # Global tables
//
// A global table (ktable.Global, or any store added with
// topology.AddGlobalStore) is held in full by every instance, shared by its
// workers. Before it creates its group client, an App restores its global
// stores with a client of its own that belongs to no group and reads every partition of every
// global topic, read_committed, up to their last stable offsets, starting
// where the checkpoint in "<StateDir>/<ApplicationID>/global" says it
// stopped. It then keeps reading them in a goroutine of its own, applying
// updates while the tasks run and read the stores; those updates are
// checkpointed every CommitInterval and on a clean stop. An error there, such
// as an update that cannot be decoded under BadRecordFail, stops Run with
// that error. Restored records count in Metrics.RestoredRecords.
//
// # Bad records
//
// An input record whose key or value cannot be deserialized, or whose
// timestamp is invalid, is handled by Config.OnBadRecord: by default Run
// stops with a *topology.BadRecordError naming it; topology.BadRecordSkip
// logs, counts (Metrics.SkippedRecords) and skips it;
// topology.BadRecordDeadLetter also writes it, as read, to
// Config.DeadLetterTopic with headers saying where it came from and why
// (package deadletter). Under exactly-once the dead-letter record commits
// with the input offset. The topic's records are the application's dead
// set: App.DeadSet lists them a page at a time, replays them (an outcome
// handler's through its retry topic) and deletes them, from Go or mounted
// as an HTTP API, and the strata command (cmd/strata) does the same from a
// shell.
// Config.OnProcessingError applies the same policies to a record a
// processor fails (a topology.ProcessingError), counted in
// Metrics.FailedRecords.
//
// An output record that cannot be produced because of the record itself (too
// large, invalid) is handled by Config.OnProductionError: by default Run
// stops with an error wrapping ErrProduction that names the output and the
// input record, and no offset is ever committed past a record whose output
// was not written; skip and dead-letter let the app go on without it (under
// exactly-once the transaction aborts and the input record is handled, with
// none of its effects, when it is processed again).
//
// A panic in user code does not crash the process. While a record is
// processed, a panic in a processor, a DSL callback (a mapper, predicate,
// aggregator, joiner), a sink's serde or partitioner is recovered, logged at
// ERROR with its stack, and becomes that record's processing error, a
// *topology.PanicError naming the node that panicked and the record:
// Config.OnProcessingError applies to it, so under topology.BadRecordFail
// Run stops with it (under exactly-once, the record's transaction aborts)
// and under skip or dead-letter the app goes on. A panic where there is no
// record (in a punctuator, downstream of a cache flush at commit, in a
// processor's Init or Close) stops Run with the PanicError. A panic in a source's deserializer or timestamp
// extractor is a deserialization failure, for Config.OnBadRecord, as an
// error of theirs is.
//
// # Outcome handlers and retries
//
// A topology's outcome handlers (kstream's Stream.Handle) call a function
// for each record, for a side effect, and act on the outcome it returns:
// success, skip, retry, or dead-letter. The App creates, for each handler,
// the internal topic "<ApplicationID>-<handler>-retry" (with the partition
// count of the handler's input) and Config.DeadLetterTopic. A retry is
// written to the retry topic, read back by the same task, and held until
// due without polling (the partition is paused and the task woken), while
// the handler's input goes on; after the policy's last attempt the record
// goes to the dead set, the dead-letter topic, with the handler's name and
// the attempts made. Under exactly-once the retry or dead-set record
// commits with the offset of the record it replaces. A blocking policy
// retries in place instead, keeping the partition's order, each wait capped
// by the group's rebalance timeout and never holding a rebalance. Package
// retry documents the policies and the retry topic's format; the handlers'
// metrics are listed on Config.MeterProvider.
//
// An error that stops a worker and that no record policy handled goes to
// Config.OnUncaughtError, Kafka Streams' uncaught exception handler: stop the
// instance (the default), replace the worker, or stop every instance of the
// application (see UncaughtErrorAction).
//
// # Faults of the brokers
//
// Every wait of a worker on the brokers is bounded and ends when Run's
// context does: polls by Config.PollTimeout, commits by the transaction
// timeout under exactly-once (10s unless Config.ClientOptions set
// kgo.TransactionTimeout) and the session timeout under at-least-once,
// closing a client by 5s. A broker outage or a stalled group shorter than
// these is ridden out: fetch errors are logged at WARN (at most every 10s per
// kind) and the records fetched are processed as usual; a commit that cannot
// complete is retried at the next one (at-least-once). Under exactly-once, a
// transaction whose end the brokers did not confirm in time is aborted; if
// even the abort fails, the worker resets: it drops its uncommitted state,
// closes its client and joins the group with a new one, whose producer
// initialisation aborts the old transaction, retrying with backoff and a
// WARN line per attempt until the brokers answer (Metrics.Resets). Once
// Run's context is cancelled, each worker commits what it processed, waiting
// at most Config.ShutdownTimeout (default 30s), and Run returns within that
// and a few seconds, whatever the brokers do. The fault suite (package
// faults) tests each of these on the embedded broker.
//
// # Memory
//
// Config.StateMemoryBytes (64 MiB by default) bounds the memory of an
// instance's state, all its workers together: the record cache, which
// collects the stores' updates between commits, takes Config.CacheMaxBytes
// of it (10 MiB by default, at most half), and Pebble the rest, as one block
// cache shared by every persistent store, in which Pebble also counts its
// memtables. Memtables take at most half of Pebble's share, split between
// the databases open (one per stateful task or standby replica, one for
// the global stores), planned for at least 8 of them, and at least 256 KiB
// each (Pebble's smallest): a Pebble share below 1 MiB per database open
// is exceeded by their memtables. Otherwise the state's memory stays
// within the budget however many keys the stores hold; more keys mean
// more reads from disk, where Pebble's bloom filters spare the reads of
// keys a table does not hold. What is not part of it: each task's
// write buffer (at most a quarter of its memtable), the Kafka clients'
// buffers of records fetched and produced, and the Go runtime's heap
// overhead.
//
// Records fetched and not yet processed are bounded by
// Config.FetchMaxBytes (2 MiB by default) and FetchMaxPartitionBytes
// (1 MiB): each consuming client keeps at most one fetch per broker
// buffered, and a fetched record takes several times its compressed size
// once decoded. Kafka's consumer defaults, 50 MiB and 1 MiB, let a fetch
// of small, well-compressed records take over a hundred MiB of heap.
//
// # The App's state
//
// App.State is Kafka Streams' KafkaStreams.State: Created until Run,
// Rebalancing while the App starts, while any worker's rebalance runs and
// until every worker has restored the state of every task it was
// assigned, Running once all of them process, PendingShutdown then
// NotRunning after Run's context is cancelled, PendingError then Error
// when Run fails (see State for the transitions). Config.StateListener is
// told every change, from the runtime's goroutines: an orchestrator can
// route traffic to an instance only while it is Running.
//
// # Interactive queries
//
// A running App's stores can be read from outside the topology, typed and
// read-only, with package query: query.KeyValue[K, V](app, "counts")
// returns a handle whose Get, Range and All read the partitions this
// instance runs, and Window and Session do the same for window and session
// stores. A query takes the lock of the worker running the task for one
// Get or one page of a scan, so it sees what the task has processed, its
// record cache's writes included, and holds processing off only that long.
// A partition another instance runs is an error wrapping query.ErrNotLocal
// that names it; one that is moving or restoring, query.ErrRebalancing.
//
// Config.ApplicationServer is the host:port an instance serves queries on.
// It travels in the group's member metadata, and the group's leader sends
// every member the map of instances, their servers and their tasks, so that
// any instance knows where any key lives (query.Instances and the handles'
// KeyMetadata). query.NewHandler serves named stores over HTTP, forwarding a
// request for a key to the instance that holds it, and query.Client reads
// them from Go. The package doc of query says what consistency a reader
// gets, under each guarantee.
//
// # Views
//
// A View is a local, queryable, read-only copy of a table, kept up to date,
// for a process that is not part of the application writing it (goka's
// View): it reads every partition of a table's topic, or of a DSL store's
// changelog, outside any group, as the App reads its global tables, and is
// queried with package query as an App is.
//
// # Observability
//
// App.Metrics returns the App's counters: records processed, skipped and
// dropped, commits, standby and restored records, fencings, state rebuilds.
// Config.MeterProvider receives OpenTelemetry metrics named strata.*, with
// Kafka Streams' metric set as the checklist: records processed, dropped by
// reason and processor, and failed, per task; process, punctuate, store and
// end-to-end latencies (sampled, one record in 64, so that metrics cost no
// allocation per record); polls, commits, transactions and rebalances per
// worker; consumer lag per input partition; tasks by state; restoration's
// progress; the record cache's hits, misses, evictions and size.
// docs/operations.md lists them and those worth alerting on.
//
// Config.TracerProvider traces record processing: a record whose headers
// carry a W3C trace context (traceparent) is processed in a span continuing
// its trace, for a share Config.TraceSampleRatio of the records, and the
// records written meanwhile carry the span's context on in their headers,
// through repartition topics to the output (OpenTelemetry's propagation
// API, Config.Propagator). Without a TracerProvider nothing is spent on
// tracing.
//
// App.AdminHandler is an HTTP endpoint for orchestrators and operators,
// served by Run on Config.AdminAddr: /healthz, /readyz (a Kubernetes
// readiness probe: 200 once every worker is assigned and nothing
// restores), /metrics (Prometheus' format), /topology (text, DOT or
// Mermaid), /tasks (this instance's tasks, partitions, lags, restoration
// and standbys), and Config.AdminRoutes. The strata command (cmd/strata)
// describes an application from that endpoint, and reports its lag, lists
// its internal topics and resets it (Kafka's application reset tool) from
// the cluster alone; CleanUp wipes its local state.
//
// Config.Logger receives the runtime's structured log: assignments,
// restorations, state rebuilds, commits that fail, records skipped or
// dropped (at most once per processor and reason per 10 seconds, with a
// count), and why a worker stopped.
package strata
