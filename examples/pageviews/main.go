// Command pageviews counts page views per page and minute, in event time,
// and writes each minute's counts once, when the minute is over: tumbling
// one-minute windows with ten seconds of grace for views that arrive late,
// and final results only (ktable.EmitOnWindowClose).
//
// With no flags it starts an in-process Kafka broker, produces a sample of
// five minutes of page views, some out of order (see sample.go), runs the
// count until every closed minute has its result, stops it and prints the
// results:
//
//	go run ./examples/pageviews
//
// Views that arrive after their minute's grace period are dropped, and the
// app logs them at WARN on stderr: the first of the sample's two, as the
// app logs drops of one kind at most every ten seconds, with their count. The last
// minute of the sample stays open, as nothing arrives after it to move
// event time on: its count would come out with later views.
//
// The input topic has one partition, so that views are processed in the
// order they were produced and the same ones are late every run. With more
// partitions the counts of the views that are accepted are the same, but
// which late views miss their window depends on how the partitions
// interleave.
//
// With -serve host:port the app also serves its counts over HTTP while it
// runs (package query's handler; serve.go): every page's views so far,
// late ones included, and the counts of the minutes its window store still
// holds. It then keeps running once the results are printed, until
// interrupted:
//
//	go run ./examples/pageviews -serve localhost:8080
//	curl 'localhost:8080/stores/views-per-page/get?key=/home'
//	{"key":"/home","value":12}
//	curl 'localhost:8080/stores/views-per-minute/windows?key=/home'
//
// With -brokers it does the same on a real cluster, creating its topics
// (named "pageviews-...") when missing, with the sample moved to the
// current minute so that a second run's views are not all too late for the
// first run's windows. It refuses to run when the output topic already
// holds records, unless -reuse is given (results are then read from the
// output topic's end as it was before the run). The flags for TLS and
// SASL, and the environment variables that can stand for them, are those
// of every example (examples/internal/kafkaflags; -help lists them). The
// topology is in pageviews.go.
package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/examples/internal/kafkaflags"
	"github.com/strata-go/strata/serde"
)

// ApplicationID is the page-view count's application ID.
const ApplicationID = "pageviews-example"

// DefaultStart is when the sample starts with the embedded broker.
var DefaultStart = time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)

func main() { kafkaflags.Main("pageviews", run) }

// run is the whole program, given its arguments and where to write.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("pageviews", flag.ContinueOnError)
	fs.SetOutput(stderr)
	kafka := kafkaflags.Register(fs, nil)
	startFlag := fs.String("start", "", "event `time` of the sample's first minute, RFC 3339, a whole minute (default: "+
		DefaultStart.Format(time.RFC3339)+" with the embedded broker, the current minute with -brokers)")
	verbose := fs.Bool("v", false, "log at info level (default: warnings only)")
	stateDir := fs.String("state-dir", "", "`directory` for the app's state (default: a temporary directory with the embedded broker, strata's default with -brokers)")
	timeout := fs.Duration("timeout", 30*time.Second, "give up after this long")
	serve := fs.String("serve", "", "serve the counts over HTTP at `host:port` (such as localhost:8080) while the app runs, and keep running once the results are printed, until interrupted")
	reuse := fs.Bool("reuse", false, "run even if the output topic holds records of an earlier run")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	start := DefaultStart
	switch {
	case *startFlag != "":
		t, err := time.Parse(time.RFC3339, *startFlag)
		if err != nil {
			return fmt.Errorf("-start: %w", err)
		}
		if !t.Truncate(WindowSize).Equal(t) {
			return fmt.Errorf("-start %s is not a whole minute", *startFlag)
		}
		start = t.UTC()
	case kafka.Brokers != "":
		start = time.Now().UTC().Truncate(WindowSize)
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	// Connect to a cluster with the topics.
	conn, err := kafka.Open(ctx, *reuse, topics...)
	if err != nil {
		return err
	}
	defer conn.Close()
	if conn.Embedded {
		remove, err := kafkaflags.TempDir(stateDir, "pageviews")
		if err != nil {
			return err
		}
		defer remove()
	}
	cl, err := conn.Client()
	if err != nil {
		return err
	}
	defer cl.Close()

	// Results are read from the current end of the output topic, so that
	// earlier runs (with -reuse) do not count.
	from, err := conn.EndOffsets(ctx, OutputTopic)
	if err != nil {
		return err
	}
	if err := cl.ProduceSync(ctx, Records(start)...).FirstErr(); err != nil {
		return fmt.Errorf("produce the sample: %w", err)
	}

	// Run the count until every window that closes has its result.
	topo, err := Topology()
	if err != nil {
		return err
	}
	app, err := strata.New(topo, strata.Config{
		ApplicationID:     ApplicationID,
		Brokers:           conn.Seeds,
		ClientOptions:     conn.Options,
		Logger:            logger,
		StateDir:          *stateDir,
		ApplicationServer: *serve,
	})
	if err != nil {
		return err
	}
	appBase := ctx
	if *serve != "" {
		stop, err := serveCounts(app, *serve)
		if err != nil {
			return err
		}
		defer stop()
		appBase = parent // served until interrupted, past -timeout
	}
	appCtx, stopApp := context.WithCancel(appBase)
	defer stopApp()
	waitCtx, stopWaiting := context.WithCancel(ctx)
	defer stopWaiting()
	runErr := make(chan error, 1)
	runDone := make(chan struct{})
	go func() {
		runErr <- app.Run(appCtx)
		close(runDone)
		stopWaiting() // Run returns early only on failure
	}()
	want, _ := Expected(start)
	got, waitErr := readResults(waitCtx, conn, from, start, want)
	served := waitErr == nil && *serve != ""
	if served {
		printResults(stdout, start, got)
		fmt.Fprintf(stdout, "serving the counts at http://%s until interrupted\n", *serve)
		select {
		case <-parent.Done():
		case <-runDone:
		}
	}
	stopApp()
	if err := <-runErr; err != nil {
		return fmt.Errorf("run: %w", err)
	}
	if waitErr != nil {
		return waitErr
	}
	logger.Info("done", "metrics", app.Metrics())

	if !served {
		printResults(stdout, start, got)
	}
	return nil
}

// topics are the example's topics, of one partition (see the package
// doc).
var topics = []kafkaflags.Topic{
	{Name: InputTopic, Partitions: 1},
	{Name: OutputTopic, Partitions: 1, Output: true},
}

// readResults reads the output topic from the given offsets until it has
// a result for every window of want. Results for windows outside the
// sample's five minutes are skipped: on a cluster used before, this run's
// views close the last minute of the previous run, and after a restart
// windows that closed shortly before it may be emitted again (see
// ktable.EmitOnWindowClose). A second result for a window of this run is
// an error, since results are final.
func readResults(ctx context.Context, conn *kafkaflags.Conn, from map[string]map[int32]kgo.Offset, start time.Time, want map[Result]int64) (map[Result]int64, error) {
	cl, err := conn.Client(
		kgo.ConsumePartitions(from),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
	)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	keys, counts := KeySerde(), serde.Int64()
	got := map[Result]int64{}
	end := start.Add(5 * WindowSize)
	for missing := len(want); missing > 0; {
		fetches := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("%d of %d windows have no result: %w", missing, len(want), err)
		}
		var bad error
		fetches.EachRecord(func(r *kgo.Record) {
			k, err := keys.Deserialize(r.Topic, r.Key)
			if err == nil {
				var n int64
				n, err = counts.Deserialize(r.Topic, r.Value)
				res := Result{k.Key, k.Window.Start.UTC()}
				switch _, dup := got[res]; {
				case err != nil:
				case res.Start.Before(start) || !res.Start.Before(end):
				case dup:
					err = fmt.Errorf("a second result for %s at %s: %d after %d", res.Page, res.Start.Format("15:04"), n, got[res])
				default:
					got[res] = n
					if _, ok := want[res]; ok {
						missing--
					}
				}
			}
			if err != nil {
				bad = cmp.Or(bad, fmt.Errorf("%s[%d]@%d: %w", r.Topic, r.Partition, r.Offset, err))
			}
		})
		if bad != nil {
			return nil, bad
		}
	}
	return got, nil
}

// printResults writes the results by window, then page, and what is still
// open.
func printResults(w io.Writer, start time.Time, got map[Result]int64) {
	results := slices.SortedFunc(maps.Keys(got), func(a, b Result) int {
		return cmp.Or(a.Start.Compare(b.Start), strings.Compare(a.Page, b.Page))
	})
	width := 0
	for _, r := range results {
		width = max(width, len(r.Page))
	}
	fmt.Fprintf(w, "page views per minute from %s (UTC), final counts:\n", start.Format("2006-01-02 15:04"))
	for _, r := range results {
		fmt.Fprintf(w, "  %s-%s  %-*s %3d\n", r.Start.Format("15:04"), r.Start.Add(WindowSize).Format("15:04"), width, r.Page, got[r])
	}
	last := start.Add(Views[len(Views)-1].At)
	for _, v := range Views {
		if t := start.Add(v.At); t.After(last) {
			last = t
		}
	}
	open := last.Add(-Grace).Truncate(WindowSize)
	fmt.Fprintf(w, "still open: %s-%s (latest view %s; it closes with the first view at %s or later)\n",
		open.Format("15:04"), open.Add(WindowSize).Format("15:04"), last.Format("15:04:05"),
		open.Add(WindowSize).Add(Grace).Format("15:04:05"))
}
