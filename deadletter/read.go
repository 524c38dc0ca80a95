package deadletter

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Read returns the records of the dead-letter topic, partition by partition
// in offset order, from the start of each partition up to its last stable
// offset when Read begins: what a read_committed consumer sees, so records
// of aborted transactions are left out. opts configure the Kafka client it
// creates and closes (kgo.SeedBrokers at least; TLS and SASL options as
// the application uses); Read adds what reading needs. A record that is not
// a dead-letter record fails Read with an error wrapping ErrNotDeadLetter.
func Read(ctx context.Context, topic string, opts ...kgo.Opt) ([]Record, error) {
	cl, err := newClient(opts)
	if err != nil {
		return nil, fmt.Errorf("deadletter: read %q: %w", topic, err)
	}
	defer cl.Close()
	return read(ctx, cl, topic)
}

// newClient creates a client that can read read_committed, partition by
// partition, and write to chosen partitions.
func newClient(opts []kgo.Opt) (*kgo.Client, error) {
	opts = append(append([]kgo.Opt(nil), opts...),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		// Transaction markers move a partition's position to its last
		// stable offset; without them the last one would never be seen.
		kgo.KeepControlRecords(),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
	)
	return kgo.NewClient(opts...)
}

func read(ctx context.Context, cl *kgo.Client, topic string) ([]Record, error) {
	adm := kadm.NewClient(cl)
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err == nil {
		err = listedError(starts, topic)
	}
	if err != nil {
		return nil, fmt.Errorf("deadletter: read %q: list start offsets: %w", topic, err)
	}
	ends, err := adm.ListCommittedOffsets(ctx, topic)
	if err == nil {
		err = listedError(ends, topic)
	}
	if err != nil {
		return nil, fmt.Errorf("deadletter: read %q: list last stable offsets: %w", topic, err)
	}
	from := map[int32]kgo.Offset{}
	until := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		s, _ := starts.Lookup(topic, o.Partition)
		if o.Offset > s.Offset {
			from[o.Partition] = kgo.NewOffset().At(s.Offset)
			until[o.Partition] = o.Offset
		}
	})
	if len(from) == 0 {
		return nil, nil
	}
	cl.AddConsumePartitions(map[string]map[int32]kgo.Offset{topic: from})
	defer cl.RemoveConsumePartitions(map[string][]int32{topic: partitionsOf(from)})
	byPartition := map[int32][]Record{}
	for len(until) > 0 {
		fetches := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("deadletter: read %q: %w", topic, err)
		}
		var errs []error
		fetches.EachError(func(t string, p int32, err error) {
			errs = append(errs, fmt.Errorf("fetch %s[%d]: %w", t, p, err))
		})
		if len(errs) > 0 {
			return nil, fmt.Errorf("deadletter: read %q: %w", topic, errors.Join(errs...))
		}
		var perr error
		fetches.EachRecord(func(r *kgo.Record) {
			end, ok := until[r.Partition]
			if !ok || perr != nil || r.Offset >= end {
				return
			}
			if r.Offset+1 >= end {
				delete(until, r.Partition)
			}
			if r.Attrs.IsControl() {
				return
			}
			d, err := Parse(r)
			if err != nil {
				perr = fmt.Errorf("deadletter: read %q: %s[%d]@%d: %w", topic, r.Topic, r.Partition, r.Offset, err)
				return
			}
			byPartition[r.Partition] = append(byPartition[r.Partition], d)
		})
		if perr != nil {
			return nil, perr
		}
	}
	var out []Record
	for _, p := range partitionsOf(byPartition) {
		out = append(out, byPartition[p]...)
	}
	return out, nil
}

// listedError is the error of listed offsets, if any: a missing topic
// shows as partition -1 with UnknownTopicOrPartition.
func listedError(l kadm.ListedOffsets, topic string) error {
	if err := l.Error(); err != nil {
		return err
	}
	if _, ok := l[topic]; !ok {
		return fmt.Errorf("topic %q: %w", topic, kerr.UnknownTopicOrPartition)
	}
	return nil
}

// partitionsOf returns m's partitions in order.
func partitionsOf[V any](m map[int32]V) []int32 { return slices.Sorted(maps.Keys(m)) }

// Replay writes the records of the dead-letter topic that keep selects
// (all of them when keep is nil) back to the topics and partitions they
// came from, with their keys, values, timestamps and own headers, in the
// order Read returns them, and returns how many it wrote. opts are as for
// Read. Replay is at least once: if it fails or is interrupted, records it
// wrote stay written and a second Replay writes them again. A replayed
// record that fails again goes to the dead-letter topic again, with a new
// offset; the old dead-letter records stay (delete them with the topic's
// retention or kadm's DeleteRecords once replayed).
func Replay(ctx context.Context, topic string, keep func(Record) bool, opts ...kgo.Opt) (int, error) {
	cl, err := newClient(opts)
	if err != nil {
		return 0, fmt.Errorf("deadletter: replay %q: %w", topic, err)
	}
	defer cl.Close()
	records, err := read(ctx, cl, topic)
	if err != nil {
		return 0, err
	}
	var out []*kgo.Record
	for _, d := range records {
		if keep != nil && !keep(d) {
			continue
		}
		out = append(out, &kgo.Record{
			Topic:     d.Topic,
			Partition: d.Partition,
			Key:       d.Key,
			Value:     d.Value,
			Timestamp: d.Timestamp,
			Headers:   d.Headers,
		})
	}
	if len(out) == 0 {
		return 0, nil
	}
	results := cl.ProduceSync(ctx, out...)
	n := 0
	for _, r := range results {
		if r.Err == nil {
			n++
		}
	}
	if err := results.FirstErr(); err != nil {
		return n, fmt.Errorf("deadletter: replay %q: wrote %d of %d records: %w", topic, n, len(out), err)
	}
	return n, nil
}
