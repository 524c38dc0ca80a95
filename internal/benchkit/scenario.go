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
	InTopic  = "in"
	OutTopic = "out"
)

// Start starts a broker with InTopic and OutTopic, partitions each, and
// preloads n records with keys distinct keys into InTopic.
func Start(ctx context.Context, partitions int32, n, keys int) (*embedded.Cluster, error) {
	c, err := embedded.Start(ctx, embedded.Config{Topics: []embedded.Topic{
		{Name: InTopic, Partitions: partitions},
		{Name: OutTopic, Partitions: partitions},
	}})
	if err != nil {
		return nil, err
	}
	if err := Preload(ctx, c, InTopic, n, keys); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// A Scenario is one workload the bench command measures.
type Scenario struct {
	// Name identifies the scenario on the command line and in reports.
	Name string
	// Description says what runs, for the report.
	Description string
	// Run runs the scenario once on env. It returns the time measured:
	// from the first input batch fetched to the last output acknowledged
	// (the plain loop, map-through at least once), or to the last commit
	// answered (everything else).
	Run func(ctx context.Context, env Env) (time.Duration, error)
	// Check reads env's output after Run and checks it is complete: every
	// record mapped, or every key's final count exact.
	Check func(ctx context.Context, env Env) error
}

// Scenarios returns the scenarios in the order the bench command runs them;
// the first, "plain", is the baseline.
func Scenarios() []Scenario {
	return []Scenario{
		{"plain", "franz-go consume → produce loop", runPlain, checkMapped},
		{"map-alos", "Strata MapValues, at least once", mapThrough(strata.AtLeastOnce), checkMapped},
		{"map-eos", "Strata MapValues, exactly once", mapThrough(strata.ExactlyOnce), checkMapped},
		{"count-alos", "Strata count by key (Pebble), at least once", countByKey(strata.AtLeastOnce), checkCounts},
		{"count-eos", "Strata count by key (Pebble), exactly once", countByKey(strata.ExactlyOnce), checkCounts},
		{"handle-alos", "Strata outcome handler, every call a success, at least once", handleThrough(false), checkRetries(false)},
		{"retry-alos", "Strata outcome handler, every record retried once through the retry topic, at least once", handleThrough(true), checkRetries(true)},
	}
}

func runPlain(ctx context.Context, env Env) (time.Duration, error) {
	clock := NewClock(env.In, env.Out)
	opts := append(append([]kgo.Opt(nil), env.ClientOptions...), clock.Hooks())
	if err := PlainLoop(ctx, env.Cluster, env.In, env.Out, env.Records, opts...); err != nil {
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

func mapThrough(g strata.Guarantee) func(context.Context, Env) (time.Duration, error) {
	return func(ctx context.Context, env Env) (time.Duration, error) {
		clock := NewClock(env.In, env.Out)
		env.ClientOptions = append(append([]kgo.Opt(nil), env.ClientOptions...), clock.Hooks())
		if _, err := MapThrough(ctx, env, g); err != nil {
			return 0, err
		}
		// At least once, output is done when acknowledged; exactly
		// once, when the transaction holding it commits.
		if g == strata.ExactlyOnce {
			return measured(clock.ToLastCommit())
		}
		return measured(clock.ToLastOutput())
	}
}

func countByKey(g strata.Guarantee) func(context.Context, Env) (time.Duration, error) {
	return func(ctx context.Context, env Env) (time.Duration, error) {
		clock := NewClock(env.In, env.Out)
		env.ClientOptions = append(append([]kgo.Opt(nil), env.ClientOptions...), clock.Hooks())
		if _, err := CountByKey(ctx, env, g); err != nil {
			return 0, err
		}
		return measured(clock.ToLastCommit())
	}
}

// handleThrough runs HandleThrough at least once; with retryOnce every
// record makes one hop through the retry topic. The run ends at the commit
// after the last success: the handler writes no output.
func handleThrough(retryOnce bool) func(context.Context, Env) (time.Duration, error) {
	return func(ctx context.Context, env Env) (time.Duration, error) {
		clock := NewClock(env.In, env.Out)
		env.ClientOptions = append(append([]kgo.Opt(nil), env.ClientOptions...), clock.Hooks(),
			// kfake answers a fetch of partitions that were empty
			// when it arrived only at the fetch's max wait (5s by
			// default): the retry topic often is.
			kgo.FetchMaxWait(50*time.Millisecond))
		if _, err := HandleThrough(ctx, env, strata.AtLeastOnce, retryOnce); err != nil {
			return 0, err
		}
		return measured(clock.ToLastCommit())
	}
}

// checkRetries checks the retry topic of HandleThrough's handler: every
// record once with retryOnce, none otherwise. (HandleThrough itself returns
// only once every record succeeded.)
func checkRetries(retryOnce bool) func(context.Context, Env) error {
	return func(ctx context.Context, env Env) error {
		id, want := handleAppID(strata.AtLeastOnce, retryOnce), int64(0)
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
