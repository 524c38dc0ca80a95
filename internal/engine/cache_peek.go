package engine

// Reads for interactive queries. A query reads a cached store from another
// goroutine than the task's, with the task's goroutine held off by the
// runtime's lock, and must leave the cache as processing left it: no entry
// made recently used, loaded, evicted or flushed, and no statistic counted.

// Peek returns the cached value of key as Get does (ok false when the key is
// not cached, a nil value for a cached tombstone), without making the entry
// recently used or counting a hit or a miss. The value is the cache's own
// and valid until the cache is next written.
func (n *NamedCache) Peek(key []byte) (value []byte, ok bool) {
	e := n.m[string(key)]
	if e == nil {
		return nil, false
	}
	return e.value(), true
}

// EachDirty calls fn with every dirty entry (written since it was last
// flushed) that is still cached, in no particular order, until fn returns
// false. A nil value is a tombstone. The slices are the cache's own and
// valid until the cache is next written. Clean entries hold what the store
// holds, so a reader merging the dirty entries over the store sees what
// the store will hold after the next flush.
func (n *NamedCache) EachDirty(fn func(key, value []byte) bool) {
	for e := n.dirtyHead; e != nil; e = e.dnext {
		if !e.live {
			continue
		}
		if !fn(e.key(), e.value()) {
			return
		}
	}
}
