// Command router is Strata's first example: it validates a stream of JSON
// events and routes each to a topic of its type, rejecting invalid ones to
// a topic of their own with the reason in a header.
//
// With no flags it starts an in-process Kafka broker, produces a sample of
// events, runs the router until every event has come out, and prints how
// many went where:
//
//	go run ./examples/router
//
// With -brokers it does the same on a real cluster, creating its topics
// (all named "router-events...") when missing; it refuses to run when an
// output topic already holds records, unless -reuse is given (it then
// counts only what this run routes, from the output topics' ends). The
// flags for TLS and SASL, and the environment variables that can stand for
// them, are those of every example (examples/internal/kafkaflags; -help
// lists them). The topology is in router.go.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/examples/internal/kafkaflags"
)

// ApplicationID is the router's application ID: its consumer group.
const ApplicationID = "router-example"

// Partitions is the partition count of the topics the example creates.
const Partitions = 3

func main() { kafkaflags.Main("router", run) }

// run is the whole program, given its arguments and where to write.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("router", flag.ContinueOnError)
	fs.SetOutput(stderr)
	kafka := kafkaflags.Register(fs, nil)
	n := fs.Int("n", 50, "number of sample events to produce")
	verbose := fs.Bool("v", false, "log at info level (default: warnings only)")
	stateDir := fs.String("state-dir", "", "`directory` for the app's state (default: strata's default, under the temporary directory)")
	reuse := fs.Bool("reuse", false, "run even if the output topics hold records of an earlier run")
	timeout := fs.Duration("timeout", 30*time.Second, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	case *n < 1:
		return fmt.Errorf("-n must be positive, got %d", *n)
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	// Connect to a cluster with the topics.
	topics := []kafkaflags.Topic{{Name: InputTopic, Partitions: Partitions}}
	for _, t := range OutputTopics() {
		topics = append(topics, kafkaflags.Topic{Name: t, Partitions: Partitions, Output: true})
	}
	conn, err := kafka.Open(ctx, *reuse, topics...)
	if err != nil {
		return err
	}
	defer conn.Close()
	cl, err := conn.Client()
	if err != nil {
		return err
	}
	defer cl.Close()

	// Output is counted from the current end of each output topic, so
	// that earlier runs (with -reuse) do not count.
	from, err := endOffsets(ctx, conn.Admin(), OutputTopics())
	if err != nil {
		return err
	}
	if err := cl.ProduceSync(ctx, Sample(*n)...).FirstErr(); err != nil {
		return fmt.Errorf("produce sample events: %w", err)
	}

	// Run the router until every event has come out.
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
	})
	if err != nil {
		return err
	}
	var out output
	err = kafkaflags.RunUntil(ctx, app, func(ctx context.Context) (err error) {
		out, err = readOutput(ctx, conn, from, *n)
		return err
	})
	if err != nil {
		return err
	}
	logger.Info("done", "metrics", app.Metrics())

	out.print(stdout, *n)
	return nil
}

// endOffsets returns the offset after the last record of every partition of
// topics.
func endOffsets(ctx context.Context, adm *kadm.Client, topics []string) (map[string]map[int32]kgo.Offset, error) {
	listed, err := adm.ListEndOffsets(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("list end offsets: %w", err)
	}
	if err := listed.Error(); err != nil {
		return nil, fmt.Errorf("list end offsets: %w", err)
	}
	out := map[string]map[int32]kgo.Offset{}
	listed.Each(func(o kadm.ListedOffset) {
		if out[o.Topic] == nil {
			out[o.Topic] = map[int32]kgo.Offset{}
		}
		out[o.Topic][o.Partition] = kgo.NewOffset().At(o.Offset)
	})
	return out, nil
}

// output is what came out of the router.
type output struct {
	counts  map[string]int // records per topic
	reasons map[string]int // rejected records per reason
}

// readOutput reads the output topics from the given offsets until it has
// want records.
func readOutput(ctx context.Context, conn *kafkaflags.Conn, from map[string]map[int32]kgo.Offset, want int) (output, error) {
	out := output{counts: map[string]int{}, reasons: map[string]int{}}
	cl, err := conn.Client(
		kgo.ConsumePartitions(from),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
	)
	if err != nil {
		return out, err
	}
	defer cl.Close()
	got := 0
	for got < want {
		fetches := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return out, fmt.Errorf("got %d of %d events back: %w", got, want, err)
		}
		fetches.EachRecord(func(r *kgo.Record) {
			got++
			out.counts[r.Topic]++
			for _, h := range r.Headers {
				if h.Key == ReasonHeader {
					out.reasons[string(h.Value)]++
				}
			}
		})
	}
	return out, nil
}

// print writes the counts, in a stable order.
func (o output) print(w io.Writer, n int) {
	topics := OutputTopics()
	width := 0
	for _, t := range topics {
		width = max(width, len(t))
	}
	fmt.Fprintf(w, "routed %d events from %s:\n", n, InputTopic)
	for _, t := range topics {
		fmt.Fprintf(w, "  %-*s %4d\n", width, t, o.counts[t])
	}
	fmt.Fprintf(w, "rejection reasons:\n")
	for _, reason := range slices.Sorted(maps.Keys(o.reasons)) {
		fmt.Fprintf(w, "  %4d  %s\n", o.reasons[reason], reason)
	}
}
