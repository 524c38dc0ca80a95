package testutil

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/metric"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/strata-go/strata/deadletter"
	"github.com/strata-go/strata/internal/engine"
	"github.com/strata-go/strata/internal/kv"
	"github.com/strata-go/strata/topology"
)

// Config configures a Driver. The zero Config is ready to use.
type Config struct {
	// ApplicationID names the application; internal topics are prefixed
	// with it. Default "test".
	ApplicationID string
	// Partitions gives topics more than one partition. Topics not listed
	// have one.
	Partitions map[string]int
	// StartTime is the initial wall-clock time, and the timestamp of the
	// first record piped without one. Default: the Unix epoch.
	StartTime time.Time
	// OnBadRecord says what happens to input records that cannot be
	// decoded. Default topology.BadRecordFail.
	OnBadRecord topology.BadRecordPolicy
	// OnProcessingError says what happens to a record a processor fails
	// (a topology.ProcessingError), or whose processing panics (a
	// topology.PanicError): by default, the error is returned (PipeRaw,
	// TryPipe) or fails the test; see strata.Config.
	OnProcessingError topology.BadRecordPolicy
	// OnProductionError says what happens to a record whose output a sink
	// cannot serialize (a topology.SerializationError): by default the
	// error is returned or fails the test; see strata.Config. (The
	// driver's topics take any record, so no other production error
	// happens here.)
	OnProductionError topology.BadRecordPolicy
	// DeadLetterTopic is where topology.BadRecordDeadLetter writes bad
	// and failed records, and outcome handlers their dead set; read them
	// with NewOutputTopic.
	// Default "<ApplicationID>-dead-letter" (deadletter.DefaultTopic).
	DeadLetterTopic string
	// Logger receives the tasks' logs. Default: discarded.
	Logger *slog.Logger
	// MeterProvider receives the OpenTelemetry metrics nodes record,
	// such as the outcome handlers' (kstream's Stream.Handle): give it a
	// provider with a manual reader to test them. Default: a no-op
	// provider.
	MeterProvider metric.MeterProvider
	// CacheMaxBytes is the budget of the record cache that stores with
	// caching on (state.Caching) share. Default 0: no cache, every store
	// writes through, and tests see every update. The driver commits
	// after every input record, as Kafka's TopologyTestDriver does, and a
	// commit flushes the cache: with a budget, caching only collapses the
	// updates made while one input record (and everything it causes) is
	// processed, exactly as in Kafka's driver. Negative is an error.
	CacheMaxBytes int64
}

// Driver runs a topology in memory. Create one with [NewDriver]. A Driver is
// not safe for concurrent use.
type Driver struct {
	tb     testing.TB
	cfg    Config
	top    *engine.Topology
	tasks  map[engine.TaskID]*engine.Task
	order  []*engine.Task
	topics map[string]*topicLog
	// pending holds records written to topics the topology reads, waiting
	// to be processed.
	pending []pendingRecord
	// last caches the log sinks wrote to most recently.
	last   *topicLog
	now    time.Time
	closed bool
	// fs holds persistent stores' Pebble files in memory.
	fs vfs.FS
	// blockCache is the Pebble block cache of every task's database.
	blockCache *pebble.Cache
	// internal lists the application's internal topics: repartition
	// topics and changelogs.
	internal map[string]bool
	// global is the task keeping the global stores, or nil.
	global *engine.Task
	// posted is signalled when a processor's work on another goroutine
	// posts to a task (topology.Context.Post).
	posted chan struct{}
}

// topicLog is an in-memory topic: every record written, and a read cursor
// for output-topic readers.
type topicLog struct {
	name       string
	partitions int
	records    []*kgo.Record
	next       []int64 // next offset per partition
	read       int
	rr         uint32 // round-robin for null keys piped in
	produced   bool   // a sink wrote to it
	// inputs route the topic's partitions to the task inputs reading
	// them; nil when the topology does not read the topic.
	inputs []taskInput
}

type taskInput struct {
	task  *engine.Task
	input *engine.Input
}

type pendingRecord struct {
	r  *kgo.Record
	tl *topicLog
}

// NewDriver compiles top into tasks and initialises them. Problems (an
// invalid config, a failing Init) fail the test. The driver closes itself at the end of the
// test.
func NewDriver(tb testing.TB, top *topology.Topology, cfg Config) *Driver {
	tb.Helper()
	d, err := newDriver(tb, top, cfg)
	if err != nil {
		tb.Fatalf("testutil.NewDriver: %v", err)
	}
	tb.Cleanup(func() {
		if err := d.Close(); err != nil {
			tb.Errorf("testutil: closing driver: %v", err)
		}
	})
	return d
}

// driverBlockCache is the size of the block cache the driver's Pebble
// databases share. Their files are in memory, but Pebble still decompresses
// every block it reads that the cache does not hold: with Pebble's default
// private 8 MiB per database, decompressing index blocks took a quarter of a
// stream-stream join's time (BenchmarkStreamsJoin in package join); 32 MiB
// and more took it away, and 64 MiB leaves room for several tasks. Pebble
// allocates cache memory as it fills, so small tests use little.
const driverBlockCache = 64 << 20

func newDriver(tb testing.TB, top *topology.Topology, cfg Config) (_ *Driver, err error) {
	if top == nil {
		return nil, errors.New("nil topology")
	}
	if cfg.ApplicationID == "" {
		cfg.ApplicationID = "test"
	}
	if cfg.StartTime.IsZero() {
		cfg.StartTime = time.UnixMilli(0)
	}
	if !cfg.OnBadRecord.Valid() {
		return nil, fmt.Errorf("Config.OnBadRecord: unknown policy %d", cfg.OnBadRecord)
	}
	if !cfg.OnProcessingError.Valid() {
		return nil, fmt.Errorf("Config.OnProcessingError: unknown policy %d", cfg.OnProcessingError)
	}
	if !cfg.OnProductionError.Valid() {
		return nil, fmt.Errorf("Config.OnProductionError: unknown policy %d", cfg.OnProductionError)
	}
	if cfg.DeadLetterTopic == "" {
		cfg.DeadLetterTopic = deadletter.DefaultTopic(cfg.ApplicationID)
	}
	if cfg.CacheMaxBytes < 0 {
		return nil, fmt.Errorf("Config.CacheMaxBytes = %d: must not be negative", cfg.CacheMaxBytes)
	}
	for t, n := range cfg.Partitions {
		if n < 1 {
			return nil, fmt.Errorf("Config.Partitions[%q] = %d: a topic needs at least one partition", t, n)
		}
	}
	d := &Driver{
		tb:     tb,
		cfg:    cfg,
		top:    engine.Built(*top).Topology().Resolve(cfg.ApplicationID),
		tasks:  map[engine.TaskID]*engine.Task{},
		posted: make(chan struct{}, 1),
		topics: map[string]*topicLog{},
		now:    cfg.StartTime,
		fs:     vfs.NewMem(),
	}
	internal, err := d.top.InternalTopics(cfg.ApplicationID, func(topic string) (int, bool) {
		return d.topic(topic).partitions, true
	})
	if err != nil {
		return nil, err
	}
	d.internal = map[string]bool{}
	for _, it := range internal {
		if got, ok := cfg.Partitions[it.Name]; ok && got != it.Partitions {
			return nil, fmt.Errorf("Config.Partitions[%q] = %d, but the internal topic needs %d, as for %s", it.Name, got, it.Partitions, it.Why)
		}
		tl := d.topic(it.Name)
		tl.partitions, tl.next = it.Partitions, make([]int64, it.Partitions)
		d.internal[it.Name] = true
	}
	// One cache for all tasks: the driver runs them on one goroutine.
	var cache *engine.RecordCache
	if cfg.CacheMaxBytes > 0 {
		cache = engine.NewRecordCache(cfg.CacheMaxBytes)
	}
	var meter metric.Meter
	if cfg.MeterProvider != nil {
		meter = cfg.MeterProvider.Meter("github.com/strata-go/strata")
	}
	d.blockCache = pebble.NewCache(driverBlockCache)
	defer func() {
		if err != nil {
			d.blockCache.Unref() // databases opened hold their own references
		}
	}()
	// Files live in memory: a write-ahead log would protect nothing and
	// cost a copy of every write. As in the runtime, task databases
	// buffer their writes (each is used by its task's goroutine only),
	// and the global one does not (tasks read it through views).
	openDB := func(buffer int) func(dir string) (engine.TaskStorage, error) {
		return func(dir string) (engine.TaskStorage, error) {
			return kv.OpenPebble(dir, kv.PebbleOptions{FS: d.fs, DisableWAL: true, Cache: d.blockCache, WriteBuffer: buffer})
		}
	}
	stateCfg := engine.StateConfig{Dir: "/state", Open: openDB(kv.DefaultWriteBuffer)}
	if err := d.openGlobal(engine.StateConfig{Dir: stateCfg.Dir, Open: openDB(0)}); err != nil {
		return nil, err
	}
	for _, st := range d.top.Subtopologies {
		// As in Kafka Streams, a sub-topology has as many tasks as its
		// largest input topic has partitions.
		n := 0
		for _, topic := range st.SourceTopics {
			n = max(n, d.topic(topic).partitions)
		}
		for p := 0; p < n; p++ {
			task, err := engine.NewTask(d.top, st, int32(p), engine.TaskConfig{
				ApplicationID:     cfg.ApplicationID,
				Collector:         (*collector)(d),
				Logger:            cfg.Logger,
				OnBadRecord:       engine.BadRecordPolicy(cfg.OnBadRecord),
				OnProcessingError: engine.BadRecordPolicy(cfg.OnProcessingError),
				OnProductionError: engine.BadRecordPolicy(cfg.OnProductionError),
				DeadLetterTopic:   cfg.DeadLetterTopic,
				Now:               func() time.Time { return d.now },
				State:             stateCfg,
				Cache:             cache,
				Global:            d.global,
				Meter:             meter,
				OnPost: func(*engine.Task) {
					select {
					case d.posted <- struct{}{}:
					default:
					}
				},
			})
			if err != nil {
				return nil, err
			}
			d.tasks[task.ID] = task
			d.order = append(d.order, task)
		}
	}
	for _, t := range d.order {
		for _, in := range t.Inputs() {
			tl := d.topic(in.Topic)
			if tl.inputs == nil {
				tl.inputs = make([]taskInput, tl.partitions)
			}
			if int(in.Partition) < tl.partitions {
				tl.inputs[in.Partition] = taskInput{task: t, input: in}
			}
		}
	}
	for _, t := range d.order {
		if err := t.InitStores(); err != nil {
			return nil, err
		}
		if err := t.Init(); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// topic returns the log of name, creating it.
func (d *Driver) topic(name string) *topicLog {
	if tl, ok := d.topics[name]; ok {
		return tl
	}
	n := d.cfg.Partitions[name]
	if n == 0 {
		n = 1
	}
	tl := &topicLog{name: name, partitions: n, next: make([]int64, n)}
	d.topics[name] = tl
	return tl
}

// append writes r to its topic, setting its offset, and queues it for
// processing if the topology reads the topic. Only records written by sinks
// are kept for output readers; piped records need only their offsets.
func (d *Driver) append(tl *topicLog, r *kgo.Record, fromSink bool) {
	r.Offset = tl.next[r.Partition]
	tl.next[r.Partition]++
	if fromSink {
		if tl.read > 0 && tl.read == len(tl.records) {
			// Every record was read: drop them rather than grow.
			clear(tl.records)
			tl.records, tl.read = tl.records[:0], 0
		}
		tl.records = append(tl.records, r)
	}
	if tl.inputs != nil {
		d.pending = append(d.pending, pendingRecord{r, tl})
	}
}

// run processes pending records, in the order they were written, until none
// is left. Each record is processed to completion, with everything it
// causes, before the next.
func (d *Driver) run() error {
	// pending grows while records cause more records; it is drained from
	// the front and its array reused once empty.
	defer func() {
		clear(d.pending)
		d.pending = d.pending[:0]
	}()
	for i := 0; ; i++ {
		if i == len(d.pending) {
			if err := d.settle(); err != nil {
				return err
			}
		}
		if i == len(d.pending) {
			// The commit flushes caches, which may write records
			// the topology reads (a cached table upstream of a
			// repartition): process those too, then commit again.
			if err := d.commit(); err != nil {
				return err
			}
			if i == len(d.pending) {
				return nil
			}
		}
		p := d.pending[i]
		ti := p.tl.inputs[p.r.Partition]
		if err := ti.task.Add(ti.input, p.r); err != nil {
			return err
		}
		if err := ti.task.ProcessAll(); err != nil {
			return err
		}
		if err := d.settle(); err != nil {
			return err
		}
	}
}

// settleTimeout bounds how long the driver waits for a record a processor
// finishes on another goroutine (topology.Context.Hold).
const settleTimeout = 30 * time.Second

// settle waits until no task has a pending record, running what the
// processors' work posts, so that a record held by a processor is finished,
// with everything it causes, before the next is processed.
// The deadline's timer is made only once a record is found held, so that
// settling after a record no processor held costs no allocation.
func (d *Driver) settle() error {
	var deadline *time.Timer
	defer func() {
		if deadline != nil {
			deadline.Stop()
		}
	}()
	for {
		pending := 0
		for _, t := range d.order {
			if err := t.RunPosted(); err != nil {
				return err
			}
			pending += t.Pending()
		}
		if pending == 0 {
			return nil
		}
		if deadline == nil {
			deadline = time.NewTimer(settleTimeout)
		}
		select {
		case <-d.posted:
		case <-deadline.C:
			return fmt.Errorf("testutil: %d records held by processors (Context.Hold) were not done within %v", pending, settleTimeout)
		}
	}
}

// commit is the driver's commit after every input record, as in Kafka's
// driver: stores flush their caches, so tests see every update. Output bytes
// are kept by the in-memory topics, so task output buffers are never
// released.
func (d *Driver) commit() error {
	for _, t := range d.order {
		if err := t.FlushStores(); err != nil {
			return err
		}
	}
	return nil
}

// AdvanceWallClockTime moves the wall clock forward by step, fires the
// wall-clock punctuations that are due and processes the records tasks held
// back until a time now passed (records of a source with a due time, or
// records a node asked to be delivered again later), in task order.
func (d *Driver) AdvanceWallClockTime(step time.Duration) {
	d.tb.Helper()
	if step < 0 {
		d.tb.Fatalf("testutil: AdvanceWallClockTime(%v): time cannot go back", step)
	}
	d.now = d.now.Add(step)
	for _, t := range d.order {
		if err := t.PunctuateWallClock(d.now); err != nil {
			d.tb.Fatalf("testutil: wall-clock punctuation: %v", err)
		}
		if err := t.ProcessAll(); err != nil {
			d.tb.Fatalf("testutil: processing held records: %v", err)
		}
		if err := d.run(); err != nil {
			d.tb.Fatalf("testutil: processing after wall-clock punctuation: %v", err)
		}
	}
}

// WallClockTime returns the driver's wall clock.
func (d *Driver) WallClockTime() time.Time { return d.now }

// ProducedTopics returns the names of the topics the topology wrote to,
// sorted.
func (d *Driver) ProducedTopics() []string {
	var out []string
	for name, tl := range d.topics {
		if tl.produced {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// SkippedRecords returns how many bad input records the tasks skipped.
func (d *Driver) SkippedRecords() int64 {
	var n int64
	for _, t := range d.storeTasks() {
		n += t.Metrics.SkippedRecords
	}
	return n
}

// FailedRecords returns how many records processors failed, or whose
// output a sink could not serialize, that the OnProcessingError or
// OnProductionError policy skipped or dead-lettered.
func (d *Driver) FailedRecords() int64 {
	var n int64
	for _, t := range d.storeTasks() {
		n += t.Metrics.FailedRecords
	}
	return n
}

// Close closes every task. It is safe to call more than once.
func (d *Driver) Close() error {
	if d.closed {
		return nil
	}
	d.closed = true
	var errs []error
	for _, t := range d.order {
		errs = append(errs, t.Close())
	}
	if d.global != nil {
		// After the tasks, which close their views of its stores.
		errs = append(errs, d.global.Close())
	}
	if d.blockCache != nil {
		d.blockCache.Unref()
		d.blockCache = nil
	}
	return errors.Join(errs...)
}

// collector is the driver seen as the tasks' output.
type collector Driver

func (c *collector) Send(r *kgo.Record) error {
	d := (*Driver)(c)
	tl := d.last
	if tl == nil || tl.name != r.Topic {
		tl = d.topic(r.Topic)
		d.last = tl
	}
	if r.Partition < 0 || int(r.Partition) >= tl.partitions {
		return fmt.Errorf("record for partition %d of topic %q, which has %d", r.Partition, r.Topic, tl.partitions)
	}
	tl.produced = true
	d.append(tl, r, true)
	return nil
}

func (c *collector) PartitionCount(topic string) (int, error) {
	return (*Driver)(c).topic(topic).partitions, nil
}

// readers lists the topics the topology reads, for error messages.
func (d *Driver) readTopics() []string {
	var out []string
	for t := range d.top.TopicSubtopology {
		out = append(out, t)
	}
	out = append(out, d.top.GlobalTopics()...)
	sort.Strings(out)
	return out
}

// writes reports whether some sink (or the dead-letter policy) may write
// topic, and the fixed topics sinks write.
func (d *Driver) writes(topic string) (bool, []string) {
	var fixed []string
	dynamic := false
	for _, n := range d.top.Graph.Nodes {
		if n.Kind != engine.KindSink {
			continue
		}
		if len(n.Topics) == 0 {
			dynamic = true
			continue
		}
		fixed = append(fixed, n.Topics...)
	}
	sort.Strings(fixed)
	fixed = slices.Compact(fixed)
	deadLetter := (d.cfg.OnBadRecord == topology.BadRecordDeadLetter || d.cfg.OnProcessingError == topology.BadRecordDeadLetter ||
		d.cfg.OnProductionError == topology.BadRecordDeadLetter || d.top.WritesDeadLetters()) && topic == d.cfg.DeadLetterTopic
	return dynamic || deadLetter || d.internal[topic] || slices.Contains(fixed, topic), fixed
}

// DroppedRecords returns how many records operators dropped on purpose (null
// keys where a key is needed, null values in stream aggregations, records
// too late for their window).
func (d *Driver) DroppedRecords() int64 {
	var n int64
	for _, t := range d.storeTasks() {
		n += t.Metrics.DroppedRecords
	}
	return n
}
