package serde

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sync"
)

// JSON returns a Serde that encodes values of type T with encoding/json.
//
// A value that marshals to JSON null (a nil pointer, map, slice or interface,
// or a type whose MarshalJSON returns null) serializes to a Kafka null. Nil
// bytes deserialize to T's zero value. Any other bytes, including empty ones,
// must hold a JSON document: empty bytes are an error, and a non-nil "null"
// decodes to the zero value as with json.Unmarshal.
//
// Serialize writes the same bytes as json.Marshal (HTML-escaped, no
// trailing newline), appending them into dst through a pooled json.Encoder
// rather than copying from a new slice. The decoded value never aliases
// data. Errors wrap those of encoding/json, so errors.As finds a
// *json.SyntaxError, *json.UnmarshalTypeError or *json.UnsupportedValueError.
// The serde is safe for concurrent use.
func JSON[T any]() Serde[T] { return jsonSerde[T]{} }

type jsonSerde[T any] struct{}

// appendWriter is an io.Writer that appends to b.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// jsonEncoder pairs a json.Encoder with the writer it writes to, so that
// encoding into a caller's buffer needs neither a new Encoder nor a copy out
// of a temporary slice.
type jsonEncoder struct {
	w   appendWriter
	enc *json.Encoder
}

var jsonEncoders = sync.Pool{New: func() any {
	e := new(jsonEncoder)
	e.enc = json.NewEncoder(&e.w)
	return e
}}

// jsonNull is what json.Encoder writes for a value that marshals to null.
const jsonNull = "null\n"

func (jsonSerde[T]) Serialize(dst []byte, topic string, v T) ([]byte, error) {
	e := jsonEncoders.Get().(*jsonEncoder)
	e.w.b = dst
	err := e.enc.Encode(v)
	out := e.w.b
	e.w.b = nil // do not keep dst
	jsonEncoders.Put(e)
	if err != nil {
		return nil, fmt.Errorf("serde: json encode %v for topic %q: %w", reflect.TypeFor[T](), topic, err)
	}
	// Encode writes the document and a newline in one Write, after dst.
	if string(out[len(dst):]) == jsonNull {
		return nil, nil
	}
	return out[:len(out)-1], nil
}

func (jsonSerde[T]) Deserialize(topic string, data []byte) (T, error) {
	var v T
	if data == nil {
		return v, nil
	}
	if err := json.Unmarshal(data, &v); err != nil {
		var zero T
		return zero, fmt.Errorf("serde: json decode %v for topic %q: %w", reflect.TypeFor[T](), topic, err)
	}
	return v, nil
}
