package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/strata-go/strata/examples/projections/proto/bookingv1"
	"github.com/strata-go/strata/examples/projections/proto/bookingv2"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
)

// projected runs projection p in the driver over events, on an events
// topic of the given partitions: the driver, to query, and the keys and
// event types of the dead-letter records.
func projected(t *testing.T, p Projection, partitions int, events []Event) (*testutil.Driver, []Event) {
	t.Helper()
	top, err := Topology(p)
	if err != nil {
		t.Fatal(err)
	}
	d := testutil.NewDriver(t, top, testutil.Config{
		ApplicationID:     p.ApplicationID,
		Partitions:        map[string]int{EventsTopic: partitions},
		OnProcessingError: topology.BadRecordDeadLetter,
	})
	in := testutil.NewInputTopic(d, EventsTopic, serde.String(), serde.Bytes())
	for _, e := range events {
		in.Pipe(e.BookingID, e.Value)
	}
	out := testutil.NewOutputTopic(d, p.ApplicationID+"-dead-letter", serde.String(), serde.Bytes())
	var dead []Event
	for !out.IsEmpty() {
		kv := out.ReadKeyValue()
		dead = append(dead, Event{kv.Key, kv.Value})
	}
	if int(d.FailedRecords()) != len(dead) {
		t.Errorf("%d records failed, %d dead-lettered", d.FailedRecords(), len(dead))
	}
	return d, dead
}

func rows(t *testing.T, p Projection, d *testutil.Driver) []Booking {
	t.Helper()
	side, err := NewSide(p, d)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Rows(t.Context(), side.Store)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// history is a short history on one partition: offsets 0 to 5.
func history(t *testing.T) []Event {
	ev := func(id string, m proto.Message) Event { return Event{id, encode(t, m)} }
	return []Event{
		ev("B1", &bookingv1.BookingCreated{BookingId: "B1", Guest: "Ada", Room: "101", Nights: 2}),
		ev("B2", &bookingv2.BookingCreated{BookingId: "B2", GuestName: "Ken", Room: "201", Nights: 1, Channel: "web"}),
		ev("B1", &bookingv1.BookingAmended{BookingId: "B1", Room: "102", Nights: 3}),
		{"B2", unknownEvent("B2")},
		ev("B2", &bookingv2.StayChanged{BookingId: "B2", Nights: 4}),
		ev("B1", &bookingv1.BookingCancelled{BookingId: "B1", Reason: "plans changed"}),
	}
}

// TestProjectionInDriver: both versions of the projection over a history
// of both schema versions and an unknown event, row by row, with the
// offset of each row's last event; the unknown event in the dead set.
func TestProjectionInDriver(t *testing.T) {
	events := history(t)
	want := map[string][]Booking{
		"v1": {
			{ID: "B1", Guest: "Ada", Room: "102", Nights: 3, Status: StatusCancelled, Events: 3, Offset: 5},
			{ID: "B2", Guest: "Ken", Room: "201", Nights: 4, Status: StatusBooked, Events: 2, Offset: 4},
		},
		"v2": {
			{ID: "B1", Guest: "Ada", Room: "102", Nights: 3, Status: StatusCancelled, Channel: UnknownChannel, Amendments: 2,
				CancelReason: "plans changed", Events: 3, Offset: 5},
			{ID: "B2", Guest: "Ken", Room: "201", Nights: 4, Status: StatusBooked, Channel: "web", Amendments: 1, Events: 2, Offset: 4},
		},
	}
	for _, p := range []Projection{ProjectionV1, ProjectionV2} {
		t.Run(p.Name, func(t *testing.T) {
			d, dead := projected(t, p, 1, events)
			if got := rows(t, p, d); !slices.Equal(got, want[p.Name]) {
				t.Errorf("rows\n%+v, want\n%+v", got, want[p.Name])
			}
			if len(dead) != 1 || dead[0].BookingID != "B2" || !slices.Equal(dead[0].Value, events[3].Value) {
				t.Errorf("dead set %v, want the unknown event of B2", dead)
			}
		})
	}
}

// TestReadModelSwitch: the read model serves v1's row over HTTP, then
// v2's once switched.
func TestReadModelSwitch(t *testing.T) {
	events := history(t)
	d1, _ := projected(t, ProjectionV1, 1, events)
	d2, _ := projected(t, ProjectionV2, 1, events)
	blue, err := NewSide(ProjectionV1, d1)
	if err != nil {
		t.Fatal(err)
	}
	green, err := NewSide(ProjectionV2, d2)
	if err != nil {
		t.Fatal(err)
	}
	m := NewReadModel(blue)
	get := func() Booking {
		t.Helper()
		rec := httptest.NewRecorder()
		m.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/stores/bookings/get?key=B2", nil))
		var body struct {
			Key   string  `json:"key"`
			Value Booking `json:"value"`
		}
		if rec.Code != http.StatusOK {
			t.Fatalf("GET: %d %s", rec.Code, rec.Body)
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Key != "B2" {
			t.Fatalf("GET: %s: %v", rec.Body, err)
		}
		return body.Value
	}
	if b := get(); b.Channel != "" || b.Nights != 4 || b.Offset != 4 {
		t.Errorf("v1 serves %+v", b)
	}
	if old := m.Switch(green); old != blue || m.Serving() != green {
		t.Errorf("Switch returned %v, serving %v", old, m.Serving())
	}
	if b := get(); b.Channel != "web" || b.Amendments != 1 || b.Offset != 4 {
		t.Errorf("v2 serves %+v", b)
	}
	if b, ok, err := m.Get(context.Background(), "B1"); err != nil || !ok || b.CancelReason != "plans changed" {
		t.Errorf("Get(B1) = %+v, %v, %v", b, ok, err)
	}
}
