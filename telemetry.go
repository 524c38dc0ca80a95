package strata

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/strata-go/strata/internal/engine"
)

// An App's OpenTelemetry metrics (Config.MeterProvider), named in
// OpenTelemetry's style, with Kafka Streams' metric set as the checklist:
// thread level (a worker's polls, commits, transactions, rebalances and
// tasks), task level (records processed, dropped by reason, failed; process
// and punctuate latency; consumer lag per partition; restoration), processor
// level (end-to-end latency at each sink; drops by the processor that
// dropped), state store level (sampled get and put latency) and record cache
// level (lookups by result, evictions, size). Every measurement carries the
// attributes "application" and "instance"; the others add "worker", "task",
// "processor", "store" or "topic" and "partition" where they apply.
//
// Nothing here costs an allocation per record. Counts are kept in plain
// fields of the task (engine.Metrics, engine.Task.TakeDrops) and added to
// the atomic counters below once per batch of records; the instruments of
// counts, gauges and lags are observable, read from those counters by one
// callback when the MeterProvider's reader collects. Latencies are recorded
// on synchronous histograms as they are measured, with attribute options
// made once per task, worker, sink or store; those of records and store
// operations are sampled (one in engine.SampleEvery).
//
// The registry outlives a task on its instance: a task that leaves and comes
// back, to the same worker or another, keeps its counters, so that they
// never go back.

// Metric names.
const (
	metricProcessed     = "strata.records.processed"
	metricDropped       = "strata.records.dropped"
	metricFailed        = "strata.records.failed"
	metricProcessDur    = "strata.process.duration"
	metricPunctuateDur  = "strata.punctuate.duration"
	metricRecordLatency = "strata.record.latency"
	metricStoreDur      = "strata.store.operation.duration"
	metricCommits       = "strata.commits"
	metricCommitDur     = "strata.commit.duration"
	metricTransactions  = "strata.transactions"
	metricPollDur       = "strata.poll.duration"
	metricPollRecords   = "strata.poll.records"
	metricLag           = "strata.consumer.lag"
	metricRebalances    = "strata.rebalances"
	metricRebalanceDur  = "strata.rebalance.duration"
	metricTasks         = "strata.tasks"
	metricCacheLookups  = "strata.cache.lookups"
	metricCacheEvicted  = "strata.cache.evictions"
	metricCacheSize     = "strata.cache.size"
	metricStandby       = "strata.standby.records"
	metricFenced        = "strata.fenced"
	metricResets        = "strata.worker.resets"
	metricRebuilt       = "strata.state.rebuilt"
)

// latencyBuckets are the bucket boundaries, in seconds, of the latency
// histograms: from a microsecond (a cached store read) to a minute (a
// rebalance waiting for a member).
var latencyBuckets = []float64{
	1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4,
	1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
}

// taskState is what a task is on this instance, for strata.tasks and the
// admin endpoint's /tasks.
type taskState int32

const (
	taskClosed taskState = iota
	taskRestoring
	taskRunning
	taskStandby
	numTaskStates
)

var taskStateNames = [numTaskStates]string{"closed", "restoring", "running", "standby"}

func (s taskState) String() string { return taskStateNames[s] }

// telemetry is an App's metrics registry and instruments.
type telemetry struct {
	base []attribute.KeyValue // application, instance

	processDur, punctuateDur, recordLatency, storeDur metric.Float64Histogram
	commitDur, pollDur, rebalanceDur                  metric.Float64Histogram
	pollRecords                                       metric.Int64Histogram

	workers []*workerStats

	mu sync.Mutex
	// tasks are every task this instance has run, actively or as a
	// standby.
	tasks map[engine.TaskID]*taskStats
}

// workerStats are one worker's counters and attributes.
type workerStats struct {
	index int
	// opts carry the worker's attributes; states those of strata.tasks
	// by state.
	opts   []metric.RecordOption
	set    attribute.Set
	states [numTaskStates]attribute.Set
	hit    attribute.Set
	miss   attribute.Set
	// committed and aborted carry the outcome of strata.transactions.
	committed, aborted attribute.Set

	commits, txnCommitted, txnAborted, rebalances atomic.Int64
	cacheHits, cacheMisses, cacheEvictions        atomic.Int64
	cacheBytes                                    atomic.Int64
	// cached is set once the worker has a record cache.
	cached atomic.Bool

	// rebalanceMu guards rebalanceSince, when the worker's current
	// rebalance began (zero outside one).
	rebalanceMu    sync.Mutex
	rebalanceSince time.Time
}

// taskStats are one task's counters on this instance.
type taskStats struct {
	id  engine.TaskID
	set attribute.Set
	// opts carry the task's attributes for its histograms.
	opts []metric.RecordOption

	processed                          atomic.Int64
	failedProcessing, failedProduction attribute.Set
	failedProc, failedProd             atomic.Int64

	// mu guards the fields below.
	mu     sync.Mutex
	worker int // the worker running it, -1 when none
	state  taskState
	// active is set once a worker ran the task as an active task: its
	// counts are reported from then on.
	active bool
	drops  map[dropKey]*dropStat
	parts  []*partStats
	stores []*storeStats
}

type dropKey struct {
	node   string
	reason engine.DropReason
}

type dropStat struct {
	set attribute.Set
	n   atomic.Int64
}

// partStats are one input partition's position and end, for its lag.
type partStats struct {
	topic     string
	partition int32
	set       attribute.Set
	// position is the offset of the task's first record not processed;
	// end the partition's last stable offset, as last fetched. -1 while
	// unknown.
	position, end atomic.Int64
}

// storeStats are one store's restoration progress: how many changelog
// offsets it still has to restore, or, for a standby task, how far its
// replica is behind the changelog's end as last fetched (-1 while unknown).
type storeStats struct {
	store, changelog string
	remaining        atomic.Int64
}

// newTelemetry creates an App's instruments on mp and registers the
// callbacks of its observable ones; am are the App's counters.
func newTelemetry(mp metric.MeterProvider, cfg *Config, am *metrics) (*telemetry, error) {
	tel := &telemetry{
		base:  []attribute.KeyValue{attribute.String("application", cfg.ApplicationID), attribute.String("instance", cfg.InstanceID)},
		tasks: map[engine.TaskID]*taskStats{},
	}
	m := mp.Meter(meterName)
	var errs []error
	hist := func(name, desc string) metric.Float64Histogram {
		h, err := m.Float64Histogram(name, metric.WithUnit("s"), metric.WithDescription(desc), metric.WithExplicitBucketBoundaries(latencyBuckets...))
		errs = append(errs, err)
		return h
	}
	tel.processDur = hist(metricProcessDur, "Time to process one input record and everything it causes downstream; one record in 64 is timed.")
	tel.punctuateDur = hist(metricPunctuateDur, "Time one punctuation took.")
	tel.recordLatency = hist(metricRecordLatency, "End-to-end latency of records written by a sink: the wall-clock time they are written less their timestamp; one output in 64 is measured.")
	tel.storeDur = hist(metricStoreDur, "Time one read (get) or write (put) of a state store took, serdes and record cache included; one operation in 64 is timed.")
	tel.commitDur = hist(metricCommitDur, "Time a worker's successful commit took: flushing stores and output, and committing offsets or the transaction.")
	tel.pollDur = hist(metricPollDur, "Time a worker's poll for records took, waiting included.")
	tel.rebalanceDur = hist(metricRebalanceDur, "Time from the start of a worker's rebalance (or its join) to its assignment.")
	var err error
	tel.pollRecords, err = m.Int64Histogram(metricPollRecords, metric.WithUnit("{record}"), metric.WithDescription("Records a worker's poll returned."))
	errs = append(errs, err)

	counter := func(name, unit, desc string) metric.Int64ObservableCounter {
		c, err := m.Int64ObservableCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return c
	}
	gauge := func(name, unit, desc string) metric.Int64ObservableGauge {
		g, err := m.Int64ObservableGauge(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return g
	}
	processed := counter(metricProcessed, "{record}", "Input records processed.")
	dropped := counter(metricDropped, "{record}", "Records dropped on purpose, by reason: null_key, null_value, late (too late for a stream-stream join), expired_window (past a window's grace), stale_response (a foreign-key join's), bad_record (undecodable input skipped or dead-lettered by OnBadRecord), other; with the processor that dropped it.")
	failed := counter(metricFailed, "{record}", "Records a processor failed (reason processing) or whose output could not be produced (reason production) that OnProcessingError or OnProductionError skipped or dead-lettered.")
	commits := counter(metricCommits, "{commit}", "Successful commits: offset commits under at-least-once, transactions under exactly-once.")
	txns := counter(metricTransactions, "{transaction}", "Transactions ended under exactly-once, by outcome: committed or aborted.")
	rebalances := counter(metricRebalances, "{rebalance}", "Rebalances a worker went through, its first join included.")
	lookups := counter(metricCacheLookups, "{lookup}", "Record cache lookups, by result: hit or miss.")
	evictions := counter(metricCacheEvicted, "{entry}", "Record cache entries evicted to stay within the budget.")
	standby := counter(metricStandby, "{record}", "Changelog records applied to standby replicas.")
	fenced := counter(metricFenced, "{fencing}", "Times a worker's transactional producer was fenced and the worker rejoined the group.")
	resets := counter(metricResets, "{reset}", "Times a worker dropped its uncommitted state and joined the group with a new Kafka client.")
	rebuilt := counter(metricRebuilt, "{rebuild}", "Times local state that could not be trusted (corrupt, or not matching its checkpoint) was wiped and restored from the changelogs.")
	lag := gauge(metricLag, "{record}", "Records of an input partition its task has not processed yet: the partition's last stable offset, as last fetched, less the task's position.")
	tasks := gauge(metricTasks, "{task}", "Tasks of a worker by state: restoring, running (active and restored) or standby.")
	cacheSize := gauge(metricCacheSize, "By", "Bytes the record cache's entries count for.")
	for _, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("strata: create metrics: %w", err)
		}
	}
	for i := range cfg.Workers {
		tel.workers = append(tel.workers, tel.newWorkerStats(i))
	}
	app := metric.WithAttributeSet(attribute.NewSet(tel.base...))
	_, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		tel.mu.Lock()
		defer tel.mu.Unlock()
		for _, ts := range tel.tasks {
			ts.mu.Lock()
			if ts.active {
				o.ObserveInt64(processed, ts.processed.Load(), metric.WithAttributeSet(ts.set))
				o.ObserveInt64(failed, ts.failedProc.Load(), metric.WithAttributeSet(ts.failedProcessing))
				o.ObserveInt64(failed, ts.failedProd.Load(), metric.WithAttributeSet(ts.failedProduction))
			}
			for _, d := range ts.drops {
				o.ObserveInt64(dropped, d.n.Load(), metric.WithAttributeSet(d.set))
			}
			if ts.worker >= 0 && ts.state == taskRunning {
				for _, p := range ts.parts {
					if pos, end := p.position.Load(), p.end.Load(); pos >= 0 && end >= 0 {
						o.ObserveInt64(lag, max(end-pos, 0), metric.WithAttributeSet(p.set))
					}
				}
			}
			ts.mu.Unlock()
		}
		var states [][numTaskStates]int64
		for range tel.workers {
			states = append(states, [numTaskStates]int64{})
		}
		for _, ts := range tel.tasks {
			ts.mu.Lock()
			if ts.worker >= 0 && ts.worker < len(states) {
				states[ts.worker][ts.state]++
			}
			ts.mu.Unlock()
		}
		for i, ws := range tel.workers {
			attrs := metric.WithAttributeSet(ws.set)
			o.ObserveInt64(commits, ws.commits.Load(), attrs)
			o.ObserveInt64(txns, ws.txnCommitted.Load(), metric.WithAttributeSet(ws.committed))
			o.ObserveInt64(txns, ws.txnAborted.Load(), metric.WithAttributeSet(ws.aborted))
			o.ObserveInt64(rebalances, ws.rebalances.Load(), attrs)
			for s := taskRestoring; s < numTaskStates; s++ {
				o.ObserveInt64(tasks, states[i][s], metric.WithAttributeSet(ws.states[s]))
			}
			if ws.cached.Load() {
				o.ObserveInt64(lookups, ws.cacheHits.Load(), metric.WithAttributeSet(ws.hit))
				o.ObserveInt64(lookups, ws.cacheMisses.Load(), metric.WithAttributeSet(ws.miss))
				o.ObserveInt64(evictions, ws.cacheEvictions.Load(), attrs)
				o.ObserveInt64(cacheSize, ws.cacheBytes.Load(), attrs)
			}
		}
		return nil
	}, processed, dropped, failed, commits, txns, rebalances, lookups, evictions, lag, tasks, cacheSize)
	if err != nil {
		return nil, fmt.Errorf("strata: register metrics callback: %w", err)
	}
	return tel, observeApp(m, am, app, standby, fenced, resets, rebuilt)
}

// appCounters are the App's counters observed with the application's
// attributes only, by their instrument.
var appCounters = []struct {
	name  string
	value func(*metrics) *atomic.Int64
}{
	{metricStandby, func(m *metrics) *atomic.Int64 { return &m.standby }},
	{metricFenced, func(m *metrics) *atomic.Int64 { return &m.fenced }},
	{metricResets, func(m *metrics) *atomic.Int64 { return &m.resets }},
	{metricRebuilt, func(m *metrics) *atomic.Int64 { return &m.rebuilt }},
}

// observeApp registers the callback of am's App-wide counters, insts in
// the order of appCounters.
func observeApp(m metric.Meter, am *metrics, attrs metric.ObserveOption, insts ...metric.Int64ObservableCounter) error {
	obs := make([]metric.Observable, len(insts))
	for i, inst := range insts {
		obs[i] = inst
	}
	_, err := m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		for i, c := range appCounters {
			o.ObserveInt64(insts[i], c.value(am).Load(), attrs)
		}
		return nil
	}, obs...)
	if err != nil {
		return fmt.Errorf("strata: register metrics callback: %w", err)
	}
	return nil
}

func (tel *telemetry) newWorkerStats(i int) *workerStats {
	attrs := func(extra ...attribute.KeyValue) attribute.Set {
		kvs := append(append([]attribute.KeyValue{}, tel.base...), attribute.Int("worker", i))
		return attribute.NewSet(append(kvs, extra...)...)
	}
	ws := &workerStats{index: i, set: attrs()}
	ws.opts = []metric.RecordOption{metric.WithAttributeSet(ws.set)}
	for s := taskRestoring; s < numTaskStates; s++ {
		ws.states[s] = attrs(attribute.String("state", s.String()))
	}
	ws.hit, ws.miss = attrs(attribute.String("result", "hit")), attrs(attribute.String("result", "miss"))
	ws.committed, ws.aborted = attrs(attribute.String("outcome", "committed")), attrs(attribute.String("outcome", "aborted"))
	return ws
}

// task returns task id's stats, creating them on first use.
func (tel *telemetry) task(id engine.TaskID) *taskStats {
	tel.mu.Lock()
	defer tel.mu.Unlock()
	ts := tel.tasks[id]
	if ts == nil {
		kvs := append(append([]attribute.KeyValue{}, tel.base...), attribute.String("task", id.String()))
		ts = &taskStats{id: id, set: attribute.NewSet(kvs...), worker: -1, drops: map[dropKey]*dropStat{}}
		ts.opts = []metric.RecordOption{metric.WithAttributeSet(ts.set)}
		ts.failedProcessing = attribute.NewSet(append(kvs, attribute.String("reason", "processing"))...)
		ts.failedProduction = attribute.NewSet(append(kvs, attribute.String("reason", "production"))...)
		tel.tasks[id] = ts
	}
	return ts
}

// opened records that worker runs t, in state (restoring or running for an
// active task, standby).
func (tel *telemetry) opened(worker int, t *engine.Task, state taskState) {
	ts := tel.task(t.ID)
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.worker, ts.state = worker, state
	if state == taskStandby {
		return
	}
	ts.active = true
	if len(ts.parts) != len(t.Inputs()) {
		ts.parts = ts.parts[:0]
		for _, in := range t.Inputs() {
			kvs := append(append([]attribute.KeyValue{}, tel.base...), attribute.String("task", t.ID.String()),
				attribute.String("topic", in.Topic), attribute.Int("partition", int(in.Partition)))
			ts.parts = append(ts.parts, &partStats{topic: in.Topic, partition: in.Partition, set: attribute.NewSet(kvs...)})
		}
	}
	for _, p := range ts.parts {
		p.position.Store(-1)
		p.end.Store(-1)
	}
}

// setState records that task id, run by worker, is now in state.
func (tel *telemetry) setState(worker int, id engine.TaskID, state taskState) {
	ts := tel.task(id)
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.worker == worker {
		ts.state = state
	}
}

// closed records that worker no longer runs task id (actively or as a
// standby). Another worker may have opened it meanwhile: then nothing
// changes.
func (tel *telemetry) closed(worker int, id engine.TaskID) {
	ts := tel.task(id)
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.worker == worker {
		ts.worker, ts.state = -1, taskClosed
		ts.stores = nil
	}
}

// part returns the stats of t's input in, or nil.
func (ts *taskStats) part(in *engine.Input) *partStats {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for _, p := range ts.parts {
		if p.topic == in.Topic && p.partition == in.Partition {
			return p
		}
	}
	return nil
}

// store returns the restoration stats of the task's store, changelog.
func (ts *taskStats) store(store, changelog string) *storeStats {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for _, s := range ts.stores {
		if s.store == store {
			return s
		}
	}
	s := &storeStats{store: store, changelog: changelog}
	s.remaining.Store(-1)
	ts.stores = append(ts.stores, s)
	return s
}

// publish adds what t counted since the last call: records processed,
// failed and dropped. failed are records that failed processing
// (production set: whose output could not be produced). Called by the
// goroutine running t, once per batch.
func (ts *taskStats) publish(t *engine.Task, processed, failed int64, production bool) {
	if processed > 0 {
		ts.processed.Add(processed)
	}
	if failed > 0 {
		if production {
			ts.failedProd.Add(failed)
		} else {
			ts.failedProc.Add(failed)
		}
	}
	t.TakeDrops(ts.addDrops)
}

// addDrops counts n records dropped by node for reason.
func (ts *taskStats) addDrops(node string, reason engine.DropReason, n int64) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	k := dropKey{node, reason}
	d := ts.drops[k]
	if d == nil {
		kvs := []attribute.KeyValue{attribute.String("reason", reason.String())}
		if node != "" {
			kvs = append(kvs, attribute.String("processor", node))
		}
		d = &dropStat{set: attribute.NewSet(append(ts.set.ToSlice(), kvs...)...)}
		ts.drops[k] = d
	}
	d.n.Add(n)
}

// positions records where t's inputs stand after processing.
func (ts *taskStats) positions(t *engine.Task) {
	ts.mu.Lock()
	parts := ts.parts
	ts.mu.Unlock()
	for i, in := range t.Inputs() {
		if i < len(parts) {
			parts[i].position.Store(in.Position())
		}
	}
}

// taskObserver is the engine.Observer of one task: it records the task's
// latencies on the App's histograms with the task's attributes, and those
// of its sinks and stores, made on first use.
type taskObserver struct {
	tel    *telemetry
	ts     *taskStats
	sinks  map[string][]metric.RecordOption
	stores map[storeOpKey][]metric.RecordOption
}

type storeOpKey struct {
	store string
	op    engine.StoreOp
}

func (tel *telemetry) observer(ts *taskStats) *taskObserver {
	return &taskObserver{tel: tel, ts: ts}
}

// statsOf returns the stats of a task the runtime created, nil for one it
// did not.
func statsOf(t *engine.Task) *taskStats {
	if o, ok := t.Config().Observer.(*taskObserver); ok {
		return o.ts
	}
	return nil
}

func (o *taskObserver) Processed(d time.Duration) {
	o.tel.processDur.Record(context.Background(), d.Seconds(), o.ts.opts...)
}

func (o *taskObserver) Punctuated(d time.Duration) {
	o.tel.punctuateDur.Record(context.Background(), d.Seconds(), o.ts.opts...)
}

func (o *taskObserver) Emitted(sink string, latency time.Duration) {
	opts := o.sinks[sink]
	if opts == nil {
		if o.sinks == nil {
			o.sinks = map[string][]metric.RecordOption{}
		}
		set := attribute.NewSet(append(o.ts.set.ToSlice(), attribute.String("processor", sink))...)
		opts = []metric.RecordOption{metric.WithAttributeSet(set)}
		o.sinks[sink] = opts
	}
	o.tel.recordLatency.Record(context.Background(), max(latency.Seconds(), 0), opts...)
}

func (o *taskObserver) StoreOp(store string, op engine.StoreOp, d time.Duration) {
	k := storeOpKey{store, op}
	opts := o.stores[k]
	if opts == nil {
		if o.stores == nil {
			o.stores = map[storeOpKey][]metric.RecordOption{}
		}
		set := attribute.NewSet(append(o.ts.set.ToSlice(), attribute.String("store", store), attribute.String("operation", op.String()))...)
		opts = []metric.RecordOption{metric.WithAttributeSet(set)}
		o.stores[k] = opts
	}
	o.tel.storeDur.Record(context.Background(), d.Seconds(), opts...)
}

// rebalancing records that worker's rebalance begins (its first join, a
// revocation, lost partitions), unless one is under way.
func (ws *workerStats) rebalancing() {
	ws.rebalanceMu.Lock()
	defer ws.rebalanceMu.Unlock()
	if ws.rebalanceSince.IsZero() {
		ws.rebalanceSince = time.Now()
	}
}

// inRebalance reports whether the worker is in a rebalance: it began one
// (or joined the group) and has not had its assignment since.
func (ws *workerStats) inRebalance() bool {
	ws.rebalanceMu.Lock()
	defer ws.rebalanceMu.Unlock()
	return !ws.rebalanceSince.IsZero()
}

// assigned records that the worker's rebalance ended with an assignment.
func (tel *telemetry) assigned(ws *workerStats) {
	ws.rebalanceMu.Lock()
	since := ws.rebalanceSince
	ws.rebalanceSince = time.Time{}
	ws.rebalanceMu.Unlock()
	if since.IsZero() {
		return
	}
	ws.rebalances.Add(1)
	tel.rebalanceDur.Record(context.Background(), time.Since(since).Seconds(), ws.opts...)
}

// polled records a poll of the worker that took d and returned n records.
func (tel *telemetry) polled(ws *workerStats, d time.Duration, n int) {
	tel.pollDur.Record(context.Background(), d.Seconds(), ws.opts...)
	tel.pollRecords.Record(context.Background(), int64(n), ws.opts...)
}

// committed records a successful commit of the worker that took d.
func (tel *telemetry) committed(ws *workerStats, d time.Duration) {
	ws.commits.Add(1)
	tel.commitDur.Record(context.Background(), d.Seconds(), ws.opts...)
}

// cache publishes the worker's record cache counters.
func (ws *workerStats) cache(c *engine.RecordCache) {
	if c == nil {
		return
	}
	s := c.Stats()
	ws.cacheHits.Store(s.Hits)
	ws.cacheMisses.Store(s.Misses)
	ws.cacheEvictions.Store(s.Evictions)
	ws.cacheBytes.Store(s.Bytes)
	ws.cached.Store(true)
}
