package deadletter

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kgo"
)

// jsonRecord is a Record in JSON, as the HTTP API and `strata dlq list
// --json` show it. Bytes (keys, values, header values) are text when they
// are valid UTF-8 ("key"), base64 otherwise ("key_base64"); a null key or
// value is null.
type jsonRecord struct {
	Partition   int32           `json:"partition"`
	Offset      int64           `json:"offset"`
	Source      *jsonSource     `json:"source,omitempty"`
	Key         json.RawMessage `json:"key,omitempty"`
	KeyBase64   []byte          `json:"key_base64,omitempty"`
	Value       json.RawMessage `json:"value,omitempty"`
	ValueBase64 []byte          `json:"value_base64,omitempty"`
	Timestamp   time.Time       `json:"timestamp"`
	Headers     []jsonHeader    `json:"headers,omitempty"`
	Reason      string          `json:"reason,omitempty"`
	Message     string          `json:"message,omitempty"`
	Handler     string          `json:"handler,omitempty"`
	Attempts    int             `json:"attempts,omitempty"`
	Version     int             `json:"version,omitempty"`
	Error       string          `json:"error,omitempty"`
}

type jsonSource struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
}

type jsonHeader struct {
	Key         string          `json:"key"`
	Value       json.RawMessage `json:"value,omitempty"`
	ValueBase64 []byte          `json:"value_base64,omitempty"`
}

// jsonBytes returns b as text (a JSON string, or null for nil) when it is
// valid UTF-8, or as base64 otherwise.
func jsonBytes(b []byte) (text json.RawMessage, b64 []byte) {
	if b == nil {
		return json.RawMessage("null"), nil
	}
	if !utf8.Valid(b) {
		return nil, b
	}
	text, _ = json.Marshal(string(b)) // a string always marshals
	return text, nil
}

// fromJSONBytes is the inverse of jsonBytes.
func fromJSONBytes(text json.RawMessage, b64 []byte) ([]byte, error) {
	if text == nil || string(text) == "null" {
		if b64 != nil {
			return b64, nil
		}
		return nil, nil
	}
	var s string
	if err := json.Unmarshal(text, &s); err != nil {
		return nil, err
	}
	return []byte(s), nil
}

// MarshalJSON returns d as the HTTP API shows it: its coordinates in the
// dead set ("partition", "offset"), its source ("source": topic,
// partition, offset), "key" and "value" as text when they are valid
// UTF-8 and as "key_base64" and "value_base64" otherwise (null for a
// null), "timestamp" (RFC 3339), "headers" (a list of "key" and "value" or
// "value_base64"), "reason", "message", "handler", "attempts", "version",
// and "error" for a record the dead set could not read (Err).
func (d Record) MarshalJSON() ([]byte, error) {
	j := jsonRecord{
		Partition: d.DeadLetterPartition,
		Offset:    d.DeadLetterOffset,
		Timestamp: d.Timestamp.UTC(),
		Reason:    d.Reason,
		Message:   d.Message,
		Handler:   d.Handler,
		Attempts:  d.Attempts,
		Version:   d.Version,
	}
	if d.Err != nil {
		j.Error = d.Err.Error()
	} else {
		j.Source = &jsonSource{Topic: d.Topic, Partition: d.Partition, Offset: d.Offset}
	}
	j.Key, j.KeyBase64 = jsonBytes(d.Key)
	j.Value, j.ValueBase64 = jsonBytes(d.Value)
	for _, h := range d.Headers {
		jh := jsonHeader{Key: h.Key}
		jh.Value, jh.ValueBase64 = jsonBytes(h.Value)
		j.Headers = append(j.Headers, jh)
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads what MarshalJSON writes, for clients of the HTTP
// API in Go. Err, if any, is an error with the text of "error".
func (d *Record) UnmarshalJSON(b []byte) error {
	var j jsonRecord
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	r := Record{
		DeadLetterPartition: j.Partition,
		DeadLetterOffset:    j.Offset,
		Timestamp:           j.Timestamp,
		Reason:              j.Reason,
		Message:             j.Message,
		Handler:             j.Handler,
		Attempts:            j.Attempts,
		Version:             j.Version,
		Partition:           -1,
		Offset:              -1,
	}
	if j.Error != "" {
		r.Err = errors.New(j.Error)
	}
	if j.Source != nil {
		r.Topic, r.Partition, r.Offset = j.Source.Topic, j.Source.Partition, j.Source.Offset
	}
	var err error
	if r.Key, err = fromJSONBytes(j.Key, j.KeyBase64); err != nil {
		return fmt.Errorf("key: %w", err)
	}
	if r.Value, err = fromJSONBytes(j.Value, j.ValueBase64); err != nil {
		return fmt.Errorf("value: %w", err)
	}
	for _, h := range j.Headers {
		v, err := fromJSONBytes(h.Value, h.ValueBase64)
		if err != nil {
			return fmt.Errorf("header %q: %w", h.Key, err)
		}
		r.Headers = append(r.Headers, kgo.RecordHeader{Key: h.Key, Value: v})
	}
	*d = r
	return nil
}
