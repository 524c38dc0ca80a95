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
// The runtime processes at least once: output records are acknowledged by
// the brokers before the input offsets that caused them are committed, so a
// crash may repeat output but never loses it. Exactly-once processing is
// planned (see the project's issues).
//
// # Assignment
//
// Partitions are assigned with the range balancer, which gives partition p of
// every co-partitioned topic to the same member, so a task's inputs stay
// together. Rebalances are eager: every task closes and reopens. Kafka
// Streams uses its own sticky, cooperative assignor; Strata will too, with
// its exactly-once runtime.
package strata
