package faults_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/strata-go/strata"
)

// groupFault is a failure of the group protocol, injected into the broker
// while a transaction (at-least-once: a commit interval) is open.
type groupFault struct {
	name string
	// inject installs the fault; it returns the fault that tells the
	// member to rejoin, to wait for.
	inject func(f *kfake.Cluster) *kfake.FaultHandle
}

// groupFaults: a heartbeat tells the member the group rebalances and the
// rejoin's SyncGroup is then left unanswered (as seen with a real broker
// whose coordinator stalls); a SyncGroup or JoinGroup that fails; a
// JoinGroup left unanswered.
var groupFaults = []groupFault{
	{"rebalance then SyncGroup unanswered", func(f *kfake.Cluster) *kfake.FaultHandle {
		f.ControlKey(kmsg.SyncGroup.Int16(), func(kmsg.Request) (kmsg.Response, error, bool) { return nil, nil, true })
		return f.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Heartbeat}, Err: kerr.RebalanceInProgress, TopLevel: true})
	}},
	{"SyncGroup fails", func(f *kfake.Cluster) *kfake.FaultHandle {
		f.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.SyncGroup}, Err: kerr.CoordinatorNotAvailable, TopLevel: true})
		return f.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Heartbeat}, Err: kerr.RebalanceInProgress, TopLevel: true})
	}},
	{"JoinGroup fails", func(f *kfake.Cluster) *kfake.FaultHandle {
		f.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.JoinGroup}, Err: kerr.CoordinatorNotAvailable, TopLevel: true})
		return f.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Heartbeat}, Err: kerr.RebalanceInProgress, TopLevel: true})
	}},
	{"JoinGroup unanswered", func(f *kfake.Cluster) *kfake.FaultHandle {
		f.ControlKey(kmsg.JoinGroup.Int16(), func(kmsg.Request) (kmsg.Response, error, bool) { return nil, nil, true })
		return f.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Heartbeat}, Err: kerr.RebalanceInProgress, TopLevel: true})
	}},
}

// groupResumeBound bounds the time from a group fault to every input being
// committed: an unanswered request times out after the rebalance timeout
// and franz-go's request overhead (10s + 10s here), a transaction waiting
// for a heartbeat gives up after the transaction timeout (10s), then the
// group settles and state is restored.
const groupResumeBound = 60 * time.Second

// TestGroupFaultDuringTransaction injects each group fault while the app is
// in the middle of a transaction, under both guarantees: the app resumes
// within groupResumeBound, counts are exact under exactly-once and
// complete under at-least-once, and Run returns within stopBound of being
// cancelled.
func TestGroupFaultDuringTransaction(t *testing.T) {
	t.Parallel()
	// The record at which the fault is injected, as a share of the
	// first batch; the long form tries more points.
	at := []int{3}
	if *long {
		at = []int{10, 3, 2}
	}
	for _, fault := range groupFaults {
		for _, g := range guarantees {
			for _, div := range at {
				t.Run(fmt.Sprintf("%s/%s/at-1of%d", fault.name, g, div), func(t *testing.T) {
					t.Parallel()
					groupFaultScenario(t, fault, g, div)
				})
			}
		}
	}
}

func groupFaultScenario(t *testing.T, fault groupFault, g strata.Guarantee, div int) {
	const keys, n = 20, 3000
	c := cluster(t, countTopics()...)
	model := countModel{}
	first, second := keyedInput("in", n, keys, nil), keyedInput("in", n, keys, nil)
	model.add(first)
	model.add(second)

	var (
		seen     atomic.Int64
		injected = make(chan *kfake.FaultHandle, 1)
		once     sync.Once
	)
	top := countTopology(t, func(string) {
		if seen.Add(1) == int64(n/div) {
			once.Do(func() { injected <- fault.inject(c.Kfake()) })
		}
	})
	cfg := appConfig(t, c, "group-fault", g)
	cfg.DisableCache = true
	cfg.ShutdownTimeout = 3 * time.Second
	cfg.ClientOptions = append(cfg.ClientOptions, groupTimeouts()...)
	app, err := strata.New(top, cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := run(t, app)
	produce(t, c, first...)
	var rejoin *kfake.FaultHandle
	select {
	case rejoin = <-injected:
	case <-time.After(waitLimit):
		t.Fatalf("processed %d of %d records; the fault was never injected", seen.Load(), n/div)
	}
	// Once the member was told to rejoin, and so is stuck in the group
	// protocol, more input arrives: the worker processes it in a
	// transaction that its group cannot confirm.
	ctx, cancel := testContext()
	defer cancel()
	if err := rejoin.Wait(ctx, 1); err != nil {
		t.Fatalf("the member never heartbeated into the fault: %v", err)
	}
	at := time.Now()
	produce(t, c, second...)
	waitCommitted(t, c, "group-fault", "in", r.stopped)
	resumed := time.Since(at)
	t.Logf("every input committed %v after the member was told to rejoin", resumed.Round(time.Millisecond))
	if resumed > groupResumeBound {
		t.Errorf("resuming took %v, more than %v", resumed, groupResumeBound)
	}
	took, err := r.stop(t, stopBound)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	t.Logf("Run returned %v after cancel; %d worker resets", took.Round(time.Millisecond), app.Metrics().Resets)
	checkCounts(t, c, model, g)
}
