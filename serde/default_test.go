package serde_test

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/strata-go/strata/serde"
)

// defaultCase runs Default[T] and returns the serde it gave, erased; a nil
// Serde[T] becomes a nil any.
func defaultCase[T any]() (any, bool) {
	s, ok := serde.Default[T]()
	return s, ok
}

type myString string

func TestDefault(t *testing.T) {
	tests := []struct {
		name   string
		got    func() (any, bool)
		want   any // the serde Default must return; nil when none
		encode func(s any) ([]byte, error)
		bytes  []byte
	}{
		{"string", defaultCase[string], serde.String(), func(s any) ([]byte, error) {
			return s.(serde.Serde[string]).Serialize(nil, topic, "k")
		}, []byte("k")},
		{"[]byte", defaultCase[[]byte], serde.Bytes(), func(s any) ([]byte, error) {
			return s.(serde.Serde[[]byte]).Serialize(nil, topic, []byte{7})
		}, []byte{7}},
		{"int32", defaultCase[int32], serde.Int32(), func(s any) ([]byte, error) {
			return s.(serde.Serde[int32]).Serialize(nil, topic, 1)
		}, []byte{0, 0, 0, 1}},
		{"int64", defaultCase[int64], serde.Int64(), func(s any) ([]byte, error) {
			return s.(serde.Serde[int64]).Serialize(nil, topic, -1)
		}, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
		{"float64", defaultCase[float64], serde.Float64(), func(s any) ([]byte, error) {
			return s.(serde.Serde[float64]).Serialize(nil, topic, 1.5)
		}, []byte{0x3f, 0xf8, 0, 0, 0, 0, 0, 0}},
		{"bool", defaultCase[bool], serde.Bool(), func(s any) ([]byte, error) {
			return s.(serde.Serde[bool]).Serialize(nil, topic, true)
		}, []byte{1}},

		{"int", defaultCase[int], nil, nil, nil},
		{"uint32", defaultCase[uint32], nil, nil, nil},
		{"uint64", defaultCase[uint64], nil, nil, nil},
		{"int16", defaultCase[int16], nil, nil, nil},
		{"float32", defaultCase[float32], nil, nil, nil},
		{"byte", defaultCase[byte], nil, nil, nil},
		{"named string", defaultCase[myString], nil, nil, nil},
		{"*string", defaultCase[*string], nil, nil, nil},
		{"[]int", defaultCase[[]int], nil, nil, nil},
		{"struct", defaultCase[order], nil, nil, nil},
		{"map", defaultCase[map[string]string], nil, nil, nil},
		{"any", defaultCase[any], nil, nil, nil},
		{"error", defaultCase[error], nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, ok := tt.got()
			if tt.want == nil {
				if ok || s != nil {
					t.Fatalf("Default = %#v, %v; want nil, false", s, ok)
				}
				return
			}
			if !ok {
				t.Fatal("Default reported no serde")
			}
			if reflect.TypeOf(s) != reflect.TypeOf(tt.want) {
				t.Fatalf("Default returned a %T, want a %T", s, tt.want)
			}
			b, err := tt.encode(s)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, tt.bytes) {
				t.Fatalf("Default serde encoded %x, want %x", b, tt.bytes)
			}
		})
	}
}
