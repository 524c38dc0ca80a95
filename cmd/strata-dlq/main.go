// Command strata-dlq views and replays a Strata application's dead-letter
// topic (see package deadletter).
//
//	strata-dlq -brokers localhost:9092 -topic shop-dead-letter list
//	strata-dlq -brokers localhost:9092 -topic shop-dead-letter -reason processing replay
//
// list prints one line per dead-letter record: where it came from, why it
// failed, its key and value (quoted). replay writes the records back to the
// topics and partitions they came from and prints how many. -key, -reason
// and -from select records; replay is at least once (see
// deadletter.Replay).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata/deadletter"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "strata-dlq:", err)
		os.Exit(2)
	}
}

// run parses args and runs the command, writing its report to out.
func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("strata-dlq", flag.ContinueOnError)
	fs.SetOutput(out)
	brokers := fs.String("brokers", "localhost:9092", "seed brokers, comma-separated")
	topic := fs.String("topic", "", "the dead-letter topic (required), by default <ApplicationID>-dead-letter")
	key := fs.String("key", "", "select records with this key")
	reason := fs.String("reason", "", "select records that failed for this reason (deserialization, processing)")
	from := fs.String("from", "", "select records that came from this topic")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *topic == "" {
		return errors.New("-topic is required")
	}
	if fs.NArg() != 1 || (fs.Arg(0) != "list" && fs.Arg(0) != "replay") {
		return fmt.Errorf("want one command, list or replay; got %q", fs.Args())
	}
	keep := func(d deadletter.Record) bool {
		return (*key == "" || string(d.Key) == *key) && (*reason == "" || d.Reason == *reason) && (*from == "" || d.Topic == *from)
	}
	opts := []kgo.Opt{kgo.SeedBrokers(strings.Split(*brokers, ",")...)}
	if fs.Arg(0) == "replay" {
		n, err := deadletter.Replay(ctx, *topic, keep, opts...)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(out, "replayed %d records\n", n)
		return err
	}
	records, err := deadletter.Read(ctx, *topic, opts...)
	if err != nil {
		return err
	}
	for _, d := range records {
		if !keep(d) {
			continue
		}
		if _, err := fmt.Fprintf(out, "%s[%d]@%d %s %s: %s key=%q value=%q\n", d.Topic, d.Partition, d.Offset,
			d.Timestamp.UTC().Format("2006-01-02T15:04:05.000Z"), d.Reason, d.Message, d.Key, d.Value); err != nil {
			return err
		}
	}
	return nil
}
