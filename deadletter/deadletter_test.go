package deadletter_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata/deadletter"
	"github.com/strata-go/strata/embedded"
)

var errBad = errors.New("bad value")

// failed is an input record as read from in[p]@offset.
func failed(p int32, offset int64, key, value string) *kgo.Record {
	return &kgo.Record{
		Topic: "in", Partition: p, Offset: offset, Key: []byte(key), Value: []byte(value),
		Timestamp: time.UnixMilli(1000 + offset),
		Headers:   []kgo.RecordHeader{{Key: "trace", Value: []byte(key)}},
	}
}

func TestNewParse(t *testing.T) {
	r := failed(5, 42, "k", "v")
	dl := deadletter.New("dlq", 4, r, deadletter.ReasonDeserialization, errBad)
	if dl.Topic != "dlq" || dl.Partition != 1 {
		t.Errorf("dead letter for %s[%d], want dlq[1] (5 mod 4)", dl.Topic, dl.Partition)
	}
	d, err := deadletter.Parse(dl)
	if err != nil {
		t.Fatal(err)
	}
	if d.Topic != "in" || d.Partition != 5 || d.Offset != 42 || string(d.Key) != "k" || string(d.Value) != "v" ||
		!d.Timestamp.Equal(r.Timestamp) || d.Reason != deadletter.ReasonDeserialization || d.Message != errBad.Error() ||
		len(d.Headers) != 1 || d.Headers[0].Key != "trace" {
		t.Errorf("Parse(New(r)) = %+v, want r's fields back", d)
	}
	if _, err := deadletter.Parse(r); !errors.Is(err, deadletter.ErrNotDeadLetter) {
		t.Errorf("Parse of an input record = %v, want ErrNotDeadLetter", err)
	}
	bad := deadletter.New("dlq", 1, r, deadletter.ReasonProcessing, errBad)
	for i, h := range bad.Headers {
		if h.Key == deadletter.HeaderOffset {
			bad.Headers[i].Value = []byte("x")
		}
	}
	if _, err := deadletter.Parse(bad); !errors.Is(err, deadletter.ErrNotDeadLetter) {
		t.Errorf("Parse with a malformed offset header = %v, want ErrNotDeadLetter", err)
	}
}

func TestEncodeParseVersions(t *testing.T) {
	r := failed(2, 9, "k", "v")
	d := deadletter.Record{
		Topic: "in", Partition: 2, Offset: 9, Key: r.Key, Value: r.Value, Timestamp: r.Timestamp, Headers: r.Headers,
		Reason: deadletter.ReasonRetriesExhausted, Message: "wallet: 503", Handler: "reverse", Attempts: 5,
	}
	dl := deadletter.Encode("dlq", 2, d)
	if dl.Partition != 0 {
		t.Errorf("dead letter in partition %d, want 0 (2 mod 2)", dl.Partition)
	}
	got, err := deadletter.Parse(dl)
	if err != nil {
		t.Fatal(err)
	}
	d.Version = deadletter.Version
	if fmt.Sprint(got) != fmt.Sprint(d) {
		t.Errorf("Parse(Encode(d)) =\n%+v\nwant\n%+v", got, d)
	}

	// Version 1, as Strata wrote it before the dead set: no version,
	// handler or attempts headers.
	v1 := &kgo.Record{Topic: "dlq", Partition: 1, Offset: 4, Key: []byte("k"), Value: []byte("v"), Headers: []kgo.RecordHeader{
		{Key: "trace", Value: []byte("t")},
		{Key: deadletter.HeaderException, Value: []byte(deadletter.ReasonProcessing)},
		{Key: deadletter.HeaderMessage, Value: []byte("boom")},
		{Key: deadletter.HeaderTopic, Value: []byte("in")},
		{Key: deadletter.HeaderPartition, Value: []byte("3")},
		{Key: deadletter.HeaderOffset, Value: []byte("8")},
	}}
	got, err = deadletter.Parse(v1)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 1 || got.Handler != "" || got.Attempts != 0 || got.Topic != "in" || got.Partition != 3 || got.Offset != 8 ||
		got.Reason != deadletter.ReasonProcessing || got.Message != "boom" || len(got.Headers) != 1 || got.Headers[0].Key != "trace" ||
		got.DeadLetterPartition != 1 || got.DeadLetterOffset != 4 {
		t.Errorf("Parse of a version 1 record = %+v", got)
	}

	newer := deadletter.Encode("dlq", 1, d)
	for i, h := range newer.Headers {
		if h.Key == deadletter.HeaderVersion {
			newer.Headers[i].Value = []byte("3")
		}
	}
	if _, err := deadletter.Parse(newer); !errors.Is(err, deadletter.ErrUnsupportedVersion) {
		t.Errorf("Parse of a version 3 record = %v, want ErrUnsupportedVersion", err)
	}
}

// dlqCluster starts a cluster with "in" (2 partitions) and "dlq" (2
// partitions) holding dead letters of in[0]@3, in[1]@7, in[0]@9 and, in an
// aborted transaction, in[1]@8.
func dlqCluster(t *testing.T) *embedded.Cluster {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "in", Partitions: 2}, {Name: "dlq", Partitions: 2}}})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cl, err := c.Client(kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.TransactionalID("writer"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	write := func(commit bool, recs ...*kgo.Record) {
		t.Helper()
		if err := cl.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		var dls []*kgo.Record
		for _, r := range recs {
			dls = append(dls, deadletter.New("dlq", 2, r, deadletter.ReasonDeserialization, errBad))
		}
		if err := cl.ProduceSync(ctx, dls...).FirstErr(); err != nil {
			t.Fatal(err)
		}
		if err := cl.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
			t.Fatal(err)
		}
	}
	write(true, failed(0, 3, "a", "v3"), failed(1, 7, "b", "v7"))
	write(false, failed(1, 8, "c", "v8"))
	write(true, failed(0, 9, "d", "v9"))
	return c
}

func TestRead(t *testing.T) {
	c := dlqCluster(t)
	got, err := deadletter.Read(t.Context(), "dlq", kgo.SeedBrokers(c.Addrs()...))
	if err != nil {
		t.Fatal(err)
	}
	var s []string
	for _, d := range got {
		s = append(s, fmt.Sprintf("%s[%d]@%d %s=%s", d.Topic, d.Partition, d.Offset, d.Key, d.Value))
	}
	// Partition by partition: dlq[0] holds in[0]'s, dlq[1] in[1]'s; the
	// aborted in[1]@8 is not there.
	if want := "[in[0]@3 a=v3 in[0]@9 d=v9 in[1]@7 b=v7]"; fmt.Sprint(s) != want {
		t.Errorf("Read = %v, want %s", s, want)
	}
	if _, err := deadletter.Read(t.Context(), "no-such-topic", kgo.SeedBrokers(c.Addrs()...)); err == nil {
		t.Error("Read of a missing topic succeeded")
	}
}

func TestReadRejectsOtherRecords(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "dlq"}}})
	if err := c.Produce(t.Context(), &kgo.Record{Topic: "dlq", Key: []byte("k"), Value: []byte("v")}); err != nil {
		t.Fatal(err)
	}
	_, err := deadletter.Read(t.Context(), "dlq", kgo.SeedBrokers(c.Addrs()...))
	if !errors.Is(err, deadletter.ErrNotDeadLetter) {
		t.Errorf("Read = %v, want ErrNotDeadLetter", err)
	}
}

func TestReplay(t *testing.T) {
	c := dlqCluster(t)
	n, err := deadletter.Replay(t.Context(), "dlq", func(d deadletter.Record) bool { return string(d.Key) != "d" }, kgo.SeedBrokers(c.Addrs()...))
	if err != nil || n != 2 {
		t.Fatalf("Replay = %d, %v; want 2 records", n, err)
	}
	recs, err := c.Consume(t.Context(), "in", 2)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*kgo.Record{}
	for _, r := range recs {
		got[string(r.Key)] = r
	}
	for key, want := range map[string]*kgo.Record{"a": failed(0, 3, "a", "v3"), "b": failed(1, 7, "b", "v7")} {
		r := got[key]
		if r == nil || r.Partition != want.Partition || string(r.Value) != string(want.Value) || !r.Timestamp.Equal(want.Timestamp) ||
			len(r.Headers) != 1 || r.Headers[0].Key != "trace" || string(r.Headers[0].Value) != key {
			t.Errorf("replayed %s: %+v, want partition %d, value %s, its timestamp and only its own header", key, r, want.Partition, want.Value)
		}
	}
	ends, err := c.Admin().ListEndOffsets(t.Context(), "in")
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, ps := range ends {
		for _, o := range ps {
			total += o.Offset
		}
	}
	if total != 2 {
		t.Errorf("in holds %d records after the replay, want 2 (d was not selected)", total)
	}
}
