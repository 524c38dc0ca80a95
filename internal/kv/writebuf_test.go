package kv_test

import (
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/strata-go/strata/internal/kv"
	"github.com/strata-go/strata/internal/kv/kvtest"
)

// TestPebbleBuffered runs the suite on write-buffered DBs: one that commits
// its buffer after every write, one after a few, one that holds the whole
// test.
func TestPebbleBuffered(t *testing.T) {
	for _, size := range []int{1, 4 << 10, kv.DefaultWriteBuffer} {
		t.Run(fmt.Sprintf("WriteBuffer=%d", size), func(t *testing.T) {
			kvtest.Run(t, func(t *testing.T) kv.Store {
				db := openPebble(t, "db", kv.PebbleOptions{FS: vfs.NewMem(), WriteBuffer: size})
				return db.Store([]byte{0, 0, 0, 7})
			})
		})
	}
	// The empty prefix: an unbounded DeleteRange finds its end among
	// the buffered keys too.
	t.Run("EmptyPrefix", func(t *testing.T) {
		kvtest.Run(t, func(t *testing.T) kv.Store {
			return openPebble(t, "db", kv.PebbleOptions{FS: vfs.NewMem(), WriteBuffer: kv.DefaultWriteBuffer}).Store(nil)
		})
	})
}

// committed reads key from the Pebble database itself, which does not see
// the write buffer.
func committed(t *testing.T, db *kv.PebbleDB, key string) (string, bool) {
	t.Helper()
	v, closer, err := db.Pebble().Get([]byte(key))
	if err == pebble.ErrNotFound {
		return "", false
	}
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()
	return string(v), true
}

func mustSet(t *testing.T, s kv.Store, k, v string) {
	t.Helper()
	if err := s.Set([]byte(k), []byte(v)); err != nil {
		t.Fatal(err)
	}
}

func mustGet(t *testing.T, s kv.Store, k string) (string, bool) {
	t.Helper()
	v, ok, err := s.Get([]byte(k))
	if err != nil {
		t.Fatal(err)
	}
	return string(v), ok
}

// keys lists the keys and values of it, and closes it.
func keys(t *testing.T, it kv.Iterator) string {
	t.Helper()
	out := ""
	for it.Next() {
		out += string(it.Key()) + "=" + string(it.Value()) + " "
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestWriteBufferReadsSeeBufferedWrites(t *testing.T) {
	db := openPebble(t, "db", kv.PebbleOptions{FS: vfs.NewMem(), WriteBuffer: kv.DefaultWriteBuffer})
	s := db.Store(nil)
	mustSet(t, s, "a", "1")
	mustSet(t, s, "b", "2")
	b := s.NewBatch()
	_ = b.Set([]byte("c"), []byte("3"))
	_ = b.Delete([]byte("a"))
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, ok := committed(t, db, "b"); ok {
		t.Fatal("a write reached Pebble before the buffer was committed")
	}
	if _, ok := mustGet(t, s, "a"); ok {
		t.Error("Get sees a, deleted by a batch in the buffer")
	}
	if v, ok := mustGet(t, s, "c"); !ok || v != "3" {
		t.Errorf("Get(c) = %q, %v; want the batch's 3", v, ok)
	}
	if got := keys(t, s.Iter(nil, nil, false)); got != "b=2 c=3 " {
		t.Errorf("iteration = %q", got)
	}
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"b": "2", "c": "3"} {
		if v, ok := committed(t, db, k); !ok || v != want {
			t.Errorf("after Flush, Pebble has %s = %q, %v; want %q", k, v, ok, want)
		}
	}
	if _, ok := committed(t, db, "a"); ok {
		t.Error("after Flush, Pebble still has a")
	}
}

func TestWriteBufferCommitsWhenFull(t *testing.T) {
	// The buffer counts about 200 bytes of memtable overhead per entry:
	// 4 KiB holds about 20 small entries.
	db := openPebble(t, "db", kv.PebbleOptions{FS: vfs.NewMem(), WriteBuffer: 4 << 10})
	s := db.Store(nil)
	mustSet(t, s, "k000", "v")
	if _, ok := committed(t, db, "k000"); ok {
		t.Fatal("the first write was committed at once")
	}
	n := 0
	for ; n < 100; n++ {
		if _, ok := committed(t, db, "k000"); ok {
			break
		}
		mustSet(t, s, fmt.Sprintf("k%03d", n+1), "v")
	}
	if n < 5 || n >= 40 {
		t.Fatalf("the buffer was committed after %d more writes; want about 20", n)
	}
	// Everything up to the commit is in Pebble, nothing after it.
	if _, ok := committed(t, db, fmt.Sprintf("k%03d", n)); !ok {
		t.Errorf("k%03d, the write that filled the buffer, is not committed", n)
	}
	mustSet(t, s, "z", "v")
	if _, ok := committed(t, db, "z"); ok {
		t.Error("a write after the commit reached Pebble")
	}
}

func TestWriteBufferCommitsOnClose(t *testing.T) {
	fs := vfs.NewMem()
	opts := kv.PebbleOptions{FS: fs, WriteBuffer: kv.DefaultWriteBuffer}
	for _, noWAL := range []bool{false, true} {
		opts.DisableWAL = noWAL
		db, err := kv.OpenPebble("db", opts)
		if err != nil {
			t.Fatal(err)
		}
		s := db.Store([]byte("p"))
		key := fmt.Sprint("k", noWAL)
		mustSet(t, s, key, "v")
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		db = openPebble(t, "db", opts)
		if v, ok := mustGet(t, db.Store([]byte("p")), key); !ok || v != "v" {
			t.Errorf("DisableWAL=%v: after reopening, %s = %q, %v", noWAL, key, v, ok)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestWriteBufferDeleteRangeHidesCommittedKeys(t *testing.T) {
	db := openPebble(t, "db", kv.PebbleOptions{FS: vfs.NewMem(), WriteBuffer: kv.DefaultWriteBuffer})
	s := db.Store([]byte("p"))
	for _, k := range []string{"a", "b", "c", "d"} {
		mustSet(t, s, k, "old")
	}
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteRange([]byte("b"), []byte("d")); err != nil {
		t.Fatal(err)
	}
	mustSet(t, s, "c", "new") // after the delete: visible
	if _, ok := mustGet(t, s, "b"); ok {
		t.Error("Get(b) sees a key the buffer's DeleteRange removed")
	}
	if got := keys(t, s.Iter(nil, nil, false)); got != "a=old c=new d=old " {
		t.Errorf("iteration = %q", got)
	}
	if got := keys(t, s.Iter(nil, nil, true)); got != "d=old c=new a=old " {
		t.Errorf("reverse iteration = %q", got)
	}
	if _, ok := committed(t, db, "pb"); !ok {
		t.Error("the buffered DeleteRange reached Pebble before a commit")
	}
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	if _, ok := committed(t, db, "pb"); ok {
		t.Error("after Flush, Pebble still has b")
	}
}

// TestWriteBufferIteratorSnapshots checks that iterators keep the snapshot
// of their creation across commits of the buffer, and that iterators reused
// after a commit see it.
func TestWriteBufferIteratorSnapshots(t *testing.T) {
	// 4 KiB: a commit every twenty-odd writes.
	db := openPebble(t, "db", kv.PebbleOptions{FS: vfs.NewMem(), WriteBuffer: 4 << 10})
	s := db.Store([]byte("p"))
	mustSet(t, s, "a", "1")
	mustSet(t, s, "b", "1")
	open := s.Iter(nil, nil, false)
	if !open.Next() || string(open.Key()) != "a" {
		t.Fatal("iteration does not start at a")
	}
	// Fill the buffer many times over while the iterator is open: it
	// keeps reading the batch it was created on.
	for i := range 200 {
		mustSet(t, s, fmt.Sprintf("b%03d", i), "x")
	}
	mustSet(t, s, "b", "2")
	if _, ok := committed(t, db, "pb000"); !ok {
		t.Fatal("200 writes did not fill a 4 KiB buffer")
	}
	if got := keys(t, open); got != "b=1 " {
		t.Errorf("open iterator after commits = %q, want its snapshot: b=1", got)
	}

	// Closed iterators are reused; one reused after a commit must see
	// the commit and the writes after it.
	for range 3 {
		if got := keys(t, s.Iter([]byte("c"), nil, false)); got != "" {
			t.Fatalf("iteration over [c, ...) = %q", got)
		}
	}
	mustSet(t, s, "c", "1")
	if err := db.Flush(); err != nil { // commits
		t.Fatal(err)
	}
	mustSet(t, s, "d", "1") // in the new batch
	if got := keys(t, s.Iter([]byte("c"), nil, false)); got != "c=1 d=1 " {
		t.Errorf("iteration after a commit = %q, want c=1 d=1", got)
	}
	// Reused without a commit in between: sees the latest writes, and
	// only within its new bounds.
	mustSet(t, s, "e", "1")
	if got := keys(t, s.Iter([]byte("d"), []byte("e\x00"), true)); got != "e=1 d=1 " {
		t.Errorf("reverse iteration over [d, e\\x00) = %q", got)
	}
	if err := s.Delete([]byte("d")); err != nil {
		t.Fatal(err)
	}
	if got := keys(t, s.Iter([]byte("c"), nil, false)); got != "c=1 e=1 " {
		t.Errorf("iteration after deleting d = %q", got)
	}
}

func TestWriteBufferCommitHooks(t *testing.T) {
	plain := openPebble(t, "plain", kv.PebbleOptions{FS: vfs.NewMem()})
	if plain.Store([]byte("p")).(kv.CommitHooks).OnCommit(func(func(k, v []byte) error) error { return nil }) {
		t.Error("OnCommit on a DB without a write buffer reports that it will run")
	}

	db := openPebble(t, "db", kv.PebbleOptions{FS: vfs.NewMem(), WriteBuffer: 4 << 10})
	s := db.Store([]byte("p"))
	if db.ReadOnlyStore([]byte("p")).(kv.CommitHooks).OnCommit(nil) {
		t.Error("OnCommit on a read-only store reports that it will run")
	}
	runs := 0
	if !s.(kv.CommitHooks).OnCommit(func(set func(k, v []byte) error) error {
		runs++
		return set([]byte("meta"), []byte(fmt.Sprint(runs)))
	}) {
		t.Fatal("OnCommit on a buffered DB reports that it will not run")
	}
	mustSet(t, s, "a", "1")
	if runs != 0 {
		t.Fatalf("the hook ran %d times before any commit", runs)
	}
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	if v, ok := committed(t, db, "pmeta"); runs != 1 || !ok || v != "1" {
		t.Fatalf("after Flush: %d runs, committed meta %q, %v; want 1 run and its write committed", runs, v, ok)
	}
	// A commit because the buffer is full runs it too.
	for i := 0; runs == 1 && i < 100; i++ {
		mustSet(t, s, fmt.Sprint("k", i), "v")
	}
	if v, ok := committed(t, db, "pmeta"); runs != 2 || v != "2" || !ok {
		t.Fatalf("after filling the buffer: %d runs, committed meta %q, %v", runs, v, ok)
	}
	// Closing the store runs it a last time; the DB's close commits it.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	if v, _ := committed(t, db, "pmeta"); runs != 3 || v != "3" {
		t.Fatalf("after closing the store and flushing: %d runs, committed meta %q", runs, v)
	}
}

// TestWriteBufferGetExactKey checks that a Get through a non-empty buffer
// finds only its key: not a longer key it is a prefix of, not a key of
// another view, and keys both in Pebble and in the buffer.
func TestWriteBufferGetExactKey(t *testing.T) {
	db := openPebble(t, "db", kv.PebbleOptions{FS: vfs.NewMem(), WriteBuffer: kv.DefaultWriteBuffer})
	s, other := db.Store([]byte("p")), db.Store([]byte("q"))
	mustSet(t, s, "k1", "committed")
	mustSet(t, other, "k", "other view")
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	mustSet(t, s, "k2", "buffered")
	mustSet(t, s, "k\x00", "nul")
	for key, want := range map[string]string{"k1": "committed", "k2": "buffered", "k\x00": "nul"} {
		if v, ok := mustGet(t, s, key); !ok || v != want {
			t.Errorf("Get(%q) = %q, %v; want %q", key, v, ok, want)
		}
	}
	for _, key := range []string{"k", "k0", "k3", ""} {
		if v, ok := mustGet(t, s, key); ok {
			t.Errorf("Get(%q) = %q; want no value", key, v)
		}
	}
}
