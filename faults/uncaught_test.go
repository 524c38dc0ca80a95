package faults_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/embedded"
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
			stopApplication(t, g, false, nil)
		})
	}
}

// TestStopApplicationSyncLost fails the other instance's SyncGroup of the
// generation that carries the stop (as the broker does when a member
// leaves before the others fetched their assignments), and its JoinGroups
// after that until the asking instance leaves the group or looks the
// group up. The asking instance is the group's leader (the failing record
// is in one of its partitions), as when the stop was lost: the leader
// fetches its assignment first and is told first. The next generation must carry the stop too, the asking
// instance still in the group, so that the other is told and does not
// take the failing record's task over.
func TestStopApplicationSyncLost(t *testing.T) {
	for _, g := range guarantees {
		t.Run(g.String(), func(t *testing.T) {
			stopApplication(t, g, true, func(c *embedded.Cluster, asker string) {
				other := func(id *string) bool { return id == nil || *id != asker }
				var lost, released atomic.Bool
				f := c.Kfake()
				f.Fault(kfake.Fault{
					Keys: []kmsg.Key{kmsg.LeaveGroup, kmsg.DescribeGroups}, Observe: true, Count: -1,
					When: func(kmsg.Request) bool {
						if lost.Load() {
							released.Store(true)
						}
						return false
					},
				})
				f.Fault(kfake.Fault{
					Keys: []kmsg.Key{kmsg.SyncGroup}, Err: kerr.RebalanceInProgress, TopLevel: true,
					When: func(req kmsg.Request) bool {
						// A follower's: the leader's would stop
						// the asking instance being told too.
						sync := req.(*kmsg.SyncGroupRequest)
						if !other(sync.InstanceID) || len(sync.GroupAssignment) > 0 {
							return false
						}
						lost.Store(true)
						return true
					},
				})
				f.Fault(kfake.Fault{
					Keys: []kmsg.Key{kmsg.JoinGroup}, Err: kerr.CoordinatorNotAvailable, TopLevel: true, Count: -1,
					When: func(req kmsg.Request) bool {
						return lost.Load() && !released.Load() && other(req.(*kmsg.JoinGroupRequest).InstanceID)
					},
				})
			})
		})
	}
}

// stopApplication runs the scenario of TestStopApplication. Under
// leaderFails, instance-0 starts first (so leads the group) and the
// failing record's key is one of its partitions'; else both start at once
// and the failing key is k007. onAsk, if set, is called once, with the
// instance ID of the instance that asks the application to stop, before
// that instance asks.
func stopApplication(t *testing.T, g strata.Guarantee, leaderFails bool, onAsk func(c *embedded.Cluster, asker string)) {
	c := cluster(t, countTopics()...)
	var failKey atomic.Value
	failKey.Store("k007")
	var fail atomic.Bool
	top := func() *topology.Topology {
		return countTopology(t, func(k string) {
			if k == failKey.Load().(string) && fail.Load() {
				panic(fmt.Sprintf("the record of %s cannot be processed", k))
			}
		})
	}
	var asked sync.Once
	var runs []*running
	start := func(i int) {
		cfg := appConfig(t, c, "stop-app", g)
		cfg.InstanceID = fmt.Sprintf("instance-%d", i)
		cfg.ClientOptions = append(cfg.ClientOptions, groupTimeouts()...)
		cfg.OnUncaughtError = func(error) strata.UncaughtErrorAction {
			if onAsk != nil {
				asked.Do(func() { onAsk(c, cfg.InstanceID) })
			}
			return strata.StopApplication
		}
		app, err := strata.New(top(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, run(t, app))
	}
	stopped := func() error {
		var errs []error
		for _, r := range runs {
			errs = append(errs, r.stopped())
		}
		return errors.Join(errs...)
	}
	// Both instances process (so both are in the group) before the
	// failing record arrives.
	start(0)
	if !leaderFails {
		start(1)
	}
	input := keyedInput("in", 200, 20, nil)
	produce(t, c, input...)
	waitCommitted(t, c, "stop-app", "in", stopped)
	if leaderFails {
		start(1)
	}
	waitSpread(t, c, "stop-app", 2)
	if leaderFails {
		failKey.Store(leaderKey(t, c, input))
	}
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
			if !strings.Contains(err.Error(), "instance-") || !strings.Contains(err.Error(), failKey.Load().(string)) {
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
}

// leaderKey returns the key of one of input's records (produced, so their
// partitions are set) in a partition of instance-0's member.
func leaderKey(t *testing.T, c *embedded.Cluster, input []*kgo.Record) string {
	t.Helper()
	ctx, cancel := testContext()
	defer cancel()
	described, err := c.Admin().DescribeGroups(ctx, "stop-app")
	if err == nil {
		err = described.Error()
	}
	if err != nil {
		t.Fatal(err)
	}
	owned := map[int32]bool{}
	for _, m := range described["stop-app"].Members {
		if a, ok := m.Assigned.AsConsumer(); ok && m.InstanceID != nil && *m.InstanceID == "instance-0" {
			for _, tp := range a.Topics {
				for _, p := range tp.Partitions {
					owned[p] = true
				}
			}
		}
	}
	for _, r := range input {
		if owned[r.Partition] {
			return string(r.Key)
		}
	}
	t.Fatalf("instance-0 owns no partition of the input: %v", owned)
	return ""
}
