package main

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/strata-go/strata/examples/projections/proto/bookingv2"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/topology"
)

// The example's topic and store. Every topic name starts with
// "projections-": the events topic, and the projections' internal topics,
// prefixed by their application IDs.
const (
	// EventsTopic holds the booking events, keyed by booking ID, of every
	// schema version (see Upcast).
	EventsTopic = "projections-booking-events"
	// StoreName names the read model's store in each projection, and so
	// its changelog ("<application ID>-bookings-changelog").
	StoreName = "bookings"
)

// Booking statuses.
const (
	StatusBooked    = "booked"
	StatusCancelled = "cancelled"
)

// Booking is a row of the read model: the current state of one booking,
// and where the last event applied to it is in EventsTopic
// (traceability: the row can be traced to the event that made it so).
type Booking struct {
	// ID is the booking's ID, the events' key.
	ID     string `json:"id"`
	Guest  string `json:"guest"`
	Room   string `json:"room"`
	Nights int32  `json:"nights"`
	Status string `json:"status"`
	// Channel, Amendments and CancelReason are projection version 2's:
	// version 1 leaves them empty.
	Channel      string `json:"channel,omitempty"`
	Amendments   int    `json:"amendments,omitempty"`
	CancelReason string `json:"cancel_reason,omitempty"`
	// Events counts the events applied (a version 1 amendment split in
	// two counts once: it is one record).
	Events int `json:"events"`
	// Partition and Offset locate the last event applied.
	Partition int32 `json:"partition"`
	Offset    int64 `json:"offset"`
}

// Projection is a version of the projection's logic and the application
// that runs it.
type Projection struct {
	// Name is what the program prints: "v1", "v2".
	Name string
	// ApplicationID is the application's ID: each version has its own,
	// so its own consumer group, offsets and state, and a new version
	// starts from the earliest offset beside the old one.
	ApplicationID string
	// Apply applies one event of the current schema to a booking's row.
	Apply func(b Booking, e proto.Message) Booking
}

// The two versions of the projection.
var (
	// ProjectionV1 keeps a booking's guest, room, nights and status.
	ProjectionV1 = Projection{Name: "v1", ApplicationID: "projections-v1", Apply: ApplyV1}
	// ProjectionV2 adds the channel, the number of amendments and the
	// reason of a cancellation.
	ProjectionV2 = Projection{Name: "v2", ApplicationID: "projections-v2", Apply: ApplyV2}
)

// ApplyV1 is version 1 of the projection's logic.
func ApplyV1(b Booking, e proto.Message) Booking {
	switch e := e.(type) {
	case *bookingv2.BookingCreated:
		b.Guest, b.Room, b.Nights, b.Status = e.GuestName, e.Room, e.Nights, StatusBooked
	case *bookingv2.RoomChanged:
		b.Room = e.Room
	case *bookingv2.StayChanged:
		b.Nights = e.Nights
	case *bookingv2.BookingCancelled:
		b.Status = StatusCancelled
	}
	return b
}

// ApplyV2 is version 2 of the projection's logic: version 1's, and the
// channel, amendments and cancellation reason.
func ApplyV2(b Booking, e proto.Message) Booking {
	b = ApplyV1(b, e)
	switch e := e.(type) {
	case *bookingv2.BookingCreated:
		b.Channel = e.Channel
	case *bookingv2.RoomChanged, *bookingv2.StayChanged:
		b.Amendments++
	case *bookingv2.BookingCancelled:
		b.CancelReason = e.Reason
	}
	return b
}

// Topology builds projection p:
//
//	projections-booking-events ─▶ project (upcast, apply; store "bookings")
//
// The projection is a table, the store "bookings": a booking's current
// state by booking ID, kept in a persistent store with a changelog, read
// through the interactive-query API (query.KeyValue[string, Booking]). It
// is written by a processor (kstream.Process) rather than by an
// aggregation, because each row records the offset of the event that last
// changed it, which only the processor API's RecordMetadata tells. The
// processor keeps the key, so nothing is repartitioned: the events of a
// booking are in one partition, in order, and so is its row.
//
// An event that Upcast refuses (an unknown type, bytes that are not an
// event) fails the processor with an error naming it: under
// Config.OnProcessingError = topology.BadRecordDeadLetter (newApp) it goes
// to the dead set, and the projection goes on.
func Topology(p Projection) (*topology.Topology, error) {
	b := topology.NewBuilder()
	state.AddKeyValueStore(b, StoreName, serde.String(), serde.JSON[Booking]())
	events := kstream.From(b, EventsTopic, serde.String(), serde.Bytes(), kstream.Named("events"))
	kstream.Process(events, func() topology.Processor[string, []byte, string, Booking] {
		return &projector{apply: p.Apply}
	}, kstream.Named("project"), kstream.WithStores(StoreName))
	return b.Build()
}

// projector applies the events to the rows of the store.
type projector struct {
	apply func(Booking, proto.Message) Booking
	ctx   topology.Context[string, Booking]
	rows  state.KeyValueStore[string, Booking]
}

func (p *projector) Init(ctx topology.Context[string, Booking]) error {
	p.ctx = ctx
	rows, err := state.LookupKeyValue[string, Booking](ctx, StoreName)
	p.rows = rows
	return err
}

// Process upcasts an event, applies it to its booking's row and records
// where the event is. It forwards the new row, for a topology that would
// also publish the read model's changes.
func (p *projector) Process(r topology.Record[string, []byte]) error {
	md, _ := p.ctx.RecordMetadata()
	if r.Value == nil {
		p.ctx.SkipRecord("null event")
		return nil
	}
	events, err := Upcast(r.Value)
	if err != nil {
		return fmt.Errorf("booking %q, event at %s[%d]@%d: %w", r.Key, md.Topic, md.Partition, md.Offset, err)
	}
	row, _, err := p.rows.Get(r.Key)
	if err != nil {
		return fmt.Errorf("read booking %q: %w", r.Key, err)
	}
	row.ID = r.Key
	for _, e := range events {
		row = p.apply(row, e)
	}
	row.Events++
	row.Partition, row.Offset = md.Partition, md.Offset
	if err := p.rows.Put(r.Key, row); err != nil {
		return fmt.Errorf("write booking %q: %w", r.Key, err)
	}
	return p.ctx.Forward(topology.WithValue(r, row))
}

func (p *projector) Close() error { return nil }
