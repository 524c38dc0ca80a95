// Package serde turns typed values into Kafka record bytes and back.
//
// A [Serde] serializes by appending to a caller-supplied buffer, so the engine
// can encode many records into one reused slab instead of allocating a slice
// per record. Deserialize receives the topic as context, as Kafka's serdes do.
//
// [String], [Bytes], [Int32], [Int64], [Float64] and [Bool] write the same
// bytes as Kafka's Java serializers for those types. [JSON] and [Protobuf]
// encode structured values, [Ptr] makes any serde nullable, [Func] builds a
// serde from two functions, and [Default] picks a built-in serde by type.
//
// # Null and tombstones
//
// Kafka distinguishes a null key or value (no bytes at all) from an empty one.
// Every serde in this package follows the same rules:
//
//   - Deserialize(topic, nil) returns the type's zero value and no error.
//   - Serialize returns a nil slice only for values that mean null: a nil
//     []byte for [Bytes], a nil pointer for [Ptr] and [Protobuf], a value that
//     marshals to JSON null for [JSON]. Every other value, including the empty
//     string and zero numbers, encodes to a non-nil slice.
//
// A nil value on a Kafka record is a tombstone. Use a nilable type (a pointer,
// []byte or a protobuf message) where a topology must tell a tombstone from a
// zero value.
package serde

import (
	"errors"
	"fmt"
)

// Serde serializes and deserializes values of type T.
//
// Serialize appends the encoding of v to dst and returns the extended slice,
// like strconv.AppendInt. It must return nil (not an empty slice) exactly when
// v encodes to a Kafka null, and a non-nil slice otherwise. Implementations
// must not keep dst.
//
// Deserialize decodes data, which the caller may reuse after the call returns:
// an implementation that keeps bytes (such as [Bytes]) copies them.
type Serde[T any] interface {
	Serialize(dst []byte, topic string, v T) ([]byte, error)
	Deserialize(topic string, data []byte) (T, error)
}

// ErrInvalidLength is returned when a fixed-size encoding has the wrong number
// of bytes. Test for it with errors.Is.
var ErrInvalidLength = errors.New("serde: invalid length")

// lengthError wraps ErrInvalidLength with the type and lengths involved.
func lengthError(typ string, want, got int) error {
	return fmt.Errorf("%w: %s needs %d bytes, got %d", ErrInvalidLength, typ, want, got)
}
