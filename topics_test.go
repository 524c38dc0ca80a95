package strata_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/embedded"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/retry"
)

// warnings is a slog handler that keeps the messages logged at WARN and
// above, and passes every record on to next.
type warnings struct {
	next slog.Handler
	mu   *sync.Mutex
	msgs *[]string
}

func newWarnings(next slog.Handler) warnings {
	return warnings{next: next, mu: &sync.Mutex{}, msgs: new([]string)}
}

func (w warnings) Enabled(ctx context.Context, l slog.Level) bool { return w.next.Enabled(ctx, l) }
func (w warnings) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		w.mu.Lock()
		*w.msgs = append(*w.msgs, r.Message)
		w.mu.Unlock()
	}
	return w.next.Handle(ctx, r)
}
func (w warnings) WithAttrs(as []slog.Attr) slog.Handler {
	return warnings{next: w.next.WithAttrs(as), mu: w.mu, msgs: w.msgs}
}
func (w warnings) WithGroup(g string) slog.Handler {
	return warnings{next: w.next.WithGroup(g), mu: w.mu, msgs: w.msgs}
}

func (w warnings) logged() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), *w.msgs...)
}

// TestFirstStartWarnsOfNothing: the first start of an app whose tasks read
// an internal topic it creates (a handler's retry topic, read with the
// input by one task) logs no warning. The lookup of the internal topics
// before their creation left them cached as unknown in the admin client,
// so listing the tasks' input positions failed with
// UNKNOWN_TOPIC_OR_PARTITION at every first start.
func TestFirstStartWarnsOfNothing(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "in", Partitions: 2}}})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	const n = 10
	cs := newCalls(n)
	top := handlerTopology(t, func(_ context.Context, _, v string) kstream.Outcome {
		cs.call(v)
		cs.succeeded <- v
		return kstream.Success()
	}, retry.Policy{MaxAttempts: 2})
	cfg := handlerConfig(t, c, "firststart", strata.ExactlyOnce)
	warns := newWarnings(cfg.Logger.Handler())
	cfg.Logger = slog.New(warns)
	app, err := strata.New(top, cfg)
	if err != nil {
		t.Fatal(err)
	}
	produceValues(ctx, t, c, n)
	r := start(t, app)
	cs.waitSucceeded(ctx, t, n)
	r.stopAndWait(t)
	if got := warns.logged(); len(got) > 0 {
		t.Fatalf("the first start logged warnings: %q", got)
	}
}
