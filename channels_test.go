package strata_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/embedded"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/retry"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
)

// handleTopology is in → Handle("h", fn) with opts.
func handleTopology(t *testing.T, fn func(context.Context, string, string) kstream.Outcome, opts ...kstream.Option) *topology.Topology {
	t.Helper()
	b := topology.NewBuilder()
	kstream.From(b, "in", serde.String(), serde.String()).Handle("h", fn, opts...)
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return top
}

// overlaps records the calls of a concurrent handler: which keys run,
// the order of each key's values, the most calls running at once, and
// the key overlaps seen.
type overlaps struct {
	mu         sync.Mutex
	running    map[string]bool
	now, most  int
	seq        map[string][]int
	violations []string
	// started is closed once want calls run at once.
	want    int
	started chan struct{}
	closed  bool
}

func newOverlaps(want int) *overlaps {
	return &overlaps{running: map[string]bool{}, seq: map[string][]int{}, want: want, started: make(chan struct{})}
}

func (o *overlaps) start(k string, i int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.running[k] {
		o.violations = append(o.violations, fmt.Sprintf("%s: value %d started while an earlier one ran", k, i))
	}
	o.running[k] = true
	o.seq[k] = append(o.seq[k], i)
	o.now++
	o.most = max(o.most, o.now)
	if o.now == o.want && !o.closed {
		o.closed = true
		close(o.started)
	}
}

func (o *overlaps) end(k string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.running[k] = false
	o.now--
}

// TestConcurrentHandlerKeyOrderOnKafka runs a handler with key-ordered
// concurrency on the embedded broker, under both guarantees: the first
// record of each key waits until one of every key runs (so the test fails
// unless keys overlap), records of a key never overlap and run in offset
// order, no more than the limit run at once, every record succeeds once and
// the committed offsets reach the end.
func TestConcurrentHandlerKeyOrderOnKafka(t *testing.T) {
	for _, g := range []strata.Guarantee{strata.AtLeastOnce, strata.ExactlyOnce} {
		t.Run(g.String(), func(t *testing.T) {
			const keys, perKey, limit = 6, 10, 4
			const n = keys * perKey
			c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "in"}}})
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			defer cancel()
			ov := newOverlaps(limit)
			cs := newCalls(n)
			handle := func(hctx context.Context, k, v string) kstream.Outcome {
				i, _ := strconv.Atoi(strings.TrimPrefix(v, "v"))
				ov.start(k, i)
				if i < limit {
					// The first records of limit keys wait for each
					// other: they run at once, or the test fails.
					select {
					case <-ov.started:
					case <-hctx.Done():
					case <-ctx.Done():
					}
				}
				ov.end(k)
				cs.call(v)
				cs.succeeded <- v
				return kstream.Success()
			}
			app, err := strata.New(handleTopology(t, handle, kstream.WithConcurrency(limit, kstream.OrderByKey)), handlerConfig(t, c, "conc-order", g))
			if err != nil {
				t.Fatal(err)
			}
			var recs []*kgo.Record
			for i := range n {
				recs = append(recs, &kgo.Record{Topic: "in", Key: fmt.Appendf(nil, "k%d", i%keys), Value: fmt.Appendf(nil, "v%d", i)})
			}
			if err := c.Produce(ctx, recs...); err != nil {
				t.Fatal(err)
			}
			r := start(t, app)
			got := cs.waitSucceeded(ctx, t, n)
			waitCommitted(ctx, t, c, "conc-order", "in", 0, n)
			r.stopAndWait(t)
			for v, k := range got {
				if k != 1 {
					t.Errorf("%s succeeded %d times, want once", v, k)
				}
			}
			ov.mu.Lock()
			defer ov.mu.Unlock()
			for _, v := range ov.violations {
				t.Error(v)
			}
			if ov.most > limit {
				t.Errorf("%d calls ran at once, limit %d", ov.most, limit)
			}
			for k, seq := range ov.seq {
				for j := 1; j < len(seq); j++ {
					if seq[j] <= seq[j-1] {
						t.Errorf("%s ran out of offset order: %v", k, seq)
						break
					}
				}
			}
			if app.Metrics().Processed != n {
				t.Errorf("Metrics.Processed = %d, want %d", app.Metrics().Processed, n)
			}
		})
	}
}

// TestConcurrentHandlerContextOutlivesCall: a context a concurrent
// handler's call derives from its own, and cancels after the call returned
// (as net/http does on its connection's goroutine once a response is read),
// still works once the call's record is complete and its slot reused; the
// reused slot used to clear the context it derived from (a nil pointer
// panic, a race).
func TestConcurrentHandlerContextOutlivesCall(t *testing.T) {
	const n = 20
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "in"}}})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	cs := newCalls(n)
	cancels := make(chan context.CancelFunc, n)
	handle := func(hctx context.Context, k, v string) kstream.Outcome {
		_, stop := context.WithCancel(hctx)
		cancels <- stop
		cs.call(v)
		cs.succeeded <- v
		return kstream.Success()
	}
	app, err := strata.New(handleTopology(t, handle, kstream.WithConcurrency(4, kstream.OrderByKey)), handlerConfig(t, c, "conc-ctx", strata.AtLeastOnce))
	if err != nil {
		t.Fatal(err)
	}
	var recs []*kgo.Record
	for i := range n {
		recs = append(recs, &kgo.Record{Topic: "in", Key: fmt.Appendf(nil, "k%d", i%3), Value: fmt.Appendf(nil, "v%d", i)})
	}
	if err := c.Produce(ctx, recs...); err != nil {
		t.Fatal(err)
	}
	r := start(t, app)
	cs.waitSucceeded(ctx, t, n)
	// Every record complete: its slot is back for reuse.
	waitCommitted(ctx, t, c, "conc-ctx", "in", 0, n)
	for range n {
		(<-cancels)()
	}
	r.stopAndWait(t)
}

// waitCommitted waits until group's committed offset of topic[p] is want.
func waitCommitted(ctx context.Context, t *testing.T, c *embedded.Cluster, group, topic string, p int32, want int64) {
	t.Helper()
	for {
		offsets, err := c.Admin().FetchOffsets(ctx, group)
		if err == nil {
			if o, ok := offsets.Lookup(topic, p); ok && o.At == want {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s[%d] was never committed at %d", topic, p, want)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// committedAt returns group's committed offset of topic[p], -1 if none.
func committedAt(ctx context.Context, t *testing.T, c *embedded.Cluster, group, topic string, p int32) int64 {
	t.Helper()
	offsets, err := c.Admin().FetchOffsets(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := offsets.Lookup(topic, p); ok {
		return o.At
	}
	return -1
}

// TestConcurrentHandlerCrashMidFlightOnKafka crashes an app whose
// concurrent handler has a record in flight while later records finished,
// under both guarantees. Records v0 and v5 wait for a gate; the others ask
// to retry on their first attempt (an output to the retry topic) and
// return at once. Nothing is committed while v0 runs; once v0 is let
// through, the committed offset reaches 5 and no further: v5 runs, v6..v9
// have finished. After the crash, a second app handles v5..v9 again:
// no record is lost, every record succeeds, and under exactly-once each
// retried record is in the retry topic exactly once (the outputs of v6..v9
// were not committed before v5 was done).
func TestConcurrentHandlerCrashMidFlightOnKafka(t *testing.T) {
	for _, g := range []strata.Guarantee{strata.AtLeastOnce, strata.ExactlyOnce} {
		t.Run(g.String(), func(t *testing.T) {
			const n = 10
			c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "in"}}})
			keepRecords(c)
			ctx, cancel := context.WithTimeout(context.Background(), 2*testTimeout)
			defer cancel()
			gate0, gate5 := make(chan struct{}), make(chan struct{})
			cs := newCalls(n)
			returned := make(chan string, 4*n)
			var mu sync.Mutex
			cancelled := 0
			handle := func(hctx context.Context, _, v string) kstream.Outcome {
				k := cs.call(v)
				defer func() { returned <- v }()
				var gate chan struct{}
				switch v {
				case "v0":
					gate = gate0
				case "v5":
					gate = gate5
				default:
					if kstream.Attempt(hctx) == 0 {
						return kstream.Retry(fmt.Errorf("%s: call %d", v, k))
					}
					cs.succeeded <- v
					return kstream.Success()
				}
				select {
				case <-gate:
				case <-hctx.Done():
					mu.Lock()
					cancelled++
					mu.Unlock()
					return kstream.Retry(hctx.Err())
				}
				cs.succeeded <- v
				return kstream.Success()
			}
			policy := retry.Policy{Backoff: retry.Fixed(50 * time.Millisecond), MaxAttempts: 3}
			top := func() *topology.Topology {
				return handleTopology(t, handle, kstream.WithConcurrency(n, kstream.Unordered), kstream.WithRetry(policy))
			}
			cfg := handlerConfig(t, c, "conc-crash", g)
			cfg.InstanceID = "instance-1"
			app1, err := strata.New(top(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			var recs []*kgo.Record
			for i := range n {
				recs = append(recs, &kgo.Record{Topic: "in", Key: fmt.Appendf(nil, "k%d", i), Value: fmt.Appendf(nil, "v%d", i)})
			}
			if err := c.Produce(ctx, recs...); err != nil {
				t.Fatal(err)
			}
			done1 := make(chan error, 1)
			go func() { done1 <- app1.Run(ctx) }()
			// The others return while v0 and v5 wait: nothing is
			// committed.
			waitReturned(ctx, t, returned, "v1", "v2", "v3", "v4", "v6", "v7", "v8", "v9")
			if at := committedAt(ctx, t, c, "conc-crash", "in", 0); at > 0 {
				t.Fatalf("in[0] committed at %d while v0 runs", at)
			}
			close(gate0)
			waitCommitted(ctx, t, c, "conc-crash", "in", 0, 5)
			if at := committedAt(ctx, t, c, "conc-crash", "in", 0); at != 5 {
				t.Fatalf("in[0] committed at %d while v5 runs, want 5", at)
			}
			strata.Crash(app1)
			if err := <-done1; !errors.Is(err, strata.ErrCrashed) {
				t.Fatalf("first run: %v, want the crash", err)
			}
			if at := committedAt(ctx, t, c, "conc-crash", "in", 0); at != 5 {
				t.Fatalf("after the crash in[0] is committed at %d, want 5", at)
			}
			close(gate5)
			app2, err := strata.New(top(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			r := start(t, app2)
			got := cs.waitSucceeded(ctx, t, n)
			waitCommitted(ctx, t, c, "conc-crash", "in", 0, n)
			r.stopAndWait(t)
			for i := range n {
				v := fmt.Sprintf("v%d", i)
				if got[v] == 0 {
					t.Errorf("%s never succeeded", v)
				}
			}
			// The retry topic as a read_committed reader sees it.
			retried, _ := c.Consume(shortContext(t), retry.Topic("conc-crash", "h"), 4*n)
			byValue := map[string]int{}
			for _, rec := range retried {
				byValue[string(rec.Value)]++
			}
			for i := range n {
				v := fmt.Sprintf("v%d", i)
				want := 1
				if i == 0 || i == 5 {
					want = 0
				}
				switch {
				case g == strata.ExactlyOnce && byValue[v] != want:
					t.Errorf("%s is %d times in the retry topic, want %d", v, byValue[v], want)
				case byValue[v] < want:
					t.Errorf("%s is %d times in the retry topic, want at least %d", v, byValue[v], want)
				}
			}
		})
	}
}

// waitReturned waits until every one of vs was returned by a call.
func waitReturned(ctx context.Context, t *testing.T, returned chan string, vs ...string) {
	t.Helper()
	want := map[string]bool{}
	for _, v := range vs {
		want[v] = true
	}
	for len(want) > 0 {
		select {
		case v := <-returned:
			delete(want, v)
		case <-ctx.Done():
			t.Fatalf("calls of %v never returned", want)
		}
	}
}

// TestBatchHandlerOnKafka runs a batch handler on the embedded broker,
// under both guarantees: twelve records in batches of at most five, the
// last two handed over by the time limit (no more records come), each
// record once and in offset order, and per-record outcomes applied: v3 goes
// to the dead set, the others succeed, and the offsets are committed to
// the end.
func TestBatchHandlerOnKafka(t *testing.T) {
	for _, g := range []strata.Guarantee{strata.AtLeastOnce, strata.ExactlyOnce} {
		t.Run(g.String(), func(t *testing.T) {
			const n, size = 12, 5
			c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "in"}}})
			keepRecords(c)
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			defer cancel()
			var mu sync.Mutex
			var sizes []int
			var seen []string
			all := make(chan struct{})
			b := topology.NewBuilder()
			kstream.From(b, "in", serde.String(), serde.String()).HandleBatch("h", func(_ context.Context, rs []kstream.KeyValue[string, string]) []kstream.Outcome {
				mu.Lock()
				defer mu.Unlock()
				sizes = append(sizes, len(rs))
				outs := make([]kstream.Outcome, len(rs))
				for i, r := range rs {
					seen = append(seen, r.Value)
					outs[i] = kstream.Success()
					if r.Value == "v3" {
						outs[i] = kstream.DeadLetter("bad")
					}
				}
				if len(seen) == n {
					close(all)
				}
				return outs
			}, kstream.WithBatch(size, 200*time.Millisecond))
			top, err := b.Build()
			if err != nil {
				t.Fatal(err)
			}
			app, err := strata.New(top, handlerConfig(t, c, "batch", g))
			if err != nil {
				t.Fatal(err)
			}
			var recs []*kgo.Record
			for i := range n {
				recs = append(recs, &kgo.Record{Topic: "in", Key: fmt.Appendf(nil, "k%d", i%3), Value: fmt.Appendf(nil, "v%d", i)})
			}
			if err := c.Produce(ctx, recs...); err != nil {
				t.Fatal(err)
			}
			r := start(t, app)
			select {
			case <-all:
			case <-ctx.Done():
				t.Fatal("not every record was handled")
			}
			waitCommitted(ctx, t, c, "batch", "in", 0, n)
			r.stopAndWait(t)
			mu.Lock()
			defer mu.Unlock()
			for i, v := range seen {
				if v != fmt.Sprintf("v%d", i) {
					t.Fatalf("records handled %v, want v0..v%d once each in order", seen, n-1)
				}
			}
			for _, s := range sizes {
				if s > size {
					t.Errorf("batch sizes %v: one passes %d", sizes, size)
				}
			}
			if last := sizes[len(sizes)-1]; last >= size {
				t.Errorf("batch sizes %v: the last, handed over by time, should hold fewer than %d", sizes, size)
			}
			dead, _ := c.Consume(shortContext(t), "batch-dead-letter", 2)
			if len(dead) != 1 || string(dead[0].Value) != "v3" {
				t.Errorf("dead set %d records, want v3 alone", len(dead))
			}
		})
	}
}

// TestConcurrentHandlerRevokedMidFlightOnKafka revokes a partition from an
// app whose concurrent handler has a record in flight there, under both
// guarantees: in the first app, each partition's first record ("g") runs
// until its context ends, the record behind it waiting (ordered by
// partition). When a second
// app joins, the partition that moves is drained for a bounded time, then
// its handler's context is cancelled (the call sees it; its late outcome is
// dropped with the task) and the second app handles "g" of that partition
// and the record behind it: nothing is lost.
func TestConcurrentHandlerRevokedMidFlightOnKafka(t *testing.T) {
	for _, g := range []strata.Guarantee{strata.AtLeastOnce, strata.ExactlyOnce} {
		t.Run(g.String(), func(t *testing.T) {
			c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "in", Partitions: 2}}})
			ctx, cancel := context.WithTimeout(context.Background(), 2*testTimeout)
			defer cancel()
			k0, k1 := keysInPartitions(2)
			cancelled := make(chan string, 4)
			second := make(chan string, 8)
			behind := make(chan string, 4)
			runs := make(chan string, 4)
			handler := func(first bool) func(context.Context, string, string) kstream.Outcome {
				return func(hctx context.Context, k, v string) kstream.Outcome {
					if !first {
						second <- k + "/" + v
						return kstream.Success()
					}
					if v != "g" {
						behind <- k
						return kstream.Success()
					}
					runs <- k
					<-hctx.Done()
					cancelled <- k
					return kstream.Retry(hctx.Err())
				}
			}
			cfg := handlerConfig(t, c, "conc-revoke", g)
			app1, err := strata.New(handleTopology(t, handler(true), kstream.WithConcurrency(4, kstream.OrderByPartition)), cfg)
			if err != nil {
				t.Fatal(err)
			}
			var recs []*kgo.Record
			for _, k := range []string{k0, k1} {
				recs = append(recs, &kgo.Record{Topic: "in", Key: []byte(k), Value: []byte("g")}, &kgo.Record{Topic: "in", Key: []byte(k), Value: []byte("a")})
			}
			if err := c.Produce(ctx, recs...); err != nil {
				t.Fatal(err)
			}
			r1 := start(t, app1)
			// Both partitions' first records run in the first app.
			for range 2 {
				select {
				case <-runs:
				case <-ctx.Done():
					t.Fatal("the first app never ran both partitions' first records")
				}
			}
			cfg2 := handlerConfig(t, c, "conc-revoke", g)
			app2, err := strata.New(handleTopology(t, handler(false), kstream.WithConcurrency(4, kstream.OrderByPartition)), cfg2)
			if err != nil {
				t.Fatal(err)
			}
			r2 := start(t, app2)
			var moved string
			select {
			case moved = <-cancelled:
			case <-ctx.Done():
				t.Fatal("no call was cancelled by the revocation")
			}
			want := map[string]bool{moved + "/g": true, moved + "/a": true}
			for len(want) > 0 {
				select {
				case got := <-second:
					delete(want, got)
				case <-ctx.Done():
					t.Fatalf("the second app never handled %v", want)
				}
			}
			r2.stopAndWait(t)
			r1.stopAndWait(t)
		})
	}
}
