package ktable_test

import (
	"strings"
	"testing"
	"time"

	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
	"github.com/strata-go/strata/window"
)

// TestSuppressWindowsCarriedThroughTableOperations: the windows of a
// windowed count reach a suppression through Filter, MapValues and another
// Suppress, so UntilWindowCloses holds each window back until stream time
// reaches its end plus the count's grace (10ms windows, 5ms grace): the
// window [0,10) is emitted at 15, not before.
func TestSuppressWindowsCarriedThroughTableOperations(t *testing.T) {
	b := topology.NewBuilder()
	counts := ktable.WindowedBy(ktable.GroupByKey(kstream.From(b, "input", serde.String(), serde.String())),
		window.Tumbling(10*time.Millisecond, 5*time.Millisecond)).Count(ktable.Named("counts"), uncachedRows)
	positive := counts.Filter(func(_ window.Windowed[string], n int64) bool { return n > 0 })
	doubled := ktable.MapValues(positive, func(_ window.Windowed[string], n int64) int64 { return 2 * n })
	limited := doubled.Suppress(ktable.UntilTimeLimit(0, ktable.Unbounded()))
	limited.Suppress(ktable.UntilWindowCloses(ktable.Unbounded())).ToStream().
		To("out", kstream.WithSerdes(windowedText, serde.Int64()))
	in, out := windowedTopics(t, b)
	in.PipeAt("k", "v", tsAt(1))
	in.PipeAt("k", "v", tsAt(9))
	in.PipeAt("k", "v", tsAt(14))
	sameList(t, "before the close", readOutputs(out))
	in.PipeAt("k", "v", tsAt(15))
	sameList(t, "at the close", readOutputs(out), "[k@0/10]:4@9")
}

// windowedTopics runs b's topology and returns its "input" topic and its
// "out" topic of windowed counts written with windowedText.
func windowedTopics(t *testing.T, b *topology.Builder) (*testutil.InputTopic[string, string], *testutil.OutputTopic[string, int64]) {
	d := testutil.NewDriver(t, mustBuild(t, b), testutil.Config{})
	return testutil.NewInputTopic(d, "input", serde.String(), serde.String()), testutil.NewOutputTopic(d, "out", serde.String(), serde.Int64())
}

// TestSuppressWindowsOfSessions: a session closes its inactivity gap plus
// grace after its end, and the suppression takes both from the windows
// (5ms gap, 3ms grace: the session [1,1] closes at 9).
func TestSuppressWindowsOfSessions(t *testing.T) {
	b := topology.NewBuilder()
	ktable.SessionWindowedBy(ktable.GroupByKey(kstream.From(b, "input", serde.String(), serde.String())),
		window.Session(5*time.Millisecond, 3*time.Millisecond)).Count(ktable.Named("sessions"), uncachedRows).
		Suppress(ktable.UntilWindowCloses(ktable.Unbounded())).ToStream().
		To("out", kstream.WithSerdes(windowedText, serde.Int64()))
	in, out := windowedTopics(t, b)
	in.PipeAt("a", "v", tsAt(1))
	in.PipeAt("b", "v", tsAt(8))
	sameList(t, "before the close", readOutputs(out))
	in.PipeAt("b", "v", tsAt(9))
	sameList(t, "at the close", readOutputs(out), "[a@1/1]:1@1")
}

// TestSuppressWindowCloseMistakes: a table that does not carry its windows
// needs UntilWindowClosesAfter, and a grace shorter than the windows' is
// refused.
func TestSuppressWindowCloseMistakes(t *testing.T) {
	keys := window.TimeWindowedSerde(serde.String(), 10*time.Millisecond)
	counts := func(b *topology.Builder) ktable.Table[window.Windowed[string], int64] {
		return ktable.WindowedBy(ktable.GroupByKey(kstream.From(b, "input", serde.String(), serde.String())),
			window.Tumbling(10*time.Millisecond, 5*time.Millisecond)).Count()
	}
	for _, tc := range []struct {
		name  string
		table func(b *topology.Builder) ktable.Table[window.Windowed[string], int64]
		s     ktable.Suppression
		want  string
	}{
		{"read from a topic", func(b *topology.Builder) ktable.Table[window.Windowed[string], int64] {
			return ktable.From(b, "w", keys, serde.Int64())
		}, ktable.UntilWindowCloses(ktable.Unbounded()), "the table does not carry its windows"},
		{"through a stream", func(b *topology.Builder) ktable.Table[window.Windowed[string], int64] {
			return ktable.FromStream(counts(b).ToStream())
		}, ktable.UntilWindowCloses(ktable.Unbounded()), "give the grace with UntilWindowClosesAfter"},
		{"shorter grace", counts, ktable.UntilWindowClosesAfter(4*time.Millisecond, ktable.Unbounded()),
			"UntilWindowClosesAfter(4ms): the table's windows close 5ms after their end"},
		{"negative grace", func(b *topology.Builder) ktable.Table[window.Windowed[string], int64] {
			return ktable.From(b, "w", keys, serde.Int64())
		}, ktable.UntilWindowClosesAfter(-time.Millisecond, ktable.Unbounded()), "UntilWindowClosesAfter: negative grace -1ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := topology.NewBuilder()
			tc.table(b).Suppress(tc.s).ToStream().To("out")
			_, err := b.Build()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Build error %v, want one containing %q", err, tc.want)
			}
		})
	}
	// A longer grace only waits longer.
	b := topology.NewBuilder()
	counts(b).Suppress(ktable.UntilWindowClosesAfter(time.Second, ktable.Unbounded())).ToStream().To("out")
	if _, err := b.Build(); err != nil {
		t.Fatalf("Build: %v", err)
	}
}
