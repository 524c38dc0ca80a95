package main

import (
	"errors"
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/strata-go/strata/examples/projections/proto/bookingv1"
	"github.com/strata-go/strata/examples/projections/proto/bookingv2"
)

//go:generate buf generate proto

// Sentinel errors of Upcast, for errors.Is.
var (
	// ErrUnknownEventType: the event's type is none the projection knows,
	// such as an event of a schema newer than the projection's code.
	ErrUnknownEventType = errors.New("unknown event type")
	// ErrUndecodable: the record is not an event (not a
	// google.protobuf.Any, or not the message its type names).
	ErrUndecodable = errors.New("undecodable event")
)

// UnknownChannel is the channel of a booking created by a version 1 event,
// which did not record one.
const UnknownChannel = "unknown"

// Encode is how the booking service writes an event: the message wrapped
// in a google.protobuf.Any, whose type URL names the message and so its
// schema version (".../strata.examples.booking.v1.BookingAmended").
func Encode(m proto.Message) ([]byte, error) {
	a, err := anypb.New(m)
	if err != nil {
		return nil, fmt.Errorf("wrap %s: %w", m.ProtoReflect().Descriptor().FullName(), err)
	}
	b, err := proto.Marshal(a)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", m.ProtoReflect().Descriptor().FullName(), err)
	}
	return b, nil
}

// Upcast decodes a record's value, an event of any schema version, into
// the events of the current version (bookingv2) that it stands for: one,
// or, for a version 1 BookingAmended, the RoomChanged and StayChanged it
// is split into (those of its fields that are set; none if neither is).
// The events are *bookingv2.BookingCreated, *bookingv2.RoomChanged,
// *bookingv2.StayChanged and *bookingv2.BookingCancelled.
//
// Version 1 events are decoded with the version 1 schema, whose field
// numbers they were written with, then moved to the current one: guest
// (field 2) becomes guest_name (field 5), and channel, which version 1 did
// not have, is UnknownChannel. Decoding version 1 bytes with the version 2
// schema would silently lose the guest, which is why the renamed field
// took a new number and why the upcaster, not the schema, carries events
// across versions.
//
// An event of a type it does not know is an error wrapping
// ErrUnknownEventType; bytes that are not an event one wrapping
// ErrUndecodable.
func Upcast(value []byte) ([]proto.Message, error) {
	var a anypb.Any
	if err := proto.Unmarshal(value, &a); err != nil {
		return nil, fmt.Errorf("%w: not a google.protobuf.Any: %w", ErrUndecodable, err)
	}
	name := a.MessageName()
	switch name {
	case v1BookingCreated:
		var e bookingv1.BookingCreated
		if err := unpack(&a, &e); err != nil {
			return nil, err
		}
		return []proto.Message{&bookingv2.BookingCreated{
			BookingId: e.BookingId, GuestName: e.Guest, Room: e.Room, Nights: e.Nights, Channel: UnknownChannel,
		}}, nil
	case v1BookingAmended:
		var e bookingv1.BookingAmended
		if err := unpack(&a, &e); err != nil {
			return nil, err
		}
		var out []proto.Message
		if e.Room != "" {
			out = append(out, &bookingv2.RoomChanged{BookingId: e.BookingId, Room: e.Room})
		}
		if e.Nights != 0 {
			out = append(out, &bookingv2.StayChanged{BookingId: e.BookingId, Nights: e.Nights})
		}
		return out, nil
	case v1BookingCancelled:
		var e bookingv1.BookingCancelled
		if err := unpack(&a, &e); err != nil {
			return nil, err
		}
		return []proto.Message{&bookingv2.BookingCancelled{BookingId: e.BookingId, Reason: e.Reason}}, nil
	case v2BookingCreated:
		return current(&a, &bookingv2.BookingCreated{})
	case v2RoomChanged:
		return current(&a, &bookingv2.RoomChanged{})
	case v2StayChanged:
		return current(&a, &bookingv2.StayChanged{})
	case v2BookingCancelled:
		return current(&a, &bookingv2.BookingCancelled{})
	}
	if name == "" {
		return nil, fmt.Errorf("%w: type URL %q names no message", ErrUndecodable, a.TypeUrl)
	}
	return nil, fmt.Errorf("%w %q", ErrUnknownEventType, name)
}

// The full names of the event types, as Any's type URLs end.
var (
	v1BookingCreated   = fullName[bookingv1.BookingCreated]()
	v1BookingAmended   = fullName[bookingv1.BookingAmended]()
	v1BookingCancelled = fullName[bookingv1.BookingCancelled]()
	v2BookingCreated   = fullName[bookingv2.BookingCreated]()
	v2RoomChanged      = fullName[bookingv2.RoomChanged]()
	v2StayChanged      = fullName[bookingv2.StayChanged]()
	v2BookingCancelled = fullName[bookingv2.BookingCancelled]()
)

// fullName is the full name of a message type, as Any's type URL ends.
func fullName[M any, PM interface {
	*M
	proto.Message
}]() protoreflect.FullName {
	return PM(new(M)).ProtoReflect().Descriptor().FullName()
}

// current decodes an event of the current version.
func current(a *anypb.Any, m proto.Message) ([]proto.Message, error) {
	if err := unpack(a, m); err != nil {
		return nil, err
	}
	return []proto.Message{m}, nil
}

func unpack(a *anypb.Any, m proto.Message) error {
	if err := proto.Unmarshal(a.Value, m); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrUndecodable, a.MessageName(), err)
	}
	return nil
}

// EventType is the short name of an event's type and version, for
// printing: "v1.BookingAmended".
func EventType(value []byte) string {
	var a anypb.Any
	if err := proto.Unmarshal(value, &a); err != nil || a.MessageName() == "" {
		return "?"
	}
	name := string(a.MessageName())
	return strings.TrimPrefix(name, "strata.examples.booking.")
}
