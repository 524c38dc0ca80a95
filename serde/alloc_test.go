package serde_test

import (
	"testing"

	"github.com/strata-go/strata/serde"
)

// TestSerializeIntoBufferDoesNotAllocate checks that the fixed-size and
// string serdes append into a buffer with room without allocating, which is
// what lets the engine encode records into one reused slab.
func TestSerializeIntoBufferDoesNotAllocate(t *testing.T) {
	buf := make([]byte, 0, 256)
	ptrInt64, seven := serde.Ptr(serde.Int64()), int64(7)
	tests := []struct {
		name string
		run  func()
	}{
		{"String", func() { _, _ = serde.String().Serialize(buf, topic, "a value of some length") }},
		{"Bytes", func() { _, _ = serde.Bytes().Serialize(buf, topic, buf[:8:8]) }},
		{"Int32", func() { _, _ = serde.Int32().Serialize(buf, topic, 42) }},
		{"Int64", func() { _, _ = serde.Int64().Serialize(buf, topic, -42) }},
		{"Float64", func() { _, _ = serde.Float64().Serialize(buf, topic, 1.5) }},
		{"Bool", func() { _, _ = serde.Bool().Serialize(buf, topic, true) }},
		{"Int64 Deserialize", func() { _, _ = serde.Int64().Deserialize(topic, buf[:8]) }},
		{"Ptr(Int64)", func() { _, _ = ptrInt64.Serialize(buf, topic, &seven) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(100, tt.run); n != 0 {
				t.Fatalf("%v allocations per call, want 0", n)
			}
		})
	}
}
