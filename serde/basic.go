package serde

import (
	"encoding/binary"
	"math"
)

// String returns a Serde for UTF-8 strings. Nil bytes decode to "", and ""
// encodes to an empty, non-nil slice.
func String() Serde[string] { return stringSerde{} }

type stringSerde struct{}

func (stringSerde) Serialize(dst []byte, _ string, v string) ([]byte, error) {
	return nonNil(append(dst, v...)), nil
}

func (stringSerde) Deserialize(_ string, data []byte) (string, error) {
	return string(data), nil
}

// nonNil turns a nil result of appending nothing into an empty, non-nil slice,
// so that an empty value is never mistaken for a Kafka null.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// Int64 returns a Serde for int64 values as 8 big-endian bytes, the encoding of
// Kafka's LongSerializer.
func Int64() Serde[int64] { return int64Serde{} }

type int64Serde struct{}

func (int64Serde) Serialize(dst []byte, _ string, v int64) ([]byte, error) {
	return binary.BigEndian.AppendUint64(dst, uint64(v)), nil
}

func (int64Serde) Deserialize(_ string, data []byte) (int64, error) {
	if data == nil {
		return 0, nil
	}
	if len(data) != 8 {
		return 0, lengthError("int64", 8, len(data))
	}
	return int64(binary.BigEndian.Uint64(data)), nil
}

// Int32 returns a Serde for int32 values as 4 big-endian bytes, the encoding of
// Kafka's IntegerSerializer.
func Int32() Serde[int32] { return int32Serde{} }

type int32Serde struct{}

func (int32Serde) Serialize(dst []byte, _ string, v int32) ([]byte, error) {
	return binary.BigEndian.AppendUint32(dst, uint32(v)), nil
}

func (int32Serde) Deserialize(_ string, data []byte) (int32, error) {
	if data == nil {
		return 0, nil
	}
	if len(data) != 4 {
		return 0, lengthError("int32", 4, len(data))
	}
	return int32(binary.BigEndian.Uint32(data)), nil
}

// Float64 returns a Serde for float64 values as 8 big-endian IEEE 754 bytes,
// the encoding of Kafka's DoubleSerializer. As in Java's
// Double.doubleToLongBits, every NaN encodes as the canonical NaN
// 7ff8000000000000, so equal keys give equal bytes; -0 and +0 stay distinct.
// Deserialize keeps the bits it is given.
func Float64() Serde[float64] { return float64Serde{} }

type float64Serde struct{}

// canonicalNaN is the bit pattern Java's Double.doubleToLongBits gives NaN.
const canonicalNaN = 0x7ff8_0000_0000_0000

func (float64Serde) Serialize(dst []byte, _ string, v float64) ([]byte, error) {
	bits := math.Float64bits(v)
	if v != v {
		bits = canonicalNaN
	}
	return binary.BigEndian.AppendUint64(dst, bits), nil
}

func (float64Serde) Deserialize(_ string, data []byte) (float64, error) {
	if data == nil {
		return 0, nil
	}
	if len(data) != 8 {
		return 0, lengthError("float64", 8, len(data))
	}
	return math.Float64frombits(binary.BigEndian.Uint64(data)), nil
}
