package faults_test

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/topology"
)

// failingCount is the counting topology whose processing panics on the
// records of key "k007" while fail says so.
func failingCount(t *testing.T, fail func() bool) *topology.Topology {
	return countTopology(t, func(k string) {
		if k == "k007" && fail() {
			panic("the record of k007 cannot be processed")
		}
	})
}

// TestReplaceWorker fails a worker once, on one record, under the policy
// fail: with OnUncaughtError answering ReplaceWorker, the worker drops its
// uncommitted work and joins again, the record is processed again, and the
// counts are exact (exactly-once) or complete (at-least-once).
func TestReplaceWorker(t *testing.T) {
	for _, g := range guarantees {
		t.Run(g.String(), func(t *testing.T) {
			const keys, n = 20, 2000
			c := cluster(t, countTopics()...)
			model := countModel{}
			input := keyedInput("in", n, keys, nil)
			model.add(input)
			produce(t, c, input...)
			var failures atomic.Int64
			top := failingCount(t, func() bool { return failures.Add(1) == 3 })
			cfg := appConfig(t, c, "replace", g)
			cfg.DisableCache = true
			var told []error
			cfg.OnUncaughtError = func(err error) strata.UncaughtErrorAction {
				told = append(told, err)
				return strata.ReplaceWorker
			}
			app, err := strata.New(top, cfg)
			if err != nil {
				t.Fatal(err)
			}
			r := run(t, app)
			waitCommitted(t, c, "replace", "in", r.stopped)
			if _, err := r.stop(t, stopBound); err != nil {
				t.Fatalf("Run: %v", err)
			}
			if len(told) != 1 || !errors.Is(told[0], topology.ErrPanic) {
				t.Errorf("OnUncaughtError was told %v, want the one panic", told)
			}
			if got := app.Metrics().Resets; got != 1 {
				t.Errorf("Metrics.Resets = %d, want 1", got)
			}
			checkCounts(t, c, model, g)
		})
	}
}

// TestReplaceWorkerGivesUp fails a worker on every attempt at one record:
// after replaceLimit replacements within a minute the instance stops, Run
// returning ErrWorkerReplacedRepeatedly with the record's error.
func TestReplaceWorkerGivesUp(t *testing.T) {
	c := cluster(t, countTopics()...)
	produce(t, c, keyedInput("in", 100, 20, nil)...)
	cfg := appConfig(t, c, "give-up", strata.ExactlyOnce)
	calls := 0
	cfg.OnUncaughtError = func(error) strata.UncaughtErrorAction {
		calls++
		return strata.ReplaceWorker
	}
	app, err := strata.New(failingCount(t, func() bool { return true }), cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = run(t, app).wait(t, waitLimit)
	if !errors.Is(err, strata.ErrWorkerReplacedRepeatedly) || !errors.Is(err, topology.ErrPanic) {
		t.Fatalf("Run: %v, want ErrWorkerReplacedRepeatedly wrapping the panic", err)
	}
	if calls != 3 {
		t.Errorf("OnUncaughtError called %d times, want 3", calls)
	}
}

// TestStopApplication runs two instances of an app; the one whose task
// meets a record it cannot process asks the application to stop: its Run
// returns the record's error, the other's returns ErrApplicationStopped
// naming the instance and the error, both within a bound.
func TestStopApplication(t *testing.T) {
	for _, g := range guarantees {
		t.Run(g.String(), func(t *testing.T) {
			c := cluster(t, countTopics()...)
			var fail atomic.Bool
			top := func() *topology.Topology { return failingCount(t, fail.Load) }
			var runs []*running
			for i := range 2 {
				cfg := appConfig(t, c, "stop-app", g)
				cfg.InstanceID = fmt.Sprintf("instance-%d", i)
				cfg.ClientOptions = append(cfg.ClientOptions, groupTimeouts()...)
				cfg.OnUncaughtError = func(error) strata.UncaughtErrorAction { return strata.StopApplication }
				app, err := strata.New(top(), cfg)
				if err != nil {
					t.Fatal(err)
				}
				runs = append(runs, run(t, app))
			}
			// Both instances process (so both are in the group) before
			// the failing record arrives.
			produce(t, c, keyedInput("in", 200, 20, nil)...)
			waitCommitted(t, c, "stop-app", "in", func() error {
				return errors.Join(runs[0].stopped(), runs[1].stopped())
			})
			waitSpread(t, c, "stop-app", 2)
			fail.Store(true)
			produce(t, c, keyedInput("in", 20, 20, nil)...)
			began := time.Now()
			var errs []error
			for _, r := range runs {
				errs = append(errs, r.wait(t, waitLimit))
			}
			t.Logf("both instances stopped within %v: %v", time.Since(began).Round(time.Millisecond), errs)
			panicked, told := 0, 0
			for _, err := range errs {
				switch {
				case errors.Is(err, strata.ErrApplicationStopped):
					told++
					if !strings.Contains(err.Error(), "instance-") || !strings.Contains(err.Error(), "k007") {
						t.Errorf("the stopped instance's error %q does not say which instance asked and why", err)
					}
				case errors.Is(err, topology.ErrPanic):
					panicked++
				default:
					t.Errorf("Run: %v, want the panic or ErrApplicationStopped", err)
				}
			}
			if panicked != 1 || told != 1 {
				t.Errorf("%d instances stopped on the panic and %d were told to stop, want 1 and 1", panicked, told)
			}
		})
	}
}
