package strata_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/embedded"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/topology"
)

// crashingCounter counts like counter and calls each after every record it
// counted, in the middle of the app's work: each may crash the app.
type crashingCounter struct {
	counter
	each func()
}

func (c *crashingCounter) Process(r topology.Record[string, string]) error {
	if err := c.counter.Process(r); err != nil {
		return err
	}
	c.each()
	return nil
}

// crashTopology counts records of "in" per key into "out", calling each
// after every record.
func crashTopology(t *testing.T, each func()) *topology.Topology {
	t.Helper()
	b := topology.NewBuilder()
	state.AddKeyValueStore(b, "counts", serde.String(), serde.Int64())
	topology.AddSource(b, "src", topology.Source[string, string]{Topics: []string{"in"}, KeySerde: serde.String(), ValueSerde: serde.String()})
	topology.AddProcessor(b, "count", func() topology.Processor[string, string, string, int64] {
		return &crashingCounter{each: each}
	}, "src")
	b.ConnectStores("count", "counts")
	topology.AddSink(b, "sink", topology.Sink[string, int64]{Topic: "out", KeySerde: serde.String(), ValueSerde: serde.Int64()}, "count")
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return top
}

// TestCrashRecovery crashes an instance in the middle of its work, then
// starts it again, with its state directory kept or deleted. Under
// exactly-once a read_committed reader sees exactly one output per input
// and the model's final counts; under at-least-once nothing is lost.
func TestCrashRecovery(t *testing.T) {
	for _, tc := range []struct {
		name      string
		guarantee strata.Guarantee
		keepState bool
	}{
		{"exactly-once, state kept", strata.ExactlyOnce, true},
		{"exactly-once, state deleted", strata.ExactlyOnce, false},
		{"at-least-once, state kept", strata.AtLeastOnce, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const n, keys = 3000, 40
			c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "in", Partitions: 3}, {Name: "out", Partitions: 3}}})
			model := map[string]int64{}
			var in []*kgo.Record
			for i := 0; i < n; i++ {
				k := fmt.Sprintf("k%02d", i%keys)
				model[k]++
				in = append(in, &kgo.Record{Topic: "in", Key: []byte(k), Value: []byte("x")})
			}
			if err := c.Produce(context.Background(), in...); err != nil {
				t.Fatal(err)
			}
			stateDir := t.TempDir()
			cfg := strata.Config{
				ApplicationID:  "crash",
				Brokers:        c.Addrs(),
				Guarantee:      tc.guarantee,
				InstanceID:     "instance-1",
				StateDir:       stateDir,
				MaxPollRecords: 200,
				Logger:         testLogger(t),
			}
			var seen atomic.Int64
			var app1 *strata.App
			top := crashTopology(t, func() {
				if seen.Add(1) == n/2 {
					strata.Crash(app1)
				}
			})
			app1, err := strata.New(top, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := app1.Run(context.Background()); !errors.Is(err, strata.ErrCrashed) {
				t.Fatalf("first run: %v, want the crash", err)
			}
			t.Logf("crashed after processing %d records", seen.Load())
			if !tc.keepState {
				if err := removeAll(stateDir); err != nil {
					t.Fatal(err)
				}
			}

			app2, err := strata.New(crashTopology(t, func() {}), cfg)
			if err != nil {
				t.Fatal(err)
			}
			// Run until every input has produced output; under
			// at-least-once some may have produced more than once.
			runUntilCounts(t, c, app2, model, tc.guarantee == strata.ExactlyOnce)
			visible := readUntilMarker(t, c, "out", "marker")
			final := map[string]int64{}
			perKey := map[string]int{}
			for _, r := range visible {
				final[string(r.Key)] = int64(binary.BigEndian.Uint64(r.Value))
				perKey[string(r.Key)]++
			}
			dups := len(visible) - n
			t.Logf("%d outputs for %d inputs (%d duplicates)", len(visible), n, dups)
			for k, want := range model {
				switch {
				case tc.guarantee == strata.ExactlyOnce && (final[k] != want || perKey[k] != int(want)):
					t.Errorf("%s: final count %d from %d outputs, want %d from %d", k, final[k], perKey[k], want, want)
				case tc.guarantee == strata.AtLeastOnce && (final[k] < want || perKey[k] < int(want)):
					t.Errorf("%s: final count %d from %d outputs: lost input (want at least %d)", k, final[k], perKey[k], want)
				}
			}
			if tc.guarantee == strata.ExactlyOnce && dups != 0 {
				t.Errorf("exactly-once produced %d duplicate outputs", dups)
			}
		})
	}
}

// runUntilCounts runs app until a read_committed reader of out sees, for
// every key, its model count (at least, unless exact).
func runUntilCounts(t *testing.T, c *embedded.Cluster, app *strata.App, model map[string]int64, exact bool) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- app.Run(ctx) }()
	rctx, rcancel := context.WithTimeout(context.Background(), testTimeout)
	defer rcancel()
	err := waitCounts(rctx, c, model, exact)
	cancel()
	if runErr := <-errc; err != nil || runErr != nil {
		t.Fatalf("outputs did not reach the model's counts: %v; Run: %v", err, runErr)
	}
}

// waitCounts reads out read_committed from the start until, for every key,
// the latest count read reaches its model count (exactly, if exact). It
// returns an error, naming a key that is not there, when ctx ends first.
func waitCounts(ctx context.Context, c *embedded.Cluster, model map[string]int64, exact bool) error {
	cl, err := c.Client(kgo.ConsumeTopics("out"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		return err
	}
	defer cl.Close()
	latest := map[string]int64{}
	missing := func() string {
		for k, want := range model {
			if got := latest[k]; got < want || exact && got != want {
				return fmt.Sprintf("%s at %d, want %d", k, got, want)
			}
		}
		return ""
	}
	for {
		m := missing()
		if m == "" {
			return nil
		}
		f := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return fmt.Errorf("%w: %s", ctx.Err(), m)
		}
		f.EachRecord(func(r *kgo.Record) { latest[string(r.Key)] = int64(binary.BigEndian.Uint64(r.Value)) })
	}
}

// produceCounting writes n records to "in", keys cycling through k00 to
// k<keys-1>, and adds them to model.
func produceCounting(ctx context.Context, t *testing.T, c *embedded.Cluster, model map[string]int64, n, keys int) {
	t.Helper()
	recs := make([]*kgo.Record, n)
	for i := range recs {
		k := fmt.Sprintf("k%02d", i%keys)
		recs[i] = &kgo.Record{Topic: "in", Key: []byte(k), Value: []byte("x")}
		model[k]++
	}
	if err := c.Produce(ctx, recs...); err != nil {
		t.Fatal(err)
	}
}

func removeAll(dir string) error { return os.RemoveAll(dir) }
