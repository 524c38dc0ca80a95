package kv_test

import (
	"errors"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/strata-go/strata/internal/kv"
)

// A read-only store overlaps the writable store of its prefix, sees its
// writes, refuses its own, stays inside the prefix, and is closed with the
// DB.
func TestPebbleReadOnlyStore(t *testing.T) {
	db, err := kv.OpenPebble("db", kv.PebbleOptions{FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	w := db.Store([]byte("p1"))
	other := db.Store([]byte("p2"))
	r := db.ReadOnlyStore([]byte("p1"))
	if err := w.Set([]byte("a"), []byte("1")); err != nil {
		t.Fatal(err)
	}
	if err := other.Set([]byte("b"), []byte("2")); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := r.Get([]byte("a")); err != nil || !ok || string(v) != "1" {
		t.Errorf("Get(a) = %q, %v, %v; want 1", v, ok, err)
	}
	if _, ok, _ := r.Get([]byte("b")); ok {
		t.Error("the read-only store sees another prefix's key")
	}
	it := r.Iter(nil, nil, false)
	var keys []string
	for it.Next() {
		keys = append(keys, string(it.Key()))
	}
	if err := it.Close(); err != nil || len(keys) != 1 || keys[0] != "a" {
		t.Errorf("iterated %q (err %v), want [a]", keys, err)
	}
	for name, err := range map[string]error{
		"Set":          r.Set([]byte("a"), []byte("x")),
		"Delete":       r.Delete([]byte("a")),
		"DeleteRange":  r.DeleteRange(nil, nil),
		"Batch.Set":    r.NewBatch().Set([]byte("a"), []byte("x")),
		"Batch.Commit": r.NewBatch().Commit(),
	} {
		if !errors.Is(err, kv.ErrReadOnly) {
			t.Errorf("%s: %v, want ErrReadOnly", name, err)
		}
	}
	if v, _, _ := w.Get([]byte("a")); string(v) != "1" {
		t.Errorf("a = %q after refused writes, want 1", v)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.Get([]byte("a")); !errors.Is(err, kv.ErrClosed) {
		t.Errorf("Get after the DB closed: %v, want ErrClosed", err)
	}
}
