package join

import (
	"bytes"
	"slices"
	"testing"

	"github.com/strata-go/strata/serde"
)

// TestOuterKeySerde checks that outer store keys round-trip and order as
// Kafka Streams' TimestampedKeyAndJoinSide: by time, then right before left,
// then key bytes.
func TestOuterKeySerde(t *testing.T) {
	s := outerKeySerde[string]{serde.String()}
	keys := []outerKey[string]{
		{ts: 0, left: false, key: "b"},
		{ts: 0, left: true, key: "a"},
		{ts: 0, left: true, key: "b"},
		{ts: 5, left: false, key: ""},
		{ts: 1 << 40, left: true, key: "a"},
	}
	var enc [][]byte
	for _, k := range keys {
		b, err := s.Serialize(nil, "t", k)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Deserialize("t", b)
		if err != nil || got != k {
			t.Fatalf("round trip of %+v: %+v, %v", k, got, err)
		}
		enc = append(enc, b)
	}
	if !slices.IsSortedFunc(enc, bytes.Compare) {
		t.Errorf("encodings %x are not in key order", enc)
	}
	if _, err := s.Deserialize("t", []byte{1, 2}); err == nil {
		t.Error("a short key decodes")
	}
}

// TestOuterValuesSerde checks that lists of left or right values round-trip,
// empty values included, and that truncated lists are errors.
func TestOuterValuesSerde(t *testing.T) {
	s := outerValuesSerde[string, int64]{serde.String(), serde.Int64()}
	for _, vs := range []outerValues[string, int64]{
		{left: []string{"A0", "", "A0-0"}},
		{right: []int64{10, 12}},
	} {
		b, err := s.Serialize(nil, "t", vs)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Deserialize("t", b)
		if err != nil || !slices.Equal(got.left, vs.left) || !slices.Equal(got.right, vs.right) {
			t.Fatalf("round trip of %+v: %+v, %v", vs, got, err)
		}
		if _, err := s.Deserialize("t", b[:len(b)-1]); err == nil {
			t.Errorf("%x truncated decodes", b)
		}
	}
	if b, _ := s.Serialize(nil, "t", outerValues[string, int64]{}); b == nil {
		t.Error("an empty list encodes as a null, which would delete the key")
	}
}
