package engine

import (
	"fmt"
	"unsafe"
)

// CacheEntryOverhead is what the record cache counts for an entry on top of
// its key and value bytes: the entry itself, its list links and its map
// slot, rounded up. Like Kafka Streams' estimate, it is an accounting
// figure, not a measurement; it keeps a cache of many tiny entries from
// being far larger than its budget.
const CacheEntryOverhead = 128

// Free entries kept for reuse, and the largest buffer worth keeping.
const (
	cacheFreeMax    = 64
	cacheFreeBufMax = 1 << 10
)

// RecordCache is Kafka Streams' record cache (ThreadCache, KIP-770's
// statestore.cache.max.bytes): a write-back cache of store updates, bounded
// in bytes, shared by the stores of every task one goroutine runs. Each store
// gets a [NamedCache] from it. Writes go to the cache and are marked dirty;
// several writes of a key between two flushes become one write to the store
// and one changelog record. Dirty entries reach the store when it is flushed
// (on every commit) or when they are evicted.
//
// As in Kafka Streams, each named cache keeps its own LRU list and the budget
// is shared: when a write to a named cache brings the total over the budget,
// entries are evicted from the head (least recently used end) of that named
// cache, the one that overflowed, until the total fits again or that cache is
// empty. A write therefore never evicts another store's entries, so a flush
// callback never runs inside an operation on a different store; the price is
// that a store holding much of the budget keeps it until it writes itself
// (or its task closes), and the total can stay above the budget meanwhile.
//
// Evicting a dirty entry flushes every dirty entry of its named cache in one
// batch, the evicted entry first, as Kafka's NamedCache does: after it the
// cache is clean, so the evictions that follow cost nothing, and the store
// writes one batch instead of one per evicted entry.
//
// A budget of zero (or less) caches nothing: every write is evicted, and so
// written through, at once. Tasks given such a cache hand their stores no
// named cache at all (see [Task.NamedCache]), so stores take their uncached
// path.
//
// A RecordCache is not safe for concurrent use: one goroutine uses it and
// every named cache made from it.
type RecordCache struct {
	max   int64
	size  int64
	free  []*cacheEntry
	stats CacheStats
	// Scratch slices for flushes, shared by the named caches: flushes
	// only nest (a flush function writing to a cache), and a nested
	// flush allocates its own.
	entries     []CacheEntry
	flushed     []*cacheEntry
	scratchBusy bool
}

// CacheStats are a record cache's counters.
type CacheStats struct {
	// Entries and Bytes are what the cache holds now; Bytes counts keys,
	// values, the old values kept for dirty entries (CacheEntry.Old) and
	// CacheEntryOverhead per entry.
	Entries int64
	Bytes   int64
	// Hits and Misses count lookups with Get.
	Hits, Misses int64
	// Puts counts dirty writes (Put and Delete); Overwrites counts those
	// that replaced a cached entry.
	Puts, Overwrites int64
	// Evictions counts entries evicted to stay within the budget.
	Evictions int64
	// Flushes counts calls of named caches' flush functions, and
	// FlushedEntries the entries they were given.
	Flushes, FlushedEntries int64
}

// NewRecordCache returns a record cache holding at most maxBytes of entries.
func NewRecordCache(maxBytes int64) *RecordCache {
	return &RecordCache{max: max(maxBytes, 0)}
}

// MaxBytes is the cache's budget.
func (c *RecordCache) MaxBytes() int64 { return c.max }

// SizeBytes is what the cache's entries count for now.
func (c *RecordCache) SizeBytes() int64 { return c.size }

// Stats returns the cache's counters.
func (c *RecordCache) Stats() CacheStats {
	s := c.stats
	s.Bytes = c.size
	return s
}

// Named returns a new, empty named cache: one store's part of the record
// cache. name identifies it in errors; Kafka Streams uses
// "<taskID>-<store>". flush is how dirty entries reach the store: it is
// given them, one entry per key holding the key's latest value, when the
// named cache is flushed and when eviction of a dirty entry flushes it. The
// entries' byte slices belong to the cache and are valid only during the
// call. An error from flush is returned by the Put, Delete, Load or Flush
// that caused it; the entries it was given are then no longer dirty, and the
// named cache should be considered broken (its task fails and is closed).
func (c *RecordCache) Named(name string, flush func(entries []CacheEntry) error) *NamedCache {
	return &NamedCache{c: c, name: name, flushFn: flush, m: map[string]*cacheEntry{}}
}

// CacheEntry is a dirty entry handed to a named cache's flush function.
type CacheEntry struct {
	Key []byte
	// Value is the key's latest value; nil is a tombstone (the key was
	// deleted). An empty value is non-nil.
	Value []byte
	// Timestamp is the time, in Unix milliseconds, the value was
	// written with: the timestamp of the record being processed then.
	Timestamp int64
	// OldKnown reports that Old is the key's value in the store, as of
	// the previous flush: the cache knows it when the key was cached
	// clean (loaded from the store, or flushed) before this round of
	// writes. Old is then nil if the store does not hold the key. When
	// OldKnown is false, a flush function that needs the old value reads
	// the store.
	Old      []byte
	OldKnown bool
}

// cacheEntry is one cached key.
type cacheEntry struct {
	// buf holds the key followed by the value. The key part is never
	// written while the entry is in its map: the map's key is a string
	// over it.
	buf   []byte
	klen  int
	ts    int64
	tomb  bool
	dirty bool
	live  bool // in its named cache's map
	// old is the store's value of a dirty entry, copied from the entry
	// when it was clean, if oldKnown: a clean entry's value is the
	// store's. It saves a flush the store read of each key's old value.
	old      []byte
	oldKnown bool
	// prev and next link the named cache's LRU list; dprev and dnext its
	// dirty list.
	prev, next   *cacheEntry
	dprev, dnext *cacheEntry
}

func (e *cacheEntry) key() []byte { return e.buf[:e.klen:e.klen] }

func (e *cacheEntry) value() []byte {
	if e.tomb {
		return nil
	}
	return e.buf[e.klen:]
}

func (e *cacheEntry) size() int64 { return int64(len(e.buf)+len(e.old)) + CacheEntryOverhead }

// mapKey is the entry's key as a string sharing its bytes, so inserting a
// key allocates no string. It is safe because the key bytes do not change
// while the entry is in the map: values are written after them, and a
// recycled entry was removed from its map first.
func (e *cacheEntry) mapKey() string {
	return unsafe.String(unsafe.SliceData(e.buf), e.klen)
}

// setValue stores value (tombstone when tomb) after the key. Unless fresh is
// set it reuses the buffer's spare capacity; a named cache that is flushing
// asks for a fresh buffer, since its flush function may be reading the old
// one.
func (e *cacheEntry) setValue(value []byte, tomb, fresh bool) {
	e.tomb = tomb
	if tomb {
		value = nil
	}
	if fresh || cap(e.buf)-e.klen < len(value) {
		buf := make([]byte, e.klen, e.klen+len(value))
		copy(buf, e.buf[:e.klen])
		e.buf = buf
	}
	e.buf = append(e.buf[:e.klen], value...)
}

// flushEntry is what a flush of e hands the flush function.
func (e *cacheEntry) flushEntry() CacheEntry {
	return CacheEntry{Key: e.key(), Value: e.value(), Timestamp: e.ts, Old: e.old, OldKnown: e.oldKnown}
}

// newEntry returns an entry holding key and value, reusing a free one if
// there is one.
func (c *RecordCache) newEntry(key, value []byte, tomb bool) *cacheEntry {
	var e *cacheEntry
	if n := len(c.free); n > 0 {
		e = c.free[n-1]
		c.free[n-1] = nil
		c.free = c.free[:n-1]
	} else {
		e = &cacheEntry{}
	}
	if tomb {
		value = nil
	}
	if cap(e.buf) < len(key)+len(value) {
		// Never nil, even for an empty key and value, so that an
		// empty value is never taken for a tombstone.
		e.buf = make([]byte, 0, len(key)+len(value))
	}
	e.buf = append(append(e.buf[:0], key...), value...)
	e.klen, e.tomb = len(key), tomb
	return e
}

// recycle keeps e for reuse.
func (c *RecordCache) recycle(e *cacheEntry) {
	if len(c.free) >= cacheFreeMax || cap(e.buf) > cacheFreeBufMax {
		return
	}
	buf := e.buf
	*e = cacheEntry{buf: buf[:0]}
	c.free = append(c.free, e)
}

// NamedCache is one store's part of a [RecordCache]. Get it from
// [RecordCache.Named] (or [Task.NamedCache]). Keys are byte strings; values
// are bytes, or nil for a tombstone. Like its RecordCache, it is not safe
// for concurrent use.
type NamedCache struct {
	c       *RecordCache
	name    string
	flushFn func([]CacheEntry) error
	m       map[string]*cacheEntry
	size    int64
	// lru runs from the least recently used entry (head) to the most
	// recently used (tail).
	lruHead, lruTail *cacheEntry
	// dirty runs from the entry written least recently to the one
	// written last, the order Kafka's NamedCache flushes in.
	dirtyHead, dirtyTail *cacheEntry
	dirtyLen             int
	// flushing counts flush calls in progress: the flush function may
	// write to this cache again.
	flushing int
	closed   bool
}

// Name is the name the cache was created with.
func (n *NamedCache) Name() string { return n.name }

// Len is the number of cached keys.
func (n *NamedCache) Len() int { return len(n.m) }

// Dirty is the number of cached keys written since they were last flushed.
func (n *NamedCache) Dirty() int { return n.dirtyLen }

// SizeBytes is what the cache's entries count for in its RecordCache's
// budget.
func (n *NamedCache) SizeBytes() int64 { return n.size }

// Get returns the cached value of key. ok is false when the key is not
// cached (or the cache is closed); a cached tombstone is ok with a nil
// value: the key is known to be absent. The value is the cache's own and is
// valid until the next call on this cache. A hit makes the entry the most
// recently used.
func (n *NamedCache) Get(key []byte) (value []byte, ok bool) {
	e := n.m[string(key)]
	if e == nil {
		n.c.stats.Misses++
		return nil, false
	}
	n.c.stats.Hits++
	n.touch(e)
	return e.value(), true
}

// Put caches value as key's latest value, to be written to the store by a
// later flush; nil is a tombstone. ts is the write's timestamp, in Unix
// milliseconds. The cache copies key and value. If the cache is now over
// budget, Put evicts, which may flush; the flush's error is returned.
func (n *NamedCache) Put(key, value []byte, ts int64) error {
	if n.closed {
		return n.errClosed()
	}
	n.put(key, value, value == nil, ts, true)
	return n.maybeEvict(nil)
}

// Delete caches a tombstone for key: Put(key, nil, ts).
func (n *NamedCache) Delete(key []byte, ts int64) error { return n.Put(key, nil, ts) }

// Load caches value, read from the store, as key's clean value, unless key
// is cached already; nil records that the store does not hold the key (a
// clean tombstone: Get then reports the key absent). Stores call it after
// a Get missed the cache, as Kafka Streams' caching store does, so that the
// next read of the key is a hit, and so that a write that follows knows the
// key's value in the store (CacheEntry.OldKnown) without reading it again
// at the flush. Kafka Streams caches only keys the store holds; caching
// the others too saves aggregations over many keys, most of them new, a
// second store read per key. Like Put it may evict, and so flush.
func (n *NamedCache) Load(key, value []byte) error {
	if n.closed {
		return n.errClosed()
	}
	if n.m[string(key)] != nil {
		return nil
	}
	n.put(key, value, value == nil, 0, false)
	return n.maybeEvict(n.lruTail)
}

func (n *NamedCache) put(key, value []byte, tomb bool, ts int64, dirty bool) {
	c := n.c
	if dirty {
		c.stats.Puts++
	}
	e := n.m[string(key)]
	if e != nil {
		if dirty {
			c.stats.Overwrites++
		}
		n.resize(-e.size())
		if dirty && !e.dirty {
			// A clean entry holds the store's value: keep it as the
			// old value for the flush. The copy is the entry's own: a
			// flush function may still hold the previous one.
			e.old, e.oldKnown = nil, true
			if !e.tomb {
				e.old = append([]byte{}, e.value()...)
			}
		}
		e.setValue(value, tomb, n.flushing > 0)
		n.touch(e)
	} else {
		e = c.newEntry(key, value, tomb)
		e.live = true
		n.m[e.mapKey()] = e
		n.pushLRU(e)
		c.stats.Entries++
	}
	n.resize(e.size())
	e.ts = ts
	if dirty {
		if e.dirty {
			n.unlinkDirty(e)
		}
		e.dirty = true
		n.pushDirty(e)
	}
}

func (n *NamedCache) resize(delta int64) {
	n.size += delta
	n.c.size += delta
}

// maybeEvict evicts from this cache's LRU head while the record cache is
// over budget, as Kafka's ThreadCache.maybeEvict does, but never keep, if
// not nil: a clean entry just loaded, which would otherwise go before the
// write that usually follows it could use it (the total then stays over
// the budget by that entry until the next write).
func (n *NamedCache) maybeEvict(keep *cacheEntry) error {
	c := n.c
	for c.size > c.max && n.lruHead != nil && n.lruHead != keep {
		e := n.lruHead
		n.remove(e)
		c.stats.Evictions++
		var err error
		if e.dirty {
			err = n.flush(e)
		}
		if n.flushing == 0 {
			c.recycle(e)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// remove takes e out of the map and the LRU list, keeping it on the dirty
// list if it is dirty.
func (n *NamedCache) remove(e *cacheEntry) {
	delete(n.m, e.mapKey())
	e.live = false
	n.unlinkLRU(e)
	n.resize(-e.size())
	n.c.stats.Entries--
}

// Flush hands every dirty entry to the flush function, in the order they
// were last written, and marks them clean. Flushed tombstones then leave the
// cache, as in Kafka Streams. Flushing a clean cache does nothing.
func (n *NamedCache) Flush() error {
	if n.dirtyLen == 0 {
		return nil
	}
	return n.flush(nil)
}

// flush flushes every dirty entry; evicted, if not nil, was just removed
// from the cache and goes first.
func (n *NamedCache) flush(evicted *cacheEntry) error {
	c := n.c
	var entries []CacheEntry
	var flushed []*cacheEntry
	ownScratch := !c.scratchBusy
	if ownScratch {
		c.scratchBusy = true
		entries, flushed = c.entries[:0], c.flushed[:0]
	}
	if evicted != nil {
		n.unlinkDirty(evicted)
		evicted.dirty = false
		entries = append(entries, evicted.flushEntry())
		flushed = append(flushed, evicted)
		evicted.old, evicted.oldKnown = nil, false
	}
	// Everything is marked clean before the flush function runs, so
	// that writes it makes to this cache are dirty again afterwards.
	for e := n.dirtyHead; e != nil; {
		next := e.dnext
		e.dprev, e.dnext, e.dirty = nil, nil, false
		entries = append(entries, e.flushEntry())
		flushed = append(flushed, e)
		// Once flushed, the entry's value is the store's.
		if e.live {
			n.resize(-int64(len(e.old)))
		}
		e.old, e.oldKnown = nil, false
		e = next
	}
	n.dirtyHead, n.dirtyTail, n.dirtyLen = nil, nil, 0
	c.stats.Flushes++
	c.stats.FlushedEntries += int64(len(entries))
	err := n.callFlush(entries, ownScratch)
	for _, e := range flushed {
		// Drop flushed tombstones, unless the flush function wrote
		// the key again.
		if e.live && e.tomb && !e.dirty {
			n.remove(e)
			if n.flushing == 0 {
				c.recycle(e)
			}
		}
	}
	if ownScratch {
		clear(entries)
		clear(flushed)
		c.entries, c.flushed = entries[:0], flushed[:0]
		c.scratchBusy = false
	}
	return err
}

// callFlush calls the flush function with entries. A panic in it (in user
// code it runs, downstream processors say) goes on up to the task, which
// recovers it, but leaves the cache usable: the flush is over, and the
// scratch slices, if the flush took them, are free again. The entries it was
// given are then clean, as after a flush error.
func (n *NamedCache) callFlush(entries []CacheEntry, ownScratch bool) error {
	n.flushing++
	done := false
	defer func() {
		if !done {
			n.flushing--
			if ownScratch {
				n.c.scratchBusy = false
			}
		}
	}()
	err := n.flushFn(entries)
	done = true
	n.flushing--
	return err
}

func (n *NamedCache) errClosed() error {
	return fmt.Errorf("cache %q is closed", n.name)
}

// Close drops every entry, dirty or not, without flushing, and gives the
// cache's bytes back to the record cache. Flush first to keep updates. The
// cache must not be used afterwards; closing twice is not an error.
func (n *NamedCache) Close() {
	if n.closed {
		return
	}
	n.closed = true
	n.c.size -= n.size
	n.c.stats.Entries -= int64(len(n.m))
	for _, e := range n.m {
		e.live = false
	}
	n.m = map[string]*cacheEntry{}
	n.size = 0
	n.lruHead, n.lruTail = nil, nil
	n.dirtyHead, n.dirtyTail, n.dirtyLen = nil, nil, 0
}

// touch makes e the most recently used entry.
func (n *NamedCache) touch(e *cacheEntry) {
	if n.lruTail == e {
		return
	}
	n.unlinkLRU(e)
	n.pushLRU(e)
}

func (n *NamedCache) pushLRU(e *cacheEntry) {
	e.prev, e.next = n.lruTail, nil
	if n.lruTail != nil {
		n.lruTail.next = e
	} else {
		n.lruHead = e
	}
	n.lruTail = e
}

func (n *NamedCache) unlinkLRU(e *cacheEntry) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		n.lruHead = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		n.lruTail = e.prev
	}
	e.prev, e.next = nil, nil
}

func (n *NamedCache) pushDirty(e *cacheEntry) {
	e.dprev, e.dnext = n.dirtyTail, nil
	if n.dirtyTail != nil {
		n.dirtyTail.dnext = e
	} else {
		n.dirtyHead = e
	}
	n.dirtyTail = e
	n.dirtyLen++
}

func (n *NamedCache) unlinkDirty(e *cacheEntry) {
	if e.dprev != nil {
		e.dprev.dnext = e.dnext
	} else {
		n.dirtyHead = e.dnext
	}
	if e.dnext != nil {
		e.dnext.dprev = e.dprev
	} else {
		n.dirtyTail = e.dprev
	}
	e.dprev, e.dnext = nil, nil
	n.dirtyLen--
}
