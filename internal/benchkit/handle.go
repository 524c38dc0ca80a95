package benchkit

import (
	"context"
	"errors"
	"fmt"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/retry"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
)

// errFirstAttempt fails every record's first attempt in HandleThrough's
// retry run.
var errFirstAttempt = errors.New("first attempt")

// HandleThrough runs, as a Strata app with guarantee g, an outcome handler
// on In (kstream's Stream.Handle) whose function succeeds, the happy path;
// with retryOnce, it fails each record's first attempt, so that every
// record makes one hop through the handler's retry topic (backoff 0)
// before it succeeds. It stops the app once every record has succeeded.
// The app writes nothing to Out.
func HandleThrough(ctx context.Context, env Env, g strata.Guarantee, retryOnce bool) (*strata.App, error) {
	return runHandler(ctx, env, g, retryOnce, 0)
}

// HandleConcurrently runs HandleThrough's happy path, at least once, with
// kstream.WithConcurrency(concurrency, kstream.OrderByKey): the overhead
// of the concurrent machinery on a function that returns at once.
func HandleConcurrently(ctx context.Context, env Env, concurrency int) (*strata.App, error) {
	return runHandler(ctx, env, strata.AtLeastOnce, false, concurrency)
}

func runHandler(ctx context.Context, env Env, g strata.Guarantee, retryOnce bool, concurrency int) (*strata.App, error) {
	opts := []kstream.Option{kstream.WithRetry(retry.Policy{Backoff: retry.Fixed(0), MaxAttempts: 2})}
	if concurrency > 1 {
		opts = append(opts, kstream.WithConcurrency(concurrency, kstream.OrderByKey))
	}
	bld := topology.NewBuilder()
	stop := stopAfter(env.Records)
	kstream.From(bld, env.In, serde.String(), serde.String()).Handle(handlerName, func(ctx context.Context, k, v string) kstream.Outcome {
		if retryOnce && kstream.Attempt(ctx) == 0 {
			return kstream.Retry(errFirstAttempt)
		}
		stop.record(k, v)
		return kstream.Success()
	}, opts...)
	if retryOnce {
		// Each record is processed twice: from In, then from the
		// retry topic.
		env.Records *= 2
	}
	return runApp(ctx, env, bld, handleAppID(g, retryOnce, concurrency), g, stop)
}

// handlerName names HandleThrough's handler.
const handlerName = "bench"

// handleAppID is the application ID of HandleThrough, or of
// HandleConcurrently with concurrency > 1.
func handleAppID(g strata.Guarantee, retryOnce bool, concurrency int) string {
	switch {
	case retryOnce:
		return "bench-retry-" + short(g)
	case concurrency > 1:
		return fmt.Sprintf("bench-handle-%s-%d", short(g), concurrency)
	}
	return "bench-handle-" + short(g)
}
