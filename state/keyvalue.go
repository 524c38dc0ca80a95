package state

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata/internal/engine"
	"github.com/strata-go/strata/internal/kv"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
)

// ReadOnlyKeyValueStore is the read side of a key-value store. Ranges are
// inclusive of both ends and follow the byte order of the key serde.
type ReadOnlyKeyValueStore[K, V any] interface {
	topology.StateStore
	// Get returns the value of key, or ok false if there is none.
	Get(key K) (value V, ok bool, err error)
	// Range iterates the keys from from to to, both inclusive, in
	// ascending order.
	Range(from, to K) (Iterator[K, V], error)
	// ReverseRange iterates the keys from from to to, both inclusive, in
	// descending order.
	ReverseRange(from, to K) (Iterator[K, V], error)
	// PrefixScan iterates, in ascending order, the keys whose
	// serialized bytes start with those of prefix.
	PrefixScan(prefix K) (Iterator[K, V], error)
	// All iterates every key in ascending order.
	All() (Iterator[K, V], error)
	// ReverseAll iterates every key in descending order.
	ReverseAll() (Iterator[K, V], error)
	// ApproximateNumEntries estimates the number of keys.
	ApproximateNumEntries() (int64, error)
}

// KeyValueStore is a typed key-value store.
type KeyValueStore[K, V any] interface {
	ReadOnlyKeyValueStore[K, V]
	// Put stores value under key. A value whose serde encodes it as null
	// (a nil pointer, for instance) deletes the key, as in Kafka Streams.
	Put(key K, value V) error
	// PutIfAbsent stores value only if key has none, and returns the
	// value key already had, with ok true, otherwise.
	PutIfAbsent(key K, value V) (old V, ok bool, err error)
	// PutAll stores every entry, in order.
	PutAll(entries []KeyValue[K, V]) error
	// Delete removes key. Deleting an absent key is not an error.
	Delete(key K) error
}

// kvStore is the typed key-value store over a kv.Store.
type kvStore[K, V any] struct {
	spec       *spec
	keySerde   serde.Serde[K]
	valueSerde serde.Serde[V]
	task       *engine.Task
	db         kv.Store
	changelog  string
	keyBuf     []byte
	valBuf     []byte

	// cache is the store's part of the task's record cache, or nil:
	// writes then go straight to db and the changelog (cache.go).
	cache    *engine.NamedCache
	listener func(Change[K, V]) error
	sendOld  bool
	olds     [][]byte
}

func (s *kvStore[K, V]) Name() string { return s.spec.name }

func (s *kvStore[K, V]) Init(t *engine.Task) error {
	s.task = t
	s.changelog = t.Changelog(s.spec.name)
	db, err := s.spec.open(t)
	if err != nil {
		return err
	}
	s.db = db
	if s.spec.caching {
		s.cache = t.NamedCache(s.spec.name, s.writeFlushed)
	}
	return nil
}

func (s *kvStore[K, V]) fail(op string, err error) error {
	return fmt.Errorf("store %q: %s: %w", s.spec.name, op, err)
}

// encodeKey serializes key into a buffer that lives until the next call:
// the task's output slab when the store is logged (the changelog record
// keeps it), the store's own scratch otherwise.
func (s *kvStore[K, V]) encodeKey(key K, forLog bool) ([]byte, error) {
	if forLog && s.spec.logged {
		kb, err := s.keySerde.Serialize(s.task.OutputBuffer(), s.changelog, key)
		s.task.KeepOutput(kb)
		return kb, err
	}
	kb, err := s.keySerde.Serialize(s.keyBuf[:0], s.changelog, key)
	s.keyBuf = kb
	return kb, err
}

func (s *kvStore[K, V]) encodeValue(v V) ([]byte, error) {
	if s.spec.logged {
		vb, err := s.valueSerde.Serialize(s.task.OutputBuffer(), s.changelog, v)
		s.task.KeepOutput(vb)
		return vb, err
	}
	vb, err := s.valueSerde.Serialize(s.valBuf[:0], s.changelog, v)
	if vb != nil {
		s.valBuf = vb
	}
	return vb, err
}

func (s *kvStore[K, V]) decode(k, v []byte) (K, V, error) {
	key, err := s.keySerde.Deserialize(s.changelog, k)
	if err != nil {
		var zv V
		return key, zv, fmt.Errorf("key: %w", err)
	}
	val, err := s.valueSerde.Deserialize(s.changelog, v)
	if err != nil {
		return key, val, fmt.Errorf("value: %w", err)
	}
	return key, val, nil
}

func (s *kvStore[K, V]) Get(key K) (V, bool, error) {
	var zero V
	kb, err := s.encodeKey(key, false)
	if err != nil {
		return zero, false, s.fail("get: serialize key", err)
	}
	if s.cache != nil {
		if vb, ok := s.cache.Get(kb); ok {
			if vb == nil {
				return zero, false, nil // a cached delete
			}
			v, err := s.valueSerde.Deserialize(s.changelog, vb)
			if err != nil {
				return zero, false, s.fail("get: deserialize value", err)
			}
			return v, true, nil
		}
	}
	vb, ok, err := s.db.Get(kb)
	if err != nil {
		return zero, false, s.fail("get", err)
	}
	if s.cache != nil {
		// vb is nil when the store does not hold the key: the cache
		// remembers that too.
		if err := s.cache.Load(kb, vb); err != nil {
			return zero, false, s.fail("get", err)
		}
	}
	if !ok {
		return zero, false, nil
	}
	v, err := s.valueSerde.Deserialize(s.changelog, vb)
	if err != nil {
		return zero, false, s.fail("get: deserialize value", err)
	}
	return v, true, nil
}

func (s *kvStore[K, V]) Put(key K, value V) error {
	if s.cache != nil {
		return s.cachedPut(key, value)
	}
	kb, err := s.encodeKey(key, true)
	if err != nil {
		return s.fail("put: serialize key", err)
	}
	vb, err := s.encodeValue(value)
	if err != nil {
		return s.fail("put: serialize value", err)
	}
	if vb == nil {
		err = s.db.Delete(kb)
	} else {
		err = s.db.Set(kb, vb)
	}
	if err != nil {
		return s.fail("put", err)
	}
	return s.log(kb, vb)
}

func (s *kvStore[K, V]) PutIfAbsent(key K, value V) (V, bool, error) {
	old, ok, err := s.Get(key)
	if err != nil || ok {
		return old, ok, err
	}
	return old, false, s.Put(key, value)
}

func (s *kvStore[K, V]) PutAll(entries []KeyValue[K, V]) error {
	for _, e := range entries {
		if err := s.Put(e.Key, e.Value); err != nil {
			return err
		}
	}
	return nil
}

func (s *kvStore[K, V]) Delete(key K) error {
	if s.cache != nil {
		return s.cachedDelete(key)
	}
	kb, err := s.encodeKey(key, true)
	if err != nil {
		return s.fail("delete: serialize key", err)
	}
	if err := s.db.Delete(kb); err != nil {
		return s.fail("delete", err)
	}
	return s.log(kb, nil)
}

// log sends a changelog record for a write. A nil value is a tombstone.
func (s *kvStore[K, V]) log(kb, vb []byte) error {
	if !s.spec.logged {
		return nil
	}
	return s.spec.sendChangelog(s.task, s.changelog, kb, vb)
}

func (s *kvStore[K, V]) iter(lower, upper []byte, reverse bool) Iterator[K, V] {
	return newDecodeIterator(s.db.Iter(lower, upper, reverse), s.decode)
}

func (s *kvStore[K, V]) rangeBounds(from, to K) ([]byte, []byte, error) {
	lo, err := s.keySerde.Serialize(nil, s.changelog, from)
	if err != nil {
		return nil, nil, s.fail("range: serialize from", err)
	}
	hi, err := s.keySerde.Serialize(nil, s.changelog, to)
	if err != nil {
		return nil, nil, s.fail("range: serialize to", err)
	}
	// kv ranges exclude their upper bound; the smallest key after hi is
	// hi followed by a zero byte.
	return lo, append(hi, 0), nil
}

func (s *kvStore[K, V]) Range(from, to K) (Iterator[K, V], error) {
	if err := s.flushForIter(); err != nil {
		return nil, err
	}
	lo, hi, err := s.rangeBounds(from, to)
	if err != nil {
		return nil, err
	}
	return s.iter(lo, hi, false), nil
}

func (s *kvStore[K, V]) ReverseRange(from, to K) (Iterator[K, V], error) {
	if err := s.flushForIter(); err != nil {
		return nil, err
	}
	lo, hi, err := s.rangeBounds(from, to)
	if err != nil {
		return nil, err
	}
	return s.iter(lo, hi, true), nil
}

func (s *kvStore[K, V]) PrefixScan(prefix K) (Iterator[K, V], error) {
	if err := s.flushForIter(); err != nil {
		return nil, err
	}
	p, err := s.keySerde.Serialize(nil, s.changelog, prefix)
	if err != nil {
		return nil, s.fail("prefix scan: serialize prefix", err)
	}
	return s.iter(p, prefixEnd(p), false), nil
}

func (s *kvStore[K, V]) All() (Iterator[K, V], error) {
	if err := s.flushForIter(); err != nil {
		return nil, err
	}
	return s.iter(nil, nil, false), nil
}

func (s *kvStore[K, V]) ReverseAll() (Iterator[K, V], error) {
	if err := s.flushForIter(); err != nil {
		return nil, err
	}
	return s.iter(nil, nil, true), nil
}

func (s *kvStore[K, V]) ApproximateNumEntries() (int64, error) {
	n, err := s.db.ApproximateCount()
	if err != nil {
		return 0, s.fail("count", err)
	}
	return n, nil
}

func (s *kvStore[K, V]) Flush() error {
	if s.cache == nil {
		return nil
	}
	if err := s.cache.Flush(); err != nil {
		return s.fail("flush", err)
	}
	return nil
}

func (s *kvStore[K, V]) Restore(recs []*kgo.Record) error {
	if s.spec.hasSource {
		return s.restoreSource(recs)
	}
	b := s.db.NewBatch()
	for _, r := range recs {
		if r.Key == nil {
			return s.fail("restore", fmt.Errorf("corrupt changelog record at %s[%d]@%d: null key", r.Topic, r.Partition, r.Offset))
		}
		var err error
		if r.Value == nil {
			err = b.Delete(r.Key)
		} else {
			err = b.Set(r.Key, r.Value)
		}
		if err != nil {
			return s.fail("restore", err)
		}
	}
	if err := b.Commit(); err != nil {
		return s.fail("restore", err)
	}
	return nil
}

func (s *kvStore[K, V]) Close() error {
	if s.cache != nil {
		s.cache.Close() // dropping unflushed writes, as documented
		s.cache = nil
	}
	if s.db == nil {
		return nil
	}
	err := s.db.Close()
	s.db = nil
	if err != nil {
		return s.fail("close", err)
	}
	return nil
}

// prefixEnd returns the smallest key greater than every key starting with
// p, or nil (unbounded) if p is all 0xFF bytes.
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xFF {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// LookupKeyValue returns the key-value store named name, which must be connected
// to the processor whose context ctx is, and hold keys of type K and values
// of type V.
func LookupKeyValue[K, V any](ctx interface {
	StateStore(name string) (topology.StateStore, error)
}, name string) (KeyValueStore[K, V], error) {
	return lookup[KeyValueStore[K, V], K, V](ctx, name, "key-value store")
}

// lookup returns the store named name from ctx as an S, a store interface
// over keys K and values V, or an error naming the store, what it is, and
// what was asked for.
func lookup[S any, K, V any](ctx interface {
	StateStore(name string) (topology.StateStore, error)
}, name, kind string) (S, error) {
	var zero S
	s, err := ctx.StateStore(name)
	if err != nil {
		return zero, err
	}
	typed, ok := s.(S)
	if !ok {
		var k K
		var v V
		return zero, fmt.Errorf("store %q is a %s, not a %s of key %T and value %T", name, describeStore(s), kind, k, v)
	}
	return typed, nil
}

// describeStore names the kind and types of a store for error messages.
func describeStore(s topology.StateStore) string {
	if d, ok := s.(interface{ describe() string }); ok {
		return d.describe()
	}
	return fmt.Sprintf("%T", s)
}

// EncodeKey returns the bytes key is stored under, for tools that merge
// several stores' contents in store order.
func (s *kvStore[K, V]) EncodeKey(key K) ([]byte, error) {
	return s.keySerde.Serialize(nil, s.changelog, key)
}

func (s *kvStore[K, V]) describe() string {
	var k K
	var v V
	return fmt.Sprintf("key-value store of key %T and value %T", k, v)
}

// restoreSource restores records of a source topic serving as the store's
// changelog (SourceChangelog): they hold what processing stores, in the
// source's format, so each is checked and converted as processing would.
func (s *kvStore[K, V]) restoreSource(recs []*kgo.Record) error {
	b := s.db.NewBatch()
	conv, timestamped := s.valueSerde.(sourceConverter)
	for _, r := range recs {
		if r.Key == nil {
			// Processing dropped it, whatever the policy, and
			// logged it then.
			continue
		}
		if _, err := s.keySerde.Deserialize(s.changelog, r.Key); err != nil {
			if err := s.task.RestoreBadRecord(s.spec.name, r, fmt.Errorf("key: %w", err)); err != nil {
				return err
			}
			continue
		}
		if r.Value == nil {
			if err := b.Delete(r.Key); err != nil {
				return s.fail("restore", err)
			}
			continue
		}
		value := r.Value
		if timestamped {
			s.valBuf = conv.fromSource(s.valBuf[:0], r.Timestamp, r.Value)
			value = s.valBuf
		}
		if _, err := s.valueSerde.Deserialize(s.changelog, value); err != nil {
			if err := s.task.RestoreBadRecord(s.spec.name, r, fmt.Errorf("value: %w", err)); err != nil {
				return err
			}
			continue
		}
		if err := b.Set(r.Key, value); err != nil {
			return s.fail("restore", err)
		}
	}
	if err := b.Commit(); err != nil {
		return s.fail("restore", err)
	}
	return nil
}
