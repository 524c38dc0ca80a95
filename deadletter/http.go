package deadletter

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
)

// maxBody bounds a request's body.
const maxBody = 1 << 20

// Handler returns the dead set's HTTP API, to mount on the application's
// server (it serves the paths below as they are):
//
//	GET    /v1/dead_set         a page of the dead set (List)
//	POST   /v1/dead_set/replay  replay records (Replay)
//	DELETE /v1/dead_set         delete records (Delete)
//
// GET takes the parameters of ParseQuery in its query string and answers
// {"records": [...], "next": "<cursor>", "more": true|false}, each record
// as Record.MarshalJSON writes it. POST and DELETE take those of
// ParseSelection, in the query string or as the members of a JSON object
// in the body (strings, numbers or booleans), and answer the Result:
// {"count": n, "kept": k, "dry_run": false}.
//
// Errors are {"error": "..."} with status 400 for a request the dead set
// refuses (ErrInvalidRequest: a malformed, unknown or out-of-range
// parameter, a bad cursor, an unknown topic, a replay of records it cannot
// replay, malformed JSON), 404 for a record that is not in the dead set
// (ErrNotFound) or a dead-letter topic that does not exist, 409 for a
// change another one fenced (ErrConcurrentChange), and 500 otherwise (the
// brokers' failures). A request refused with 400 or 404 replayed and
// deleted nothing.
//
// The handler does no authentication or authorization: wrap it in the
// application's own, since POST and DELETE change the dead set.
func (s *DeadSet) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/dead_set", s.serveList)
	mux.HandleFunc("POST /v1/dead_set/replay", func(w http.ResponseWriter, r *http.Request) { s.serveChange(w, r, true) })
	mux.HandleFunc("DELETE /v1/dead_set", func(w http.ResponseWriter, r *http.Request) { s.serveChange(w, r, false) })
	return mux
}

func (s *DeadSet) serveList(w http.ResponseWriter, r *http.Request) {
	q, err := ParseQuery(r.URL.Query())
	if err != nil {
		writeError(w, err)
		return
	}
	page, err := s.List(r.Context(), q)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

func (s *DeadSet) serveChange(w http.ResponseWriter, r *http.Request, replay bool) {
	v, err := requestParams(w, r)
	if err != nil {
		writeError(w, err)
		return
	}
	sel, err := ParseSelection(v)
	if err != nil {
		writeError(w, err)
		return
	}
	var res Result
	if replay {
		res, err = s.Replay(r.Context(), sel)
	} else {
		res, err = s.Delete(r.Context(), sel)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// requestParams returns r's parameters: its query string's, and the
// members of the JSON object in its body, if any.
func requestParams(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	v := r.URL.Query()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("%w: body: %w", ErrInvalidRequest, err)
	}
	if len(body) == 0 {
		return v, nil
	}
	return v, jsonParams(body, v)
}

// jsonParams adds the members of the JSON object body to v, as text.
func jsonParams(body []byte, v url.Values) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return fmt.Errorf("%w: body: not a JSON object: %w", ErrInvalidRequest, err)
	}
	for k, raw := range m {
		var x any
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		if err := d.Decode(&x); err != nil {
			return fmt.Errorf("%w: body: %s: %w", ErrInvalidRequest, k, err)
		}
		switch x := x.(type) {
		case nil:
		case string:
			v.Add(k, x)
		case json.Number:
			v.Add(k, x.String())
		case bool:
			v.Add(k, strconv.FormatBool(x))
		default:
			return fmt.Errorf("%w: body: %s: want a string, number or boolean, got %s", ErrInvalidRequest, k, raw)
		}
	}
	return nil
}

// status returns the HTTP status of err, an error of the dead set.
func status(err error) int {
	switch {
	case errors.Is(err, ErrInvalidRequest):
		return http.StatusBadRequest
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrNoDeadSet):
		return http.StatusNotFound
	case errors.Is(err, ErrConcurrentChange):
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}

func writeError(w http.ResponseWriter, err error) {
	writeJSON(w, status(err), map[string]string{"error": err.Error()})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // the client went away
}
