package state_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
)

func TestTimestampedSerde(t *testing.T) {
	s := state.TimestampedSerde(serde.Int64())
	v := state.Timestamped[int64]{Value: 7, Timestamp: time.UnixMilli(1000)}
	b, err := s.Serialize([]byte("prefix"), "t", v)
	if err != nil {
		t.Fatal(err)
	}
	// Kafka's ValueAndTimestamp layout: 8-byte timestamp, then the value.
	want := append([]byte("prefix"), 0, 0, 0, 0, 0, 0, 0x03, 0xe8, 0, 0, 0, 0, 0, 0, 0, 7)
	if !bytes.Equal(b, want) {
		t.Fatalf("encoded % x, want % x", b, want)
	}
	got, err := s.Deserialize("t", b[len("prefix"):])
	if err != nil || got.Value != 7 || !got.Timestamp.Equal(v.Timestamp) {
		t.Fatalf("decoded %+v, %v", got, err)
	}
	if z, err := s.Deserialize("t", nil); err != nil || z.Value != 0 || !z.Timestamp.IsZero() {
		t.Fatalf("null decodes to %+v, %v", z, err)
	}
	if _, err := s.Deserialize("t", []byte{1, 2}); !errors.Is(err, serde.ErrInvalidLength) {
		t.Fatalf("short input: %v", err)
	}
	// A null inner value is a null whole.
	ps := state.TimestampedSerde(serde.Ptr(serde.Int64()))
	if b, err := ps.Serialize(nil, "t", state.Timestamped[*int64]{Timestamp: time.UnixMilli(1)}); b != nil || err != nil {
		t.Fatalf("null inner value encoded to %v, %v", b, err)
	}
}
