package strata

import (
	"github.com/cockroachdb/pebble/v2"

	"github.com/strata-go/strata/internal/engine"
	"github.com/strata-go/strata/internal/kv"
)

// storage opens the Pebble databases of an instance's tasks, one per task,
// within one memory budget: the block cache is shared by all of them, and
// each database's write buffer is a fixed share of the rest. See
// docs/state-layout.md for why one database per task.
type storage struct {
	cache    *pebble.Cache
	memtable uint64
}

// tasksPerBudget is how many task databases the write-buffer half of the
// budget is planned for. Pebble holds up to two memtables per database.
const tasksPerBudget = 8

func newStorage(budget int64) *storage {
	memtable := uint64(budget/2) / (2 * tasksPerBudget)
	return &storage{
		cache:    pebble.NewCache(budget / 2),
		memtable: max(memtable, 1<<20),
	}
}

// open opens a task's database, which only the task's goroutine uses: its
// writes collect in a write buffer (kv.PebbleOptions.WriteBuffer),
// committed to Pebble when full and when the task's state is flushed, before
// a checkpoint is written.
func (s *storage) open(dir string) (engine.TaskStorage, error) {
	return kv.OpenPebble(dir, kv.PebbleOptions{Cache: s.cache, MemTableSize: s.memtable, WriteBuffer: kv.DefaultWriteBuffer})
}

// openShared opens the global task's database, which the other tasks read,
// each from its own goroutine, through read-only views: it has no write
// buffer, which is for one goroutine only.
func (s *storage) openShared(dir string) (engine.TaskStorage, error) {
	return kv.OpenPebble(dir, kv.PebbleOptions{Cache: s.cache, MemTableSize: s.memtable})
}

func (s *storage) close() {
	if s != nil && s.cache != nil {
		s.cache.Unref()
		s.cache = nil
	}
}
