package strata

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ErrPartitionsChanged is wrapped by the error Run returns when the
// partition count of a topic the app reads changed while it ran. Tasks,
// their state and co-partitioning are laid out by partition: with more
// partitions, records of a key go to another partition than its state, and
// the new partitions have no task. Strata does not migrate state between
// partitions: to run with the new count, reset the application (its
// committed offsets, internal topics and state directories) or deploy it
// under a new ApplicationID.
var ErrPartitionsChanged = errors.New("strata: partition count of a source topic changed")

// partitionCheckInterval is how often a running App looks up the partition
// counts of the topics it reads, so that a change is noticed within this
// interval (plus a request) rather than at the group client's next metadata
// refresh (metadata.max.age.ms, 5 minutes). A variable for tests.
var partitionCheckInterval = 30 * time.Second

// partitionCheckTimeout bounds each lookup.
const partitionCheckTimeout = 10 * time.Second

// partitionsChangedError reports the change of one topic's partition count.
type partitionsChangedError struct {
	topic    string
	was, now int
}

func (e *partitionsChangedError) Error() string {
	return fmt.Sprintf("strata: source topic %q changed from %d to %d partitions while the app ran; "+
		"tasks and state are laid out by partition, so reset the application or deploy it under a new ApplicationID to use the new count",
		e.topic, e.was, e.now)
}

func (e *partitionsChangedError) Is(target error) bool { return target == ErrPartitionsChanged }

// partitionWatch is the instance's record of a partition-count change,
// which worker 0 looks for and every worker's loop checks.
type partitionWatch struct {
	err atomic.Pointer[error]
}

// changed returns the change found, or nil.
func (w *partitionWatch) changed() error {
	if p := w.err.Load(); p != nil {
		return *p
	}
	return nil
}

// watchPartitions makes worker 0 look up the partition counts of the
// topics the group reads every partitionCheckInterval, in a goroutine,
// until ctx ends or the returned stop is called (which waits for it), and
// record the first change it sees in the instance's partitionWatch. The
// counts expected are those the worker found when it started. A failed
// lookup is logged and retried at the next interval.
func (r *runner) watchPartitions(ctx context.Context) (stop func()) {
	if r.index != 0 {
		return func() {}
	}
	want := map[string]int{}
	r.mu.Lock() // rebalance callbacks add output topics' counts
	for _, t := range r.sources() {
		want[t] = r.partitions[t]
	}
	r.mu.Unlock()
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(partitionCheckInterval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if err := r.checkPartitions(ctx, want); err != nil {
				r.inst.partitions.err.CompareAndSwap(nil, &err)
				return
			}
		}
	})
	return func() {
		cancel()
		wg.Wait()
	}
}

// checkPartitions looks the topics of want up and returns an error wrapping
// ErrPartitionsChanged for each whose partition count is not the one
// wanted. A lookup that fails returns nil, logged unless ctx ended or the
// client closed.
func (r *runner) checkPartitions(ctx context.Context, want map[string]int) error {
	ctx, cancel := context.WithTimeout(ctx, partitionCheckTimeout)
	defer cancel()
	topics := slices.Sorted(maps.Keys(want))
	// A metadata request of its own: kadm's lookups answer from the
	// client's metadata cache, up to 5s old.
	req := kmsg.NewPtrMetadataRequest()
	for _, t := range topics {
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(t)
		req.Topics = append(req.Topics, rt)
	}
	resp, err := req.RequestWith(ctx, r.restoreClient)
	if err != nil {
		if ctx.Err() == nil && !errors.Is(err, kgo.ErrClientClosed) {
			r.log.Warn("look up source topics' partition counts", "err", err)
		}
		return nil
	}
	var changes []error
	for _, t := range resp.Topics {
		if t.Topic == nil || t.ErrorCode != 0 {
			// A topic deleted, or an error for this topic alone:
			// not a change of its partition count.
			continue
		}
		was, ok := want[*t.Topic]
		if now := len(t.Partitions); ok && now != was {
			changes = append(changes, &partitionsChangedError{topic: *t.Topic, was: was, now: now})
		}
	}
	return errors.Join(changes...)
}
