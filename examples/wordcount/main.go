// Command wordcount is the classic first stream-processing program: it
// splits lines of text into words and counts each word, keeping the counts
// in a state store and writing every new count to a topic.
//
// With no flags it starts an in-process Kafka broker with a four-partition
// "wordcount-lines" topic, produces a built-in text (see text.go), runs the
// word count until the output holds the count of every word in the text,
// stops it and prints the most frequent words:
//
//	go run ./examples/wordcount
//
// With -brokers it does the same on a real cluster, creating its topics
// (all named "wordcount-...") when missing. The flags for TLS and SASL, and
// the environment variables that can stand for them, are those of every
// example (examples/internal/kafkaflags; -help lists them). It refuses to
// run when the output topic, "wordcount-counts", already holds counts,
// unless -reuse is given: the counts are the application's state, kept in
// Kafka, so a run with -reuse adds to the earlier runs' counts, and the
// example expects and prints the totals. The topology is in wordcount.go.
//
// With -brokers and -serve it runs as a service instead: it counts whatever
// the input topic holds and receives, produces and waits for nothing, and
// stops cleanly on SIGINT or SIGTERM, printing what it processed and
// restored. Give it -instance-id and a -state-dir to make its restarts
// resume where it stopped: its group member is static, so a restart within
// the session timeout takes its place at once, and its state, checkpointed
// on the clean stop, needs no restoring:
//
//	go run ./examples/wordcount -brokers localhost:9092 -serve -instance-id wc-1 -state-dir /var/lib/wordcount
package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/examples/internal/kafkaflags"
	"github.com/strata-go/strata/serde"
)

// ApplicationID is the word count's application ID: its consumer group
// and the prefix of its internal topics.
const ApplicationID = "wordcount-example"

// Partitions is the partition count of the topics the example creates.
const Partitions = 4

func main() { kafkaflags.Main("wordcount", run) }

// run is the whole program, given its arguments and where to write.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("wordcount", flag.ContinueOnError)
	fs.SetOutput(stderr)
	kafka := kafkaflags.Register(fs, nil)
	top := fs.Int("top", 20, "print the `n` most frequent words")
	commitInterval := fs.Duration("commit-interval", 100*time.Millisecond,
		"how often the app commits; the record cache collects each word's updates between commits and writes one count per word")
	verbose := fs.Bool("v", false, "log at info level (default: warnings only)")
	stateDir := fs.String("state-dir", "", "`directory` for the app's state (default: a temporary directory with the embedded broker, strata's default with -brokers)")
	timeout := fs.Duration("timeout", 30*time.Second, "give up after this long (not with -serve)")
	serve := fs.Bool("serve", false, "with -brokers: count the input topic until SIGINT or SIGTERM, then stop cleanly; produce and wait for nothing")
	instanceID := fs.String("instance-id", "", "the app's `InstanceID`: its group member is static, and a restart with the same ID and -state-dir resumes it")
	exactlyOnce := fs.Bool("exactly-once", false, "process exactly once (default: at least once)")
	reuse := fs.Bool("reuse", false, "run even if the output topic holds counts of an earlier run, and add to them")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	case *top < 1:
		return fmt.Errorf("-top must be positive, got %d", *top)
	case *commitInterval <= 0:
		return fmt.Errorf("-commit-interval must be positive, got %v", *commitInterval)
	case *serve && kafka.Brokers == "":
		return fmt.Errorf("-serve needs -brokers: the embedded broker would stop with the program")
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	guarantee := strata.AtLeastOnce
	if *exactlyOnce {
		guarantee = strata.ExactlyOnce
	}
	if !*serve {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *timeout)
		defer cancel()
	}

	// Connect to the embedded broker or the cluster, with the topics.
	conn, err := kafka.Connect(ctx, topics...)
	if err != nil {
		return err
	}
	defer conn.Close()
	if conn.Embedded {
		// The broker forgets everything when the program exits, so
		// the state must not outlive it either.
		remove, err := kafkaflags.TempDir(stateDir, "wordcount")
		if err != nil {
			return err
		}
		defer remove()
	}
	topo, err := Topology()
	if err != nil {
		return err
	}
	app, err := strata.New(topo, strata.Config{
		ApplicationID:  ApplicationID,
		Brokers:        conn.Seeds,
		ClientOptions:  conn.Options,
		InstanceID:     *instanceID,
		Guarantee:      guarantee,
		Logger:         logger,
		StateDir:       *stateDir,
		CommitInterval: *commitInterval,
	})
	if err != nil {
		return err
	}
	if *serve {
		return serveCounts(ctx, app, stdout)
	}
	if !*reuse {
		if err := conn.CheckUnused(ctx, topics...); err != nil {
			return err
		}
	}

	// Counts already in the output topic, from earlier runs (-reuse),
	// end before these offsets.
	earlier, err := endOffsets(ctx, conn.Admin(), OutputTopic)
	if err != nil {
		return err
	}
	cl, err := conn.Client()
	if err != nil {
		return err
	}
	defer cl.Close()
	lines := Lines()
	if err := cl.ProduceSync(ctx, LineRecords()...).FirstErr(); err != nil {
		return fmt.Errorf("produce the text: %w", err)
	}

	// Run the word count until the output holds every word's total.
	var counts map[string]int64
	err = kafkaflags.RunUntil(ctx, app, func(ctx context.Context) (err error) {
		counts, err = readCounts(ctx, conn, earlier, Count(lines))
		return err
	})
	if err != nil {
		return err
	}
	logger.Info("done", "metrics", app.Metrics())

	words := 0
	for _, l := range lines {
		words += len(Words(l))
	}
	fmt.Fprintf(stdout, "counted %d words in %d lines from %s: %d distinct\n", words, len(lines), InputTopic, len(counts))
	printTop(stdout, counts, *top)
	return nil
}

// topics are the example's topics, created when missing. The output
// topic must be empty unless -reuse is given.
var topics = []kafkaflags.Topic{
	{Name: InputTopic, Partitions: Partitions},
	{Name: OutputTopic, Partitions: Partitions, Output: true},
}

// serveCounts runs app until ctx ends (SIGINT or SIGTERM), and then prints
// what it processed and restored.
func serveCounts(ctx context.Context, app *strata.App, stdout io.Writer) error {
	if err := app.Run(ctx); err != nil {
		return fmt.Errorf("run: %w", err)
	}
	m := app.Metrics()
	fmt.Fprintf(stdout, "stopped: processed %d records, restored %d, committed %d times\n", m.Processed, m.RestoredRecords, m.Commits)
	return nil
}

// endOffsets returns, per partition of topic, the offset after its last
// record.
func endOffsets(ctx context.Context, adm *kadm.Client, topic string) (map[int32]int64, error) {
	listed, err := adm.ListEndOffsets(ctx, topic)
	if err == nil {
		err = listed.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("list end offsets of %s: %w", topic, err)
	}
	ends := map[int32]int64{}
	listed.Each(func(o kadm.ListedOffset) { ends[o.Partition] = o.Offset })
	return ends, nil
}

// readCounts reads the output topic from its start until the latest count
// of every word of want is the word's count before this run plus want's:
// the word count has then counted every word of the text. Records below the
// offsets in earlier were written before this run. It returns the final
// count of each word of want.
//
// A word's counts are in one partition, in order, so by the time a count
// from this run arrives, the earlier ones have all been read.
func readCounts(ctx context.Context, conn *kafkaflags.Conn, earlier map[int32]int64, want map[string]int64) (map[string]int64, error) {
	cl, err := conn.Client(
		kgo.ConsumeTopics(OutputTopic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
	)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	before := map[string]int64{} // counts from earlier runs
	latest := map[string]int64{} // counts from this run
	missing := len(want)         // words whose total is not in yet
	longInt := serde.Int64()
	for missing > 0 {
		fetches := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("%d of %d words not counted in full: %w", missing, len(want), err)
		}
		var bad error
		fetches.EachRecord(func(r *kgo.Record) {
			word := string(r.Key)
			n, err := longInt.Deserialize(r.Topic, r.Value)
			if err != nil {
				bad = cmp.Or(bad, fmt.Errorf("count of %q at %s[%d]@%d: %w", word, r.Topic, r.Partition, r.Offset, err))
				return
			}
			if r.Offset < earlier[r.Partition] {
				before[word] = n
				return
			}
			w, ok := want[word]
			if !ok {
				return // a word of another text
			}
			total := before[word] + w
			was, seen := latest[word]
			latest[word] = n
			switch {
			case n > total:
				// At least once: a failure between writing a count
				// and committing its input counts that input again.
				bad = cmp.Or(bad, fmt.Errorf("%q counted %d times, more than the %d expected: some lines were processed twice", word, n, total))
			case n == total && (!seen || was != total):
				missing--
			}
		})
		if bad != nil {
			return nil, bad
		}
	}
	return latest, nil
}

// printTop writes the n most frequent words, by count then alphabetically.
func printTop(w io.Writer, counts map[string]int64, n int) {
	type wc struct {
		word  string
		count int64
	}
	var all []wc
	for word, c := range counts {
		all = append(all, wc{word, c})
	}
	slices.SortFunc(all, func(a, b wc) int {
		return cmp.Or(cmp.Compare(b.count, a.count), strings.Compare(a.word, b.word))
	})
	all = all[:min(n, len(all))]
	width := 0
	for _, e := range all {
		width = max(width, len(e.word))
	}
	fmt.Fprintf(w, "top %d:\n", len(all))
	for _, e := range all {
		fmt.Fprintf(w, "  %-*s %4d\n", width, e.word, e.count)
	}
}
