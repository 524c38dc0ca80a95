package serde_test

import (
	"bytes"
	"testing"
)

// FuzzBuiltinDeserialize feeds arbitrary bytes to the built-in serdes: none
// may panic, and each encoding is canonical, so whatever decodes re-encodes
// to the same bytes (Float64 except for NaN, which encodes canonically).
func FuzzBuiltinDeserialize(f *testing.F) {
	for _, seed := range [][]byte{
		{}, {0}, {1}, {2}, {0, 0, 0, 1}, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		{0x7f, 0xf8, 0, 0, 0, 0, 0, 1}, []byte("héllo"), {0xff, 0xfe},
	} {
		f.Add(seed)
	}
	serdes := []erased{sString, sBytes, sInt32, sInt64, sFloat64, sBool, sPtrString, sPtrInt64}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, s := range serdes {
			v, err := s.de(topic, data)
			if err != nil {
				continue
			}
			if f, ok := v.(float64); ok && f != f {
				continue
			}
			b, err := s.ser(nil, topic, v)
			if err != nil {
				t.Fatalf("%s: Serialize(%#v): %v", s.name, v, err)
			}
			if !bytes.Equal(b, data) {
				t.Fatalf("%s: %x decoded to %#v, which encodes to %x", s.name, data, v, b)
			}
		}
	})
}
