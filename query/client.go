package query

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/window"
)

// Client queries the HTTP handler (NewHandler) of any instance of an
// application; the instance forwards what it does not hold. Make typed
// clients of its stores with NewKeyValueClient, NewWindowClient and
// NewSessionClient. Errors wrap the sentinels of this package
// (ErrRebalancing, ErrUnavailable, ...) as the handler reports them: test
// them with Retriable.
type Client struct {
	base string
	hc   *http.Client
}

// NewClient returns a client of the handler at baseURL, such as
// "http://host:8080", sending requests with hc (nil: http.DefaultClient).
func NewClient(baseURL string, hc *http.Client) *Client {
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{base: strings.TrimSuffix(baseURL, "/"), hc: hc}
}

// get fetches path with query and decodes a 200's JSON body into out. A
// 404 of code not_found for a key is reported as found false.
func (c *Client) get(ctx context.Context, path string, query url.Values, out any) (found bool, err error) {
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return false, fmt.Errorf("query: %w", err)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return false, fmt.Errorf("query: GET %s: %v: %w", u, err, ErrUnavailable)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return false, fmt.Errorf("query: GET %s: read the answer: %v: %w", u, err, ErrUnavailable)
	}
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, out); err != nil {
			return false, fmt.Errorf("query: GET %s: decode the answer: %w", u, err)
		}
		return true, nil
	}
	var e errorBody
	if json.Unmarshal(body, &e) == nil && e.Code == "not_found" && resp.StatusCode == http.StatusNotFound && query.Has("key") {
		return false, nil
	}
	return false, fmt.Errorf("query: GET %s: %w", u, remoteError(c.base, resp.StatusCode, body))
}

// Instances returns the application's instances, as the instance asked
// knows them.
func (c *Client) Instances(ctx context.Context) ([]Instance, error) {
	var out struct {
		Instances []instanceJSON `json:"instances"`
	}
	if _, err := c.get(ctx, "/instances", nil, &out); err != nil {
		return nil, err
	}
	all := make([]Instance, len(out.Instances))
	for i, in := range out.Instances {
		all[i] = Instance(in)
	}
	return all, nil
}

// storeClient is what a typed client of one store holds.
type storeClient[K any] struct {
	c     *Client
	store string
	keys  KeyFormat[K]
}

// KeyValueClient queries a key-value store over HTTP (ServeKeyValue).
type KeyValueClient[K, V any] struct{ storeClient[K] }

// NewKeyValueClient returns a client of the key-value store called store,
// whose keys take the given format in URLs.
func NewKeyValueClient[K, V any](c *Client, store string, keys KeyFormat[K]) *KeyValueClient[K, V] {
	return &KeyValueClient[K, V]{storeClient[K]{c, store, keys}}
}

func storePath(store, op string) string { return "/stores/" + url.PathEscape(store) + "/" + op }

// Get returns the value of key, or ok false if the store holds none.
func (kc *KeyValueClient[K, V]) Get(ctx context.Context, key K) (value V, ok bool, err error) {
	var e Entry[K, V]
	ok, err = kc.c.get(ctx, storePath(kc.store, "get"), url.Values{"key": {kc.keys.Format(key)}}, &e)
	return e.Value, ok, err
}

// Range returns the entries from from to to, both inclusive, of every
// partition, in order of the keys' serialized bytes.
func (kc *KeyValueClient[K, V]) Range(ctx context.Context, from, to K) ([]state.KeyValue[K, V], error) {
	return kc.scan(ctx, url.Values{"from": {kc.keys.Format(from)}, "to": {kc.keys.Format(to)}})
}

// PrefixScan returns the entries whose serialized keys start with those of
// prefix.
func (kc *KeyValueClient[K, V]) PrefixScan(ctx context.Context, prefix K) ([]state.KeyValue[K, V], error) {
	return kc.scan(ctx, url.Values{"prefix": {kc.keys.Format(prefix)}})
}

// All returns every entry of the store.
func (kc *KeyValueClient[K, V]) All(ctx context.Context) ([]state.KeyValue[K, V], error) {
	return kc.scan(ctx, nil)
}

func (kc *KeyValueClient[K, V]) scan(ctx context.Context, q url.Values) ([]state.KeyValue[K, V], error) {
	var es entries[Entry[K, V]]
	if _, err := kc.c.get(ctx, storePath(kc.store, "range"), q, &es); err != nil {
		return nil, err
	}
	out := make([]state.KeyValue[K, V], len(es.Entries))
	for i, e := range es.Entries {
		out[i] = state.KeyValue[K, V]{Key: e.Key, Value: e.Value}
	}
	return out, nil
}

// WindowClient queries a window store over HTTP (ServeWindow).
type WindowClient[K, V any] struct{ storeClient[K] }

// NewWindowClient returns a client of the window store called store,
// whose keys take the given format in URLs.
func NewWindowClient[K, V any](c *Client, store string, keys KeyFormat[K]) *WindowClient[K, V] {
	return &WindowClient[K, V]{storeClient[K]{c, store, keys}}
}

// FetchRange returns the windows of key whose start is in [from, to].
func (wc *WindowClient[K, V]) FetchRange(ctx context.Context, key K, from, to time.Time) ([]state.KeyValue[window.Windowed[K], V], error) {
	q := timeRange(from, to)
	q.Set("key", wc.keys.Format(key))
	return windowedScan[K, V](ctx, wc.c, storePath(wc.store, "windows"), q)
}

// FetchAll returns the windows of every key whose start is in [from, to],
// by key, then start.
func (wc *WindowClient[K, V]) FetchAll(ctx context.Context, from, to time.Time) ([]state.KeyValue[window.Windowed[K], V], error) {
	return windowedScan[K, V](ctx, wc.c, storePath(wc.store, "windows"), timeRange(from, to))
}

func timeRange(from, to time.Time) url.Values {
	return url.Values{"from": {strconv.FormatInt(from.UnixMilli(), 10)}, "to": {strconv.FormatInt(to.UnixMilli(), 10)}}
}

// SessionClient queries a session store over HTTP (ServeSession).
type SessionClient[K, V any] struct{ storeClient[K] }

// NewSessionClient returns a client of the session store called store,
// whose keys take the given format in URLs.
func NewSessionClient[K, V any](c *Client, store string, keys KeyFormat[K]) *SessionClient[K, V] {
	return &SessionClient[K, V]{storeClient[K]{c, store, keys}}
}

// Fetch returns the sessions of key.
func (sc *SessionClient[K, V]) Fetch(ctx context.Context, key K) ([]state.KeyValue[window.Windowed[K], V], error) {
	return windowedScan[K, V](ctx, sc.c, storePath(sc.store, "sessions"), url.Values{"key": {sc.keys.Format(key)}})
}

// All returns every session of the store.
func (sc *SessionClient[K, V]) All(ctx context.Context) ([]state.KeyValue[window.Windowed[K], V], error) {
	return windowedScan[K, V](ctx, sc.c, storePath(sc.store, "sessions"), nil)
}

func windowedScan[K, V any](ctx context.Context, c *Client, path string, q url.Values) ([]state.KeyValue[window.Windowed[K], V], error) {
	var es entries[WindowedEntry[K, V]]
	if _, err := c.get(ctx, path, q, &es); err != nil {
		return nil, err
	}
	out := make([]state.KeyValue[window.Windowed[K], V], len(es.Entries))
	for i, e := range es.Entries {
		out[i] = state.KeyValue[window.Windowed[K], V]{Key: window.Windowed[K]{Key: e.Key, Window: window.Window{Start: e.Start, End: e.End}}, Value: e.Value}
	}
	return out, nil
}
