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

	"github.com/strata-go/strata/internal/engine"
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
	// Logger receives the tasks' logs. Default: discarded.
	Logger *slog.Logger
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
	pending []*kgo.Record
	now     time.Time
	closed  bool
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

func newDriver(tb testing.TB, top *topology.Topology, cfg Config) (*Driver, error) {
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
	for t, n := range cfg.Partitions {
		if n < 1 {
			return nil, fmt.Errorf("Config.Partitions[%q] = %d: a topic needs at least one partition", t, n)
		}
	}
	d := &Driver{
		tb:     tb,
		cfg:    cfg,
		top:    engine.Built(*top).Topology(),
		tasks:  map[engine.TaskID]*engine.Task{},
		topics: map[string]*topicLog{},
		now:    cfg.StartTime,
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
				ApplicationID: cfg.ApplicationID,
				Collector:     (*collector)(d),
				Logger:        cfg.Logger,
				OnBadRecord:   engine.BadRecordPolicy(cfg.OnBadRecord),
				Now:           func() time.Time { return d.now },
			})
			if err != nil {
				return nil, err
			}
			d.tasks[task.ID] = task
			d.order = append(d.order, task)
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
// processing if the topology reads the topic.
func (d *Driver) append(r *kgo.Record) {
	tl := d.topic(r.Topic)
	r.Offset = tl.next[r.Partition]
	tl.next[r.Partition]++
	tl.records = append(tl.records, r)
	if _, ok := d.top.TopicSubtopology[r.Topic]; ok {
		d.pending = append(d.pending, r)
	}
}

// run processes pending records, in the order they were written, until none
// is left. Each record is processed to completion, with everything it
// causes, before the next.
func (d *Driver) run() error {
	for len(d.pending) > 0 {
		r := d.pending[0]
		d.pending[0] = nil
		d.pending = d.pending[1:]
		st := d.top.TopicSubtopology[r.Topic]
		task := d.tasks[engine.TaskID{Subtopology: st, Partition: r.Partition}]
		if task == nil {
			return fmt.Errorf("no task for %s[%d]", r.Topic, r.Partition)
		}
		if err := task.Add(task.Input(r.Topic), r); err != nil {
			return err
		}
		if err := task.ProcessAll(); err != nil {
			return err
		}
	}
	return d.commit()
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

// AdvanceWallClockTime moves the wall clock forward by step and fires the
// wall-clock punctuations that are due, in task order.
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
	for _, t := range d.order {
		n += t.Metrics.SkippedRecords
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
	return errors.Join(errs...)
}

// collector is the driver seen as the tasks' output.
type collector Driver

func (c *collector) Send(r *kgo.Record) error {
	d := (*Driver)(c)
	tl := d.topic(r.Topic)
	if r.Partition < 0 || int(r.Partition) >= tl.partitions {
		return fmt.Errorf("record for partition %d of topic %q, which has %d", r.Partition, r.Topic, tl.partitions)
	}
	tl.produced = true
	d.append(r)
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
	sort.Strings(out)
	return out
}

// writes reports whether some sink may write topic, and the fixed topics
// sinks write.
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
	return dynamic || slices.Contains(fixed, topic), fixed
}
