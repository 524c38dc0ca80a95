package engine

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// flushLog records what a named cache's flush function was given.
type flushLog struct {
	calls [][]string // per call: "key=value@ts", "key=<nil>@ts"
	err   error
}

func (l *flushLog) fn(entries []CacheEntry) error {
	var call []string
	for _, e := range entries {
		v := "<nil>"
		if e.Value != nil {
			v = string(e.Value)
		}
		call = append(call, fmt.Sprintf("%s=%s@%d", e.Key, v, e.Timestamp))
	}
	l.calls = append(l.calls, call)
	return l.err
}

func (l *flushLog) String() string { return fmt.Sprint(l.calls) }

// size is what an entry counts for.
func size(key, value string) int64 { return int64(len(key)+len(value)) + CacheEntryOverhead }

func put(t *testing.T, n *NamedCache, key, value string, ts int64) {
	t.Helper()
	if err := n.Put([]byte(key), []byte(value), ts); err != nil {
		t.Fatal(err)
	}
}

func del(t *testing.T, n *NamedCache, key string, ts int64) {
	t.Helper()
	if err := n.Delete([]byte(key), ts); err != nil {
		t.Fatal(err)
	}
}

func flush(t *testing.T, n *NamedCache) {
	t.Helper()
	if err := n.Flush(); err != nil {
		t.Fatal(err)
	}
}

// cached lists which of keys are cached, with their values.
func cached(n *NamedCache, keys ...string) string {
	var out []string
	for _, k := range keys {
		v, ok := n.Get([]byte(k))
		switch {
		case !ok:
		case v == nil:
			out = append(out, k+"=<nil>")
		default:
			out = append(out, k+"="+string(v))
		}
	}
	return strings.Join(out, " ")
}

func TestCacheGetPutAndSize(t *testing.T) {
	c := NewRecordCache(1 << 20)
	var log flushLog
	n := c.Named("0_0-s", log.fn)
	if _, ok := n.Get([]byte("a")); ok {
		t.Fatal("empty cache hit")
	}
	put(t, n, "a", "1", 10)
	put(t, n, "bb", "22", 11)
	put(t, n, "e", "", 12)
	if got, want := c.SizeBytes(), size("a", "1")+size("bb", "22")+size("e", ""); got != want || n.SizeBytes() != want {
		t.Fatalf("size = %d (named %d), want %d", got, n.SizeBytes(), want)
	}
	put(t, n, "a", "1111", 13) // overwrite: accounted by its new size
	if got, want := c.SizeBytes(), size("a", "1111")+size("bb", "22")+size("e", ""); got != want {
		t.Fatalf("size after overwrite = %d, want %d", got, want)
	}
	if v, ok := n.Get([]byte("e")); !ok || v == nil || len(v) != 0 {
		t.Fatalf("an empty value must be non-nil and empty, got %q, %v", v, ok)
	}
	if got := cached(n, "a", "bb", "zz"); got != "a=1111 bb=22" {
		t.Fatalf("cached = %q", got)
	}
	if n.Len() != 3 || n.Dirty() != 3 {
		t.Fatalf("Len %d Dirty %d, want 3 and 3", n.Len(), n.Dirty())
	}
	if len(log.calls) != 0 {
		t.Fatalf("nothing may be written before a flush or eviction: %v", log.String())
	}
	st := c.Stats()
	if st.Entries != 3 || st.Puts != 4 || st.Overwrites != 1 || st.Hits != 3 || st.Misses != 2 {
		t.Fatalf("stats = %+v", st)
	}
	n.Close()
	n.Close()
	if c.SizeBytes() != 0 || c.Stats().Entries != 0 {
		t.Fatalf("after Close: size %d, stats %+v", c.SizeBytes(), c.Stats())
	}
	if len(log.calls) != 0 {
		t.Fatal("Close must not flush")
	}
	if err := n.Put([]byte("x"), []byte("y"), 0); err == nil {
		t.Fatal("Put on a closed cache succeeded")
	}
}

func TestCacheFlushClearsDirty(t *testing.T) {
	c := NewRecordCache(1 << 20)
	var log flushLog
	n := c.Named("s", log.fn)
	put(t, n, "a", "1", 1)
	put(t, n, "b", "1", 2)
	put(t, n, "a", "2", 3) // a was written last: it flushes last
	put(t, n, "b", "2", 4)
	put(t, n, "c", "1", 5)
	put(t, n, "b", "3", 6)
	flush(t, n)
	if got, want := log.String(), "[[a=2@3 c=1@5 b=3@6]]"; got != want {
		t.Fatalf("flushed %s, want %s: latest value per key, in order of last write", got, want)
	}
	if n.Dirty() != 0 || n.Len() != 3 {
		t.Fatalf("after flush: Dirty %d Len %d; entries stay cached, clean", n.Dirty(), n.Len())
	}
	flush(t, n)
	if len(log.calls) != 1 {
		t.Fatalf("flushing a clean cache called the flush function: %s", log.String())
	}
	put(t, n, "c", "2", 7)
	flush(t, n)
	if got, want := log.String(), "[[a=2@3 c=1@5 b=3@6] [c=2@7]]"; got != want {
		t.Fatalf("flushed %s, want %s", got, want)
	}
	if st := c.Stats(); st.Flushes != 2 || st.FlushedEntries != 4 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestCacheTombstones(t *testing.T) {
	c := NewRecordCache(1 << 20)
	var log flushLog
	n := c.Named("s", log.fn)
	put(t, n, "a", "1", 1)
	del(t, n, "a", 2)
	del(t, n, "b", 3)
	if got := cached(n, "a", "b"); got != "a=<nil> b=<nil>" {
		t.Fatalf("a cached delete must read as a known absence, got %q", got)
	}
	if got, want := c.SizeBytes(), size("a", "")+size("b", ""); got != want {
		t.Fatalf("tombstones count key and overhead: size %d, want %d", got, want)
	}
	flush(t, n)
	if got, want := log.String(), "[[a=<nil>@2 b=<nil>@3]]"; got != want {
		t.Fatalf("flushed %s, want %s", got, want)
	}
	// As in Kafka Streams, flushed tombstones leave the cache.
	if got := cached(n, "a", "b"); got != "" || n.Len() != 0 || c.SizeBytes() != 0 {
		t.Fatalf("after flush: cached %q, Len %d, size %d", got, n.Len(), c.SizeBytes())
	}
	// Load caches clean values, and the store's absence of a key as a
	// clean tombstone; it never replaces a cached entry.
	if err := n.Load([]byte("k"), []byte("disk")); err != nil {
		t.Fatal(err)
	}
	if err := n.Load([]byte("gone"), nil); err != nil {
		t.Fatal(err)
	}
	put(t, n, "w", "new", 4)
	if err := n.Load([]byte("w"), []byte("old")); err != nil {
		t.Fatal(err)
	}
	if got := cached(n, "k", "gone", "w"); got != "k=disk gone=<nil> w=new" {
		t.Fatalf("cached %q", got)
	}
	flush(t, n)
	if got := log.calls[len(log.calls)-1]; fmt.Sprint(got) != "[w=new@4]" {
		t.Fatalf("loaded entries are clean and never flushed; flushed %v", got)
	}
}

func TestCacheLRUOrder(t *testing.T) {
	// Room for three entries of this size, and for the one-byte old
	// value k2 keeps once it is written again after the flush.
	c := NewRecordCache(3*size("k1", "v") + 1)
	var log flushLog
	n := c.Named("s", log.fn)
	put(t, n, "k1", "v", 1)
	put(t, n, "k2", "v", 2)
	put(t, n, "k3", "v", 3)
	flush(t, n) // clean: evictions now write nothing
	n.Get([]byte("k1"))
	put(t, n, "k2", "w", 4) // k3 is now the least recently used
	put(t, n, "k4", "v", 5)
	if got := cached(n, "k1", "k2", "k3", "k4"); got != "k1=v k2=w k4=v" {
		t.Fatalf("after evicting one: %q, want k3 gone", got)
	}
	if c.SizeBytes() > c.MaxBytes() || c.Stats().Evictions != 1 {
		t.Fatalf("size %d > budget %d, or evictions %d != 1", c.SizeBytes(), c.MaxBytes(), c.Stats().Evictions)
	}
	// The Gets above refreshed k1, k2 and k4 in that order: k1 goes next.
	put(t, n, "k5", "v", 6)
	if got := cached(n, "k1", "k2", "k4", "k5"); got != "k2=w k4=v k5=v" {
		t.Fatalf("after evicting another: %q, want k1 gone", got)
	}
}

func TestCacheEvictionWritesDirtyEntries(t *testing.T) {
	c := NewRecordCache(3 * size("k1", "v"))
	var log flushLog
	n := c.Named("s", log.fn)
	put(t, n, "k1", "v", 1)
	put(t, n, "k2", "v", 2)
	put(t, n, "k3", "v", 3)
	put(t, n, "k1", "w", 4) // k2 is the least recently used
	if len(log.calls) != 0 {
		t.Fatal("flushed while within budget")
	}
	put(t, n, "k4", "v", 5)
	// Evicting dirty k2 flushes every dirty entry, k2 first, then the
	// others in order of last write.
	if got, want := log.String(), "[[k2=v@2 k3=v@3 k1=w@4 k4=v@5]]"; got != want {
		t.Fatalf("eviction flushed %s, want %s", got, want)
	}
	if n.Dirty() != 0 || cached(n, "k1", "k2", "k3", "k4") != "k1=w k3=v k4=v" {
		t.Fatalf("after eviction: Dirty %d, cached %q", n.Dirty(), cached(n, "k1", "k2", "k3", "k4"))
	}
	// The cache is clean: the next eviction writes nothing.
	put(t, n, "k5", "v", 6)
	if len(log.calls) != 1 {
		t.Fatalf("evicting a clean entry called flush: %s", log.String())
	}
	// An error from the flush function comes back from the write whose
	// eviction caused it: k5, dirty, is evicted within three inserts.
	log.err = errors.New("disk full")
	var err error
	for i := 0; i < 3 && err == nil; i++ {
		err = n.Put(fmt.Appendf(nil, "x%d", i), []byte("v"), 9)
	}
	if !errors.Is(err, log.err) {
		t.Fatalf("Put whose eviction failed to flush = %v, want %v", err, log.err)
	}
}

func TestCacheBudgetSharedAcrossNamedCaches(t *testing.T) {
	c := NewRecordCache(4 * size("k1", "v"))
	var la, lb flushLog
	a := c.Named("0_0-a", la.fn)
	b := c.Named("0_0-b", lb.fn)
	put(t, a, "k1", "v", 1)
	put(t, a, "k2", "v", 2)
	put(t, a, "k3", "v", 3)
	put(t, b, "k1", "v", 4)
	if c.SizeBytes() != 4*size("k1", "v") || a.SizeBytes() != 3*size("k1", "v") || b.SizeBytes() != size("k1", "v") {
		t.Fatalf("sizes: total %d, a %d, b %d", c.SizeBytes(), a.SizeBytes(), b.SizeBytes())
	}
	// The cache is full. A write to b evicts from b, the cache that
	// overflowed, never from a: b's least recently used entry goes, and
	// is written through by b's flush function.
	put(t, b, "k2", "v", 5)
	if len(la.calls) != 0 || lb.String() != "[[k1=v@4 k2=v@5]]" {
		t.Fatalf("a flushed %s, b flushed %s; want only b flushed, k1 first", la.String(), lb.String())
	}
	if got := cached(b, "k1", "k2"); got != "k2=v" {
		t.Fatalf("b holds %q", got)
	}
	if got := cached(a, "k1", "k2", "k3"); got != "k1=v k2=v k3=v" {
		t.Fatalf("a holds %q", got)
	}
	// A write to a evicts from a, and the total fits the budget again.
	put(t, a, "k4", "v", 6)
	if c.SizeBytes() > c.MaxBytes() {
		t.Fatalf("size %d over budget %d", c.SizeBytes(), c.MaxBytes())
	}
	if la.String() != "[[k1=v@1 k2=v@2 k3=v@3 k4=v@6]]" {
		t.Fatalf("a flushed %s", la.String())
	}
	// Closing a named cache gives its bytes back.
	a.Close()
	if c.SizeBytes() != b.SizeBytes() {
		t.Fatalf("after closing a: total %d, b %d", c.SizeBytes(), b.SizeBytes())
	}
}

func TestCacheZeroBudgetWritesThrough(t *testing.T) {
	c := NewRecordCache(0)
	var log flushLog
	n := c.Named("s", log.fn)
	put(t, n, "a", "1", 1)
	put(t, n, "a", "2", 2)
	del(t, n, "b", 3)
	if got, want := log.String(), "[[a=1@1] [a=2@2] [b=<nil>@3]]"; got != want {
		t.Fatalf("flushed %s, want every write at once: %s", got, want)
	}
	if n.Len() != 0 || c.SizeBytes() != 0 {
		t.Fatalf("a zero budget holds %d entries, %d bytes", n.Len(), c.SizeBytes())
	}
}

func TestCacheReentrantFlush(t *testing.T) {
	// A flush function that writes to its own cache (a flush listener
	// whose downstream writes the store again) must see intact entries,
	// and its writes must stay dirty.
	c := NewRecordCache(1 << 20)
	var n *NamedCache
	var seen []string
	n = c.Named("s", func(entries []CacheEntry) error {
		for _, e := range entries {
			if string(e.Key) == "a" {
				// Same size: would be rewritten in place, but
				// the entries given to us must not change.
				if err := n.Put([]byte("a"), []byte("X"), 9); err != nil {
					return err
				}
				if err := n.Put([]byte("new"), []byte("v"), 9); err != nil {
					return err
				}
			}
			seen = append(seen, string(e.Key)+"="+string(e.Value))
		}
		return nil
	})
	put(t, n, "a", "1", 1)
	put(t, n, "b", "2", 2)
	flush(t, n)
	if fmt.Sprint(seen) != "[a=1 b=2]" {
		t.Fatalf("flush saw %v", seen)
	}
	if n.Dirty() != 2 || cached(n, "a", "new") != "a=X new=v" {
		t.Fatalf("writes made while flushing: Dirty %d, cached %q", n.Dirty(), cached(n, "a", "new"))
	}
}

func TestCacheAllocations(t *testing.T) {
	c := NewRecordCache(1 << 20)
	n := c.Named("s", func([]CacheEntry) error { return nil })
	key, val := []byte("some-key"), []byte("12345678")
	put(t, n, "some-key", "00000000", 0)
	if a := testing.AllocsPerRun(1000, func() { _ = n.Put(key, val, 1) }); a != 0 {
		t.Errorf("overwriting a key: %v allocations, want 0", a)
	}
	if a := testing.AllocsPerRun(1000, func() { n.Get(key) }); a != 0 {
		t.Errorf("Get: %v allocations, want 0", a)
	}
	if a := testing.AllocsPerRun(100, func() { _ = n.Flush() }); a != 0 {
		t.Errorf("Flush: %v allocations, want 0", a)
	}
	// Under eviction, evicted entries are reused: inserting a new key
	// allocates nothing but map growth, amortised away.
	small := NewRecordCache(100 * size("key-00000", "12345678"))
	m := small.Named("s", func([]CacheEntry) error { return nil })
	i := 0
	kbuf := make([]byte, 0, 16)
	insert := func() {
		k := strconv.AppendInt(append(kbuf[:0], "key-"...), int64(10000+i%90000), 10)
		i++
		_ = m.Put(k, val, 1)
	}
	for range 1000 {
		insert()
	}
	if a := testing.AllocsPerRun(1000, insert); a > 0.1 {
		t.Errorf("inserting under eviction: %v allocations per Put, want ~0", a)
	}
}
