package serde_test

import (
	"bytes"
	"encoding/hex"
	"math"
	"testing"
)

// TestKafkaJavaEncoding checks that the built-in serdes produce the bytes of
// Kafka's Java serializers (StringSerializer, ByteArraySerializer,
// IntegerSerializer, LongSerializer, DoubleSerializer, BooleanSerializer), and
// decode them back.
func TestKafkaJavaEncoding(t *testing.T) {
	tests := []struct {
		s    erased
		v    any
		want string // hex
	}{
		{sString, "héllo", "68c3a96c6c6f"},
		{sString, "", ""},
		{sBytes, []byte{0xca, 0xfe}, "cafe"},

		{sInt32, int32(0), "00000000"},
		{sInt32, int32(1), "00000001"},
		{sInt32, int32(256), "00000100"},
		{sInt32, int32(-1), "ffffffff"},
		{sInt32, int32(math.MinInt32), "80000000"},
		{sInt32, int32(math.MaxInt32), "7fffffff"},

		{sInt64, int64(0), "0000000000000000"},
		{sInt64, int64(1), "0000000000000001"},
		{sInt64, int64(-1), "ffffffffffffffff"},
		{sInt64, int64(1) << 40, "0000010000000000"},
		{sInt64, int64(math.MinInt64), "8000000000000000"},

		{sFloat64, 1.5, "3ff8000000000000"},
		{sFloat64, 0.0, "0000000000000000"},
		{sFloat64, math.Copysign(0, -1), "8000000000000000"},
		{sFloat64, 0.1, "3fb999999999999a"},
		{sFloat64, -2.0, "c000000000000000"},
		{sFloat64, math.Inf(1), "7ff0000000000000"},
		{sFloat64, math.Inf(-1), "fff0000000000000"},
		{sFloat64, math.MaxFloat64, "7fefffffffffffff"},
		{sFloat64, javaNaN, "7ff8000000000000"},

		{sBool, true, "01"},
		{sBool, false, "00"},
	}
	for _, tt := range tests {
		t.Run(tt.s.name+"/"+tt.want, func(t *testing.T) {
			want, err := hex.DecodeString(tt.want)
			if err != nil {
				t.Fatal(err)
			}
			got, err := tt.s.ser(nil, topic, tt.v)
			if err != nil {
				t.Fatal(err)
			}
			if got == nil || !bytes.Equal(got, want) {
				t.Fatalf("Serialize(%v) = %x, want %s", tt.v, got, tt.want)
			}
			v, err := tt.s.de(topic, want)
			if err != nil {
				t.Fatal(err)
			}
			if !equal(v, tt.v) {
				t.Fatalf("Deserialize(%s) = %v, want %v", tt.want, v, tt.v)
			}
		})
	}
}

// TestFloat64NaNCanonical checks that every NaN encodes as Java's canonical
// NaN, and that any NaN bits still decode to a NaN.
func TestFloat64NaNCanonical(t *testing.T) {
	for _, bits := range []uint64{0x7ff8000000000001, 0x7ff0000000000001, 0xfff8000000000000, 0x7fffffffffffffff} {
		b, err := sFloat64.ser(nil, topic, math.Float64frombits(bits))
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(b); got != "7ff8000000000000" {
			t.Errorf("Serialize(NaN %016x) = %s, want 7ff8000000000000", bits, got)
		}
		var raw [8]byte
		for i := range raw {
			raw[i] = byte(bits >> (56 - 8*i))
		}
		v, err := sFloat64.de(topic, raw[:])
		if err != nil {
			t.Fatal(err)
		}
		if f := v.(float64); !math.IsNaN(f) || math.Float64bits(f) != bits {
			t.Errorf("Deserialize(%x) = %016x, want the same NaN bits", raw, math.Float64bits(f))
		}
	}
}
