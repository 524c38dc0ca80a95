package deadletter

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// A cursor is an offset per partition of a dead-letter topic, opaque to
// its users: the base64url (unpadded) of a version byte (1), the CRC-32 of
// the topic's name (so that a cursor of another dead set is refused), the
// number of partitions and, for each partition in order, its offset; all
// integers but the CRC (4 bytes, big-endian) as unsigned varints.
const cursorVersion = 1

// encodeCursor returns the cursor of offsets, the offset of each
// partition of topic.
func encodeCursor(topic string, offsets []int64) string {
	b := make([]byte, 0, 6+len(offsets)*4)
	b = append(b, cursorVersion)
	b = binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE([]byte(topic)))
	b = binary.AppendUvarint(b, uint64(len(offsets)))
	for _, o := range offsets {
		b = binary.AppendUvarint(b, uint64(o))
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor returns the offsets of cursor c, which must be a cursor of
// topic with at most partitions partitions (a topic gains partitions; the
// new ones are not in the cursor, and start at their beginning). The
// error wraps ErrInvalidRequest and ErrBadCursor.
func decodeCursor(param, c, topic string, partitions int) ([]int64, error) {
	bad := func(format string, args ...any) ([]int64, error) {
		return nil, fmt.Errorf("%w: %s: %w: %s", ErrInvalidRequest, param, ErrBadCursor, fmt.Sprintf(format, args...))
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return bad("not base64url: %v", err)
	}
	if len(b) < 5 || b[0] != cursorVersion {
		return bad("not a cursor of this dead set")
	}
	if crc32.ChecksumIEEE([]byte(topic)) != binary.BigEndian.Uint32(b[1:5]) {
		return bad("a cursor of another dead-letter topic, not %q", topic)
	}
	b = b[5:]
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(partitions) {
		return bad("has %d partitions; %q has %d", n, topic, partitions)
	}
	b = b[k:]
	offsets := make([]int64, n)
	for i := range offsets {
		o, k := binary.Uvarint(b)
		if k <= 0 || o > 1<<62 {
			return bad("truncated or malformed")
		}
		offsets[i], b = int64(o), b[k:]
	}
	if len(b) != 0 {
		return bad("%d bytes too many", len(b))
	}
	return offsets, nil
}
