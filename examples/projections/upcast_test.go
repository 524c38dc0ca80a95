package main

import (
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/strata-go/strata/examples/projections/proto/bookingv1"
	"github.com/strata-go/strata/examples/projections/proto/bookingv2"
)

func encode(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestUpcast: events of both schema versions come out in the current one;
// the others are refused with the sentinel saying why.
func TestUpcast(t *testing.T) {
	garbledAny, err := proto.Marshal(&anypb.Any{TypeUrl: "type.googleapis.com/strata.examples.booking.v1.BookingCreated", Value: []byte{0xff, 0xff}})
	if err != nil {
		t.Fatal(err)
	}
	noType, err := proto.Marshal(&anypb.Any{Value: []byte{1}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		value   []byte
		want    []proto.Message
		wantErr error
	}{
		{"v1 created: guest renamed, channel added", encode(t, &bookingv1.BookingCreated{BookingId: "B1", Guest: "Ada", Room: "101", Nights: 2}),
			[]proto.Message{&bookingv2.BookingCreated{BookingId: "B1", GuestName: "Ada", Room: "101", Nights: 2, Channel: UnknownChannel}}, nil},
		{"v1 amended room and nights: split in two", encode(t, &bookingv1.BookingAmended{BookingId: "B1", Room: "202", Nights: 3}),
			[]proto.Message{&bookingv2.RoomChanged{BookingId: "B1", Room: "202"}, &bookingv2.StayChanged{BookingId: "B1", Nights: 3}}, nil},
		{"v1 amended room", encode(t, &bookingv1.BookingAmended{BookingId: "B1", Room: "202"}),
			[]proto.Message{&bookingv2.RoomChanged{BookingId: "B1", Room: "202"}}, nil},
		{"v1 amended nights", encode(t, &bookingv1.BookingAmended{BookingId: "B1", Nights: 4}),
			[]proto.Message{&bookingv2.StayChanged{BookingId: "B1", Nights: 4}}, nil},
		{"v1 amended nothing", encode(t, &bookingv1.BookingAmended{BookingId: "B1"}), nil, nil},
		{"v1 cancelled", encode(t, &bookingv1.BookingCancelled{BookingId: "B1", Reason: "r"}),
			[]proto.Message{&bookingv2.BookingCancelled{BookingId: "B1", Reason: "r"}}, nil},
		{"v2 created", encode(t, &bookingv2.BookingCreated{BookingId: "B2", GuestName: "Ken", Room: "303", Nights: 1, Channel: "web"}),
			[]proto.Message{&bookingv2.BookingCreated{BookingId: "B2", GuestName: "Ken", Room: "303", Nights: 1, Channel: "web"}}, nil},
		{"v2 room changed", encode(t, &bookingv2.RoomChanged{BookingId: "B2", Room: "404"}),
			[]proto.Message{&bookingv2.RoomChanged{BookingId: "B2", Room: "404"}}, nil},
		{"v2 stay changed", encode(t, &bookingv2.StayChanged{BookingId: "B2", Nights: 9}),
			[]proto.Message{&bookingv2.StayChanged{BookingId: "B2", Nights: 9}}, nil},
		{"v2 cancelled", encode(t, &bookingv2.BookingCancelled{BookingId: "B2", Reason: "dup"}),
			[]proto.Message{&bookingv2.BookingCancelled{BookingId: "B2", Reason: "dup"}}, nil},
		{"v3 type", unknownEvent("B3"), nil, ErrUnknownEventType},
		{"not an Any", []byte("{\"json\": true}"), nil, ErrUndecodable},
		{"Any of a garbled message", garbledAny, nil, ErrUndecodable},
		{"Any with no type", noType, nil, ErrUndecodable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Upcast(tt.value)
			if !errors.Is(err, tt.wantErr) || (err != nil) != (tt.wantErr != nil) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("%d events %v, want %d %v", len(got), got, len(tt.want), tt.want)
			}
			for i := range got {
				if !proto.Equal(got[i], tt.want[i]) {
					t.Errorf("event %d: %v, want %v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

// TestRenamedFieldNeedsTheUpcaster: version 1 bytes read with the version
// 2 schema lose the guest, whose field number changed: what the upcaster
// is for.
func TestRenamedFieldNeedsTheUpcaster(t *testing.T) {
	v1, err := proto.Marshal(&bookingv1.BookingCreated{BookingId: "B1", Guest: "Ada"})
	if err != nil {
		t.Fatal(err)
	}
	var v2 bookingv2.BookingCreated
	if err := proto.Unmarshal(v1, &v2); err != nil {
		t.Fatal(err)
	}
	if v2.BookingId != "B1" || v2.GuestName != "" {
		t.Errorf("v1 bytes as v2: %v, want the ID and no guest name", &v2)
	}
	if got := EventType(encode(t, &bookingv1.BookingCreated{})); got != "v1.BookingCreated" {
		t.Errorf("EventType %q", got)
	}
}
