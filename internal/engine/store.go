package engine

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Store is one instance of a state store in one task.
type Store interface {
	// Name is the store's name, unique in the topology.
	Name() string
	// Init opens the store for t. Stores are initialised before the
	// task's processors, in declaration order.
	Init(t *Task) error
	// Flush writes cached updates through to the storage engine and the
	// changelog. The task calls it on every commit.
	Flush() error
	// Restore applies changelog records, in offset order, before the
	// task processes anything.
	Restore(recs []*kgo.Record) error
	// Close flushes nothing: call Flush first to keep cached updates.
	Close() error
}

// StoreDef declares a state store on a topology.
type StoreDef struct {
	Name string
	// Kind describes the store in Describe output and errors:
	// "key-value", "window" or "session".
	Kind string
	// Logged stores write every update to a changelog topic named
	// ChangelogTopic(applicationID, Name).
	Logged bool
	// Persistent stores keep their data in the task's storage across
	// restarts; the others start empty.
	Persistent bool
	// ChangelogConfigs are the topic configs the changelog is created
	// with (cleanup.policy and retention).
	ChangelogConfigs map[string]string
	// SourceTopic, when set, is a source topic of the store's
	// sub-topology that serves as its changelog: the store writes no
	// changelog (Logged is false) and is restored from SourceTopic up to
	// the offset its task has committed, its raw records converted by the
	// store (Kafka Streams' source-topic changelog of a table).
	SourceTopic string
	// Global is set by Freeze for a store that a global store processor
	// updates (see NodeDef.Global): one instance per application
	// instance, in the global task, read by every task through views.
	Global bool
	// New makes the store's instance for one task.
	New func() Store
}

// ChangelogTopic is the name of a store's changelog topic, as in Kafka
// Streams: "<applicationID>-<store>-changelog".
func ChangelogTopic(applicationID, store string) string {
	return applicationID + "-" + store + "-changelog"
}

// StateConfig is where and how tasks keep persistent state.
type StateConfig struct {
	// Dir is the application's state directory; each task keeps its
	// state under Dir/<taskID>.
	Dir string
	// Open opens the task's storage. Package state supplies it; the
	// engine does not know storage engines.
	Open func(dir string) (TaskStorage, error)
}

// TaskStorage is a task's persistent storage, shared by its stores.
type TaskStorage interface {
	Flush() error
	Close() error
}

// StoreByName returns the task's store named name, or nil.
func (t *Task) StoreByName(name string) Store { return t.stores[name] }

// Stores returns the task's stores in declaration order.
func (t *Task) Stores() []Store { return t.storeList }

// Storage opens the task's persistent storage on first use and returns it.
func (t *Task) Storage() (TaskStorage, error) {
	if t.storage != nil {
		return t.storage, nil
	}
	sc := t.cfg.State
	if sc.Open == nil || sc.Dir == "" {
		return nil, errors.New("no state directory is configured for persistent stores")
	}
	s, err := sc.Open(t.StateDir())
	if err != nil {
		return nil, err
	}
	t.storage = s
	return s, nil
}

// OpenedStorage is the task's persistent storage if it is open, else nil:
// unlike Storage, it never opens it.
func (t *Task) OpenedStorage() TaskStorage { return t.storage }

// StateDir is the task's state directory, or "" when the task keeps no
// state on disk.
func (t *Task) StateDir() string {
	if t.cfg.State.Dir == "" {
		return ""
	}
	return filepath.Join(t.cfg.State.Dir, t.ID.String())
}

// FlushStores flushes every store's cached updates to its storage and
// changelog. It runs on every commit.
//
// Flushing a cache can forward records downstream (Kafka Streams' cache
// flush listeners), and the processors there can write to cached stores that
// this pass flushed already. So, after flushing every store once, FlushStores
// flushes again the stores whose named caches are dirty, until none is: a
// commit leaves no dirty entry behind. In a topology, which has no cycles,
// that takes at most one more pass per cached store.
//
// A panic in what a flush runs (a store's serde, processors downstream) is
// recovered into an error naming the node that panicked.
func (t *Task) FlushStores() error {
	for _, s := range t.storeList {
		if err := t.flushStore(s); err != nil {
			return fmt.Errorf("task %s: flush store %q: %w", t.ID, s.Name(), err)
		}
	}
	for pass := 0; ; pass++ {
		dirty := false
		for _, c := range t.caches {
			if c.cache.Dirty() == 0 {
				continue
			}
			if pass == len(t.caches) {
				return fmt.Errorf("task %s: store %q: cache still dirty after %d flush passes: flushes keep writing to cached stores", t.ID, c.store.Name(), pass+1)
			}
			dirty = true
			if err := t.flushStore(c.store); err != nil {
				return fmt.Errorf("task %s: flush store %q: %w", t.ID, c.store.Name(), err)
			}
		}
		if !dirty {
			return nil
		}
	}
}

// flushStore flushes s on behalf of the first node connected to it, whose
// cache flush listener forwards what the flush writes; a panic is recovered
// into an error naming the node that panicked.
func (t *Task) flushStore(s Store) error {
	return t.call(t.storeOwners[s.Name()], s.Flush)
}

// storeCache is a named cache a store of the task took.
type storeCache struct {
	store Store
	cache *NamedCache
}

// NamedCache returns the part of the task's record cache for the store named
// store, whose Flush must flush it (flush is the named cache's flush
// function; see [RecordCache.Named]). It returns nil when the task has no
// cache or the cache's budget is zero: the store then writes through. Stores
// call it from Init; the task closes the named cache when it closes.
func (t *Task) NamedCache(store string, flush func(entries []CacheEntry) error) *NamedCache {
	s := t.stores[store]
	if t.cfg.Cache == nil || t.cfg.Cache.MaxBytes() <= 0 || s == nil {
		return nil
	}
	nc := t.cfg.Cache.Named(t.ID.String()+"-"+store, flush)
	t.caches = append(t.caches, storeCache{store: s, cache: nc})
	return nc
}

// FlushStorage makes the task's persistent state durable, before a
// checkpoint records how far it goes.
func (t *Task) FlushStorage() error {
	if t.storage != nil {
		if err := t.storage.Flush(); err != nil {
			return fmt.Errorf("task %s: flush state: %w", t.ID, err)
		}
	}
	return nil
}

// ChangelogPartition is the changelog partition the task writes: its own.
func (t *Task) ChangelogPartition() int32 { return t.ID.Partition }

// Changelog returns the topic store restores from: its changelog topic, or
// the source topic that serves as its changelog.
func (t *Task) Changelog(store string) string {
	if topic, ok := t.sourceChangelogs[store]; ok {
		return topic
	}
	return ChangelogTopic(t.cfg.ApplicationID, store)
}
