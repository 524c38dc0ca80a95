package query_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/query"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/window"
)

// serve answers one request of h, synchronously, and returns its status
// and decoded JSON body.
func serve(t *testing.T, h http.Handler, target string) (int, map[string]any) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("GET %s: %d, body %q is not JSON: %v", target, rec.Code, rec.Body, err)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("GET %s: content type %q", target, ct)
	}
	return rec.Code, body
}

// handlerDriver is a driver with a word count ("counts"), hopping windows
// ("hopping") and sessions ("sessions"), served over HTTP.
func handlerDriver(t *testing.T) (*testutil.Driver, http.Handler) {
	t.Helper()
	d := windowedDriver(t, func(g *ktable.GroupedStream[string, string]) {
		g.Count(ktable.Named("counts"))
		ktable.AggregateWindows(ktable.WindowedBy(g, window.Hopping(10*time.Millisecond, 5*time.Millisecond, 100*time.Millisecond)),
			func() string { return "0" }, stringAdder, ktable.Named("hopping"))
		ktable.SessionWindowedBy(g, window.Session(10*time.Millisecond, time.Hour)).Count(ktable.Named("sessions"))
	}, wrec{"a", "1", 0}, wrec{"b", "2", 1}, wrec{"a", "3", 7}, wrec{"c/d", "4", 12}, wrec{"a", "5", 30})
	h, err := query.NewHandler(d, query.HandlerConfig{Stores: []query.Route{
		query.ServeKeyValue[string, int64]("counts", query.StringKeys()),
		query.ServeWindow[string, string]("hopping", query.StringKeys()),
		query.ServeSession[string, int64]("sessions", query.StringKeys()),
	}})
	if err != nil {
		t.Fatal(err)
	}
	return d, h
}

func TestHandlerOnDriver(t *testing.T) {
	_, h := handlerDriver(t)
	for _, tc := range []struct {
		target string
		status int
		want   string // the body's JSON, re-encoded
	}{
		{"/stores/counts/get?key=a", 200, `{"key":"a","value":3}`},
		{"/stores/counts/get?key=c%2Fd", 200, `{"key":"c/d","value":1}`},
		{"/stores/counts/range", 200, `{"entries":[{"key":"a","value":3},{"key":"b","value":1},{"key":"c/d","value":1}]}`},
		{"/stores/counts/range?from=b&to=z&reverse=true", 200, `{"entries":[{"key":"c/d","value":1},{"key":"b","value":1}]}`},
		{"/stores/counts/range?prefix=c", 200, `{"entries":[{"key":"c/d","value":1}]}`},
		{"/stores/counts/range?limit=2", 200, `{"entries":[{"key":"a","value":3},{"key":"b","value":1}],"more":true}`},
		{"/stores/hopping/windows?key=a&from=0&to=5", 200, `{"entries":[{"end":"1970-01-01T00:00:00.01Z","key":"a","start":"1970-01-01T00:00:00Z","value":"0+1+3"},{"end":"1970-01-01T00:00:00.015Z","key":"a","start":"1970-01-01T00:00:00.005Z","value":"0+3"}]}`},
		{"/stores/hopping/windows?from=1970-01-01T00:00:00.010Z&to=10", 200, `{"entries":[{"end":"1970-01-01T00:00:00.02Z","key":"c/d","start":"1970-01-01T00:00:00.01Z","value":"0+4"}]}`},
		{"/stores/sessions/sessions?key=a", 200, `{"entries":[{"end":"1970-01-01T00:00:00.007Z","key":"a","start":"1970-01-01T00:00:00Z","value":2},{"end":"1970-01-01T00:00:00.03Z","key":"a","start":"1970-01-01T00:00:00.03Z","value":1}]}`},
		{"/stores/sessions/sessions?key=zz", 200, `{"entries":[]}`},
		{"/instances", 200, `{"instances":[{"active":{"counts":[0,1],"hopping":[0,1],"sessions":[0,1]},"id":"testutil","local":true,"standby":{}}]}`},
	} {
		status, body := serve(t, h, tc.target)
		got, _ := json.Marshal(body)
		if status != tc.status || string(got) != tc.want {
			t.Errorf("GET %s: %d %s\nwant %d %s", tc.target, status, got, tc.status, tc.want)
		}
	}
}

// TestHandlerBadRequests checks that malformed parameters are a 400 naming
// the parameter, and other mistakes their own codes.
func TestHandlerBadRequests(t *testing.T) {
	_, h := handlerDriver(t)
	for _, tc := range []struct {
		target    string
		status    int
		code      string
		parameter string
	}{
		{"/stores/counts/get", 400, "bad_parameter", "key"},
		{"/stores/counts/range?limit=0", 400, "bad_parameter", "limit"},
		{"/stores/counts/range?limit=x", 400, "bad_parameter", "limit"},
		{"/stores/counts/range?reverse=maybe", 400, "bad_parameter", "reverse"},
		{"/stores/counts/range?from=a&prefix=b", 400, "bad_parameter", "prefix"},
		{"/stores/hopping/windows?from=yesterday", 400, "bad_parameter", "from"},
		{"/stores/hopping/windows?key=a&to=10:00", 400, "bad_parameter", "to"},
		{"/stores/sessions/sessions?limit=-1", 400, "bad_parameter", "limit"},
		{"/stores/counts/get?key=nope", 404, "not_found", ""},
		{"/stores/nope/get?key=a", 404, "unknown_store", ""},
		{"/stores/counts/windows", 404, "unknown_operation", ""},
		{"/elsewhere", 404, "unknown_operation", ""},
	} {
		status, body := serve(t, h, tc.target)
		param, _ := body["parameter"].(string)
		if status != tc.status || body["code"] != tc.code || param != tc.parameter || body["retriable"] != false {
			t.Errorf("GET %s: %d %v; want %d, code %s, parameter %q", tc.target, status, body, tc.status, tc.code, tc.parameter)
		}
		if tc.parameter != "" && !strings.Contains(body["error"].(string), fmt.Sprintf("%q", tc.parameter)) {
			t.Errorf("GET %s: error %q does not name %q", tc.target, body["error"], tc.parameter)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/stores/counts/get?key=a", nil))
	if rec.Code != http.StatusMethodNotAllowed && rec.Code != http.StatusNotFound {
		t.Errorf("POST: %d", rec.Code)
	}
}

func TestNewHandlerErrors(t *testing.T) {
	d, _ := handlerDriver(t)
	for _, tc := range []struct {
		name  string
		route query.Route
		want  error
		text  string
	}{
		{"unknown store", query.ServeKeyValue[string, int64]("nope", query.StringKeys()), query.ErrUnknownStore, "nope"},
		{"wrong types", query.ServeKeyValue[int64, int64]("counts", query.Int64Keys()), query.ErrStoreType, "key int64"},
		{"wrong kind", query.ServeSession[string, string]("hopping", query.StringKeys()), query.ErrStoreType, "not a session store"},
		{"no key format", query.ServeKeyValue[string, int64]("counts", query.KeyFormat[string]{}), nil, "Format and Parse"},
		{"zero route", query.Route{}, nil, "not made by"},
	} {
		_, err := query.NewHandler(d, query.HandlerConfig{Stores: []query.Route{tc.route}})
		if err == nil || tc.want != nil && !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.text) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	r := query.ServeKeyValue[string, int64]("counts", query.StringKeys())
	if _, err := query.NewHandler(d, query.HandlerConfig{Stores: []query.Route{r, r}}); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("a store listed twice: %v", err)
	}
}

// TestClientOnDriver reads the stores through the typed HTTP client.
func TestClientOnDriver(t *testing.T) {
	_, h := handlerDriver(t)
	srv := httptest.NewServer(h)
	defer srv.Close()
	ctx := context.Background()
	c := query.NewClient(srv.URL, srv.Client())
	kv := query.NewKeyValueClient[string, int64](c, "counts", query.StringKeys())
	if v, ok, err := kv.Get(ctx, "a"); err != nil || !ok || v != 3 {
		t.Errorf("Get(a) = %d, %v, %v", v, ok, err)
	}
	if _, ok, err := kv.Get(ctx, "nope"); err != nil || ok {
		t.Errorf("Get(nope) = %v, %v", ok, err)
	}
	if all, err := kv.All(ctx); err != nil || fmt.Sprint(all) != "[{a 3} {b 1} {c/d 1}]" {
		t.Errorf("All = %v, %v", all, err)
	}
	if got, err := kv.Range(ctx, "b", "c/d"); err != nil || fmt.Sprint(got) != "[{b 1} {c/d 1}]" {
		t.Errorf("Range = %v, %v", got, err)
	}
	if got, err := kv.PrefixScan(ctx, "c"); err != nil || fmt.Sprint(got) != "[{c/d 1}]" {
		t.Errorf("PrefixScan = %v, %v", got, err)
	}
	wc := query.NewWindowClient[string, string](c, "hopping", query.StringKeys())
	ws, err := wc.FetchRange(ctx, "a", time.UnixMilli(0), time.UnixMilli(100))
	var got []string
	for _, w := range ws {
		got = append(got, showWindow(w.Key, w.Value))
	}
	if want := []string{"a@0/10=0+1+3", "a@5/15=0+3", "a@25/35=0+5", "a@30/40=0+5"}; err != nil || !slices.Equal(got, want) {
		t.Errorf("FetchRange(a) = %v, %v; want %v", got, err, want)
	}
	if all, err := wc.FetchAll(ctx, time.UnixMilli(10), time.UnixMilli(10)); err != nil || len(all) != 1 || all[0].Key.Key != "c/d" {
		t.Errorf("FetchAll(10, 10) = %v, %v", all, err)
	}
	sc := query.NewSessionClient[string, int64](c, "sessions", query.StringKeys())
	if ss, err := sc.Fetch(ctx, "b"); err != nil || len(ss) != 1 || ss[0].Value != 1 || !ss[0].Key.Window.Start.Equal(time.UnixMilli(1)) {
		t.Errorf("sessions of b = %v, %v", ss, err)
	}
	if ss, err := sc.All(ctx); err != nil || len(ss) != 4 {
		t.Errorf("all sessions = %v, %v", ss, err)
	}
	if in, err := c.Instances(ctx); err != nil || len(in) != 1 || !in[0].Local {
		t.Errorf("Instances = %+v, %v", in, err)
	}
	bad := query.NewKeyValueClient[string, int64](c, "nope", query.StringKeys())
	if _, _, err := bad.Get(ctx, "a"); !errors.Is(err, query.ErrUnknownStore) || query.Retriable(err) {
		t.Errorf("Get of an unknown store: %v", err)
	}
	srv.Close()
	if _, _, err := kv.Get(ctx, "a"); !errors.Is(err, query.ErrUnavailable) || !query.Retriable(err) {
		t.Errorf("Get from a stopped server: %v", err)
	}
}
