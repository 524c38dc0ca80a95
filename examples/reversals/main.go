// Command reversals is the payments worker of "A tale of two Lambdas" on
// Strata's outcome handlers: for each cancelled booking it calls a wallet
// service to reverse the booking's reservation, crediting the amount back.
//
// The wallet (an in-process httptest server here) fails a share of calls,
// as a service under load does. The worker's handler (kstream's
// Stream.Handle) retries a failed call with exponential backoff through
// the application's retry topic, without holding up the bookings behind
// it; a booking whose every attempt failed goes to the dead set, the
// application's dead-letter topic. The program then "fixes" the wallet,
// replays the dead set through the handler's retry flow over the dead
// set's HTTP API (App.DeadSet's Handler, served by another httptest
// server), and prints the final balances: every cancelled booking reversed
// exactly once (the wallet is idempotent by booking ID, so a call made
// twice credits once).
//
// The handler calls the wallet for many bookings at once (kstream's
// WithConcurrency, -concurrency calls per partition) in key order: the
// booking ID is the key, so one booking's calls never overlap and keep
// their order. Each wallet call takes -latency, as a remote call would;
// the program prints the handler's throughput over the first pass (calls
// per second from the first call until every cancelled booking is reversed
// or dead), which -concurrency 1 shows without concurrency:
//
//	go run ./examples/reversals
//	go run ./examples/reversals -fail 0.8 -exactly-once
//	go run ./examples/reversals -concurrency 1
//
// It runs on an in-process Kafka broker (package embedded) unless given
// -brokers; its topic is "reversals-bookings" (its retry topic and dead
// set are named after its application ID, "reversals-example"). It refuses
// to run when the dead set holds records of an earlier run, unless -reuse
// is given. The flags for TLS and SASL, and the environment variables that
// can stand for them, are those of every example
// (examples/internal/kafkaflags; -help lists them). The wallet is
// in-process in every case. The worker's topology is in reversals.go, the
// wallet in wallet.go.
package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/deadletter"
	"github.com/strata-go/strata/examples/internal/kafkaflags"
	"github.com/strata-go/strata/retry"
)

// Partitions is the partition count of the bookings topic.
const Partitions = 3

func main() { kafkaflags.Main("reversals", run) }

// run is the whole program, given its arguments and where to write.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("reversals", flag.ContinueOnError)
	fs.SetOutput(stderr)
	kafka := kafkaflags.Register(fs, nil)
	n := fs.Int("n", 90, "number of sample bookings (every third is cancelled)")
	failShare := fs.Float64("fail", 0.6, "`share` of wallet calls that fail, from 0 to 1, until the wallet is fixed")
	latency := fs.Duration("latency", 10*time.Millisecond, "how long each wallet call takes")
	concurrency := fs.Int("concurrency", 16, "wallet calls at once per partition, in key order (1: one at a time)")
	exactlyOnce := fs.Bool("exactly-once", false, "run the worker exactly-once (default at-least-once)")
	reuse := fs.Bool("reuse", false, "run even if the dead set holds records of an earlier run")
	verbose := fs.Bool("v", false, "log at info level (default: warnings only)")
	stateDir := fs.String("state-dir", "", "`directory` for the app's state (default: strata's default, under the temporary directory)")
	timeout := fs.Duration("timeout", time.Minute, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	case *n < 1:
		return fmt.Errorf("-n must be positive, got %d", *n)
	case *failShare < 0 || *failShare > 1:
		return fmt.Errorf("-fail must be from 0 to 1, got %v", *failShare)
	case *concurrency < 1:
		return fmt.Errorf("-concurrency must be positive, got %d", *concurrency)
	case *latency < 0:
		return fmt.Errorf("-latency must not be negative, got %v", *latency)
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	// The wallet, holding the bookings' reservations, failing calls.
	bookings := Sample(*n)
	wallet := newWallet(bookings)
	wallet.SetFailShare(*failShare)
	wallet.SetLatency(*latency)
	srv := httptest.NewServer(wallet)
	defer srv.Close()

	// The brokers, and the bookings on them.
	conn, err := kafka.Open(ctx, *reuse, topics...)
	if err != nil {
		return err
	}
	defer conn.Close()
	// The dead set is read from its end as it is now, so that an earlier
	// run's records (with -reuse) do not count.
	deadFrom, err := conn.EndOffsets(ctx, deadSetTopic)
	if err != nil {
		return err
	}
	recs, err := records(bookings)
	if err != nil {
		return err
	}
	cl, err := conn.Client()
	if err != nil {
		return err
	}
	defer cl.Close()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return fmt.Errorf("produce bookings: %w", err)
	}

	// The worker.
	top, err := Topology(&Reverser{URL: srv.URL, Client: srv.Client()}, Policy(), *concurrency)
	if err != nil {
		return err
	}
	guarantee := strata.AtLeastOnce
	if *exactlyOnce {
		guarantee = strata.ExactlyOnce
	}
	app, err := strata.New(top, strata.Config{
		ApplicationID: ApplicationID,
		Brokers:       conn.Seeds,
		Guarantee:     guarantee,
		Logger:        logger,
		StateDir:      *stateDir,
		// The embedded broker answers a fetch of partitions that were
		// empty when it arrived only at the fetch's max wait (5s by
		// default): the retry topic is often empty.
		ClientOptions: append(slices.Clip(conn.Options), kgo.FetchMaxWait(100*time.Millisecond)),
	})
	if err != nil {
		return err
	}
	// The dead set's HTTP API, as the worker would serve it to operators.
	ds, err := app.DeadSet()
	if err != nil {
		return err
	}
	ops := httptest.NewServer(ds.Handler())
	defer ops.Close()
	api := deadSetAPI{url: ops.URL, client: ops.Client()}

	err = kafkaflags.RunUntil(ctx, app, func(ctx context.Context) error {
		return reverseAll(ctx, stdout, conn, deadFrom, api, wallet, bookings, *failShare)
	})
	if err != nil {
		return err
	}
	_, repeats := wallet.Reversed()
	logger.Info("done", "wallet calls", wallet.Calls(), "repeated reversals", repeats, "metrics", app.Metrics())
	return report(stdout, wallet, bookings)
}

// deadSetTopic is the worker's dead set.
var deadSetTopic = deadletter.DefaultTopic(ApplicationID)

// topics are the example's topics: the bookings, and the dead set, created
// with as many partitions as strata would give it.
var topics = []kafkaflags.Topic{
	{Name: BookingsTopic, Partitions: Partitions},
	{Name: deadSetTopic, Partitions: Partitions, Output: true},
}

// throughputLine begins the line of the handler's throughput over the first
// pass, which varies from run to run.
const throughputLine = "handler throughput, first pass:"

// reverseAll waits until every cancelled booking is reversed or in the dead
// set, fixes the wallet, replays the dead set and waits until every
// cancelled booking is reversed, telling stdout as it goes.
func reverseAll(ctx context.Context, stdout io.Writer, conn *kafkaflags.Conn, deadFrom map[string]map[int32]kgo.Offset, api deadSetAPI, wallet *Wallet, bookings []Booking, failShare float64) error {
	want := cancelled(bookings)
	fmt.Fprintf(stdout, "%d bookings, %d cancelled; the wallet fails %.0f%% of calls; up to %d calls per booking\n",
		len(bookings), want, failShare*100, Policy().MaxAttempts)
	dl, err := conn.Client(
		kgo.ConsumePartitions(deadFrom),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.FetchMaxWait(100*time.Millisecond),
	)
	if err != nil {
		return err
	}
	defer dl.Close()

	dead, err := settle(ctx, dl, wallet, want, nil)
	if err != nil {
		return err
	}
	settled := time.Now()
	reversed, _ := wallet.Reversed()
	calls, took := wallet.Calls(), settled.Sub(wallet.FirstCall())
	fmt.Fprintf(stdout, "%s %d wallet calls in %v: %.0f records/s\n", throughputLine, calls, took.Round(time.Millisecond), float64(calls)/took.Seconds())
	fmt.Fprintf(stdout, "first pass: %d reversed, %d in the dead set:\n", reversed, len(dead))
	printDead(stdout, dead)

	wallet.SetFailShare(0)
	n, err := api.replay(ctx, HandlerName)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wallet fixed; POST /v1/dead_set/replay replayed %d through %s\n", n, retry.Topic(ApplicationID, HandlerName))
	more, err := settle(ctx, dl, wallet, want, nil)
	if err != nil {
		return err
	}
	if len(more) > 0 {
		return fmt.Errorf("%d more records in the dead set after the wallet was fixed", len(more))
	}
	left, err := api.size(ctx, HandlerName)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "dead set after the replay: %d records\n", left)
	return nil
}

// settle polls the dead set (dl reads it on from where it is) until every
// one of want cancelled bookings is either reversed or dead, and returns
// dead with the dead set's records it read.
func settle(ctx context.Context, dl *kgo.Client, wallet *Wallet, want int, dead []*kgo.Record) ([]*kgo.Record, error) {
	for {
		reversed, _ := wallet.Reversed()
		if reversed == want || reversed+len(dead) == want {
			return dead, nil
		}
		pollCtx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		fetches := dl.PollFetches(pollCtx)
		cancel()
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("%d of %d cancelled bookings reversed, %d in the dead set: %w", reversed, want, len(dead), err)
		}
		fetches.EachRecord(func(r *kgo.Record) { dead = append(dead, r) })
	}
}

// printDead lists dead-set records, by booking ID.
func printDead(w io.Writer, dead []*kgo.Record) {
	var ds []deadletter.Record
	for _, r := range dead {
		if d, err := deadletter.Parse(r); err == nil {
			ds = append(ds, d)
		}
	}
	slices.SortFunc(ds, func(a, b deadletter.Record) int { return cmp.Compare(string(a.Key), string(b.Key)) })
	for _, d := range ds {
		fmt.Fprintf(w, "  %s  %s  %s\n", d.Key, d.Reason, d.Message)
	}
}

// report prints the final balances and checks them: every cancelled
// booking reversed exactly once.
func report(w io.Writer, wallet *Wallet, bookings []Booking) error {
	got, want := wallet.Balances(), expected(bookings)
	reversed, _ := wallet.Reversed()
	fmt.Fprintf(w, "final balances:\n")
	for _, u := range Users {
		fmt.Fprintf(w, "  %-5s %8.2f\n", u, float64(got[u])/100)
	}
	for _, u := range Users {
		if got[u] != want[u] {
			return fmt.Errorf("%s's balance is %d, want %d", u, got[u], want[u])
		}
	}
	if n := cancelled(bookings); reversed != n {
		return fmt.Errorf("%d of %d cancelled bookings reversed", reversed, n)
	}
	fmt.Fprintf(w, "every cancelled booking reversed exactly once: %d of %d\n", reversed, cancelled(bookings))
	return nil
}
