package query

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// HandlerConfig configures NewHandler.
type HandlerConfig struct {
	// Stores are the stores the handler serves, made by ServeKeyValue,
	// ServeWindow and ServeSession.
	Stores []Route
	// Client forwards requests to other instances. Default: a client of
	// its own.
	Client *http.Client
	// Timeout bounds the handling of each request: the wait for the task
	// that holds a partition, and any request forwarded to another
	// instance. Default 10s.
	Timeout time.Duration
}

// forwardedHeader marks a request one instance forwarded to another: the
// one that receives it answers from its own state or fails, and never
// forwards it again. Its value is the forwarding instance's ID.
const forwardedHeader = "Strata-Forwarded-By"

// partitionsParam lists the partitions a forwarded scan reads.
const partitionsParam = "partitions"

const defaultHandlerTimeout = 10 * time.Second

// Route is a store the HTTP handler serves; make it with ServeKeyValue,
// ServeWindow or ServeSession.
type Route struct {
	store string
	bind  func(src Source) (route, error)
}

// route is a bound Route: it answers the requests for its store.
type route interface {
	serve(h *handler, w http.ResponseWriter, r *http.Request, op string)
}

// handler is the HTTP handler of NewHandler.
type handler struct {
	src     Source
	routes  map[string]route
	client  *http.Client
	timeout time.Duration
	mux     *http.ServeMux
}

// NewHandler returns an http.Handler that answers queries of src's stores
// over HTTP, as JSON: key lookups, ranges and windows, as listed in the
// package doc. A query for a key whose partition another instance runs is
// forwarded to that instance's Config.ApplicationServer, once (the request
// carries a header that stops the next instance from forwarding it again),
// within HandlerConfig.Timeout; a scan reads every partition of the store,
// this instance's and the others' (one request per other instance), and
// merges them in key order. Keys and values are decoded with the stores'
// serdes, then written with encoding/json.
//
// A store src does not have, or whose types are not those of its Route, is
// an error here, not at the first request.
func NewHandler(src Source, cfg HandlerConfig) (http.Handler, error) {
	h := &handler{src: src, routes: map[string]route{}, client: cfg.Client, timeout: cfg.Timeout, mux: http.NewServeMux()}
	if h.client == nil {
		h.client = &http.Client{}
	}
	if h.timeout <= 0 {
		h.timeout = defaultHandlerTimeout
	}
	for _, rt := range cfg.Stores {
		if rt.bind == nil {
			return nil, errors.New("query: NewHandler: a Route not made by ServeKeyValue, ServeWindow or ServeSession")
		}
		if _, dup := h.routes[rt.store]; dup {
			return nil, fmt.Errorf("query: NewHandler: store %q is listed twice", rt.store)
		}
		b, err := rt.bind(src)
		if err != nil {
			return nil, err
		}
		h.routes[rt.store] = b
	}
	h.mux.HandleFunc("GET /stores/{store}/{op}", h.store)
	h.mux.HandleFunc("GET /instances", h.instances)
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, errorBody{Error: fmt.Sprintf("no such endpoint: %s %s", r.Method, r.URL.Path), Code: "unknown_operation"})
	})
	return h, nil
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

func (h *handler) store(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("store")
	rt := h.routes[name]
	if rt == nil {
		var names []string
		for n := range h.routes {
			names = append(names, n)
		}
		slices.Sort(names)
		writeError(w, http.StatusNotFound, errorBody{Error: fmt.Sprintf("store %q is not served here (stores: %q)", name, names), Code: "unknown_store"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.timeout)
	defer cancel()
	rt.serve(h, w, r.WithContext(ctx), r.PathValue("op"))
}

// instanceJSON is an Instance as /instances returns it.
type instanceJSON struct {
	ID      string             `json:"id"`
	Server  string             `json:"server,omitempty"`
	Local   bool               `json:"local"`
	Active  map[string][]int32 `json:"active"`
	Standby map[string][]int32 `json:"standby"`
}

func (h *handler) instances(w http.ResponseWriter, r *http.Request) {
	all, err := Instances(h.src)
	if err != nil {
		writeQueryError(w, err)
		return
	}
	out := struct {
		Instances []instanceJSON `json:"instances"`
	}{Instances: []instanceJSON{}}
	for _, in := range all {
		out.Instances = append(out.Instances, instanceJSON(in))
	}
	writeJSON(w, http.StatusOK, out)
}

// badParameter writes a 400 naming the parameter.
func badParameter(w http.ResponseWriter, param string, err error) {
	writeError(w, http.StatusBadRequest, errorBody{Error: fmt.Sprintf("parameter %q: %v", param, err), Code: "bad_parameter", Parameter: param})
}

// writeQueryError writes the response of a query's error.
func writeQueryError(w http.ResponseWriter, err error) {
	body := errorBody{Error: err.Error(), Retriable: Retriable(err)}
	status := http.StatusServiceUnavailable
	switch {
	case errors.Is(err, ErrUnknownStore):
		status, body.Code = http.StatusNotFound, "unknown_store"
	case errors.Is(err, ErrNotLocal):
		body.Code = "not_local"
	case errors.Is(err, ErrRebalancing):
		body.Code = "rebalancing"
	case errors.Is(err, ErrNotRunning):
		body.Code = "not_running"
	case errors.Is(err, ErrUnavailable), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		body.Code, body.Retriable = "unavailable", true
	default:
		status, body.Code = http.StatusInternalServerError, "internal"
	}
	writeError(w, status, body)
}

func writeError(w http.ResponseWriter, status int, body errorBody) {
	if body.Retriable {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(errorBody{Error: fmt.Sprintf("encode the response as JSON: %v", err), Code: "internal"})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// forwarded reports whether the request was forwarded by another instance.
func forwarded(r *http.Request) bool { return r.Header.Get(forwardedHeader) != "" }

// forward sends r to the instance at server, with query as its query
// string, and returns the response's status and body. An instance that
// cannot be reached, or does not answer in time, is ErrUnavailable.
func (h *handler) forward(r *http.Request, server string, query url.Values) (int, []byte, error) {
	u := url.URL{Scheme: "http", Host: server, Path: r.URL.Path, RawQuery: query.Encode()}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, u.String(), nil)
	if err != nil {
		return 0, nil, fmt.Errorf("forward to %s: %w", server, err)
	}
	self := "?"
	if all, err := Instances(h.src); err == nil {
		for _, in := range all {
			if in.Local {
				self = in.ID
			}
		}
	}
	req.Header.Set(forwardedHeader, self)
	resp, err := h.client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("forward to %s: %v: %w", server, err, ErrUnavailable)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, fmt.Errorf("forward to %s: read the answer: %v: %w", server, err, ErrUnavailable)
	}
	return resp.StatusCode, body, nil
}

// relay writes a forwarded request's answer.
func relay(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
}

// keyRoute routes a query for one key: answered here when this instance
// holds the key's partition, else forwarded to the instance that runs it,
// unless the request was forwarded already.
func (h *handler) keyRoute(w http.ResponseWriter, r *http.Request, md func() (KeyMetadata, error), local func() error) {
	err := local()
	if err == nil {
		return
	}
	if !errors.Is(err, ErrNotLocal) || forwarded(r) {
		writeQueryError(w, err)
		return
	}
	m, merr := md()
	switch {
	case merr != nil:
		writeQueryError(w, merr)
	case m.Active == nil:
		writeQueryError(w, fmt.Errorf("partition %d: no instance runs it now: %w", m.Partition, ErrRebalancing))
	case m.Active.Local:
		writeQueryError(w, err) // the map is behind this instance's tasks
	case m.Active.Server == "":
		writeQueryError(w, fmt.Errorf("partition %d: instance %q runs it but advertises no ApplicationServer: %w", m.Partition, m.Active.ID, err))
	default:
		status, body, ferr := h.forward(r, m.Active.Server, r.URL.Query())
		if ferr != nil {
			writeQueryError(w, ferr)
			return
		}
		relay(w, status, body)
	}
}

// scanPlan says where a scan reads each partition of a store: here, or at
// other instances' servers.
type scanPlan struct {
	local  []int32
	remote map[string][]int32 // by server
}

// planScan assigns every partition of the store of h to the instance that
// runs it. A forwarded request reads the partitions it lists, here.
func planScan(r *http.Request, h *handle) (scanPlan, string, error) {
	if forwarded(r) {
		var parts []int32
		for _, s := range strings.Split(r.URL.Query().Get(partitionsParam), ",") {
			p, err := strconv.ParseInt(s, 10, 32)
			if err != nil || p < 0 {
				return scanPlan{}, partitionsParam, fmt.Errorf("%q is not a list of partitions", r.URL.Query().Get(partitionsParam))
			}
			parts = append(parts, int32(p))
		}
		return scanPlan{local: parts}, "", nil
	}
	n := 1
	if !h.global {
		var err error
		if n, err = h.partitions(); err != nil {
			return scanPlan{}, "", err
		}
	}
	all, err := instances(h.src)
	if err != nil {
		return scanPlan{}, "", err
	}
	plan := scanPlan{remote: map[string][]int32{}}
	for p := range int32(n) {
		var owner *Instance
		for i := range all {
			if slices.Contains(all[i].Active[h.name], p) && (owner == nil || all[i].Local) {
				owner = &all[i]
			}
		}
		switch {
		case owner == nil:
			return scanPlan{}, "", fmt.Errorf("store %q partition %d: no instance runs it now: %w", h.name, p, ErrRebalancing)
		case owner.Local:
			plan.local = append(plan.local, p)
		case owner.Server == "":
			return scanPlan{}, "", fmt.Errorf("store %q partition %d: instance %q runs it but advertises no ApplicationServer: %w", h.name, p, owner.ID, ErrNotLocal)
		default:
			plan.remote[owner.Server] = append(plan.remote[owner.Server], p)
		}
	}
	return plan, "", nil
}

// gather reads a scan's entries: the local partitions with local, the
// others from their instances, as JSON entries with keys of type K; limit
// bounds what each source returns (0: no bound). It reports whether any
// source stopped at the limit.
func gather[K any](h *handler, r *http.Request, plan scanPlan, limit int, local func(parts []int32) ([]rawEntry[K], bool, error)) ([]rawEntry[K], bool, error) {
	var out []rawEntry[K]
	more := false
	if len(plan.local) > 0 {
		es, m, err := local(plan.local)
		if err != nil {
			return nil, false, err
		}
		out, more = append(out, es...), m
	}
	for server, parts := range plan.remote {
		q := r.URL.Query()
		ps := make([]string, len(parts))
		for i, p := range parts {
			ps[i] = strconv.Itoa(int(p))
		}
		q.Set(partitionsParam, strings.Join(ps, ","))
		status, body, err := h.forward(r, server, q)
		if err != nil {
			return nil, false, err
		}
		if status != http.StatusOK {
			return nil, false, remoteError(server, status, body)
		}
		var es entries[rawEntry[K]]
		if err := json.NewDecoder(bytes.NewReader(body)).Decode(&es); err != nil {
			return nil, false, fmt.Errorf("the answer of %s: %v: %w", server, err, ErrUnavailable)
		}
		out, more = append(out, es.Entries...), more || es.More
	}
	return out, more, nil
}

// remoteError turns another instance's error response into an error
// wrapping the sentinel its code names.
func remoteError(server string, status int, body []byte) error {
	var e errorBody
	if err := json.Unmarshal(body, &e); err != nil || e.Code == "" {
		return fmt.Errorf("%s answered %d: %s: %w", server, status, bytes.TrimSpace(body), ErrUnavailable)
	}
	return fmt.Errorf("%s: %s: %w", server, e.Error, codeError(e.Code))
}

// codeError is the sentinel error an error code stands for.
func codeError(code string) error {
	switch code {
	case "unknown_store":
		return ErrUnknownStore
	case "not_local":
		return ErrNotLocal
	case "rebalancing":
		return ErrRebalancing
	case "not_running":
		return ErrNotRunning
	case "unavailable":
		return ErrUnavailable
	}
	return errHTTP
}

// errHTTP is wrapped by errors of the HTTP API that no sentinel stands for.
var errHTTP = errors.New("query: request failed")

// limitParam reads the limit parameter: 0 when absent.
func limitParam(r *http.Request) (int, error) {
	s := r.URL.Query().Get("limit")
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%q is not a positive number", s)
	}
	return n, nil
}
