package benchkit

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/embedded"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
)

// IOWait is how long the I/O-bound handler of [ChannelsThrough] waits per
// record, on a real timer.
const IOWait = 20 * time.Millisecond

// PreloadNumbered writes n records to InTopic as [Preload] does, but each
// value is the record's number, i, in ValueSize decimal digits: a handler
// can tell the order in which the records of a key were written.
func PreloadNumbered(ctx context.Context, c *embedded.Cluster, n, keys int) error {
	if keys <= 0 {
		return fmt.Errorf("preload %q: keys must be positive, got %d", InTopic, keys)
	}
	return ProduceAll(ctx, c, n, func(i int) *kgo.Record {
		return &kgo.Record{Topic: InTopic, Key: Key(i, keys), Value: fmt.Appendf(nil, "%0*d", ValueSize, i)}
	})
}

// ChannelsThrough runs, at least once, an outcome handler on In whose
// function waits IOWait per record on a real timer, as a call to a service
// would, and succeeds: one record at a time (the worker's goroutine runs
// the function) if concurrency is 1 or less, else with
// kstream.WithConcurrency(concurrency, kstream.OrderByKey) and
// concurrency records in flight across the instance
// (Config.MaxInFlight). The input must be [PreloadNumbered]'s: the handler
// checks that the records of a key never overlap and come in the order
// they were written, and ChannelsThrough fails if one did not. It stops
// the app once every record has succeeded.
func ChannelsThrough(ctx context.Context, env Env, concurrency int) (*strata.App, error) {
	order := &keyOrder{last: map[string]int64{}, running: map[string]bool{}}
	stop := stopAfter(env.Records)
	bld := topology.NewBuilder()
	var opts []kstream.Option
	if concurrency > 1 {
		opts = append(opts, kstream.WithConcurrency(concurrency, kstream.OrderByKey))
		env.MaxInFlight = concurrency
	}
	kstream.From(bld, env.In, serde.String(), serde.String()).Handle(handlerName, func(ctx context.Context, k, v string) kstream.Outcome {
		order.start(k, v)
		t := time.NewTimer(IOWait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
		order.end(k)
		stop.record(k, v)
		return kstream.Success()
	}, opts...)
	app, err := runApp(ctx, env, bld, ioAppID(concurrency), strata.AtLeastOnce, stop)
	if err != nil {
		return nil, err
	}
	if err := order.err(); err != nil {
		return nil, err
	}
	return app, nil
}

// keyOrder checks the calls of a key-ordered handler: a key's records
// never overlap and come in increasing record numbers. At least once, a
// record may be handled again after a rebalance; a run on one instance has
// none.
type keyOrder struct {
	mu sync.Mutex
	// last is one more than the number of the key's last record.
	last    map[string]int64
	running map[string]bool
	broken  error
}

// start records the call for key k of the record numbered v.
func (o *keyOrder) start(k, v string) {
	i, err := strconv.ParseInt(v, 10, 64)
	o.mu.Lock()
	defer o.mu.Unlock()
	switch {
	case o.broken != nil:
	case err != nil:
		o.broken = fmt.Errorf("key %q: value %q is not a record number: %w", k, v, err)
	case o.running[k]:
		o.broken = fmt.Errorf("key %q: record %d started while an earlier record of the key was running", k, i)
	case i < o.last[k]:
		o.broken = fmt.Errorf("key %q: record %d handled after record %d", k, i, o.last[k]-1)
	}
	o.running[k] = true
	o.last[k] = i + 1
}

// end records the end of the call for key k.
func (o *keyOrder) end(k string) {
	o.mu.Lock()
	o.running[k] = false
	o.mu.Unlock()
}

func (o *keyOrder) err() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.broken != nil {
		return fmt.Errorf("per-key order not kept: %w", o.broken)
	}
	return nil
}

// ioAppID is the application ID of ChannelsThrough.
func ioAppID(concurrency int) string { return fmt.Sprintf("bench-io-%d", max(concurrency, 1)) }
