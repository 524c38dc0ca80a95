package benchkit

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata/embedded"
	"github.com/strata-go/strata/serde"
)

// ErrIncomplete is wrapped by the errors of [CheckMapped] and [CheckCounts]
// when a run's output is missing records or holds wrong ones.
var ErrIncomplete = errors.New("benchkit: output incomplete or wrong")

// ReadAll returns every committed record of topic, read_committed, up to
// the end offsets the topic has when ReadAll starts.
func ReadAll(ctx context.Context, c *embedded.Cluster, topic string) ([]*kgo.Record, error) {
	ends, err := c.Admin().ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("read %q: end offsets: %w", topic, err)
	}
	if err := ends.Error(); err != nil {
		return nil, fmt.Errorf("read %q: end offsets: %w", topic, err)
	}
	// A partition is read once a record or, with control records kept,
	// a transaction marker at its end offset - 1 has been seen.
	pending := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			pending[o.Partition] = o.Offset - 1
		}
	})
	if len(pending) == 0 {
		return nil, nil
	}
	cl, err := c.Client(
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(),
	)
	if err != nil {
		return nil, fmt.Errorf("read %q: %w", topic, err)
	}
	defer cl.Close()
	var recs []*kgo.Record
	for len(pending) > 0 {
		fetches := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return recs, fmt.Errorf("read %q: %d partitions unread: %w", topic, len(pending), err)
		}
		fetches.EachRecord(func(r *kgo.Record) {
			if last, ok := pending[r.Partition]; ok && r.Offset >= last {
				delete(pending, r.Partition)
			}
			if !r.Attrs.IsControl() {
				recs = append(recs, r)
			}
		})
	}
	return recs, nil
}

// CheckMapped checks the output of a map-through of n records: n records,
// each value the upper-cased preloaded value.
func CheckMapped(recs []*kgo.Record, n int) error {
	if len(recs) != n {
		return fmt.Errorf("%w: %d records, want %d", ErrIncomplete, len(recs), n)
	}
	want := bytes.Repeat([]byte("V"), ValueSize)
	for _, r := range recs {
		if !bytes.Equal(r.Value, want) {
			return fmt.Errorf("%w: %s[%d]@%d has value %q, want %q", ErrIncomplete, r.Topic, r.Partition, r.Offset, r.Value, want)
		}
	}
	return nil
}

// CheckCounts checks the output of a count by key of n records with keys
// distinct keys: each key's last count is exactly how often it was
// preloaded, and no other key appears.
func CheckCounts(recs []*kgo.Record, n, keys int) error {
	last := map[string]int64{}
	for _, r := range recs {
		v, err := serde.Int64().Deserialize(r.Topic, r.Value)
		if err != nil {
			return fmt.Errorf("%w: %s[%d]@%d: %w", ErrIncomplete, r.Topic, r.Partition, r.Offset, err)
		}
		last[string(r.Key)] = v
	}
	distinct := min(n, keys)
	if len(last) != distinct {
		return fmt.Errorf("%w: %d keys counted, want %d", ErrIncomplete, len(last), distinct)
	}
	for k := range distinct {
		key := string(Key(k, keys))
		want := int64(n / keys)
		if k < n%keys {
			want++
		}
		if got, ok := last[key]; !ok || got != want {
			return fmt.Errorf("%w: key %q counted %d (present: %v), want %d", ErrIncomplete, key, got, ok, want)
		}
	}
	return nil
}
