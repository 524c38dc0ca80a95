package join

import (
	"encoding/binary"
	"fmt"

	"github.com/strata-go/strata/serde"
)

// The "outer" store of a left or outer stream-stream join keeps the records
// that have found no partner yet, until their window closes: Kafka Streams'
// shared outer-join store, a list-valued key-value store keyed by time, then
// side, then key.

// outerKey is the key of the outer store. Its encoding, Kafka's
// TimestampedKeyAndJoinSide (8 big-endian bytes of time, a side byte, 1 for
// left and 0 for right, then the key), orders entries by time first.
type outerKey[K any] struct {
	ts   int64
	left bool
	key  K
}

type outerKeySerde[K any] struct{ key serde.Serde[K] }

func (s outerKeySerde[K]) Serialize(dst []byte, topic string, k outerKey[K]) ([]byte, error) {
	dst = binary.BigEndian.AppendUint64(dst, uint64(k.ts))
	side := byte(0)
	if k.left {
		side = 1
	}
	dst = append(dst, side)
	out, err := s.key.Serialize(dst, topic, k.key)
	if err != nil {
		return nil, fmt.Errorf("outer join store key: %w", err)
	}
	return out, nil
}

func (s outerKeySerde[K]) Deserialize(topic string, data []byte) (outerKey[K], error) {
	var k outerKey[K]
	if len(data) < 9 {
		return k, fmt.Errorf("outer join store key of %d bytes: want at least 9", len(data))
	}
	k.ts = int64(binary.BigEndian.Uint64(data))
	k.left = data[8] == 1
	key, err := s.key.Deserialize(topic, data[9:])
	if err != nil {
		return k, fmt.Errorf("outer join store key: %w", err)
	}
	k.key = key
	return k, nil
}

// outerValues are the unmatched values of one key, time and side, in the
// order they arrived: only left or only right values, as the key says.
type outerValues[V1, V2 any] struct {
	left  []V1
	right []V2
}

// outerValuesSerde encodes a list of values as Kafka's ListValueStore does
// lists of LeftOrRightValue: per value, a 4-byte big-endian length, then a
// side byte (1 left, 0 right) and the value.
type outerValuesSerde[V1, V2 any] struct {
	left  serde.Serde[V1]
	right serde.Serde[V2]
}

func (s outerValuesSerde[V1, V2]) Serialize(dst []byte, topic string, vs outerValues[V1, V2]) ([]byte, error) {
	if dst == nil {
		dst = []byte{}
	}
	var err error
	for _, v := range vs.left {
		if dst, err = appendItem(dst, topic, 1, s.left, v); err != nil {
			return nil, err
		}
	}
	for _, v := range vs.right {
		if dst, err = appendItem(dst, topic, 0, s.right, v); err != nil {
			return nil, err
		}
	}
	return dst, nil
}

func appendItem[V any](dst []byte, topic string, side byte, s serde.Serde[V], v V) ([]byte, error) {
	at := len(dst)
	dst = append(dst, 0, 0, 0, 0, side)
	out, err := s.Serialize(dst, topic, v)
	if err != nil {
		return nil, fmt.Errorf("outer join store value: %w", err)
	}
	binary.BigEndian.PutUint32(out[at:], uint32(len(out)-at-4))
	return out, nil
}

func (s outerValuesSerde[V1, V2]) Deserialize(topic string, data []byte) (outerValues[V1, V2], error) {
	var vs outerValues[V1, V2]
	for len(data) > 0 {
		if len(data) < 5 {
			return vs, fmt.Errorf("outer join store value: %d trailing bytes", len(data))
		}
		n := int(binary.BigEndian.Uint32(data))
		if n < 1 || 4+n > len(data) {
			return vs, fmt.Errorf("outer join store value: item of %d bytes in %d", n, len(data)-4)
		}
		item := data[5 : 4+n]
		if data[4] == 1 {
			v, err := s.left.Deserialize(topic, item)
			if err != nil {
				return vs, fmt.Errorf("outer join store value: %w", err)
			}
			vs.left = append(vs.left, v)
		} else {
			v, err := s.right.Deserialize(topic, item)
			if err != nil {
				return vs, fmt.Errorf("outer join store value: %w", err)
			}
			vs.right = append(vs.right, v)
		}
		data = data[4+n:]
	}
	return vs, nil
}
