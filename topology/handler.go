package topology

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata/deadletter"
	"github.com/strata-go/strata/internal/engine"
	"github.com/strata-go/strata/retry"
	"github.com/strata-go/strata/serde"
)

// Handler configures an outcome handler: a terminal node for side effects
// (calling a payment API, sending a webhook) whose function says what
// became of each record. See [AddHandler]; kstream's Stream.Handle is the
// DSL's form.
type Handler[K, V any] struct {
	// Func handles one record and returns its Outcome. ctx is done when
	// the application stops: an attempt cut short then should return
	// Retry. Func runs on the goroutine of the task processing the
	// record; the tasks of a handler may call it concurrently.
	Func func(ctx context.Context, r Record[K, V]) Outcome
	// KeySerde and ValueSerde decode the handler's retry topic, and
	// encode the handler's input for it and for the dead set when the
	// handler does not read its sources directly (a source's records
	// are passed on as read). Required.
	KeySerde   serde.Serde[K]
	ValueSerde serde.Serde[V]
	// Retry says how records Func asks to retry are retried (package
	// retry); the zero Policy is retry's defaults.
	Retry retry.Policy
	// Concurrency is how many records Func handles at once in a task
	// (handler_concurrent.go): 0 or 1 calls it for one record at a time
	// on the task's goroutine; more calls it on as many goroutines of
	// the handler, for records taken in offset order, as Ordering
	// allows. The runtime's Config.MaxInFlight bounds the records all
	// of an instance's handlers hold at once. A blocking retry policy
	// needs Concurrency ≤ 1.
	Concurrency int
	// Ordering says which records may be handled at the same time when
	// Concurrency > 1: OrderByKey (the default), OrderByPartition or
	// Unordered.
	Ordering Ordering
}

// Names of the nodes AddHandler adds besides the handler itself, given its
// name.
func retrySourceName(handler string) string { return handler + "-retry-source" }
func retrySinkName(handler string) string   { return handler + "-retry-sink" }

// AddHandler adds an outcome handler named name below parents, a terminal
// node: it calls h.Func for each record and acts on the Outcome.
//
//   - Success and Skip: nothing more (both are counted, by outcome).
//   - Retry: by default the record goes to the handler's retry topic,
//     "<ApplicationID>-<name>-retry" (package retry has its format), due
//     when h.Retry's backoff says; the handler reads that topic too, through
//     a source named "<name>-retry-source", holds each record until it is
//     due and calls Func again. Its sink is "<name>-retry-sink"; the
//     application creates the topic with the partition count of the
//     handler's input. With h.Retry.Blocking the record is retried in place
//     instead (Context.Redeliver), its partition waiting behind it. After
//     the policy's last attempt the record goes to the dead set.
//   - DeadLetter: the record goes to the dead set at once.
//
// The dead set is the application's dead-letter topic (the runtime's
// Config.DeadLetterTopic; the topology makes the runtime create it
// whatever the record policies say): the record as the handler got it
// first (its original key, value, timestamp, headers and coordinates), with
// the reason (retry.ReasonExhausted, or the one DeadLetter gave), the last
// error, the handler's name and the number of attempts (headers of package
// retry).
//
// A panic in h.Func is recovered and is the record's processing error, to
// which the processing-error policy applies (the runtime's
// Config.OnProcessingError), as a panic in any user code: under fail the
// application stops with a *PanicError naming the handler and the record;
// under skip the record is skipped; under dead-letter it goes to the dead
// set as the handler's dead-set records do, with the reason "processing"
// and the panic as the message. Either way it is logged with the stack and
// counted as failed.
//
// OpenTelemetry metrics, on the meter the runtime (or the test driver)
// gives, with the attributes "application" and "handler":
// strata.handler.records (counter; attribute "outcome": success, retry,
// exhausted (asked to retry after the last attempt), dead-letter, skip,
// panic), strata.handler.duration (histogram of Func's calls, in seconds)
// and strata.handler.retries (counter of retries scheduled; attribute
// "attempt", the attempt each will be); a concurrent handler
// (Handler.Concurrency) or a batch handler (AddBatchHandler) adds
// strata.handler.in_flight (records taken and not finished),
// strata.handler.running (calls running: the concurrency in use) and
// strata.handler.queue_wait (histogram of the time from taking a record to
// its call, in seconds). The runtime adds the records waiting
// in retry topics and the dead set's size (see strata.Config.MeterProvider).
//
// AddHandler validates h.Retry (retry.Policy.WithDefaults): an invalid
// policy, a nil Func or a missing serde fails Build, as does a blocking
// handler whose sources feed a node that keeps state.
func AddHandler[K, V any](b *Builder, name string, h Handler[K, V], parents ...string) {
	checkHandler(b, "handler", name, h.Func == nil, h.KeySerde == nil, h.ValueSerde == nil)
	if err := h.checkConcurrency(); err != nil {
		b.Fail(fmt.Errorf("handler %q: %w", name, err))
	}
	addHandler(b, name, h, func(n *handlerNode[K, V]) {
		if h.Concurrency > 1 {
			n.conc = &concurrent[K, V]{n: n, limit: h.Concurrency, ordering: h.Ordering}
		}
	}, parents...)
}

// checkHandler fails b for what a handler (what, named name) lacks.
func checkHandler(b *Builder, what, name string, noFunc, noKeySerde, noValueSerde bool) {
	if noFunc {
		b.Fail(fmt.Errorf("%s %q has no function", what, name))
	}
	if noKeySerde {
		b.Fail(fmt.Errorf("%s %q has no key serde", what, name))
	}
	if noValueSerde {
		b.Fail(fmt.Errorf("%s %q has no value serde", what, name))
	}
}

// addHandler adds the nodes of an outcome handler, h's, calling setup on
// each new handler node.
func addHandler[K, V any](b *Builder, name string, h Handler[K, V], setup func(*handlerNode[K, V]), parents ...string) {
	policy, err := h.Retry.WithDefaults()
	if err != nil {
		b.Fail(fmt.Errorf("handler %q: %w", name, err))
	}
	h.Retry = policy
	// A handler reading sources only passes their records on as read.
	raw := len(parents) > 0
	for _, p := range parents {
		if n := b.g.Node(p); n == nil || n.Kind != engine.KindSource {
			raw = false
		}
	}
	topic := name + retry.TopicSuffix
	AddInternalSource(b, retrySourceName(name), Source[K, V]{
		Topics: []string{topic}, KeySerde: h.KeySerde, ValueSerde: h.ValueSerde, Due: retry.Due,
	})
	b.add(&engine.NodeDef{
		Name:        name,
		Kind:        engine.KindProcessor,
		Parents:     append(append([]string(nil), parents...), retrySourceName(name)),
		Redelivers:  policy.Blocking,
		DeadLetters: true,
		New: func() engine.Node {
			n := &handlerNode[K, V]{name: name, h: h, raw: raw}
			setup(n)
			return n
		},
	})
	AddInternalSink(b, retrySinkName(name), Sink[[]byte, []byte]{
		Topic: topic, KeySerde: serde.Bytes(), ValueSerde: serde.Bytes(),
	}, 0, name)
}

// handlerNode runs an outcome handler in one task.
type handlerNode[K, V any] struct {
	name string
	h    Handler[K, V]
	// raw is set when the handler reads sources only: its input's bytes
	// are the records' as read.
	raw  bool
	task *engine.Task
	// ctx is the context the function gets: the task's, with the
	// attempt of the call (Attempt). One per node, reused, so that a
	// call costs no allocation.
	ctx handlerContext
	// retryTopic is the handler's retry topic, its real name.
	retryTopic string
	sink       *sinkNode[[]byte, []byte]
	m          handlerMetrics
	// keyBuf and valueBuf hold the input's encoding for a retry.
	keyBuf, valueBuf []byte
	// conc runs the handler's function for many records at once, batch
	// for batches of records; nil for one record at a time.
	conc  *concurrent[K, V]
	batch *batcher[K, V]
}

func (n *handlerNode[K, V]) Connect(child string, c engine.Node) error {
	s, ok := c.(*sinkNode[[]byte, []byte])
	if !ok || child != retrySinkName(n.name) {
		return fmt.Errorf("handler %q is terminal: it cannot have child %q", n.name, child)
	}
	n.sink = s
	return nil
}

func (n *handlerNode[K, V]) Init(t *engine.Task) error {
	n.task = t
	n.ctx.Context = t.Context()
	n.retryTopic = retry.Topic(t.Config().ApplicationID, n.name)
	if n.sink == nil {
		return fmt.Errorf("handler %q: its retry sink %q is not connected", n.name, retrySinkName(n.name))
	}
	if err := n.m.init(t.Meter(), t.Config().ApplicationID, n.name, n.conc != nil || n.batch != nil); err != nil {
		return err
	}
	if n.conc != nil {
		n.conc.start()
	}
	if n.batch != nil {
		n.batch.start()
	}
	return nil
}

// Close cancels the context of the calls still running (a concurrent or
// batch handler's): the task closes after the runtime waited for them, or
// gave up.
func (n *handlerNode[K, V]) Close() error {
	if n.conc != nil {
		n.conc.stop()
	}
	if n.batch != nil {
		n.batch.stop()
	}
	return nil
}

func (n *handlerNode[K, V]) receive(r Record[K, V]) error {
	t := n.task
	prev := t.EnterNode(n.name)
	err := n.handle(r)
	t.LeaveNode(prev)
	return err
}

// attemptOf describes the record being handled: the attempt it is, and,
// for a retry record, what its headers say.
type attemptOf struct {
	attempt   int
	fromRetry bool
	info      retry.Info
	headers   []kgo.RecordHeader // the original headers of a retry record
}

func (n *handlerNode[K, V]) handle(r Record[K, V]) error {
	if n.conc != nil {
		return n.conc.take(r)
	}
	if n.batch != nil {
		return n.batch.take(r)
	}
	a := n.attemptOf()
	n.ctx.attempt = a.attempt
	start := time.Now()
	out, perr := n.call(r)
	n.m.took(time.Since(start))
	return n.apply(r, a, out, perr)
}

// attemptOf describes the record being processed for the handler.
func (n *handlerNode[K, V]) attemptOf() attemptOf {
	t := n.task
	cur := t.Current()
	a := attemptOf{attempt: cur.Attempt}
	if cur.Topic == n.retryTopic {
		a.fromRetry = true
		raw := t.Processing()
		info, headers, err := retry.Parse(raw)
		if err != nil {
			// Not written by a handler: a first attempt, from here.
			t.Logger().Warn("a record of the retry topic has no valid retry headers; handling it as a first attempt",
				"handler", n.name, "topic", cur.Topic, "partition", cur.Partition, "offset", cur.Offset, "err", err)
			info = retry.Info{Topic: cur.Topic, Partition: cur.Partition, Offset: cur.Offset}
			headers = raw.Headers
		}
		a.info, a.headers = info, headers
		a.attempt += info.Attempt
	}
	return a
}

// apply acts on the outcome of the handler's call for r, the record being
// processed: out, or perr, the processing error of a panic.
func (n *handlerNode[K, V]) apply(r Record[K, V], a attemptOf, out Outcome, perr error) error {
	t := n.task
	if perr != nil {
		n.m.count(outcomePanic)
		return t.FailRecord(n.name, &NodeError{Node: n.name, Err: perr}, func(topic string, partitions int) (*kgo.Record, error) {
			return n.deadSet(topic, partitions, r, a, deadletter.ReasonProcessing, perr.Error())
		})
	}
	switch out.kind {
	case outcomeSuccess, outcomeSkip:
		n.m.count(out.kind)
		return nil
	case outcomeDeadLetter:
		n.m.count(outcomeDeadLetter)
		return n.toDeadSet(r, a, out.reason, out.reason)
	}
	now := t.Now()
	if n.h.Retry.Now != nil {
		now = n.h.Retry.Now()
	}
	due, ok := n.h.Retry.Next(a.attempt, now)
	if !ok {
		n.m.count(outcomeExhausted)
		return n.toDeadSet(r, a, retry.ReasonExhausted, out.err.Error())
	}
	n.m.count(outcomeRetry)
	n.m.retried(a.attempt + 1)
	if n.h.Retry.Blocking {
		if cap := t.Config().RebalanceTimeout; cap > 0 && due.Sub(now) > cap {
			due = now.Add(cap)
		}
		t.Redeliver(due)
		return nil
	}
	return n.toRetryTopic(r, a, due, out.err)
}

// call calls the handler's function, recovering a panic into the record's
// processing error.
func (n *handlerNode[K, V]) call(r Record[K, V]) (out Outcome, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = n.task.RecoveredProcessing(n.name, v)
		}
	}()
	return n.h.Func(&n.ctx, r), nil
}

// handlerContext is the context a handler's function gets: its task's,
// which tells it when the application stops, and the attempt of the call.
type handlerContext struct {
	context.Context
	attempt int
}

// attemptKey is the key of the attempt in a handlerContext.
type attemptKey struct{}

func (c *handlerContext) Value(key any) any {
	if key == (attemptKey{}) {
		return c.attempt
	}
	return c.Context.Value(key)
}

// Attempt returns the attempt of the handler call that ctx was given to
// (see AddHandler): 0 for a record's first call, 1 for its first retry, and
// so on; a record replayed from the dead set starts at 0 again. It returns
// 0 for a context no handler gave. Read it during the call: the handler
// reuses the context for its next call.
func Attempt(ctx context.Context) int {
	a, _ := ctx.Value(attemptKey{}).(int)
	return a
}

// original returns the handler's input as it goes to the retry topic and
// the dead set: its key and value bytes (valid until the next record), its
// headers and its coordinates.
func (n *handlerNode[K, V]) original(r Record[K, V], a attemptOf) (key, value []byte, headers []kgo.RecordHeader, info retry.Info, err error) {
	t := n.task
	if a.fromRetry || n.raw {
		raw := t.Processing()
		key, value = raw.Key, raw.Value
	} else {
		if !r.nullKey {
			if n.keyBuf, err = n.h.KeySerde.Serialize(n.keyBuf[:0], n.retryTopic, r.Key); err != nil {
				return nil, nil, nil, info, fmt.Errorf("serialize key: %w", err)
			}
			key = n.keyBuf
		}
		if !r.nullValue {
			if n.valueBuf, err = n.h.ValueSerde.Serialize(n.valueBuf[:0], n.retryTopic, r.Value); err != nil {
				return nil, nil, nil, info, fmt.Errorf("serialize value: %w", err)
			}
			value = n.valueBuf
		}
	}
	if a.fromRetry {
		return key, value, a.headers, a.info, nil
	}
	cur := t.Current()
	return key, value, headersToKgo(r.Headers), retry.Info{Topic: cur.Topic, Partition: cur.Partition, Offset: cur.Offset}, nil
}

// toRetryTopic writes the record to the handler's retry topic, due at due,
// in the partition of the task's number.
func (n *handlerNode[K, V]) toRetryTopic(r Record[K, V], a attemptOf, due time.Time, cause error) error {
	key, value, headers, info, err := n.original(r, a)
	if err != nil {
		return &NodeError{Node: n.name, Err: fmt.Errorf("retry: %w", err)}
	}
	info.Attempt, info.Due, info.Error = a.attempt+1, due, cause.Error()
	rec := retry.NewRecord(n.retryTopic, n.task.ID.Partition, &kgo.Record{Key: key, Value: value, Timestamp: r.Timestamp, Headers: headers}, info)
	out := Record[[]byte, []byte]{Key: rec.Key, Value: rec.Value, Timestamp: rec.Timestamp, Headers: headersFromKgo(rec.Headers),
		nullKey: rec.Key == nil, nullValue: rec.Value == nil}
	prev := n.task.EnterNode(n.sink.name)
	err = n.sink.writeTo(out, rec.Partition)
	n.task.LeaveNode(prev)
	return err
}

// toDeadSet writes the record to the dead set, for reason.
func (n *handlerNode[K, V]) toDeadSet(r Record[K, V], a attemptOf, reason, message string) error {
	t := n.task
	err := t.SendDeadLetter(func(topic string, partitions int) (*kgo.Record, error) {
		return n.deadSet(topic, partitions, r, a, reason, message)
	})
	if err != nil {
		c := t.Current()
		return &NodeError{Node: n.name, Err: fmt.Errorf("write %s[%d]@%d to the dead set: %w", c.Topic, c.Partition, c.Offset, err)}
	}
	c := t.Current()
	t.Logger().Warn("record sent to the dead set", "handler", n.name, "reason", reason, "attempts", a.attempt+1,
		"topic", c.Topic, "partition", c.Partition, "offset", c.Offset, "message", message)
	return nil
}

// deadSet builds the dead-set record of the record being handled, for the
// dead-letter topic topic of partitions partitions.
func (n *handlerNode[K, V]) deadSet(topic string, partitions int, r Record[K, V], a attemptOf, reason, message string) (*kgo.Record, error) {
	key, value, headers, info, err := n.original(r, a)
	if err != nil {
		return nil, err
	}
	t := n.task
	orig := &kgo.Record{Topic: info.Topic, Partition: info.Partition, Offset: info.Offset,
		Key: t.KeepCopy(key), Value: t.KeepCopy(value), Timestamp: r.Timestamp, Headers: headers}
	return deadSetRecord(topic, partitions, orig, n.name, reason, message, a.attempt+1), nil
}
