package strata

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/metric"

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
	// persistent marks a store whose local state outlives the task, and
	// so goes in its checkpoint.
	persistent bool
	// attrs are the store's metric attributes; stats its progress as the
	// admin endpoint's /tasks shows it.
	attrs metric.MeasurementOption
	stats *storeStats
}

// restoration is a task whose stores are being restored from their
// changelogs. The poll loop restores a little on every turn (restoreSome),
// between the active tasks' work, and activates the task once every plan is
// done; the task's input partitions are paused meanwhile.
type restoration struct {
	task *engine.Task
	// plans are every logged store's, done or not; active maps the
	// changelog partitions still being read to their plan.
	plans  []*restorePlan
	active map[string]*restorePlan
	began  time.Time
	// paused are the task's input partitions, paused until it is
	// active.
	paused map[string][]int32
}

// resumeRestored fetches again the partitions of a restoration. Called with
// mu held.
func (r *runner) resumeRestored(rs *restoration) {
	if cl := r.group.Load(); cl != nil && len(rs.paused) > 0 {
		cl.ResumeFetchPartitions(rs.paused)
	}
	rs.paused = nil
}

// planRestore works out how far each of the task's logged stores must be
// restored: from the checkpointed offset (or the beginning) to the
// changelog's last stable offset, or, for a store whose changelog is a source
// topic, to the offset the group committed for the task, processing
// applying what follows. It starts reading what must be read, with the
// restore client, and reports a restoration with no active plan when there
// is nothing to restore.
func (r *runner) planRestore(ctx context.Context, t *engine.Task, checkpoint map[string]int64) (*restoration, error) {
	rs := &restoration{task: t, active: map[string]*restorePlan{}, began: time.Now(), paused: map[string][]int32{}}
	var topics, sources []string
	for _, s := range t.Stores() {
		def := r.app.top.Graph.Store(s.Name())
		if !def.Logged && def.SourceTopic == "" {
			continue
		}
		p := &restorePlan{store: s, topic: t.Changelog(s.Name()), source: def.SourceTopic != "", persistent: def.Persistent}
		if p.source {
			sources = append(sources, p.topic)
		}
		if def.Persistent {
			p.start = checkpoint[p.topic]
		}
		rs.plans = append(rs.plans, p)
		topics = append(topics, p.topic)
	}
	if len(rs.plans) == 0 {
		return rs, nil
	}
	// The last stable offset is the end of what read_committed can see:
	// records of open transactions above it are not restored, as they
	// may still abort.
	ends, err := r.listOffsets(ctx, r.adm.ListCommittedOffsets, topics, t.ID.Partition)
	if err != nil {
		return nil, err
	}
	var committed kadm.OffsetResponses
	if len(sources) > 0 {
		if committed, err = r.adm.FetchOffsetsForTopics(ctx, r.cfg.ApplicationID, sources...); err == nil {
			err = committed.Error()
		}
		if err != nil {
			return nil, fmt.Errorf("fetch committed offsets of %q: %w", sources, err)
		}
	}
	id := topology.TaskID(t.ID)
	want := map[string]map[int32]kgo.Offset{}
	for _, p := range rs.plans {
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
			return nil, fmt.Errorf("store %q: checkpoint offset %d is past the end %d of changelog %q: %w", p.store.Name(), p.start, p.end, p.topic, errStaleCheckpoint)
		}
		p.next = p.start
		if p.start == p.end {
			continue
		}
		r.app.restoreStarted(r.log, id, p)
		want[p.topic] = map[int32]kgo.Offset{t.ID.Partition: kgo.NewOffset().At(p.start)}
		rs.active[p.topic] = p
	}
	for topic := range rs.active {
		r.restoringChangelog[topicPartition{topic, t.ID.Partition}] = rs
	}
	if len(want) > 0 {
		r.restoreClient.AddConsumePartitions(want)
	}
	return rs, nil
}

// restoreSome restores for up to PollTimeout, and activates the tasks
// that are then restored. Called with mu held.
func (r *runner) restoreSome(ctx context.Context) error {
	done, err := r.restoreStep(ctx, r.cfg.PollTimeout)
	if err == nil && len(done) > 0 {
		err = r.activate(ctx, done)
	}
	if ctx.Err() != nil {
		return nil // a clean stop: the loop shuts down next
	}
	return err
}

// restoreStep polls the restore client once, for at most wait, and applies
// what it fetched to the stores being restored. It returns the
// restorations that completed. Called with mu held.
func (r *runner) restoreStep(ctx context.Context, wait time.Duration) ([]*restoration, error) {
	pctx, cancel := context.WithTimeout(ctx, wait)
	fetches := r.restoreClient.PollFetches(pctx)
	cancel()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var ferr error
	fetches.EachError(func(topic string, p int32, err error) {
		if ferr == nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
			ferr = fmt.Errorf("fetch changelog %s[%d]: %w", topic, p, err)
		}
	})
	if ferr != nil {
		return nil, ferr
	}
	var done []*restoration
	fetches.EachPartition(func(fp kgo.FetchTopicPartition) {
		if ferr != nil {
			return
		}
		rs := r.restoringChangelog[topicPartition{fp.Topic, fp.Partition}]
		if rs == nil {
			return // a plan that ended or was dropped
		}
		finished, err := r.applyFetched(rs, fp)
		if err != nil {
			ferr = fmt.Errorf("strata: restore task %s: %w", rs.task.ID, err)
		} else if finished {
			done = append(done, rs)
		}
	})
	return done, ferr
}

// applyFetched applies one fetched changelog partition to its plan, and
// reports whether that completed the task's restoration.
func (r *runner) applyFetched(rs *restoration, fp kgo.FetchTopicPartition) (bool, error) {
	t := rs.task
	p := rs.active[fp.Topic]
	if p == nil || fp.Partition != t.ID.Partition {
		return false, nil
	}
	id := topology.TaskID(t.ID)
	skipped := t.Metrics.SkippedRecords
	defer func() { r.app.metrics.skipped.Add(t.Metrics.SkippedRecords - skipped) }()
	for _, rec := range fp.Records {
		if rec.Offset >= p.end {
			break
		}
		p.next = rec.Offset + 1
		// Transaction markers occupy offsets but hold no data; they
		// are kept so that the end is seen.
		if rec.Attrs.IsControl() {
			continue
		}
		// A source topic may hold null keys, which the store skips as
		// processing does.
		if rec.Key == nil && !p.source {
			return false, fmt.Errorf("store %q: corrupt changelog record at %s[%d]@%d: null key", p.store.Name(), rec.Topic, rec.Partition, rec.Offset)
		}
		p.pending = append(p.pending, rec)
		if len(p.pending) >= restoreBatch {
			if err := r.applyRestore(id, p); err != nil {
				return false, err
			}
		}
	}
	if p.next < p.end {
		return false, nil
	}
	if err := r.applyRestore(id, p); err != nil {
		return false, err
	}
	delete(rs.active, fp.Topic)
	delete(r.restoringChangelog, topicPartition{fp.Topic, fp.Partition})
	r.restoreClient.RemoveConsumePartitions(map[string][]int32{fp.Topic: {fp.Partition}})
	r.app.restoreEnded(r.log, id, p, time.Since(rs.began))
	return len(rs.active) == 0, nil
}

// stopRestore stops reading the changelogs of a restoration that is
// dropped before it completed.
func (r *runner) stopRestore(rs *restoration) {
	parts := map[string][]int32{}
	for topic := range rs.active {
		parts[topic] = []int32{rs.task.ID.Partition}
		delete(r.restoringChangelog, topicPartition{topic, rs.task.ID.Partition})
	}
	if len(parts) > 0 {
		r.restoreClient.RemoveConsumePartitions(parts)
	}
	clear(rs.active)
}

// restoredOffsets are the changelog offsets a restoration has reached, for
// the checkpoint of a task closed before it completed: its local state
// holds the changelogs up to there.
func (rs *restoration) restoredOffsets() map[string]int64 {
	out := map[string]int64{}
	for _, p := range rs.plans {
		if p.persistent {
			out[p.topic] = p.next
		}
	}
	return out
}

// applyRestore writes a plan's pending records to its store.
func (r *runner) applyRestore(id topology.TaskID, p *restorePlan) error {
	if len(p.pending) == 0 {
		return nil
	}
	if err := p.store.Restore(p.pending); err != nil {
		return err
	}
	r.app.restoredBatch(id, p, len(p.pending))
	clear(p.pending)
	p.pending = p.pending[:0]
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
