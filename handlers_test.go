package strata_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/deadletter"
	"github.com/strata-go/strata/embedded"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/retry"
	"github.com/strata-go/strata/topology"
)

// handlerTopology is in → Handle("h", fn) with policy.
func handlerTopology(t *testing.T, fn func(context.Context, string, string) kstream.Outcome, policy retry.Policy) *topology.Topology {
	t.Helper()
	return handleTopology(t, fn, kstream.WithRetry(policy))
}

// calls counts a handler's calls per value, and tells succeeded each
// value's successful calls.
type calls struct {
	mu        sync.Mutex
	n         map[string]int
	succeeded chan string
}

func newCalls(n int) *calls {
	return &calls{n: map[string]int{}, succeeded: make(chan string, n*4)}
}

// call counts a call of v and returns how many there were, this one
// included.
func (c *calls) call(v string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[v]++
	return c.n[v]
}

func (c *calls) of(v string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[v]
}

// produceValues produces n records to "in": key k<i>, value v<i>, each
// with a header and a timestamp of its own.
func produceValues(ctx context.Context, t *testing.T, c *embedded.Cluster, n int) []*kgo.Record {
	t.Helper()
	var recs []*kgo.Record
	for i := range n {
		recs = append(recs, &kgo.Record{Topic: "in", Key: fmt.Appendf(nil, "k%d", i), Value: fmt.Appendf(nil, "v%d", i),
			Timestamp: time.UnixMilli(int64(1_000_000 + i)), Headers: []kgo.RecordHeader{{Key: "trace", Value: fmt.Appendf(nil, "t%d", i)}}})
	}
	if err := c.Produce(ctx, recs...); err != nil {
		t.Fatal(err)
	}
	return recs
}

// waitSucceeded waits until every one of want values succeeded once.
func (c *calls) waitSucceeded(ctx context.Context, t *testing.T, want int) map[string]int {
	t.Helper()
	got := map[string]int{}
	for len(got) < want {
		select {
		case v := <-c.succeeded:
			got[v]++
		case <-ctx.Done():
			t.Fatalf("%d of %d records succeeded", len(got), want)
		}
	}
	return got
}

// handlerConfig is testConfig with guarantee g and a short commit interval.
func handlerConfig(t *testing.T, c *embedded.Cluster, app string, g strata.Guarantee) strata.Config {
	cfg := testConfig(t, c, app)
	cfg.Guarantee = g
	cfg.CommitInterval = 50 * time.Millisecond
	return cfg
}

// parseRetries parses records of a retry topic.
func parseRetries(t *testing.T, recs []*kgo.Record) []retry.Info {
	t.Helper()
	var out []retry.Info
	for _, r := range recs {
		info, _, err := retry.Parse(r)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, info)
	}
	return out
}

// keepRecords makes the broker keep every record an app asks to delete:
// the runtime purges what it consumed of its retry topics, and the tests
// read them afterwards.
func keepRecords(c *embedded.Cluster) {
	k := c.Kfake()
	k.ControlKey(kmsg.DeleteRecords.Int16(), func(req kmsg.Request) (kmsg.Response, error, bool) {
		k.KeepControl()
		r := req.(*kmsg.DeleteRecordsRequest)
		resp := r.ResponseKind().(*kmsg.DeleteRecordsResponse)
		resp.Version = r.Version
		for _, rt := range r.Topics {
			t := kmsg.NewDeleteRecordsResponseTopic()
			t.Topic = rt.Topic
			for _, rp := range rt.Partitions {
				p := kmsg.NewDeleteRecordsResponseTopicPartition()
				p.Partition = rp.Partition
				t.Partitions = append(t.Partitions, p)
			}
			resp.Topics = append(resp.Topics, t)
		}
		return resp, nil, true
	})
}

// endTotalOf sums topic's end offsets.
func endTotalOf(ctx context.Context, t *testing.T, c *embedded.Cluster, topic string) int64 {
	t.Helper()
	ends, err := c.Admin().ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	ends.Each(func(o kadm.ListedOffset) { n += o.Offset })
	return n
}

// A handler that fails twice per record, then succeeds, on the broker under
// both guarantees: each record succeeds once, after two retries whose due
// times are the policy's from the injected clock; nothing reaches the dead
// set, and nothing is written to the source topic.
func TestHandlerRetriesUntilSuccessOnKafka(t *testing.T) {
	for _, g := range []strata.Guarantee{strata.AtLeastOnce, strata.ExactlyOnce} {
		t.Run(g.String(), func(t *testing.T) {
			const n = 20
			c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "in", Partitions: 2}}})
			keepRecords(c)
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			defer cancel()
			cs := newCalls(n)
			// The clock is fixed in the past: every retry is due at
			// once, and its due time is exactly the policy's.
			t0 := time.UnixMilli(1_000_000_000_000)
			policy := retry.Policy{Backoff: retry.Exponential(time.Second, 2), MaxAttempts: 4, Now: func() time.Time { return t0 }}
			top := handlerTopology(t, func(_ context.Context, _, v string) kstream.Outcome {
				if cs.call(v) <= 2 {
					return kstream.Retry(fmt.Errorf("%s failed", v))
				}
				cs.succeeded <- v
				return kstream.Success()
			}, policy)
			app, err := strata.New(top, handlerConfig(t, c, "retries", g))
			if err != nil {
				t.Fatal(err)
			}
			in := produceValues(ctx, t, c, n)
			r := start(t, app)
			succeeded := cs.waitSucceeded(ctx, t, n)
			retries, err := c.Consume(ctx, "retries-h-retry", 2*n)
			if err != nil {
				t.Fatal(err)
			}
			r.stopAndWait(t)
			for v, k := range succeeded {
				if k != 1 || cs.of(v) != 3 {
					t.Errorf("%s: %d successes in %d calls, want 1 in 3", v, k, cs.of(v))
				}
			}
			// Two retries per record, due 1s and 2s after the clock,
			// with the record's coordinates, key, value and headers.
			byOffset := map[string][]retry.Info{}
			for i, info := range parseRetries(t, retries) {
				rec := retries[i]
				key := fmt.Sprintf("%s[%d]@%d", info.Topic, info.Partition, info.Offset)
				byOffset[key] = append(byOffset[key], info)
				if !strings.HasPrefix(string(rec.Key), "k") || string(rec.Value) != "v"+strings.TrimPrefix(string(rec.Key), "k") ||
					header(rec.Headers, "trace") != "t"+strings.TrimPrefix(string(rec.Key), "k") || rec.Timestamp.UnixMilli() < 1_000_000 {
					t.Errorf("retry record %s=%s @%d %v is not the original", rec.Key, rec.Value, rec.Timestamp.UnixMilli(), rec.Headers)
				}
			}
			if len(byOffset) != n {
				t.Fatalf("retries of %d records, want %d", len(byOffset), n)
			}
			for key, infos := range byOffset {
				slices.SortFunc(infos, func(a, b retry.Info) int { return a.Attempt - b.Attempt })
				if len(infos) != 2 || infos[0].Attempt != 1 || !infos[0].Due.Equal(t0.Add(time.Second)) ||
					infos[1].Attempt != 2 || !infos[1].Due.Equal(t0.Add(2*time.Second)) || !strings.HasSuffix(infos[0].Error, " failed") {
					t.Errorf("%s: retries %+v, want attempt 1 due t0+1s and attempt 2 due t0+2s", key, infos)
				}
			}
			if got := endTotalOf(ctx, t, c, "retries-dead-letter"); got != 0 {
				t.Errorf("dead set holds %d records, want none", got)
			}
			if got := endTotalOf(ctx, t, c, "in"); got != int64(len(in)) {
				t.Errorf("the source topic holds %d records, want the %d produced", got, len(in))
			}
		})
	}
}

func header(hs []kgo.RecordHeader, key string) string {
	v := ""
	for _, h := range hs {
		if h.Key == key {
			v = string(h.Value)
		}
	}
	return v
}

// A handler that always fails, on the broker under both guarantees: after
// the last attempt every record is in the dead set once, with its original
// key, value, timestamp, headers and coordinates; the source topic gets
// nothing; the metrics count the outcomes, and the gauges the dead set.
func TestHandlerDeadSetOnKafka(t *testing.T) {
	for _, g := range []strata.Guarantee{strata.AtLeastOnce, strata.ExactlyOnce} {
		t.Run(g.String(), func(t *testing.T) {
			const n = 12
			c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "in", Partitions: 3}}})
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			defer cancel()
			cs := newCalls(n)
			t0 := time.UnixMilli(1_000_000_000_000)
			top := handlerTopology(t, func(_ context.Context, _, v string) kstream.Outcome {
				return kstream.Retry(fmt.Errorf("%s: call %d failed", v, cs.call(v)))
			}, retry.Policy{Backoff: retry.Fixed(time.Second), MaxAttempts: 3, Now: func() time.Time { return t0 }})
			cfg := handlerConfig(t, c, "deadset", g)
			reader := sdkmetric.NewManualReader()
			cfg.MeterProvider = sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
			app, err := strata.New(top, cfg)
			if err != nil {
				t.Fatal(err)
			}
			in := produceValues(ctx, t, c, n)
			r := start(t, app)
			dead, err := c.Consume(ctx, "deadset-dead-letter", n)
			if err != nil {
				t.Fatal(err)
			}
			// The gauges, read from the brokers, see the whole dead
			// set (offsets: under exactly-once, transaction markers
			// too) and, once the last retries are committed, no
			// record waiting.
			for {
				gauges := collectGauges(t, reader)
				dead := gauges["strata.deadset.records"]
				if (dead == n || g == strata.ExactlyOnce && dead > n) && gauges["strata.handler.retry.waiting/h"] == 0 {
					break
				}
				select {
				case <-ctx.Done():
					t.Fatalf("gauges %v, want %d in the dead set and none waiting", gauges, n)
				case <-time.After(50 * time.Millisecond):
				}
			}
			r.stopAndWait(t)
			seen := map[string]bool{}
			for _, rec := range dead {
				dl, err := deadletter.Parse(rec)
				if err != nil {
					t.Fatal(err)
				}
				i, _ := strconv.Atoi(strings.TrimPrefix(string(dl.Key), "k"))
				orig := in[i]
				if seen[string(dl.Key)] {
					t.Errorf("%s is in the dead set twice", dl.Key)
				}
				seen[string(dl.Key)] = true
				if string(dl.Value) != string(orig.Value) || !dl.Timestamp.Equal(orig.Timestamp) || header(dl.Headers, "trace") != header(orig.Headers, "trace") ||
					dl.Topic != "in" || dl.Partition != orig.Partition || dl.Offset != orig.Offset {
					t.Errorf("dead-set record %s=%s @%v from %s[%d]@%d, want %s=%s @%v from in[%d]@%d", dl.Key, dl.Value, dl.Timestamp, dl.Topic, dl.Partition, dl.Offset,
						orig.Key, orig.Value, orig.Timestamp, orig.Partition, orig.Offset)
				}
				if dl.Reason != retry.ReasonExhausted || !strings.HasSuffix(dl.Message, "call 3 failed") || dl.Version != deadletter.Version ||
					dl.Handler != "h" || dl.Attempts != 3 {
					t.Errorf("dead-set record %s: reason %q message %q handler %q attempts %d version %d", dl.Key, dl.Reason, dl.Message, dl.Handler, dl.Attempts, dl.Version)
				}
				if strings.Contains(fmt.Sprint(dl.Headers), "strata.retry.due") {
					t.Errorf("dead-set record %s keeps retry headers: %v", dl.Key, dl.Headers)
				}
			}
			if got := endTotalOf(ctx, t, c, "in"); got != n {
				t.Errorf("the source topic holds %d records, want the %d produced: other consumer groups would see more", got, n)
			}
			sums := collectSums(t, reader)
			if sums["outcome=exhausted"] != n || sums["outcome=retry"] != 2*n {
				t.Errorf("records by outcome %v, want %d exhausted and %d retried", sums, n, 2*n)
			}
		})
	}
}

// collectGauges reads the handler gauges, by name (and "/<handler>").
func collectGauges(t *testing.T, reader *sdkmetric.ManualReader) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Logf("collect: %v", err) // the brokers' gauges may fail; the others are still read
	}
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			gauge, ok := m.Data.(metricdata.Gauge[int64])
			if !ok {
				continue
			}
			for _, dp := range gauge.DataPoints {
				name := m.Name
				if h, ok := dp.Attributes.Value("handler"); ok {
					name += "/" + h.AsString()
				}
				out[name] = dp.Value
			}
		}
	}
	return out
}

// collectSums reads strata.handler.records by outcome.
func collectSums(t *testing.T, reader *sdkmetric.ManualReader) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Logf("collect: %v", err)
	}
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			sum, ok := m.Data.(metricdata.Sum[int64])
			if !ok || m.Name != "strata.handler.records" {
				continue
			}
			for _, dp := range sum.DataPoints {
				o, _ := dp.Attributes.Value("outcome")
				out["outcome="+o.AsString()] += dp.Value
			}
		}
	}
	return out
}

// A crash while records wait in the retry topic: the app's clients stop
// mid-run, with retries committed and waiting and others in the open
// transaction, and a new instance finishes. Under exactly-once the
// committed log is exact: each record that always fails is in the dead set
// once, after the policy's attempts, each of them in the retry topic once;
// each other record succeeds; none is lost. Under at-least-once none is
// lost.
func TestHandlerCrashWhileRetriesWaitOnKafka(t *testing.T) {
	for _, g := range []strata.Guarantee{strata.ExactlyOnce, strata.AtLeastOnce} {
		t.Run(g.String(), func(t *testing.T) {
			const n, maxAttempts = 40, 3
			c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "in", Partitions: 2}}})
			keepRecords(c)
			ctx, cancel := context.WithTimeout(context.Background(), 2*testTimeout)
			defer cancel()
			cs := newCalls(n)
			// Even records fail every time; odd ones on their first
			// attempt.
			alwaysFails := func(v string) bool { i, _ := strconv.Atoi(strings.TrimPrefix(v, "v")); return i%2 == 0 }
			var app1 *strata.App
			var firsts atomic.Int64
			handle := func(ctx context.Context, _, v string) kstream.Outcome {
				k := cs.call(v)
				attempt := kstream.Attempt(ctx)
				if attempt == 0 && firsts.Add(1) == n && app1 != nil {
					// Every record was tried once: their retries
					// wait, some committed, some not yet.
					strata.Crash(app1)
				}
				if alwaysFails(v) || attempt == 0 {
					return kstream.Retry(fmt.Errorf("%s: call %d failed", v, k))
				}
				cs.succeeded <- v
				return kstream.Success()
			}
			policy := retry.Policy{Backoff: retry.Fixed(300 * time.Millisecond), MaxAttempts: maxAttempts}
			cfg := handlerConfig(t, c, "crash-retry", g)
			cfg.InstanceID = "instance-1"
			var err error
			app1, err = strata.New(handlerTopology(t, handle, policy), cfg)
			if err != nil {
				t.Fatal(err)
			}
			produceValues(ctx, t, c, n)
			if err := app1.Run(ctx); !errors.Is(err, strata.ErrCrashed) {
				t.Fatalf("first run: %v, want the crash", err)
			}
			app1 = nil
			app2, err := strata.New(handlerTopology(t, handle, policy), cfg)
			if err != nil {
				t.Fatal(err)
			}
			r := start(t, app2)
			succeeded := cs.waitSucceeded(ctx, t, n/2)
			dead, err := c.Consume(ctx, "crash-retry-dead-letter", n/2)
			if err != nil {
				t.Fatal(err)
			}
			retries, err := c.Consume(ctx, "crash-retry-h-retry", n/2*(maxAttempts-1)+n/2)
			if err != nil {
				t.Fatal(err)
			}
			r.stopAndWait(t)
			for v := range succeeded {
				if alwaysFails(v) {
					t.Errorf("%s succeeded", v)
				}
			}
			deadOnce := map[string]int{}
			for _, rec := range dead {
				dl, err := deadletter.Parse(rec)
				if err != nil {
					t.Fatal(err)
				}
				deadOnce[string(dl.Value)]++
				if !alwaysFails(string(dl.Value)) || dl.Attempts != maxAttempts {
					t.Errorf("dead set has %s after %d attempts", dl.Value, dl.Attempts)
				}
				if cs.of(string(dl.Value)) < maxAttempts {
					t.Errorf("%s: %d calls, want at least %d", dl.Value, cs.of(string(dl.Value)), maxAttempts)
				}
			}
			for i := 0; i < n; i += 2 {
				if v := fmt.Sprintf("v%d", i); deadOnce[v] != 1 {
					t.Errorf("%s is in the dead set %d times, want once", v, deadOnce[v])
				}
			}
			if g == strata.AtLeastOnce {
				return
			}
			// Exactly once, the retry topic holds each attempt of each
			// record once: attempts 1 and 2 of those that always
			// fail, attempt 1 of the others.
			attempts := map[string][]int{}
			for i, info := range parseRetries(t, retries) {
				attempts[string(retries[i].Value)] = append(attempts[string(retries[i].Value)], info.Attempt)
			}
			for i := range n {
				v := fmt.Sprintf("v%d", i)
				want := []int{1}
				if alwaysFails(v) {
					want = []int{1, 2}
				}
				slices.Sort(attempts[v])
				if !slices.Equal(attempts[v], want) {
					t.Errorf("%s: committed retries %v, want %v", v, attempts[v], want)
				}
			}
			if got := endTotalOf(ctx, t, c, "crash-retry-dead-letter"); got < int64(n/2) {
				t.Errorf("dead set end offsets total %d", got)
			}
		})
	}
}

// A blocking handler on the broker keeps each partition's order across its
// retries, and lets a rebalance through while a record waits in place: a
// second instance joins and processes records before the waiting record's
// retry is due.
func TestHandlerBlockingOnKafka(t *testing.T) {
	for _, g := range []strata.Guarantee{strata.AtLeastOnce, strata.ExactlyOnce} {
		t.Run(g.String(), func(t *testing.T) {
			const wait = 4 * time.Second
			c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "in", Partitions: 2}}})
			ctx, cancel := context.WithTimeout(context.Background(), 2*testTimeout)
			defer cancel()
			var mu sync.Mutex
			var events []string // "<instance> <value>" per success, in order
			snapshot := func() []string {
				mu.Lock()
				defer mu.Unlock()
				return slices.Clone(events)
			}
			waiting := make(chan int, 1) // the attempt of b's second failure
			var bCalls atomic.Int32
			var failedAt, twoAt atomic.Int64 // Unix nanoseconds
			handle := func(instance string) func(context.Context, string, string) kstream.Outcome {
				return func(ctx context.Context, _, v string) kstream.Outcome {
					if v == "b" {
						if n := bCalls.Add(1); n <= 2 {
							if n == 2 {
								failedAt.Store(time.Now().UnixNano())
								waiting <- kstream.Attempt(ctx)
							}
							return kstream.Retry(errors.New("b failed"))
						}
					}
					if instance == "two" {
						twoAt.CompareAndSwap(0, time.Now().UnixNano())
					}
					mu.Lock()
					events = append(events, instance+" "+v)
					mu.Unlock()
					return kstream.Success()
				}
			}
			// b's retries wait in place: 200ms, then long.
			policy := retry.Policy{Backoff: retry.Linear(200*time.Millisecond, wait-200*time.Millisecond), Blocking: true}
			cfg := handlerConfig(t, c, "blocking", g)
			app1, err := strata.New(handlerTopology(t, handle("one"), policy), cfg)
			if err != nil {
				t.Fatal(err)
			}
			start(t, app1)
			// a, b, c in one partition; x in the other.
			k1, k2 := keysInPartitions(2)
			var recs []*kgo.Record
			for _, v := range []string{"a", "b", "c"} {
				recs = append(recs, &kgo.Record{Topic: "in", Key: []byte(k1), Value: []byte(v)})
			}
			recs = append(recs, &kgo.Record{Topic: "in", Key: []byte(k2), Value: []byte("x")})
			if err := c.Produce(ctx, recs...); err != nil {
				t.Fatal(err)
			}
			select {
			case attempt := <-waiting:
				if attempt != 1 {
					t.Fatalf("b's second failure was attempt %d, want 1", attempt)
				}
			case <-ctx.Done():
				t.Fatal("b never failed twice")
			}
			if got := snapshot(); slices.Contains(got, "one c") {
				t.Fatalf("c was handled while b was being retried: %q", got)
			}
			// While b waits, a second instance joins: the rebalance
			// goes through, and the second instance processes what it
			// is assigned, before b's retry is due. (If it is given
			// b's partition, it delivers b afresh.)
			cfg2 := cfg
			cfg2.StateDir = t.TempDir()
			app2, err := strata.New(handlerTopology(t, handle("two"), policy), cfg2)
			if err != nil {
				t.Fatal(err)
			}
			start(t, app2)
			for i := 0; twoAt.Load() == 0; i++ {
				// Each round gives both partitions a record: the
				// second instance has one of them once the
				// rebalance is done.
				if err := c.Produce(ctx, &kgo.Record{Topic: "in", Key: []byte(k1), Value: fmt.Appendf(nil, "y%d", i)},
					&kgo.Record{Topic: "in", Key: []byte(k2), Value: fmt.Appendf(nil, "z%d", i)}); err != nil {
					t.Fatal(err)
				}
				select {
				case <-ctx.Done():
					t.Fatalf("the second instance never processed a record: %q", snapshot())
				case <-time.After(100 * time.Millisecond):
				}
			}
			if took := time.Duration(twoAt.Load() - failedAt.Load()); took >= wait {
				t.Fatalf("the second instance processed its first record %v after b failed, not before b's retry was due (%v): the rebalance waited", took, wait)
			}
			// Wait for b, then check the order of k1's partition.
			for {
				var order []string
				for _, e := range snapshot() {
					v := e[strings.IndexByte(e, ' ')+1:]
					if v == "a" || v == "b" || v == "c" || strings.HasPrefix(v, "y") {
						order = append(order, v)
					}
				}
				if slices.Contains(order, "b") {
					// a, then b, then c and the y records: b's
					// partition waited behind it.
					order = slices.Compact(order) // exactly-once may repeat a side effect whose transaction aborted
					if bi := slices.Index(order, "b"); bi != 1 || order[0] != "a" || slices.Index(order, "c") != 2 {
						t.Fatalf("partition order %q, want a, b, c, then the y records", order)
					}
					break
				}
				select {
				case <-ctx.Done():
					t.Fatalf("b never succeeded: %q", order)
				case <-time.After(100 * time.Millisecond):
				}
			}
		})
	}
}

// keysInPartitions returns two keys of different partitions among n.
func keysInPartitions(n int) (string, string) {
	k1 := "k1"
	for i := 2; ; i++ {
		if k := fmt.Sprint("k", i); kgoPartition(k, n) != kgoPartition(k1, n) {
			return k1, k
		}
	}
}

func kgoPartition(key string, n int) int {
	return kgo.StickyKeyPartitioner(nil).ForTopic("any").Partition(&kgo.Record{Key: []byte(key)}, n)
}

// A panic in a handler's function on the broker, under both guarantees:
// the processing-error policy applies. Under fail Run stops with the
// PanicError naming the handler; under skip and dead-letter the app goes
// on, and dead-lettered the record is in the dead set with the handler's
// name.
func TestHandlerPanicOnKafka(t *testing.T) {
	for _, g := range []strata.Guarantee{strata.AtLeastOnce, strata.ExactlyOnce} {
		for _, policy := range []topology.BadRecordPolicy{topology.BadRecordFail, topology.BadRecordSkip, topology.BadRecordDeadLetter} {
			t.Run(g.String()+"/"+policy.String(), func(t *testing.T) { testHandlerPanicOnKafka(t, g, policy) })
		}
	}
}

func testHandlerPanicOnKafka(t *testing.T, g strata.Guarantee, policy topology.BadRecordPolicy) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "in", Partitions: 1}}})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	after := make(chan struct{})
	top := handlerTopology(t, func(_ context.Context, _, v string) kstream.Outcome {
		switch v {
		case "boom":
			var m map[string]int
			m[v]++ // assignment to a nil map
		case "after":
			close(after)
		}
		return kstream.Success()
	}, retry.Policy{})
	cfg := handlerConfig(t, c, "panics", g)
	cfg.OnProcessingError = policy
	app, err := strata.New(top, cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := start(t, app)
	if err := c.Produce(ctx, &kgo.Record{Topic: "in", Key: []byte("k"), Value: []byte("boom")},
		&kgo.Record{Topic: "in", Key: []byte("k"), Value: []byte("after")}); err != nil {
		t.Fatal(err)
	}
	if policy == topology.BadRecordFail {
		err := r.wait(t)
		var pe *topology.PanicError
		if !errors.As(err, &pe) || pe.Node != "h" || pe.Record.Topic != "in" || pe.Record.Offset != 0 {
			t.Fatalf("Run: %v, want a PanicError of handler h on in[0]@0", err)
		}
		return
	}
	select {
	case <-after:
	case <-ctx.Done():
		t.Fatal("the record after the panic was never handled")
	}
	if policy == topology.BadRecordSkip {
		r.stopAndWait(t)
		if got := app.Metrics().FailedRecords; got != 1 {
			t.Errorf("FailedRecords = %d, want 1", got)
		}
		return
	}
	dead, err := c.Consume(ctx, "panics-dead-letter", 1)
	if err != nil {
		t.Fatal(err)
	}
	r.stopAndWait(t)
	dl, err := deadletter.Parse(dead[0])
	if err != nil {
		t.Fatal(err)
	}
	if string(dl.Value) != "boom" || dl.Reason != deadletter.ReasonProcessing || !strings.Contains(dl.Message, "nil map") ||
		dl.Handler != "h" || dl.Topic != "in" || dl.Offset != 0 {
		t.Fatalf("dead-set record %+v, want boom from in[0]@0, reason processing, handler h", dl)
	}
}
