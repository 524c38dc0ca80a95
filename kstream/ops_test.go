package kstream_test

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
)

func TestFilterFilterNotMapValues(t *testing.T) {
	b := topology.NewBuilder()
	s := kstream.From(b, "in", serde.String(), serde.String())
	kept := s.Filter(func(_, v string) bool { return v != "" })
	kstream.MapValues(kept, func(k, v string) string { return k + ":" + strings.ToUpper(v) }).To("upper")
	s.FilterNot(func(k, _ string) bool { return strings.HasPrefix(k, "x") }).To("not-x")
	d := testutil.NewDriver(t, build(t, b), testutil.Config{})
	in := testutil.NewInputTopic(d, "in", serde.String(), serde.String())
	upper := testutil.NewOutputTopic(d, "upper", serde.String(), serde.String())
	notX := testutil.NewOutputTopic(d, "not-x", serde.String(), serde.String())

	in.PipeRecords(
		topology.Record[string, string]{Key: "a", Value: "x", Timestamp: at(10), Headers: hdr("h", "1")},
		topology.Record[string, string]{Key: "xb", Value: "", Timestamp: at(20)},
		topology.Record[string, string]{Key: "xc", Value: "y", Timestamp: at(15), Headers: hdr("h", "3")},
	)
	expect(t, upper,
		out[string, string]{"a", "a:X", 10, hdr("h", "1"), 0},
		out[string, string]{"xc", "xc:Y", 15, hdr("h", "3"), 0},
	)
	expect(t, notX, out[string, string]{"a", "x", 10, hdr("h", "1"), 0})
}

// TestMapRepartitionsByNewKey pipes into a four-partition topic and checks
// that Map's output lands in the partition Kafka's default partitioner picks
// for the new key, with timestamps and headers kept.
func TestMapRepartitionsByNewKey(t *testing.T) {
	b := topology.NewBuilder()
	s := kstream.From(b, "in", serde.String(), serde.Int64())
	kstream.Map(s, func(k string, v int64) (string, string) {
		return strings.ToUpper(k), k + "=" + strconv.FormatInt(v*10, 10)
	}).To("out")
	d := testutil.NewDriver(t, build(t, b), testutil.Config{Partitions: map[string]int{"in": 4, "out": 4}})
	in := testutil.NewInputTopic(d, "in", serde.String(), serde.Int64())
	o := testutil.NewOutputTopic(d, "out", serde.String(), serde.String())

	keys := []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"}
	var want []out[string, string]
	parts := map[int32]bool{}
	for i, k := range keys {
		ts := int64(100 + i)
		in.PipeRecords(topology.Record[string, int64]{Key: k, Value: int64(i), Timestamp: at(ts), Headers: hdr("i", strconv.Itoa(i))})
		p := kafkaPartition(strings.ToUpper(k), 4)
		parts[p] = true
		want = append(want, out[string, string]{strings.ToUpper(k), k + "=" + strconv.Itoa(i*10), ts, hdr("i", strconv.Itoa(i)), p})
	}
	if len(parts) < 2 {
		t.Fatalf("test keys all land in one partition (%v); pick others", parts)
	}
	expect(t, o, want...)
}

// TestToPartitionsLikeKafka checks the sink's default partitioning against
// franz-go's for many keys, and that a partitioner overrides it.
func TestToPartitionsLikeKafka(t *testing.T) {
	b := topology.NewBuilder()
	s := kstream.From(b, "in", serde.String(), serde.String())
	s.To("out")
	s.To("fixed", kstream.WithPartitioner(func(_ string, k, _ string, n int) (int32, bool) {
		if k == "default" {
			return 0, false
		}
		return int32(n - 1), true
	}))
	d := testutil.NewDriver(t, build(t, b), testutil.Config{Partitions: map[string]int{"in": 3, "out": 7, "fixed": 5}})
	in := testutil.NewInputTopic(d, "in", serde.String(), serde.String())
	o := testutil.NewOutputTopic(d, "out", serde.String(), serde.String())
	fixed := testutil.NewOutputTopic(d, "fixed", serde.String(), serde.String())
	for i := range 50 {
		k := fmt.Sprintf("key-%d", i)
		in.Pipe(k, "v")
		r := o.ReadRecord()
		if r.Key != k || r.Partition != kafkaPartition(k, 7) {
			t.Errorf("out: got %s in partition %d, want %s in %d", r.Key, r.Partition, k, kafkaPartition(k, 7))
		}
		if r := fixed.ReadRecord(); r.Partition != 4 {
			t.Errorf("fixed: %s in partition %d, want 4 (partitioner)", r.Key, r.Partition)
		}
	}
	in.Pipe("default", "v")
	o.ReadRecord()
	if r := fixed.ReadRecord(); r.Partition != kafkaPartition("default", 5) {
		t.Errorf("fixed: partitioner said ok=false, got partition %d, want murmur2's %d", r.Partition, kafkaPartition("default", 5))
	}
}

func TestToTopicFunc(t *testing.T) {
	b := topology.NewBuilder()
	kstream.From(b, "in", serde.String(), serde.String()).ToTopicFunc(func(r topology.Record[string, string]) (string, error) {
		return "to-" + r.Key, nil
	})
	d := testutil.NewDriver(t, build(t, b), testutil.Config{})
	in := testutil.NewInputTopic(d, "in", serde.String(), serde.String())
	a := testutil.NewOutputTopic(d, "to-a", serde.String(), serde.String())
	bb := testutil.NewOutputTopic(d, "to-b", serde.String(), serde.String())
	in.PipeAt("a", "1", at(5))
	in.PipeAt("b", "2", at(6))
	in.PipeAt("a", "3", at(7))
	expect(t, a, out[string, string]{"a", "1", 5, nil, 0}, out[string, string]{"a", "3", 7, nil, 0})
	expect(t, bb, out[string, string]{"b", "2", 6, nil, 0})
}

func TestSelectKeyKeepsValueSerde(t *testing.T) {
	type order struct {
		ID     string
		Amount int64
	}
	b := topology.NewBuilder()
	s := kstream.From(b, "orders", serde.String(), serde.JSON[order]())
	// The value serde (JSON) travels with the stream, so To needs no
	// WithSerdes; the new key is a string, which has a default serde.
	kstream.SelectKey(s, func(_ string, o order) string { return o.ID }).To("by-id")
	d := testutil.NewDriver(t, build(t, b), testutil.Config{Partitions: map[string]int{"by-id": 3}})
	in := testutil.NewInputTopic(d, "orders", serde.String(), serde.JSON[order]())
	o := testutil.NewOutputTopic(d, "by-id", serde.String(), serde.JSON[order]())
	in.PipeRecords(
		topology.Record[string, order]{Key: "c1", Value: order{"o1", 5}, Timestamp: at(1), Headers: hdr("src", "web")},
		topology.Record[string, order]{Key: "c2", Value: order{"o2", 7}, Timestamp: at(2)},
	)
	expect(t, o,
		out[string, order]{"o1", order{"o1", 5}, 1, hdr("src", "web"), kafkaPartition("o1", 3)},
		out[string, order]{"o2", order{"o2", 7}, 2, nil, kafkaPartition("o2", 3)},
	)
}

// TestFlatMap checks 0, 1 and many outputs per input, in order, each with
// the input's timestamp and headers.
func TestFlatMap(t *testing.T) {
	b := topology.NewBuilder()
	s := kstream.From(b, "in", serde.String(), serde.Int64())
	kstream.FlatMap(s, func(k string, n int64) []kstream.KeyValue[string, int64] {
		var kvs []kstream.KeyValue[string, int64]
		for i := range n {
			kvs = append(kvs, kstream.Pair(fmt.Sprintf("%s-%d", k, i), i*n))
		}
		return kvs
	}).To("out")
	d := testutil.NewDriver(t, build(t, b), testutil.Config{Partitions: map[string]int{"out": 2}})
	in := testutil.NewInputTopic(d, "in", serde.String(), serde.Int64())
	o := testutil.NewOutputTopic(d, "out", serde.String(), serde.Int64())
	in.PipeRecords(
		topology.Record[string, int64]{Key: "none", Value: 0, Timestamp: at(1), Headers: hdr("n", "0")},
		topology.Record[string, int64]{Key: "one", Value: 1, Timestamp: at(2), Headers: hdr("n", "1")},
		topology.Record[string, int64]{Key: "three", Value: 3, Timestamp: at(3), Headers: hdr("n", "3")},
	)
	p := func(k string) int32 { return kafkaPartition(k, 2) }
	expect(t, o,
		out[string, int64]{"one-0", 0, 2, hdr("n", "1"), p("one-0")},
		out[string, int64]{"three-0", 0, 3, hdr("n", "3"), p("three-0")},
		out[string, int64]{"three-1", 3, 3, hdr("n", "3"), p("three-1")},
		out[string, int64]{"three-2", 6, 3, hdr("n", "3"), p("three-2")},
	)
}

func TestFlatMapValues(t *testing.T) {
	b := topology.NewBuilder()
	s := kstream.From(b, "in", serde.String(), serde.String())
	kstream.FlatMapValues(s, func(_, line string) []string { return strings.Fields(line) }).To("words")
	d := testutil.NewDriver(t, build(t, b), testutil.Config{Partitions: map[string]int{"in": 4, "words": 4}})
	in := testutil.NewInputTopic(d, "in", serde.String(), serde.String())
	o := testutil.NewOutputTopic(d, "words", serde.String(), serde.String())
	in.PipeRecords(
		topology.Record[string, string]{Key: "l1", Value: "the quick fox", Timestamp: at(40), Headers: hdr("x", "y")},
		topology.Record[string, string]{Key: "l2", Value: "   ", Timestamp: at(41)},
		topology.Record[string, string]{Key: "l3", Value: "jumps", Timestamp: at(42)},
	)
	p1, p3 := kafkaPartition("l1", 4), kafkaPartition("l3", 4)
	expect(t, o,
		out[string, string]{"l1", "the", 40, hdr("x", "y"), p1},
		out[string, string]{"l1", "quick", 40, hdr("x", "y"), p1},
		out[string, string]{"l1", "fox", 40, hdr("x", "y"), p1},
		out[string, string]{"l3", "jumps", 42, nil, p3},
	)
}

func TestPeekForeachPrint(t *testing.T) {
	b := topology.NewBuilder()
	s := kstream.From(b, "in", serde.String(), serde.Int64())
	var peeked, each []string
	var printed bytes.Buffer
	p := s.Peek(func(k string, v int64) { peeked = append(peeked, fmt.Sprintf("%s %d", k, v)) })
	p.To("out")
	p.Foreach(func(k string, v int64) { each = append(each, fmt.Sprintf("%s %d", k, v)) })
	p.Print(&printed, kstream.Named("printer"))
	s.Print(&printed)
	d := testutil.NewDriver(t, build(t, b), testutil.Config{})
	in := testutil.NewInputTopic(d, "in", serde.String(), serde.Int64())
	o := testutil.NewOutputTopic(d, "out", serde.String(), serde.Int64())
	in.PipeRecords(
		topology.Record[string, int64]{Key: "a", Value: 1, Timestamp: at(3), Headers: hdr("h", "v")},
		topology.Record[string, int64]{Key: "b", Value: 2, Timestamp: at(4)},
	)
	expect(t, o, out[string, int64]{"a", 1, 3, hdr("h", "v"), 0}, out[string, int64]{"b", 2, 4, nil, 0})
	if want := []string{"a 1", "b 2"}; !slices.Equal(peeked, want) || !slices.Equal(each, want) {
		t.Errorf("peeked %q, foreach saw %q, want %q for both", peeked, each, want)
	}
	// Source 0, peek 1, sink 2, foreach 3, printer (named), printer 4.
	want := "[printer]: a, 1\n[KSTREAM-PRINTER-0000000004]: a, 1\n[printer]: b, 2\n[KSTREAM-PRINTER-0000000004]: b, 2\n"
	if printed.String() != want {
		t.Errorf("printed:\n%s\nwant:\n%s", printed.String(), want)
	}
}

func TestMergeTwoSources(t *testing.T) {
	b := topology.NewBuilder()
	left := kstream.From(b, "left", serde.String(), serde.String())
	right := kstream.From(b, "right", serde.String(), serde.String())
	left.Merge(right.Filter(func(_, v string) bool { return v != "drop" })).To("out")
	d := testutil.NewDriver(t, build(t, b), testutil.Config{})
	l := testutil.NewInputTopic(d, "left", serde.String(), serde.String())
	r := testutil.NewInputTopic(d, "right", serde.String(), serde.String())
	o := testutil.NewOutputTopic(d, "out", serde.String(), serde.String())
	l.PipeRecords(topology.Record[string, string]{Key: "l", Value: "1", Timestamp: at(10), Headers: hdr("side", "l")})
	r.PipeRecords(topology.Record[string, string]{Key: "r", Value: "2", Timestamp: at(5), Headers: hdr("side", "r")})
	r.PipeAt("r", "drop", at(6))
	l.PipeAt("l", "3", at(7))
	expect(t, o,
		out[string, string]{"l", "1", 10, hdr("side", "l"), 0},
		out[string, string]{"r", "2", 5, hdr("side", "r"), 0},
		out[string, string]{"l", "3", 7, nil, 0},
	)
}

func TestFromTopicsAndTimestampExtractor(t *testing.T) {
	b := topology.NewBuilder()
	kstream.From(b, "a", serde.String(), serde.Int64(),
		kstream.Topics("b"),
		kstream.WithTimestampExtractor(func(r topology.Record[string, int64], _ time.Time) (time.Time, error) {
			return at(r.Value), nil
		}),
	).To("out")
	d := testutil.NewDriver(t, build(t, b), testutil.Config{})
	a := testutil.NewInputTopic(d, "a", serde.String(), serde.Int64())
	bt := testutil.NewInputTopic(d, "b", serde.String(), serde.Int64())
	o := testutil.NewOutputTopic(d, "out", serde.String(), serde.Int64())
	a.PipeAt("x", 1000, at(1))
	bt.PipeAt("y", 2000, at(2))
	expect(t, o, out[string, int64]{"x", 1000, 1000, nil, 0}, out[string, int64]{"y", 2000, 2000, nil, 0})
}
