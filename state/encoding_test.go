package state

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"
)

func checkEscaping(t *testing.T, a, b []byte) {
	t.Helper()
	ea, eb := appendEscaped(nil, a), appendEscaped(nil, b)
	if got, want := bytes.Compare(ea, eb), bytes.Compare(a, b); got != want {
		t.Fatalf("order: compare(escape(%x), escape(%x)) = %d, want %d", a, b, got, want)
	}
	if !bytes.Equal(a, b) && (bytes.HasPrefix(ea, eb) || bytes.HasPrefix(eb, ea)) {
		t.Fatalf("escape(%x) = %x and escape(%x) = %x: one is a prefix of the other", a, ea, b, eb)
	}
	// Whatever follows an escaped key cannot change the order of different
	// keys: the layout appends times after them.
	if !bytes.Equal(a, b) {
		xa := append(append([]byte(nil), ea...), 0xFF, 0xFF)
		xb := append(append([]byte(nil), eb...), 0x00)
		if got, want := bytes.Compare(xa, xb), bytes.Compare(a, b); got != want {
			t.Fatalf("suffixes change the order of %x and %x", a, b)
		}
	}
	for _, k := range [][]byte{a, b} {
		e := append(appendEscaped([]byte("seg"), k), "rest"...)
		got, rest, err := decodeEscaped(nil, e[3:])
		if err != nil || !bytes.Equal(got, k) || string(rest) != "rest" {
			t.Fatalf("decode(escape(%x)) = %x, %q, %v", k, got, rest, err)
		}
		n, err := escapedLen(e[3:])
		if err != nil || n != len(e)-3-4 {
			t.Fatalf("escapedLen(escape(%x)) = %d, %v; want %d", k, n, err, len(e)-7)
		}
	}
}

func FuzzEscaping(f *testing.F) {
	for _, s := range [][2]string{
		{"", ""}, {"a", "a\x00"}, {"a", "ab"}, {"a\x00", "ab"}, {"\x00", "\x00\x00"},
		{"\x00\xff", "\x00"}, {"\x00\x01", "\x00"}, {"\xff", "\xff\x00"}, {"a\x00b", "a\x00\x00"},
	} {
		f.Add([]byte(s[0]), []byte(s[1]))
	}
	f.Fuzz(func(t *testing.T, a, b []byte) { checkEscaping(t, a, b) })
}

func TestEscapingRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	gen := func() []byte {
		b := make([]byte, r.IntN(6))
		for i := range b {
			// Few distinct bytes, so that equal prefixes and the
			// special bytes 0x00, 0x01 and 0xFF are common.
			b[i] = []byte{0x00, 0x01, 0x02, 0xFE, 0xFF}[r.IntN(5)]
		}
		return b
	}
	for range 20000 {
		checkEscaping(t, gen(), gen())
	}
}

func TestDecodeEscapedRejectsMalformed(t *testing.T) {
	for _, in := range []string{"", "abc", "a\x00", "a\x00\x02", "\x00\xffb"} {
		if _, _, err := decodeEscaped(nil, []byte(in)); err == nil {
			t.Errorf("decodeEscaped(%q) accepted", in)
		}
		if _, err := escapedLen([]byte(in)); err == nil {
			t.Errorf("escapedLen(%q) accepted", in)
		}
	}
}

func TestTimeEncodingOrder(t *testing.T) {
	vals := []int64{math.MinInt64, -1 << 40, -60001, -1, 0, 1, 59999, 1 << 40, math.MaxInt64}
	for i := range vals {
		if got := readTime(appendTime(nil, vals[i])); got != vals[i] {
			t.Fatalf("round trip %d = %d", vals[i], got)
		}
		for j := range vals {
			c := bytes.Compare(appendTime(nil, vals[i]), appendTime(nil, vals[j]))
			if (c < 0) != (vals[i] < vals[j]) || (c == 0) != (i == j) {
				t.Fatalf("order of %d and %d not kept", vals[i], vals[j])
			}
		}
	}
	// Entries never start with the metadata prefix.
	for _, v := range []int64{math.MinInt64 / minSegmentInterval, math.MaxInt64 / minSegmentInterval} {
		if b := appendTime(nil, v); bytes.Compare(b, metaPrefix) >= 0 || b[0] != 0x7F && b[0] != 0x80 {
			t.Fatalf("segment %d encodes to %x", v, b)
		}
	}
}

func TestFloorDivAndSegmentInterval(t *testing.T) {
	for _, c := range [][3]int64{{0, 60, 0}, {59, 60, 0}, {60, 60, 1}, {-1, 60, -1}, {-60, 60, -1}, {-61, 60, -2}} {
		if got := floorDiv(c[0], c[1]); got != c[2] {
			t.Errorf("floorDiv(%d, %d) = %d, want %d", c[0], c[1], got, c[2])
		}
	}
	for _, c := range [][2]int64{{1000, 60000}, {120000, 60000}, {600000, 300000}, {86400000, 43200000}} {
		if got := segmentInterval(c[0]); got != c[1] {
			t.Errorf("segmentInterval(%d) = %d, want %d", c[0], got, c[1])
		}
	}
}

func BenchmarkAppendEscaped(b *testing.B) {
	key := []byte("user-0000012345\x00suffix")
	buf := make([]byte, 0, 64)
	for b.Loop() {
		buf = appendEscaped(buf[:0], key)
	}
}
