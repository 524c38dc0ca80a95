package faults_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/embedded"
)

// long runs the long form of the suite: longer outages, more seeds.
var long = flag.Bool("faults.long", false, "run the long form of the fault suite")

// waitLimit bounds every wait of a scenario on the app or the broker.
const waitLimit = 90 * time.Second

// guarantees are the processing guarantees every scenario runs under.
var guarantees = []strata.Guarantee{strata.AtLeastOnce, strata.ExactlyOnce}

// logger logs to t at level, shown with -v or on failure. Lines logged after
// the test ended (by goroutines it left behind) are dropped.
func logger(t *testing.T, level slog.Level) *slog.Logger {
	w := &tWriter{t: t}
	t.Cleanup(w.close)
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

type tWriter struct {
	mu     sync.Mutex
	t      *testing.T
	closed bool
}

func (w *tWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		w.t.Log(strings.TrimSuffix(string(p), "\n"))
	}
	return len(p), nil
}

func (w *tWriter) close() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
}

// cluster starts an embedded broker whose state survives Stop and Restart,
// with the topics given.
func cluster(t *testing.T, topics ...embedded.Topic) *embedded.Cluster {
	t.Helper()
	return embedded.StartForTest(t, embedded.Config{DataDir: t.TempDir(), Topics: topics})
}

// appConfig is a Config for an app on c: short commit interval and fetch
// wait (kfake answers a fetch of empty partitions only at its max wait),
// state in a directory of the test's own.
func appConfig(t *testing.T, c *embedded.Cluster, appID string, g strata.Guarantee) strata.Config {
	return strata.Config{
		ApplicationID:  appID,
		Brokers:        c.Addrs(),
		Guarantee:      g,
		InstanceID:     "instance-1",
		StateDir:       t.TempDir(),
		CommitInterval: 100 * time.Millisecond,
		Logger:         logger(t, slog.LevelInfo),
		ClientOptions:  []kgo.Opt{kgo.FetchMaxWait(200 * time.Millisecond)},
	}
}

// running is an App running in a goroutine.
type running struct {
	app    *strata.App
	cancel context.CancelFunc
	done   chan error
	err    error
	ended  bool
}

// run starts app; the test's cleanup stops it.
func run(t *testing.T, app *strata.App) *running {
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{app: app, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- app.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		r.wait(t, waitLimit)
	})
	return r
}

// wait returns Run's result, failing the test if it takes longer than d.
func (r *running) wait(t *testing.T, d time.Duration) error {
	t.Helper()
	if r.ended {
		return r.err
	}
	select {
	case r.err = <-r.done:
		r.ended = true
		return r.err
	case <-time.After(d):
		t.Logf("goroutines of Strata:\n%s", strataStacks())
		t.Fatalf("Run did not return within %v", d)
		return nil
	}
}

// stop cancels Run and returns how long it took to return, and its error.
func (r *running) stop(t *testing.T, bound time.Duration) (time.Duration, error) {
	t.Helper()
	began := time.Now()
	r.cancel()
	err := r.wait(t, bound)
	return time.Since(began), err
}

// strataStacks returns the stacks of the goroutines running Strata's code,
// to see where a Run that does not return waits.
func strataStacks() string {
	buf := make([]byte, 8<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "strata-go/strata.") {
			out = append(out, g)
		}
	}
	return strings.Join(out, "\n\n")
}

// keyedInput is the input of a counting scenario: n records over keys
// k000..k<keys-1>, each value "x" unless values says otherwise (by index).
func keyedInput(topic string, n, keys int, values map[int]string) []*kgo.Record {
	recs := make([]*kgo.Record, n)
	for i := range recs {
		v := "x"
		if s, ok := values[i]; ok {
			v = s
		}
		recs[i] = &kgo.Record{Topic: topic, Key: []byte(fmt.Sprintf("k%03d", i%keys)), Value: []byte(v)}
	}
	return recs
}

// produce writes recs and fails the test on error.
func produce(t *testing.T, c *embedded.Cluster, recs ...*kgo.Record) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := c.Produce(ctx, recs...); err != nil {
		t.Fatal(err)
	}
}

// waitCommitted waits until group has committed, for every partition of
// topic, the partition's end: every input record was processed and its
// processing committed. It fails the test after waitLimit, unless stop, if
// set, reports an error first (Run ending, for instance).
func waitCommitted(t *testing.T, c *embedded.Cluster, group, topic string, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	adm := c.Admin()
	var last string
	for {
		ends, err := adm.ListEndOffsets(ctx, topic)
		if err == nil {
			var committed kadm.OffsetResponses
			if committed, err = adm.FetchOffsets(ctx, group); err == nil {
				behind := 0
				ends.Each(func(lo kadm.ListedOffset) {
					if o, ok := committed.Lookup(topic, lo.Partition); !ok || o.At < lo.Offset {
						behind++
					}
				})
				if behind == 0 {
					return
				}
				last = fmt.Sprintf("%d partitions of %q not committed to their end", behind, topic)
			}
		}
		if err != nil {
			last = err.Error()
		}
		if stop != nil {
			if serr := stop(); serr != nil {
				t.Fatalf("waiting for %s: %v", last, serr)
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for group %q to commit %q: %s", group, topic, last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// readAll reads topic, read_committed, up to its last stable offsets.
func readAll(t *testing.T, c *embedded.Cluster, topic string) []*kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	ends, err := c.Admin().ListCommittedOffsets(ctx, topic)
	if err != nil {
		t.Fatalf("list last stable offsets of %q: %v", topic, err)
	}
	want := map[int32]int64{}
	ends.Each(func(lo kadm.ListedOffset) {
		if lo.Offset > 0 {
			want[lo.Partition] = lo.Offset
		}
	})
	if len(want) == 0 {
		return nil
	}
	cl, err := c.Client(kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var out []*kgo.Record
	for len(want) > 0 {
		f := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %q: %v; still to read: %v", topic, ctx.Err(), want)
		}
		f.EachRecord(func(r *kgo.Record) {
			if !r.Attrs.IsControl() {
				out = append(out, r)
			}
			if end, ok := want[r.Partition]; ok && r.Offset+1 >= end {
				delete(want, r.Partition)
			}
		})
	}
	return out
}

// stopped reports Run's error once it returned, for waitCommitted.
func (r *running) stopped() error {
	select {
	case err := <-r.done:
		r.done <- err
		if err == nil {
			err = errors.New("Run returned nil")
		}
		return fmt.Errorf("Run returned: %w", err)
	default:
		return nil
	}
}

// testContext is a context bounded by waitLimit.
func testContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), waitLimit)
}

// waitSpread waits until group is stable with members members, each
// assigned some partition: a cooperative rebalance has moved what it
// moves (the first rebalance after a member joins gives it nothing yet).
func waitSpread(t *testing.T, c *embedded.Cluster, group string, members int) {
	t.Helper()
	ctx, cancel := testContext()
	defer cancel()
	var last string
	for {
		described, err := c.Admin().DescribeGroups(ctx, group)
		if err == nil {
			d := described[group]
			busy := 0
			for _, m := range d.Members {
				if a, ok := m.Assigned.AsConsumer(); ok && len(a.Topics) > 0 {
					busy++
				}
			}
			if d.State == "Stable" && len(d.Members) == members && busy == members {
				return
			}
			last = fmt.Sprintf("state %s, %d members, %d with partitions", d.State, len(d.Members), busy)
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			t.Fatalf("group %q never spread over %d members: %s", group, members, last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
