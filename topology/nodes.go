package topology

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata/internal/engine"
)

// receiver is implemented by every node that takes records of type K, V. A
// parent holds its children as receivers, resolved once when a task is made,
// so forwarding is a direct method call.
type receiver[K, V any] interface {
	receive(r Record[K, V]) error
}

// children holds a node's typed children.
type children[K, V any] struct {
	list  []receiver[K, V]
	names []string
}

func (c *children[K, V]) connect(parent, child string, n engine.Node) error {
	r, ok := n.(receiver[K, V])
	if !ok {
		var k K
		var v V
		return fmt.Errorf("%q forwards records of key %T and value %T, which child %q does not accept", parent, k, v, child)
	}
	c.list = append(c.list, r)
	c.names = append(c.names, child)
	return nil
}

func (c *children[K, V]) forward(r Record[K, V]) error {
	for _, ch := range c.list {
		if err := ch.receive(r); err != nil {
			return err
		}
	}
	return nil
}

func (c *children[K, V]) forwardTo(child string, r Record[K, V]) error {
	i := slices.Index(c.names, child)
	if i < 0 {
		return fmt.Errorf("forward to %q: not a child (children: %q)", child, c.names)
	}
	return c.list[i].receive(r)
}

// sourceNode decodes input records and forwards them.
type sourceNode[K, V any] struct {
	name string
	src  Source[K, V]
	task *engine.Task
	out  children[K, V]
}

func (s *sourceNode[K, V]) Connect(child string, n engine.Node) error {
	return s.out.connect(s.name, child, n)
}

func (s *sourceNode[K, V]) Init(t *engine.Task) error { s.task = t; return nil }

func (s *sourceNode[K, V]) Close() error { return nil }

func (s *sourceNode[K, V]) NewQueue(topic string, partition int32) engine.Queue {
	return &queue[K, V]{src: s, topic: topic, partition: partition, partitionTime: engine.UnknownTime}
}

type queued[K, V any] struct {
	rec    Record[K, V]
	raw    *kgo.Record // as read, for the processing-error policy
	offset int64
	ts     int64
	// due is the wall-clock time (Unix milliseconds) before which the
	// record waits; 0 for none. attempt counts its earlier deliveries.
	due     int64
	attempt int
}

// queue is a FIFO of decoded records of one topic-partition. Its backing
// array is reused once drained, so steady-state queuing does not allocate.
type queue[K, V any] struct {
	src           *sourceNode[K, V]
	topic         string
	partition     int32
	buf           []queued[K, V]
	head          int
	partitionTime int64
}

// Add decodes r and queues it. A panic in the source's deserializers or
// timestamp extractor makes r a bad record, as an error of theirs does.
func (q *queue[K, V]) Add(r *kgo.Record) (err error) {
	bad := func(part string, err error) error {
		return &BadRecordError{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Part: part, Err: err}
	}
	part := "key"
	defer func() {
		if v := recover(); v != nil {
			err = bad(part, q.src.task.Recovered(q.src.name, v, r))
		}
	}()
	k, err := q.src.src.KeySerde.Deserialize(q.topic, r.Key)
	if err != nil {
		return bad("key", err)
	}
	part = "value"
	v, err := q.src.src.ValueSerde.Deserialize(q.topic, r.Value)
	if err != nil {
		return bad("value", err)
	}
	part = "timestamp"
	rec := Record[K, V]{Key: k, Value: v, Timestamp: r.Timestamp, Headers: headersFromKgo(r.Headers),
		nullKey: r.Key == nil, nullValue: r.Value == nil}
	if ex := q.src.src.TimestampExtractor; ex != nil {
		var pt time.Time
		if q.partitionTime != engine.UnknownTime {
			pt = time.UnixMilli(q.partitionTime)
		}
		ts, err := ex(rec, pt)
		if err != nil {
			return bad("timestamp", fmt.Errorf("%w: %w", ErrInvalidTimestamp, err))
		}
		rec.Timestamp = ts
	}
	ts := rec.Timestamp.UnixMilli()
	if ts < 0 {
		return bad("timestamp", fmt.Errorf("%w: %d ms is before the Unix epoch", ErrInvalidTimestamp, ts))
	}
	if ts > q.partitionTime {
		q.partitionTime = ts
	}
	if q.head > 0 && q.head == len(q.buf) {
		clear(q.buf)
		q.buf, q.head = q.buf[:0], 0
	}
	var due int64
	if f := q.src.src.Due; f != nil {
		if d := f(r); !d.IsZero() {
			due = max(d.UnixMilli(), 1)
		}
	}
	q.buf = append(q.buf, queued[K, V]{rec: rec, raw: r, offset: r.Offset, ts: ts, due: due})
	return nil
}

func (q *queue[K, V]) Len() int { return len(q.buf) - q.head }

func (q *queue[K, V]) HeadTime() int64 { return q.buf[q.head].ts }

func (q *queue[K, V]) HeadOffset() int64 { return q.buf[q.head].offset }

func (q *queue[K, V]) HeadRecord() *kgo.Record { return q.buf[q.head].raw }

func (q *queue[K, V]) HeadDue() int64 { return q.buf[q.head].due }

func (q *queue[K, V]) Requeue(due int64) {
	q.head--
	e := &q.buf[q.head]
	e.due = due
	e.attempt++
}

func (q *queue[K, V]) ProcessHead() error {
	e := &q.buf[q.head]
	q.head++
	t := q.src.task
	t.SetCurrent(q.topic, q.partition, e.offset, e.ts, e.attempt)
	prev := t.EnterNode(q.src.name)
	err := q.src.out.forward(e.rec)
	t.LeaveNode(prev)
	if err != nil {
		return nodeError(q.src.name, err)
	}
	return nil
}

// processorNode runs a user Processor.
type processorNode[KIn, VIn, KOut, VOut any] struct {
	name string
	p    Processor[KIn, VIn, KOut, VOut]
	ctx  procContext[KOut, VOut]
}

func (n *processorNode[KIn, VIn, KOut, VOut]) Connect(child string, c engine.Node) error {
	return n.ctx.out.connect(n.name, child, c)
}

func (n *processorNode[KIn, VIn, KOut, VOut]) Init(t *engine.Task) error {
	n.ctx.task = t
	if n.p == nil {
		return fmt.Errorf("processor %q: supplier returned a nil processor", n.name)
	}
	return n.p.Init(&n.ctx)
}

func (n *processorNode[KIn, VIn, KOut, VOut]) Close() error {
	if n.p == nil {
		return nil
	}
	return n.p.Close()
}

func (n *processorNode[KIn, VIn, KOut, VOut]) receive(r Record[KIn, VIn]) error {
	t := n.ctx.task
	prev := t.EnterNode(n.name) // blamed for a panic until it returns
	err := n.p.Process(r)
	t.LeaveNode(prev)
	if err != nil {
		var ne *NodeError
		if errors.As(err, &ne) {
			// A downstream node's error, passed on: it names the
			// node that failed.
			return err
		}
		return &NodeError{Node: n.name, Err: &ProcessingError{Err: err}}
	}
	return nil
}

// procContext is the Context of one processor instance.
type procContext[K, V any] struct {
	node   string
	task   *engine.Task
	out    children[K, V]
	stores []string // connected stores
}

func (c *procContext[K, V]) SkipRecord(reason string) { c.task.Drop(c.node, reason) }

func (c *procContext[K, V]) StateStore(name string) (StateStore, error) {
	if !slices.Contains(c.stores, name) {
		// Global stores are read without being connected, as in
		// Kafka Streams.
		if g, err := c.task.GlobalStore(name); g != nil || err != nil {
			return g, err
		}
		return nil, fmt.Errorf("processor %q is not connected to store %q (connected: %q); connect it with Builder.ConnectStores or the DSL's WithStores", c.node, name, c.stores)
	}
	s := c.task.StoreByName(name)
	if s == nil {
		return nil, fmt.Errorf("processor %q: store %q is not in task %s", c.node, name, c.task.ID)
	}
	return s, nil
}

func (c *procContext[K, V]) Forward(r Record[K, V]) error { return c.out.forward(r) }

func (c *procContext[K, V]) ForwardTo(child string, r Record[K, V]) error {
	return c.out.forwardTo(child, r)
}

func (c *procContext[K, V]) RecordMetadata() (RecordMetadata, bool) {
	cur := c.task.Current()
	if !cur.Valid {
		return RecordMetadata{}, false
	}
	return RecordMetadata{Topic: cur.Topic, Partition: cur.Partition, Offset: cur.Offset, Attempt: cur.Attempt}, true
}

func (c *procContext[K, V]) Redeliver(at time.Time) { c.task.Redeliver(at) }

func (c *procContext[K, V]) Hold() *Pending {
	p := c.task.Hold()
	if p == nil {
		return nil
	}
	return &Pending{p}
}

func (c *procContext[K, V]) Post(fn func() error) {
	node, t := c.node, c.task
	t.Post(func() error {
		prev := t.EnterNode(node)
		defer t.LeaveNode(prev)
		if err := fn(); err != nil {
			return &NodeError{Node: node, Err: err}
		}
		return nil
	})
}

func (c *procContext[K, V]) TaskID() TaskID { return TaskID(c.task.ID) }

func (c *procContext[K, V]) ApplicationID() string { return c.task.Config().ApplicationID }

func (c *procContext[K, V]) StreamTime() time.Time {
	st := c.task.StreamTime()
	if st == engine.UnknownTime {
		return time.Time{}
	}
	return time.UnixMilli(st)
}

func (c *procContext[K, V]) Logger() *slog.Logger { return c.task.Logger().With("node", c.node) }

func (c *procContext[K, V]) Schedule(interval time.Duration, typ PunctuationType, fn Punctuator) (Cancellable, error) {
	if fn == nil {
		return nil, fmt.Errorf("node %q: schedule: nil punctuator", c.node)
	}
	s, err := c.task.Schedule(c.node, interval, typ, func(ts int64) error {
		return fn(time.UnixMilli(ts))
	})
	if err != nil {
		return nil, fmt.Errorf("node %q: schedule: %w", c.node, err)
	}
	return s, nil
}

// sinkNode encodes records and hands them to the task's collector.
type sinkNode[K, V any] struct {
	name       string
	sink       Sink[K, V]
	internal   bool
	task       *engine.Task
	topic      string // the fixed topic, resolved when internal
	partitions int    // of topic, looked up once
	next       uint32
}

func (s *sinkNode[K, V]) Connect(child string, _ engine.Node) error {
	return fmt.Errorf("sink %q cannot have child %q", s.name, child)
}

func (s *sinkNode[K, V]) Init(t *engine.Task) error {
	s.task = t
	s.topic = s.sink.Topic
	if s.internal {
		s.topic = engine.InternalTopicName(t.Config().ApplicationID, s.topic)
	}
	if s.topic != "" {
		n, err := t.PartitionCount(s.topic)
		if err != nil {
			return fmt.Errorf("sink %q: %w", s.name, err)
		}
		s.partitions = n
	}
	return nil
}

func (s *sinkNode[K, V]) Close() error { return nil }

func (s *sinkNode[K, V]) receive(r Record[K, V]) error {
	prev := s.task.EnterNode(s.name) // blamed for a panic in its serdes
	err := s.write(r)
	s.task.LeaveNode(prev)
	return err
}

// write encodes r and sends it.
func (s *sinkNode[K, V]) write(r Record[K, V]) error { return s.writeTo(r, -1) }

// writeTo encodes r and sends it to partition, or, when partition is
// negative, to the partition the sink picks.
func (s *sinkNode[K, V]) writeTo(r Record[K, V], partition int32) error {
	topic, n := s.topic, s.partitions
	if s.sink.TopicExtractor != nil {
		var err error
		topic, err = s.sink.TopicExtractor(r)
		if err != nil {
			return &NodeError{Node: s.name, Err: fmt.Errorf("extract topic: %w", err)}
		}
		if topic == "" {
			return &NodeError{Node: s.name, Err: fmt.Errorf("topic extractor returned an empty topic")}
		}
		if n, err = s.task.PartitionCount(topic); err != nil {
			return &NodeError{Node: s.name, Err: err}
		}
	}
	if n <= 0 {
		return &NodeError{Node: s.name, Err: fmt.Errorf("topic %q has no partitions", topic)}
	}
	t := s.task
	var kb, vb []byte
	var err error
	if !r.nullKey {
		kb, err = s.sink.KeySerde.Serialize(t.OutputBuffer(), topic, r.Key)
		if err != nil {
			return &NodeError{Node: s.name, Err: &SerializationError{Topic: topic, Part: "key", Err: err}}
		}
		t.KeepOutput(kb)
	}
	if !r.nullValue {
		vb, err = s.sink.ValueSerde.Serialize(t.OutputBuffer(), topic, r.Value)
		if err != nil {
			return &NodeError{Node: s.name, Err: &SerializationError{Topic: topic, Part: "value", Err: err}}
		}
		t.KeepOutput(vb)
	}
	var p int32
	switch {
	case kb != nil:
		p = engine.KeyPartition(kb, n)
	default:
		p = -1
	}
	if s.sink.Partitioner != nil {
		if pp, ok := s.sink.Partitioner(topic, r.Key, r.Value, n); ok {
			if pp < 0 || int(pp) >= n {
				return &NodeError{Node: s.name, Err: fmt.Errorf("partitioner chose partition %d of topic %q, which has %d", pp, topic, n)}
			}
			p = pp
		}
	}
	if partition >= 0 {
		if int(partition) >= n {
			return &NodeError{Node: s.name, Err: fmt.Errorf("partition %d of topic %q, which has %d", partition, topic, n)}
		}
		p = partition
	}
	if p < 0 { // null key, no partitioner choice: spread round-robin
		p = int32(s.next % uint32(n))
		s.next++
	}
	out := engine.NewOutputRecord()
	out.Topic, out.Partition, out.Key, out.Value = topic, p, kb, vb
	out.Timestamp, out.Headers = r.Timestamp, headersToKgo(r.Headers)
	return t.Send(out)
}
