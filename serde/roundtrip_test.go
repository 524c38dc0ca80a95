package serde_test

import (
	"bytes"
	"math"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/strata-go/strata/serde"
)

type order struct {
	ID    string            `json:"id"`
	Qty   int               `json:"qty"`
	Price float64           `json:"price"`
	Tags  []string          `json:"tags,omitempty"`
	Attrs map[string]string `json:"attrs,omitempty"`
	Raw   []byte            `json:"raw,omitempty"`
}

// nullMarshaler marshals to JSON null whatever its value.
type nullMarshaler struct{ X int }

func (nullMarshaler) MarshalJSON() ([]byte, error) { return []byte("null"), nil }

var (
	sJSONOrder    = erase("JSON[order]", serde.JSON[order]())
	sJSONOrderPtr = erase("JSON[*order]", serde.JSON[*order]())
	sJSONMap      = erase("JSON[map[string]int]", serde.JSON[map[string]int]())
	sJSONSlice    = erase("JSON[[]int]", serde.JSON[[]int]())
	sJSONAny      = erase("JSON[any]", serde.JSON[any]())
	sJSONString   = erase("JSON[string]", serde.JSON[string]())
	sJSONNullM    = erase("JSON[nullMarshaler]", serde.JSON[nullMarshaler]())

	sProtoString = erase("Protobuf[*wrapperspb.StringValue]", serde.Protobuf[*wrapperspb.StringValue]())
	sProtoBytes  = erase("Protobuf[*wrapperspb.BytesValue]", serde.Protobuf[*wrapperspb.BytesValue]())
	sProtoTime   = erase("Protobuf[*timestamppb.Timestamp]", serde.Protobuf[*timestamppb.Timestamp]())
	sProtoStruct = erase("Protobuf[*structpb.Struct]", serde.Protobuf[*structpb.Struct]())

	sPtrString = erase("Ptr(String)", serde.Ptr(serde.String()))
	sPtrInt64  = erase("Ptr(Int64)", serde.Ptr(serde.Int64()))
	sPtrBytes  = erase("Ptr(Bytes)", serde.Ptr(serde.Bytes()))
	sPtrOrder  = erase("Ptr(JSON[order])", serde.Ptr(serde.JSON[order]()))
)

// javaNaN is the NaN that Java's Double.doubleToLongBits produces.
var javaNaN = math.Float64frombits(0x7ff8_0000_0000_0000)

func ptr[T any](v T) *T { return &v }

func mustStruct(m map[string]any) *structpb.Struct {
	s, err := structpb.NewStruct(m)
	if err != nil {
		panic(err)
	}
	return s
}

type roundTripCase struct {
	s    erased
	name string
	v    any
	null bool // Serialize must return nil, and v decodes from nil
	want any  // the decoded value, if not v
}

var roundTripCases = []roundTripCase{
	{s: sString, name: "word", v: "hello"},
	{s: sString, name: "utf8", v: "héllo, 世界 🌍"},
	{s: sString, name: "empty", v: ""},
	{s: sString, name: "nul bytes", v: "a\x00b"},
	{s: sString, name: "invalid utf8", v: "\xff\xfe"},

	{s: sBytes, name: "some", v: []byte{0, 1, 2, 0xff}},
	{s: sBytes, name: "empty", v: []byte{}},
	{s: sBytes, name: "nil", v: []byte(nil), null: true},

	{s: sInt32, name: "zero", v: int32(0)},
	{s: sInt32, name: "one", v: int32(1)},
	{s: sInt32, name: "minus one", v: int32(-1)},
	{s: sInt32, name: "min", v: int32(math.MinInt32)},
	{s: sInt32, name: "max", v: int32(math.MaxInt32)},

	{s: sInt64, name: "zero", v: int64(0)},
	{s: sInt64, name: "minus one", v: int64(-1)},
	{s: sInt64, name: "min", v: int64(math.MinInt64)},
	{s: sInt64, name: "max", v: int64(math.MaxInt64)},

	{s: sFloat64, name: "zero", v: 0.0},
	{s: sFloat64, name: "negative zero", v: math.Copysign(0, -1)},
	{s: sFloat64, name: "one and a half", v: 1.5},
	{s: sFloat64, name: "pi", v: math.Pi},
	{s: sFloat64, name: "smallest", v: math.SmallestNonzeroFloat64},
	{s: sFloat64, name: "max", v: math.MaxFloat64},
	{s: sFloat64, name: "+Inf", v: math.Inf(1)},
	{s: sFloat64, name: "-Inf", v: math.Inf(-1)},
	{s: sFloat64, name: "NaN", v: math.NaN(), want: javaNaN},
	{s: sFloat64, name: "NaN payload", v: math.Float64frombits(0x7ff8_0000_dead_beef), want: javaNaN},
	{s: sFloat64, name: "negative NaN", v: math.Float64frombits(0xfff8_0000_0000_0000), want: javaNaN},
	{s: sFloat64, name: "signalling NaN", v: math.Float64frombits(0x7ff0_0000_0000_0001), want: javaNaN},

	{s: sBool, name: "true", v: true},
	{s: sBool, name: "false", v: false},

	{s: sJSONOrder, name: "struct", v: order{ID: "o-1", Qty: 3, Price: 9.99, Tags: []string{"a", "<b>"}, Attrs: map[string]string{"k": "v"}, Raw: []byte{0, 0xff}}},
	{s: sJSONOrder, name: "zero struct", v: order{}},
	{s: sJSONOrderPtr, name: "pointer", v: &order{ID: "o-2", Qty: -1}},
	{s: sJSONOrderPtr, name: "pointer to zero", v: &order{}},
	{s: sJSONOrderPtr, name: "nil pointer", v: (*order)(nil), null: true},
	{s: sJSONMap, name: "map", v: map[string]int{"a": 1, "b": 2}},
	{s: sJSONMap, name: "empty map", v: map[string]int{}},
	{s: sJSONMap, name: "nil map", v: map[string]int(nil), null: true},
	{s: sJSONSlice, name: "slice", v: []int{3, 1, 2}},
	{s: sJSONSlice, name: "empty slice", v: []int{}},
	{s: sJSONSlice, name: "nil slice", v: []int(nil), null: true},
	{s: sJSONAny, name: "nil interface", v: nil, null: true},
	{s: sJSONAny, name: "object", v: map[string]any{"n": 1.5, "s": "x", "l": []any{true, nil}}},
	{s: sJSONString, name: "empty string", v: ""},
	{s: sJSONNullM, name: "marshals to null", v: nullMarshaler{X: 1}, null: true, want: nullMarshaler{}},

	{s: sProtoString, name: "string value", v: wrapperspb.String("héllo")},
	{s: sProtoString, name: "empty message", v: wrapperspb.String("")},
	{s: sProtoString, name: "nil message", v: (*wrapperspb.StringValue)(nil), null: true},
	{s: sProtoBytes, name: "bytes value", v: wrapperspb.Bytes([]byte{1, 2, 3})},
	{s: sProtoTime, name: "timestamp", v: timestamppb.New(time.Date(2024, 2, 29, 12, 30, 0, 123456789, time.UTC))},
	{s: sProtoTime, name: "nil timestamp", v: (*timestamppb.Timestamp)(nil), null: true},
	{s: sProtoStruct, name: "struct", v: mustStruct(map[string]any{"a": 1.0, "b": []any{"x", true, nil}, "c": map[string]any{"d": "e"}})},

	{s: sPtrString, name: "pointer to word", v: ptr("hi")},
	{s: sPtrString, name: "pointer to empty", v: ptr("")},
	{s: sPtrString, name: "nil", v: (*string)(nil), null: true},
	{s: sPtrInt64, name: "pointer to zero", v: ptr(int64(0))},
	{s: sPtrInt64, name: "pointer to max", v: ptr(int64(math.MaxInt64))},
	{s: sPtrInt64, name: "nil", v: (*int64)(nil), null: true},
	{s: sPtrBytes, name: "pointer to empty", v: ptr([]byte{})},
	{s: sPtrBytes, name: "pointer to nil slice", v: ptr([]byte(nil)), null: true, want: (*[]byte)(nil)},
	{s: sPtrOrder, name: "pointer to struct", v: &order{ID: "o-3"}},
	{s: sPtrOrder, name: "nil", v: (*order)(nil), null: true},
}

func (c roundTripCase) wantValue() any {
	if c.want != nil {
		return c.want
	}
	return c.v
}

func TestRoundTrip(t *testing.T) {
	for _, c := range roundTripCases {
		t.Run(c.s.name+"/"+c.name, func(t *testing.T) {
			b, err := c.s.ser(nil, topic, c.v)
			if err != nil {
				t.Fatalf("Serialize(%#v): %v", c.v, err)
			}
			if c.null {
				if b != nil {
					t.Fatalf("Serialize(%#v) = %#v, want nil (Kafka null)", c.v, b)
				}
			} else if b == nil {
				t.Fatalf("Serialize(%#v) = nil, want non-nil bytes", c.v)
			}

			got, err := c.s.de(topic, b)
			if err != nil {
				t.Fatalf("Deserialize(%x): %v", b, err)
			}
			if want := c.wantValue(); !equal(got, want) {
				t.Fatalf("round trip of %#v: got %#v, want %#v", c.v, got, want)
			}

			// The decoded value must not alias the input bytes.
			scribble(b)
			if want := c.wantValue(); !equal(got, want) {
				t.Fatalf("decoded value changed when its input bytes were overwritten: got %#v, want %#v", got, want)
			}
		})
	}
}

// TestNullDecodesToZero checks that every serde decodes a Kafka null to its
// type's zero value without error.
func TestNullDecodesToZero(t *testing.T) {
	for _, s := range []erased{
		sString, sBytes, sInt32, sInt64, sFloat64, sBool,
		sJSONOrder, sJSONOrderPtr, sJSONMap, sJSONSlice, sJSONAny, sJSONString,
		sProtoString, sProtoBytes, sProtoTime, sProtoStruct,
		sPtrString, sPtrInt64, sPtrBytes, sPtrOrder,
	} {
		t.Run(s.name, func(t *testing.T) {
			got, err := s.de(topic, nil)
			if err != nil {
				t.Fatalf("Deserialize(nil): %v", err)
			}
			if !equal(got, s.zero) {
				t.Fatalf("Deserialize(nil) = %#v, want zero value %#v", got, s.zero)
			}
		})
	}
}

// TestEmptyIsNotNull checks that values meaning "empty" encode to empty,
// non-nil bytes, and decode from them, distinct from a null.
func TestEmptyIsNotNull(t *testing.T) {
	tests := []struct {
		s    erased
		v    any
		want any // decoded from empty, non-nil bytes
	}{
		{sString, "", ""}, // "" is also what a null decodes to: use Ptr(String()) to tell them apart
		{sBytes, []byte{}, []byte{}},
		{sPtrString, ptr(""), ptr("")},
		{sPtrBytes, ptr([]byte{}), ptr([]byte{})},
		{sProtoString, &wrapperspb.StringValue{}, &wrapperspb.StringValue{}},
		{sProtoStruct, &structpb.Struct{}, &structpb.Struct{}},
	}
	for _, tt := range tests {
		t.Run(tt.s.name, func(t *testing.T) {
			b, err := tt.s.ser(nil, topic, tt.v)
			if err != nil {
				t.Fatal(err)
			}
			if b == nil || len(b) != 0 {
				t.Fatalf("Serialize(%#v) = %#v, want empty, non-nil bytes", tt.v, b)
			}
			got, err := tt.s.de(topic, []byte{})
			if err != nil {
				t.Fatalf("Deserialize(empty): %v", err)
			}
			if !equal(got, tt.want) {
				t.Fatalf("Deserialize(empty) = %#v, want %#v", got, tt.want)
			}
			if tt.s.name != sString.name && equal(got, tt.s.zero) {
				t.Fatalf("Deserialize(empty) = %#v, the same as a null", got)
			}
		})
	}
}

// TestAppend checks the append contract for every non-null round-trip case:
// Serialize keeps what dst holds, writes into dst's spare capacity rather
// than a new array, produces the same bytes as with a nil dst, and keeps no
// reference to dst.
func TestAppend(t *testing.T) {
	prefix := []byte("prefix:")
	for _, c := range roundTripCases {
		if c.null {
			continue
		}
		t.Run(c.s.name+"/"+c.name, func(t *testing.T) {
			alone, err := c.s.ser(nil, topic, c.v)
			if err != nil {
				t.Fatal(err)
			}
			alone = bytes.Clone(alone)

			dst := make([]byte, len(prefix), 4096)
			copy(dst, prefix)
			out, err := c.s.ser(dst, topic, c.v)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(out, prefix) {
				t.Fatalf("Serialize lost the prefix: got %q", out)
			}
			if !bytes.Equal(out[len(prefix):], alone) {
				t.Fatalf("Serialize after a prefix appended %x, want %x", out[len(prefix):], alone)
			}
			if &out[0] != &dst[0] {
				t.Fatal("Serialize did not write into dst's spare capacity")
			}

			// Appending to a full slice must not overwrite past its length.
			full := append(bytes.Clone(prefix), 0xEE, 0xEE, 0xEE, 0xEE)[:len(prefix)]
			out, err = c.s.ser(full, topic, c.v)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, append(bytes.Clone(prefix), alone...)) {
				t.Fatalf("Serialize(%q...) = %x", prefix, out)
			}

			// Nothing may keep dst: overwrite it, then encode again.
			scribble(dst[:cap(dst)])
			again, err := c.s.ser(nil, topic, c.v)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, alone) {
				t.Fatalf("Serialize after overwriting an earlier dst = %x, want %x", again, alone)
			}
		})
	}
}

func TestAppendNullIgnoresDst(t *testing.T) {
	for _, c := range roundTripCases {
		if !c.null {
			continue
		}
		t.Run(c.s.name+"/"+c.name, func(t *testing.T) {
			out, err := c.s.ser([]byte("prefix:"), topic, c.v)
			if err != nil {
				t.Fatal(err)
			}
			if out != nil {
				t.Fatalf("Serialize of a null with a non-empty dst = %q, want nil", out)
			}
		})
	}
}
