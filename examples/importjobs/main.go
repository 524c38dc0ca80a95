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
// completions topic already holds records, unless -reuse is given. With
// -serve it only runs the app, until interrupted (SIGINT or SIGTERM),
// for a deployment or a test that feeds it and reads its output.
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
const ApplicationID = "importjobs-example"

// Partitions is the partition count of the topics the example creates.
const Partitions = 4

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "importjobs:", err)
		}
		os.Exit(2)
	}
}

// options are the program's flags.
type options struct {
	brokers  string
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
	fs.StringVar(&o.brokers, "brokers", "", "`host:port[,host:port...]` of a Kafka cluster to use instead of the embedded broker")
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
	case o.serve && o.brokers == "":
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

	var seeds []string
	if o.brokers == "" {
		cluster, err := embedded.Start(ctx, embedded.Config{})
		if err != nil {
			return err
		}
		defer cluster.Close()
		seeds = cluster.Addrs()
	} else {
		seeds = strings.Split(o.brokers, ",")
	}
	if o.stateDir == "" {
		dir, err := os.MkdirTemp("", "importjobs-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		o.stateDir = dir
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	if err := createTopics(ctx, adm); err != nil {
		return err
	}
	app, err := newApp(seeds, o, logger)
	if err != nil {
		return err
	}
	if o.serve {
		return app.Run(ctx)
	}
	if !o.reuse {
		if err := checkEmpty(ctx, adm, CompletionsTopic); err != nil {
			return err
		}
	}
	sample := NewSample(o.requests)
	if err := cl.ProduceSync(ctx, sample.Records(time.Now())...).FirstErr(); err != nil {
		return fmt.Errorf("produce the sample: %w", err)
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
	waitErr := waitCompletions(waitCtx, seeds, len(sample.Expected()))
	stopApp()
	if err := <-runErr; err != nil {
		return fmt.Errorf("run: %w", err)
	}
	if waitErr != nil {
		return waitErr
	}
	got, err := ReadCompletions(ctx, seeds)
	if err != nil {
		return err
	}
	printCompletions(stdout, sample, got)
	return nil
}

// newApp makes the app, under exactly-once.
func newApp(seeds []string, o options, logger *slog.Logger) (*strata.App, error) {
	top, err := Topology()
	if err != nil {
		return nil, err
	}
	return strata.New(top, strata.Config{
		ApplicationID:  ApplicationID,
		Brokers:        seeds,
		Logger:         logger,
		StateDir:       o.stateDir,
		Guarantee:      strata.ExactlyOnce,
		CommitInterval: o.commit,
		InstanceID:     o.instance,
	})
}

// createTopics creates the example's input and output topics, leaving any
// that exist.
func createTopics(ctx context.Context, adm *kadm.Client) error {
	for _, name := range []string{RequestsTopic, JobsTopic, CompletionsTopic} {
		resp, err := adm.CreateTopic(ctx, Partitions, -1, nil, name)
		if err == nil {
			err = resp.Err
		}
		if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
			return fmt.Errorf("create topic %q: %w", name, err)
		}
	}
	return nil
}

// checkEmpty refuses a topic that holds records.
func checkEmpty(ctx context.Context, adm *kadm.Client, topic string) error {
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return fmt.Errorf("list end offsets of %q: %w", topic, err)
	}
	var held int64
	ends.Each(func(lo kadm.ListedOffset) { held += lo.Offset })
	if held > 0 {
		return fmt.Errorf("topic %q holds records of an earlier run: use a fresh cluster, or -reuse to read them too", topic)
	}
	return nil
}

// waitCompletions reads the completions topic, read_committed, until it
// holds n records or ctx ends (as it does when Run returns early).
func waitCompletions(ctx context.Context, seeds []string, n int) error {
	return waitRecords(ctx, seeds, n, kgo.ReadCommitted())
}

// waitRecords reads the completions topic at the isolation level given
// until it holds n records or ctx ends.
func waitRecords(ctx context.Context, seeds []string, n int, isolation kgo.IsolationLevel) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.ConsumeTopics(CompletionsTopic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(isolation))
	if err != nil {
		return err
	}
	defer cl.Close()
	for got := 0; got < n; {
		f := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("read %d of %d completions: %w", got, n, err)
		}
		got += f.NumRecords()
	}
	return nil
}

// ReadCompletions reads the completions topic, read_committed, up to its
// last stable offsets: every completion committed so far, duplicates
// included, in each partition's order.
func ReadCompletions(ctx context.Context, seeds []string) ([]Completion, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.ConsumeTopics(CompletionsTopic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords())
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListCommittedOffsets(ctx, CompletionsTopic)
	if err != nil {
		return nil, fmt.Errorf("list last stable offsets of %q: %w", CompletionsTopic, err)
	}
	left := map[int32]int64{}
	ends.Each(func(lo kadm.ListedOffset) {
		if lo.Offset > 0 {
			left[lo.Partition] = lo.Offset
		}
	})
	var out []Completion
	for len(left) > 0 {
		f := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("read %q: %w", CompletionsTopic, err)
		}
		var bad error
		f.EachRecord(func(r *kgo.Record) {
			if end, ok := left[r.Partition]; ok && r.Offset+1 >= end {
				delete(left, r.Partition)
			}
			if r.Attrs.IsControl() {
				return
			}
			var c Completion
			if err := json.Unmarshal(r.Value, &c); err != nil {
				bad = fmt.Errorf("completion at %s/%d@%d: %w", r.Topic, r.Partition, r.Offset, err)
			}
			out = append(out, c)
		})
		if bad != nil {
			return nil, bad
		}
	}
	return out, nil
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
