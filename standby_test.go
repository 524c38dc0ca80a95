package strata_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/embedded"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/topology"
)

// hookedCounter counts like counter and calls after once per record.
type hookedCounter struct {
	counter
	after func()
}

func (c *hookedCounter) Process(r topology.Record[string, string]) error {
	if err := c.counter.Process(r); err != nil {
		return err
	}
	c.after()
	return nil
}

// hookedTopology is countTopology with a hook after each record.
func hookedTopology(t *testing.T, after func()) *topology.Topology {
	t.Helper()
	b := topology.NewBuilder()
	state.AddKeyValueStore(b, "counts", serde.String(), serde.Int64())
	topology.AddSource(b, "src", topology.Source[string, string]{Topics: []string{"in"}, KeySerde: serde.String(), ValueSerde: serde.String()})
	topology.AddProcessor(b, "count", func() topology.Processor[string, string, string, int64] {
		return &hookedCounter{after: after}
	}, "src")
	b.ConnectStores("count", "counts")
	topology.AddSink(b, "sink", topology.Sink[string, int64]{Topic: "out", KeySerde: serde.String(), ValueSerde: serde.Int64()}, "count")
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return top
}

// TestStandbyTakeover runs instances with one standby replica each under
// exactly-once. Instance a crashes in the middle of a transaction; the
// instance whose standby replicas kept a's state warm takes a's tasks over
// (with three instances, the balancer must prefer it over the one without
// a's state), restoring only the tail of their changelogs, far less than the
// changelogs hold, and the output counts every input exactly once.
func TestStandbyTakeover(t *testing.T) {
	for _, tc := range []struct {
		instances []string
		parts     int // tasks; each instance runs parts/len(instances)
	}{
		{[]string{"a", "b"}, 4},
		{[]string{"a", "b", "c"}, 3},
	} {
		t.Run(fmt.Sprintf("%d instances", len(tc.instances)), func(t *testing.T) {
			standbyTakeover(t, tc.instances, tc.parts)
		})
	}
}

func standbyTakeover(t *testing.T, instances []string, parts int) {
	const keys, batch = 100, 4000
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "in", Partitions: int32(parts)}, {Name: "out", Partitions: int32(parts)}}})
	ctx, cancel := context.WithTimeout(t.Context(), 2*testTimeout)
	defer cancel()
	var seenA, crashAt atomic.Int64
	crashAt.Store(-1)
	apps := map[string]*strata.App{}
	events := map[string]*logEvents{}
	runs := map[string]*running{}
	for _, name := range instances {
		log, ev := newLogWatch(t)
		hook := func() {}
		if name == "a" {
			hook = func() {
				if seenA.Add(1) == crashAt.Load() {
					strata.Crash(apps["a"])
				}
			}
		}
		app, err := strata.New(hookedTopology(t, hook), strata.Config{
			ApplicationID:   "standby",
			Brokers:         c.Addrs(),
			Guarantee:       strata.ExactlyOnce,
			InstanceID:      name,
			StateDir:        t.TempDir(),
			StandbyReplicas: 1,
			MaxPollRecords:  100,
			// One changelog record per input.
			DisableCache: true,
			Logger:       log.With("instance", name),
			// The survivors wait for a's open transaction to time
			// out before they read a's committed offsets.
			ClientOptions: []kgo.Opt{kgo.TransactionTimeout(3 * time.Second)},
		})
		if err != nil {
			t.Fatal(err)
		}
		apps[name], events[name] = app, ev
	}
	for _, name := range instances {
		runs[name] = start(t, apps[name])
	}
	each := parts / len(instances)
	for _, name := range instances {
		ev := events[name]
		ev.wait(ctx, t, fmt.Sprintf("%s running %d tasks and %d standbys", name, each, each), func() bool {
			return ev.tasks[0] == int64(each) && len(ev.standbys) == each
		})
	}

	model := map[string]int64{}
	var first []string
	for i := range batch {
		k := fmt.Sprintf("k%03d", i%keys)
		model[k]++
		first = append(first, k)
	}
	produceKeys(t, c, first)
	latestCounts(t, c, batch)

	// a's tasks, and the instance holding their standbys (with two
	// instances, or one task per instance, there is one).
	events["a"].mu.Lock()
	var aTasks []int32
	for p, active := range events["a"].active {
		if active {
			aTasks = append(aTasks, p)
		}
	}
	events["a"].mu.Unlock()
	holder := ""
	for _, name := range instances[1:] {
		events[name].mu.Lock()
		if _, ok := events[name].standbys[fmt.Sprintf("0_%d", aTasks[0])]; ok {
			holder = name
		}
		events[name].mu.Unlock()
	}
	if holder == "" || len(aTasks) != each {
		t.Fatalf("a runs tasks %v, whose standby is on no other instance", aTasks)
	}
	ends, err := c.Admin().ListEndOffsets(ctx, "standby-counts-changelog")
	if err != nil {
		t.Fatal(err)
	}
	var changelogOfA int64
	ev := events[holder]
	ev.wait(ctx, t, holder+"'s standbys of a's tasks caught up", func() bool {
		changelogOfA = 0
		for _, p := range aTasks {
			end, _ := ends.Lookup("standby-counts-changelog", p)
			if ev.standbys[fmt.Sprintf("0_%d", p)] < end.Offset {
				return false
			}
			changelogOfA += end.Offset
		}
		return true
	})
	restoredBefore := map[string]int64{}
	for _, name := range instances[1:] {
		restoredBefore[name] = apps[name].Metrics().RestoredRecords
	}
	if apps[holder].Metrics().StandbyRecords == 0 {
		t.Fatalf("%s's standbys applied no records", holder)
	}

	// The second batch goes to a's tasks only, so that the others have
	// no transaction open (which the rebalance would abort, and the
	// rollback restore their own tasks) when a crashes in the middle of
	// the batch, with a transaction open. The holder takes a's tasks.
	partitioner := kgo.StickyKeyPartitioner(nil).ForTopic("in")
	var second []string
	for i := 0; len(second) < batch; i++ {
		k := fmt.Sprintf("k%03d", i%keys)
		if slices.Contains(aTasks, int32(partitioner.Partition(&kgo.Record{Key: []byte(k)}, parts))) {
			model[k]++
			second = append(second, k)
		}
	}
	crashAt.Store(seenA.Load() + 150)
	produceKeys(t, c, second)
	if err := runs["a"].wait(t); !errors.Is(err, strata.ErrCrashed) {
		t.Fatalf("a: Run = %v, want the crash", err)
	}
	// Every task runs again somewhere once the outputs are complete.
	if err := waitCounts(ctx, c, model, true); err != nil {
		t.Fatalf("outputs did not reach the model's counts: %v", err)
	}
	ev.mu.Lock()
	for _, p := range aTasks {
		if !ev.active[p] {
			t.Errorf("task 0_%d did not go to %s, which held its standby", p, holder)
		}
	}
	ev.mu.Unlock()
	var restored int64
	for _, name := range instances[1:] {
		runs[name].stopAndWait(t)
		restored += apps[name].Metrics().RestoredRecords - restoredBefore[name]
	}

	t.Logf("the survivors restored %d records taking over a's tasks, whose changelogs held %d when %s's standbys caught up", restored, changelogOfA, holder)
	if restored*4 > changelogOfA {
		t.Errorf("the survivors restored %d records; with warm standbys they should restore far fewer than the %d of a's changelogs", restored, changelogOfA)
	}
	visible := readUntilMarker(t, c, "out", "marker")
	perKey := map[string]int64{}
	for _, r := range visible {
		perKey[string(r.Key)]++
	}
	if len(visible) != len(first)+len(second) {
		t.Errorf("%d committed outputs for %d inputs", len(visible), len(first)+len(second))
	}
	for k, want := range model {
		if perKey[k] != want {
			t.Errorf("%s: %d outputs, want %d", k, perKey[k], want)
		}
	}
}
