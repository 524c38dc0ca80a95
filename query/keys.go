package query

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// KeyFormat converts a store's keys to and from the text they take in
// URLs, for the HTTP handler and client. In responses, keys are JSON, as
// encoding/json marshals them.
type KeyFormat[K any] struct {
	// Format returns the text of a key.
	Format func(K) string
	// Parse returns the key of a text, or an error saying why it is not
	// one.
	Parse func(string) (K, error)
}

// StringKeys is the format of string keys: the string itself.
func StringKeys() KeyFormat[string] {
	return KeyFormat[string]{
		Format: func(k string) string { return k },
		Parse:  func(s string) (string, error) { return s, nil },
	}
}

// Int64Keys is the format of int64 keys: decimal.
func Int64Keys() KeyFormat[int64] {
	return KeyFormat[int64]{
		Format: func(k int64) string { return strconv.FormatInt(k, 10) },
		Parse:  func(s string) (int64, error) { return strconv.ParseInt(s, 10, 64) },
	}
}

func (f KeyFormat[K]) check(store string) error {
	if f.Format == nil || f.Parse == nil {
		return fmt.Errorf("query: store %q: a KeyFormat needs Format and Parse", store)
	}
	return nil
}

// Entry is a key-value store's entry as the HTTP handler returns it.
type Entry[K, V any] struct {
	Key   K `json:"key"`
	Value V `json:"value"`
}

// WindowedEntry is a window's or a session's entry as the HTTP handler
// returns it: the key, the window's start and end, and the value.
type WindowedEntry[K, V any] struct {
	Key   K         `json:"key"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	Value V         `json:"value"`
}

// entries is the body of a scan's response.
type entries[E any] struct {
	Entries []E `json:"entries"`
	// More reports that the scan stopped at its limit.
	More bool `json:"more,omitempty"`
}

// errorBody is the body of an error response.
type errorBody struct {
	Error string `json:"error"`
	// Code classifies the error: bad_parameter, unknown_store,
	// unknown_operation, not_found (no value for the key), not_local,
	// rebalancing, not_running, unavailable, internal.
	Code string `json:"code"`
	// Retriable reports that the same request may succeed shortly.
	Retriable bool `json:"retriable"`
	// Parameter names the malformed parameter of a bad_parameter error.
	Parameter string `json:"parameter,omitempty"`
}

// rawEntry is an entry whose value is kept as the JSON it came as.
type rawEntry[K any] struct {
	Key   K               `json:"key"`
	Start *time.Time      `json:"start,omitempty"`
	End   *time.Time      `json:"end,omitempty"`
	Value json.RawMessage `json:"value"`
}

// parseTime parses a time parameter: RFC 3339, or Unix milliseconds.
func parseTime(s string) (time.Time, error) {
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.UnixMilli(ms), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither RFC 3339 nor Unix milliseconds", s)
	}
	return t, nil
}
