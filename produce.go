package strata

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata/deadletter"
	"github.com/strata-go/strata/internal/engine"
	"github.com/strata-go/strata/topology"
)

// A worker hands its tasks' output to franz-go, which produces it in the
// background and reports each record's fate to the worker's promise,
// onProduced. No commit happens before every record handed over has been
// reported (awaitOutput: franz-go's Flush alone does not wait for the
// promises of records it fails before buffering them, a record too large
// for instance), and none happens while a record failed: the
// production-error policy decides what becomes of the input record whose
// output failed (productionFailed).

// maxFailures is how many production failures a worker keeps between
// commits; more are counted, not kept.
const maxFailures = 64

// productionFailure is an output record franz-go could not produce.
type productionFailure struct {
	topic     string
	partition int32
	// origin is the input record whose processing sent the output;
	// nil for output of a cache flush or a punctuation.
	origin *kgo.Record
	err    error
}

func (f productionFailure) Error() string {
	if f.origin == nil {
		return fmt.Sprintf("produce to %s[%d]: %v", f.topic, f.partition, f.err)
	}
	return fmt.Sprintf("produce to %s[%d] the output of %s[%d]@%d: %v",
		f.topic, f.partition, f.origin.Topic, f.origin.Partition, f.origin.Offset, f.err)
}

func (f productionFailure) Unwrap() error { return f.err }

// outputState is what a worker knows of the output it handed to one
// franz-go client: how many records await their promise, and which failed.
// Promises run on franz-go's goroutines. A worker that replaces its client
// starts a new outputState, so that the old client's failures (records it
// fails as it closes) are not taken for the new one's.
type outputState struct {
	mu       sync.Mutex
	pending  int64
	drained  chan struct{} // closed and replaced when pending falls to 0
	failures []productionFailure
	failed   int
	// promise is the produce promise of records counted by sent.
	promise func(*kgo.Record, error)
}

func newOutputState() *outputState {
	o := &outputState{drained: make(chan struct{})}
	o.promise = func(rec *kgo.Record, err error) {
		o.done(rec, err)
		// franz-go is done with the record: the next output reuses it.
		engine.FreeOutputRecord(rec)
	}
	return o
}

// sent counts a record handed to franz-go.
func (o *outputState) sent() {
	o.mu.Lock()
	o.pending++
	o.mu.Unlock()
}

// done records a record's promise: a failure if err is set.
func (o *outputState) done(rec *kgo.Record, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if err != nil {
		o.failed++
		if len(o.failures) < maxFailures {
			o.failures = append(o.failures, productionFailure{topic: rec.Topic, partition: rec.Partition, origin: engine.OutputOrigin(rec), err: err})
		}
	}
	if o.pending--; o.pending == 0 {
		close(o.drained)
		o.drained = make(chan struct{})
	}
}

// wait returns once every record sent has been reported, or when ctx ends.
func (o *outputState) wait(ctx context.Context) error {
	for {
		o.mu.Lock()
		pending, drained := o.pending, o.drained
		o.mu.Unlock()
		if pending == 0 {
			return nil
		}
		select {
		case <-drained:
		case <-ctx.Done():
			return fmt.Errorf("%d output records not acknowledged: %w", pending, ctx.Err())
		}
	}
}

// take returns the failures reported since the last take, and how many
// there were in all (more than returned past maxFailures).
func (o *outputState) take() ([]productionFailure, int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	f, n := o.failures, o.failed
	o.failures, o.failed = nil, 0
	return f, n
}

// awaitOutput waits until franz-go has reported the fate of every output
// record the worker handed it.
func (r *runner) awaitOutput(ctx context.Context) error {
	if err := r.cl.Flush(ctx); err != nil {
		return fmt.Errorf("flush output: %w", err)
	}
	return r.output.wait(ctx)
}

// recordSpecific reports whether err fails a produce because of the record
// itself, so that producing it again cannot succeed: the errors to which
// the production-error policy applies. Other errors (the brokers
// unreachable, authorization, a fenced producer) are not the record's.
func recordSpecific(err error) bool {
	return errors.Is(err, kerr.MessageTooLarge) ||
		errors.Is(err, kerr.RecordListTooLarge) ||
		errors.Is(err, kerr.InvalidRecord) ||
		errors.Is(err, kerr.CorruptMessage) ||
		errors.Is(err, kerr.InvalidTimestamp)
}

// ErrProduction is wrapped by the error Run returns when output could not be
// produced and the production-error policy (Config.OnProductionError) does
// not skip it: the error names the output topic and partition and, where
// there is one, the input record whose output it was.
var ErrProduction = errors.New("strata: output could not be produced")

// failuresError is the error of failures under the policy fail, or of
// failures the policy does not cover.
func failuresError(fs []productionFailure, n int) error {
	errs := make([]error, 0, len(fs)+1)
	for _, f := range fs {
		errs = append(errs, f)
	}
	if n > len(fs) {
		errs = append(errs, fmt.Errorf("and %d more", n-len(fs)))
	}
	return fmt.Errorf("%w: %w", ErrProduction, errors.Join(errs...))
}

// handled reports whether the production-error policy takes care of f:
// a policy other than fail, an error of the record itself, and an input
// record to blame.
func (r *runner) handled(f productionFailure) bool {
	return r.cfg.OnProductionError != topology.BadRecordFail && f.origin != nil && recordSpecific(f.err)
}

// checkOutput is called once the output is acknowledged, before a commit:
// it applies the production-error policy to what failed. Under
// at-least-once, the failed output is lost (skip) or its input record is
// written to the dead-letter topic, and the commit goes on; under
// exactly-once, it reports true: the transaction must abort, and the input
// records are marked (poison) for the policy to handle them when they are
// processed again. Failures the policy does not cover are an error.
func (r *runner) checkOutput(ctx context.Context) (abort bool, err error) {
	fs, n := r.output.take()
	if n == 0 {
		return false, nil
	}
	if n > len(fs) && r.cfg.OnProductionError != topology.BadRecordFail {
		// Failures that were not kept cannot be blamed on their
		// input records.
		return r.eos, failuresError(fs, n)
	}
	for _, f := range fs {
		if !r.handled(f) {
			return r.eos, failuresError(fs, n)
		}
	}
	if r.eos {
		for _, f := range fs {
			r.poison(f)
		}
		return true, nil
	}
	for _, f := range fs {
		r.log.Warn("output could not be produced; its input record is skipped by policy",
			"output_topic", f.topic, "output_partition", f.partition,
			"topic", f.origin.Topic, "partition", f.origin.Partition, "offset", f.origin.Offset,
			"dead_lettered", r.cfg.OnProductionError == topology.BadRecordDeadLetter, "err", f.err)
		r.app.metrics.failed.Add(1)
		if st, ok := r.app.top.TopicSubtopology[f.origin.Topic]; ok {
			r.app.tel.task(engine.TaskID{Subtopology: st, Partition: f.origin.Partition}).failedProd.Add(1)
		}
		if r.cfg.OnProductionError == topology.BadRecordDeadLetter {
			if err := r.deadLetterOrigin(f); err != nil {
				return false, err
			}
		}
	}
	if r.cfg.OnProductionError != topology.BadRecordDeadLetter {
		return false, nil
	}
	// The dead-letter records must be acknowledged before the offsets
	// that passed their input records are committed.
	if err := r.awaitOutput(ctx); err != nil {
		return false, err
	}
	if fs, n := r.output.take(); n > 0 {
		return false, failuresError(fs, n)
	}
	return false, nil
}

// deadLetterOrigin writes the input record of f to the dead-letter topic.
func (r *runner) deadLetterOrigin(f productionFailure) error {
	topic := r.cfg.DeadLetterTopic
	n, err := (*producer)(r).PartitionCount(topic)
	if err != nil {
		return fmt.Errorf("strata: dead-letter %s[%d]@%d: %w", f.origin.Topic, f.origin.Partition, f.origin.Offset, err)
	}
	return (*producer)(r).Send(deadletter.New(topic, n, f.origin, deadletter.ReasonProduction, f))
}

// poison marks f's input record, under exactly-once, for the policy to
// handle when it comes again: its transaction aborts, and the record is
// processed again from the last commit.
func (r *runner) poison(f productionFailure) {
	tp := topicPartition{f.origin.Topic, f.origin.Partition}
	if r.poisoned == nil {
		r.poisoned = map[topicPartition]map[int64]productionFailure{}
	}
	if r.poisoned[tp] == nil {
		r.poisoned[tp] = map[int64]productionFailure{}
	}
	r.poisoned[tp][f.origin.Offset] = f
	r.log.Warn("output could not be produced; aborting the transaction to handle its input record by policy",
		"output_topic", f.topic, "output_partition", f.partition,
		"topic", tp.topic, "partition", tp.partition, "offset", f.origin.Offset,
		"policy", r.cfg.OnProductionError, "err", f.err)
}

// addRecords gives recs, fetched from one partition, to the task reading
// it, handing those marked by poison to the production-error policy
// instead.
func (r *runner) addRecords(in taskInput, tp topicPartition, recs []*kgo.Record) error {
	marked := r.poisoned[tp]
	if len(marked) == 0 {
		return in.task.Add(in.input, recs...)
	}
	from := 0
	for i, rec := range recs {
		f, ok := marked[rec.Offset]
		if !ok {
			continue
		}
		if err := in.task.Add(in.input, recs[from:i]...); err != nil {
			return err
		}
		if err := in.task.Reject(in.input, rec, engine.BadRecordPolicy(r.cfg.OnProductionError), deadletter.ReasonProduction, f); err != nil {
			return err
		}
		from = i + 1
	}
	return in.task.Add(in.input, recs[from:]...)
}

// prunePoisoned forgets marks below the committed offsets: those records
// were handled and committed. Partitions no longer assigned are
// forgotten too: their next owner meets the failure itself.
func (r *runner) prunePoisoned(committed map[string]map[int32]kgo.EpochOffset) {
	for tp, marks := range r.poisoned {
		eo, ok := committed[tp.topic][tp.partition]
		if _, assigned := r.inputs[tp]; !assigned {
			delete(r.poisoned, tp)
			continue
		}
		if !ok {
			continue
		}
		for off := range marks {
			if off < eo.Offset {
				delete(marks, off)
			}
		}
		if len(marks) == 0 {
			delete(r.poisoned, tp)
		}
	}
}
