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
// With -brokers it does the same on a real cluster, creating the topics if
// they are missing (run it against a fresh cluster: the outputs of earlier
// runs would be read too). The topology is in rides.go.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/embedded"
)

// ApplicationID is the example's application ID.
const ApplicationID = "rides-example"

// Partition counts of the topics the example creates. Payments have fewer
// partitions than bookings: the repartition by booking ID gives them the
// bookings' count, as the join needs.
var partitions = map[string]int32{
	BookingsTopic:  4,
	PaymentsTopic:  3,
	CustomersTopic: 4,
	ReversalsTopic: 2,
	ReceiptsTopic:  2,
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "rides:", err)
		}
		os.Exit(2)
	}
}

// run is the whole program, given its arguments and where to write.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rides", flag.ContinueOnError)
	fs.SetOutput(stderr)
	brokers := fs.String("brokers", "", "`host:port[,host:port...]` of a Kafka cluster to use instead of the embedded broker")
	verbose := fs.Bool("v", false, "log at info level (default: warnings only)")
	stateDir := fs.String("state-dir", "", "`directory` for the app's state (default: a temporary directory)")
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

	var seeds []string
	if *brokers == "" {
		var topics []embedded.Topic
		for name, n := range partitions {
			topics = append(topics, embedded.Topic{Name: name, Partitions: n})
		}
		cluster, err := embedded.Start(ctx, embedded.Config{Topics: topics})
		if err != nil {
			return err
		}
		defer cluster.Close()
		seeds = cluster.Addrs()
	} else {
		seeds = strings.Split(*brokers, ",")
	}
	if *stateDir == "" {
		dir, err := os.MkdirTemp("", "rides-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		*stateDir = dir
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		return err
	}
	defer cl.Close()
	if *brokers != "" {
		if err := createTopics(ctx, kadm.NewClient(cl)); err != nil {
			return err
		}
	}
	if err := cl.ProduceSync(ctx, Records(Sample())...).FirstErr(); err != nil {
		return fmt.Errorf("produce the sample: %w", err)
	}

	top, err := Topology()
	if err != nil {
		return err
	}
	app, err := strata.New(top, strata.Config{
		ApplicationID: ApplicationID,
		Brokers:       seeds,
		Logger:        logger,
		StateDir:      *stateDir,
		Guarantee:     strata.ExactlyOnce,
	})
	if err != nil {
		return err
	}
	appCtx, stopApp := context.WithCancel(ctx)
	defer stopApp()
	waitCtx, stopWaiting := context.WithCancel(ctx)
	defer stopWaiting()
	runErr := make(chan error, 1)
	go func() {
		runErr <- app.Run(appCtx)
		stopWaiting() // Run returns early only on failure
	}()
	receipts, reversals, waitErr := readOutputs(waitCtx, seeds, len(ExpectedReceipts()), len(ExpectedReversals()))
	stopApp()
	if err := <-runErr; err != nil {
		return fmt.Errorf("run: %w", err)
	}
	if waitErr != nil {
		return waitErr
	}
	logger.Info("done", "metrics", app.Metrics())
	printOutputs(stdout, receipts, reversals)
	return nil
}

// createTopics creates the example's topics, leaving any that exist.
func createTopics(ctx context.Context, adm *kadm.Client) error {
	for name, n := range partitions {
		var configs map[string]*string
		if name == CustomersTopic {
			compact := "compact"
			configs = map[string]*string{"cleanup.policy": &compact}
		}
		resp, err := adm.CreateTopic(ctx, n, -1, configs, name)
		if err == nil {
			err = resp.Err
		}
		if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
			return fmt.Errorf("create topic %q: %w", name, err)
		}
	}
	return nil
}

// readOutputs reads the receipts and reversals topics, read_committed,
// until they hold the given numbers of records.
func readOutputs(ctx context.Context, seeds []string, nReceipts, nReversals int) ([]Receipt, []Reversal, error) {
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(seeds...),
		kgo.ConsumeTopics(ReceiptsTopic, ReversalsTopic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
	)
	if err != nil {
		return nil, nil, err
	}
	defer cl.Close()
	var receipts []Receipt
	var reversals []Reversal
	for len(receipts) < nReceipts || len(reversals) < nReversals {
		fetches := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return nil, nil, fmt.Errorf("read %d of %d receipts and %d of %d reversals: %w", len(receipts), nReceipts, len(reversals), nReversals, err)
		}
		var bad error
		fetches.EachRecord(func(r *kgo.Record) {
			var err error
			switch r.Topic {
			case ReceiptsTopic:
				var rc Receipt
				err = json.Unmarshal(r.Value, &rc)
				receipts = append(receipts, rc)
			case ReversalsTopic:
				var rv Reversal
				err = json.Unmarshal(r.Value, &rv)
				reversals = append(reversals, rv)
			}
			if err != nil && bad == nil {
				bad = fmt.Errorf("decode %s[%d]@%d: %w", r.Topic, r.Partition, r.Offset, err)
			}
		})
		if bad != nil {
			return nil, nil, bad
		}
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
