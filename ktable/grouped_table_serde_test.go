package ktable

import (
	"errors"
	"fmt"
	"testing"

	"github.com/strata-go/strata/serde"
)

func TestChangeSerdeRoundTrip(t *testing.T) {
	s := changeSerde[string]{inner: serde.String()}
	for _, ch := range []Change[string]{
		{},
		{New: "new", HasNew: true},
		{Old: "old", HasOld: true},
		{New: "new", Old: "old", HasNew: true, HasOld: true},
		{New: "", Old: "", HasNew: true, HasOld: true}, // empty, not null
	} {
		b, err := s.Serialize([]byte("prefix"), "topic", ch)
		if err != nil {
			t.Fatal(err)
		}
		if string(b[:6]) != "prefix" {
			t.Fatalf("Serialize did not append: %q", b)
		}
		got, err := s.Deserialize("topic", b[6:])
		if err != nil {
			t.Fatalf("%+v: %v", ch, err)
		}
		if got != ch {
			t.Fatalf("round trip of %+v gave %+v", ch, got)
		}
	}
	// The format: flags, then new and old, each length-prefixed.
	b, _ := s.Serialize(nil, "topic", Change[string]{New: "ab", Old: "c", HasNew: true, HasOld: true})
	if want := "\x03\x00\x00\x00\x02ab\x00\x00\x00\x01c"; string(b) != want {
		t.Fatalf("encoding %q, want %q", b, want)
	}
}

// TestChangeSerdeNullValues: a value the inner serde writes as null is
// left out, as Kafka Streams treats null values.
func TestChangeSerdeNullValues(t *testing.T) {
	s := changeSerde[*string]{inner: serde.Ptr(serde.String())}
	x := "x"
	b, err := s.Serialize(nil, "topic", Change[*string]{New: nil, Old: &x, HasNew: true, HasOld: true})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Deserialize("topic", b)
	if err != nil {
		t.Fatal(err)
	}
	if got.HasNew || !got.HasOld || *got.Old != "x" {
		t.Fatalf("got %+v", got)
	}
}

func TestChangeSerdeCorrupt(t *testing.T) {
	s := changeSerde[string]{inner: serde.String()}
	for _, data := range []string{"", "\x04", "\x01", "\x01\x00\x00\x00\x05ab", "\x00x", "\x02\x00\x00\x00\x01"} {
		if _, err := s.Deserialize("topic", []byte(data)); err == nil {
			t.Errorf("Deserialize(%q) succeeded", data)
		}
	}
	_, err := s.Deserialize("topic", []byte("\x01\x00\x00"))
	if !errors.Is(err, serde.ErrInvalidLength) {
		t.Errorf("short length: %v, want ErrInvalidLength", err)
	}
}

func TestChangeSerdeInnerError(t *testing.T) {
	bad := serde.Func(func([]byte, string, int) ([]byte, error) { return nil, fmt.Errorf("boom") },
		func(string, []byte) (int, error) { return 0, nil })
	if _, err := (changeSerde[int]{inner: bad}).Serialize(nil, "t", Change[int]{HasNew: true}); err == nil {
		t.Fatal("inner serde error lost")
	}
}
