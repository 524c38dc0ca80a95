package engine

import (
	"fmt"
	"testing"
)

// oldLog records the old values a flush function was given: "key:old" when
// known ("<nil>" if the store does not hold the key), "key:?" when not.
type oldLog struct{ calls []string }

func (l *oldLog) fn(entries []CacheEntry) error {
	for _, e := range entries {
		l.calls = append(l.calls, describeOld(e))
	}
	return nil
}

func describeOld(e CacheEntry) string {
	switch {
	case !e.OldKnown:
		return string(e.Key) + ":?"
	case e.Old == nil:
		return string(e.Key) + ":<nil>"
	}
	return string(e.Key) + ":" + string(e.Old)
}

func TestCacheKnowsOldValues(t *testing.T) {
	c := NewRecordCache(1 << 20)
	var log oldLog
	n := c.Named("s", log.fn)
	if err := n.Load([]byte("loaded"), []byte("disk")); err != nil {
		t.Fatal(err)
	}
	if err := n.Load([]byte("absent"), nil); err != nil {
		t.Fatal(err)
	}
	put(t, n, "loaded", "a", 1)
	put(t, n, "loaded", "b", 2) // the old value stays the store's
	put(t, n, "new", "a", 3)    // never cached clean: unknown
	put(t, n, "absent", "a", 3) // loaded as absent: known, none
	flush(t, n)
	if got, want := fmt.Sprint(log.calls), "[loaded:disk new:? absent:<nil>]"; got != want {
		t.Fatalf("first flush: old values %s, want %s", got, want)
	}
	log.calls = nil
	del(t, n, "absent", 4)
	flush(t, n)
	if got, want := fmt.Sprint(log.calls), "[absent:a]"; got != want {
		t.Fatalf("delete after the flush: old values %s, want %s", got, want)
	}
	// Flushed entries hold the store's values now; their old values
	// count no more, and the flushed tombstone left.
	if got, want := c.SizeBytes(), size("loaded", "b")+size("new", "a"); got != want {
		t.Fatalf("size after flush %d, want %d", got, want)
	}
	log.calls = nil
	put(t, n, "loaded", "c", 4)
	if got, want := c.SizeBytes(), size("loaded", "c")+int64(len("b"))+size("new", "a"); got != want {
		t.Fatalf("size with an old value kept %d, want %d", got, want)
	}
	del(t, n, "new", 5)
	flush(t, n)
	if got, want := fmt.Sprint(log.calls), "[loaded:b new:a]"; got != want {
		t.Fatalf("second flush: old values %s, want %s", got, want)
	}
}

// A flush function that writes a key again must not change the old value
// it was given for that key.
func TestCacheOldValueSurvivesNestedWrite(t *testing.T) {
	c := NewRecordCache(1 << 20)
	var n *NamedCache
	var seen []string
	n = c.Named("s", func(entries []CacheEntry) error {
		for _, e := range entries {
			if string(e.Value) == "second" {
				if err := n.Put(e.Key, []byte("third"), 3); err != nil {
					return err
				}
			}
			seen = append(seen, describeOld(e))
		}
		return nil
	})
	put(t, n, "k", "first", 1)
	flush(t, n)
	put(t, n, "k", "second", 2)
	flush(t, n)
	if got, want := fmt.Sprint(seen), "[k:? k:first]"; got != want {
		t.Fatalf("old values %s, want %s", got, want)
	}
	seen = nil
	flush(t, n) // the nested write of "third"
	if got, want := fmt.Sprint(seen), "[k:second]"; got != want {
		t.Fatalf("after the nested write: old values %s, want %s", got, want)
	}
}

// TestCacheLoadKeepsTheLoadedEntry checks that a Load over budget does not
// evict the entry it loads, so that the write that follows knows the
// store's value: with no room at all, the write is written through at once
// (evicted and flushed), with its old value known, here the key's absence.
func TestCacheLoadKeepsTheLoadedEntry(t *testing.T) {
	c := NewRecordCache(0)
	var log oldLog
	n := c.Named("s", log.fn)
	if err := n.Load([]byte("k"), nil); err != nil {
		t.Fatal(err)
	}
	if err := n.Load([]byte("j"), []byte("disk")); err != nil {
		t.Fatal(err)
	}
	if n.Len() != 1 {
		t.Fatalf("after two loads with no room, %d entries cached; want the last one", n.Len())
	}
	put(t, n, "j", "new", 1)
	if got, want := fmt.Sprint(log.calls), "[j:disk]"; got != want {
		t.Fatalf("write through after a load: old values %s, want %s", got, want)
	}
	if n.Len() != 0 || c.SizeBytes() != 0 {
		t.Fatalf("after the write through: %d entries, %d bytes", n.Len(), c.SizeBytes())
	}
}
