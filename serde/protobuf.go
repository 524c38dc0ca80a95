package serde

import (
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Protobuf returns a Serde for a generated protocol buffer message type T,
// such as *mypb.Order, in the protobuf binary wire format.
//
// A nil message serializes to a Kafka null, and nil bytes deserialize to
// the zero T, a nil message. Any other bytes, including empty ones,
// deserialize into a new message, so an empty message and a null stay
// distinct. Deserialize copies what it keeps, so data may be reused.
//
// Messages are marshaled deterministically (map entries in key order), so
// that equal keys encode to equal bytes within one program, as partitioning
// and state stores need. Errors wrap those of the protobuf runtime, which
// match proto.Error with errors.Is. The serde is safe for concurrent use.
//
// Protobuf panics if T is an interface type such as proto.Message, or a
// message type whose nil value cannot report its type (such as
// *dynamicpb.Message): it must know which message to create.
func Protobuf[T proto.Message]() Serde[T] {
	return protobufSerde[T]{typ: messageType[T]()}
}

type protobufSerde[T proto.Message] struct {
	typ protoreflect.MessageType
}

// messageType returns the message type of T, taken from T's nil value.
func messageType[T proto.Message]() (mt protoreflect.MessageType) {
	var zero T
	if any(zero) == nil {
		panic("serde: Protobuf needs a concrete generated message type, not an interface")
	}
	defer func() {
		if r := recover(); r != nil || mt == nil {
			panic(fmt.Sprintf("serde: Protobuf cannot get the message type of a nil %T: use a generated message type", zero))
		}
	}()
	return zero.ProtoReflect().Type()
}

var (
	protoMarshal   = proto.MarshalOptions{Deterministic: true}
	protoUnmarshal = proto.UnmarshalOptions{}
)

func (s protobufSerde[T]) Serialize(dst []byte, topic string, v T) ([]byte, error) {
	if any(v) == nil || !v.ProtoReflect().IsValid() {
		return nil, nil
	}
	out, err := protoMarshal.MarshalAppend(dst, v)
	if err != nil {
		return nil, fmt.Errorf("serde: protobuf encode %s for topic %q: %w", s.typ.Descriptor().FullName(), topic, err)
	}
	return nonNil(out), nil
}

func (s protobufSerde[T]) Deserialize(topic string, data []byte) (T, error) {
	var zero T
	if data == nil {
		return zero, nil
	}
	m := s.typ.New().Interface().(T)
	if err := protoUnmarshal.Unmarshal(data, m); err != nil {
		return zero, fmt.Errorf("serde: protobuf decode %s for topic %q: %w", s.typ.Descriptor().FullName(), topic, err)
	}
	return m, nil
}
