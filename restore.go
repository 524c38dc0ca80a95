package strata

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata/internal/engine"
	"github.com/strata-go/strata/topology"
)

// RestoreListener is told how restoration of a store from its changelog
// progresses. Calls come from the goroutine that restores; keep them quick.
type RestoreListener interface {
	// OnRestoreStart is called before the first record, with the offsets
	// to restore: from start (inclusive) to end (exclusive).
	OnRestoreStart(task topology.TaskID, store, changelog string, start, end int64)
	// OnBatchRestored is called after each batch written to the store,
	// with the offset after the batch and its number of records.
	OnBatchRestored(task topology.TaskID, store string, next int64, records int)
	// OnRestoreEnd is called when the store is up to date, with the
	// number of changelog records applied and how long it took.
	OnRestoreEnd(task topology.TaskID, store string, records int64, took time.Duration)
}

// restoreBatch is how many changelog records go to a store in one write.
const restoreBatch = 4096

// restorePlan is one store's changelog partition to replay.
type restorePlan struct {
	store      engine.Store
	topic      string
	start, end int64
	next       int64
	records    int64
	pending    []*kgo.Record
	// source marks a source topic serving as the store's changelog: it
	// is restored up to the task's committed offset, not to its end.
	source bool
}

// restore brings the task's logged stores up to date from their changelogs,
// from the checkpointed offset (or the beginning) to the last stable offset,
// before the task processes anything. A store whose changelog is a source
// topic is restored up to the offset the group committed for the task:
// processing applies what follows.
func (r *runner) restore(ctx context.Context, t *engine.Task, checkpoint map[string]int64) error {
	var plans []*restorePlan
	var topics, sources []string
	skipped := t.Metrics.SkippedRecords
	defer func() { r.app.metrics.skipped.Add(t.Metrics.SkippedRecords - skipped) }()
	for _, s := range t.Stores() {
		def := r.app.top.Graph.Store(s.Name())
		if !def.Logged && def.SourceTopic == "" {
			continue
		}
		p := &restorePlan{store: s, topic: t.Changelog(s.Name()), source: def.SourceTopic != ""}
		if p.source {
			sources = append(sources, p.topic)
		}
		if def.Persistent {
			p.start = checkpoint[p.topic]
		}
		plans = append(plans, p)
		topics = append(topics, p.topic)
	}
	if len(plans) == 0 {
		return nil
	}
	// The last stable offset is the end of what read_committed can see:
	// records of open transactions above it are not restored, as they
	// may still abort.
	ends, err := r.listOffsets(ctx, r.adm.ListCommittedOffsets, topics, t.ID.Partition)
	if err != nil {
		return err
	}
	var committed kadm.OffsetResponses
	if len(sources) > 0 {
		if committed, err = r.adm.FetchOffsetsForTopics(ctx, r.cfg.ApplicationID, sources...); err == nil {
			err = committed.Error()
		}
		if err != nil {
			return fmt.Errorf("fetch committed offsets of %q: %w", sources, err)
		}
	}
	id := topology.TaskID(t.ID)
	want := map[string]map[int32]kgo.Offset{}
	active := map[string]*restorePlan{}
	for _, p := range plans {
		lo, _ := ends.Lookup(p.topic, t.ID.Partition)
		p.end = lo.Offset
		if p.source {
			// Nothing committed yet: processing builds the store.
			at := int64(0)
			if o, ok := committed.Lookup(p.topic, t.ID.Partition); ok && o.At >= 0 {
				at = o.At
			}
			p.end = min(p.end, at)
			t.SetPosition(p.topic, p.end)
		}
		if p.start > p.end {
			return fmt.Errorf("store %q: checkpoint offset %d is past the end %d of changelog %q: %w", p.store.Name(), p.start, p.end, p.topic, errStaleCheckpoint)
		}
		p.next = p.start
		if p.start == p.end {
			continue
		}
		if l := r.cfg.RestoreListener; l != nil {
			l.OnRestoreStart(id, p.store.Name(), p.topic, p.start, p.end)
		}
		r.log.Info("restoring store", "task", id.String(), "store", p.store.Name(), "changelog", p.topic, "from", p.start, "to", p.end)
		want[p.topic] = map[int32]kgo.Offset{t.ID.Partition: kgo.NewOffset().At(p.start)}
		active[p.topic] = p
	}
	if len(active) == 0 {
		return nil
	}
	began := time.Now()
	rc := r.restoreClient
	rc.AddConsumePartitions(want)
	defer func() {
		parts := map[string][]int32{}
		for topic := range want {
			parts[topic] = []int32{t.ID.Partition}
		}
		rc.RemoveConsumePartitions(parts)
	}()
	for len(active) > 0 {
		fetches := rc.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return err
		}
		var ferr error
		fetches.EachError(func(topic string, p int32, err error) {
			if ferr == nil {
				ferr = fmt.Errorf("fetch changelog %s[%d]: %w", topic, p, err)
			}
		})
		if ferr != nil {
			return ferr
		}
		fetches.EachPartition(func(fp kgo.FetchTopicPartition) {
			p := active[fp.Topic]
			if ferr != nil || p == nil || fp.Partition != t.ID.Partition {
				return
			}
			for _, rec := range fp.Records {
				if rec.Offset >= p.end {
					break
				}
				p.next = rec.Offset + 1
				// Transaction markers occupy offsets but hold no
				// data; they are kept so that the end is seen.
				if rec.Attrs.IsControl() {
					continue
				}
				// A source topic may hold null keys, which the
				// store skips as processing does.
				if rec.Key == nil && !p.source {
					ferr = fmt.Errorf("store %q: corrupt changelog record at %s[%d]@%d: null key", p.store.Name(), rec.Topic, rec.Partition, rec.Offset)
					return
				}
				p.pending = append(p.pending, rec)
				if len(p.pending) >= restoreBatch {
					if ferr = r.applyRestore(id, p); ferr != nil {
						return
					}
				}
			}
			if ferr == nil && p.next >= p.end {
				if ferr = r.applyRestore(id, p); ferr != nil {
					return
				}
				delete(active, fp.Topic)
				took := time.Since(began)
				if l := r.cfg.RestoreListener; l != nil {
					l.OnRestoreEnd(id, p.store.Name(), p.records, took)
				}
				r.log.Info("restored store", "task", id.String(), "store", p.store.Name(), "records", p.records, "took", took,
					"records_per_second", int64(float64(p.records)/max(took.Seconds(), 1e-9)))
			}
		})
		if ferr != nil {
			return ferr
		}
	}
	return nil
}

// applyRestore writes a plan's pending records to its store.
func (r *runner) applyRestore(id topology.TaskID, p *restorePlan) error {
	if len(p.pending) == 0 {
		return nil
	}
	if err := p.store.Restore(p.pending); err != nil {
		return err
	}
	n := len(p.pending)
	p.records += int64(n)
	r.app.metrics.restored.Add(int64(n))
	clear(p.pending)
	p.pending = p.pending[:0]
	if l := r.cfg.RestoreListener; l != nil {
		l.OnBatchRestored(id, p.store.Name(), p.next, n)
	}
	return nil
}

// errStaleCheckpoint marks a checkpoint that does not fit its changelog: the
// local state is wiped and restored from the beginning.
var errStaleCheckpoint = errors.New("stale checkpoint")

// listOffsets lists offsets of one partition of topics with list (end or
// last stable offsets), waiting out stale metadata (see untilKnown).
func (r *runner) listOffsets(ctx context.Context, list func(context.Context, ...string) (kadm.ListedOffsets, error), topics []string, partition int32) (kadm.ListedOffsets, error) {
	var offsets kadm.ListedOffsets
	err := untilKnown(ctx, func() (string, error) {
		var err error
		if offsets, err = list(ctx, topics...); err != nil {
			return "", fmt.Errorf("list offsets of %q: %w", topics, err)
		}
		for _, topic := range topics {
			lo, ok := offsets.Lookup(topic, partition)
			switch {
			case !ok || errors.Is(lo.Err, kerr.UnknownTopicOrPartition):
				return fmt.Sprintf("%s[%d]", topic, partition), nil
			case lo.Err != nil:
				return "", fmt.Errorf("list offsets of %s[%d]: %w", topic, partition, lo.Err)
			}
		}
		return "", nil
	})
	return offsets, err
}

// untilKnown calls try until it reports nothing missing. A topic this run
// created moments ago may be missing from the client's cached metadata;
// franz-go drops the stale entry when a request finds the topic unknown,
// so asking again shortly after succeeds. try returns what it found
// missing, or an error that ends the wait.
func untilKnown(ctx context.Context, try func() (missing string, err error)) error {
	backoff := 20 * time.Millisecond
	for attempt := 1; ; attempt++ {
		missing, err := try()
		if err != nil || missing == "" {
			return err
		}
		if attempt == 8 {
			return fmt.Errorf("%s is unknown to the brokers", missing)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
			backoff *= 2
		}
	}
}
