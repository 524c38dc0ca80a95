package query

import (
	"context"
	"fmt"

	"github.com/strata-go/strata/internal/engine"
	"github.com/strata-go/strata/internal/iq"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
)

// KeyValueStore is a typed, read-only handle on a key-value store of a
// Source, obtained once with [KeyValue] and safe for concurrent use. Its
// reads see what the tasks of this instance have processed (see the
// package doc for the consistency they give).
type KeyValueStore[K, V any] struct {
	h   *handle
	ks  serde.Serde[K]
	acc kvAccess[K, V]
}

// kvAccess reads a store whose values are of type SV as one of V.
type kvAccess[K, V any] struct {
	get   func(s engine.Store, key K) (V, bool, error)
	page  func(s engine.Store, lo, hi []byte, p iq.Page, fn func(enc []byte, key K, value V) error) (iq.PageEnd, error)
	count func(s engine.Store) (int64, error)
}

func newKVAccess[K, V, SV any](name string, conv func(SV) V) kvAccess[K, V] {
	store := func(s engine.Store) (iq.KeyValue[K, SV], error) {
		kv, ok := s.(iq.KeyValue[K, SV])
		if !ok {
			return nil, typeError[K, V](name, "key-value", s)
		}
		return kv, nil
	}
	return kvAccess[K, V]{
		get: func(s engine.Store, key K) (V, bool, error) {
			var zero V
			kv, err := store(s)
			if err != nil {
				return zero, false, err
			}
			sv, ok, err := kv.QueryGet(key)
			if err != nil || !ok {
				return zero, false, err
			}
			return conv(sv), true, nil
		},
		page: func(s engine.Store, lo, hi []byte, p iq.Page, fn func(enc []byte, key K, value V) error) (iq.PageEnd, error) {
			kv, err := store(s)
			if err != nil {
				return iq.PageEnd{}, err
			}
			return kv.QueryPage(lo, hi, p, func(enc []byte, key K, sv SV) error { return fn(enc, key, conv(sv)) })
		},
		count: func(s engine.Store) (int64, error) {
			kv, err := store(s)
			if err != nil {
				return 0, err
			}
			return kv.QueryCount()
		},
	}
}

// KeyValue returns a handle on the key-value store called name in src,
// holding keys of type K and values of type V. A store of the DSL holds
// state.Timestamped values: ask for V to read the values alone, as Kafka
// Streams' keyValueStore() does, or for state.Timestamped[V] to read their
// timestamps too. A store src does not have is an error wrapping
// ErrUnknownStore; other types than the store's, one wrapping ErrStoreType.
func KeyValue[K, V any](src Source, name string, opts ...Option) (*KeyValueStore[K, V], error) {
	h, sample, err := newHandle(src, name, "key-value", opts)
	if err != nil {
		return nil, err
	}
	s := &KeyValueStore[K, V]{h: h}
	switch st := sample.(type) {
	case iq.KeyValue[K, V]:
		s.ks = st.QueryKeySerde()
		s.acc = newKVAccess[K, V](name, func(v V) V { return v })
	case iq.KeyValue[K, state.Timestamped[V]]:
		s.ks = st.QueryKeySerde()
		s.acc = newKVAccess[K, V](name, func(v state.Timestamped[V]) V { return v.Value })
	default:
		return nil, typeError[K, V](name, "key-value", sample)
	}
	return s, nil
}

// Name is the store's name.
func (s *KeyValueStore[K, V]) Name() string { return s.h.name }

// Get returns the value of key, or ok false if the store holds none. The
// key's partition must be active on this instance (or, with FromStandby, a
// standby replica here close enough): otherwise the error wraps ErrNotLocal,
// or ErrRebalancing while the partition is restoring or moving. ctx bounds
// the wait for the task holding the partition.
func (s *KeyValueStore[K, V]) Get(ctx context.Context, key K) (value V, ok bool, err error) {
	p, err := keyPartition(s.h, s.ks, key)
	if err != nil {
		return value, false, err
	}
	st, lease, err := s.h.acquire(ctx, p)
	if err != nil {
		return value, false, err
	}
	defer lease.Release() // also if the store's serde panics
	return s.acc.get(st, key)
}

// Range iterates the keys from from to to, both inclusive, in ascending
// order of their serialized bytes, over the partitions this instance
// holds ([KeyValueStore.LocalPartitions]). The caller closes the iterator.
func (s *KeyValueStore[K, V]) Range(ctx context.Context, from, to K) (state.Iterator[K, V], error) {
	return s.keyRange(ctx, from, to, false)
}

// ReverseRange is Range in descending order.
func (s *KeyValueStore[K, V]) ReverseRange(ctx context.Context, from, to K) (state.Iterator[K, V], error) {
	return s.keyRange(ctx, from, to, true)
}

// PrefixScan iterates, in ascending order, the keys whose serialized bytes
// start with those of prefix, over the partitions this instance holds.
func (s *KeyValueStore[K, V]) PrefixScan(ctx context.Context, prefix K) (state.Iterator[K, V], error) {
	lo, err := s.encode(prefix, "prefix")
	if err != nil {
		return nil, err
	}
	return s.scan(ctx, lo, iq.PrefixEnd(lo), false, nil)
}

// All iterates every key, in ascending order, over the partitions this
// instance holds.
func (s *KeyValueStore[K, V]) All(ctx context.Context) (state.Iterator[K, V], error) {
	return s.scan(ctx, nil, nil, false, nil)
}

// ReverseAll is All in descending order.
func (s *KeyValueStore[K, V]) ReverseAll(ctx context.Context) (state.Iterator[K, V], error) {
	return s.scan(ctx, nil, nil, true, nil)
}

// ApproximateNumEntries estimates the number of keys of the partitions this
// instance holds, without writes still in the record cache.
func (s *KeyValueStore[K, V]) ApproximateNumEntries(ctx context.Context) (int64, error) {
	parts, err := s.h.local()
	if err != nil {
		return 0, err
	}
	var total int64
	for _, p := range parts {
		err := s.h.read(ctx, p, func(st engine.Store) error {
			n, err := s.acc.count(st)
			total += n
			return err
		})
		if err != nil {
			return 0, err
		}
	}
	return total, nil
}

// LocalPartitions lists the partitions of the store this instance holds,
// which ranges iterate: those it runs, restored or still restoring, and,
// with FromStandby, its standby replicas within the lag bound.
func (s *KeyValueStore[K, V]) LocalPartitions() ([]int32, error) { return s.h.local() }

// KeyMetadata says which partition holds key and which instances hold that
// partition.
func (s *KeyValueStore[K, V]) KeyMetadata(key K) (KeyMetadata, error) {
	return keyMetadata(s.h, s.ks, key)
}

func (s *KeyValueStore[K, V]) encode(key K, what string) ([]byte, error) {
	b, err := s.ks.Serialize(nil, s.h.changelog, key)
	if err != nil {
		return nil, fmt.Errorf("query: store %q: serialize %s: %w", s.h.name, what, err)
	}
	return b, nil
}

func (s *KeyValueStore[K, V]) keyRange(ctx context.Context, from, to K, reverse bool) (state.Iterator[K, V], error) {
	lo, err := s.encode(from, "from")
	if err != nil {
		return nil, err
	}
	hi, err := s.encode(to, "to")
	if err != nil {
		return nil, err
	}
	// Ranges include to: the least key after it is to followed by a
	// zero byte.
	return s.scan(ctx, lo, append(hi, 0), reverse, nil)
}

// scan iterates the encoded keys in [lo, hi) of parts, or of the local
// partitions when parts is nil.
func (s *KeyValueStore[K, V]) scan(ctx context.Context, lo, hi []byte, reverse bool, parts []int32) (*mergeIter[K, V], error) {
	parts, err := s.h.localOr(parts)
	if err != nil {
		return nil, err
	}
	return newMergeIter(ctx, s.h, parts, reverse, func(st engine.Store, p iq.Page, fn func(enc []byte, key K, value V) error) (iq.PageEnd, error) {
		return s.acc.page(st, lo, hi, p, fn)
	})
}
