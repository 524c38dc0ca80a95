package state

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/window"
)

// Timestamped is a value with the timestamp of the record that last changed
// it, the DSL's default store value, as Kafka Streams' ValueAndTimestamp.
type Timestamped[V any] struct {
	Value     V
	Timestamp time.Time
}

// TimestampedSerde encodes a Timestamped value as Kafka Streams'
// ValueAndTimestamp serializer does: 8 bytes of big-endian milliseconds, then
// the inner encoding of the value. A value the inner serde encodes as null
// makes the whole value null.
func TimestampedSerde[V any](inner serde.Serde[V]) serde.Serde[Timestamped[V]] {
	return timestampedSerde[V]{inner}
}

type timestampedSerde[V any] struct{ inner serde.Serde[V] }

func (s timestampedSerde[V]) Serialize(dst []byte, topic string, v Timestamped[V]) ([]byte, error) {
	start := len(dst)
	dst = binary.BigEndian.AppendUint64(dst, uint64(v.Timestamp.UnixMilli()))
	out, err := s.inner.Serialize(dst, topic, v.Value)
	if err != nil || out == nil {
		return nil, err
	}
	if len(out) < start+8 {
		return nil, fmt.Errorf("state: timestamped serde: inner serde did not append to its buffer")
	}
	return out, nil
}

// sourceConverter is a store value serde whose encoding differs from that
// of the source topic a store restores from (SourceChangelog).
type sourceConverter interface {
	// fromSource appends to dst the store encoding of a source record's
	// raw value.
	fromSource(dst []byte, ts time.Time, raw []byte) []byte
}

// fromSource prepends the record's timestamp to the raw value, as Kafka
// Streams' record converter for timestamped stores does.
func (timestampedSerde[V]) fromSource(dst []byte, ts time.Time, raw []byte) []byte {
	dst = binary.BigEndian.AppendUint64(dst, uint64(ts.UnixMilli()))
	return append(dst, raw...)
}

func (s timestampedSerde[V]) Deserialize(topic string, data []byte) (Timestamped[V], error) {
	if data == nil {
		return Timestamped[V]{}, nil
	}
	if len(data) < 8 {
		return Timestamped[V]{}, fmt.Errorf("%w: timestamped value needs at least 8 bytes, got %d", serde.ErrInvalidLength, len(data))
	}
	v, err := s.inner.Deserialize(topic, data[8:])
	if err != nil {
		return Timestamped[V]{}, err
	}
	return Timestamped[V]{Value: v, Timestamp: time.UnixMilli(int64(binary.BigEndian.Uint64(data)))}, nil
}

// ValuesOf returns a read-only view of a store of timestamped values that
// shows the values alone, as Kafka Streams' getKeyValueStore does for
// timestamped stores.
func ValuesOf[K, V any](s ReadOnlyKeyValueStore[K, Timestamped[V]]) ReadOnlyKeyValueStore[K, V] {
	return valuesOf[K, V]{s}
}

type valuesOf[K, V any] struct {
	s ReadOnlyKeyValueStore[K, Timestamped[V]]
}

func (v valuesOf[K, V]) Name() string { return v.s.Name() }

func (v valuesOf[K, V]) Get(key K) (V, bool, error) {
	tv, ok, err := v.s.Get(key)
	return tv.Value, ok, err
}

func (v valuesOf[K, V]) Range(from, to K) (Iterator[K, V], error) { return values(v.s.Range(from, to)) }
func (v valuesOf[K, V]) ReverseRange(from, to K) (Iterator[K, V], error) {
	return values(v.s.ReverseRange(from, to))
}
func (v valuesOf[K, V]) PrefixScan(prefix K) (Iterator[K, V], error) {
	return values(v.s.PrefixScan(prefix))
}
func (v valuesOf[K, V]) All() (Iterator[K, V], error)        { return values(v.s.All()) }
func (v valuesOf[K, V]) ReverseAll() (Iterator[K, V], error) { return values(v.s.ReverseAll()) }
func (v valuesOf[K, V]) ApproximateNumEntries() (int64, error) {
	return v.s.ApproximateNumEntries()
}

// EncodeKey passes the underlying store's key encoding through, when it has
// one.
func (v valuesOf[K, V]) EncodeKey(key K) ([]byte, error) {
	if ke, ok := v.s.(interface{ EncodeKey(K) ([]byte, error) }); ok {
		return ke.EncodeKey(key)
	}
	return nil, fmt.Errorf("store %q does not expose its key encoding", v.s.Name())
}

func values[K, V any](it Iterator[K, Timestamped[V]], err error) (Iterator[K, V], error) {
	if err != nil {
		return nil, err
	}
	return valueIterator[K, V]{it}, nil
}

type valueIterator[K, V any] struct{ Iterator[K, Timestamped[V]] }

func (it valueIterator[K, V]) Value() V { return it.Iterator.Value().Value }

// WindowValuesOf returns a read-only view of a window store of timestamped
// values that shows the values alone, as ValuesOf does for key-value stores.
func WindowValuesOf[K, V any](s ReadOnlyWindowStore[K, Timestamped[V]]) ReadOnlyWindowStore[K, V] {
	return windowValuesOf[K, V]{s}
}

type windowValuesOf[K, V any] struct {
	s ReadOnlyWindowStore[K, Timestamped[V]]
}

func (v windowValuesOf[K, V]) Name() string { return v.s.Name() }

func (v windowValuesOf[K, V]) Fetch(key K, start time.Time) (V, bool, error) {
	tv, ok, err := v.s.Fetch(key, start)
	return tv.Value, ok, err
}

func (v windowValuesOf[K, V]) FetchRange(key K, from, to time.Time) (Iterator[time.Time, V], error) {
	return values(v.s.FetchRange(key, from, to))
}

func (v windowValuesOf[K, V]) BackwardFetchRange(key K, from, to time.Time) (Iterator[time.Time, V], error) {
	return values(v.s.BackwardFetchRange(key, from, to))
}

func (v windowValuesOf[K, V]) FetchKeyRange(keyFrom, keyTo K, from, to time.Time) (Iterator[window.Windowed[K], V], error) {
	return values(v.s.FetchKeyRange(keyFrom, keyTo, from, to))
}

func (v windowValuesOf[K, V]) BackwardFetchKeyRange(keyFrom, keyTo K, from, to time.Time) (Iterator[window.Windowed[K], V], error) {
	return values(v.s.BackwardFetchKeyRange(keyFrom, keyTo, from, to))
}

func (v windowValuesOf[K, V]) FetchAll(from, to time.Time) (Iterator[window.Windowed[K], V], error) {
	return values(v.s.FetchAll(from, to))
}

func (v windowValuesOf[K, V]) BackwardFetchAll(from, to time.Time) (Iterator[window.Windowed[K], V], error) {
	return values(v.s.BackwardFetchAll(from, to))
}

func (v windowValuesOf[K, V]) All() (Iterator[window.Windowed[K], V], error) {
	return values(v.s.All())
}

func (v windowValuesOf[K, V]) BackwardAll() (Iterator[window.Windowed[K], V], error) {
	return values(v.s.BackwardAll())
}

// EncodeKey passes the underlying store's key encoding through.
func (v windowValuesOf[K, V]) EncodeKey(key K) ([]byte, error) {
	if ke, ok := v.s.(interface{ EncodeKey(K) ([]byte, error) }); ok {
		return ke.EncodeKey(key)
	}
	return nil, fmt.Errorf("store %q does not expose its key encoding", v.s.Name())
}
