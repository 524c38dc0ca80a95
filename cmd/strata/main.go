// Command strata operates Strata applications from the command line.
//
//	strata <command> [<subcommand>] [flags]
//	strata --help                   every command and its flags
//	strata <command> --help         one command
//
// Commands:
//
//	strata dlq list      a page of an application's dead set
//	strata dlq replay    replay dead-set records through their handlers' retry topics
//	strata dlq delete    delete dead-set records
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
