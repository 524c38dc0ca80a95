package serde_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/strata-go/strata/serde"
)

func TestProtobufMatchesProtoMarshal(t *testing.T) {
	m := timestamppb.New(timestamppb.Now().AsTime())
	want, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	got, err := serde.Protobuf[*timestamppb.Timestamp]().Serialize(nil, topic, m)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Serialize = %x, proto.Marshal = %x", got, want)
	}
}

// TestProtobufDeterministic checks that a message with a map field encodes
// to the same bytes every time, as a key must.
func TestProtobufDeterministic(t *testing.T) {
	fields := map[string]any{}
	for i := range 50 {
		fields[fmt.Sprintf("field-%02d", i)] = float64(i)
	}
	s := serde.Protobuf[*structpb.Struct]()
	first, err := s.Serialize(nil, topic, mustStruct(fields))
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		b, err := s.Serialize(nil, topic, mustStruct(fields))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, first) {
			t.Fatal("equal messages encoded to different bytes")
		}
	}
}

// TestProtobufFreshMessage checks that each Deserialize returns a new
// message rather than merging into a shared one.
func TestProtobufFreshMessage(t *testing.T) {
	s := serde.Protobuf[*wrapperspb.StringValue]()
	a, err := s.Deserialize(topic, []byte{0x0a, 0x01, 'a'})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Deserialize(topic, []byte{})
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Fatal("two Deserialize calls returned the same message")
	}
	if a.GetValue() != "a" || b == nil || b.GetValue() != "" {
		t.Fatalf("got %v and %v, want \"a\" and an empty message", a, b)
	}
}

// TestProtobufUnknownFields checks that fields unknown to T survive a
// round trip, so a consumer on an older schema passes them on.
func TestProtobufUnknownFields(t *testing.T) {
	data := protowire.AppendTag(nil, 1, protowire.BytesType)
	data = protowire.AppendString(data, "v")
	data = protowire.AppendTag(data, 99, protowire.VarintType)
	data = protowire.AppendVarint(data, 42)

	s := serde.Protobuf[*wrapperspb.StringValue]()
	m, err := s.Deserialize(topic, data)
	if err != nil {
		t.Fatal(err)
	}
	if m.GetValue() != "v" || len(m.ProtoReflect().GetUnknown()) == 0 {
		t.Fatalf("got %v, want value \"v\" and an unknown field", m)
	}
	out, err := s.Serialize(nil, topic, m)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, data) {
		t.Fatalf("re-encoded %x, want %x", out, data)
	}
}

func TestProtobufNeedsConcreteType(t *testing.T) {
	tests := []struct {
		name      string
		construct func()
		want      string
	}{
		{"proto.Message", func() { serde.Protobuf[proto.Message]() }, "not an interface"},
		{"*dynamicpb.Message", func() { serde.Protobuf[*dynamicpb.Message]() }, "*dynamicpb.Message"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if r == nil {
					t.Fatal("Protobuf did not panic")
				}
				if msg := fmt.Sprint(r); !strings.Contains(msg, tt.want) {
					t.Fatalf("panic %q does not mention %q", msg, tt.want)
				}
			}()
			tt.construct()
		})
	}
}

// FuzzProtobufDeserialize feeds arbitrary bytes to a Protobuf serde: it must
// not panic, and what it accepts must re-encode to an equal message.
func FuzzProtobufDeserialize(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0x08, 0x96, 0x01, 0x10, 0x05})
	f.Add([]byte{0xff})
	f.Add([]byte{0x08, 0x01, 0xc8, 0x06, 0x2a})
	s := serde.Protobuf[*timestamppb.Timestamp]()
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := s.Deserialize(topic, data)
		if err != nil {
			return
		}
		b, err := s.Serialize(nil, topic, m)
		if err != nil {
			t.Fatal(err)
		}
		m2, err := s.Deserialize(topic, b)
		if err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(m, m2) {
			t.Fatalf("re-decoded %v, want %v", m2, m)
		}
	})
}
