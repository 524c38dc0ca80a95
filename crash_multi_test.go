package strata_test

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/embedded"
)

var (
	crashSeed  = flag.Uint64("crash.seed", 0, "seed of the first run of the multi-instance crash tests (0: random); replays a failure")
	crashSeeds = flag.Int("crash.seeds", 3, "number of seeds the multi-instance crash tests run")
)

// crashSeedList is the seeds a multi-instance crash test runs: the one
// given with -crash.seed first, the others random.
func crashSeedList() []uint64 {
	seeds := make([]uint64, max(*crashSeeds, 1))
	for i := range seeds {
		seeds[i] = rand.Uint64()
	}
	if *crashSeed != 0 {
		seeds[0] = *crashSeed
	}
	return seeds
}

// crashPlan is one seed's scenario: the input, its model, and when
// instances crash. Everything random in a run comes from the seed.
type crashPlan struct {
	keys  []string // input keys, in the order produced
	model map[string]int64
	// killAt[n] crashes whichever instance counts the n-th record (over
	// all instances, reprocessing included), or if that one is crashing
	// already, the next one to count a record; keepState[i] says whether
	// the i-th crashed instance restarts with its state directory.
	killAt    map[int64]int
	keepState []bool
}

const (
	crashInstances  = 3
	crashPartitions = 8
	crashRecords    = 3000
	crashKeys       = 50
	crashKills      = 5
	crashPollMax    = 50 // records per poll; a transaction spans the polls of CommitInterval
)

func newCrashPlan(seed uint64) *crashPlan {
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	p := &crashPlan{model: map[string]int64{}, killAt: map[int64]int{}}
	for range crashRecords {
		k := fmt.Sprintf("k%02d", rng.IntN(crashKeys))
		p.keys = append(p.keys, k)
		p.model[k]++
	}
	// Kills fall between 10% and 90% of the input, one in each of
	// crashKills equal spans, at least two polls apart, so that an
	// instance counting the rest of its last poll after a kill never
	// reaches the next kill.
	span := int64(crashRecords*8/10) / crashKills
	for i := range crashKills {
		at := int64(crashRecords/10) + int64(i)*span + rng.Int64N(span-2*crashPollMax)
		p.killAt[at] = i
		p.keepState = append(p.keepState, rng.IntN(2) == 0)
	}
	return p
}

// TestCrashManyInstances runs three instances of a counting app over an
// 8-partition topic while a producer writes, and crashes instances at random
// points (no flush, no commit, state directory kept or deleted), restarting
// each at once. Several seeds run; -crash.seed=N replays one.
//
// Under exactly-once the record cache is off, so every input record causes
// one output record carrying its key's new count, and a read_committed
// reader must see, for every key, exactly the counts 1, 2, ..., model: no
// count missing (lost input), none repeated (input counted twice or output
// of an aborted transaction visible), none out of order. This is the
// strongest property the output can show; with the cache on, a commit emits
// only each key's latest count, so the sequence may skip values and the
// test could only check that it increases and ends at the model's count.
//
// Under at-least-once nothing may be lost: every key's final count is at
// least the model's. A crash may count an input twice (its state update was
// written, its offset not committed), so final counts may exceed the model,
// counts may repeat (an output was written, its state update lost), or skip
// a value (its state update survived the crash, its output did not); all
// are reported, none failed.
func TestCrashManyInstances(t *testing.T) {
	for _, g := range []strata.Guarantee{strata.ExactlyOnce, strata.AtLeastOnce} {
		t.Run(g.String(), func(t *testing.T) {
			for _, seed := range crashSeedList() {
				t.Run(fmt.Sprint(seed), func(t *testing.T) {
					t.Logf("seed %d: replay with -crash.seed=%d", seed, seed)
					began := time.Now()
					crashRun(t, g, newCrashPlan(seed))
					if t.Failed() {
						t.Logf("FAILED with seed %d: replay with go test -run 'TestCrashManyInstances/%s' -crash.seed=%d", seed, g, seed)
					}
					t.Logf("took %v", time.Since(began).Round(time.Millisecond))
				})
			}
		})
	}
}

func crashRun(t *testing.T, g strata.Guarantee, plan *crashPlan) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{
		{Name: "in", Partitions: crashPartitions}, {Name: "out", Partitions: crashPartitions},
	}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var counted, kills atomic.Int64
	// pending is the kill whose record was counted by an instance that
	// was crashing already, still counting the rest of its poll: the
	// next instance to count a record takes it. -1 when none.
	var pending atomic.Int64
	pending.Store(-1)
	var wg sync.WaitGroup
	failed := make(chan error, crashInstances)
	for i := range crashInstances {
		cfg := crashConfig(t, c, g, i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Run the instance, restarting it after each crash,
			// until ctx is cancelled.
			for {
				var app *strata.App
				var kill atomic.Int64
				kill.Store(-1)
				app, err := strata.New(crashTopology(t, func() {
					if k, ok := plan.killAt[counted.Add(1)]; ok {
						pending.Store(int64(k))
					}
					if kill.Load() >= 0 {
						return // crashing already
					}
					if k := pending.Load(); k >= 0 && pending.CompareAndSwap(k, -1) {
						kill.Store(k)
						kills.Add(1)
						strata.Crash(app)
					}
				}), cfg)
				if err == nil {
					err = app.Run(ctx)
				}
				k := kill.Load()
				switch {
				case err == nil && ctx.Err() != nil:
					return
				case !errors.Is(err, strata.ErrCrashed) || k < 0:
					failed <- fmt.Errorf("instance %s: Run: %w", cfg.InstanceID, err)
					return
				}
				keep := plan.keepState[k]
				t.Logf("kill %d: instance %s crashed after %d records counted; restarting it, state directory kept: %v", k, cfg.InstanceID, counted.Load(), keep)
				if !keep {
					if err := os.RemoveAll(cfg.StateDir); err != nil {
						failed <- err
						return
					}
				}
			}
		}()
	}
	stop := func() {
		cancel()
		wg.Wait()
		close(failed)
		for err := range failed {
			t.Error(err)
		}
	}

	// The producer writes while the instances run and crash.
	produced := make(chan error, 1)
	go func() {
		for batch := range slices.Chunk(plan.keys, 100) {
			recs := make([]*kgo.Record, len(batch))
			for i, k := range batch {
				recs[i] = &kgo.Record{Topic: "in", Key: []byte(k), Value: []byte("x")}
			}
			if err := c.Produce(ctx, recs...); err != nil {
				produced <- err
				return
			}
		}
		produced <- nil
	}()
	if err := <-produced; err != nil {
		stop()
		t.Fatalf("produce: %v", err)
	}

	// Wait for the output to reach the model, or an instance to fail.
	wctx, wcancel := context.WithTimeout(ctx, 2*testTimeout)
	defer wcancel()
	waited := make(chan error, 1)
	go func() { waited <- waitCounts(wctx, c, plan.model, g == strata.ExactlyOnce) }()
	var werr error
	select {
	case werr = <-waited:
	case err := <-failed:
		failed <- err // for stop to report
		wcancel()
		<-waited
	}
	stop()
	if werr != nil {
		t.Fatalf("output never reached the model's counts: %v", werr)
	}
	if t.Failed() {
		return
	}
	if n := kills.Load(); n != crashKills {
		t.Errorf("%d instances crashed, want %d", n, crashKills)
	}
	checkCountSequences(t, g, plan.model, readUntilMarker(t, c, "out", "marker"))
}

// crashConfig configures instance i of the multi-instance crash tests: its
// own state directory and instance ID.
func crashConfig(t *testing.T, c *embedded.Cluster, g strata.Guarantee, i int) strata.Config {
	cfg := testConfig(t, c, "crash-many")
	cfg.InstanceID = fmt.Sprintf("instance-%d", i)
	cfg.Guarantee = g
	cfg.DisableCache = true
	cfg.MaxPollRecords = crashPollMax
	cfg.CommitInterval = 100 * time.Millisecond
	// Heartbeats every 100ms let the group notice joins and leaves
	// quickly; kgo's default is 3s.
	cfg.ClientOptions = append(cfg.ClientOptions, kgo.HeartbeatInterval(100*time.Millisecond))
	return cfg
}

// checkCountSequences checks, key by key, the counts out holds (in the order
// written): under exactly-once exactly 1..model; under at-least-once a final
// count of at least the model's. Repeated and skipped counts are reported.
func checkCountSequences(t *testing.T, g strata.Guarantee, model map[string]int64, out []*kgo.Record) {
	t.Helper()
	seqs := map[string][]int64{}
	for _, r := range out {
		seqs[string(r.Key)] = append(seqs[string(r.Key)], int64(binary.BigEndian.Uint64(r.Value)))
	}
	var repeated, skipped, over int64
	for k, want := range model {
		seq := seqs[k]
		seen := map[int64]int{}
		for _, v := range seq {
			seen[v]++
		}
		final := int64(0)
		if len(seq) > 0 {
			final = seq[len(seq)-1]
		}
		for v := int64(1); v <= final; v++ {
			switch n := seen[v]; {
			case n == 0:
				skipped++
			case n > 1:
				repeated += int64(n - 1)
			}
		}
		over += max(final-want, 0)
		switch g {
		case strata.ExactlyOnce:
			exact := len(seq) == int(want)
			for i, v := range seq {
				exact = exact && v == int64(i+1)
			}
			if !exact {
				t.Errorf("%s: counts %v, want exactly 1..%d", k, seq, want)
			}
		case strata.AtLeastOnce:
			if final < want {
				t.Errorf("%s: final count %d, want at least %d: input lost; counts %v", k, final, want, seq)
			}
		}
	}
	delete(seqs, "marker")
	for k := range seqs {
		if _, ok := model[k]; !ok {
			t.Errorf("output for key %q, which was never input", k)
		}
	}
	var inputs int64
	for _, n := range model {
		inputs += n
	}
	t.Logf("%d outputs for %d inputs: %d counts repeated, %d skipped, final counts %d above the model in all", len(out), inputs, repeated, skipped, over)
}
