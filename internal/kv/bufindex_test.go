package kv_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/strata-go/strata/internal/kv"
)

// TestWriteBufferGetMatchesModel runs random writes (sets, deletes, range
// deletions, batches, flushes, and commits of a full buffer) on a store of
// a write-buffered Pebble DB and on the in-memory engine, and checks after
// each that Get answers the same for every key: whether the key was last
// written in the buffer (set, deleted, or covered by a range deletion
// before or after its set) or only in the database, which the buffer's
// index leaves to Pebble's point lookup.
func TestWriteBufferGetMatchesModel(t *testing.T) {
	for _, size := range []int{512, 4 << 10, kv.DefaultWriteBuffer} {
		t.Run(fmt.Sprintf("WriteBuffer=%d", size), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(size)))
			db := openPebble(t, "db", kv.PebbleOptions{FS: vfs.NewMem(), WriteBuffer: size})
			s := db.Store([]byte("prefix01"))
			model := kv.NewMemory()
			key := func() []byte { return fmt.Appendf(nil, "k%02d", rng.IntN(40)) }
			both := func(op string, f func(kv.Store) error) {
				t.Helper()
				if err := f(s); err != nil {
					t.Fatalf("%s on pebble: %v", op, err)
				}
				if err := f(model); err != nil {
					t.Fatalf("%s on the model: %v", op, err)
				}
			}
			for i := range 3000 {
				k, v := key(), fmt.Appendf(nil, "v%d", i)
				switch r := rng.IntN(100); {
				case r < 50:
					both("set", func(s kv.Store) error { return s.Set(k, v) })
				case r < 70:
					both("delete", func(s kv.Store) error { return s.Delete(k) })
				case r < 78:
					hi := key()
					both("delete range", func(s kv.Store) error { return s.DeleteRange(k, hi) })
				case r < 93:
					k2 := key()
					both("batch", func(s kv.Store) error {
						b := s.NewBatch()
						if err := b.Set(k, v); err != nil {
							return err
						}
						if err := b.Delete(k2); err != nil {
							return err
						}
						return b.Commit()
					})
				default:
					both("flush", func(s kv.Store) error { return s.Flush() })
				}
				for j := range 40 {
					k := fmt.Appendf(nil, "k%02d", j)
					got, ok, err := s.Get(k)
					if err != nil {
						t.Fatal(err)
					}
					want, wantOK, _ := model.Get(k)
					if ok != wantOK || string(got) != string(want) {
						t.Fatalf("after op %d: Get(%s) = %q, %v; want %q, %v", i, k, got, ok, want, wantOK)
					}
				}
			}
		})
	}
}
