package strata

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// The admin endpoint: an HTTP handler an orchestrator and an operator use to
// see how an instance is doing (App.AdminHandler, served by Run on
// Config.AdminAddr).

// Admin endpoint routes.
const (
	routeHealth   = "/healthz"
	routeReady    = "/readyz"
	routeMetrics  = "/metrics"
	routeTopology = "/topology"
	routeTasks    = "/tasks"
)

var adminRoutes = []string{routeHealth, routeReady, routeMetrics, routeTopology, routeTasks}

// AdminHandler returns the App's admin endpoint, to mount on a server of
// your own (Config.AdminAddr serves it on one of the App's). It answers
//
//   - GET /healthz: 200 while the process is alive, for a liveness probe;
//   - GET /readyz: 200 while the App is running, every worker assigned and
//     every task it runs restored and processing, and 503, saying why,
//     before, while a worker rebalances or restores state, and once Run is
//     stopping: a readiness probe;
//   - GET /metrics: the App's metrics in Prometheus' text format, from the
//     MeterProvider the App made when Config.AdminAddr is set and
//     Config.MeterProvider is not, else from prometheus.DefaultGatherer
//     (where OpenTelemetry's Prometheus exporter registers by default);
//   - GET /topology: the topology as Kafka Streams describes it, or with
//     ?format=dot or ?format=mermaid as a Graphviz or Mermaid graph;
//   - GET /tasks: this instance's tasks as JSON: each with its worker and
//     state (restoring, running, standby), its input partitions with their
//     positions, ends and lags, and its stores' restoration progress (for
//     a standby, how far it is behind the changelog);
//
// and, when a policy writes to the dead-letter topic (topology.BadRecordDeadLetter),
// the dead set's HTTP API at /v1/dead_set (App.DeadSet), unless
// Config.AdminRoutes mounts it; and Config.AdminRoutes, such as the query
// package's handler.
func (a *App) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+routeHealth, func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET "+routeReady, func(w http.ResponseWriter, _ *http.Request) {
		if why := a.notReady(); why != "" {
			http.Error(w, "not ready: "+why, http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	gatherer := a.cfg.metricsGatherer
	if gatherer == nil {
		gatherer = prometheus.DefaultGatherer
	}
	mux.Handle("GET "+routeMetrics, promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET "+routeTopology, a.serveTopology)
	mux.HandleFunc("GET "+routeTasks, a.serveTasks)
	for pattern, h := range a.cfg.AdminRoutes {
		mux.Handle(pattern, h)
	}
	a.mountDeadSet(mux)
	return mux
}

// deadSetPath is where the dead set's HTTP API lives (deadletter.DeadSet's
// Handler).
const deadSetPath = "/v1/dead_set"

// mountDeadSet mounts the dead set's HTTP API (App.DeadSet) on mux when a
// policy of the App writes to its dead-letter topic and Config.AdminRoutes
// does not mount it already.
func (a *App) mountDeadSet(mux *http.ServeMux) {
	if !a.cfg.deadLetters() {
		return
	}
	for pattern := range a.cfg.AdminRoutes {
		if strings.Contains(pattern, deadSetPath) {
			return
		}
	}
	ds, err := a.DeadSet()
	if err != nil {
		a.cfg.Logger.Warn("admin endpoint: the dead set is not served", "application", a.cfg.ApplicationID, "err", err)
		return
	}
	h := ds.Handler()
	mux.Handle(deadSetPath, h)
	mux.Handle(deadSetPath+"/", h)
}

// AdminAddr returns the address the admin endpoint listens on while Run
// runs with Config.AdminAddr set ("" otherwise): with port 0 in
// Config.AdminAddr, the port picked.
func (a *App) AdminAddr() string {
	if p := a.adminAddr.Load(); p != nil {
		return *p
	}
	return ""
}

// notReady says why the App is not ready, "" when it is: ready is the
// State Running (every worker assigned, every active task restored and
// processing). The reason names a worker rebalancing or restoring when
// one is.
func (a *App) notReady() string {
	state := a.State()
	if state == Running {
		return ""
	}
	if workers := a.liveWorkers.Load(); workers != nil {
		for _, r := range *workers {
			if r.stats.inRebalance() {
				return fmt.Sprintf("%s: worker %d is rebalancing", state, r.index)
			}
			if n := r.restoringCount.Load(); n > 0 {
				return fmt.Sprintf("%s: worker %d is restoring the state of %d tasks", state, r.index, n)
			}
		}
	}
	return state.String()
}

// serveAdmin serves the admin endpoint on Config.AdminAddr, if set, until
// the returned function is called.
func (a *App) serveAdmin() (stop func(), err error) {
	if a.cfg.AdminAddr == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", a.cfg.AdminAddr)
	if err != nil {
		return nil, fmt.Errorf("strata: admin endpoint: listen on %q: %w", a.cfg.AdminAddr, err)
	}
	addr := ln.Addr().String()
	a.adminAddr.Store(&addr)
	srv := &http.Server{Handler: a.AdminHandler(), ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.cfg.Logger.Error("admin endpoint stopped", "application", a.cfg.ApplicationID, "addr", addr, "err", err)
		}
	}()
	a.cfg.Logger.Info("serving the admin endpoint", "application", a.cfg.ApplicationID, "addr", addr)
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			srv.Close()
		}
		<-done
		a.adminAddr.Store(nil)
	}, nil
}

func (a *App) serveTopology(w http.ResponseWriter, req *http.Request) {
	d := a.userTop.Describe()
	var text string
	switch f := req.URL.Query().Get("format"); f {
	case "", "text":
		text = d.String()
	case "dot":
		text = d.DOT()
	case "mermaid":
		text = d.Mermaid()
	default:
		http.Error(w, fmt.Sprintf("format %q is not one of text, dot, mermaid", f), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprint(w, text)
}

// TasksReport is what the admin endpoint's /tasks serves, as JSON.
type TasksReport struct {
	Application string `json:"application"`
	Instance    string `json:"instance"`
	// Ready is what /readyz says; NotReady why not.
	Ready    bool         `json:"ready"`
	NotReady string       `json:"not_ready,omitempty"`
	Tasks    []TaskReport `json:"tasks"`
}

// TaskReport is one task of the instance.
type TaskReport struct {
	// Task is the task's ID, "<sub-topology>_<partition>".
	Task   string `json:"task"`
	Worker int    `json:"worker"`
	// State is "restoring", "running" or "standby".
	State      string            `json:"state"`
	Partitions []PartitionReport `json:"partitions,omitempty"`
	Stores     []StoreReport     `json:"stores,omitempty"`
}

// PartitionReport is one input partition of an active task.
type PartitionReport struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	// Position is the offset of the task's first record not processed,
	// End the partition's last stable offset as last fetched, Lag the
	// records between them; -1 while unknown.
	Position int64 `json:"position"`
	End      int64 `json:"end"`
	Lag      int64 `json:"lag"`
}

// StoreReport is a store's restoration progress.
type StoreReport struct {
	Store     string `json:"store"`
	Changelog string `json:"changelog"`
	// Remaining is how many changelog offsets the store still has to
	// restore (0 once restored), or, for a standby task, how far its
	// replica is behind the changelog's end as last fetched; -1 while
	// unknown.
	Remaining int64 `json:"remaining"`
}

// Tasks returns what the admin endpoint's /tasks reports: this instance's
// tasks, their state, partitions, lags and restoration progress.
func (a *App) Tasks() TasksReport {
	why := a.notReady()
	rep := TasksReport{Application: a.cfg.ApplicationID, Instance: a.cfg.InstanceID, Ready: why == "", NotReady: why, Tasks: []TaskReport{}}
	tel := a.tel
	tel.mu.Lock()
	stats := make([]*taskStats, 0, len(tel.tasks))
	for _, ts := range tel.tasks {
		stats = append(stats, ts)
	}
	tel.mu.Unlock()
	for _, ts := range stats {
		ts.mu.Lock()
		if ts.worker < 0 {
			ts.mu.Unlock()
			continue
		}
		tr := TaskReport{Task: ts.id.String(), Worker: ts.worker, State: ts.state.String()}
		if ts.state != taskStandby {
			for _, p := range ts.parts {
				pr := PartitionReport{Topic: p.topic, Partition: p.partition, Position: p.position.Load(), End: p.end.Load(), Lag: -1}
				if pr.Position >= 0 && pr.End >= 0 {
					pr.Lag = max(pr.End-pr.Position, 0)
				}
				tr.Partitions = append(tr.Partitions, pr)
			}
		}
		for _, s := range ts.stores {
			tr.Stores = append(tr.Stores, StoreReport{Store: s.store, Changelog: s.changelog, Remaining: s.remaining.Load()})
		}
		ts.mu.Unlock()
		rep.Tasks = append(rep.Tasks, tr)
	}
	slices.SortFunc(rep.Tasks, func(x, y TaskReport) int {
		return cmp.Or(cmp.Compare(x.State, y.State), compareTaskNames(x.Task, y.Task))
	})
	return rep
}

// compareTaskNames orders task IDs by sub-topology, then partition.
func compareTaskNames(x, y string) int {
	tx, okx := parseTaskDir(x)
	ty, oky := parseTaskDir(y)
	if !okx || !oky {
		return cmp.Compare(x, y)
	}
	return compareTaskIDs(tx, ty)
}

func (a *App) serveTasks(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(a.Tasks()); err != nil {
		a.cfg.Logger.Warn("admin endpoint: write /tasks", "err", err)
	}
}

// prometheusMeterProvider makes a MeterProvider whose metrics OpenTelemetry's
// Prometheus exporter gathers in a registry of its own.
func prometheusMeterProvider() (*sdkmetric.MeterProvider, *prometheus.Registry, error) {
	reg := prometheus.NewRegistry()
	exp, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, nil, fmt.Errorf("create the Prometheus exporter: %w", err)
	}
	return sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp)), reg, nil
}

// checkAdminRoutes checks that routes can be added to the admin endpoint:
// their patterns are valid and none conflicts with the endpoint's own.
func checkAdminRoutes(routes map[string]http.Handler) (err error) {
	if len(routes) == 0 {
		return nil
	}
	mux := http.NewServeMux()
	for _, r := range adminRoutes {
		mux.Handle("GET "+r, http.NotFoundHandler())
	}
	var pattern string
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("pattern %q: %v", pattern, v)
		}
	}()
	for _, p := range slices.Sorted(maps.Keys(routes)) {
		pattern = p
		if routes[p] == nil {
			return fmt.Errorf("pattern %q has a nil handler", p)
		}
		// The path, after any method and host.
		path := p[strings.LastIndexByte(p, ' ')+1:]
		if i := strings.IndexByte(path, '/'); i > 0 {
			path = path[i:]
		}
		if slices.Contains(adminRoutes, path) {
			return fmt.Errorf("pattern %q: %s is the admin endpoint's own", p, path)
		}
		mux.Handle(p, routes[p])
	}
	return nil
}
