package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// deadSetAPI is a client of the dead set's HTTP API (package deadletter's
// DeadSet.Handler, which an application mounts on its own server), as an
// operator's tool would use it.
type deadSetAPI struct {
	url    string // the server's base URL
	client *http.Client
}

// replay sends the dead-set records of handler back through the handler's
// retry flow: POST /v1/dead_set/replay {"handler": handler}. The dead set
// writes each to the handler's retry topic with attempt 0 (the policy's
// full budget again) and due now, with its original key, value, timestamp,
// headers and coordinates, and deletes it from the dead set. Only this
// application reads its retry topic, so no other consumer of the bookings
// topic sees the records again. It returns how many were replayed.
func (a deadSetAPI) replay(ctx context.Context, handler string) (int, error) {
	body, err := json.Marshal(map[string]string{"handler": handler})
	if err != nil {
		return 0, err
	}
	var res struct {
		Count int `json:"count"`
	}
	if err := a.do(ctx, http.MethodPost, "/v1/dead_set/replay", strings.NewReader(string(body)), &res); err != nil {
		return 0, fmt.Errorf("replay: %w", err)
	}
	return res.Count, nil
}

// size returns how many records of handler the dead set holds (at most
// 1000): GET /v1/dead_set?handler=...&count=1000.
func (a deadSetAPI) size(ctx context.Context, handler string) (int, error) {
	var page struct {
		Records []json.RawMessage `json:"records"`
	}
	q := url.Values{"handler": {handler}, "count": {"1000"}}
	if err := a.do(ctx, http.MethodGet, "/v1/dead_set?"+q.Encode(), nil, &page); err != nil {
		return 0, fmt.Errorf("list the dead set: %w", err)
	}
	return len(page.Records), nil
}

// do sends a request to the API and decodes its JSON answer into out.
func (a deadSetAPI) do(ctx context.Context, method, path string, body io.Reader, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, a.url+path, body)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(b)))
	}
	return json.Unmarshal(b, out)
}
