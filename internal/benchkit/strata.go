package benchkit

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/embedded"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
)

// Env is what a run works on: a broker whose In topic holds Records
// preloaded records with Keys distinct keys, and an empty Out topic.
type Env struct {
	// Cluster is the broker, in this process; nil in a process of the
	// run's own, which reaches it through Brokers.
	Cluster *embedded.Cluster
	// Brokers are the broker's addresses; nil means Cluster's.
	Brokers []string
	In, Out string
	Records int
	Keys    int
	// StateDir is the apps' state directory; it must be empty or new.
	StateDir string
	// Logger receives the apps' logs; nil discards them.
	Logger *slog.Logger
	// ClientOptions are added to every Kafka client of the run.
	ClientOptions []kgo.Opt
	// MaxPollRecords is the apps' Config.MaxPollRecords; zero means
	// Strata's default.
	MaxPollRecords int
	// DisableCache turns the apps' record cache off
	// (Config.DisableCache).
	DisableCache bool
	// MaxInFlight is the apps' Config.MaxInFlight; zero means Strata's
	// default.
	MaxInFlight int
}

// brokers returns the addresses of the run's broker.
func (env Env) brokers() []string {
	if env.Brokers == nil && env.Cluster != nil {
		return env.Cluster.Addrs()
	}
	return env.Brokers
}

// MapThrough runs, as a Strata app with guarantee g, the plain loop's
// work: In → MapValues(upper-case) → Out. It stops the app once every record
// has been processed; the app then flushes and commits, so the output is
// acknowledged (and under exactly-once committed) when MapThrough returns.
func MapThrough(ctx context.Context, env Env, g strata.Guarantee) (*strata.App, error) {
	bld := topology.NewBuilder()
	in := kstream.From(bld, env.In, serde.String(), serde.String())
	upper := kstream.MapValues(in, func(_, v string) string { return strings.ToUpper(v) })
	stop := stopAfter(env.Records)
	upper.Peek(stop.record).To(env.Out)
	return runApp(ctx, env, bld, "bench-map-"+short(g), g, stop)
}

// CountByKey runs a Strata app with guarantee g counting the records of In
// by key, GroupByKey → Count (a Pebble store with a changelog, behind the
// record cache unless env.DisableCache) → ToStream → Out (Int64 values). It stops the app once every
// record has been counted; the app then flushes the cache and commits.
func CountByKey(ctx context.Context, env Env, g strata.Guarantee) (*strata.App, error) {
	bld := topology.NewBuilder()
	in := kstream.From(bld, env.In, serde.String(), serde.String())
	stop := stopAfter(env.Records)
	ktable.GroupByKey(in.Peek(stop.record)).Count(ktable.Named("counts")).
		ToStream().To(env.Out, kstream.WithSerdes(serde.String(), serde.Int64()))
	return runApp(ctx, env, bld, "bench-count-"+short(g), g, stop)
}

func short(g strata.Guarantee) string {
	if g == strata.ExactlyOnce {
		return "eos"
	}
	return "alos"
}

// stopper closes done when the n-th record is seen.
type stopper struct {
	n    int64
	seen atomic.Int64
	done chan struct{}
}

func stopAfter(n int) *stopper {
	return &stopper{n: int64(n), done: make(chan struct{})}
}

func (s *stopper) record(string, string) {
	if s.seen.Add(1) == s.n {
		close(s.done)
	}
}

// runApp builds the topology, runs it until stop fires and stops the app
// cleanly, returning it for its metrics.
func runApp(ctx context.Context, env Env, bld *topology.Builder, id string, g strata.Guarantee, stop *stopper) (*strata.App, error) {
	top, err := bld.Build()
	if err != nil {
		return nil, fmt.Errorf("%s: build: %w", id, err)
	}
	logger := env.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	app, err := strata.New(top, strata.Config{
		ApplicationID:  id,
		Brokers:        env.brokers(),
		Guarantee:      g,
		StateDir:       env.StateDir,
		Logger:         logger,
		ClientOptions:  env.ClientOptions,
		MaxPollRecords: env.MaxPollRecords,
		DisableCache:   env.DisableCache,
		MaxInFlight:    env.MaxInFlight,
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", id, err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- app.Run(runCtx) }()
	select {
	case <-stop.done:
	case err := <-errc:
		return nil, fmt.Errorf("%s stopped after %d of %d records: %w", id, stop.seen.Load(), stop.n, err)
	case <-ctx.Done():
		cancel()
		<-errc
		return nil, fmt.Errorf("%s: %w after %d of %d records", id, ctx.Err(), stop.seen.Load(), stop.n)
	}
	cancel()
	if err := <-errc; err != nil {
		return nil, fmt.Errorf("%s: %w", id, err)
	}
	if m := app.Metrics(); m.Processed != int64(env.Records) {
		return nil, fmt.Errorf("%s processed %d records, want %d", id, m.Processed, env.Records)
	}
	return app, nil
}
