package state

import (
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata/internal/engine"
	"github.com/strata-go/strata/internal/kv"
)

// ErrReadOnly is returned by the writes of a store a processor may only
// read: a global store, outside its update processor.
var ErrReadOnly = errors.New("state: store is read-only")

// NewView returns a read-only view of the store for a task other than the
// one writing it: the store is global (topology.AddGlobalStore). The view
// reads the same Pebble database through its own handle, with no cache, so
// it sees every write the global task has made and is safe to use while
// that task writes from its own goroutine.
func (s *kvStore[K, V]) NewView() (engine.Store, error) {
	if s.spec.inMemory {
		return nil, fmt.Errorf("store %q: a global store must be persistent, not in memory", s.spec.name)
	}
	if s.cache != nil {
		return nil, fmt.Errorf("store %q: a global store must not be cached", s.spec.name)
	}
	st, err := s.task.Storage()
	if err != nil {
		return nil, fmt.Errorf("store %q: %w", s.spec.name, err)
	}
	db, ok := st.(*kv.PebbleDB)
	if !ok {
		return nil, fmt.Errorf("store %q: storage is %T, not Pebble", s.spec.name, st)
	}
	view := &kvStore[K, V]{
		spec:       s.spec,
		keySerde:   s.keySerde,
		valueSerde: s.valueSerde,
		changelog:  s.changelog,
		db:         db.ReadOnlyStore(storePrefix(s.spec.name)),
	}
	return readOnlyKV[K, V]{view}, nil
}

// readOnlyKV is a key-value store whose writes fail with ErrReadOnly.
type readOnlyKV[K, V any] struct{ *kvStore[K, V] }

func (s readOnlyKV[K, V]) readOnly(op string) error {
	return fmt.Errorf("store %q: %s: %w: it is a global store, which only its source topic updates", s.spec.name, op, ErrReadOnly)
}

func (s readOnlyKV[K, V]) Put(K, V) error { return s.readOnly("put") }

func (s readOnlyKV[K, V]) PutIfAbsent(K, V) (V, bool, error) {
	var zero V
	return zero, false, s.readOnly("put if absent")
}

func (s readOnlyKV[K, V]) PutAll([]KeyValue[K, V]) error { return s.readOnly("put all") }

func (s readOnlyKV[K, V]) Delete(K) error { return s.readOnly("delete") }

func (s readOnlyKV[K, V]) Restore([]*kgo.Record) error { return s.readOnly("restore") }
