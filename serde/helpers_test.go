package serde_test

import (
	"fmt"
	"math"
	"reflect"

	"google.golang.org/protobuf/proto"

	"github.com/strata-go/strata/serde"
)

const topic = "orders"

// erased is a Serde with its type erased, so that one table can hold cases
// for serdes of different types.
type erased struct {
	name string
	ser  func(dst []byte, topic string, v any) ([]byte, error)
	de   func(topic string, data []byte) (any, error)
	zero any
}

func erase[T any](name string, s serde.Serde[T]) erased {
	var zero T
	return erased{
		name: name,
		ser: func(dst []byte, topic string, v any) ([]byte, error) {
			t, ok := v.(T)
			if !ok && v != nil {
				panic(fmt.Sprintf("test bug: %s given a %T", name, v))
			}
			return s.Serialize(dst, topic, t)
		},
		de:   func(topic string, data []byte) (any, error) { return s.Deserialize(topic, data) },
		zero: zero,
	}
}

// The serdes under test, erased.
var (
	sString  = erase("String", serde.String())
	sBytes   = erase("Bytes", serde.Bytes())
	sInt32   = erase("Int32", serde.Int32())
	sInt64   = erase("Int64", serde.Int64())
	sFloat64 = erase("Float64", serde.Float64())
	sBool    = erase("Bool", serde.Bool())
)

// equal compares decoded values: float64 by bits (so NaN equals itself and
// -0 differs from 0), protobuf messages with proto.Equal, the rest with
// reflect.DeepEqual.
func equal(a, b any) bool {
	switch a := a.(type) {
	case float64:
		b, ok := b.(float64)
		return ok && math.Float64bits(a) == math.Float64bits(b)
	case proto.Message:
		b, ok := b.(proto.Message)
		if !ok || reflect.TypeOf(a) != reflect.TypeOf(b) {
			return false
		}
		if a.ProtoReflect().IsValid() != b.ProtoReflect().IsValid() {
			return false
		}
		return proto.Equal(a, b)
	}
	return reflect.DeepEqual(a, b)
}

// scribble overwrites b, to show that nothing kept a reference to it.
func scribble(b []byte) {
	for i := range b {
		b[i] = 0xAA
	}
}
