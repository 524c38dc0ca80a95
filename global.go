package strata

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata/internal/engine"
	"github.com/strata-go/strata/topology"
)

// globalThread keeps an instance's global stores up to date, as Kafka
// Streams' GlobalStreamThread: its own client, outside the consumer group,
// reads every partition of every global topic (read_committed). Before any
// task starts it restores the stores up to the topics' last stable offsets,
// from the offsets its checkpoint records; then a goroutine applies updates
// as they arrive, through the global stores' update processors, while the
// tasks read the stores through their views. One instance has one global
// thread, shared by all its tasks.
type globalThread struct {
	app  *App
	log  *slog.Logger
	cl   *kgo.Client
	task *engine.Task
	// inputs route each global topic-partition to its input of the task;
	// next is the offset after the last record applied, per partition.
	inputs map[topicPartition]*engine.Input
	next   map[topicPartition]int64
	// stores maps each global topic to the store it feeds.
	stores map[string]engine.Store

	lastCheckpoint time.Time
	closed         bool
	cancel         context.CancelFunc
	done           chan struct{}
	err            atomic.Pointer[error]

	// progress, when set, is told, from the thread's goroutine, how far
	// each partition is applied: once restored, then after each fetch.
	progress func(next map[topicPartition]int64)
}

// startGlobal restores the app's global stores and starts keeping them up to
// date; it returns nil when the topology has none. state is where the
// instance keeps its state: the global stores live in its "global"
// directory.
func startGlobal(ctx context.Context, a *App, state engine.StateConfig, log *slog.Logger) (*globalThread, error) {
	if len(a.top.Globals) == 0 {
		return nil, nil
	}
	opts := a.cfg.clientOptions(
		kgo.SeedBrokers(a.cfg.Brokers...),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		// Transaction markers occupy offsets; seeing them tells where
		// a partition's read_committed log ends.
		kgo.KeepControlRecords(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("strata: create global Kafka client: %w", err)
	}
	g := &globalThread{
		app:    a,
		log:    log.With("task", engine.GlobalTaskID.String()),
		cl:     cl,
		inputs: map[topicPartition]*engine.Input{},
		next:   map[topicPartition]int64{},
		stores: map[string]engine.Store{},
		done:   make(chan struct{}),

		progress: a.onGlobalProgress,
	}
	if err := g.open(ctx, state); err != nil {
		g.cl.Close()
		if g.task != nil {
			err = errors.Join(err, g.task.Close())
		}
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	g.cancel = cancel
	go g.run(runCtx)
	return g, nil
}

// open creates the global task and restores its stores. Local state that
// cannot be trusted (corrupt.go), for instance a checkpoint that does not
// fit the topics (one was recreated, say), is wiped and restored from the
// beginning.
func (g *globalThread) open(ctx context.Context, state engine.StateConfig) error {
	topics := g.app.top.GlobalTopics()
	partitions, err := g.partitions(ctx, topics)
	if err != nil {
		return err
	}
	ends, err := kadm.NewClient(g.cl).ListCommittedOffsets(ctx, topics...)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return fmt.Errorf("strata: list end offsets of global topics %q: %w", topics, err)
	}
	start, err := g.createTask(partitions, state)
	if err == nil {
		err = g.checkStart(start, ends)
	}
	if errors.Is(err, errStaleCheckpoint) || errors.Is(err, errUntrusted) {
		if err = g.app.wipeUntrusted(g.log, g.task, err); err == nil {
			g.task = nil
			start, err = g.createTask(partitions, state)
			clear(start)
		}
	}
	if err != nil {
		return fmt.Errorf("strata: open global stores: %w", err)
	}
	want := map[string]map[int32]kgo.Offset{}
	for _, in := range g.task.Inputs() {
		tp := topicPartition{in.Topic, in.Partition}
		g.inputs[tp] = in
		g.next[tp] = start[tp]
		if want[in.Topic] == nil {
			want[in.Topic] = map[int32]kgo.Offset{}
		}
		want[in.Topic][in.Partition] = kgo.NewOffset().At(start[tp])
	}
	g.cl.AddConsumePartitions(want)
	if err := g.restore(ctx, ends); err != nil {
		return fmt.Errorf("strata: restore global stores: %w", err)
	}
	if err := g.checkpoint(); err != nil {
		return err
	}
	if err := g.task.Init(); err != nil {
		return fmt.Errorf("strata: open global stores: %w", err)
	}
	return nil
}

// partitions returns the partition count of each global topic.
func (g *globalThread) partitions(ctx context.Context, topics []string) (map[string]int, error) {
	details, err := kadm.NewClient(g.cl).ListTopics(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("strata: look up global topics: %w", err)
	}
	out := map[string]int{}
	var missing []string
	for _, t := range topics {
		d, ok := details[t]
		switch {
		case !ok || errors.Is(d.Err, kerr.UnknownTopicOrPartition):
			missing = append(missing, t)
		case d.Err != nil:
			return nil, fmt.Errorf("strata: look up global topic %q: %w", t, d.Err)
		default:
			out[t] = len(d.Partitions)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("strata: global table topics do not exist: %q", missing)
	}
	return out, nil
}

// createTask makes the global task, opens its stores and reads its
// checkpoint: the offset to resume each partition from.
func (g *globalThread) createTask(partitions map[string]int, state engine.StateConfig) (map[topicPartition]int64, error) {
	cfg := g.app.cfg
	t, err := engine.NewGlobalTask(g.app.top, partitions, engine.TaskConfig{
		ApplicationID: cfg.ApplicationID,
		Collector:     noOutput{},
		Logger:        g.log,
		OnBadRecord:   engine.BadRecordPolicy(cfg.OnBadRecord),
		Now:           time.Now,
		State:         state,
	})
	if err != nil {
		return nil, err
	}
	g.task = t
	for topic := range partitions {
		g.stores[topic] = t.StoreByName(g.app.top.GlobalStoreOf(topic))
	}
	if err := t.InitStores(); err != nil {
		return nil, untrustedIfCorrupt(err)
	}
	cp, err := readCheckpoint(t.StateDir())
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errUntrusted, err)
	}
	if err := matchCheckpoint(t, cp); err != nil {
		return nil, err
	}
	start := map[topicPartition]int64{}
	for key, off := range cp {
		tp, ok := parseGlobalCheckpointKey(key)
		if !ok {
			return nil, fmt.Errorf("global checkpoint: bad entry %q: %w", key, errStaleCheckpoint)
		}
		start[tp] = off
	}
	return start, nil
}

// checkStart reports a checkpoint past the end of its partition.
func (g *globalThread) checkStart(start map[topicPartition]int64, ends kadm.ListedOffsets) error {
	for tp, off := range start {
		lo, ok := ends.Lookup(tp.topic, tp.partition)
		if !ok || off > lo.Offset {
			return fmt.Errorf("checkpoint offset %d of %s[%d] is past its end %d: %w", off, tp.topic, tp.partition, lo.Offset, errStaleCheckpoint)
		}
	}
	return nil
}

// restore writes the records of every global partition, from where the
// checkpoint left off to the end listed before, into the stores as raw
// changelog records, as Kafka Streams restores global stores: the update
// processors run only for records that arrive afterwards.
func (g *globalThread) restore(ctx context.Context, ends kadm.ListedOffsets) error {
	behind := map[topicPartition]int64{}
	for tp, next := range g.next {
		if lo, _ := ends.Lookup(tp.topic, tp.partition); next < lo.Offset {
			behind[tp] = lo.Offset
		}
	}
	if len(behind) == 0 {
		return nil
	}
	began := time.Now()
	var restored int64
	skipped := g.task.Metrics.SkippedRecords
	defer func() { g.app.metrics.skipped.Add(g.task.Metrics.SkippedRecords - skipped) }()
	g.log.Info("restoring global stores", "partitions", len(behind))
	// Each partition behind is reported as a store's restoration of
	// its own, under the task ID "global_<partition>".
	plans := make(map[topicPartition]*restorePlan, len(behind))
	for tp, end := range behind {
		p := &restorePlan{store: g.stores[tp.topic], topic: tp.topic, start: g.next[tp], end: end, next: g.next[tp]}
		plans[tp] = p
		g.app.restoreStarted(g.log, globalTaskID(tp.partition), p)
	}
	var batch []*kgo.Record
	for len(behind) > 0 {
		fetches := g.cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fetchError(fetches); err != nil {
			return err
		}
		var err error
		fetches.EachPartition(func(fp kgo.FetchTopicPartition) {
			if err != nil || len(fp.Records) == 0 {
				return
			}
			tp := topicPartition{fp.Topic, fp.Partition}
			batch = batch[:0]
			for _, rec := range fp.Records {
				g.next[tp] = rec.Offset + 1
				if !rec.Attrs.IsControl() {
					batch = append(batch, rec)
				}
			}
			if len(batch) > 0 {
				if err = g.stores[fp.Topic].Restore(batch); err != nil {
					return
				}
				restored += int64(len(batch))
				if p := plans[tp]; p != nil {
					p.next = g.next[tp]
					g.app.restoredBatch(globalTaskID(tp.partition), p, len(batch))
				} else {
					g.app.metrics.restored.Add(int64(len(batch)))
				}
			}
			if end, ok := behind[tp]; ok && g.next[tp] >= end {
				delete(behind, tp)
				g.app.restoreEnded(g.log, globalTaskID(tp.partition), plans[tp], time.Since(began))
			}
		})
		clear(batch)
		if err != nil {
			return err
		}
	}
	took := time.Since(began)
	g.log.Info("restored global stores", "records", restored, "took", took)
	return nil
}

// globalTaskID is the task ID under which the restoration of partition p of
// a global topic is reported: "global_<p>".
func globalTaskID(p int32) topology.TaskID {
	return topology.TaskID{Subtopology: engine.GlobalTaskID.Subtopology, Partition: p}
}

// run applies updates until ctx is cancelled or applying fails.
func (g *globalThread) run(ctx context.Context) {
	defer close(g.done)
	interval := g.app.cfg.CommitInterval
	if g.progress != nil {
		g.progress(g.next)
	}
	for {
		fetches := g.cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return
		}
		err := g.apply(fetches)
		if err == nil && time.Since(g.lastCheckpoint) >= interval {
			err = g.checkpoint()
		}
		if err != nil {
			g.log.Error("global stores stopped", "err", err)
			g.err.Store(&err)
			return
		}
		if g.progress != nil {
			g.progress(g.next)
		}
	}
}

// apply hands fetched records to the global task, which runs them through
// the update processors.
func (g *globalThread) apply(fetches kgo.Fetches) error {
	if err := fetchError(fetches); err != nil {
		return err
	}
	m := &g.task.Metrics
	skipped, dropped := m.SkippedRecords, m.DroppedRecords
	defer func() {
		g.app.metrics.skipped.Add(m.SkippedRecords - skipped)
		g.app.metrics.dropped.Add(m.DroppedRecords - dropped)
	}()
	var err error
	fetches.EachPartition(func(fp kgo.FetchTopicPartition) {
		tp := topicPartition{fp.Topic, fp.Partition}
		for _, rec := range fp.Records {
			if err != nil {
				return
			}
			g.next[tp] = rec.Offset + 1
			if !rec.Attrs.IsControl() {
				err = g.task.Add(g.inputs[tp], rec)
			}
		}
	})
	if err == nil {
		err = g.task.ProcessAll()
	}
	if err != nil {
		return fmt.Errorf("strata: update global stores: %w", err)
	}
	return nil
}

// fetchError returns the first fetch error that is not the end of a poll.
func fetchError(fetches kgo.Fetches) error {
	var err error
	fetches.EachError(func(topic string, p int32, ferr error) {
		if err == nil && !errors.Is(ferr, context.Canceled) && !errors.Is(ferr, context.DeadlineExceeded) && !errors.Is(ferr, kgo.ErrClientClosed) {
			err = fmt.Errorf("strata: fetch global topic %s[%d]: %w", topic, p, ferr)
		}
	})
	return err
}

// checkpoint makes the global state durable and records the offsets it
// covers, so that the next start reads only what follows.
func (g *globalThread) checkpoint() error {
	g.lastCheckpoint = time.Now()
	offsets := make(map[string]int64, len(g.next))
	for tp, off := range g.next {
		offsets[globalCheckpointKey(tp)] = off
	}
	if err := checkpointState(g.task, offsets); err != nil {
		return fmt.Errorf("strata: global stores: %w", err)
	}
	return nil
}

// globalCheckpointKey names a partition in the global checkpoint as Kafka
// prints a TopicPartition: "topic-partition".
func globalCheckpointKey(tp topicPartition) string {
	return tp.topic + "-" + strconv.Itoa(int(tp.partition))
}

func parseGlobalCheckpointKey(key string) (topicPartition, bool) {
	i := strings.LastIndexByte(key, '-')
	if i <= 0 {
		return topicPartition{}, false
	}
	p, err := strconv.ParseInt(key[i+1:], 10, 32)
	if err != nil || p < 0 {
		return topicPartition{}, false
	}
	return topicPartition{key[:i], int32(p)}, true
}

// Err returns the error that stopped the global thread, or nil while it runs
// (or when g is nil: the app has no global stores).
func (g *globalThread) Err() error {
	if g == nil {
		return nil
	}
	if p := g.err.Load(); p != nil {
		return *p
	}
	return nil
}

// globalTask is the task whose stores other tasks read, or nil.
func (g *globalThread) globalTask() *engine.Task {
	if g == nil {
		return nil
	}
	return g.task
}

// close stops the thread and closes the global stores. With clean set, and
// the thread not failed, it checkpoints them first. Call it after the tasks,
// which read the stores, are closed.
func (g *globalThread) close(clean bool) error {
	if g == nil || g.closed {
		return nil
	}
	g.closed = true
	g.cancel()
	<-g.done
	var errs []error
	if clean && g.Err() == nil {
		errs = append(errs, g.checkpoint())
	}
	errs = append(errs, g.app.closeState(g.log, g.task))
	g.cl.Close()
	return errors.Join(errs...)
}

// noOutput is the global task's collector: global store processors write no
// output and global stores no changelog.
type noOutput struct{}

func (noOutput) Send(r *kgo.Record) error {
	return fmt.Errorf("global store processors cannot write output (record for topic %q)", r.Topic)
}

func (noOutput) PartitionCount(topic string) (int, error) {
	return 0, fmt.Errorf("global store processors cannot write output (topic %q)", topic)
}
