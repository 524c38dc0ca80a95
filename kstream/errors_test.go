package kstream_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/strata-go/strata/deadletter"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
)

func TestBuildErrors(t *testing.T) {
	type S = kstream.Stream[string, string]
	from := func(b *topology.Builder) S { return kstream.From(b, "in", serde.String(), serde.String()) }
	cases := []struct {
		name  string
		build func(b *topology.Builder)
		want  []string
	}{
		{"nil Filter predicate", func(b *topology.Builder) {
			from(b).Filter(nil, kstream.Named("f")).To("out")
		}, []string{`Filter "f": nil predicate`}},
		{"nil FilterNot predicate", func(b *topology.Builder) {
			from(b).FilterNot(nil).To("out")
		}, []string{`FilterNot "KSTREAM-FILTER-0000000001": nil predicate`}},
		{"nil MapValues function", func(b *topology.Builder) {
			kstream.MapValues[string, string, string](from(b), nil).To("out")
		}, []string{`MapValues "KSTREAM-MAPVALUES-0000000001": nil function`}},
		{"nil Map function", func(b *topology.Builder) {
			kstream.Map[string, string, string, string](from(b), nil).To("out")
		}, []string{`Map "KSTREAM-MAP-0000000001": nil function`}},
		{"nil FlatMap function", func(b *topology.Builder) {
			kstream.FlatMap[string, string, string, string](from(b), nil).To("out")
		}, []string{`FlatMap "KSTREAM-FLATMAP-0000000001": nil function`}},
		{"nil FlatMapValues function", func(b *topology.Builder) {
			kstream.FlatMapValues[string, string, string](from(b), nil).To("out")
		}, []string{`FlatMapValues "KSTREAM-FLATMAPVALUES-0000000001": nil function`}},
		{"nil SelectKey function", func(b *topology.Builder) {
			kstream.SelectKey[string, string, string](from(b), nil).To("out")
		}, []string{`SelectKey "KSTREAM-KEY-SELECT-0000000001": nil function`}},
		{"nil Peek function", func(b *topology.Builder) {
			from(b).Peek(nil).To("out")
		}, []string{`Peek "KSTREAM-PEEK-0000000001": nil function`}},
		{"nil Foreach function", func(b *topology.Builder) {
			from(b).Foreach(nil)
		}, []string{`Foreach "KSTREAM-FOREACH-0000000001": nil function`}},
		{"nil Print writer", func(b *topology.Builder) {
			from(b).Print(nil)
		}, []string{`Print "KSTREAM-PRINTER-0000000001": nil writer`}},
		{"nil Process supplier", func(b *topology.Builder) {
			kstream.Process[string, string, string, string](from(b), nil).To("out")
		}, []string{`Process "KSTREAM-PROCESSOR-0000000001": nil processor supplier`}},
		{"Stores on Filter", func(b *topology.Builder) {
			from(b).Filter(func(_, _ string) bool { return true }, kstream.WithStores("s")).To("out")
		}, []string{`Filter "KSTREAM-FILTER-0000000001": option WithStores does not apply (Filter takes Named)`}},
		{"Topics on To", func(b *topology.Builder) {
			from(b).To("out", kstream.Topics("x"), kstream.Named("sink"))
		}, []string{`To "sink": option Topics does not apply (To takes Named, WithSerdes, WithPartitioner)`}},
		{"Serdes and Partitioner on From", func(b *topology.Builder) {
			kstream.From(b, "in", serde.String(), serde.String(),
				kstream.WithSerdes(serde.String(), serde.String()),
				kstream.WithPartitioner[string, string](nil)).To("out")
		}, []string{
			`From "KSTREAM-SOURCE-0000000000": option WithSerdes does not apply (From takes Named, Topics, WithTimestampExtractor)`,
			`From "KSTREAM-SOURCE-0000000000": option WithPartitioner does not apply`,
		}},
		{"Extractor on Map", func(b *topology.Builder) {
			kstream.Map(from(b), func(k, v string) (string, string) { return v, k },
				kstream.WithTimestampExtractor[string, string](nil)).To("out")
		}, []string{`Map "KSTREAM-MAP-0000000001": option WithTimestampExtractor does not apply`}},
		{"Partitioner on Process", func(b *topology.Builder) {
			kstream.Process(from(b), func() topology.Processor[string, string, string, string] { return &failing{} },
				kstream.WithPartitioner[string, string](nil)).To("out")
		}, []string{`Process "KSTREAM-PROCESSOR-0000000001": option WithPartitioner does not apply (Process takes Named, WithStores)`}},
		{"Serdes on Merge", func(b *topology.Builder) {
			s := from(b)
			s.Merge(s.Filter(func(_, _ string) bool { return true }), kstream.WithSerdes(serde.String(), serde.String())).To("out")
		}, []string{`Merge "KSTREAM-MERGE-0000000002": option WithSerdes does not apply`}},
		{"Stores on Split", func(b *topology.Builder) {
			from(b).Split(kstream.WithStores("x")).NoDefault()
		}, []string{`Split "KSTREAM-BRANCH-0000000001": option WithStores does not apply`}},
		{"zero Option", func(b *topology.Builder) {
			from(b).Peek(func(_, _ string) {}, kstream.Option{}).To("out")
		}, []string{`Peek "KSTREAM-PEEK-0000000001": zero Option`}},
		{"empty Named", func(b *topology.Builder) {
			from(b).Peek(func(_, _ string) {}, kstream.Named("")).To("out")
		}, []string{`Peek "KSTREAM-PEEK-0000000001": Named with an empty name`}},
		{"duplicate Named", func(b *topology.Builder) {
			s := from(b)
			s.Filter(func(_, _ string) bool { return true }, kstream.Named("twice")).To("a")
			s.Peek(func(_, _ string) {}, kstream.Named("twice")).To("b")
		}, []string{`node name "twice" is used more than once`}},
		{"WithSerdes of the wrong types", func(b *topology.Builder) {
			from(b).To("out", kstream.Named("sink"), kstream.WithSerdes(serde.Int64(), serde.String()))
		}, []string{`To "sink": WithSerdes is kstream.serdes[int64,string], want serdes for key string and value string`}},
		{"extractor of the wrong types", func(b *topology.Builder) {
			kstream.From(b, "in", serde.String(), serde.String(),
				kstream.WithTimestampExtractor(func(topology.Record[string, int64], time.Time) (time.Time, error) { return time.Time{}, nil }),
			).To("out")
		}, []string{`From "KSTREAM-SOURCE-0000000000": timestamp extractor is topology.TimestampExtractor[string,int64], want one for key string and value string`}},
		{"Merge with itself", func(b *topology.Builder) {
			s := from(b)
			s.Merge(s, kstream.Named("m")).To("out")
		}, []string{`Merge "m": cannot merge "KSTREAM-SOURCE-0000000000" with itself`}},
		{"Merge across builders", func(b *topology.Builder) {
			other := kstream.From(topology.NewBuilder(), "other", serde.String(), serde.String(), kstream.Named("other-source"))
			from(b).Merge(other, kstream.Named("m")).To("out")
		}, []string{`Merge "m": cannot merge "KSTREAM-SOURCE-0000000000" with "other-source", which belongs to another Builder`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := topology.NewBuilder()
			c.build(b)
			buildErr(t, b, c.want...)
		})
	}
}

type reading struct {
	Sensor string  `json:"sensor"`
	Value  float64 `json:"value"`
}

// TestSinkSerdeForCustomType: a struct has no default serde, so a sink for
// it needs WithSerdes or a serde registered on the builder, and Build says
// which sink lacks one.
func TestSinkSerdeForCustomType(t *testing.T) {
	toReading := func(k string, v float64) reading { return reading{Sensor: k, Value: v} }

	b := topology.NewBuilder()
	kstream.MapValues(kstream.From(b, "in", serde.String(), serde.Float64()), toReading).To("out", kstream.Named("readings-sink"))
	buildErr(t, b, `no serde for kstream_test.reading, needed by To "readings-sink" (value): register one with topology.RegisterSerde`)

	b = topology.NewBuilder()
	kstream.MapValues(kstream.From(b, "in", serde.String(), serde.Float64()), toReading).
		To("out", kstream.WithSerdes[string](nil, serde.JSON[reading]()))
	d := testutil.NewDriver(t, build(t, b), testutil.Config{})
	in := testutil.NewInputTopic(d, "in", serde.String(), serde.Float64())
	o := testutil.NewOutputTopic(d, "out", serde.String(), serde.Bytes())
	in.PipeAt("s1", 21.5, at(9))
	r := o.ReadRecord()
	if r.Key != "s1" || string(r.Value) != `{"sensor":"s1","value":21.5}` || r.Timestamp.UnixMilli() != 9 {
		t.Errorf("got %s=%s @%d, want s1={\"sensor\":\"s1\",\"value\":21.5} @9", r.Key, r.Value, r.Timestamp.UnixMilli())
	}
}

func TestBadRecordSkip(t *testing.T) {
	b := topology.NewBuilder()
	kstream.From(b, "in", serde.String(), serde.Int64()).To("out")
	d := testutil.NewDriver(t, build(t, b), testutil.Config{OnBadRecord: topology.BadRecordSkip, Partitions: map[string]int{"in": 2}})
	in := testutil.NewInputTopic(d, "in", serde.String(), serde.Int64())
	o := testutil.NewOutputTopic(d, "out", serde.String(), serde.Int64())
	in.Pipe("a", 1)
	for _, v := range [][]byte{{1, 2, 3}, []byte("not a number")} {
		if err := in.PipeRaw([]byte("a"), v, at(0)); err != nil {
			t.Fatalf("PipeRaw with BadRecordSkip: %v", err)
		}
	}
	in.Pipe("a", 2)
	expectKVs(t, o, testutil.KV("a", int64(1)), testutil.KV("a", int64(2)))
	if n := d.SkippedRecords(); n != 2 {
		t.Errorf("SkippedRecords() = %d, want 2", n)
	}
}

func TestBadRecordFail(t *testing.T) {
	b := topology.NewBuilder()
	kstream.From(b, "in", serde.String(), serde.Int64(),
		kstream.WithTimestampExtractor(func(r topology.Record[string, int64], _ time.Time) (time.Time, error) {
			if r.Value < 0 {
				return time.Time{}, errors.New("negative")
			}
			return r.Timestamp, nil
		}),
	).To("out")
	d := testutil.NewDriver(t, build(t, b), testutil.Config{Partitions: map[string]int{"in": 4}})
	in := testutil.NewInputTopic(d, "in", serde.String(), serde.Int64())
	o := testutil.NewOutputTopic(d, "out", serde.String(), serde.Int64())
	in.Pipe("k", 1)
	in.Pipe("k", 2)

	err := in.PipeRaw([]byte("k"), []byte{0xff}, at(0))
	var bad *topology.BadRecordError
	if !errors.As(err, &bad) {
		t.Fatalf("PipeRaw error %v: want a *topology.BadRecordError", err)
	}
	if want := (topology.BadRecordError{Topic: "in", Partition: kafkaPartition("k", 4), Offset: 2, Part: "value"}); bad.Topic != want.Topic || bad.Partition != want.Partition || bad.Offset != want.Offset || bad.Part != want.Part {
		t.Errorf("bad record at %s[%d]@%d (%s), want %s[%d]@%d (%s)", bad.Topic, bad.Partition, bad.Offset, bad.Part, want.Topic, want.Partition, want.Offset, want.Part)
	}
	if !errors.Is(err, serde.ErrInvalidLength) {
		t.Errorf("error %v does not wrap serde.ErrInvalidLength", err)
	}

	err = in.TryPipe("z", -1)
	if !errors.As(err, &bad) || bad.Topic != "in" || bad.Partition != kafkaPartition("z", 4) || bad.Offset != 0 || bad.Part != "timestamp" {
		t.Fatalf("TryPipe error %v: want a bad timestamp at in[%d]@0", err, kafkaPartition("z", 4))
	}
	if !errors.Is(err, topology.ErrInvalidTimestamp) {
		t.Errorf("error %v does not wrap topology.ErrInvalidTimestamp", err)
	}
	expectKVs(t, o, testutil.KV("k", int64(1)), testutil.KV("k", int64(2)))
	if n := d.SkippedRecords(); n != 0 {
		t.Errorf("SkippedRecords() = %d, want 0 with BadRecordFail", n)
	}
}

func TestPrintWriteErrorIsNodeError(t *testing.T) {
	b := topology.NewBuilder()
	kstream.From(b, "in", serde.String(), serde.String()).Print(failWriter{}, kstream.Named("print"))
	d := testutil.NewDriver(t, build(t, b), testutil.Config{})
	err := testutil.NewInputTopic(d, "in", serde.String(), serde.String()).TryPipe("k", "v")
	var ne *topology.NodeError
	if !errors.As(err, &ne) || ne.Node != "print" || !errors.Is(err, errBoom) {
		t.Errorf("TryPipe error %v: want a *topology.NodeError for node print wrapping errBoom", err)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errBoom }

func TestZeroStreamPanics(t *testing.T) {
	defer func() {
		msg, _ := recover().(string)
		if want := "kstream: operation on the zero Stream"; len(msg) < len(want) || msg[:len(want)] != want {
			t.Errorf("recovered %q, want a panic starting %q", msg, want)
		}
	}()
	b := topology.NewBuilder()
	branches := kstream.From(b, "in", serde.String(), serde.String()).Split().Branch("a", func(_, _ string) bool { return true }).NoDefault()
	branches["typo"].To("out")
}

func TestBadRecordDeadLetter(t *testing.T) {
	b := topology.NewBuilder()
	kstream.From(b, "in", serde.String(), serde.Int64()).To("out")
	d := testutil.NewDriver(t, build(t, b), testutil.Config{OnBadRecord: topology.BadRecordDeadLetter, Partitions: map[string]int{"in": 2}})
	in := testutil.NewInputTopic(d, "in", serde.String(), serde.Int64())
	o := testutil.NewOutputTopic(d, "out", serde.String(), serde.Int64())
	dead := testutil.NewOutputTopic(d, "test-dead-letter", serde.String(), serde.Bytes())
	in.Pipe("a", 1)
	if err := in.PipeRaw([]byte("a"), []byte{1, 2, 3}, at(7)); err != nil {
		t.Fatalf("PipeRaw with BadRecordDeadLetter: %v", err)
	}
	in.Pipe("a", 2)
	expectKVs(t, o, testutil.KV("a", int64(1)), testutil.KV("a", int64(2)))
	r, headers := onlyDeadLetter(t, dead)
	want := map[string]string{
		deadletter.HeaderException: deadletter.ReasonDeserialization,
		deadletter.HeaderTopic:     "in",
		deadletter.HeaderPartition: fmt.Sprint(kafkaPartition("a", 2)),
		deadletter.HeaderOffset:    "1",
	}
	for k, v := range want {
		if headers[k] != v {
			t.Errorf("header %s = %q, want %q", k, headers[k], v)
		}
	}
	if !strings.Contains(headers[deadletter.HeaderMessage], "value") {
		t.Errorf("message %q does not name the value", headers[deadletter.HeaderMessage])
	}
	if r.Key != "a" || string(r.Value) != "\x01\x02\x03" || r.Timestamp.UnixMilli() != 7 {
		t.Errorf("dead letter %s=%q @%d, want the record a=\"\\x01\\x02\\x03\" @7", r.Key, r.Value, r.Timestamp.UnixMilli())
	}
	if n := d.SkippedRecords(); n != 1 {
		t.Errorf("SkippedRecords() = %d, want 1", n)
	}
}
