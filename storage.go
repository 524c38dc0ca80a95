package strata

import (
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"

	"github.com/strata-go/strata/internal/engine"
	"github.com/strata-go/strata/internal/kv"
)

// storage opens the Pebble databases of an instance, one per task (and
// standby, and one for the global stores), within Pebble's share of
// Config.StateMemoryBytes: one block cache, shared by all of them, in which
// Pebble also reserves the memory of every memtable it allocates, so that
// blocks and memtables together stay within its size. See
// docs/state-layout.md for why one database per task, and the package
// doc's "Memory" for the budget.
type storage struct {
	cache *pebble.Cache
	// size is the cache's size: Pebble's share of the budget.
	size int64
	// open counts the databases open, which share the memtables' half.
	opened atomic.Int64
}

// tasksPerBudget is how many databases the memtables' half of Pebble's
// share is planned for at least: with fewer open, each still gets only
// its share of that many, so that a few tasks leave the block cache most
// of the room.
const tasksPerBudget = 8

// minMemTable and maxMemTable bound a database's memtable size: Pebble
// starts a memtable at 256 KiB and grows it up to the size, and above
// Pebble's default of 4 MiB a single task's flushes gain little.
const (
	minMemTable = 256 << 10
	maxMemTable = kv.DefaultMemTableSize
)

// newStorage returns the storage of an instance whose Pebble databases
// have size bytes: the block cache's size.
func newStorage(size int64) *storage {
	return &storage{cache: pebble.NewCache(size), size: size}
}

// memTableSize is the memtable size of a database opened while n
// databases, itself included, are open: their memtables, up to two per
// database (one being written, one being flushed), take at most half of
// the cache (Pebble reserves them there), shared by n databases or
// tasksPerBudget if more. The databases opened before keep the size they
// were opened with, so the memtables of an instance whose databases open
// in growing numbers may take more than half for a while.
func (s *storage) memTableSize(n int64) uint64 {
	per := s.size / 2 / (2 * max(n, tasksPerBudget))
	return uint64(min(max(per, minMemTable), maxMemTable))
}

// open opens a task's database, which only the task's goroutine uses: its
// writes collect in a write buffer (kv.PebbleOptions.WriteBuffer),
// committed to Pebble when full and when the task's state is flushed, before
// a checkpoint is written.
func (s *storage) open(dir string) (engine.TaskStorage, error) {
	return s.openDB(dir, kv.DefaultWriteBuffer)
}

// openShared opens the global task's database, which the other tasks read,
// each from its own goroutine, through read-only views: it has no write
// buffer, which is for one goroutine only.
func (s *storage) openShared(dir string) (engine.TaskStorage, error) {
	return s.openDB(dir, 0)
}

func (s *storage) openDB(dir string, writeBuffer int) (engine.TaskStorage, error) {
	n := s.opened.Add(1)
	db, err := kv.OpenPebble(dir, kv.PebbleOptions{
		Cache:        s.cache,
		MemTableSize: s.memTableSize(n),
		WriteBuffer:  writeBuffer,
		OnClose:      func() { s.opened.Add(-1) },
	})
	if err != nil {
		s.opened.Add(-1)
		return nil, err
	}
	return db, nil
}

func (s *storage) close() {
	if s != nil && s.cache != nil {
		s.cache.Unref()
		s.cache = nil
	}
}
