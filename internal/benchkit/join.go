package benchkit

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/embedded"
	"github.com/strata-go/strata/join"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
)

// JoinWindow is the join scenario's window: records join within it of each
// other.
const JoinWindow = 5 * time.Second

// JoinGrace is the join scenario's grace. The task reading a partition of
// both topics processes their records in timestamp order while it holds
// records of both, and waits, at most 5 s (Config.MaxTaskIdle), while one
// lags; a poll drains the client's buffered fetches partition by partition,
// so one side of a task can run ahead of the other by thousands of records
// (minutes of these timestamps, 16 ms apart in a partition). A record that
// comes that late still joins its partner if the partner's store still
// keeps it, for the window and the grace behind the store's time.
const JoinGrace = 5 * time.Minute

// JoinKeys is the join scenario's number of distinct keys: a key recurs
// every 2 × JoinKeys ms, well after JoinWindow, so each record joins only
// its partner. At least 2500 are needed.
const JoinKeys = 10_000

// preloadPairs writes n records for the join, as the join package's
// benchmark does: record i goes to InTopic when i is even and to In2Topic
// when odd, with the key Key(i/2, keys) and the timestamp timedBase + i ms.
// Each record of In2Topic has one partner, the record of InTopic just
// before it: with 10k keys, a key's previous pair is 20 s older, out of the
// window.
func preloadPairs(ctx context.Context, c *embedded.Cluster, n, keys int) error {
	left, right := bytes.Repeat([]byte("l"), ValueSize), bytes.Repeat([]byte("r"), ValueSize)
	return ProduceAll(ctx, c, n, func(i int) *kgo.Record {
		r := &kgo.Record{Topic: InTopic, Key: Key(i/2, keys), Value: left, Timestamp: timedBase.Add(time.Duration(i) * time.Millisecond)}
		if i%2 == 1 {
			r.Topic, r.Value = In2Topic, right
		}
		return r
	})
}

// StreamsJoin runs a Strata app with guarantee g joining In and In2 by key
// within JoinWindow, with JoinGrace, the two window stores in Pebble
// with changelogs: each result is the left value, "+" and the right value,
// written to Out. It stops the app once every record has been processed.
func StreamsJoin(ctx context.Context, env Env, g strata.Guarantee) (*strata.App, error) {
	bld := topology.NewBuilder()
	stop := stopAfter(env.Records)
	l := kstream.From(bld, env.In, serde.String(), serde.String()).Peek(stop.record)
	r := kstream.From(bld, In2Topic, serde.String(), serde.String()).Peek(stop.record)
	join.Streams(l, r, join.Within(JoinWindow, JoinGrace), func(_, lv, rv string) string { return lv + "+" + rv }, join.Named("j")).
		To(env.Out)
	return runApp(ctx, env, bld, "bench-join-"+short(g), g, stop)
}

func streamsJoin(g strata.Guarantee) func(context.Context, Env) (time.Duration, error) {
	return func(ctx context.Context, env Env) (time.Duration, error) {
		// Smaller fetches than the default 1 MiB per partition
		// interleave the partitions in polls, so that a task's inputs
		// stay closer in time (see JoinGrace).
		env.ClientOptions = append(append([]kgo.Opt(nil), env.ClientOptions...), kgo.FetchMaxPartitionBytes(joinFetchPartitionBytes))
		return timedApp(ctx, env, false, func(ctx context.Context, env Env) (*strata.App, error) {
			return StreamsJoin(ctx, env, g)
		})
	}
}

// joinFetchPartitionBytes is the join scenario's kgo.FetchMaxPartitionBytes.
const joinFetchPartitionBytes = 128 << 10

func checkJoined(ctx context.Context, env Env) error {
	return checkOutput(ctx, env, func(recs []*kgo.Record) error { return CheckJoined(recs, env.Records, env.Keys) })
}

// CheckJoined checks the output of the join of n records over keys distinct
// keys preloaded by preloadPairs: one result per pair, each joining a left
// value with a right one, so that every key has one result per pair of it.
func CheckJoined(recs []*kgo.Record, n, keys int) error {
	if len(recs) != n/2 {
		return fmt.Errorf("%w: %d results, want %d", ErrIncomplete, len(recs), n/2)
	}
	want := string(bytes.Repeat([]byte("l"), ValueSize)) + "+" + string(bytes.Repeat([]byte("r"), ValueSize))
	perKey := map[string]int{}
	for _, r := range recs {
		if string(r.Value) != want {
			return fmt.Errorf("%w: %s[%d]@%d has value %q, want %q", ErrIncomplete, r.Topic, r.Partition, r.Offset, r.Value, want)
		}
		perKey[string(r.Key)]++
	}
	for j := range n / 2 {
		perKey[string(Key(j, keys))]--
	}
	for k, d := range perKey {
		if d != 0 {
			return fmt.Errorf("%w: key %q has %d results more than pairs", ErrIncomplete, k, d)
		}
	}
	return nil
}
