package join

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/strata-go/strata/internal/dsl"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/topology"
)

// A stream-table join with a grace period (WithGracePeriod) holds stream
// records back in a store of their own, Kafka Streams'
// RocksDBTimeOrderedKeyValueBuffer: a key-value store whose keys are the
// record's timestamp (8 big-endian bytes), its serialized key and a
// sequence number (4 bytes), so that the store's order is the order records
// leave it in, timestamp first, as Kafka Streams' time-first key schema.
// Its values are the record's value and headers. The store has a
// changelog, so held records survive a restart.

// graceSpec is what a join's processors need to make their buffer.
type graceSpec[K, V any] struct {
	store    string
	grace    int64 // ms
	keySerde serde.Serde[K]
}

// graceBufferFor declares the buffer of a stream-table join with a grace
// period, and returns its spec, or nil when the join has no grace period.
// The table must be versioned, for at least the grace period.
func graceBufferFor[K, V1, V2 any](b *topology.Builder, op, name string, s dsl.Stream[K, V1], t dsl.Table[K, V2], o *dsl.Options) *graceSpec[K, V1] {
	if o.Given&optGrace == 0 {
		return nil
	}
	history, versioned := t.Versioned()
	switch {
	case !versioned:
		// Kafka Streams: "KTable must be versioned to use a grace
		// period in a stream table join."
		b.Fail(fmt.Errorf("%s %q: the table must be versioned (ktable.Versioned) to use a grace period", op, name))
		return nil
	case o.Grace < 0:
		b.Fail(fmt.Errorf("%s %q: grace period %v is negative", op, name, o.Grace))
		return nil
	case history < o.Grace:
		// Kafka Streams: "History retention must be at least grace
		// period."
		b.Fail(fmt.Errorf("%s %q: the table's history retention %v must be at least the grace period %v", op, name, history, o.Grace))
		return nil
	}
	spec := &graceSpec[K, V1]{
		store:    name + "-Buffer",
		grace:    o.Grace.Milliseconds(),
		keySerde: dsl.SerdeOr(b, op, "key", o.KeySerde, s.KeySerde()),
	}
	vs := dsl.SerdeOr(b, op, "left value", o.LeftSerde, s.ValueSerde())
	opts := append(slices.Clone(o.StoreOpts), state.Caching(false))
	state.AddKeyValueStore(b, spec.store, serde.Bytes(), bufferedSerde[V1]{vs}, opts...)
	return spec
}

// instance returns a buffer for one task.
func (g *graceSpec[K, V]) instance() *graceBuffer[K, V] {
	return &graceBuffer[K, V]{spec: g, grace: g.grace}
}

// graceBuffer holds one task's stream records back.
type graceBuffer[K, V any] struct {
	spec  *graceSpec[K, V]
	grace int64
	store state.KeyValueStore[[]byte, buffered[V]]
	topic string // for the key serde
	seq   uint32
	key   []byte
}

// buffered is a held record's value and headers.
type buffered[V any] struct {
	value   V
	headers []topology.Header
}

// init looks the store up and continues the sequence numbers of the records
// it holds.
func (g *graceBuffer[K, V]) init(ctx interface {
	StateStore(name string) (topology.StateStore, error)
	ApplicationID() string
}) error {
	s, err := state.LookupKeyValue[[]byte, buffered[V]](ctx, g.spec.store)
	if err != nil {
		return err
	}
	g.store = s
	g.topic = ctx.ApplicationID() + "-" + g.spec.store + "-changelog"
	it, err := s.All()
	if err != nil {
		return err
	}
	for it.Next() {
		if k := it.Key(); len(k) >= 12 {
			g.seq = max(g.seq, binary.BigEndian.Uint32(k[len(k)-4:])+1)
		}
	}
	return it.Close()
}

// add holds r.
func (g *graceBuffer[K, V]) add(r topology.Record[K, V]) error {
	k := binary.BigEndian.AppendUint64(g.key[:0], uint64(r.Timestamp.UnixMilli()))
	k, err := g.spec.keySerde.Serialize(k, g.topic, r.Key)
	if err != nil {
		return fmt.Errorf("grace buffer %q: serialize key: %w", g.spec.store, err)
	}
	k = binary.BigEndian.AppendUint32(k, g.seq)
	g.seq++
	g.key = k
	return g.store.Put(k, buffered[V]{value: r.Value, headers: r.Headers})
}

// evict passes every held record whose timestamp is at or before upTo to
// fn, in order of timestamp, then key, then arrival, and deletes it.
func (g *graceBuffer[K, V]) evict(upTo int64, fn func(topology.Record[K, V]) error) error {
	it, err := g.store.All()
	if err != nil {
		return err
	}
	var due []state.KeyValue[[]byte, buffered[V]]
	for it.Next() {
		k := it.Key()
		if len(k) < 12 {
			it.Close()
			return fmt.Errorf("grace buffer %q: malformed key %x", g.spec.store, k)
		}
		if int64(binary.BigEndian.Uint64(k)) > upTo {
			break
		}
		due = append(due, state.KeyValue[[]byte, buffered[V]]{Key: slices.Clone(k), Value: it.Value()})
	}
	if err := it.Close(); err != nil {
		return err
	}
	for _, e := range due {
		key, err := g.spec.keySerde.Deserialize(g.topic, e.Key[8:len(e.Key)-4])
		if err != nil {
			return fmt.Errorf("grace buffer %q: deserialize key: %w", g.spec.store, err)
		}
		r := topology.Record[K, V]{Key: key, Value: e.Value.value, Headers: e.Value.headers,
			Timestamp: time.UnixMilli(int64(binary.BigEndian.Uint64(e.Key)))}
		if err := fn(r); err != nil {
			return err
		}
		if err := g.store.Delete(e.Key); err != nil {
			return err
		}
	}
	return nil
}

// bufferedSerde encodes a held record: the number of headers (uvarint),
// each header's key and value (uvarint lengths; a nil value has length 0
// and a flag), then the value in the inner serde's encoding.
type bufferedSerde[V any] struct{ inner serde.Serde[V] }

var errBuffered = errors.New("malformed held record")

func (s bufferedSerde[V]) Serialize(dst []byte, topic string, b buffered[V]) ([]byte, error) {
	dst = binary.AppendUvarint(dst, uint64(len(b.headers)))
	for _, h := range b.headers {
		dst = binary.AppendUvarint(dst, uint64(len(h.Key)))
		dst = append(dst, h.Key...)
		if h.Value == nil {
			dst = append(dst, 0)
			continue
		}
		dst = append(dst, 1)
		dst = binary.AppendUvarint(dst, uint64(len(h.Value)))
		dst = append(dst, h.Value...)
	}
	out, err := s.inner.Serialize(dst, topic, b.value)
	if err != nil {
		return nil, err
	}
	if out == nil {
		// The inner serde made a null of the value; the join drops
		// null values before the buffer, so this is an empty one.
		out = dst
	}
	return out, nil
}

func (s bufferedSerde[V]) Deserialize(topic string, data []byte) (buffered[V], error) {
	var b buffered[V]
	n, k := binary.Uvarint(data)
	if k <= 0 || n > uint64(len(data)) {
		return b, errBuffered
	}
	data = data[k:]
	if n > 0 {
		b.headers = make([]topology.Header, n)
	}
	field := func() ([]byte, bool) {
		l, k := binary.Uvarint(data)
		if k <= 0 || l > uint64(len(data)-k) {
			return nil, false
		}
		f := slices.Clone(data[k : k+int(l)])
		data = data[k+int(l):]
		return f, true
	}
	for i := range b.headers {
		key, ok := field()
		if !ok || len(data) == 0 {
			return b, errBuffered
		}
		b.headers[i].Key = string(key)
		present := data[0]
		data = data[1:]
		if present == 1 {
			if b.headers[i].Value, ok = field(); !ok {
				return b, errBuffered
			}
		}
	}
	v, err := s.inner.Deserialize(topic, data)
	if err != nil {
		return b, err
	}
	b.value = v
	return b, nil
}
