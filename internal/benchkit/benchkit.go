// Package benchkit holds what Strata's end-to-end benchmarks on kfake share:
// preloading input, the plain franz-go consume → produce loop they are
// compared with, the Strata scenarios, a clock that times a run from the
// first record fetched to the last output acknowledged or the last commit,
// and checks that a run's output is complete. The root package's
// benchmarks and the bench command (go run ./bench) both use it.
package benchkit

import (
	"bytes"
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata/embedded"
)

// ValueSize is the size of every preloaded value, in bytes.
const ValueSize = 16

// Key returns the key of the i-th preloaded record when keys distinct keys
// are used: "key-%05d" of i mod keys.
func Key(i, keys int) []byte {
	return fmt.Appendf(nil, "key-%05d", i%keys)
}

// Preload writes n records to topic, their keys cycling through keys
// distinct keys (see [Key]), each value ValueSize bytes of 'v'. It returns
// once every record is acknowledged.
func Preload(ctx context.Context, c *embedded.Cluster, topic string, n, keys int) error {
	if keys <= 0 {
		return fmt.Errorf("preload %q: keys must be positive, got %d", topic, keys)
	}
	value := bytes.Repeat([]byte("v"), ValueSize)
	return ProduceAll(ctx, c, n, func(i int) *kgo.Record {
		return &kgo.Record{Topic: topic, Key: Key(i, keys), Value: value}
	})
}

// ProduceAll produces record(i) for i from 0 to n-1, batching with a 5 ms
// linger, and returns once every record is acknowledged.
func ProduceAll(ctx context.Context, c *embedded.Cluster, n int, record func(i int) *kgo.Record) error {
	cl, err := c.Client(kgo.ProducerLinger(5 * time.Millisecond))
	if err != nil {
		return fmt.Errorf("preload: %w", err)
	}
	defer cl.Close()
	var failed atomic.Pointer[error]
	for i := range n {
		cl.Produce(ctx, record(i), func(_ *kgo.Record, err error) {
			if err != nil {
				failed.CompareAndSwap(nil, &err)
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		return fmt.Errorf("preload: %w", err)
	}
	if err := failed.Load(); err != nil {
		return fmt.Errorf("preload: %w", *err)
	}
	return nil
}

// PlainLoop is the baseline: one franz-go client of the brokers consuming n
// records of in from the start, upper-casing each value and producing it to
// out, until every output record is acknowledged. opts are added to the
// client's options (a [Clock]'s hooks, for example).
func PlainLoop(ctx context.Context, brokers []string, in, out string, n int, opts ...kgo.Opt) error {
	cl, err := kgo.NewClient(append([]kgo.Opt{
		kgo.SeedBrokers(brokers...),
		kgo.ConsumeTopics(in),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	}, opts...)...)
	if err != nil {
		return fmt.Errorf("plain loop: %w", err)
	}
	defer cl.Close()
	var failed atomic.Pointer[error]
	onProduced := func(_ *kgo.Record, err error) {
		if err != nil {
			failed.CompareAndSwap(nil, &err)
		}
	}
	seen := 0
	for seen < n {
		fetches := cl.PollFetches(ctx)
		if err := fetches.Err(); err != nil {
			return fmt.Errorf("plain loop: poll: %w", err)
		}
		fetches.EachRecord(func(r *kgo.Record) {
			seen++
			cl.Produce(ctx, &kgo.Record{Topic: out, Key: r.Key, Value: bytes.ToUpper(r.Value)}, onProduced)
		})
	}
	if err := cl.Flush(ctx); err != nil {
		return fmt.Errorf("plain loop: flush: %w", err)
	}
	if err := failed.Load(); err != nil {
		return fmt.Errorf("plain loop: produce: %w", *err)
	}
	return nil
}
