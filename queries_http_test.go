package strata_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/embedded"
	"github.com/strata-go/strata/query"
	"github.com/strata-go/strata/state"
)

// queryInstance is an instance of an application serving its "counts" over
// HTTP at its ApplicationServer from the moment it is made: before Run,
// queries are answered with ErrNotRunning.
type queryInstance struct {
	name string
	app  *strata.App
	log  *stateLog
	srv  *http.Server
	url  string
	run  *running
	kv   *query.KeyValueClient[string, int64]
}

// newQueryInstance makes instance i of the application appID.
func newQueryInstance(t *testing.T, c *embedded.Cluster, appID string, g strata.Guarantee, i int) *queryInstance {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, c, appID)
	cfg.InstanceID = fmt.Sprintf("instance-%d", i)
	cfg.ApplicationServer = ln.Addr().String()
	cfg.Guarantee = g
	// Instances stop for good (scale-in): their static members leave the
	// group at once.
	cfg.LeaveGroupOnStop = true
	// Heartbeats every 100ms let the group notice joins and leaves
	// quickly.
	cfg.ClientOptions = append(cfg.ClientOptions, kgo.HeartbeatInterval(100*time.Millisecond))
	qi := &queryInstance{name: cfg.InstanceID, log: newStateLog(), url: "http://" + cfg.ApplicationServer}
	cfg.StateListener = qi.log.listener
	if qi.app, err = strata.New(queryTopology(t, func() {}), cfg); err != nil {
		t.Fatal(err)
	}
	h, err := query.NewHandler(qi.app, query.HandlerConfig{
		Stores:  []query.Route{query.ServeKeyValue[string, int64]("counts", query.StringKeys())},
		Timeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	qi.srv = &http.Server{Handler: h}
	go qi.srv.Serve(ln)
	t.Cleanup(func() { qi.srv.Close() })
	qi.kv = query.NewKeyValueClient[string, int64](query.NewClient(qi.url, nil), "counts", query.StringKeys())
	return qi
}

// lastOutputs returns the last count the read_committed output holds for
// every key.
func lastOutputs(t *testing.T, c *embedded.Cluster) map[string]int64 {
	t.Helper()
	last := map[string]int64{}
	for _, r := range readUntilMarker(t, c, "out", "marker") {
		last[string(r.Key)] = int64(binary.BigEndian.Uint64(r.Value))
	}
	return last
}

// getRetrying asks qi for key until it answers with something other than a
// retriable error, or ctx ends.
func getRetrying(ctx context.Context, t *testing.T, qi *queryInstance, key string) (int64, bool) {
	t.Helper()
	for {
		v, ok, err := qi.kv.Get(ctx, key)
		if err == nil {
			return v, ok
		}
		if !query.Retriable(err) || ctx.Err() != nil {
			t.Fatalf("%s: Get(%s): %v", qi.name, key, err)
		}
	}
}

// TestQueriesAcrossInstances runs three instances under exactly-once and
// asks every instance over HTTP for every key's count: each answers the
// last value the read_committed output holds for the key, forwarding what
// it does not hold to the instance that does.
func TestQueriesAcrossInstances(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{
		{Name: "in", Partitions: 6}, {Name: "out", Partitions: 6}, {Name: "rows", Partitions: 1},
	}})
	ctx, cancel := context.WithTimeout(t.Context(), 2*testTimeout)
	defer cancel()
	var insts []*queryInstance
	for i := range 3 {
		qi := newQueryInstance(t, c, "queries-three", strata.ExactlyOnce, i)
		qi.run = start(t, qi.app)
		insts = append(insts, qi)
	}
	for _, qi := range insts {
		qi.log.await(t, qi.app, strata.Running)
	}
	model := map[string]int64{}
	produceCounting(ctx, t, c, model, 900, 30)
	if err := waitCounts(ctx, c, model, true); err != nil {
		t.Fatal(err)
	}
	last := lastOutputs(t, c)
	if !maps.Equal(last, model) {
		t.Fatalf("the output's last counts %v are not the model's %v", last, model)
	}
	// Every instance runs some of the six tasks, so most keys are
	// elsewhere for the instance asked.
	all, err := query.Instances(insts[0].app)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 {
		t.Fatalf("instances %+v", all)
	}
	for _, in := range all {
		if len(in.Active["counts"]) != 2 || in.Server == "" {
			t.Errorf("instance %+v: want two partitions and a server", in)
		}
	}
	handle, err := query.KeyValue[string, int64](insts[0].app, "counts")
	if err != nil {
		t.Fatal(err)
	}
	remote := 0
	for _, k := range slices.Sorted(maps.Keys(last)) {
		if md, err := handle.KeyMetadata(k); err == nil && md.Active != nil && !md.Active.Local {
			remote++
		}
		for _, qi := range insts {
			if got, ok := getRetrying(ctx, t, qi, k); !ok || got != last[k] {
				t.Errorf("%s: %s = %d, %v; the output's last value is %d", qi.name, k, got, ok, last[k])
			}
		}
	}
	if remote == 0 {
		t.Error("no key lives on another instance than the first: nothing was forwarded")
	}
	// A request another instance forwarded is answered here or fails:
	// it is never forwarded again.
	for _, k := range slices.Sorted(maps.Keys(last)) {
		md, err := handle.KeyMetadata(k)
		if err != nil || md.Active == nil || md.Active.Local {
			continue
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, insts[0].url+"/stores/counts/get?key="+k, nil)
		req.Header.Set("Strata-Forwarded-By", "instance-x")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), `"code":"not_local"`) {
			t.Errorf("a forwarded request for %s, held elsewhere: %d %s; want 503 not_local", k, resp.StatusCode, body)
		}
		break
	}
	for _, qi := range insts {
		entries, err := qi.kv.All(ctx)
		got := map[string]int64{}
		for _, e := range entries {
			got[e.Key] = e.Value
		}
		if err != nil || !maps.Equal(got, last) || !slices.IsSortedFunc(entries, func(a, b state.KeyValue[string, int64]) int { return strings.Compare(a.Key, b.Key) }) {
			t.Errorf("%s: All = %v, %v", qi.name, entries, err)
		}
	}
	for _, qi := range insts {
		qi.run.stopAndWait(t)
	}
}

// loadStats are the outcomes of a query load.
type loadStats struct {
	mu       sync.Mutex
	answered map[string]int // by phase
	retried  int
	wrong    []string
	slowest  time.Duration
}

// TestQueriesDuringScaleOutAndKill keeps querying every key of a finished
// count, over HTTP, from three instances in turn, while the application
// grows from one instance to three and one of them is killed: every answer
// is the key's count, or a retriable error; none is wrong and none hangs.
// Then another stops cleanly, and the one left answers for every key.
func TestQueriesDuringScaleOutAndKill(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{
		{Name: "in", Partitions: 6}, {Name: "out", Partitions: 6}, {Name: "rows", Partitions: 1},
	}})
	ctx, cancel := context.WithTimeout(t.Context(), 3*testTimeout)
	defer cancel()
	insts := []*queryInstance{
		newQueryInstance(t, c, "queries-scale", strata.AtLeastOnce, 0),
		newQueryInstance(t, c, "queries-scale", strata.AtLeastOnce, 1),
		newQueryInstance(t, c, "queries-scale", strata.AtLeastOnce, 2),
	}
	a, b, cc := insts[0], insts[1], insts[2]
	a.run = start(t, a.app)
	model := map[string]int64{}
	produceCounting(ctx, t, c, model, 600, 30)
	if err := waitCounts(ctx, c, model, true); err != nil {
		t.Fatal(err)
	}
	keys := slices.Sorted(maps.Keys(model))

	var phase atomic.Value
	phase.Store("one instance")
	stats := &loadStats{answered: map[string]int{}}
	progress := make(chan struct{}, 1)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for worker := range 2 {
		wg.Go(func() {
			for i := worker; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				qi, k := insts[i%len(insts)], keys[(i/len(insts))%len(keys)]
				rctx, rcancel := context.WithTimeout(ctx, 30*time.Second)
				began := time.Now()
				v, ok, err := qi.kv.Get(rctx, k)
				took := time.Since(began)
				rcancel()
				stats.mu.Lock()
				stats.slowest = max(stats.slowest, took)
				switch {
				case err != nil && query.Retriable(err) && !errors.Is(err, context.DeadlineExceeded):
					stats.retried++
				case err != nil:
					stats.wrong = append(stats.wrong, fmt.Sprintf("%s: %s: %v", qi.name, k, err))
				case !ok || v != model[k]:
					stats.wrong = append(stats.wrong, fmt.Sprintf("%s: %s = %d, %v; want %d", qi.name, k, v, ok, model[k]))
				default:
					stats.answered[phase.Load().(string)]++
				}
				stats.mu.Unlock()
				select {
				case progress <- struct{}{}:
				default:
				}
			}
		})
	}
	// awaitAnswers waits until the current phase has n correct answers.
	awaitAnswers := func(n int) {
		t.Helper()
		for {
			stats.mu.Lock()
			got := stats.answered[phase.Load().(string)]
			stats.mu.Unlock()
			if got >= n {
				return
			}
			select {
			case <-progress:
			case <-ctx.Done():
				t.Fatalf("phase %q: %d correct answers: %v", phase.Load(), got, ctx.Err())
			}
		}
	}
	awaitAnswers(30)

	phase.Store("scaling out")
	b.run, cc.run = start(t, b.app), start(t, cc.app)
	awaitSpread(ctx, t, a, 3)
	for _, qi := range insts {
		qi.log.await(t, qi.app, strata.Running)
	}
	awaitAnswers(30)

	phase.Store("killed one")
	strata.Crash(b.app)
	if err := b.run.wait(t); !errors.Is(err, strata.ErrCrashed) {
		t.Fatalf("the killed instance's Run: %v", err)
	}
	b.srv.Close()
	awaitSpread(ctx, t, a, 2)
	awaitSpread(ctx, t, cc, 2)
	phase.Store("after the kill")
	awaitAnswers(60)
	close(stop)
	wg.Wait()

	stats.mu.Lock()
	defer stats.mu.Unlock()
	t.Logf("answers by phase %v, retriable errors %d, slowest %v", stats.answered, stats.retried, stats.slowest)
	if len(stats.wrong) > 0 {
		t.Errorf("%d wrong answers, such as %q", len(stats.wrong), stats.wrong[:min(5, len(stats.wrong))])
	}
	if stats.slowest > 10*time.Second {
		t.Errorf("a query took %v: the handler bounds each at 5s", stats.slowest)
	}
	for _, k := range keys {
		for _, qi := range []*queryInstance{a, cc} {
			if v, ok := getRetrying(ctx, t, qi, k); !ok || v != model[k] {
				t.Errorf("%s: %s = %d, %v after the kill; want %d", qi.name, k, v, ok, model[k])
			}
		}
	}
	// Scale in: the third instance stops cleanly, and the first takes
	// its partitions back.
	cc.run.stopAndWait(t)
	cc.srv.Close()
	awaitSpread(ctx, t, a, 1)
	for _, k := range keys {
		if v, ok := getRetrying(ctx, t, a, k); !ok || v != model[k] {
			t.Errorf("%s: %s = %d, %v after the scale-in; want %d", a.name, k, v, ok, model[k])
		}
	}
	a.run.stopAndWait(t)
}

// awaitSpread waits until qi's map of the application lists n instances
// running all six partitions of "counts" between them, and qi is running.
func awaitSpread(ctx context.Context, t *testing.T, qi *queryInstance, n int) {
	t.Helper()
	for {
		all, err := query.Instances(qi.app)
		parts := 0
		for _, in := range all {
			parts += len(in.Active["counts"])
		}
		if err == nil && len(all) == n && parts == 6 && qi.app.State() == strata.Running {
			return
		}
		select {
		case <-qi.log.changed:
		case <-ctx.Done():
			t.Fatalf("%s: waiting for %d instances: %+v, %v (state %v)", qi.name, n, all, err, qi.app.State())
		}
	}
}
