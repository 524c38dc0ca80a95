package strata_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/deadletter"
	"github.com/strata-go/strata/embedded"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
)

// TestBadRecordDeadLetter runs a copy of "in" (3 partitions, int64 values)
// to "out" with the dead-letter policy, under both guarantees: the two
// records whose values are no int64 land in the dead-letter topic, which
// the app creates with 3 partitions, each in its input partition's number,
// with its key, value, timestamp and headers and the dead-letter headers;
// the good records are all copied.
func TestBadRecordDeadLetter(t *testing.T) {
	for _, g := range []strata.Guarantee{strata.AtLeastOnce, strata.ExactlyOnce} {
		t.Run(g.String(), func(t *testing.T) {
			c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "in", Partitions: 3}, {Name: "out", Partitions: 3}}})
			ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
			defer cancel()
			good := func(p int32, k string, v uint64) *kgo.Record {
				return &kgo.Record{Topic: "in", Partition: p, Key: []byte(k), Value: binary.BigEndian.AppendUint64(nil, v)}
			}
			bad := []*kgo.Record{
				{Topic: "in", Partition: 1, Key: []byte("b"), Value: []byte{1, 2, 3}, Headers: []kgo.RecordHeader{{Key: "trace", Value: []byte("t-1")}}},
				{Topic: "in", Partition: 2, Key: []byte("e"), Value: []byte("no number")},
			}
			pcl, err := c.Client(kgo.RecordPartitioner(kgo.ManualPartitioner()))
			if err != nil {
				t.Fatal(err)
			}
			defer pcl.Close()
			in := []*kgo.Record{good(0, "a", 1), good(1, "c", 3), bad[0], good(1, "d", 4), bad[1], good(2, "f", 6)}
			if err := pcl.ProduceSync(ctx, in...).FirstErr(); err != nil {
				t.Fatal(err)
			}
			cfg := testConfig(t, c, "dlq")
			cfg.Guarantee = g
			cfg.OnBadRecord = topology.BadRecordDeadLetter
			app := copyInt64s(t, cfg)
			r := start(t, app)
			if _, err := c.Consume(ctx, "dlq-dead-letter", 2); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Consume(ctx, "out", 4); err != nil {
				t.Fatal(err)
			}
			r.stopAndWait(t)
			// Everything committed, once.
			out := readUntilMarker(t, c, "out", "marker")
			dead := readUntilMarker(t, c, "dlq-dead-letter", "marker")
			if len(dead) != 2 {
				t.Fatalf("%d dead-letter records, want 2", len(dead))
			}

			var got []string
			for _, rec := range out {
				got = append(got, fmt.Sprintf("%s=%d", rec.Key, binary.BigEndian.Uint64(rec.Value)))
			}
			slices.Sort(got)
			if want := "a=1 c=3 d=4 f=6"; strings.Join(got, " ") != want {
				t.Errorf("output %v, want %s", got, want)
			}
			for _, rec := range dead {
				d, err := deadletter.Parse(rec)
				if err != nil {
					t.Fatal(err)
				}
				var src *kgo.Record
				for _, b := range bad {
					if b.Partition == d.Partition && b.Offset == d.Offset {
						src = b
					}
				}
				if src == nil {
					t.Fatalf("dead-letter record for in[%d]@%d, which is no bad record", d.Partition, d.Offset)
				}
				if d.Topic != "in" || rec.Partition != src.Partition || string(d.Key) != string(src.Key) || string(d.Value) != string(src.Value) ||
					!d.Timestamp.Equal(src.Timestamp) || fmt.Sprint(d.Headers) != fmt.Sprint(src.Headers) {
					t.Errorf("dead letter %+v in partition %d, want the record %+v", d, rec.Partition, src)
				}
				if d.Reason != deadletter.ReasonDeserialization || !strings.Contains(d.Message, "value") {
					t.Errorf("reason %q, message %q: want deserialization, naming the value", d.Reason, d.Message)
				}
			}
			if m := app.Metrics(); m.SkippedRecords != 2 || m.Processed != 4 {
				t.Errorf("Metrics() = %+v, want 2 skipped and 4 processed", m)
			}
			parts, err := c.Admin().ListTopics(ctx, "dlq-dead-letter")
			if err != nil {
				t.Fatal(err)
			}
			if n := len(parts["dlq-dead-letter"].Partitions); n != 3 {
				t.Errorf("dead-letter topic has %d partitions, want 3 (as many as in)", n)
			}
		})
	}
}

// failOn forwards each value upper-cased, then fails the value "boom".
type failOn struct {
	ctx topology.Context[string, string]
}

func (p *failOn) Init(ctx topology.Context[string, string]) error { p.ctx = ctx; return nil }
func (p *failOn) Close() error                                    { return nil }
func (p *failOn) Process(r topology.Record[string, string]) error {
	if err := p.ctx.Forward(topology.WithValue(r, strings.ToUpper(r.Value))); err != nil {
		return err
	}
	if r.Value == "boom" {
		return errBoom
	}
	return nil
}

// TestProcessingErrorDeadLetter: under exactly-once with the dead-letter
// processing-error policy, a record the processor fails goes to the
// dead-letter topic, once, committed; the output the processor forwarded
// before failing stays, and the records after it are processed.
func TestProcessingErrorDeadLetter(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "in"}, {Name: "out"}}})
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	var in []*kgo.Record
	for _, v := range []string{"a", "boom", "b"} {
		in = append(in, &kgo.Record{Topic: "in", Key: []byte("k"), Value: []byte(v)})
	}
	if err := c.Produce(ctx, in...); err != nil {
		t.Fatal(err)
	}
	b := topology.NewBuilder()
	kstream.Process(kstream.From(b, "in", serde.String(), serde.String()),
		func() topology.Processor[string, string, string, string] { return &failOn{} }, kstream.Named("upper")).
		To("out", kstream.WithSerdes(serde.String(), serde.String()))
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, c, "failing")
	cfg.Guarantee = strata.ExactlyOnce
	cfg.OnProcessingError = topology.BadRecordDeadLetter
	app, err := strata.New(top, cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := start(t, app)
	if _, err := c.Consume(ctx, "out", 3); err != nil {
		t.Fatal(err)
	}
	r.stopAndWait(t)
	var got []string
	for _, rec := range readUntilMarker(t, c, "out", "marker") {
		got = append(got, string(rec.Value))
	}
	if strings.Join(got, " ") != "A BOOM B" {
		t.Errorf("output %v, want [A BOOM B]", got)
	}
	dead := readUntilMarker(t, c, "failing-dead-letter", "marker")
	if len(dead) != 1 {
		t.Fatalf("%d dead-letter records, want 1", len(dead))
	}
	d, err := deadletter.Parse(dead[0])
	if err != nil {
		t.Fatal(err)
	}
	if string(d.Value) != "boom" || d.Topic != "in" || d.Offset != 1 || d.Reason != deadletter.ReasonProcessing || !strings.Contains(d.Message, `node "upper": boom`) {
		t.Errorf("dead letter %+v; want in@1 boom, reason processing, the node's error", d)
	}
	if m := app.Metrics(); m.FailedRecords != 1 || m.Processed != 2 {
		t.Errorf("Metrics() = %+v, want 1 failed and 2 processed", m)
	}
}
