package kv_test

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/strata-go/strata/internal/kv"
	"github.com/strata-go/strata/internal/kv/kvtest"
)

func TestMemory(t *testing.T) {
	kvtest.Run(t, func(t *testing.T) kv.Store { return kv.NewMemory() })
}

// openPebble opens a DB closed (and checked) at the end of the test.
func openPebble(t *testing.T, dir string, opts kv.PebbleOptions) *kv.PebbleDB {
	t.Helper()
	db, err := kv.OpenPebble(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("PebbleDB.Close: %v", err)
		}
	})
	return db
}

func TestPebbleMem(t *testing.T) {
	// The empty prefix: the store is the whole DB.
	kvtest.Run(t, func(t *testing.T) kv.Store {
		return openPebble(t, "db", kv.PebbleOptions{FS: vfs.NewMem()}).Store(nil)
	})
}

func TestPebbleDisk(t *testing.T) {
	for _, noWAL := range []bool{false, true} {
		t.Run(fmt.Sprintf("DisableWAL=%v", noWAL), func(t *testing.T) {
			kvtest.Run(t, func(t *testing.T) kv.Store {
				db := openPebble(t, t.TempDir(), kv.PebbleOptions{DisableWAL: noWAL})
				return db.Store([]byte{0, 0, 0, 7})
			})
		})
	}
}

// TestPebbleViews runs the suite on one prefixed view of a DB whose
// neighbouring views (prefixes sorting just below and just above it) hold
// keys chosen to catch bound clamping errors (empty, 0x00..., 0xFF...).
// After each subtest, every key outside the tested view must be unchanged:
// writes, DeleteRange (including unbounded) and batches stay in their view.
func TestPebbleViews(t *testing.T) {
	cases := []struct {
		name      string
		tested    string
		neighbors []string
	}{
		{"middle", "\x02\x00", []string{"\x01\xff", "\x02\x01", "\x01\xfe", "\x03\x00"}},
		{"lowest", "\x00\x00", []string{"\x00\x01", "\x00\x02"}},
		{"highest", "\xff\xff", []string{"\xff\xfe", "\xfe\xff"}},
	}
	for _, buffer := range []int{0, kv.DefaultWriteBuffer} {
		for _, c := range cases {
			t.Run(fmt.Sprintf("%s/WriteBuffer=%d", c.name, buffer), func(t *testing.T) {
				kvtest.Run(t, func(t *testing.T) kv.Store {
					return openView(t, c.tested, c.neighbors, buffer)
				})
			})
		}
	}
}

// openView opens a DB whose stores under neighbors hold keys at the edges
// of their prefixes, and returns its store under tested. At the end of the
// test, every key outside the tested view must be unchanged.
func openView(t *testing.T, tested string, neighbors []string, buffer int) kv.Store {
	db := openPebble(t, "db", kv.PebbleOptions{FS: vfs.NewMem(), WriteBuffer: buffer})
	for _, n := range neighbors {
		v := db.Store([]byte(n))
		for _, k := range []string{"", "\x00", "\x00\x00", "a", "\xff", "\xff\xff\xff"} {
			if err := v.Set([]byte(k), []byte(n+"/"+k)); err != nil {
				t.Fatal(err)
			}
		}
		// Leave some neighbours open, close others: both must be
		// isolated.
		if n[len(n)-1]%2 == 0 {
			if err := v.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
	before, n := outside(t, db, tested)
	if n != 6*len(neighbors) {
		t.Fatalf("setup: %d keys outside the view", n)
	}
	t.Cleanup(func() {
		if after, _ := outside(t, db, tested); after != before {
			t.Errorf("keys outside view %q changed:\nbefore %s\nafter  %s", tested, before, after)
		}
	})
	return db.Store([]byte(tested))
}

// outside lists the DB's keys and values that are not under prefix, and
// counts them. It flushes the DB first, committing its write buffer.
func outside(t *testing.T, db *kv.PebbleDB, prefix string) (string, int) {
	t.Helper()
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	it, err := db.Pebble().NewIter(nil)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	n := 0
	for ok := it.First(); ok; ok = it.Next() {
		if !bytes.HasPrefix(it.Key(), []byte(prefix)) {
			fmt.Fprintf(&b, "%q=%q ", it.Key(), it.Value())
			n++
		}
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String(), n
}

func TestPebbleTwoViewsIsolation(t *testing.T) {
	db := openPebble(t, "db", kv.PebbleOptions{FS: vfs.NewMem()})
	a, b := db.Store([]byte("A")), db.Store([]byte("B"))
	for i := range 10 {
		k := []byte(fmt.Sprint(i))
		if err := a.Set(k, []byte("a")); err != nil {
			t.Fatal(err)
		}
		if err := b.Set(k, []byte("b")); err != nil {
			t.Fatal(err)
		}
	}
	count := func(s kv.Store) int {
		it := s.Iter(nil, nil, false)
		n := 0
		for it.Next() {
			n++
		}
		if err := it.Close(); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if v, _, _ := a.Get([]byte("3")); string(v) != "a" {
		t.Fatalf("a[3] = %q", v)
	}
	if err := a.DeleteRange(nil, nil); err != nil {
		t.Fatal(err)
	}
	if na, nb := count(a), count(b); na != 0 || nb != 10 {
		t.Fatalf("after a.DeleteRange(nil, nil): a has %d keys, b %d", na, nb)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	// Closing a view leaves the DB and the other views open.
	if v, ok, err := b.Get([]byte("3")); err != nil || !ok || string(v) != "b" {
		t.Fatalf("b[3] after closing a = %q, %v, %v", v, ok, err)
	}
}

func TestPebblePrefixConflicts(t *testing.T) {
	db := openPebble(t, "db", kv.PebbleOptions{FS: vfs.NewMem()})
	a := db.Store([]byte("a"))
	for _, p := range []string{"a", "ab", ""} {
		func() {
			defer func() {
				r := recover()
				if r == nil || !strings.Contains(fmt.Sprint(r), "overlaps") {
					t.Errorf("Store(%q) with %q open: recovered %v; want a panic", p, "a", r)
				}
			}()
			db.Store([]byte(p))
		}()
	}
	b := db.Store([]byte("b")) // disjoint: fine
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	ab := db.Store([]byte("ab")) // "a" is closed now
	for _, s := range []kv.Store{ab, b} {
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestPebbleLocked(t *testing.T) {
	for _, c := range []struct {
		name string
		fs   vfs.FS
		dir  string
	}{
		{"mem", vfs.NewMem(), "state/task-0_1"},
		{"disk", nil, filepath.Join(t.TempDir(), "task-0_1")},
	} {
		t.Run(c.name, func(t *testing.T) {
			db, err := kv.OpenPebble(c.dir, kv.PebbleOptions{FS: c.fs})
			if err != nil {
				t.Fatal(err)
			}
			_, err = kv.OpenPebble(c.dir, kv.PebbleOptions{FS: c.fs})
			if !errors.Is(err, kv.ErrLocked) || !strings.Contains(err.Error(), c.dir) {
				t.Fatalf("second open = %v; want ErrLocked naming %s", err, c.dir)
			}
			err = kv.DestroyPebble(c.dir, c.fs)
			if !errors.Is(err, kv.ErrLocked) {
				t.Fatalf("DestroyPebble of an open DB = %v; want ErrLocked", err)
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			db, err = kv.OpenPebble(c.dir, kv.PebbleOptions{FS: c.fs})
			if err != nil {
				t.Fatalf("reopen after Close: %v", err)
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestPebblePersistenceAndDestroy(t *testing.T) {
	for _, noWAL := range []bool{false, true} {
		for _, flush := range []bool{false, true} {
			t.Run(fmt.Sprintf("DisableWAL=%v/Flush=%v", noWAL, flush), func(t *testing.T) {
				dir := filepath.Join(t.TempDir(), "db")
				opts := kv.PebbleOptions{DisableWAL: noWAL}
				db, err := kv.OpenPebble(dir, opts)
				if err != nil {
					t.Fatal(err)
				}
				s := db.Store([]byte("s1"))
				for i := range 100 {
					if err := s.Set([]byte(fmt.Sprint(i)), []byte("v")); err != nil {
						t.Fatal(err)
					}
				}
				if flush {
					if err := s.Flush(); err != nil {
						t.Fatal(err)
					}
				}
				if err := db.Close(); err != nil {
					t.Fatal(err)
				}
				db, err = kv.OpenPebble(dir, opts)
				if err != nil {
					t.Fatal(err)
				}
				s = db.Store([]byte("s1"))
				if n, err := s.ApproximateCount(); err != nil || n != 100 {
					t.Fatalf("after reopen: %d keys, %v; want 100", n, err)
				}
				if err := db.Close(); err != nil {
					t.Fatal(err)
				}
				if err := kv.DestroyPebble(dir, nil); err != nil {
					t.Fatal(err)
				}
				if err := kv.DestroyPebble(dir, nil); err != nil {
					t.Fatalf("DestroyPebble of a missing dir: %v", err)
				}
				db = openPebble(t, dir, opts)
				if n, err := db.Store([]byte("s1")).ApproximateCount(); err != nil || n != 0 {
					t.Fatalf("after DestroyPebble: %d keys, %v; want 0", n, err)
				}
			})
		}
	}
}

func TestDestroyPebbleMemFS(t *testing.T) {
	fs := vfs.NewMem()
	db, err := kv.OpenPebble("a/db", kv.PebbleOptions{FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Store(nil).Set([]byte("k"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := kv.DestroyPebble("a/db", fs); err != nil {
		t.Fatal(err)
	}
	if _, err := fs.Stat("a/db"); err == nil {
		t.Fatal("directory still exists")
	}
}

func TestPebbleDBClose(t *testing.T) {
	db, err := kv.OpenPebble("db", kv.PebbleOptions{FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	s1, s2 := db.Store([]byte("1")), db.Store([]byte("2"))
	_ = s1.Set([]byte("k"), []byte("v"))
	it := s1.Iter(nil, nil, false)
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
	err = db.Close()
	if !errors.Is(err, kv.ErrIteratorLeak) || !strings.Contains(err.Error(), "1 iterator") {
		t.Fatalf("DB Close with an open iterator = %v; want ErrIteratorLeak", err)
	}
	if it.Next() || !errors.Is(it.Err(), kv.ErrClosed) {
		t.Fatal("iterator usable after DB Close")
	}
	if _, _, err := s1.Get([]byte("k")); !errors.Is(err, kv.ErrClosed) {
		t.Fatalf("Get on a store of a closed DB = %v", err)
	}
	if err := db.Store([]byte("3")).Set(nil, nil); !errors.Is(err, kv.ErrClosed) {
		t.Fatalf("Set on a store made after DB Close = %v", err)
	}
	if err := db.Flush(); !errors.Is(err, kv.ErrClosed) {
		t.Fatalf("Flush after Close = %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
}

func TestMemoryApproximateCountExact(t *testing.T) {
	s := kv.NewMemory()
	defer s.Close()
	for i := range 12345 {
		_ = s.Set([]byte(fmt.Sprint(i)), nil)
	}
	_ = s.DeleteRange([]byte("1"), []byte("2"))
	var want int64
	for i := range 12345 {
		if !strings.HasPrefix(fmt.Sprint(i), "1") {
			want++
		}
	}
	if n, _ := s.ApproximateCount(); n != want {
		t.Fatalf("ApproximateCount = %d, want %d", n, want)
	}
}

// TestPebbleApproximateCountLarge checks the extrapolated estimate beyond the
// exactly counted 10,000 keys, with other views' data interleaved in the
// same sstables.
func TestPebbleApproximateCountLarge(t *testing.T) {
	db := openPebble(t, "db", kv.PebbleOptions{FS: vfs.NewMem(), MemTableSize: 1 << 20})
	views := []kv.Store{db.Store([]byte{1}), db.Store([]byte{2}), db.Store([]byte{3})}
	sizes := []int{30_000, 100_000, 5_000}
	for i, v := range views {
		b := v.NewBatch()
		for j := range sizes[i] {
			k := fmt.Appendf(nil, "key-%08d", (j*7919)%sizes[i])
			if err := b.Set(k, []byte("value-0123456789")); err != nil {
				t.Fatal(err)
			}
		}
		if err := b.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Pebble().Flush(); err != nil {
		t.Fatal(err)
	}
	for i, v := range views {
		n, err := v.ApproximateCount()
		if err != nil {
			t.Fatal(err)
		}
		want := int64(sizes[i])
		if n < want*2/3 || n > want*3/2 {
			t.Errorf("view %d: ApproximateCount = %d, want about %d", i, n, want)
		}
		t.Logf("view %d: ApproximateCount = %d, actual %d", i, n, want)
	}
}
