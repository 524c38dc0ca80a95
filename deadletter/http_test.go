package deadletter_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/strata-go/strata/deadletter"
)

// call sends method path with body to srv and returns the status and the
// decoded JSON answer.
func call(t *testing.T, srv *httptest.Server, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
	return resp.StatusCode, m
}

func TestHTTPList(t *testing.T) {
	c := deadSetCluster(t)
	d := dead(0, 40, "", "pay")
	d.Key, d.Value = []byte{0xff, 0x00}, nil
	writeTxn(t, c, true, deadletter.Encode("dlq", 2, d))
	srv := httptest.NewServer(openDeadSet(t, c).Handler())
	defer srv.Close()

	status, page := call(t, srv, "GET", "/v1/dead_set?count=2&handler=pay", "")
	if status != 200 {
		t.Fatalf("GET = %d %v", status, page)
	}
	recs := page["records"].([]any)
	if len(recs) != 2 || page["more"] != true {
		t.Fatalf("first page: %v", page)
	}
	a := recs[0].(map[string]any)
	src := a["source"].(map[string]any)
	if a["key"] != "a" || a["value"] != "v3" || a["handler"] != "pay" || a["attempts"] != 3.0 || a["version"] != 2.0 ||
		a["partition"] != 0.0 || src["topic"] != "in" || src["partition"] != 0.0 || src["offset"] != 3.0 ||
		a["timestamp"] != "1970-01-01T00:00:01.003Z" || a["reason"] != deadletter.ReasonRetriesExhausted {
		t.Errorf("a in JSON: %v", a)
	}
	if h := a["headers"].([]any)[0].(map[string]any); h["key"] != "trace" || h["value"] != "a" {
		t.Errorf("a's header in JSON: %v", h)
	}
	// dlq[0] holds a, d (mail's) and the binary one, dlq[1] b.
	bin := recs[1].(map[string]any)
	if _, ok := bin["key"]; ok || bin["key_base64"] != "/wA=" || bin["value"] != nil {
		t.Errorf("a binary key and a null value in JSON: %v", bin)
	}
	if v, ok := bin["value"]; !ok || v != nil {
		t.Errorf("a null value is %v (present %v), want null", v, ok)
	}
	raw, err := json.Marshal(bin)
	if err != nil {
		t.Fatal(err)
	}
	var back deadletter.Record
	if err := json.Unmarshal(raw, &back); err != nil || string(back.Key) != "\xff\x00" || back.Value != nil || back.Handler != "pay" {
		t.Errorf("Record.UnmarshalJSON = %+v, %v", back, err)
	}
	status, page = call(t, srv, "GET", "/v1/dead_set?count=2&handler=pay&after="+page["next"].(string), "")
	if status != 200 {
		t.Fatalf("GET next = %d %v", status, page)
	}
	if recs = page["records"].([]any); len(recs) != 1 || recs[0].(map[string]any)["key"] != "b" || page["more"] != false {
		t.Fatalf("second page: %v", page)
	}
}

// TestHTTPRefusesBadInput sends the API bad requests: each gets a clear
// error, and nothing is replayed or deleted.
func TestHTTPRefusesBadInput(t *testing.T) {
	c := deadSetCluster(t)
	ds := openDeadSet(t, c)
	srv := httptest.NewServer(ds.Handler())
	defer srv.Close()
	before := keys(listAll(t, ds, deadletter.Query{}))
	retryEnds := endOffsets(t, c, "app-pay-retry") + endOffsets(t, c, "app-mail-retry")

	for _, tc := range []struct {
		method, path, body string
		status             int
		mentions           string
	}{
		{"GET", "/v1/dead_set?count=-1", "", 400, "count: -1 is not between 1 and 10000"},
		{"GET", "/v1/dead_set?count=ten", "", 400, `count: "ten" is not an integer`},
		{"GET", "/v1/dead_set?count=1&count=2", "", 400, "count: given 2 times"},
		{"GET", "/v1/dead_set?after=garbage", "", 400, "after: bad cursor"},
		{"GET", "/v1/dead_set?topic=no-such-topic", "", 400, `topic: unknown topic "no-such-topic"`},
		{"GET", "/v1/dead_set?since=yesterday", "", 400, "since:"},
		{"GET", "/v1/dead_set?key=a&key_base64=YQ==", "", 400, "key and key_base64"},
		{"GET", "/v1/dead_set?colour=red", "", 400, `colour: unknown parameter`},
		{"POST", "/v1/dead_set/replay", `{"handler": "pay"`, 400, "body: not a JSON object"},
		{"POST", "/v1/dead_set/replay", `["pay"]`, 400, "body: not a JSON object"},
		{"POST", "/v1/dead_set/replay", `{"handler": ["pay"]}`, 400, "handler: want a string, number or boolean"},
		{"POST", "/v1/dead_set/replay", `{}`, 400, "say which records"},
		{"POST", "/v1/dead_set/replay", `{"count": -3}`, 400, "count: -3 is not between"},
		{"POST", "/v1/dead_set/replay", `{"partition": 0, "offset": 999}`, 404, "no such record"},
		{"POST", "/v1/dead_set/replay", `{"partition": 0}`, 400, "partition and offset: give both"},
		{"POST", "/v1/dead_set/replay", `{"topic": "no-such-topic"}`, 400, "unknown topic"},
		{"POST", "/v1/dead_set/replay", `{"before": "AAAA"}`, 400, "before: bad cursor"},
		{"POST", "/v1/dead_set/replay", `{"all": true}`, 400, "name no outcome handler"},
		{"POST", "/v1/dead_set/replay", `{"all": "yes please"}`, 400, `all: "yes please" is not true or false`},
		{"POST", "/v1/dead_set/replay?handler=pay", `{"handler": "mail"}`, 400, "handler: given 2 times"},
		{"DELETE", "/v1/dead_set", "", 400, "say which records"},
		{"DELETE", "/v1/dead_set?partition=0&offset=-1", "", 400, "offset: -1 is not between"},
		{"DELETE", "/v1/dead_set?partition=5&offset=0", "", 404, "no such record"},
		{"DELETE", "/v1/dead_set?all=true&to_source=true", "", 400, "to_source: only a replay"},
		{"DELETE", "/v1/dead_set?topic=no-such-topic", "", 400, "unknown topic"},
		{"PUT", "/v1/dead_set", "", 405, ""},
	} {
		status, m := call(t, srv, tc.method, tc.path, tc.body)
		msg, _ := m["error"].(string)
		if status != tc.status || !strings.Contains(msg, tc.mentions) {
			t.Errorf("%s %s %s = %d %q; want %d mentioning %q", tc.method, tc.path, tc.body, status, msg, tc.status, tc.mentions)
		}
	}
	if got := keys(listAll(t, ds, deadletter.Query{})); got != before {
		t.Errorf("after the bad requests the dead set is %q, want %q", got, before)
	}
	if n := endOffsets(t, c, "app-pay-retry") + endOffsets(t, c, "app-mail-retry") + endOffsets(t, c, "in"); n != retryEnds {
		t.Errorf("the retry and source topics' end offsets moved from %d to %d", retryEnds, n)
	}
}

func TestHTTPReplayAndDelete(t *testing.T) {
	c := deadSetCluster(t)
	ds := openDeadSet(t, c)
	// Mounted as an application mounts it, beside its own routes.
	mux := http.NewServeMux()
	mux.Handle("/v1/dead_set", ds.Handler())
	mux.Handle("/v1/dead_set/", ds.Handler())
	mux.HandleFunc("/healthz", func(http.ResponseWriter, *http.Request) {})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	if status, m := call(t, srv, "POST", "/v1/dead_set/replay", `{"handler": "pay", "dry_run": true}`); status != 200 || m["count"] != 2.0 || m["dry_run"] != true {
		t.Errorf("dry run = %d %v", status, m)
	}
	if status, m := call(t, srv, "POST", "/v1/dead_set/replay", `{"handler": "pay"}`); status != 200 || m["count"] != 2.0 {
		t.Errorf("replay = %d %v", status, m)
	}
	if n := len(readCommitted(t, c, "app-pay-retry")); n != 2 {
		t.Errorf("app-pay-retry holds %d records, want 2", n)
	}
	_, page := call(t, srv, "GET", "/v1/dead_set?key=d", "")
	d := page["records"].([]any)[0].(map[string]any)
	body := fmt.Sprintf(`{"partition": 0, "offset": %v}`, d["offset"])
	if status, m := call(t, srv, "POST", "/v1/dead_set/replay", body); status != 200 || m["count"] != 1.0 {
		t.Errorf("replay of d = %d %v", status, m)
	}
	if status, m := call(t, srv, "DELETE", "/v1/dead_set?reason=processing", ""); status != 200 || m["count"] != 1.0 {
		t.Errorf("delete = %d %v", status, m)
	}
	if _, page := call(t, srv, "GET", "/v1/dead_set", ""); len(page["records"].([]any)) != 0 {
		t.Errorf("dead set after replays and delete: %v", page)
	}
}
