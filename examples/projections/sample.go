package main

import (
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/strata-go/strata/examples/projections/proto/bookingv1"
	"github.com/strata-go/strata/examples/projections/proto/bookingv2"
)

// UnknownType is the type of the events of the sample that no version of
// the projection knows: a schema newer than the projection's code.
const UnknownType = "strata.examples.booking.v3.BookingCheckedIn"

// Event is a record of the sample: a booking ID and an encoded event.
type Event struct {
	BookingID string
	Value     []byte
}

// Sample is a history of bookings as the booking service wrote it: the
// first release's events (schema version 1), then the current release's
// (version 2), and events of a release the projection has not seen yet
// (UnknownType).
type Sample struct {
	Events []Event
	// V1, V2 and Unknown count the events of each.
	V1, V2, Unknown int
}

// NewSample returns the history of n bookings. It is always the same for
// the same n.
func NewSample(n int) Sample {
	var s Sample
	add := func(id string, m proto.Message, v *int) {
		b, err := Encode(m)
		if err != nil {
			panic(err) // the sample's messages always encode
		}
		s.Events = append(s.Events, Event{id, b})
		*v++
	}
	guests := []string{"Ada", "Grace", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia"}
	channels := []string{"web", "phone", "agent"}
	room := func(i int) string { return fmt.Sprintf("%d%02d", 1+i%4, 1+i%17) }
	id := func(i int) string { return fmt.Sprintf("B%03d", i+1) }
	// The first release: bookings created, amended and cancelled in
	// schema version 1.
	cancelled := map[int]bool{}
	for i := range n {
		if i%3 == 2 {
			continue // created by the second release
		}
		add(id(i), &bookingv1.BookingCreated{BookingId: id(i), Guest: guests[i%len(guests)], Room: room(i), Nights: int32(1 + i%5)}, &s.V1)
		switch i % 4 {
		case 1: // room and nights: split in two by the upcaster
			add(id(i), &bookingv1.BookingAmended{BookingId: id(i), Room: room(i + 7), Nights: int32(2 + i%3)}, &s.V1)
		case 3: // nights only
			add(id(i), &bookingv1.BookingAmended{BookingId: id(i), Nights: 7}, &s.V1)
		}
		if i%5 == 4 {
			add(id(i), &bookingv1.BookingCancelled{BookingId: id(i), Reason: "plans changed"}, &s.V1)
			cancelled[i] = true
		}
	}
	// The second release: schema version 2.
	for i := range n {
		if i%3 == 2 {
			add(id(i), &bookingv2.BookingCreated{BookingId: id(i), GuestName: guests[i%len(guests)], Room: room(i),
				Nights: int32(1 + i%5), Channel: channels[(i/3)%len(channels)]}, &s.V2)
		}
		if cancelled[i] {
			continue
		}
		if i%3 == 0 {
			add(id(i), &bookingv2.RoomChanged{BookingId: id(i), Room: room(i + 3)}, &s.V2)
		}
		if i%6 == 2 {
			add(id(i), &bookingv2.StayChanged{BookingId: id(i), Nights: 10}, &s.V2)
		}
		if i%7 == 5 {
			add(id(i), &bookingv2.BookingCancelled{BookingId: id(i), Reason: "duplicate booking"}, &s.V2)
			cancelled[i] = true
		}
	}
	// A release the projection does not know yet.
	for i := 1; i < n; i += 5 {
		if !cancelled[i] {
			s.Events = append(s.Events, Event{id(i), unknownEvent(id(i))})
			s.Unknown++
		}
	}
	return s
}

// unknownEvent is an event of UnknownType, encoded by hand as its
// release would: booking_id in field 1, a room key number in field 2.
func unknownEvent(id string) []byte {
	var msg []byte
	msg = protowire.AppendTag(msg, 1, protowire.BytesType)
	msg = protowire.AppendString(msg, id)
	msg = protowire.AppendTag(msg, 2, protowire.VarintType)
	msg = protowire.AppendVarint(msg, 42)
	b, err := proto.Marshal(&anypb.Any{TypeUrl: "type.googleapis.com/" + UnknownType, Value: msg})
	if err != nil {
		panic(err) // an Any always encodes
	}
	return b
}

// Split splits the sample in two: the history written before the
// rebuild, and the events written while it runs (the last third: the
// second release's last events and the unknown ones).
func (s Sample) Split() (history, live []Event) {
	k := len(s.Events) * 2 / 3
	return s.Events[:k], s.Events[k:]
}

// Records returns events as records of EventsTopic, keyed by booking ID,
// timestamped a millisecond apart from start.
func Records(events []Event, start time.Time) []*kgo.Record {
	recs := make([]*kgo.Record, len(events))
	for i, e := range events {
		recs[i] = &kgo.Record{Topic: EventsTopic, Key: []byte(e.BookingID), Value: e.Value,
			Timestamp: start.Add(time.Duration(i) * time.Millisecond)}
	}
	return recs
}
