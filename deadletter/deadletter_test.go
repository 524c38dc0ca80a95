package deadletter_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata/deadletter"
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
