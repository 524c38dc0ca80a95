// Package iq is the seam of interactive queries: between package query,
// which offers typed, read-only access to state stores from outside the
// topology, and what it reads.
//
// Package state's stores implement the readers below ([KeyValue], [Window],
// [Session]); the runtimes that hold stores (the App, the test driver,
// views) implement [Source]. A reader is only ever called under a lease
// from [Source.Acquire], which holds the store's writer (the task's
// goroutine) off, so readers may use the store's scratch buffers and its
// record cache, but must change nothing processing would notice: no cache
// entry loaded, touched or flushed.
package iq

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/strata-go/strata/internal/engine"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/window"
)

// Sentinel errors of queries; package query exports them.
var (
	// ErrUnknownStore: the topology has no store of that name.
	ErrUnknownStore = errors.New("query: unknown store")
	// ErrStoreType: the store holds other types than asked for.
	ErrStoreType = errors.New("query: store has other types")
	// ErrNotLocal: this instance does not hold the partition asked for;
	// another instance does (or will, once it is assigned).
	ErrNotLocal = errors.New("query: the partition is not held by this instance")
	// ErrRebalancing: the partition is moving or its state is being
	// restored; ask again shortly.
	ErrRebalancing = errors.New("query: the partition is unavailable while the application rebalances")
	// ErrNotRunning: the source does not run (not started, or stopped).
	ErrNotRunning = errors.New("query: not running")
)

// Page says which part of an ordered scan one call reads: at most Limit
// entries, after the entry whose position After is (nil: from the start;
// in a reverse scan, before it), in ascending order, or descending when
// Reverse is set.
type Page struct {
	After   []byte
	Reverse bool
	Limit   int
}

// PageEnd is what a page read ends with: the position of its last entry,
// a copy to pass as the next Page.After, and whether the scan is over.
type PageEnd struct {
	Last []byte
	Done bool
}

// Describer is implemented by stores: what they are and hold, for errors.
type Describer interface {
	QueryDescribe() string
}

// KeyValue is the query side of a typed key-value store.
type KeyValue[K, V any] interface {
	Describer
	// QueryKeySerde is the store's key serde.
	QueryKeySerde() serde.Serde[K]
	// QueryGet returns the value of key: the record cache's, if it holds
	// the key, else the store's.
	QueryGet(key K) (value V, ok bool, err error)
	// QueryPage reads the entries whose encoded keys are in [lo, hi)
	// (nil bounds are unbounded), the record cache's writes merged over
	// the store's, calling fn with each entry's encoded key (valid during
	// the call), key and value. Positions are encoded keys.
	QueryPage(lo, hi []byte, p Page, fn func(enc []byte, key K, value V) error) (PageEnd, error)
	// QueryCount estimates the number of keys the store holds, without
	// cached writes.
	QueryCount() (int64, error)
}

// Window is the query side of a typed window store.
type Window[K, V any] interface {
	Describer
	QueryKeySerde() serde.Serde[K]
	// QueryFetch returns the value of key's window starting at start
	// (Unix milliseconds).
	QueryFetch(key K, start int64) (value V, ok bool, err error)
	// QueryWindows reads the windows whose start is in [from, to] (Unix
	// milliseconds), of the key whose encoding is key, or of every key
	// when key is nil, in order of encoded key, then start; fn gets each
	// window's encoded key (valid during the call).
	QueryWindows(key []byte, from, to int64, p Page, fn func(enc []byte, w window.Windowed[K], value V) error) (PageEnd, error)
}

// Session is the query side of a typed session store.
type Session[K, V any] interface {
	Describer
	QueryKeySerde() serde.Serde[K]
	// QuerySessions reads the sessions that end at or after earliestEnd
	// and start at or before latestStart (Unix milliseconds), of the key
	// whose encoding is key, or of every key when key is nil, in order of
	// encoded key, then end, then start.
	QuerySessions(key []byte, earliestEnd, latestStart int64, p Page, fn func(enc []byte, w window.Windowed[K], value V) error) (PageEnd, error)
}

// Source is a runtime holding stores: an App's instance, the test driver, a
// view.
type Source interface {
	// Topology is the resolved topology whose stores the source holds.
	Topology() *engine.Topology
	// ApplicationID names the application, and so the stores'
	// changelogs.
	ApplicationID() string
	// Partitions returns how many partitions the store has: its task
	// count, the largest partition count of its sub-topology's source
	// topics. A global store has one.
	Partitions(s *Store) (int, error)
	// Acquire returns partition p's instance of the store with the
	// store's writer held off until the lease is released, which the
	// caller does, soon. With standby set, a standby replica whose lag
	// is at most standby.MaxLag serves when the partition is not active
	// here. A global store has partition 0. The error is ErrNotLocal,
	// ErrRebalancing or ErrNotRunning (wrapped, with details) when the
	// partition cannot be read here, or ctx's error if it ended while
	// waiting for the writer; there is no lease to release then.
	Acquire(ctx context.Context, s *Store, p int32, standby *Standby) (engine.Store, Lease, error)
	// Local lists the partitions of the store this instance serves:
	// active (and, with standby set, standby replicas within its lag
	// bound), whether running or still restoring.
	Local(s *Store, standby *Standby) ([]int32, error)
	// Metadata describes every instance of the application.
	Metadata() (Metadata, error)
}

// Store is a store of a topology as a query handle resolves it once.
type Store struct {
	Name string
	Def  *engine.StoreDef
	// Tasks is the sub-topology whose tasks hold the store; nil for a
	// global store.
	Tasks *engine.Subtopology
}

// Resolve finds the store called name in top.
func Resolve(top *engine.Topology, name string) (*Store, error) {
	def := top.Graph.Store(name)
	if def == nil {
		var names []string
		for _, d := range top.Graph.Stores {
			names = append(names, d.Name)
		}
		slices.Sort(names)
		return nil, fmt.Errorf("%w %q (the topology's stores: %q)", ErrUnknownStore, name, names)
	}
	s := &Store{Name: name, Def: def}
	if !def.Global {
		if s.Tasks = storeTasks(top, name); s.Tasks == nil {
			return nil, fmt.Errorf("%w %q: no processor uses it", ErrUnknownStore, name)
		}
	}
	return s, nil
}

// Task is the task holding partition p of the store.
func (s *Store) Task(p int32) engine.TaskID {
	return engine.TaskID{Subtopology: s.Tasks.ID, Partition: p}
}

// Lease keeps a store's writer held off until Release.
type Lease struct{ mu *sync.Mutex }

// Locked is the lease of a store whose writer is held off by mu, locked.
func Locked(mu *sync.Mutex) Lease { return Lease{mu: mu} }

// Release lets the store's writer go on.
func (l Lease) Release() {
	if l.mu != nil {
		l.mu.Unlock()
	}
}

// Standby allows reads from standby replicas lagging at most MaxLag
// changelog records.
type Standby struct {
	MaxLag int64
}

// Metadata is what a source knows of the application's instances: each
// instance with the tasks it runs, active and standby, and which one is
// this one.
type Metadata struct {
	// Generation is the group generation the assignment is of; -1 when
	// there is none.
	Generation int32
	Instances  []Instance
	// Self is the index of this instance in Instances; -1 when it is
	// not listed (it has no assignment yet).
	Self int
}

// Instance is one instance of the application.
type Instance struct {
	// ID is its InstanceID; Server its ApplicationServer.
	ID, Server string
	Active     []engine.TaskID
	Standby    []engine.TaskID
}

// storeTasks returns the sub-topology whose tasks hold store, or nil for a
// store no sub-topology uses (a global store, or an unknown one).
func storeTasks(top *engine.Topology, store string) *engine.Subtopology {
	for _, st := range top.Subtopologies {
		if slices.Contains(st.Stores, store) {
			return st
		}
	}
	return nil
}

// Partitions is Source.Partitions for a source that knows the partition
// counts of the topology's source topics: count returns a topic's, or false
// when it does not know it.
func Partitions(s *Store, count func(topic string) (int, bool)) (int, error) {
	if s.Tasks == nil {
		return 1, nil
	}
	n := 0
	for _, topic := range s.Tasks.SourceTopics {
		c, ok := count(topic)
		if !ok {
			return 0, fmt.Errorf("store %q: the partition count of topic %q is not known yet: %w", s.Name, topic, ErrNotRunning)
		}
		n = max(n, c)
	}
	return n, nil
}

// PrefixEnd returns the smallest key greater than every key starting with
// p, or nil (unbounded) if p is all 0xFF bytes.
func PrefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xFF {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}
