// Command strata operates Strata applications from the command line.
//
//	strata <command> [<subcommand>] [flags]
//	strata --help                   every command and its flags
//	strata <command> --help         one command
//
// Commands:
//
//	strata describe      an application's topology, from an instance's admin endpoint
//	strata lag           how far an application is behind its input, per task and partition
//	strata reset         reset an application to reprocess its input (Kafka's reset tool)
//	strata topics        an application's internal topics and their sizes
//	strata dlq list      a page of an application's dead set
//	strata dlq replay    replay dead-set records through their handlers' retry topics
//	strata dlq delete    delete dead-set records
//
// describe prints the topology an instance's admin endpoint serves
// (strata.App.AdminHandler) as Kafka Streams' describe text, DOT or
// Mermaid. lag reads the application's consumer group alone, its committed
// offsets against the input topics' last stable offsets, so no instance
// needs to run. reset is Kafka's application reset tool: with every
// instance stopped (it refuses while the group has members), it moves the
// input topics' committed offsets back to the earliest, a date-time or a
// duration ago, deletes the application's internal topics (the dead-letter
// and retry topics only if asked) and wipes a local state directory, so
// that the next run rebuilds everything from the input; -dry-run prints the
// plan and changes nothing. topics lists the internal topics with their
// partitions, offsets and bytes. docs/operations.md shows them at work.
//
// The dlq commands do what the dead set's HTTP API does, with the same
// code and parameters (package deadletter): `strata dlq list -app shop
// -handler charge` is GET /v1/dead_set?handler=charge of application
// shop. Every command connects with -brokers (default $STRATA_BROKERS, or
// localhost:9092), and TLS and SASL as its flags say.
//
// Exit status: 0 on success, 1 when the command failed, 2 for a usage
// error or a request the dead set refused (an invalid parameter, an
// unknown topic, a bad cursor).
//
// Each command is a file of this directory that registers itself (see
// command.go).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
