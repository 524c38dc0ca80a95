package benchkit

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/embedded"
	"github.com/strata-go/strata/retry"
)

// Topics of the broker [Start] sets up.
const (
	InTopic = "in"
	// In2Topic is the second input of the join scenario, empty for the
	// others.
	In2Topic = "in2"
	OutTopic = "out"
)

// Start starts a broker with InTopic, In2Topic and OutTopic, partitions
// each, and preloads n records with keys distinct keys with preload (nil:
// [Preload] into InTopic).
func Start(ctx context.Context, partitions int32, n, keys int, preload PreloadFunc) (*embedded.Cluster, error) {
	c, err := embedded.Start(ctx, embedded.Config{Topics: []embedded.Topic{
		{Name: InTopic, Partitions: partitions},
		{Name: In2Topic, Partitions: partitions},
		{Name: OutTopic, Partitions: partitions},
	}})
	if err != nil {
		return nil, err
	}
	if preload == nil {
		preload = func(ctx context.Context, c *embedded.Cluster, n, keys int) error {
			return Preload(ctx, c, InTopic, n, keys)
		}
	}
	if err := preload(ctx, c, n, keys); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// PreloadFunc writes a scenario's n input records, over keys distinct keys,
// to the broker [Start] set up.
type PreloadFunc func(ctx context.Context, c *embedded.Cluster, n, keys int) error

// A Scenario is one workload the bench command measures.
type Scenario struct {
	// Name identifies the scenario on the command line and in reports.
	Name string
	// Description says what runs, for the report.
	Description string
	// Keys, if not zero, is the scenario's own number of distinct keys,
	// in place of the command's -keys; it then processes at least that
	// many records, so that every key occurs.
	Keys int
	// N, if not zero, is the scenario's own number of records, in place
	// of the command's -n: the I/O-bound handlers take 20 ms a record.
	N int
	// Preload writes the input; nil is [Preload] into InTopic.
	Preload PreloadFunc
	// Run runs the scenario once on env. It returns the time measured:
	// from the first input batch fetched to the last output acknowledged
	// (the plain loop, map-through at least once), or to the last commit
	// answered (everything else). It may run in a process of its own,
	// with env.Cluster nil: it reaches the brokers through env.Brokers.
	Run func(ctx context.Context, env Env) (time.Duration, error)
	// Check reads env's output after Run and checks it is complete: every
	// record mapped, every key's final count exact, every pair joined.
	Check func(ctx context.Context, env Env) error
}

// Records is how many records s processes when the command asks for n.
func (s Scenario) Records(n int) int {
	if s.N > 0 {
		n = s.N
	}
	return max(n, s.Keys)
}

// The records of the I/O-bound scenarios: at 20 ms a record, one at a
// time, handle-io-seq takes 10 s; handle-io-200, at most 200 times as
// fast, a few seconds.
const (
	ioSeqRecords = 500
	io200Records = 40_000
)

// handleConcurrently runs HandleConcurrently.
func handleConcurrently(concurrency int) func(context.Context, Env) (*strata.App, error) {
	return func(ctx context.Context, env Env) (*strata.App, error) {
		return HandleConcurrently(ctx, env, concurrency)
	}
}

// channelsThrough runs ChannelsThrough.
func channelsThrough(concurrency int) func(context.Context, Env) (*strata.App, error) {
	return func(ctx context.Context, env Env) (*strata.App, error) { return ChannelsThrough(ctx, env, concurrency) }
}

// Scenarios returns the scenarios in the order the bench command runs them;
// the first, "plain", is the baseline.
func Scenarios() []Scenario {
	return []Scenario{
		{Name: "plain", Description: "franz-go consume → produce loop", Run: runPlain, Check: checkMapped},
		{Name: "map-alos", Description: "Strata MapValues, at least once", Run: mapThrough(strata.AtLeastOnce), Check: checkMapped},
		{Name: "map-eos", Description: "Strata MapValues, exactly once", Run: mapThrough(strata.ExactlyOnce), Check: checkMapped},
		{Name: "count-alos", Description: "Strata count by key (Pebble), at least once", Run: countByKey(strata.AtLeastOnce, true), Check: checkCounts},
		{Name: "count-eos", Description: "Strata count by key (Pebble), exactly once", Run: countByKey(strata.ExactlyOnce, true), Check: checkCounts},
		{Name: "count-eos-nocache", Description: "the same with the record cache off (DisableCache)", Run: countByKey(strata.ExactlyOnce, false), Check: checkCounts},
		{Name: "count-eos-1m", Description: "count by key, exactly once, over 1M distinct keys", Keys: 1_000_000, Run: countByKey(strata.ExactlyOnce, true), Check: checkCounts},
		{Name: "count-eos-2m", Description: "count by key, exactly once, over 2M distinct keys", Keys: 2_000_000, Run: countByKey(strata.ExactlyOnce, true), Check: checkCounts},
		{Name: "wcount-eos", Description: "count by key in 1-minute tumbling windows (Pebble, cached), exactly once, records 1 ms apart", Preload: preloadTimed, Run: windowedCount(strata.ExactlyOnce), Check: checkWindowedCounts},
		{Name: "join-eos", Description: "stream-stream inner join within 5 s (Pebble), exactly once, each record joining one", Keys: JoinKeys, Preload: preloadPairs, Run: streamsJoin(strata.ExactlyOnce), Check: checkJoined},
		{Name: "handle-alos", Description: "Strata outcome handler, every call a success, at least once", Run: handleThrough(false), Check: checkRetries(false)},
		{Name: "retry-alos", Description: "Strata outcome handler, every record retried once through the retry topic, at least once", Run: handleThrough(true), Check: checkRetries(true)},
		{Name: "handle-noop-200", Description: "handle-alos through the concurrent machinery: WithConcurrency(200, OrderByKey)", Run: timedHandler(handleConcurrently(200)), Check: checkRetryTopic(handleAppID(strata.AtLeastOnce, false, 200), false)},
		{Name: "handle-io-seq", Description: "outcome handler waiting 20 ms per record (a real timer), one record at a time, at least once", N: ioSeqRecords, Preload: PreloadNumbered, Run: timedHandler(channelsThrough(1)), Check: checkRetryTopic(ioAppID(1), false)},
		{Name: "handle-io-200", Description: "the same with WithConcurrency(200, OrderByKey) and MaxInFlight 200 (200 in flight on 8 partitions); checks that a key's records never overlap and run in order", N: io200Records, Preload: PreloadNumbered, Run: timedHandler(channelsThrough(200)), Check: checkRetryTopic(ioAppID(200), false)},
	}
}

func runPlain(ctx context.Context, env Env) (time.Duration, error) {
	clock := NewClock(env.In, env.Out)
	opts := append(append([]kgo.Opt(nil), env.ClientOptions...), clock.Hooks())
	if err := PlainLoop(ctx, env.brokers(), env.In, env.Out, env.Records, opts...); err != nil {
		return 0, err
	}
	return measured(clock.ToLastOutput())
}

// measured returns took, failing if the clock missed the start or the end
// of the run.
func measured(took time.Duration) (time.Duration, error) {
	if took <= 0 {
		return 0, fmt.Errorf("the clock saw no input fetched or no output or commit after it")
	}
	return took, nil
}

// timedApp runs app, a Strata app writing env.Out, with a clock, and
// returns the time to the last commit answered or, at least once for a
// map-through, to the last output acknowledged.
func timedApp(ctx context.Context, env Env, toLastOutput bool, app func(context.Context, Env) (*strata.App, error)) (time.Duration, error) {
	clock := NewClock(env.In, env.Out)
	env.ClientOptions = append(append([]kgo.Opt(nil), env.ClientOptions...), clock.Hooks())
	if _, err := app(ctx, env); err != nil {
		return 0, err
	}
	if toLastOutput {
		return measured(clock.ToLastOutput())
	}
	return measured(clock.ToLastCommit())
}

func mapThrough(g strata.Guarantee) func(context.Context, Env) (time.Duration, error) {
	return func(ctx context.Context, env Env) (time.Duration, error) {
		// At least once, output is done when acknowledged; exactly
		// once, when the transaction holding it commits.
		return timedApp(ctx, env, g == strata.AtLeastOnce, func(ctx context.Context, env Env) (*strata.App, error) {
			return MapThrough(ctx, env, g)
		})
	}
}

func countByKey(g strata.Guarantee, cache bool) func(context.Context, Env) (time.Duration, error) {
	return func(ctx context.Context, env Env) (time.Duration, error) {
		env.DisableCache = !cache
		return timedApp(ctx, env, false, func(ctx context.Context, env Env) (*strata.App, error) {
			return CountByKey(ctx, env, g)
		})
	}
}

// handleThrough runs HandleThrough at least once; with retryOnce every
// record makes one hop through the retry topic.
func handleThrough(retryOnce bool) func(context.Context, Env) (time.Duration, error) {
	return timedHandler(func(ctx context.Context, env Env) (*strata.App, error) {
		return HandleThrough(ctx, env, strata.AtLeastOnce, retryOnce)
	})
}

// timedHandler runs app, an outcome handler's, and returns the time to the
// commit after the last record handled: the handler writes no output.
func timedHandler(app func(context.Context, Env) (*strata.App, error)) func(context.Context, Env) (time.Duration, error) {
	return func(ctx context.Context, env Env) (time.Duration, error) {
		clock := NewClock(env.In, env.Out)
		env.ClientOptions = append(append([]kgo.Opt(nil), env.ClientOptions...), clock.Hooks(),
			// kfake answers a fetch of partitions that were empty
			// when it arrived only at the fetch's max wait (5s by
			// default): the retry topic often is, and so are
			// partitions at their end while the partitions of a busy
			// handler are paused (a resumed partition waits for the
			// fetch in flight).
			kgo.FetchMaxWait(50*time.Millisecond))
		if _, err := app(ctx, env); err != nil {
			return 0, err
		}
		return measured(clock.ToLastCommit())
	}
}

// checkRetries checks the retry topic of HandleThrough's handler: every
// record once with retryOnce, none otherwise. (HandleThrough itself returns
// only once every record succeeded.)
func checkRetries(retryOnce bool) func(context.Context, Env) error {
	return checkRetryTopic(handleAppID(strata.AtLeastOnce, retryOnce, 0), retryOnce)
}

// checkRetryTopic checks the retry topic of the handler of application id:
// every record once with retryOnce, none otherwise.
func checkRetryTopic(id string, retryOnce bool) func(context.Context, Env) error {
	return func(ctx context.Context, env Env) error {
		want := int64(0)
		if retryOnce {
			want = int64(env.Records)
		}
		topic := retry.Topic(id, handlerName)
		ends, err := env.Cluster.Admin().ListEndOffsets(ctx, topic)
		if err == nil {
			err = ends.Error()
		}
		if err != nil {
			return fmt.Errorf("check %q: %w", topic, err)
		}
		var got int64
		ends.Each(func(o kadm.ListedOffset) { got += o.Offset })
		if got != want {
			return fmt.Errorf("check %q: %d retries, want %d", topic, got, want)
		}
		return nil
	}
}

func checkMapped(ctx context.Context, env Env) error {
	return checkOutput(ctx, env, func(recs []*kgo.Record) error { return CheckMapped(recs, env.Records) })
}

func checkCounts(ctx context.Context, env Env) error {
	return checkOutput(ctx, env, func(recs []*kgo.Record) error { return CheckCounts(recs, env.Records, env.Keys) })
}

// checkOutput reads env.Out and checks it with check.
func checkOutput(ctx context.Context, env Env, check func([]*kgo.Record) error) error {
	recs, err := ReadAll(ctx, env.Cluster, env.Out)
	if err != nil {
		return err
	}
	if err := check(recs); err != nil {
		return fmt.Errorf("check %q: %w", env.Out, err)
	}
	return nil
}
