package state

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
)

// Keys of window and session stores in their kv.Store put a time before the
// record key and another time after it, so the record key must be encoded in
// a way that keeps byte order and that no encoded key is a prefix of another:
// then "a" and "a\x00" never interleave however the times after them compare.
//
// The escaping is CockroachDB's encodeBytesAscending: every 0x00 byte becomes
// 0x00 0xFF and the key ends with 0x00 0x01. For keys a and b,
// escape(a) < escape(b) exactly when a < b (bytes.Compare), and escape(a) is
// never a proper prefix of escape(b).
const (
	escByte  = 0x00
	escZero  = 0xFF // 0x00 0xFF: a 0x00 byte of the key
	escEnd   = 0x01 // 0x00 0x01: the end of the key
	timeBias = 1 << 63
)

var errBadEscape = errors.New("malformed escaped key")

// appendEscaped appends the order-preserving, prefix-free encoding of key to
// dst.
func appendEscaped(dst, key []byte) []byte {
	for {
		i := bytes.IndexByte(key, escByte)
		if i < 0 {
			break
		}
		dst = append(dst, key[:i+1]...)
		dst = append(dst, escZero)
		key = key[i+1:]
	}
	dst = append(dst, key...)
	return append(dst, escByte, escEnd)
}

// escapedLen is the length of the escaped key at the start of src.
func escapedLen(src []byte) (int, error) {
	n := 0
	for {
		i := bytes.IndexByte(src[n:], escByte)
		if i < 0 || n+i+1 >= len(src) {
			return 0, errBadEscape
		}
		n += i + 2
		switch src[n-1] {
		case escEnd:
			return n, nil
		case escZero:
		default:
			return 0, errBadEscape
		}
	}
}

// decodeEscaped appends the key escaped at the start of src to dst, and
// returns it and what follows it in src.
func decodeEscaped(dst, src []byte) (key, rest []byte, err error) {
	for {
		i := bytes.IndexByte(src, escByte)
		if i < 0 || i+1 >= len(src) {
			return nil, nil, errBadEscape
		}
		dst = append(dst, src[:i]...)
		switch src[i+1] {
		case escEnd:
			if dst == nil {
				dst = []byte{}
			}
			return dst, src[i+2:], nil
		case escZero:
			dst = append(dst, 0)
			src = src[i+2:]
		default:
			return nil, nil, errBadEscape
		}
	}
}

// appendTime appends a time (Unix milliseconds) or a segment id as 8
// big-endian bytes with the sign bit flipped, so that negative values order
// before positive ones.
func appendTime(dst []byte, v int64) []byte {
	return binary.BigEndian.AppendUint64(dst, uint64(v)^timeBias)
}

// readTime decodes what appendTime wrote at the start of b.
func readTime(b []byte) int64 { return int64(binary.BigEndian.Uint64(b) ^ timeBias) }

// Layout of window and session stores in their kv.Store. Every entry key is
//
//	[segment id: 8][escaped record key][segment time: 8][rest]
//
// where the segment time (a window's start, a session's end) decides the
// segment, floor(time / segment interval), and rest is a sequence number (4
// bytes, window stores) or the session start (8 bytes, session stores). Times
// and segment ids are written by appendTime. Entries of one segment share an
// 8-byte prefix, so a segment is dropped with one DeleteRange; within a
// segment they order by record key, then time.
//
// Segment ids of real times begin with 0x7F or 0x80 once biased, so keys
// beginning with 0xFF never collide with entries: metaKey, the store's
// persisted stream time, and seqKey, its duplicate-number reservation, live
// there.
const segPrefixLen = 8

var (
	// metaPrefix bounds the entries: every entry key is below it.
	metaPrefix = []byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}
	// metaKey holds the store's stream time, written by the put that
	// moves it or on Flush.
	metaKey = append(append([]byte(nil), metaPrefix...), "stream-time"...)
)

// segmentTime returns the segment time of an entry key without its segment
// prefix: the 8 bytes after the escaped record key.
func segmentTime(suffix []byte) (int64, error) {
	n, err := escapedLen(suffix)
	if err != nil {
		return 0, err
	}
	if len(suffix) < n+8 {
		return 0, errBadEscape
	}
	return readTime(suffix[n:]), nil
}

// floorDiv is a/b rounded toward negative infinity, for b > 0.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// addSat returns a+b saturated to the int64 range.
func addSat(a, b int64) int64 {
	switch {
	case b > 0 && a > math.MaxInt64-b:
		return math.MaxInt64
	case b < 0 && a < math.MinInt64-b:
		return math.MinInt64
	}
	return a + b
}
