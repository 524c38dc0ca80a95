package strata_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/embedded"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
)

// get fetches url, returning the status and body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, string(body)
}

// restoreGate holds restoration up at its first batch until released.
type restoreGate struct {
	mu      sync.Mutex
	held    bool
	holding chan struct{} // closed when the first batch is held
	release chan struct{}
}

func newRestoreGate() *restoreGate {
	return &restoreGate{holding: make(chan struct{}), release: make(chan struct{})}
}

func (*restoreGate) OnRestoreStart(topology.TaskID, string, string, int64, int64) {}
func (*restoreGate) OnRestoreEnd(topology.TaskID, string, int64, time.Duration)   {}
func (g *restoreGate) OnBatchRestored(topology.TaskID, string, int64, int) {
	g.mu.Lock()
	first := !g.held
	g.held = true
	g.mu.Unlock()
	if first {
		close(g.holding)
		<-g.release
	}
}

// TestAdminEndpoint runs an App with Config.AdminAddr that restores its
// state first: /readyz answers 503 while it restores and 200 once it
// runs; /healthz, /topology in its three formats, /tasks and /metrics (in
// Prometheus' text format, which parses) answer as documented.
func TestAdminEndpoint(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "in", Partitions: 2}, {Name: "out", Partitions: 2}}})
	cfg := testConfig(t, c, "admin")
	cfg.DisableCache = true
	app, err := strata.New(countTopology(t, nil), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for i := range 200 {
		keys = append(keys, fmt.Sprintf("k%03d", i))
	}
	produceKeys(t, c, keys)
	runUntil(t, c, app, len(keys))
	if err := os.RemoveAll(cfg.StateDir); err != nil { // the next run restores
		t.Fatal(err)
	}

	gate := newRestoreGate()
	cfg.RestoreListener = gate
	cfg.AdminAddr = "127.0.0.1:0"
	app, err = strata.New(countTopology(t, nil), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if app.AdminAddr() != "" {
		t.Errorf("AdminAddr() = %q before Run", app.AdminAddr())
	}
	r := start(t, app)
	select {
	case <-gate.holding:
	case err := <-r.done:
		t.Fatalf("Run returned %v before restoring", err)
	case <-time.After(testTimeout):
		t.Fatal("the app never restored")
	}
	base := "http://" + app.AdminAddr()
	if code, body := get(t, base+"/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "restoring") {
		t.Errorf("/readyz while restoring: %d %q, want 503 saying it restores", code, body)
	}
	if code, _ := get(t, base+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz while restoring: %d, want 200", code)
	}
	var rep strata.TasksReport
	code, body := get(t, base+"/tasks")
	if err := json.Unmarshal([]byte(body), &rep); err != nil || code != http.StatusOK {
		t.Fatalf("/tasks: %d %q: %v", code, body, err)
	}
	// Restoration is held at its first batch: the other task has all its
	// records left.
	var restoring, remaining int64
	for _, task := range rep.Tasks {
		if task.State == "restoring" {
			restoring++
			if len(task.Stores) != 1 || task.Stores[0].Store != "counts" || task.Stores[0].Changelog != "admin-counts-changelog" {
				t.Errorf("/tasks: restoring task %+v, want the counts store", task)
			} else {
				remaining += task.Stores[0].Remaining
			}
		}
	}
	if restoring != 2 || remaining <= 0 || rep.Ready || rep.Application != "admin" {
		t.Errorf("/tasks while restoring: %+v, want 2 tasks restoring, with records left", rep)
	}
	close(gate.release)
	produceKeys(t, c, []string{"zz"})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if _, err := c.Consume(ctx, "out", len(keys)+1); err != nil {
		t.Fatalf("consume: %v", err)
	}
	if code, body := get(t, base+"/readyz"); code != http.StatusOK {
		t.Errorf("/readyz once running: %d %q, want 200", code, body)
	}
	code, body = get(t, base+"/tasks")
	if err := json.Unmarshal([]byte(body), &rep); err != nil || code != http.StatusOK {
		t.Fatalf("/tasks: %d %q: %v", code, body, err)
	}
	if !rep.Ready || len(rep.Tasks) != 2 {
		t.Errorf("/tasks once running: %+v, want 2 running tasks", rep)
	}
	for _, task := range rep.Tasks {
		if task.State != "running" || len(task.Partitions) != 1 || task.Partitions[0].Topic != "in" || task.Stores[0].Remaining != 0 {
			t.Errorf("/tasks once running: task %+v", task)
		}
	}

	for format, prefix := range map[string]string{"": "Topologies:", "?format=text": "Topologies:", "?format=dot": "digraph", "?format=mermaid": "flowchart"} {
		if code, body := get(t, base+"/topology"+format); code != http.StatusOK || !strings.HasPrefix(body, prefix) {
			t.Errorf("/topology%s: %d %q, want it to begin with %q", format, code, body, prefix)
		}
	}
	if code, _ := get(t, base+"/topology?format=svg"); code != http.StatusBadRequest {
		t.Errorf("/topology?format=svg: %d, want 400", code)
	}

	code, body = get(t, base+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("/metrics does not parse as Prometheus text: %v\n%s", err, body)
	}
	processed := families["strata_records_processed_total"]
	if processed == nil {
		t.Fatalf("/metrics has no strata_records_processed_total; families: %d", len(families))
	}
	var sum float64
	for _, m := range processed.GetMetric() {
		sum += m.GetCounter().GetValue()
	}
	if sum != 1 {
		t.Errorf("strata_records_processed_total sums to %v, want the one record processed", sum)
	}
	for _, name := range []string{"strata_restore_records_total", "strata_consumer_lag", "strata_process_duration_seconds", "strata_tasks"} {
		if families[name] == nil {
			t.Errorf("/metrics has no %s", name)
		}
	}
	r.stopAndWait(t)
	if app.AdminAddr() != "" {
		t.Errorf("AdminAddr() = %q after Run", app.AdminAddr())
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Errorf("the admin endpoint still answers after Run returned")
	}
}

// TestAdminHandlerRoutes: the handler mounts Config.AdminRoutes, answers
// /readyz 503 before Run, and New rejects routes that clash with its own.
func TestAdminHandlerRoutes(t *testing.T) {
	cfg := strata.Config{ApplicationID: "routes", Brokers: []string{"127.0.0.1:1"}, StateDir: t.TempDir(),
		AdminRoutes: map[string]http.Handler{"GET /v1/stores/": http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprint(w, "stores")
		})}}
	app, err := strata.New(upper(t, "in", "out", nil), cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(app.AdminHandler())
	defer srv.Close()
	if code, body := get(t, srv.URL+"/v1/stores/counts"); code != http.StatusOK || body != "stores" {
		t.Errorf("/v1/stores/counts: %d %q", code, body)
	}
	if code, body := get(t, srv.URL+"/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "CREATED") {
		t.Errorf("/readyz before Run: %d %q", code, body)
	}
	for _, bad := range []map[string]http.Handler{
		{"GET /readyz": http.NotFoundHandler()},
		{"/metrics": http.NotFoundHandler()},
		{"GET /x": nil},
		{"BAD PATTERN WITH SPACES": http.NotFoundHandler()},
	} {
		cfg.AdminRoutes = bad
		if _, err := strata.New(upper(t, "in", "out", nil), cfg); !errors.Is(err, strata.ErrInvalidConfig) || !strings.Contains(err.Error(), "AdminRoutes") {
			t.Errorf("New with AdminRoutes %v: %v, want an ErrInvalidConfig naming AdminRoutes", bad, err)
		}
	}
}

// TestAdminServesDeadSet: an App whose bad-record policy dead-letters
// serves its dead set on the admin endpoint; an undecodable record shows in
// it.
func TestAdminServesDeadSet(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "nums"}, {Name: "nums-out"}}})
	cfg := testConfig(t, c, "admin-dead-set")
	cfg.OnBadRecord = topology.BadRecordDeadLetter
	b := topology.NewBuilder()
	kstream.From(b, "nums", serde.String(), serde.Int64()).To("nums-out")
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	app, err := strata.New(top, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Produce(context.Background(),
		&kgo.Record{Topic: "nums", Key: []byte("bad"), Value: []byte("not eight bytes")},
		&kgo.Record{Topic: "nums", Key: []byte("good"), Value: int64Bytes(7)}); err != nil {
		t.Fatal(err)
	}
	r := start(t, app)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if _, err := c.Consume(ctx, "nums-out", 1); err != nil {
		t.Fatalf("consume nums-out: %v", err)
	}
	r.stopAndWait(t) // the dead-lettered record is committed
	srv := httptest.NewServer(app.AdminHandler())
	defer srv.Close()
	code, body := get(t, srv.URL+"/v1/dead_set")
	if code != http.StatusOK {
		t.Fatalf("GET /v1/dead_set: %d %s", code, body)
	}
	var page struct {
		Records []json.RawMessage `json:"records"`
	}
	if err := json.Unmarshal([]byte(body), &page); err != nil {
		t.Fatalf("GET /v1/dead_set: %v: %s", err, body)
	}
	if len(page.Records) != 1 || !strings.Contains(string(page.Records[0]), "deserialization") {
		t.Errorf("GET /v1/dead_set answered %s, want the one undecodable record", body)
	}
}
