package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/metric"
)

// TaskID identifies a task: one partition of one sub-topology.
type TaskID struct {
	Subtopology int
	Partition   int32
}

// String formats the ID as "subtopology_partition", "global" for
// GlobalTaskID, and "global_partition" for a partition of a global topic.
func (id TaskID) String() string {
	if id == GlobalTaskID {
		return "global"
	}
	if id.Subtopology == GlobalTaskID.Subtopology {
		// The restoration of one partition of a global topic.
		return fmt.Sprintf("global_%d", id.Partition)
	}
	return fmt.Sprintf("%d_%d", id.Subtopology, id.Partition)
}

// BadRecordPolicy says what a task does with an input record it cannot
// decode or whose timestamp is invalid.
type BadRecordPolicy int

const (
	// BadRecordFail stops processing with an error carrying the record's
	// topic, partition and offset.
	BadRecordFail BadRecordPolicy = iota
	// BadRecordSkip logs the record's coordinates and the reason, counts
	// it, and goes on with the next record.
	BadRecordSkip
	// BadRecordDeadLetter writes the record as it was read to
	// TaskConfig.DeadLetterTopic (deadletter.New), logs and counts it as
	// BadRecordSkip does, and goes on.
	BadRecordDeadLetter
)

// TaskConfig is what a task needs from whoever runs it.
type TaskConfig struct {
	ApplicationID string
	Collector     Collector
	Logger        *slog.Logger
	OnBadRecord   BadRecordPolicy
	// OnProcessingError is the policy for records a processor fails
	// with a topology.ProcessingError (IsProcessingError), a panic while
	// the record is processed included (panic.go); the default,
	// BadRecordFail, stops processing with the error.
	OnProcessingError BadRecordPolicy
	// OnProductionError is the policy for records whose output a sink
	// could not serialize (IsSerializationError); the default,
	// BadRecordFail, stops processing with the error.
	OnProductionError BadRecordPolicy
	// DeadLetterTopic is where BadRecordDeadLetter writes bad records.
	DeadLetterTopic string
	// Now returns the wall-clock time; the test driver supplies a mock.
	Now func() time.Time
	// State says where persistent stores keep their data.
	State StateConfig
	// Cache is the record cache shared by the stores of every task the
	// same goroutine runs; nil means no caching: every store writes
	// through. See [Task.NamedCache].
	Cache *RecordCache
	// Global is the instance's global task (NewGlobalTask), whose stores
	// the task's processors read through views; nil when there is none.
	Global *Task
	// Meter is what nodes make their OpenTelemetry instruments with
	// (meter.go); nil for a no-op meter.
	Meter metric.Meter
	// Context is the context of calls nodes make on behalf of the task
	// (Task.Context): the runtime's is cancelled when the app stops;
	// nil for context.Background().
	Context context.Context
	// RebalanceTimeout is the consumer group's rebalance timeout, which
	// bounds how long a node may have a record wait in place
	// (Redeliver): a blocking retry's wait; 0 for no bound (the test
	// driver).
	RebalanceTimeout time.Duration
	// Observer receives the task's latency measurements (observe.go);
	// nil measures nothing.
	Observer Observer
	// Tracer, if set, processes a share TraceRatio (0 to 1) of the input
	// records in trace spans (trace.go); nil traces nothing.
	Tracer     Tracer
	TraceRatio float64
	// DropLogInterval is how often dropped records of one node and
	// reason are logged at most (droplog.go); 0 means
	// DefaultDropLogInterval.
	DropLogInterval time.Duration
	// OnPost, if set, is called, from any goroutine, when a function is
	// posted to the task (Post): whoever drives the task then calls
	// RunPosted on its goroutine.
	OnPost func(*Task)
	// InFlight is the instance's bound on the records that nodes hold
	// on other goroutines (busy.go), shared by its tasks; nil for none.
	InFlight *InFlightLimit
}

// Metrics are a task's counters. They are only touched by the goroutine
// running the task; read them between calls.
type Metrics struct {
	Processed      int64 // input records processed
	SkippedRecords int64 // bad input records skipped by policy
	FailedRecords  int64 // records whose processing failed, skipped or dead-lettered by policy
	DroppedRecords int64 // records operators dropped on purpose (null keys, late records)
	Punctuations   int64
}

// UnknownTime is the stream time of a task that has processed nothing.
const UnknownTime int64 = math.MinInt64

// Task runs one partition of one sub-topology. A task is not safe for
// concurrent use; one goroutine drives it.
type Task struct {
	ID  TaskID
	cfg TaskConfig

	nodes     []Node
	names     []string
	kinds     []Kind
	stores    map[string]Store
	storeList []Store
	storage   TaskStorage
	caches    []storeCache
	inputs    []*Input
	byTopic   map[string]*Input
	// node is the node running now (EnterNode), blamed for a panic.
	node string
	// storeOwners maps each store to the first node connected to it,
	// which runs its flushes at commit (flushStore).
	storeOwners map[string]string
	// sourceChangelogs maps stores restored from a source topic to it.
	sourceChangelogs map[string]string
	// globalViews are the task's views of global stores, by name.
	globalViews map[string]Store

	streamTime int64
	current    Current
	// processing is the input record being processed, as read; nil
	// outside ProcessOne. Output records note it (OutputOrigin).
	processing *kgo.Record

	streamPunct punctuations
	wallPunct   punctuations

	slab []byte

	Metrics Metrics
	closed  bool
	// enforce processes buffered records even while an input lags
	// (ProcessAllNow).
	enforce bool
	// redeliver, set by Redeliver while a record is processed, is when
	// the record is to be delivered again (Unix milliseconds); 0 when
	// it is not.
	redeliver int64
	// drops counts dropped records by node and reason (droplog.go).
	drops []dropEntry
	// processedN and emittedN count records processed and written by
	// sinks, to sample their latencies (observe.go).
	processedN, emittedN uint32
	// span is the trace span of the record being processed, nil when it
	// has none; traceAcc spreads the traced share (trace.go).
	span     Span
	traceAcc float64
	// holding is the record being processed once a node held it (Hold);
	// pendingCount counts the task's pending records (async.go).
	holding      *Pending
	pendingCount int
	postState
	// busy are the nodes' checks of whether they take records now
	// (busy.go).
	busy []func() bool
}

// Input is one topic-partition a task reads.
type Input struct {
	Topic     string
	Partition int32
	q         Queue
	// next is the offset after the last record added (processed, buffered
	// or skipped).
	next int64
	// end is the partition's end as last learnt (its last stable offset,
	// what a read_committed consumer can read), -1 while unknown: the
	// input lags while next is below it (see idle.go).
	end int64
	// pending are the input's records whose processing goes on (Hold).
	pending pendingList
}

// Current describes the input record being processed.
type Current struct {
	Valid     bool
	Topic     string
	Partition int32
	Offset    int64
	Timestamp int64
	// Attempt counts the earlier deliveries of the record to this task
	// (Redeliver): 0 on its first.
	Attempt int
}

// NewTask instantiates the nodes of st for one partition and wires them
// together. Nodes are initialised by Init.
func NewTask(top *Topology, st *Subtopology, partition int32, cfg TaskConfig) (*Task, error) {
	return newTask(top, st, TaskID{Subtopology: st.ID, Partition: partition}, nil, cfg)
}

// newTask makes the task id of st. It reads partition id.Partition of each
// source topic, or, when partitions is set, every partition of each, up to
// the count partitions returns (the global task).
func newTask(top *Topology, st *Subtopology, id TaskID, partitions func(topic string) int, cfg TaskConfig) (*Task, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	t := &Task{
		ID:         id,
		cfg:        cfg,
		byTopic:    map[string]*Input{},
		streamTime: UnknownTime,
		traceAcc:   1, // the first record is traced
	}
	t.stores = make(map[string]Store, len(st.Stores))
	for _, name := range st.Stores {
		def := top.Graph.Store(name)
		s := def.New()
		if s == nil {
			return nil, fmt.Errorf("task %s: store %q: constructor returned nil", t.ID, name)
		}
		t.stores[name] = s
		t.storeList = append(t.storeList, s)
		if def.SourceTopic != "" {
			if t.sourceChangelogs == nil {
				t.sourceChangelogs = map[string]string{}
			}
			t.sourceChangelogs[name] = def.SourceTopic
		}
	}
	inst := make(map[string]Node, len(st.Nodes))
	for _, def := range st.Nodes {
		n := def.New()
		inst[def.Name] = n
		t.nodes = append(t.nodes, n)
		t.names = append(t.names, def.Name)
		t.kinds = append(t.kinds, def.Kind)
		for _, s := range def.Stores {
			if _, ok := t.storeOwners[s]; !ok {
				if t.storeOwners == nil {
					t.storeOwners = map[string]string{}
				}
				t.storeOwners[s] = def.Name
			}
		}
	}
	for _, def := range st.Nodes {
		for _, c := range def.Children {
			if err := inst[def.Name].Connect(c, inst[c]); err != nil {
				return nil, fmt.Errorf("task %s: connect %q to %q: %w", t.ID, def.Name, c, err)
			}
		}
		if def.Kind != KindSource {
			continue
		}
		src, ok := inst[def.Name].(Source)
		if !ok {
			return nil, fmt.Errorf("task %s: node %q is not a source", t.ID, def.Name)
		}
		for _, topic := range def.Topics {
			first, end := id.Partition, id.Partition+1
			if partitions != nil {
				first, end = 0, int32(partitions(topic))
			}
			for p := first; p < end; p++ {
				in := &Input{Topic: topic, Partition: p, q: src.NewQueue(topic, p), next: -1, end: -1}
				t.inputs = append(t.inputs, in)
				t.byTopic[topic] = in
			}
		}
	}
	t.cfg.Logger = t.cfg.Logger.With("task", t.ID.String())
	return t, nil
}

// InitStores opens the task's stores. The runtime restores them from their
// changelogs after this and before Init.
func (t *Task) InitStores() error {
	for _, s := range t.storeList {
		if err := s.Init(t); err != nil {
			return fmt.Errorf("task %s: init store %q: %w", t.ID, s.Name(), err)
		}
	}
	return nil
}

// Init initialises every node in insertion order. Stores must have been
// initialised with InitStores. A panic in a node's Init is recovered into
// an error naming it.
func (t *Task) Init() error {
	for i, n := range t.nodes {
		if err := t.call(t.names[i], func() error { return n.Init(t) }); err != nil {
			return fmt.Errorf("task %s: init %q: %w", t.ID, t.names[i], err)
		}
	}
	return nil
}

// Close closes every node, returning all errors joined. A panic in a
// node's Close is recovered into an error naming it.
func (t *Task) Close() error {
	if t.closed {
		return nil
	}
	t.closed = true
	t.logLastDrops()
	var errs []error
	for i, n := range t.nodes {
		if err := t.call(t.names[i], n.Close); err != nil {
			errs = append(errs, fmt.Errorf("task %s: close %q: %w", t.ID, t.names[i], err))
		}
	}
	for name, v := range t.globalViews {
		if err := v.Close(); err != nil {
			errs = append(errs, fmt.Errorf("task %s: close view of global store %q: %w", t.ID, name, err))
		}
	}
	for _, s := range t.storeList {
		if err := s.Close(); err != nil {
			errs = append(errs, fmt.Errorf("task %s: close store %q: %w", t.ID, s.Name(), err))
		}
	}
	// Stores close their named caches; this catches those that did not.
	for _, c := range t.caches {
		c.cache.Close()
	}
	if t.storage != nil {
		if err := t.storage.Close(); err != nil {
			errs = append(errs, fmt.Errorf("task %s: close state: %w", t.ID, err))
		}
	}
	return errors.Join(errs...)
}

// Config returns the configuration the task was created with.
func (t *Task) Config() *TaskConfig { return &t.cfg }

// Cache returns the record cache the task's stores share, or nil when the
// task has none.
func (t *Task) Cache() *RecordCache { return t.cfg.Cache }

// Logger returns the task's logger.
func (t *Task) Logger() *slog.Logger { return t.cfg.Logger }

// Inputs returns the topic-partitions the task reads.
func (t *Task) Inputs() []*Input { return t.inputs }

// Input returns the input for topic, or nil if the task does not read it.
func (t *Task) Input(topic string) *Input { return t.byTopic[topic] }

// Add decodes and buffers records of one input, in offset order. A record
// that cannot be decoded is handled by the bad-record policy: with
// BadRecordFail, Add returns its error and buffers nothing after it.
// Transaction markers (control records) only move the input's position.
func (t *Task) Add(in *Input, recs ...*kgo.Record) error {
	for _, r := range recs {
		if r.Attrs.IsControl() {
			// A transaction marker: no data, but the partition's
			// position moves past it.
			in.next = r.Offset + 1
			continue
		}
		if err := in.q.Add(r); err != nil {
			if err := t.badRecord(r, err); err != nil {
				return err
			}
		}
		in.next = r.Offset + 1
	}
	return nil
}

// Buffered is the number of input records waiting to be processed.
func (t *Task) Buffered() int {
	n := 0
	for _, in := range t.inputs {
		n += in.q.Len()
	}
	return n
}

// ProcessOne processes the buffered record with the smallest timestamp
// across the task's inputs (ties go to the input added first), then fires
// stream-time punctuations that are due. It reports false when nothing was
// buffered, or when an input known to lag holds the task back (Waiting).
// An error processing the record, or a panic (recovered into an error of the
// node that panicked), goes to the processing-error policy. An input whose
// first record is not due yet (Queue.HeadDue, after the task's wall clock)
// is passed over: its records wait, the other inputs' go on.
func (t *Task) ProcessOne() (bool, error) {
	if t.Waiting() || t.Busy() {
		return false, nil
	}
	var pick *Input
	var pickTime, now int64
	for _, in := range t.inputs {
		if in.q.Len() == 0 {
			continue
		}
		if due := in.q.HeadDue(); due > 0 {
			if now == 0 {
				now = t.cfg.Now().UnixMilli()
			}
			if due > now {
				continue
			}
		}
		if ht := in.q.HeadTime(); pick == nil || ht < pickTime {
			pick, pickTime = in, ht
		}
	}
	if pick == nil {
		return false, nil
	}
	raw := pick.q.HeadRecord()
	t.redeliver, t.holding = 0, nil
	var start time.Time
	timed := t.cfg.Observer != nil && sample(&t.processedN)
	if timed {
		start = time.Now()
	}
	if t.cfg.Tracer != nil && t.traced() {
		t.span = t.cfg.Tracer.Start(t, raw)
	}
	err := t.processHead(pick, raw)
	if t.span != nil {
		t.span.End(err)
		t.span = nil
	}
	if timed {
		t.cfg.Observer.Processed(time.Since(start))
	}
	held := t.holding
	t.holding = nil
	if t.redeliver > 0 {
		// The record asked to be delivered again: it does not count as
		// processed, whatever it did meanwhile.
		if held != nil {
			held.drop()
		}
		pick.q.Requeue(t.redeliver)
		t.redeliver = 0
		t.current = Current{}
		return true, err
	}
	if err != nil {
		// The processing-error policy handles the record now: it is
		// not pending any more.
		held.finish(false)
		t.current = Current{}
		if err := t.processingFailed(raw, err); err != nil {
			return true, err
		}
		return true, nil
	}
	t.current = Current{}
	if held == nil {
		t.Metrics.Processed++ // else when its node completes it
	}
	if err := t.streamPunct.fire(t, t.streamTime); err != nil {
		return true, err
	}
	return true, nil
}

// ProcessAll processes every buffered record.
func (t *Task) ProcessAll() error {
	for {
		ok, err := t.ProcessOne()
		if err != nil || !ok {
			return err
		}
	}
}

// SetCurrent is called by a queue just before it forwards a record, with
// the number of earlier deliveries of it (Redeliver). It moves stream time
// forward; stream time never goes back.
func (t *Task) SetCurrent(topic string, partition int32, offset, ts int64, attempt int) {
	t.current = Current{Valid: true, Topic: topic, Partition: partition, Offset: offset, Timestamp: ts, Attempt: attempt}
	if ts > t.streamTime {
		t.streamTime = ts
	}
}

// Redeliver asks, while a record is processed, that the record be delivered
// again from its source at wall-clock time at, instead of counting as
// processed: its input's later records wait behind it (blocking retries
// keep a partition's order), its offset is not committed, and the next
// delivery's Current().Attempt is one more. What its processing did
// meanwhile (state written, records forwarded) is not undone: a node
// should redeliver only what reached it from its source through stateless
// nodes. Outside the processing of a record it does nothing.
func (t *Task) Redeliver(at time.Time) {
	if !t.current.Valid || t.processing == nil {
		return
	}
	t.redeliver = max(at.UnixMilli(), 1)
}

// NextDue returns the earliest wall-clock time at which a record an input
// holds back (Queue.HeadDue) becomes due, and whether there is one.
func (t *Task) NextDue() (time.Time, bool) {
	var next int64
	for _, in := range t.inputs {
		if in.q.Len() == 0 {
			continue
		}
		if due := in.q.HeadDue(); due > 0 && (next == 0 || due < next) {
			next = due
		}
	}
	return time.UnixMilli(next), next > 0
}

// HeldBack returns the task's inputs whose first record is not due at now:
// the runtime pauses their partitions until it is.
func (t *Task) HeldBack(now time.Time) []*Input {
	var out []*Input
	ms := now.UnixMilli()
	for _, in := range t.inputs {
		if in.q.Len() > 0 && in.q.HeadDue() > ms {
			out = append(out, in)
		}
	}
	return out
}

// ForwardingAt makes ts the timestamp of the record being processed while a
// store's cache flush forwards an entry written at ts, as Kafka Streams
// restores the entry's record context: what processors downstream write
// then carries the entry's time. It returns the record to give back to
// DoneForwarding afterwards.
func (t *Task) ForwardingAt(ts int64) Current {
	prev := t.current
	t.current.Valid = true
	t.current.Timestamp = ts
	return prev
}

// DoneForwarding makes c the record being processed again, after ForwardingAt.
func (t *Task) DoneForwarding(c Current) { t.current = c }

// Current returns the input record being processed; Valid is false during
// punctuation.
func (t *Task) Current() Current { return t.current }

// StreamTime is the largest timestamp the task has processed, or
// UnknownTime.
func (t *Task) StreamTime() int64 { return t.streamTime }

// Now returns the wall-clock time.
func (t *Task) Now() time.Time { return t.cfg.Now() }

// SetPosition records that the task's input of topic starts at offset next,
// as committed before, so that CommittableOffsets reports it until records
// arrive. The runtime sets it for a source topic that serves as a store's
// changelog: a checkpoint then covers the source up to there.
func (t *Task) SetPosition(topic string, next int64) {
	if in := t.byTopic[topic]; in != nil && in.next < 0 {
		in.next = next
	}
}

// Position is the offset of the input's first record not processed yet:
// its first buffered record's, else the offset after the last record added;
// -1 before any was added.
func (in *Input) Position() int64 {
	if in.q.Len() > 0 {
		return in.q.HeadOffset()
	}
	return in.next
}

// CommittableOffsets returns, for each input, the offset to commit: the
// first record not yet processed. Inputs that received nothing are left out.
func (t *Task) CommittableOffsets() map[string]int64 {
	out := make(map[string]int64, len(t.inputs))
	for _, in := range t.inputs {
		first, pending := in.pending.first()
		switch {
		case pending:
			out[in.Topic] = first
		case in.q.Len() > 0:
			out[in.Topic] = in.q.HeadOffset()
		case in.next >= 0:
			out[in.Topic] = in.next
		}
	}
	return out
}

// Emit passes a record a sink wrote to the collector, as Send does. While
// a traced record is processed, the output carries the span's context in its
// headers (trace.go); with an Observer, its end-to-end latency is measured
// (sampled), blamed on the running node, the sink.
func (t *Task) Emit(r *kgo.Record) error {
	if t.span != nil {
		t.span.Inject(r)
	}
	if t.cfg.Observer != nil && sample(&t.emittedN) {
		t.cfg.Observer.Emitted(t.node, time.Since(r.Timestamp))
	}
	return t.Send(r)
}

// Send passes an output record to the collector, noting in a record from
// NewOutputRecord the input record being processed (OutputOrigin).
func (t *Task) Send(r *kgo.Record) error {
	if o, ok := r.Context.(*origin); ok {
		o.in = t.processing
	}
	return t.cfg.Collector.Send(r)
}

// PartitionCount asks the collector how many partitions topic has.
func (t *Task) PartitionCount(topic string) (int, error) {
	return t.cfg.Collector.PartitionCount(topic)
}

// PunctuateWallClock fires wall-clock punctuations due at now. A panic in a
// punctuator, or in the nodes it forwards to, is recovered into an error
// naming the node that panicked.
func (t *Task) PunctuateWallClock(now time.Time) error {
	return t.wallPunct.fire(t, now.UnixMilli())
}

// Context returns a context for calls made on behalf of the task:
// TaskConfig.Context, done when the runtime stops, or context.Background().
func (t *Task) Context() context.Context {
	if t.cfg.Context == nil {
		return context.Background()
	}
	return t.cfg.Context
}

// Processing returns the input record being processed, as read; nil
// outside the processing of a record (a punctuation, a flush at commit).
func (t *Task) Processing() *kgo.Record { return t.processing }
