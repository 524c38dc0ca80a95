package engine

import "testing"

// A panic in a flush function (user code downstream of the flush) leaves the
// named cache usable once the task has recovered it: the flush is over, the
// shared scratch slices are free, and the next flush works as any other.
func TestCacheUsableAfterPanickingFlush(t *testing.T) {
	c := NewRecordCache(1 << 20)
	var log flushLog
	panicking := true
	n := c.Named("s", func(entries []CacheEntry) error {
		if panicking {
			panic("downstream")
		}
		return log.fn(entries)
	})
	put(t, n, "a", "1", 1)
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("the flush function's panic did not reach the caller")
			}
		}()
		_ = n.Flush()
	}()
	if n.flushing != 0 || c.scratchBusy {
		t.Fatalf("after the panic: flushing %d, scratch busy %v; want a cache that is not flushing", n.flushing, c.scratchBusy)
	}
	panicking = false
	put(t, n, "b", "2", 2)
	flush(t, n)
	// a was handed to the panicking flush, and is clean since, as after
	// a flush error.
	if got, want := log.String(), "[[b=2@2]]"; got != want {
		t.Errorf("flushed %s, want %s", got, want)
	}
	if cap(c.entries) == 0 {
		t.Errorf("the flush after the panic did not use the shared scratch slices")
	}
}
