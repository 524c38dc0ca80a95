// Command importjobs aggregates events as in Wix's "events aggregation"
// pattern: an import request fans out into jobs; job-completed events are
// grouped by request ID, counted once per job ID (duplicates are
// recognised), and when a request's count reaches its number of jobs a
// single completion notification is emitted, exactly once, even if the
// app crashes (see Topology in importjobs.go).
//
// With no flags it starts an in-process Kafka broker, produces a sample
// (sample.go: requests whose job events arrive shuffled, some twice, some
// before their request, some requests with a job that never completes),
// runs the app under exactly-once until every expected completion is in,
// stops it, reads the completions topic to its end and prints them:
//
//	go run ./examples/importjobs
//
// With -brokers it does the same on a real cluster, creating its topics
// (all named "importjobs-...") when missing; it refuses to run when the
// completions topic already holds records, unless -reuse is given. The
// flags for TLS and SASL, and the environment variables that can stand for
// them, are those of every example (examples/internal/kafkaflags; -help
// lists them). With
// -serve it only runs the app, until interrupted (SIGINT or SIGTERM),
// for a deployment or a test that feeds it and reads its output.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/examples/internal/kafkaflags"
)

// ApplicationID is the example's application ID.
const ApplicationID = "importjobs-example"

// Partitions is the partition count of the topics the example creates.
const Partitions = 4

func main() { kafkaflags.Main("importjobs", run) }

// options are the program's flags.
type options struct {
	kafka    *kafkaflags.Flags
	requests int
	stateDir string
	instance string
	serve    bool
	reuse    bool
	commit   time.Duration
	timeout  time.Duration
	verbose  bool
}

// run is the whole program, given its arguments and where to write.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o options
	fs := flag.NewFlagSet("importjobs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o.kafka = kafkaflags.Register(fs, nil)
	fs.IntVar(&o.requests, "requests", 20, "number of import requests in the sample")
	fs.StringVar(&o.stateDir, "state-dir", "", "`directory` for the app's state (default: a temporary directory)")
	fs.StringVar(&o.instance, "instance-id", "", "the instance's `ID`, for static membership (strata.Config.InstanceID)")
	fs.BoolVar(&o.serve, "serve", false, "only run the app, until interrupted (needs -brokers)")
	fs.BoolVar(&o.reuse, "reuse", false, "run even if the completions topic holds records of an earlier run")
	fs.DurationVar(&o.commit, "commit-interval", 0, "the app's commit interval (default: Strata's)")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "give up after this long (not with -serve)")
	fs.BoolVar(&o.verbose, "v", false, "log at info level (default: warnings only)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	case o.serve && o.kafka.Brokers == "":
		return errors.New("-serve needs -brokers")
	case o.requests < 1:
		return fmt.Errorf("-requests must be at least 1, got %d", o.requests)
	}
	level := slog.LevelWarn
	if o.verbose {
		level = slog.LevelInfo
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if !o.serve {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.timeout)
		defer cancel()
	}

	// Serving, the app runs on whatever the topics hold.
	conn, err := o.kafka.Open(ctx, o.reuse || o.serve, topics...)
	if err != nil {
		return err
	}
	defer conn.Close()
	remove, err := kafkaflags.TempDir(&o.stateDir, "importjobs")
	if err != nil {
		return err
	}
	defer remove()
	app, err := newApp(conn, o, logger)
	if err != nil {
		return err
	}
	if o.serve {
		return app.Run(ctx)
	}
	sample := NewSample(o.requests)
	cl, err := conn.Client()
	if err != nil {
		return err
	}
	defer cl.Close()
	if err := cl.ProduceSync(ctx, sample.Records(time.Now())...).FirstErr(); err != nil {
		return fmt.Errorf("produce the sample: %w", err)
	}

	err = kafkaflags.RunUntil(ctx, app, func(ctx context.Context) error {
		return conn.WaitRecords(ctx, CompletionsTopic, len(sample.Expected()), kgo.ReadCommitted())
	})
	if err != nil {
		return err
	}
	got, err := ReadCompletions(ctx, conn)
	if err != nil {
		return err
	}
	printCompletions(stdout, sample, got)
	return nil
}

// newApp makes the app, under exactly-once.
func newApp(conn *kafkaflags.Conn, o options, logger *slog.Logger) (*strata.App, error) {
	top, err := Topology()
	if err != nil {
		return nil, err
	}
	return strata.New(top, strata.Config{
		ApplicationID:  ApplicationID,
		Brokers:        conn.Seeds,
		ClientOptions:  conn.Options,
		Logger:         logger,
		StateDir:       o.stateDir,
		Guarantee:      strata.ExactlyOnce,
		CommitInterval: o.commit,
		InstanceID:     o.instance,
	})
}

// topics are the example's topics.
var topics = []kafkaflags.Topic{
	{Name: RequestsTopic, Partitions: Partitions},
	{Name: JobsTopic, Partitions: Partitions},
	{Name: CompletionsTopic, Partitions: Partitions, Output: true},
}

// ReadCompletions reads the completions topic, read_committed, up to its
// last stable offsets: every completion committed so far, duplicates
// included, in each partition's order.
func ReadCompletions(ctx context.Context, conn *kafkaflags.Conn) ([]Completion, error) {
	return kafkaflags.ReadJSON[Completion](ctx, conn, CompletionsTopic)
}

// printCompletions prints the sample's figures and the completions read,
// ordered by request ID, and any request completed more or less than
// once.
func printCompletions(w io.Writer, s Sample, got []Completion) {
	seen := map[string]int{}
	for _, c := range got {
		seen[c.RequestID]++
	}
	uniq := map[JobDone]bool{}
	for _, j := range s.Jobs {
		uniq[j] = true
	}
	fmt.Fprintf(w, "%d import requests, %d job events (%d delivered twice): %d completions\n",
		len(s.Requests), len(s.Jobs), len(s.Jobs)-len(uniq), len(got))
	sort.Slice(got, func(i, j int) bool { return got[i].RequestID < got[j].RequestID })
	for _, c := range got {
		fmt.Fprintf(w, "  %s  jobs: %d\n", c.RequestID, c.Jobs)
	}
	var incomplete, wrong []string
	for _, r := range s.Requests {
		switch n := seen[r.ID]; {
		case n == 0:
			incomplete = append(incomplete, r.ID)
		case n > 1:
			wrong = append(wrong, fmt.Sprintf("%s (%d times)", r.ID, n))
		}
	}
	fmt.Fprintf(w, "not complete (a job missing): %s\n", strings.Join(incomplete, ", "))
	if len(wrong) > 0 {
		fmt.Fprintf(w, "COMPLETED MORE THAN ONCE: %s\n", strings.Join(wrong, ", "))
	}
}
