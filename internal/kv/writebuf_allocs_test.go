//go:build !race

package kv_test

import (
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/strata-go/strata/internal/kv"
)

// This test counts allocations, which the race detector's build of Pebble
// (with its invariant checks) makes many more of.

// TestWriteBufferIterReuseAllocs checks that a buffered store reuses its
// iterators: opening, using and closing one allocates only the Iterator
// handle.
func TestWriteBufferIterReuseAllocs(t *testing.T) {
	db := openPebble(t, "db", kv.PebbleOptions{FS: vfs.NewMem(), WriteBuffer: kv.DefaultWriteBuffer})
	s := db.Store([]byte("p"))
	for i := range 100 {
		mustSet(t, s, fmt.Sprintf("k%03d", i), "v")
	}
	lo, hi := []byte("k010"), []byte("k020")
	allocs := testing.AllocsPerRun(100, func() {
		it := s.Iter(lo, hi, false)
		for it.Next() {
		}
		_ = it.Close()
	})
	if allocs > 2 {
		t.Errorf("Iter, Next and Close allocate %.1f times; want at most 2 (the handle)", allocs)
	}
}

// TestWriteBufferGetAllocs checks that a Get through a buffer holding
// writes reuses an iterator: it allocates only the copy of the value.
func TestWriteBufferGetAllocs(t *testing.T) {
	db := openPebble(t, "db", kv.PebbleOptions{FS: vfs.NewMem(), WriteBuffer: kv.DefaultWriteBuffer})
	s := db.Store([]byte("p"))
	for i := range 100 {
		mustSet(t, s, fmt.Sprintf("k%03d", i), "v")
	}
	key := []byte("k050")
	allocs := testing.AllocsPerRun(100, func() {
		if _, ok, err := s.Get(key); !ok || err != nil {
			t.Fatalf("Get = %v, %v", ok, err)
		}
	})
	if allocs > 1 {
		t.Errorf("Get allocates %.1f times; want at most 1 (the value)", allocs)
	}
}
