package serde_test

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/strata-go/strata/serde"
)

func isLength(err error) bool { return errors.Is(err, serde.ErrInvalidLength) }

func isValueError(err error) bool {
	var ve *serde.ValueError
	return errors.As(err, &ve)
}

func isJSONSyntax(err error) bool {
	var se *json.SyntaxError
	return errors.As(err, &se)
}

func isJSONType(err error) bool {
	var te *json.UnmarshalTypeError
	return errors.As(err, &te)
}

func isProto(err error) bool { return errors.Is(err, proto.Error) }

func TestDeserializeCorrupt(t *testing.T) {
	tests := []struct {
		s    erased
		name string
		data []byte
		is   func(error) bool
		// inMessage is text the error message must contain.
		inMessage string
	}{
		{sInt32, "empty", []byte{}, isLength, "int32 needs 4 bytes, got 0"},
		{sInt32, "short", []byte{0, 0, 1}, isLength, "got 3"},
		{sInt32, "long", []byte{0, 0, 0, 0, 1}, isLength, "got 5"},
		{sInt32, "an int64", []byte{0, 0, 0, 0, 0, 0, 0, 1}, isLength, "got 8"},
		{sInt64, "empty", []byte{}, isLength, "int64 needs 8 bytes, got 0"},
		{sInt64, "short", []byte{0, 0, 0, 0, 0, 0, 1}, isLength, "got 7"},
		{sInt64, "an int32", []byte{0, 0, 0, 1}, isLength, "got 4"},
		{sInt64, "long", make([]byte, 9), isLength, "got 9"},
		{sFloat64, "empty", []byte{}, isLength, "float64 needs 8 bytes"},
		{sFloat64, "a float32", []byte{0x3f, 0xc0, 0, 0}, isLength, "got 4"},
		{sBool, "empty", []byte{}, isLength, "bool needs 1 bytes, got 0"},
		{sBool, "two bytes", []byte{0, 1}, isLength, "got 2"},
		{sBool, "byte 2", []byte{2}, isValueError, "invalid bool"},
		{sBool, "byte ff", []byte{0xff}, isValueError, "invalid bool"},
		{sPtrInt64, "short", []byte{1, 2, 3}, isLength, "got 3"},

		{sJSONOrder, "empty", []byte{}, isJSONSyntax, `json decode serde_test.order for topic "orders"`},
		{sJSONOrder, "truncated", []byte(`{"id":`), isJSONSyntax, "unexpected end of JSON input"},
		{sJSONOrder, "garbage", []byte("\x00\x01"), isJSONSyntax, "invalid character"},
		{sJSONOrder, "trailing data", []byte(`{} {}`), isJSONSyntax, "invalid character"},
		{sJSONOrder, "wrong type", []byte(`[1]`), isJSONType, "cannot unmarshal array"},
		{sJSONOrder, "wrong field type", []byte(`{"qty":"three"}`), isJSONType, "cannot unmarshal string"},
		{sJSONOrderPtr, "bad literal", []byte(`nul`), isJSONSyntax, `json decode *serde_test.order`},
		{sJSONMap, "bad value", []byte(`{"a":1.5}`), isJSONType, "map[string]int"},
		{sPtrOrder, "truncated", []byte(`{`), isJSONSyntax, "unexpected end"},

		{sProtoString, "truncated tag", []byte{0xff}, isProto, `protobuf decode google.protobuf.StringValue for topic "orders"`},
		{sProtoString, "truncated length", []byte{0x0a, 0x05, 'a'}, isProto, "StringValue"},
		{sProtoString, "invalid utf-8", []byte{0x0a, 0x01, 0xff}, isProto, "UTF-8"},
		{sProtoString, "field number zero", []byte{0x00}, isProto, "StringValue"},
		{sProtoStruct, "truncated", []byte{0x0a, 0x10, 0x0a}, isProto, "google.protobuf.Struct"},
	}
	for _, tt := range tests {
		t.Run(tt.s.name+"/"+tt.name, func(t *testing.T) {
			v, err := tt.s.de(topic, tt.data)
			if err == nil {
				t.Fatalf("Deserialize(%x) = %#v, want an error", tt.data, v)
			}
			if !tt.is(err) {
				t.Fatalf("Deserialize(%x) error %q (%T) is not of the expected kind", tt.data, err, err)
			}
			if !strings.Contains(err.Error(), tt.inMessage) {
				t.Fatalf("error %q does not mention %q", err, tt.inMessage)
			}
			if !equal(v, tt.s.zero) {
				t.Fatalf("Deserialize returned %#v with its error, want the zero value", v)
			}
		})
	}
}

type failingMarshaler struct{}

var errMarshal = errors.New("marshal failed")

func (failingMarshaler) MarshalJSON() ([]byte, error) { return nil, errMarshal }

func TestSerializeErrors(t *testing.T) {
	badUTF8 := string([]byte{0xff, 0xfe})
	tests := []struct {
		s         erased
		name      string
		v         any
		is        func(error) bool
		inMessage string
	}{
		{erase("JSON[float64]", serde.JSON[float64]()), "NaN", math.NaN(), func(err error) bool {
			var e *json.UnsupportedValueError
			return errors.As(err, &e)
		}, `json encode float64 for topic "orders"`},
		{erase("JSON[chan int]", serde.JSON[chan int]()), "channel", make(chan int), func(err error) bool {
			var e *json.UnsupportedTypeError
			return errors.As(err, &e)
		}, "chan int"},
		{erase("JSON[failingMarshaler]", serde.JSON[failingMarshaler]()), "marshaler error", failingMarshaler{}, func(err error) bool {
			return errors.Is(err, errMarshal)
		}, "marshal failed"},
		{sProtoString, "invalid utf-8", wrapperspb.String(badUTF8), isProto, `protobuf encode google.protobuf.StringValue for topic "orders"`},
		{sProtoStruct, "invalid utf-8 key", &structpb.Struct{Fields: map[string]*structpb.Value{badUTF8: structpb.NewNullValue()}}, isProto, "UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.s.name+"/"+tt.name, func(t *testing.T) {
			b, err := tt.s.ser([]byte("prefix"), topic, tt.v)
			if err == nil {
				t.Fatalf("Serialize(%#v) = %x, want an error", tt.v, b)
			}
			if !tt.is(err) {
				t.Fatalf("Serialize error %q (%T) is not of the expected kind", err, err)
			}
			if !strings.Contains(err.Error(), tt.inMessage) {
				t.Fatalf("error %q does not mention %q", err, tt.inMessage)
			}
			if b != nil {
				t.Fatalf("Serialize returned %q with its error, want nil", b)
			}
		})
	}
}

func TestValueErrorMessage(t *testing.T) {
	_, err := serde.Bool().Deserialize(topic, []byte{2})
	var ve *serde.ValueError
	if !errors.As(err, &ve) {
		t.Fatalf("error %v is not a *ValueError", err)
	}
	if ve.Type != "bool" || ve.Reason == "" {
		t.Fatalf("ValueError = %+v", ve)
	}
	if got, want := err.Error(), "serde: invalid bool: byte must be 0 or 1"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
	if errors.Is(err, serde.ErrInvalidLength) {
		t.Fatal("a bad bool byte is not a length error")
	}
}
