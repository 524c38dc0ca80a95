package strata

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/strata-go/strata/internal/kv"
)

// TestStorageMemTables checks how the memtables share Pebble's part of the
// budget: at most half of it, two memtables per database, shared by the
// databases open, counting at least tasksPerBudget, within Pebble's bounds.
func TestStorageMemTables(t *testing.T) {
	s := newStorage(54 << 20)
	defer s.close()
	for _, tc := range []struct {
		open int64
		want uint64
	}{
		{1, 54 << 20 / 2 / 16},  // planned for 8: 1.69 MiB
		{8, 54 << 20 / 2 / 16},  // the same
		{16, 54 << 20 / 2 / 32}, // shared by 16
		{200, minMemTable},      // floored
	} {
		if got := s.memTableSize(tc.open); got != tc.want {
			t.Errorf("memtable with %d open: %d, want %d", tc.open, got, tc.want)
		}
	}
	big := newStorage(1 << 30)
	defer big.close()
	if got := big.memTableSize(1); got != maxMemTable {
		t.Errorf("memtable of a 1 GiB budget: %d, want the cap %d", got, maxMemTable)
	}
}

// TestStorageCountsOpenDatabases checks that the databases open are
// counted, a closed or failed one no more.
func TestStorageCountsOpenDatabases(t *testing.T) {
	s := newStorage(64 << 20)
	defer s.close()
	dir := t.TempDir()
	a, err := s.open(dir + "/a")
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.openShared(dir + "/b")
	if err != nil {
		t.Fatal(err)
	}
	if n := s.opened.Load(); n != 2 {
		t.Fatalf("%d databases counted open, want 2", n)
	}
	// A directory that is locked fails to open and is not counted.
	if _, err := s.open(dir + "/a"); err == nil {
		t.Fatal("opened a database twice")
	}
	if n := s.opened.Load(); n != 2 {
		t.Fatalf("%d databases counted open after a failed open, want 2", n)
	}
	for _, db := range []interface{ Close() error }{a, b} {
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.opened.Load(); n != 0 {
		t.Fatalf("%d databases counted open after closing them, want 0", n)
	}
	// Closing twice counts once.
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if n := s.opened.Load(); n != 0 {
		t.Fatalf("%d databases counted open after a second close", n)
	}
}

// TestStateMemoryShares checks how Config.withDefaults splits
// StateMemoryBytes between the record cache and Pebble.
func TestStateMemoryShares(t *testing.T) {
	for _, tc := range []struct {
		name              string
		budget, cache     int64
		disable           bool
		wantCache, wantKV int64
	}{
		{"defaults", 0, 0, false, 10 << 20, 54 << 20},
		{"small budget, default cache", 16 << 20, 0, false, 8 << 20, 8 << 20},
		{"cache set", 128 << 20, 20 << 20, false, 20 << 20, 108 << 20},
		{"cache disabled", 32 << 20, 0, true, 0, 32 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Config{
				ApplicationID: "app", Brokers: []string{"localhost:9092"},
				StateMemoryBytes: tc.budget, CacheMaxBytes: tc.cache, DisableCache: tc.disable,
			}.withDefaults()
			if err != nil {
				t.Fatal(err)
			}
			if cfg.CacheMaxBytes != tc.wantCache || cfg.pebbleMemory() != tc.wantKV {
				t.Fatalf("record cache %d, Pebble %d; want %d and %d", cfg.CacheMaxBytes, cfg.pebbleMemory(), tc.wantCache, tc.wantKV)
			}
		})
	}
}

// TestStorageStaysWithinBudget writes more than its budget into each of
// more databases than the budget is planned for, reads it all back, and
// checks that Pebble's memory, the block cache's blocks and every
// database's memtables (those Pebble keeps for reuse included), stays
// within the storage's size, give or take a block per shard of the cache:
// Pebble makes room for a block before adding it, so a shard may hold one
// block more than its share (of 4 shards here: Pebble shards a cache of
// less than 4 MiB per 4 shards in 4).
func TestStorageStaysWithinBudget(t *testing.T) {
	const (
		size  = 8 << 20
		dbs   = 12
		keys  = 20_000
		value = 100
		slack = 4 * 32 << 10 // a block, 4 KiB by default, far less than 32 KiB
	)
	s := newStorage(size)
	defer s.close()
	dir := t.TempDir()
	var (
		open   []*kv.PebbleDB
		stores []kv.Store
	)
	defer func() {
		for _, db := range open {
			_ = db.Close()
		}
	}()
	for i := range dbs {
		ts, err := s.open(fmt.Sprintf("%s/%d", dir, i))
		if err != nil {
			t.Fatal(err)
		}
		db := ts.(*kv.PebbleDB)
		open, stores = append(open, db), append(stores, db.Store([]byte("store000")))
	}
	peak := func() (blocks, memtables int64) {
		for _, db := range open {
			m := db.Pebble().Metrics()
			memtables += int64(m.MemTable.Size + m.MemTable.ZombieSize)
			blocks = m.BlockCache.Size // one cache, shared
		}
		return blocks, memtables
	}
	check := func(when string) {
		t.Helper()
		blocks, memtables := peak()
		if blocks+memtables > size+slack {
			t.Fatalf("%s: blocks %d + memtables %d = %d bytes, over the %d of the budget (plus %d)", when, blocks, memtables, blocks+memtables, size, slack)
		}
		t.Logf("%s: blocks %d, memtables %d", when, blocks, memtables)
	}
	val := bytes.Repeat([]byte{'v'}, value)
	for i, db := range open {
		st := stores[i]
		for k := range keys {
			if err := st.Set(fmt.Appendf(nil, "key-%08d", k*dbs+i), val); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.Flush(); err != nil {
			t.Fatal(err)
		}
		check(fmt.Sprintf("after writing database %d", i))
	}
	for i, st := range stores {
		for k := range keys {
			got, ok, err := st.Get(fmt.Appendf(nil, "key-%08d", k*dbs+i))
			if err != nil || !ok || len(got) != value {
				t.Fatalf("database %d, key %d: %d bytes, %v, %v", i, k, len(got), ok, err)
			}
		}
	}
	check("after reading every key")
	if blocks, _ := peak(); blocks == 0 {
		t.Fatal("nothing in the block cache after the reads: the check checked nothing")
	}
}
