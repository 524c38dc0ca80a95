package testutil

import (
	"bytes"
	"fmt"
	"sort"
	"time"

	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/window"
)

// storeParts returns, in partition order, each task's instance of the store
// named name, as a T. It fails the test if the topology has no such store
// or it is not a T.
func storeParts[T any](d *Driver, name, kind string) []T {
	d.tb.Helper()
	var parts []T
	for _, t := range d.storeTasks() {
		s := t.StoreByName(name)
		if s == nil {
			continue
		}
		p, ok := s.(T)
		if !ok {
			d.tb.Fatalf("testutil: store %q is %T, not a %s", name, s, kind)
		}
		parts = append(parts, p)
	}
	if len(parts) == 0 {
		d.tb.Fatalf("testutil: the topology has no store %q (stores: %q)", name, d.storeNames())
	}
	return parts
}

// encoder returns how a store encodes keys, to merge parts in store order.
func encoder[K any](d *Driver, name string, part any) func(K) []byte {
	ke, ok := part.(interface{ EncodeKey(K) ([]byte, error) })
	if !ok {
		d.tb.Fatalf("testutil: store %q (%T) does not expose its key encoding", name, part)
	}
	return func(k K) []byte {
		b, err := ke.EncodeKey(k)
		if err != nil {
			d.tb.Fatalf("testutil: store %q: encode key: %v", name, err)
		}
		return b
	}
}

// KeyValueStore gives a test read access to the key-value store named name
// across all the tasks that hold a part of it. It fails the test if the
// topology has no such store or it holds other types.
//
// The stores of the DSL's tables and aggregations hold each value with its
// timestamp (state.Timestamped); KeyValueStore[K, V] shows their values
// alone, as Kafka's getKeyValueStore does. To read the timestamps too, as
// Kafka's getTimestampedKeyValueStore, use [TimestampedKeyValueStore] (or
// ask for V = state.Timestamped[X]).
func KeyValueStore[K, V any](d *Driver, name string) *KeyValueStoreView[K, V] {
	d.tb.Helper()
	var k K
	var v V
	// The DSL's stores hold timestamped values; show their values alone,
	// as Kafka's test driver does.
	if ts := timestampedParts[K, V](d, name); ts != nil {
		return &KeyValueStoreView[K, V]{d: d, name: name, parts: ts}
	}
	parts := storeParts[state.ReadOnlyKeyValueStore[K, V]](d, name, fmt.Sprintf("key-value store of key %T and value %T", k, v))
	return &KeyValueStoreView[K, V]{d: d, name: name, parts: parts}
}

// TimestampedKeyValueStore gives a test read access to the DSL's key-value
// store named name with each value's timestamp: the time of the record
// that last updated the row (for aggregates, the largest timestamp folded
// into them), Kafka's getTimestampedKeyValueStore. It is
// KeyValueStore[K, state.Timestamped[V]].
func TimestampedKeyValueStore[K, V any](d *Driver, name string) *KeyValueStoreView[K, state.Timestamped[V]] {
	d.tb.Helper()
	return KeyValueStore[K, state.Timestamped[V]](d, name)
}

// timestampedParts returns the parts of a store of state.Timestamped[V]
// values as stores of V, or nil if the store is not one.
func timestampedParts[K, V any](d *Driver, name string) []state.ReadOnlyKeyValueStore[K, V] {
	var parts []state.ReadOnlyKeyValueStore[K, V]
	for _, t := range d.storeTasks() {
		s := t.StoreByName(name)
		if s == nil {
			continue
		}
		ts, ok := s.(state.ReadOnlyKeyValueStore[K, state.Timestamped[V]])
		if !ok {
			return nil
		}
		parts = append(parts, state.ValuesOf(ts))
	}
	return parts
}

// KeyValueStoreView reads one key-value store across its tasks.
type KeyValueStoreView[K, V any] struct {
	d     *Driver
	name  string
	parts []state.ReadOnlyKeyValueStore[K, V]
}

// Partition returns the store of one task, by its partition number.
func (s *KeyValueStoreView[K, V]) Partition(p int) state.ReadOnlyKeyValueStore[K, V] {
	s.d.tb.Helper()
	if p < 0 || p >= len(s.parts) {
		s.d.tb.Fatalf("testutil: store %q has %d partitions, not %d", s.name, len(s.parts), p)
	}
	return s.parts[p]
}

// Get returns the value of key, looked up in every task.
func (s *KeyValueStoreView[K, V]) Get(key K) (V, bool) {
	s.d.tb.Helper()
	for _, p := range s.parts {
		v, ok, err := p.Get(key)
		if err != nil {
			s.d.tb.Fatalf("testutil: store %q: get: %v", s.name, err)
		}
		if ok {
			return v, true
		}
	}
	var zero V
	return zero, false
}

// All returns every entry of every task's part of the store, in the byte
// order of the encoded keys.
func (s *KeyValueStoreView[K, V]) All() []state.KeyValue[K, V] {
	s.d.tb.Helper()
	type entry struct {
		enc []byte
		kv  state.KeyValue[K, V]
	}
	var all []entry
	for _, p := range s.parts {
		it, err := p.All()
		if err != nil {
			s.d.tb.Fatalf("testutil: store %q: %v", s.name, err)
		}
		for it.Next() {
			all = append(all, entry{kv: state.KeyValue[K, V]{Key: it.Key(), Value: it.Value()}})
		}
		if err := it.Close(); err != nil {
			s.d.tb.Fatalf("testutil: store %q: iterate: %v", s.name, err)
		}
	}
	// Each part is in key order; merge them by the keys' encoding.
	enc := encoder[K](s.d, s.name, s.parts[0])
	for i := range all {
		all[i].enc = enc(all[i].kv.Key)
	}
	sort.SliceStable(all, func(i, j int) bool { return bytes.Compare(all[i].enc, all[j].enc) < 0 })
	out := make([]state.KeyValue[K, V], len(all))
	for i, e := range all {
		out[i] = e.kv
	}
	return out
}

func (d *Driver) storeNames() []string {
	var out []string
	for _, s := range d.top.Graph.Stores {
		out = append(out, s.Name)
	}
	return out
}

// WindowStore gives a test read access to the window store named name
// across all the tasks that hold a part of it. As for [KeyValueStore], the
// DSL's window stores show their values alone; WindowStore[K,
// state.Timestamped[V]] shows them with their timestamps.
func WindowStore[K, V any](d *Driver, name string) *WindowStoreView[K, V] {
	d.tb.Helper()
	var k K
	var v V
	// The DSL's window stores hold timestamped values; show their values
	// alone, as for key-value stores.
	var ts []state.ReadOnlyWindowStore[K, V]
	for _, t := range d.order {
		if s := t.StoreByName(name); s != nil {
			p, ok := s.(state.ReadOnlyWindowStore[K, state.Timestamped[V]])
			if !ok {
				ts = nil
				break
			}
			ts = append(ts, state.WindowValuesOf(p))
		}
	}
	if ts != nil {
		return &WindowStoreView[K, V]{d: d, name: name, parts: ts}
	}
	parts := storeParts[state.ReadOnlyWindowStore[K, V]](d, name, fmt.Sprintf("window store of key %T and value %T", k, v))
	return &WindowStoreView[K, V]{d: d, name: name, parts: parts}
}

// WindowStoreView reads one window store across its tasks.
type WindowStoreView[K, V any] struct {
	d     *Driver
	name  string
	parts []state.ReadOnlyWindowStore[K, V]
}

// Partition returns the store of one task, by its partition number.
func (s *WindowStoreView[K, V]) Partition(p int) state.ReadOnlyWindowStore[K, V] {
	s.d.tb.Helper()
	if p < 0 || p >= len(s.parts) {
		s.d.tb.Fatalf("testutil: store %q has %d partitions, not %d", s.name, len(s.parts), p)
	}
	return s.parts[p]
}

// Fetch returns the value of key's window starting at start, looked up in
// every task.
func (s *WindowStoreView[K, V]) Fetch(key K, start time.Time) (V, bool) {
	s.d.tb.Helper()
	for _, p := range s.parts {
		v, ok, err := p.Fetch(key, start)
		if err != nil {
			s.d.tb.Fatalf("testutil: store %q: fetch: %v", s.name, err)
		}
		if ok {
			return v, true
		}
	}
	var zero V
	return zero, false
}

// All returns every live window of every task, ordered by encoded key, then
// window start.
func (s *WindowStoreView[K, V]) All() []state.KeyValue[window.Windowed[K], V] {
	s.d.tb.Helper()
	return mergeWindowed(s.d, s.name, s.parts, func(p state.ReadOnlyWindowStore[K, V]) (state.Iterator[window.Windowed[K], V], error) {
		return p.All()
	})
}

// SessionStore gives a test read access to the session store named name
// across all the tasks that hold a part of it.
func SessionStore[K, V any](d *Driver, name string) *SessionStoreView[K, V] {
	d.tb.Helper()
	var k K
	var v V
	parts := storeParts[state.ReadOnlySessionStore[K, V]](d, name, fmt.Sprintf("session store of key %T and value %T", k, v))
	return &SessionStoreView[K, V]{d: d, name: name, parts: parts}
}

// SessionStoreView reads one session store across its tasks.
type SessionStoreView[K, V any] struct {
	d     *Driver
	name  string
	parts []state.ReadOnlySessionStore[K, V]
}

// Partition returns the store of one task, by its partition number.
func (s *SessionStoreView[K, V]) Partition(p int) state.ReadOnlySessionStore[K, V] {
	s.d.tb.Helper()
	if p < 0 || p >= len(s.parts) {
		s.d.tb.Fatalf("testutil: store %q has %d partitions, not %d", s.name, len(s.parts), p)
	}
	return s.parts[p]
}

// Fetch returns every session of key, across tasks.
func (s *SessionStoreView[K, V]) Fetch(key K) []state.KeyValue[window.Windowed[K], V] {
	s.d.tb.Helper()
	return mergeWindowed(s.d, s.name, s.parts, func(p state.ReadOnlySessionStore[K, V]) (state.Iterator[window.Windowed[K], V], error) {
		return p.Fetch(key)
	})
}

// All returns every live session of every task, ordered by encoded key,
// then session start and end.
func (s *SessionStoreView[K, V]) All() []state.KeyValue[window.Windowed[K], V] {
	s.d.tb.Helper()
	return mergeWindowed(s.d, s.name, s.parts, func(p state.ReadOnlySessionStore[K, V]) (state.Iterator[window.Windowed[K], V], error) {
		return p.All()
	})
}

// mergeWindowed reads iter from every part and orders the entries by
// encoded key, then window start and end.
func mergeWindowed[P any, K, V any](d *Driver, name string, parts []P, iter func(P) (state.Iterator[window.Windowed[K], V], error)) []state.KeyValue[window.Windowed[K], V] {
	d.tb.Helper()
	type entry struct {
		enc []byte
		kv  state.KeyValue[window.Windowed[K], V]
	}
	enc := encoder[K](d, name, parts[0])
	var all []entry
	for _, p := range parts {
		it, err := iter(p)
		if err != nil {
			d.tb.Fatalf("testutil: store %q: %v", name, err)
		}
		for it.Next() {
			all = append(all, entry{enc: enc(it.Key().Key), kv: state.KeyValue[window.Windowed[K], V]{Key: it.Key(), Value: it.Value()}})
		}
		if err := it.Close(); err != nil {
			d.tb.Fatalf("testutil: store %q: iterate: %v", name, err)
		}
	}
	sort.SliceStable(all, func(i, j int) bool {
		if c := bytes.Compare(all[i].enc, all[j].enc); c != 0 {
			return c < 0
		}
		wi, wj := all[i].kv.Key.Window, all[j].kv.Key.Window
		if !wi.Start.Equal(wj.Start) {
			return wi.Start.Before(wj.Start)
		}
		return wi.End.Before(wj.End)
	})
	out := make([]state.KeyValue[window.Windowed[K], V], len(all))
	for i, e := range all {
		out[i] = e.kv
	}
	return out
}
