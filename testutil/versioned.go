package testutil

import (
	"fmt"
	"time"

	"github.com/strata-go/strata/state"
)

// VersionedKeyValueStore gives a test read access to the versioned
// key-value store named name (a versioned table's, see ktable.Versioned)
// across all the tasks that hold a part of it, Kafka's
// getVersionedKeyValueStore. It fails the test if the topology has no such
// store or it holds other types. KeyValueStore and TimestampedKeyValueStore
// read its latest versions too.
func VersionedKeyValueStore[K, V any](d *Driver, name string) *VersionedKeyValueStoreView[K, V] {
	d.tb.Helper()
	var k K
	var v V
	parts := storeParts[state.ReadOnlyVersionedKeyValueStore[K, V]](d, name, fmt.Sprintf("versioned key-value store of key %T and value %T", k, v))
	return &VersionedKeyValueStoreView[K, V]{d: d, name: name, parts: parts}
}

// VersionedKeyValueStoreView reads one versioned store across its tasks.
type VersionedKeyValueStoreView[K, V any] struct {
	d     *Driver
	name  string
	parts []state.ReadOnlyVersionedKeyValueStore[K, V]
}

// Get returns the latest version of key, looked up in every task.
func (s *VersionedKeyValueStoreView[K, V]) Get(key K) (state.VersionedRecord[V], bool) {
	s.d.tb.Helper()
	for _, p := range s.parts {
		tv, ok, err := p.Get(key)
		if err != nil {
			s.d.tb.Fatalf("testutil: store %q: get: %v", s.name, err)
		}
		if ok {
			return state.VersionedRecord[V]{Value: tv.Value, Timestamp: tv.Timestamp}, true
		}
	}
	return state.VersionedRecord[V]{}, false
}

// GetAsOf returns the version of key valid at asOf (see
// state.ReadOnlyVersionedKeyValueStore.GetAsOf), looked up in every task.
func (s *VersionedKeyValueStoreView[K, V]) GetAsOf(key K, asOf time.Time) (state.VersionedRecord[V], bool) {
	s.d.tb.Helper()
	for _, p := range s.parts {
		r, ok, err := p.GetAsOf(key, asOf)
		if err != nil {
			s.d.tb.Fatalf("testutil: store %q: get as of %v: %v", s.name, asOf, err)
		}
		if ok {
			return r, true
		}
	}
	return state.VersionedRecord[V]{}, false
}
