// Command rides joins the events of a ride-hailing service, the use case
// Strata's lineage grew from: bookings are joined with their payments within
// a ten-minute window; a cancelled booking that was paid produces exactly
// one payment-reversal command, and every paid ride a receipt enriched from
// the customer table.
//
// With no flags it starts an in-process Kafka broker, produces a built-in
// sample (see sample.go), runs the app under exactly-once until every
// expected output is in, stops it and prints the receipts and reversals:
//
//	go run ./examples/rides
//
// With -brokers it does the same on a real cluster, creating its topics
// (all named "rides-...") when missing; it refuses to run when the
// receipts or reversals topic already holds records, unless -reuse is
// given (the earlier run's outputs are then read and printed too). The
// flags for TLS and SASL, and the environment variables that can stand for
// them, are those of every example (examples/internal/kafkaflags; -help
// lists them). The topology is in rides.go.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/examples/internal/kafkaflags"
)

// ApplicationID is the example's application ID.
const ApplicationID = "rides-example"

// topics are the example's topics. Payments have fewer partitions than
// bookings: the repartition by booking ID gives them the bookings' count,
// as the join needs.
var topics = []kafkaflags.Topic{
	{Name: BookingsTopic, Partitions: 4},
	{Name: PaymentsTopic, Partitions: 3},
	{Name: CustomersTopic, Partitions: 4, Compacted: true},
	{Name: ReversalsTopic, Partitions: 2, Output: true},
	{Name: ReceiptsTopic, Partitions: 2, Output: true},
}

func main() { kafkaflags.Main("rides", run) }

// run is the whole program, given its arguments and where to write.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rides", flag.ContinueOnError)
	fs.SetOutput(stderr)
	kafka := kafkaflags.Register(fs, nil)
	verbose := fs.Bool("v", false, "log at info level (default: warnings only)")
	stateDir := fs.String("state-dir", "", "`directory` for the app's state (default: a temporary directory)")
	reuse := fs.Bool("reuse", false, "run even if the receipts or reversals topic holds records of an earlier run")
	timeout := fs.Duration("timeout", 30*time.Second, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	conn, err := kafka.Open(ctx, *reuse, topics...)
	if err != nil {
		return err
	}
	defer conn.Close()
	remove, err := kafkaflags.TempDir(stateDir, "rides")
	if err != nil {
		return err
	}
	defer remove()
	cl, err := conn.Client()
	if err != nil {
		return err
	}
	defer cl.Close()
	if err := cl.ProduceSync(ctx, Records(Sample())...).FirstErr(); err != nil {
		return fmt.Errorf("produce the sample: %w", err)
	}

	top, err := Topology()
	if err != nil {
		return err
	}
	app, err := strata.New(top, strata.Config{
		ApplicationID: ApplicationID,
		Brokers:       conn.Seeds,
		ClientOptions: conn.Options,
		Logger:        logger,
		StateDir:      *stateDir,
		Guarantee:     strata.ExactlyOnce,
	})
	if err != nil {
		return err
	}
	err = kafkaflags.RunUntil(ctx, app, func(ctx context.Context) error {
		if err := conn.WaitRecords(ctx, ReceiptsTopic, len(ExpectedReceipts()), kgo.ReadCommitted()); err != nil {
			return err
		}
		return conn.WaitRecords(ctx, ReversalsTopic, len(ExpectedReversals()), kgo.ReadCommitted())
	})
	if err != nil {
		return err
	}
	logger.Info("done", "metrics", app.Metrics())
	receipts, reversals, err := ReadOutputs(ctx, conn)
	if err != nil {
		return err
	}
	printOutputs(stdout, receipts, reversals)
	return nil
}

// ReadOutputs reads the receipts and reversals topics, read_committed, up
// to their last stable offsets: every output committed so far, sorted by
// booking ID.
func ReadOutputs(ctx context.Context, conn *kafkaflags.Conn) ([]Receipt, []Reversal, error) {
	receipts, err := kafkaflags.ReadJSON[Receipt](ctx, conn, ReceiptsTopic)
	if err != nil {
		return nil, nil, err
	}
	reversals, err := kafkaflags.ReadJSON[Reversal](ctx, conn, ReversalsTopic)
	if err != nil {
		return nil, nil, err
	}
	sortOutputs(receipts, reversals)
	return receipts, reversals, nil
}

// sortOutputs orders receipts and reversals by booking ID (then payment):
// outputs of different partitions arrive in no particular order.
func sortOutputs(receipts []Receipt, reversals []Reversal) {
	sort.Slice(receipts, func(i, j int) bool { return receipts[i].BookingID < receipts[j].BookingID })
	sort.Slice(reversals, func(i, j int) bool {
		if reversals[i].BookingID != reversals[j].BookingID {
			return reversals[i].BookingID < reversals[j].BookingID
		}
		return reversals[i].PaymentID < reversals[j].PaymentID
	})
}

func printOutputs(w io.Writer, receipts []Receipt, reversals []Reversal) {
	fmt.Fprintln(w, "receipts:")
	for _, r := range receipts {
		who := "(unknown customer)"
		if r.Name != "" {
			who = fmt.Sprintf("%s <%s>", r.Name, r.Email)
		}
		fmt.Fprintf(w, "  %s %6.2f %s\n", r.BookingID, float64(r.Amount)/100, who)
	}
	fmt.Fprintln(w, "payment reversals:")
	for _, r := range reversals {
		fmt.Fprintf(w, "  %s %6.2f back to %s (payment %s)\n", r.BookingID, float64(r.Amount)/100, r.CustomerID, r.PaymentID)
	}
}
