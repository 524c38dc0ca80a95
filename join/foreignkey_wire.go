package join

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"

	"github.com/strata-go/strata/serde"
)

// The foreign-key join's internal records, in Strata's own encodings
// (docs/deviations.md describes them; Kafka Streams' are not reproduced):
//
// A subscription, on the subscription topic keyed by the foreign key:
//
//	version (1 byte, 0) | flags (1 byte: instruction in the low bits,
//	0x80 when a hash follows, 0x40 when the foreign key is null) | hash
//	(16 bytes) | primary partition
//	(4 bytes, big-endian) | primary key (the left key serde's bytes)
//
// A response, on the response topic keyed by the primary key:
//
//	version (1 byte, 0) | flags (1 byte: 0x01 hash follows, 0x02 value
//	follows) | hash (16 bytes) | primary partition (4 bytes) | foreign
//	value (the right value serde's bytes)
//
// The subscription store, on the right side, keys each subscription by
// foreign key and primary key: the foreign key's length (4 bytes,
// big-endian), its bytes, then the primary key's bytes, so that a prefix
// scan finds the subscriptions of one foreign key, as Kafka Streams'
// CombinedKeySchema does. Its values are subscriptions as encoded above.

const fkWireVersion = 0

// instruction says what the right side does with a subscription, as Kafka
// Streams' SubscriptionWrapper.Instruction.
type instruction byte

const (
	// deleteNoPropagate unsubscribes, silently: the left row moved to
	// another foreign key, whose response will update the result.
	deleteNoPropagate instruction = iota
	// deleteAndPropagate unsubscribes and answers with no value, so that
	// the result row is deleted (or, for a left join, updated).
	deleteAndPropagate
	// propagateNullIfNoValue subscribes and always answers, with no value
	// when the right table has no row: the result must be updated.
	propagateNullIfNoValue
	// propagateOnlyIfValue subscribes and answers only when the right
	// table has a row: a new left row has no result to retract.
	propagateOnlyIfValue
)

const (
	flagHash  = 0x80
	flagNoFK  = 0x40
	instrMask = 0x0f
	respHash  = 0x01
	respValue = 0x02
	fkHashLen = 16
)

// valueHash is a hash of a left row's encoding: responses carry the hash
// of the row they answer, and a response whose hash is not the current
// row's is stale. FNV-1a, 128 bits.
type valueHash [fkHashLen]byte

// fkHasher hashes encoded values, reusing its state and buffers.
type fkHasher struct {
	buf []byte
	sum []byte
	h   interface {
		Write([]byte) (int, error)
		Sum([]byte) []byte
		Reset()
	}
}

func newFKHasher() *fkHasher { return &fkHasher{h: fnv.New128a()} }

// hashOf returns the hash of v's encoding with s; ok is false when v encodes
// as null.
func hashOf[V any](h *fkHasher, s serde.Serde[V], topic string, v V) (valueHash, bool, error) {
	b, err := s.Serialize(h.buf[:0], topic, v)
	if err != nil {
		return valueHash{}, false, fmt.Errorf("hash left value: %w", err)
	}
	if b == nil {
		return valueHash{}, false, nil
	}
	h.buf = b
	h.h.Reset()
	_, _ = h.h.Write(b)
	h.sum = h.h.Sum(h.sum[:0])
	return valueHash(h.sum), true, nil
}

// fkSubscription is a left row's request for the right row of its foreign
// key.
type fkSubscription[K any] struct {
	instr     instruction
	hash      valueHash
	hasHash   bool
	noFK      bool // the foreign key is null
	partition int32
	pk        K
}

type fkSubscriptionSerde[K any] struct{ pk serde.Serde[K] }

var errFKRecord = errors.New("join: malformed foreign-key join record")

func (s fkSubscriptionSerde[K]) Serialize(dst []byte, topic string, v fkSubscription[K]) ([]byte, error) {
	flags := byte(v.instr)
	if v.hasHash {
		flags |= flagHash
	}
	if v.noFK {
		flags |= flagNoFK
	}
	dst = append(dst, fkWireVersion, flags)
	if v.hasHash {
		dst = append(dst, v.hash[:]...)
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(v.partition))
	return s.pk.Serialize(dst, topic, v.pk)
}

func (s fkSubscriptionSerde[K]) Deserialize(topic string, data []byte) (fkSubscription[K], error) {
	var v fkSubscription[K]
	if len(data) < 2 || data[0] != fkWireVersion {
		return v, fmt.Errorf("%w: subscription of %d bytes, version %v", errFKRecord, len(data), data[:min(1, len(data))])
	}
	flags := data[1]
	v.instr, v.hasHash, v.noFK = instruction(flags&instrMask), flags&flagHash != 0, flags&flagNoFK != 0
	data = data[2:]
	if v.hasHash {
		if len(data) < fkHashLen {
			return v, fmt.Errorf("%w: subscription hash cut short", errFKRecord)
		}
		v.hash = valueHash(data[:fkHashLen])
		data = data[fkHashLen:]
	}
	if len(data) < 4 {
		return v, fmt.Errorf("%w: subscription partition cut short", errFKRecord)
	}
	v.partition = int32(binary.BigEndian.Uint32(data))
	pk, err := s.pk.Deserialize(topic, data[4:])
	if err != nil {
		return v, fmt.Errorf("subscription primary key: %w", err)
	}
	v.pk = pk
	return v, nil
}

// fkResponse carries the right row (or its absence) back to a left row.
type fkResponse[V any] struct {
	hash      valueHash
	hasHash   bool
	partition int32
	value     V
	hasValue  bool
}

type fkResponseSerde[V any] struct{ value serde.Serde[V] }

func (s fkResponseSerde[V]) Serialize(dst []byte, topic string, v fkResponse[V]) ([]byte, error) {
	var flags byte
	if v.hasHash {
		flags |= respHash
	}
	if v.hasValue {
		flags |= respValue
	}
	dst = append(dst, fkWireVersion, flags)
	if v.hasHash {
		dst = append(dst, v.hash[:]...)
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(v.partition))
	if !v.hasValue {
		return dst, nil
	}
	return s.value.Serialize(dst, topic, v.value)
}

func (s fkResponseSerde[V]) Deserialize(topic string, data []byte) (fkResponse[V], error) {
	var v fkResponse[V]
	if len(data) < 2 || data[0] != fkWireVersion {
		return v, fmt.Errorf("%w: response of %d bytes", errFKRecord, len(data))
	}
	flags := data[1]
	v.hasHash, v.hasValue = flags&respHash != 0, flags&respValue != 0
	data = data[2:]
	if v.hasHash {
		if len(data) < fkHashLen {
			return v, fmt.Errorf("%w: response hash cut short", errFKRecord)
		}
		v.hash = valueHash(data[:fkHashLen])
		data = data[fkHashLen:]
	}
	if len(data) < 4 {
		return v, fmt.Errorf("%w: response partition cut short", errFKRecord)
	}
	v.partition = int32(binary.BigEndian.Uint32(data))
	if v.hasValue {
		val, err := s.value.Deserialize(topic, data[4:])
		if err != nil {
			return v, fmt.Errorf("response foreign value: %w", err)
		}
		v.value = val
	}
	return v, nil
}

// appendCombinedKey appends the subscription store's key of foreign key fk
// and primary key pk, both encoded.
func appendCombinedKey(dst, fk, pk []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(fk)))
	dst = append(dst, fk...)
	return append(dst, pk...)
}
