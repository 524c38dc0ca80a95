package strata_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
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

// TestStandbyTakeover runs two instances with one standby replica each
// under exactly-once. Instance a crashes in the middle of a transaction;
// instance b, whose standby replicas kept a's state warm, takes a's tasks
// over restoring only the tail of their changelogs, far less than the
// changelogs hold, and the output counts every input exactly once.
func TestStandbyTakeover(t *testing.T) {
	const parts, keys, batch = 4, 100, 4000
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "in", Partitions: parts}, {Name: "out", Partitions: parts}}})
	ctx, cancel := context.WithTimeout(t.Context(), 2*testTimeout)
	defer cancel()
	config := func(instance string) (strata.Config, *logEvents) {
		log, events := newLogWatch(t)
		return strata.Config{
			ApplicationID:   "standby",
			Brokers:         c.Addrs(),
			Guarantee:       strata.ExactlyOnce,
			InstanceID:      instance,
			StateDir:        t.TempDir(),
			StandbyReplicas: 1,
			MaxPollRecords:  100,
			// One changelog record per input.
			DisableCache: true,
			Logger:       log.With("instance", instance),
			// b waits for a's open transaction to time out before
			// it reads a's committed offsets.
			ClientOptions: []kgo.Opt{kgo.TransactionTimeout(3 * time.Second)},
		}, events
	}
	var seenA, crashAt atomic.Int64
	crashAt.Store(-1)
	var appA *strata.App
	cfgA, eventsA := config("a")
	appA, err := strata.New(hookedTopology(t, func() {
		if seenA.Add(1) == crashAt.Load() {
			strata.Crash(appA)
		}
	}), cfgA)
	if err != nil {
		t.Fatal(err)
	}
	cfgB, eventsB := config("b")
	appB, err := strata.New(hookedTopology(t, func() {}), cfgB)
	if err != nil {
		t.Fatal(err)
	}
	runA, runB := start(t, appA), start(t, appB)
	for name, ev := range map[string]*logEvents{"a": eventsA, "b": eventsB} {
		ev.wait(ctx, t, name+" running 2 tasks and 2 standbys", func() bool {
			return ev.tasks[0] == 2 && len(ev.standbys) == 2
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

	// b's standbys of a's tasks catch up with their changelogs.
	eventsB.mu.Lock()
	var aTasks []int32
	for task := range eventsB.standbys {
		p, err := strconv.Atoi(strings.TrimPrefix(task, "0_"))
		if err != nil {
			t.Fatal(err)
		}
		aTasks = append(aTasks, int32(p))
	}
	eventsB.mu.Unlock()
	ends, err := c.Admin().ListEndOffsets(ctx, "standby-counts-changelog")
	if err != nil {
		t.Fatal(err)
	}
	var changelogOfA int64
	eventsB.wait(ctx, t, "b's standbys caught up", func() bool {
		changelogOfA = 0
		for _, p := range aTasks {
			end, _ := ends.Lookup("standby-counts-changelog", p)
			if eventsB.standbys[fmt.Sprintf("0_%d", p)] < end.Offset {
				return false
			}
			changelogOfA += end.Offset
		}
		return true
	})
	restoredBefore := appB.Metrics().RestoredRecords
	if appB.Metrics().StandbyRecords == 0 {
		t.Fatal("b's standbys applied no records")
	}

	// The second batch goes to a's tasks only, so that b has no
	// transaction open (which the rebalance would abort, and its
	// rollback restore its own tasks) when a crashes in the middle of
	// the batch, with a transaction open. b takes a's tasks over.
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
	if err := runA.wait(t); !errors.Is(err, strata.ErrCrashed) {
		t.Fatalf("a: Run = %v, want the crash", err)
	}
	eventsB.wait(ctx, t, "b running all 4 tasks", func() bool { return eventsB.tasks[0] == parts })
	latest := waitCounts(ctx, t, c, model)
	runB.stopAndWait(t)

	restored := appB.Metrics().RestoredRecords - restoredBefore
	t.Logf("b restored %d records taking over a's tasks, whose changelogs held %d when its standbys caught up", restored, changelogOfA)
	if restored*4 > changelogOfA {
		t.Errorf("b restored %d records; with warm standbys it should restore far fewer than the %d of a's changelogs", restored, changelogOfA)
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
		if latest[k] != want || perKey[k] != want {
			t.Errorf("%s: final count %d from %d outputs, want %d from %d", k, latest[k], perKey[k], want, want)
		}
	}
}

// waitCounts reads out, read_committed, until every key's latest count is
// its count in model, and returns the latest counts.
func waitCounts(ctx context.Context, t *testing.T, c *embedded.Cluster, model map[string]int64) map[string]int64 {
	t.Helper()
	cl, err := c.Client(kgo.ConsumeTopics("out"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	latest := map[string]int64{}
	done := func() bool {
		for k, want := range model {
			if latest[k] != want {
				return false
			}
		}
		return true
	}
	for !done() {
		f := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("outputs did not reach the model's counts: %v", ctx.Err())
		}
		f.EachRecord(func(r *kgo.Record) { latest[string(r.Key)] = int64(binary.BigEndian.Uint64(r.Value)) })
	}
	return latest
}
