package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/strata-go/strata/internal/commitmeta"
)

func init() {
	register(&command{
		name:    "lag",
		summary: "print how far an application is behind its input, per task and partition, from its committed offsets (no instance needs to run)",
		setup:   lag,
	})
}

// lagRow is one input partition of the application.
type lagRow struct {
	task      string
	topic     string
	partition int32
	// committed is the group's committed offset, -1 when there is none
	// (the application starts the partition from its beginning).
	committed, start, end, lag int64
}

func lag(fs *flag.FlagSet) runFunc {
	kf := addAppFlags(fs)
	return func(ctx context.Context, out io.Writer) error { return printLag(ctx, kf, out) }
}

// printLag prints the lag of the application kf names.
func printLag(ctx context.Context, kf *appFlags, out io.Writer) error {
	adm, ctx, done, err := kf.connect(ctx)
	if err != nil {
		return err
	}
	defer done()
	rows, err := lagRows(ctx, adm, kf.app)
	if err != nil {
		return err
	}
	if len(rows) == 0 {
		_, err := fmt.Fprintf(out, "application %s has no committed offsets: it has processed nothing yet, or its consumer group %q does not exist\n", kf.app, kf.app)
		return err
	}
	var total int64
	for _, r := range rows {
		total += r.lag
	}
	fmt.Fprintf(out, "application %s: %d records behind on %d partitions\n", kf.app, total, len(rows))
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TASK\tTOPIC\tPARTITION\tCOMMITTED\tEND\tLAG")
	for _, r := range rows {
		committed := "-"
		if r.committed >= 0 {
			committed = strconv.FormatInt(r.committed, 10)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%d\n", r.task, r.topic, r.partition, committed, r.end, r.lag)
	}
	return tw.Flush()
}

// lagRows reads the group app's committed offsets and the ends of their
// topics: every partition of every topic the group committed offsets of,
// with the task reading it (from the metadata Strata commits, or from
// another partition of the topic), sorted by task, topic and partition.
// The end is the last stable offset, what the application, reading
// read_committed, can reach; a partition without a committed offset is
// behind from its start.
func lagRows(ctx context.Context, adm *kadm.Client, app string) ([]lagRow, error) {
	committed, err := fetchCommitted(ctx, adm, app)
	if err != nil {
		return nil, err
	}
	topics := slices.Sorted(maps.Keys(committed))
	if len(topics) == 0 {
		return nil, nil
	}
	// The ends are the last stable offsets, those a read_committed
	// consumer reads up to.
	ends, err := listOffsets(ctx, adm.ListCommittedOffsets, "ends", topics)
	if err != nil {
		return nil, err
	}
	starts, err := listOffsets(ctx, adm.ListStartOffsets, "starts", topics)
	if err != nil {
		return nil, err
	}
	// A topic's partitions all belong to one sub-topology.
	sub := map[string]string{}
	committed.Each(func(o kadm.OffsetResponse) {
		if task, ok := commitmeta.Task(o.Metadata); ok {
			if s, _, ok := strings.Cut(task, "_"); ok {
				sub[o.Topic] = s
			}
		}
	})
	var rows []lagRow
	ends.Each(func(e kadm.ListedOffset) {
		r := lagRow{task: "-", topic: e.Topic, partition: e.Partition, committed: -1, end: e.Offset}
		if s, ok := starts.Lookup(e.Topic, e.Partition); ok {
			r.start = s.Offset
		}
		pos := r.start
		if c, ok := committed.Lookup(e.Topic, e.Partition); ok && c.At >= 0 {
			r.committed, pos = c.At, max(c.At, r.start)
			if task, ok := commitmeta.Task(c.Metadata); ok {
				r.task = task
			}
		}
		if s, ok := sub[e.Topic]; ok && r.task == "-" {
			r.task = s + "_" + strconv.Itoa(int(e.Partition))
		}
		r.lag = max(r.end-pos, 0)
		rows = append(rows, r)
	})
	slices.SortFunc(rows, func(x, y lagRow) int {
		return cmp.Or(compareTasks(x.task, y.task), cmp.Compare(x.topic, y.topic), cmp.Compare(x.partition, y.partition))
	})
	return rows, nil
}

// fetchCommitted returns the offsets group committed; none when the group
// does not exist.
func fetchCommitted(ctx context.Context, adm *kadm.Client, group string) (kadm.OffsetResponses, error) {
	committed, err := adm.FetchOffsets(ctx, group)
	if err == nil {
		err = committed.Error()
	}
	if errors.Is(err, kerr.GroupIDNotFound) {
		return kadm.OffsetResponses{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("fetch the committed offsets of group %q: %w", group, err)
	}
	return committed, nil
}

// compareTasks orders task IDs "<sub-topology>_<partition>" numerically,
// unknown ones ("-") last.
func compareTasks(x, y string) int {
	xs, xp, xok := parseTask(x)
	ys, yp, yok := parseTask(y)
	switch {
	case xok && yok:
		return cmp.Or(cmp.Compare(xs, ys), cmp.Compare(xp, yp))
	case xok != yok:
		if xok {
			return -1
		}
		return 1
	}
	return cmp.Compare(x, y)
}

func parseTask(task string) (sub, partition int, ok bool) {
	s, p, found := strings.Cut(task, "_")
	if !found {
		return 0, 0, false
	}
	var err1, err2 error
	sub, err1 = strconv.Atoi(s)
	partition, err2 = strconv.Atoi(p)
	return sub, partition, err1 == nil && err2 == nil
}
