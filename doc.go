// Package strata runs stream-processing topologies on Kafka.
//
// A topology is built with the DSL in packages kstream (and, as they land,
// ktable, window and join) or with the processor API in package topology,
// tested in memory with package testutil, and deployed with an [App]:
//
//	app, err := strata.New(top, strata.Config{
//		ApplicationID: "orders-router",
//		Brokers:       []string{"localhost:9092"},
//	})
//	if err != nil { ... }
//	err = app.Run(ctx) // until ctx is cancelled
//
// An App is a member of a Kafka consumer group named by the application ID.
// It turns each assigned partition of each sub-topology into a task, the same
// task code the test driver runs, and scales by starting more instances.
//
// # Processing guarantee
//
// By default the runtime processes at least once: output records are
// acknowledged by the brokers before the input offsets that caused them are
// committed, so a crash may repeat output but never loses it.
//
// With Config.Guarantee set to ExactlyOnce, each poll's records are
// processed in one Kafka transaction that holds their output records, their
// state stores' changelog writes and their input offsets (committed with the
// consumer group's metadata, so a zombie of an old generation is fenced).
// Consumers reading read_committed see each input's effect exactly once. The
// transaction commits before the app lets a rebalance proceed, so no
// rebalance lands inside one; if a transaction aborts anyway, the tasks'
// local state is wiped and restored from the changelogs, and the records are
// processed again. An instance that stops uncleanly leaves no checkpoint, so
// its tasks' state is restored from the changelogs when they start again.
//
// # Assignment
//
// Strata's own group balancer assigns tasks, not partitions: partition p of
// every co-partitioned topic of a sub-topology goes to the same member. It is
// sticky, so tasks stay where their state is, spreads tasks (and each
// sub-topology's tasks) evenly, and rebalances cooperatively: a task moving
// between members is revoked from one before it is assigned to the other,
// while the rest keep running. Standby replicas and warm-up (Kafka Streams'
// KIP-441) are not implemented yet; members already exchange a versioned
// userdata field for the task lags they will need.
//
// # Global tables
//
// A global table (ktable.Global, or any store added with
// topology.AddGlobalStore) is held in full by every instance. Before it
// creates its group client, an App restores its global stores with a client
// of its own that belongs to no group and reads every partition of every
// global topic, read_committed, up to their last stable offsets, starting
// where the checkpoint in "<StateDir>/<ApplicationID>/global" says it
// stopped. It then keeps reading them in a goroutine of its own, applying
// updates while the tasks run and read the stores; those updates are
// checkpointed every CommitInterval and on a clean stop. An error there, such
// as an update that cannot be decoded under BadRecordFail, stops Run with
// that error. Restored records count in Metrics.RestoredRecords.
package strata
