package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/strata-go/strata/deadletter"
	"github.com/strata-go/strata/embedded"
	"github.com/strata-go/strata/examples/internal/kafkaflags"
)

// fromScratch is projection p's table built in the driver from the whole
// sample, and its dead set: what the blue-green rebuild must match.
func fromScratch(t *testing.T, p Projection, s Sample) ([]Booking, []Event) {
	t.Helper()
	d, dead := projected(t, p, Partitions, s.Events)
	return rows(t, p, d), dead
}

// checkDead checks a dead set read from the broker against the driver's.
func checkDead(t *testing.T, name string, got []deadletter.Record, want []Event) {
	t.Helper()
	var events []Event
	for _, r := range got {
		if r.Topic != EventsTopic || r.Reason != deadletter.ReasonProcessing {
			t.Errorf("dead set of %s: %s record of %s", name, r.Reason, r.Topic)
		}
		events = append(events, Event{string(r.Key), r.Value})
	}
	byKey := func(a, b Event) int { return strings.Compare(a.BookingID, b.BookingID) }
	slices.SortFunc(events, byKey)
	want = slices.Clone(want)
	slices.SortFunc(want, byKey)
	if !slices.EqualFunc(events, want, func(a, b Event) bool { return a.BookingID == b.BookingID && bytes.Equal(a.Value, b.Value) }) {
		t.Errorf("dead set of %s: %d records %v, want %d %v", name, len(events), events, len(want), want)
	}
}

// TestBlueGreenOnBroker runs the rebuild on the embedded broker, with
// events written while v2 catches up: each projection's table equals the
// same projection built from scratch over every event (in the driver),
// offsets included, and each dead set holds exactly the unknown events.
func TestBlueGreenOnBroker(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	conn, err := (&kafkaflags.Flags{}).Connect(ctx, topics...)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cl, err := conn.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	s := NewSample(16)
	history, live := s.Split()
	if s.Unknown == 0 || len(live) == 0 || s.V1 == 0 || s.V2 == 0 {
		t.Fatalf("the sample has %d v1, %d v2, %d unknown events, %d live", s.V1, s.V2, s.Unknown, len(live))
	}
	if err := Produce(ctx, cl, history); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	res, err := BlueGreen(ctx, conn, t.TempDir(), slog.New(slog.DiscardHandler), &log, func(ctx context.Context) error {
		return Produce(ctx, cl, live)
	})
	if err != nil {
		t.Fatalf("BlueGreen: %v\n%s", err, &log)
	}
	for _, c := range []struct {
		p    Projection
		got  []Booking
		dead []deadletter.Record
	}{{ProjectionV1, res.V1, res.Dead1}, {ProjectionV2, res.V2, res.Dead2}} {
		want, dead := fromScratch(t, c.p, s)
		if len(want) != 16 {
			t.Fatalf("%s from scratch: %d rows, want 16", c.p.Name, len(want))
		}
		if !slices.Equal(c.got, want) {
			t.Errorf("%s on the broker:\n%+v\nfrom scratch:\n%+v", c.p.Name, c.got, want)
		}
		checkDead(t, c.p.Name, c.dead, dead)
	}
	if !strings.Contains(log.String(), "the read model switched from v1 to v2") {
		t.Errorf("no switch reported:\n%s", &log)
	}
}

// TestMainRuns runs the program as `go run ./examples/projections` does,
// on a cluster of its own given with -brokers: it prints both tables as
// built from scratch and the dead sets. A second run on the same cluster
// finds the first's events and refuses.
func TestMainRuns(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{})
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	args := []string{"-brokers", strings.Join(c.Addrs(), ","), "-state-dir", t.TempDir()}
	var stdout, stderr bytes.Buffer
	if err := run(ctx, args, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\nstderr:\n%s", err, &stderr)
	}
	s := NewSample(16)
	v1, _ := fromScratch(t, ProjectionV1, s)
	v2, _ := fromScratch(t, ProjectionV2, s)
	var t1, t2 strings.Builder
	printRows(&t1, v1, false)
	printRows(&t2, v2, true)
	out := stdout.String()
	for _, want := range []string{
		"produced 37 booking events to projections-booking-events: 19 of schema v1, 15 of v2, 3 of a type no projection knows\n",
		"projection v2 caught up (lag 0): the read model switched from v1 to v2\n",
		"read model of projection v1 (16 bookings):\n" + t1.String(),
		"read model of projection v2, serving now (16 bookings):\n" + t2.String(),
		"dead set of projection v1 (3 records):\n",
		"dead set of projection v2 (3 records):\n",
		"key B002  v3.BookingCheckedIn  processing\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// What is logged is the dead-lettering of the unknown events, by
	// each projection.
	for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		if !strings.Contains(line, "record failed; skipped by policy") || !strings.Contains(line, UnknownType) {
			t.Errorf("logged: %s", line)
		}
	}

	err := run(ctx, args, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "holds records of an earlier run") {
		t.Fatalf("second run: %v, want a refusal naming the earlier run", err)
	}
}
