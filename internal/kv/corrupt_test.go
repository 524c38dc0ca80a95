package kv_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"

	"github.com/strata-go/strata/internal/kv"
)

// corruptPrefix is the store prefix of the corruption tests' data.
var corruptPrefix = []byte("store-01")

const corruptKeys = 20_000

// fillForCorruption writes corruptKeys keys to a new DB in dir, in four
// rounds each flushed to an sstable, compacts them into one level so that
// no compaction is left for the next open, and closes the DB. It returns
// the sstables' paths.
func fillForCorruption(t *testing.T, dir string, fsys vfs.FS) []string {
	t.Helper()
	db, err := kv.OpenPebble(dir, kv.PebbleOptions{FS: fsys, MemTableSize: 1 << 20, WriteBuffer: kv.DefaultWriteBuffer})
	if err != nil {
		t.Fatal(err)
	}
	s := db.Store(corruptPrefix)
	for round := range 4 {
		for i := range corruptKeys {
			if err := s.Set(fmt.Appendf(nil, "key-%06d", i), fmt.Appendf(nil, "value-%d-%d", round, i)); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.Flush(); err != nil {
			t.Fatal(err)
		}
		if err := db.Pebble().Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Pebble().Compact(context.Background(), []byte{0}, []byte{0xff}, false); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	names, err := fsys.List(dir)
	if err != nil {
		t.Fatal(err)
	}
	var ssts []string
	for _, n := range names {
		if strings.HasSuffix(n, ".sst") {
			ssts = append(ssts, fsys.PathJoin(dir, n))
		}
	}
	if len(ssts) == 0 {
		t.Fatalf("no sstable in %v", names)
	}
	return ssts
}

// filesWith lists dir's files whose names start with prefix.
func filesWith(t *testing.T, dir, prefix string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	if len(out) == 0 {
		t.Fatalf("no file %s* in %s", prefix, dir)
	}
	return out
}

// garble flips the bits of path's bytes in [from, to), fractions of its
// size.
func garble(t *testing.T, path string, from, to float64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := int(from * float64(len(b))); i < int(to*float64(len(b))); i++ {
		b[i] ^= 0x5a
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestPebbleOpenCorrupt damages a closed DB's files in the ways a disk or
// an operator can: every one fails OpenPebble with ErrCorrupt, not a
// panic, leaves the directory unlocked, and DestroyPebble clears the way
// for a new, empty DB.
//
// "sstable garbled at its end" damages the blocks Pebble reads in the
// background right after an open (its table-stats collector reads every
// table's properties): before, its corruption event called Logger.Fatalf on
// that goroutine and ended the process.
func TestPebbleOpenCorrupt(t *testing.T) {
	for _, tc := range []struct {
		name    string
		corrupt func(t *testing.T, dir string, ssts []string)
	}{
		{"sstable garbled at its end", func(t *testing.T, _ string, ssts []string) {
			// Its last few KiB, short of the footer: the index,
			// metaindex and properties blocks.
			st, err := os.Stat(ssts[0])
			if err != nil {
				t.Fatal(err)
			}
			size := float64(st.Size())
			garble(t, ssts[0], (size-3000)/size, (size-100)/size)
		}},
		{"sstable truncated", func(t *testing.T, _ string, ssts []string) {
			st, err := os.Stat(ssts[0])
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(ssts[0], st.Size()/2); err != nil {
				t.Fatal(err)
			}
		}},
		{"sstable deleted", func(t *testing.T, _ string, ssts []string) { rm(t, ssts[0]) }},
		{"MANIFEST garbled", func(t *testing.T, dir string, _ []string) {
			for _, f := range filesWith(t, dir, "MANIFEST-") {
				garble(t, f, 0, 1)
			}
		}},
		{"MANIFEST deleted", func(t *testing.T, dir string, _ []string) {
			for _, f := range filesWith(t, dir, "MANIFEST-") {
				rm(t, f)
			}
		}},
		{"manifest marker deleted", func(t *testing.T, dir string, _ []string) {
			for _, f := range filesWith(t, dir, "marker.manifest.") {
				rm(t, f)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.corrupt(t, dir, fillForCorruption(t, dir, vfs.Default))
			db, err := kv.OpenPebble(dir, kv.PebbleOptions{})
			if err == nil {
				db.Close()
				t.Fatal("OpenPebble succeeded")
			}
			if !errors.Is(err, kv.ErrCorrupt) || errors.Is(err, kv.ErrLocked) || !strings.Contains(err.Error(), dir) {
				t.Fatalf("OpenPebble: %v; want an error wrapping ErrCorrupt that names the directory", err)
			}
			if err := kv.DestroyPebble(dir, nil); err != nil {
				t.Fatalf("DestroyPebble after a failed open: %v", err)
			}
			db = openPebble(t, dir, kv.PebbleOptions{})
			if _, ok, err := db.Store(corruptPrefix).Get([]byte("key-000001")); ok || err != nil {
				t.Fatalf("Get from the new DB = %v, %v; want absent", ok, err)
			}
		})
	}
}

func rm(t *testing.T, path string) {
	t.Helper()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
}

// TestPebbleOpenEmptied opens a directory whose Pebble files were all
// deleted: that is a new DB, not corruption, and it holds no metadata
// record, which is how its owner tells it from the DB it had.
func TestPebbleOpenEmptied(t *testing.T) {
	dir := t.TempDir()
	fillForCorruption(t, dir, vfs.Default)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		rm(t, filepath.Join(dir, e.Name()))
	}
	db := openPebble(t, dir, kv.PebbleOptions{})
	if _, ok, err := db.Meta(); ok || err != nil {
		t.Fatalf("Meta of an emptied DB = %v, %v; want none", ok, err)
	}
	if _, ok, err := db.Store(corruptPrefix).Get([]byte("key-000001")); ok || err != nil {
		t.Fatalf("Get = %v, %v; want absent", ok, err)
	}
}

// TestPebbleGarbledDataBlocks garbles the data blocks of a closed DB's
// sstable, which no open reads: the DB opens, and the first read of them,
// by a Get or an iterator, fails with ErrCorrupt instead of panicking (the
// corruption event used to call Logger.Fatalf on the reader's goroutine).
// From then on the DB reports the corruption from every operation, Flush
// included, so that its owner cannot checkpoint it.
func TestPebbleGarbledDataBlocks(t *testing.T) {
	for _, read := range []string{"Get", "Iter"} {
		t.Run(read, func(t *testing.T) {
			dir := t.TempDir()
			for _, sst := range fillForCorruption(t, dir, vfs.Default) {
				garble(t, sst, 0.1, 0.6)
			}
			db := openPebble(t, dir, kv.PebbleOptions{WriteBuffer: kv.DefaultWriteBuffer})
			if err := db.Corrupt(); err != nil {
				t.Fatalf("Corrupt right after open: %v", err)
			}
			s := db.Store(corruptPrefix)
			var err error
			switch read {
			case "Get":
				for i := 0; i < corruptKeys && err == nil; i += 100 {
					_, _, err = s.Get(fmt.Appendf(nil, "key-%06d", i))
				}
			case "Iter":
				it := s.Iter(nil, nil, false)
				n := 0
				for it.Next() {
					_ = it.Value()
					n++
				}
				err = it.Close()
				if n >= corruptKeys {
					t.Fatalf("iterated all %d keys of a garbled table", n)
				}
			}
			if !errors.Is(err, kv.ErrCorrupt) || !strings.Contains(err.Error(), "checksum") {
				t.Fatalf("%s of garbled blocks: %v; want ErrCorrupt about a checksum", read, err)
			}
			if err := db.Corrupt(); !errors.Is(err, kv.ErrCorrupt) {
				t.Fatalf("Corrupt = %v; want ErrCorrupt", err)
			}
			if _, _, err := s.Get([]byte("key-000000")); !errors.Is(err, kv.ErrCorrupt) {
				t.Errorf("a later Get: %v; want ErrCorrupt", err)
			}
			if err := s.Set([]byte("k"), []byte("v")); !errors.Is(err, kv.ErrCorrupt) {
				t.Errorf("a later Set: %v; want ErrCorrupt", err)
			}
			if err := db.Flush(); !errors.Is(err, kv.ErrCorrupt) {
				t.Errorf("Flush: %v; want ErrCorrupt", err)
			}
			if err := db.FlushMeta([]byte("m")); !errors.Is(err, kv.ErrCorrupt) {
				t.Errorf("FlushMeta: %v; want ErrCorrupt", err)
			}
		})
	}
}

// TestPebblePanicIsCorrupt makes Pebble panic while it reads an sstable
// for a Get or an iterator (a file system that panics on reads of the
// sstable's data, after the open): the panic is recovered at the store's
// call and reported as ErrCorrupt, from then on by every operation, and
// closing the DB does not panic either.
func TestPebblePanicIsCorrupt(t *testing.T) {
	for _, read := range []string{"Get", "Iter"} {
		t.Run(read, func(t *testing.T) {
			mem := vfs.NewMem()
			ssts := fillForCorruption(t, "db", mem)
			var armed atomic.Bool
			fsys := errorfs.Wrap(mem, errorfs.InjectorFunc(func(op errorfs.Op) error {
				// Data blocks come first in an sstable; its
				// metadata, which background jobs read, last.
				if armed.Load() && op.Kind == errorfs.OpFileReadAt && op.Path == ssts[0] && op.Offset < 4096 {
					panic("injected read failure")
				}
				return nil
			}))
			db, err := kv.OpenPebble("db", kv.PebbleOptions{FS: fsys})
			if err != nil {
				t.Fatal(err)
			}
			armed.Store(true)
			s := db.Store(corruptPrefix)
			switch read {
			case "Get":
				_, _, err = s.Get([]byte("key-000000"))
			case "Iter":
				it := s.Iter(nil, nil, false)
				for it.Next() {
				}
				err = it.Close()
			}
			if !errors.Is(err, kv.ErrCorrupt) || !strings.Contains(err.Error(), "injected read failure") {
				t.Fatalf("%s: %v; want ErrCorrupt carrying the panic", read, err)
			}
			armed.Store(false)
			if _, _, err := s.Get([]byte("key-000000")); !errors.Is(err, kv.ErrCorrupt) {
				t.Errorf("a later Get: %v; want ErrCorrupt", err)
			}
			// The panic may have left Pebble's state inconsistent;
			// closing does not panic, and reports the corruption.
			if err := db.Close(); err != nil && !errors.Is(err, kv.ErrCorrupt) {
				t.Errorf("Close: %v; want nil or ErrCorrupt", err)
			}
		})
	}
}

// TestPebbleMeta checks the metadata record: none in a new DB; FlushMeta's
// survives a reopen, with or without a write buffer and a WAL; the stores
// never see it; and prefixes that would hold it are refused.
func TestPebbleMeta(t *testing.T) {
	for _, opts := range []kv.PebbleOptions{{}, {WriteBuffer: kv.DefaultWriteBuffer}, {DisableWAL: true}} {
		t.Run(fmt.Sprintf("WriteBuffer=%d,DisableWAL=%v", opts.WriteBuffer, opts.DisableWAL), func(t *testing.T) {
			mem := vfs.NewMem()
			opts.FS = mem
			db, err := kv.OpenPebble("db", opts)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok, err := db.Meta(); ok || err != nil {
				t.Fatalf("Meta of a new DB = %v, %v; want none", ok, err)
			}
			s := db.Store([]byte{0, 0, 0, 0, 0, 0, 0, 1})
			mustSet(t, s, "a", "1")
			if err := db.FlushMeta([]byte("first")); err != nil {
				t.Fatal(err)
			}
			mustSet(t, s, "b", "2")
			if err := db.FlushMeta([]byte("second")); err != nil {
				t.Fatal(err)
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			db = openPebble(t, "db", opts)
			if meta, ok, err := db.Meta(); string(meta) != "second" || !ok || err != nil {
				t.Fatalf("Meta after reopen = %q, %v, %v; want second", meta, ok, err)
			}
			if got, want := keys(t, db.Store([]byte{0, 0, 0, 0, 0, 0, 0, 1}).Iter(nil, nil, false)), "a=1 b=2 "; got != want {
				t.Errorf("the store holds %q, want %q", got, want)
			}
			for _, p := range []string{"\x00", "\x00str", "\x00strata"} {
				func() {
					defer func() {
						if recover() == nil {
							t.Errorf("Store(%q) did not panic: its prefix holds the metadata key", p)
						}
					}()
					db.Store([]byte(p))
				}()
			}
		})
	}
}

// TestPebbleMetaAtomicWithData crashes a DB (a crash clone of its memory
// file system) right after FlushMeta, and again after later writes that
// were not flushed: the recovered DB holds the record with every write made
// before it, and never a record without them.
func TestPebbleMetaAtomicWithData(t *testing.T) {
	for _, buffer := range []int{0, kv.DefaultWriteBuffer} {
		t.Run(fmt.Sprintf("WriteBuffer=%d", buffer), func(t *testing.T) {
			mem := vfs.NewCrashableMem()
			db := openPebble(t, "db", kv.PebbleOptions{FS: mem, WriteBuffer: buffer})
			s := db.Store([]byte("store-01"))
			for i := range 100 {
				mustSet(t, s, fmt.Sprintf("k%03d", i), "v")
			}
			if err := db.FlushMeta([]byte("at-100")); err != nil {
				t.Fatal(err)
			}
			atMeta := mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 0})
			for i := 100; i < 200; i++ {
				mustSet(t, s, fmt.Sprintf("k%03d", i), "v")
			}
			later := mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 0})
			for name, fsys := range map[string]*vfs.MemFS{"crash after FlushMeta": atMeta, "crash after unflushed writes": later} {
				re, err := kv.OpenPebble("db", kv.PebbleOptions{FS: fsys})
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				meta, ok, err := re.Meta()
				n := len(strings.Fields(keys(t, re.Store([]byte("store-01")).Iter(nil, nil, false))))
				if cerr := re.Close(); cerr != nil {
					t.Fatal(cerr)
				}
				if !bytes.Equal(meta, []byte("at-100")) || !ok || err != nil || n < 100 {
					t.Errorf("%s: Meta = %q, %v, %v with %d keys; want at-100 with at least the 100 keys before it", name, meta, ok, err, n)
				}
			}
		})
	}
}
