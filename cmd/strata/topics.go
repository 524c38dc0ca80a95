package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"text/tabwriter"

	"github.com/twmb/franz-go/pkg/kadm"
)

func init() {
	register(&command{
		name:    "topics",
		summary: "list an application's internal topics (repartition, changelog, foreign-key, retry, dead-letter) and their sizes",
		setup:   topics,
	})
}

// topicRow is one of the application's topics.
type topicRow struct {
	topic, kind string
	partitions  int
	// offsets is the sum over partitions of the end less the start
	// offset: the records held, or, in a compacted topic, at most that.
	offsets int64
	// bytes is the size of one replica of every partition; -1 when the
	// brokers did not say.
	bytes int64
}

func topics(fs *flag.FlagSet) runFunc {
	kf := addAppFlags(fs)
	dlt := fs.String("dead-letter-topic", "", "the application's dead-letter `topic` (Config.DeadLetterTopic; default <app>-dead-letter)")
	return func(ctx context.Context, out io.Writer) error { return printTopics(ctx, kf, *dlt, out) }
}

// printTopics prints the internal topics of the application kf names,
// whose dead-letter topic is dlt ("" for the default).
func printTopics(ctx context.Context, kf *appFlags, dlt string, out io.Writer) error {
	adm, ctx, done, err := kf.connect(ctx)
	if err != nil {
		return err
	}
	defer done()
	rows, err := topicRows(ctx, adm, kf.app, deadLetterTopic(dlt, kf.app))
	if err != nil {
		return err
	}
	if len(rows) == 0 {
		_, err := fmt.Fprintf(out, "application %s has no internal topics\n", kf.app)
		return err
	}
	fmt.Fprintf(out, "application %s: %d internal topics\n", kf.app, len(rows))
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TOPIC\tKIND\tPARTITIONS\tOFFSETS\tBYTES")
	for _, r := range rows {
		bytes := "?"
		if r.bytes >= 0 {
			bytes = strconv.FormatInt(r.bytes, 10)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\n", r.topic, r.kind, r.partitions, r.offsets, bytes)
	}
	return tw.Flush()
}

// topicRows describes the application's internal topics, sorted by name.
func topicRows(ctx context.Context, adm *kadm.Client, app, deadLetter string) ([]topicRow, error) {
	kinds, details, err := appTopics(ctx, adm, app, deadLetter)
	if err != nil || len(kinds) == 0 {
		return nil, err
	}
	names := slices.Sorted(maps.Keys(kinds))
	starts, err := listOffsets(ctx, adm.ListStartOffsets, "starts", names)
	if err != nil {
		return nil, err
	}
	ends, err := listOffsets(ctx, adm.ListEndOffsets, "ends", names)
	if err != nil {
		return nil, err
	}
	// Each broker reports its replicas: a partition's size is its
	// largest replica's.
	sizes := map[string]map[int32]int64{}
	dirs, derr := adm.DescribeAllLogDirs(ctx, nil) // every partition
	if derr == nil {
		dirs.Each(func(d kadm.DescribedLogDir) {
			for topic, parts := range d.Topics {
				if kinds[topic] == "" {
					continue
				}
				for p, dp := range parts {
					if sizes[topic] == nil {
						sizes[topic] = map[int32]int64{}
					}
					sizes[topic][p] = max(sizes[topic][p], dp.Size)
				}
			}
		})
	}
	rows := make([]topicRow, 0, len(names))
	for _, topic := range names {
		r := topicRow{topic: topic, kind: kinds[topic], partitions: len(details[topic].Partitions), bytes: -1}
		ends.Each(func(e kadm.ListedOffset) {
			if e.Topic != topic {
				return
			}
			if s, ok := starts.Lookup(topic, e.Partition); ok {
				r.offsets += max(e.Offset-s.Offset, 0)
			}
		})
		if derr == nil {
			r.bytes = 0
			for _, n := range sizes[topic] {
				r.bytes += n
			}
		}
		rows = append(rows, r)
	}
	return rows, nil
}
