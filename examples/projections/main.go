// Command projections is an event-sourced read model with schema evolution
// and a blue-green rebuild, after "Event Sourcing in production": the
// booking service writes events (BookingCreated, amendments,
// BookingCancelled) in Protobuf (proto/), first in version 1 of their
// schema, then in version 2 (a field added, a field renamed through a new
// field number, BookingAmended split into RoomChanged and StayChanged);
// a projection reads both through an upcaster (Upcast, upcast.go) and
// keeps a table of the current state of each booking (Topology,
// projection.go), each row recording the offset of the last event it
// applied. Events of a type the projection does not know go to the dead
// set (Config.OnProcessingError = dead-letter) and the projection goes on.
// The table is the read model, served through the interactive-query API
// (package query; ReadModel, readmodel.go).
//
// With no flags it starts an in-process Kafka broker, produces the sample
// history (sample.go), and runs the blue-green rebuild:
//
//  1. projection v1 (application "projections-v1") runs and serves the
//     read model;
//  2. projection v2, with new logic (ApplyV2) and its own application ID,
//     so its own consumer group with no committed offsets, starts beside
//     it from the earliest offset and builds its own table, while the
//     booking service goes on writing events, which both apply;
//  3. when v2's lag is zero (its committed offsets against the topic's
//     end offsets, through kadm: Lag, lag.go), the read model switches to
//     v2 with no pause (ReadModel.Switch), and v1 stops (its group and
//     internal topics can then be deleted);
//
// and prints both tables and the dead set:
//
//	go run ./examples/projections
//
// The other way to rebuild a projection is in place: stop every instance
// of it, reset its application and start it again with the new logic; the
// read model is unavailable, or stale, until it has caught up. The reset
// is what Kafka's kafka-streams-application-reset does (the input topics'
// committed offsets set to the earliest, the internal topics,
// "<application ID>-...-changelog" and "-repartition", deleted), and what
// Kafka Streams' cleanUp does (the local state directory removed). The
// `strata reset` command (cmd/strata) does it, and refuses while the
// application's consumer group has members:
//
//	strata reset -brokers b:9092 -app projections-v1 -dry-run
//	strata reset -brokers b:9092 -app projections-v1 -state-dir <dir>
//
// -dry-run prints the plan (the input offsets moved, the topics deleted,
// the directory wiped) and changes nothing; -state-dir wipes
// <dir>/<application ID> on the machine it runs on (elsewhere, run it
// there or call strata.CleanUp before Run). -to-datetime or -by-duration
// move the offsets to a time instead of the earliest, -input-topics names
// the inputs, and the dead-letter and retry topics are kept unless
// -include-dead-letter or -include-retry is given (docs/operations.md,
// "Rebuilding a projection").
//
// With -brokers it does the same on a real cluster, creating the events
// topic ("projections-booking-events") when missing; the projections'
// internal topics are prefixed by their application IDs
// ("projections-v1-...", "projections-v2-..."). It refuses to run when the
// events topic already holds records, which would be read with the
// sample's, unless -reuse is given. The flags for TLS and SASL, and the
// environment variables that can stand for them, are those of every
// example (examples/internal/kafkaflags; -help lists them).
//
// To regenerate the Go code of the events after changing a .proto file
// (buf and protoc-gen-go on PATH; CI builds the code checked in):
//
//	go generate ./examples/projections
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/deadletter"
	"github.com/strata-go/strata/examples/internal/kafkaflags"
	"github.com/strata-go/strata/topology"
)

// Partitions is the partition count of the events topic.
const Partitions = 3

func main() { kafkaflags.Main("projections", run) }

// options are the program's flags.
type options struct {
	kafka    *kafkaflags.Flags
	bookings int
	stateDir string
	reuse    bool
	timeout  time.Duration
	verbose  bool
}

// topics are the example's topics. The events topic is the sample's
// output: one holding records already would mix them with the sample.
var topics = []kafkaflags.Topic{{Name: EventsTopic, Partitions: Partitions, Output: true}}

// Result is what a run found: the rows of each projection, each caught up
// with every event (V2 read through the read model, after the switch),
// and the dead set of each.
type Result struct {
	Sample Sample
	V1, V2 []Booking
	Dead1  []deadletter.Record
	Dead2  []deadletter.Record
}

// run is the whole program, given its arguments and where to write.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o options
	fs := flag.NewFlagSet("projections", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o.kafka = kafkaflags.Register(fs, nil)
	fs.IntVar(&o.bookings, "bookings", 16, "number of bookings in the sample")
	fs.StringVar(&o.stateDir, "state-dir", "", "`directory` for the projections' state (default: a temporary directory)")
	fs.BoolVar(&o.reuse, "reuse", false, "run even if the events topic holds records of an earlier run")
	fs.DurationVar(&o.timeout, "timeout", 60*time.Second, "give up after this long")
	fs.BoolVar(&o.verbose, "v", false, "log at info level (default: warnings only)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	case o.bookings < 1:
		return fmt.Errorf("-bookings must be at least 1, got %d", o.bookings)
	}
	level := slog.LevelWarn
	if o.verbose {
		level = slog.LevelInfo
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()

	conn, err := o.kafka.Open(ctx, o.reuse, topics...)
	if err != nil {
		return err
	}
	defer conn.Close()
	remove, err := kafkaflags.TempDir(&o.stateDir, "projections")
	if err != nil {
		return err
	}
	defer remove()
	sample := NewSample(o.bookings)
	history, live := sample.Split()
	cl, err := conn.Client()
	if err != nil {
		return err
	}
	defer cl.Close()
	if err := Produce(ctx, cl, history); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "produced %d booking events to %s: %d of schema v1, %d of v2, %d of a type no projection knows\n",
		len(sample.Events), EventsTopic, sample.V1, sample.V2, sample.Unknown)
	fmt.Fprintf(stdout, "  %d before the rebuild, %d while projection v2 catches up\n\n", len(history), len(live))

	res, err := BlueGreen(ctx, conn, o.stateDir, logger, stdout, func(ctx context.Context) error {
		return Produce(ctx, cl, live)
	})
	if err != nil {
		return err
	}
	res.Sample = sample
	printResult(stdout, res)
	return nil
}

// BlueGreen runs projection v1 until it has caught up, serving the read
// model, then rebuilds it as v2 beside it: it starts v2 from the earliest
// offset, calls live (the events the service goes on writing meanwhile,
// which both projections apply), waits until v2's lag is zero, and
// switches the read model to v2. Then it stops v1 and v2 and returns both
// tables, each caught up with every event, and both dead sets. It says
// what it does on w.
func BlueGreen(ctx context.Context, conn *kafkaflags.Conn, stateDir string, logger *slog.Logger, w io.Writer, live func(context.Context) error) (Result, error) {
	var res Result
	blue, err := Start(ctx, conn, ProjectionV1, stateDir, logger)
	if err != nil {
		return res, err
	}
	defer blue.Stop()
	if err := blue.WaitCaughtUp(ctx, conn); err != nil {
		return res, err
	}
	readModel := NewReadModel(blue.Side)
	rows, err := readModel.All(ctx)
	if err != nil {
		return res, err
	}
	fmt.Fprintf(w, "projection v1 caught up (lag 0) and serves the read model: %d bookings\n", len(rows))

	green, err := Start(ctx, conn, ProjectionV2, stateDir, logger)
	if err != nil {
		return res, err
	}
	defer green.Stop()
	fmt.Fprintln(w, "projection v2 started beside it, from the earliest offset")
	if err := live(ctx); err != nil {
		return res, err
	}
	if err := green.WaitCaughtUp(ctx, conn); err != nil {
		return res, err
	}
	old := readModel.Switch(green.Side)
	fmt.Fprintf(w, "projection v2 caught up (lag 0): the read model switched from %s to %s\n",
		old.Projection.Name, readModel.Serving().Projection.Name)

	// For the comparison printed: v1's table as it is when it too has
	// applied every event.
	if err := blue.WaitCaughtUp(ctx, conn); err != nil {
		return res, err
	}
	if res.V1, err = Rows(ctx, blue.Side.Store); err != nil {
		return res, err
	}
	if err := blue.Stop(); err != nil {
		return res, fmt.Errorf("projection v1: %w", err)
	}
	fmt.Fprintln(w, "projection v1 stopped")
	if res.V2, err = readModel.All(ctx); err != nil {
		return res, err
	}
	if res.Dead1, err = DeadSet(ctx, blue.App); err != nil {
		return res, err
	}
	if res.Dead2, err = DeadSet(ctx, green.App); err != nil {
		return res, err
	}
	if err := green.Stop(); err != nil {
		return res, fmt.Errorf("projection v2: %w", err)
	}
	return res, nil
}

// Produce writes events to EventsTopic and waits for them to be written.
func Produce(ctx context.Context, cl *kgo.Client, events []Event) error {
	if err := cl.ProduceSync(ctx, Records(events, time.Now())...).FirstErr(); err != nil {
		return fmt.Errorf("produce the booking events: %w", err)
	}
	return nil
}

// Running is a projection's application, running.
type Running struct {
	Projection Projection
	App        *strata.App
	Side       *Side
	stop       context.CancelFunc
	done       chan struct{}
	err        error
}

// Start starts projection p's application, exactly-once, with failed
// records dead-lettered, its state under stateDir/<name>.
func Start(ctx context.Context, conn *kafkaflags.Conn, p Projection, stateDir string, logger *slog.Logger) (*Running, error) {
	top, err := Topology(p)
	if err != nil {
		return nil, err
	}
	app, err := strata.New(top, strata.Config{
		ApplicationID:     p.ApplicationID,
		Brokers:           conn.Seeds,
		ClientOptions:     conn.Options,
		Logger:            logger.With("projection", p.Name),
		StateDir:          filepath.Join(stateDir, p.Name),
		Guarantee:         strata.ExactlyOnce,
		OnProcessingError: topology.BadRecordDeadLetter,
	})
	if err != nil {
		return nil, fmt.Errorf("projection %s: %w", p.Name, err)
	}
	side, err := NewSide(p, app)
	if err != nil {
		return nil, err
	}
	runCtx, stop := context.WithCancel(ctx)
	r := &Running{Projection: p, App: app, Side: side, stop: stop, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.err = app.Run(runCtx)
	}()
	return r, nil
}

// WaitCaughtUp waits until the projection's lag is zero: it has applied
// every event written so far.
func (r *Running) WaitCaughtUp(ctx context.Context, conn *kafkaflags.Conn) error {
	if err := WaitCaughtUp(ctx, conn.Admin(), r.Projection.ApplicationID, EventsTopic, r.done); err != nil {
		return errors.Join(err, r.Stop())
	}
	return nil
}

// Stop stops the application and returns Run's error. It may be called
// more than once.
func (r *Running) Stop() error {
	r.stop()
	<-r.done
	return r.err
}

// DeadSet lists the dead set of a projection's application (its first
// page, which the sample's few dead records fit in).
func DeadSet(ctx context.Context, app *strata.App) ([]deadletter.Record, error) {
	ds, err := app.DeadSet()
	if err != nil {
		return nil, err
	}
	page, err := ds.List(ctx, deadletter.Query{Count: deadletter.MaxCount})
	if err != nil {
		return nil, fmt.Errorf("list the dead set: %w", err)
	}
	return page.Records, nil
}

// printResult prints both projections' tables and their dead sets.
func printResult(w io.Writer, r Result) {
	fmt.Fprintf(w, "\nread model of projection v1 (%d bookings):\n", len(r.V1))
	printRows(w, r.V1, false)
	fmt.Fprintf(w, "\nread model of projection v2, serving now (%d bookings):\n", len(r.V2))
	printRows(w, r.V2, true)
	for _, d := range []struct {
		name string
		recs []deadletter.Record
	}{{"v1", r.Dead1}, {"v2", r.Dead2}} {
		fmt.Fprintf(w, "\ndead set of projection %s (%d records):\n", d.name, len(d.recs))
		for _, rec := range d.recs {
			fmt.Fprintf(w, "  %s[%d]@%d  key %s  %s  %s\n", rec.Topic, rec.Partition, rec.Offset, rec.Key, EventType(rec.Value), rec.Reason)
		}
	}
}

// printRows prints a table of bookings; v2 adds its columns.
func printRows(w io.Writer, rows []Booking, v2 bool) {
	for _, b := range rows {
		fmt.Fprintf(w, "  %s  %-8s room %s  %2d nights  %-9s", b.ID, b.Guest, b.Room, b.Nights, b.Status)
		if v2 {
			fmt.Fprintf(w, "  %-7s  %d amendments  %-17s", b.Channel, b.Amendments, b.CancelReason)
		}
		fmt.Fprintf(w, "  %d events, last at partition %d offset %d\n", b.Events, b.Partition, b.Offset)
	}
}
