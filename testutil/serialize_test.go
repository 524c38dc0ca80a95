package testutil_test

import (
	"errors"
	"testing"

	"github.com/strata-go/strata/deadletter"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
)

// TestSerializationErrorPolicy: a sink's serializer fails on "boom"; the
// production-error policy applies (Kafka's KIP-399), not the processing
// one: under fail the error is a SerializationError, under skip the record
// is skipped and the next goes on, under dead-letter the input record goes
// to the dead-letter topic with reason "production".
func TestSerializationErrorPolicy(t *testing.T) {
	errCannot := errors.New("cannot serialize boom")
	picky := serde.Func(func(dst []byte, _ string, v string) ([]byte, error) {
		if v == "boom" {
			return nil, errCannot
		}
		return append(dst, v...), nil
	}, func(_ string, b []byte) (string, error) { return string(b), nil })
	for _, policy := range []topology.BadRecordPolicy{topology.BadRecordFail, topology.BadRecordSkip, topology.BadRecordDeadLetter} {
		t.Run(policy.String(), func(t *testing.T) {
			b := topology.NewBuilder()
			topology.AddSource(b, "src", topology.Source[string, string]{Topics: []string{"in"}, KeySerde: serde.String(), ValueSerde: serde.String()})
			topology.AddSink(b, "sink", topology.Sink[string, string]{Topic: "out", KeySerde: serde.String(), ValueSerde: picky}, "src")
			top, err := b.Build()
			if err != nil {
				t.Fatal(err)
			}
			// The processing-error policy says fail: it must not
			// decide.
			d := testutil.NewDriver(t, top, testutil.Config{OnProductionError: policy})
			in := testutil.NewInputTopic(d, "in", serde.String(), serde.String())
			out := testutil.NewOutputTopic(d, "out", serde.String(), serde.String())
			in.Pipe("k", "a")
			err = in.TryPipe("k", "boom")
			if policy == topology.BadRecordFail {
				var se *topology.SerializationError
				if !errors.As(err, &se) || se.Part != "value" || se.Topic != "out" || !errors.Is(err, errCannot) {
					t.Fatalf("TryPipe: %v, want a SerializationError of the value for out", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("TryPipe: %v, want the record handled by the policy", err)
			}
			in.Pipe("k", "b")
			if got, want := out.ReadValues(), []string{"a", "b"}; !equal(got, want) {
				t.Errorf("out: %q, want %q", got, want)
			}
			if got := d.FailedRecords(); got != 1 {
				t.Errorf("FailedRecords = %d, want 1", got)
			}
			if policy == topology.BadRecordSkip {
				return
			}
			dead := testutil.NewOutputTopic(d, deadletter.DefaultTopic("test"), serde.String(), serde.String())
			checkDeadLetter(t, dead, deadletter.ReasonProduction, "cannot serialize boom")
		})
	}
}
