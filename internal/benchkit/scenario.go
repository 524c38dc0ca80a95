package benchkit

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/embedded"
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
	// Run runs the scenario once on env and checks its output. It
	// returns the time measured: from the first input batch fetched to
	// the last output acknowledged (map-through at least once), or to
	// the last commit answered (everything else).
	Run func(ctx context.Context, env Env) (time.Duration, error)
}

// Scenarios returns the scenarios in the order the bench command runs them;
// the first, "plain", is the baseline.
func Scenarios() []Scenario {
	return []Scenario{
		{"plain", "franz-go consume → produce loop", runPlain},
		{"map-alos", "Strata MapValues, at least once", mapThrough(strata.AtLeastOnce)},
		{"map-eos", "Strata MapValues, exactly once", mapThrough(strata.ExactlyOnce)},
		{"count-alos", "Strata count by key (Pebble), at least once", countByKey(strata.AtLeastOnce)},
		{"count-eos", "Strata count by key (Pebble), exactly once", countByKey(strata.ExactlyOnce)},
	}
}

func runPlain(ctx context.Context, env Env) (time.Duration, error) {
	clock := NewClock(env.In, env.Out)
	opts := append(append([]kgo.Opt(nil), env.ClientOptions...), clock.Hooks())
	if err := PlainLoop(ctx, env.Cluster, env.In, env.Out, env.Records, opts...); err != nil {
		return 0, err
	}
	return timed(ctx, clock.ToLastOutput(), env, func(recs []*kgo.Record) error { return CheckMapped(recs, env.Records) })
}

// timed checks env's output and returns took, failing if the clock missed
// the start or the end of the run.
func timed(ctx context.Context, took time.Duration, env Env, check func([]*kgo.Record) error) (time.Duration, error) {
	if took <= 0 {
		return 0, fmt.Errorf("the clock saw no input fetched or no output or commit after it")
	}
	return took, checkOutput(ctx, env, check)
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
		took := clock.ToLastOutput()
		if g == strata.ExactlyOnce {
			took = clock.ToLastCommit()
		}
		return timed(ctx, took, env, func(recs []*kgo.Record) error { return CheckMapped(recs, env.Records) })
	}
}

func countByKey(g strata.Guarantee) func(context.Context, Env) (time.Duration, error) {
	return func(ctx context.Context, env Env) (time.Duration, error) {
		clock := NewClock(env.In, env.Out)
		env.ClientOptions = append(append([]kgo.Opt(nil), env.ClientOptions...), clock.Hooks())
		if _, err := CountByKey(ctx, env, g); err != nil {
			return 0, err
		}
		return timed(ctx, clock.ToLastCommit(), env, func(recs []*kgo.Record) error { return CheckCounts(recs, env.Records, env.Keys) })
	}
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
