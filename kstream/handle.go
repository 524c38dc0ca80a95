package kstream

import (
	"context"
	"fmt"

	"github.com/strata-go/strata/internal/dsl"
	"github.com/strata-go/strata/retry"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
)

// Outcome is what the function of [Stream.Handle] says became of a record:
// [Success], [Retry] (with the error), [DeadLetter] (with the reason) or
// [Skip]. It is topology.Outcome.
type Outcome = topology.Outcome

// Success says the record was handled.
func Success() Outcome { return topology.Success() }

// Retry says the record failed with err and should be tried again, as the
// handler's retry policy ([WithRetry]) says; after the policy's last
// attempt it goes to the dead set.
func Retry(err error) Outcome { return topology.Retry(err) }

// DeadLetter says the record cannot be handled, for reason, and retrying
// will not help: it goes to the dead set at once.
func DeadLetter(reason string) Outcome { return topology.DeadLetter(reason) }

// Skip says the record is not for this handler: nothing is done with it.
func Skip() Outcome { return topology.Skip() }

// Attempt returns the attempt of the [Stream.Handle] call ctx was given to:
// 0 for a record's first call, 1 for its first retry, and so on (a record
// replayed from the dead set starts at 0 again); 0 for a context no handler
// gave. Read it during the call. It is topology.Attempt.
func Attempt(ctx context.Context) int { return topology.Attempt(ctx) }

// WithRetry sets the retry policy of [Stream.Handle] (package retry): the
// backoff, the number of attempts, the maximum delay, the jitter, and
// whether retries block the partition. Only Handle takes it; without it,
// Handle retries with retry.Policy's defaults.
func WithRetry(p retry.Policy) Option {
	return dsl.NewOption(dsl.OptRetry, func(o *dsl.Options) { o.Retry = p })
}

// Handle calls fn for each record, for a side effect (calling a payment
// API, sending a webhook), a terminal operation: fn says what became of
// the record, and the handler acts on it, as Gojek's Ziggurat does.
//
//   - [Success], [Skip]: done.
//   - [Retry]: the record is tried again later, as the retry policy says
//     ([WithRetry]; package retry documents the policies): by default
//     through the application's retry topic "<ApplicationID>-<name>-retry",
//     without holding up the records behind it; with retry.Policy.Blocking,
//     in place, its partition waiting behind it. After the policy's last
//     attempt it goes to the dead set, with the reason "retries-exhausted"
//     and the last error.
//   - [DeadLetter]: the record goes to the dead set at once, with the
//     reason given.
//
// The dead set is the application's dead-letter topic (strata's
// Config.DeadLetterTopic, created when the topology has a handler): each
// record as the handler got it first, with its original key, value,
// timestamp, headers and coordinates, the reason, the handler's name and
// the number of attempts (package deadletter reads, replays and deletes
// it; a replay goes back through the handler's retry topic). Under
// exactly-once a record's move to the retry topic or the dead set commits
// with the offset of the record it replaces.
//
// name names the handler, its retry topic and its metrics: choose it once
// and keep it, as the retry topic holds records across deployments. It may
// use ASCII letters, digits, '.', '_' and '-'.
//
// ctx is done when the application stops; an attempt cut short then should
// return Retry. [Attempt](ctx) tells which attempt the call is. fn runs in the task processing the record: with several
// tasks it may be called concurrently. A panic in fn is the record's
// processing error: strata's Config.OnProcessingError applies (under skip
// and dead-letter the application goes on; dead-lettered, the record goes
// to the dead set as the handler's own do). fn is called for tombstones
// too, with the zero value.
//
// The handler records OpenTelemetry metrics: records by outcome, the
// duration of fn's calls, retries by attempt (see topology.AddHandler), and
// the runtime adds the records waiting in retry topics and the dead set's
// size.
//
// With [WithConcurrency], fn handles many records of a partition at once,
// on goroutines of the handler, by default never two records of one key at
// a time and those in offset order; the offsets committed never pass a
// record not yet finished (see WithConcurrency). [Stream.HandleBatch] gives
// fn records in batches instead.
//
// Options: [WithRetry], [WithConcurrency], [WithSerdes] (the serdes of the retry topic and of
// the dead set's keys and values where the stream's are unknown; default
// the stream's, else the builder's). Named does not apply: the name is
// Handle's argument.
func (s Stream[K, V]) Handle(name string, fn func(ctx context.Context, key K, value V) Outcome, opts ...Option) {
	b := s.builder()
	d, ks, vs := handlerOptions(s, "Handle", name, fn == nil, dsl.OptConcurrency, opts)
	topology.AddHandler(b, name, topology.Handler[K, V]{
		Func: func(ctx context.Context, r topology.Record[K, V]) Outcome {
			return fn(ctx, r.Key, r.Value)
		},
		KeySerde:    ks,
		ValueSerde:  vs,
		Retry:       d.Retry,
		Concurrency: d.Concurrency,
		Ordering:    d.Ordering,
	}, s.node())
}

// handlerOptions collects the options of op (Handle, HandleBatch) named
// name, given extra, the options op takes besides the serdes and the retry
// policy, checks its name and function, and returns the serdes of its
// records.
func handlerOptions[K, V any](s Stream[K, V], op, name string, nilFunc bool, extra dsl.Kind, opts []Option) (*dsl.Options, serde.Serde[K], serde.Serde[V]) {
	b := s.builder()
	d := dsl.Collect(b, fmt.Sprintf("%s %q", op, name), optSerdes|dsl.OptRetry|extra, nil, opts)
	if d.Given&dsl.OptNamed != 0 {
		b.Fail(fmt.Errorf("%s %q: option Named does not apply: the handler's name is %s's first argument", op, name, op))
	}
	if err := checkHandlerName(name); err != nil {
		b.Fail(fmt.Errorf("%s %q: %w", op, name, err))
	}
	if nilFunc {
		b.Fail(fmt.Errorf("%s %q: nil function", op, name))
	}
	ks, vs := writeSerdes(b, op, name, s.core(), &options{serdes: d.Serdes})
	return d, ks, vs
}

// checkHandlerName checks that name can name a handler's retry topic.
func checkHandlerName(name string) error {
	if name == "" {
		return fmt.Errorf("a handler needs a name")
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("the name contains %q; use ASCII letters, digits, '.', '_' and '-' (it names the retry topic)", r)
		}
	}
	if len(name) > 200 {
		return fmt.Errorf("the name is %d characters long; at most 200 are allowed (it names the retry topic)", len(name))
	}
	return nil
}
