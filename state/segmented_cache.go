package state

import (
	"fmt"
	"time"

	"github.com/strata-go/strata/internal/engine"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/window"
)

// segmentedCache is what caching window and session stores share: the
// store's part of the task's record cache, keyed as the changelog is, and
// its flush listener.
type segmentedCache[K, V any] struct {
	cache    *engine.NamedCache
	listener func(Change[window.Windowed[K], V]) error
	sendOld  bool
	olds     [][]byte
	cacheKey []byte
}

// SetFlushListener implements CachedWindowStore and CachedSessionStore.
func (c *segmentedCache[K, V]) SetFlushListener(listener func(Change[window.Windowed[K], V]) error, sendOldValues bool) bool {
	if c.cache == nil {
		return false
	}
	c.listener, c.sendOld = listener, sendOldValues
	return true
}

// closeCache drops the store's cached writes.
func (c *segmentedCache[K, V]) closeCache() {
	if c.cache != nil {
		c.cache.Close()
		c.cache = nil
	}
}

// flushCache flushes cached writes, before an iterator reads the store or
// when the task commits.
func (c *segmentedCache[K, V]) flushCache(s *segmented, op string) error {
	if c.cache == nil {
		return nil
	}
	if err := c.cache.Flush(); err != nil {
		return s.fail(op, err)
	}
	return nil
}

// flushedEntry is where a flushed cache entry goes: the serialized record
// key, the segment time by which it expires, its window, and its key in the
// store.
type flushedEntry struct {
	key     []byte
	segTime int64
	window  window.Window
	raw     []byte
}

// writeFlushed is the named cache's flush function of a window or session
// store, whose entries locate places: it writes the flushed entries that
// have not expired to the store in one batch, logs them, and tells the
// listener about every one. A delete of an entry the store does not hold
// is skipped entirely when there is a listener (which reads old values).
func (c *segmentedCache[K, V]) writeFlushed(s *segmented, ks serde.Serde[K], vs serde.Serde[V], entries []engine.CacheEntry, locate func(ck []byte) flushedEntry) error {
	l := c.listener
	// The listener may forward into processors that write this store
	// again and flush it: the nested flush must not share olds.
	olds := c.olds[:0]
	c.olds = nil
	defer func() {
		if cap(olds) <= 4096 {
			clear(olds)
			c.olds = olds[:0]
		}
	}()
	var err error
	if olds, err = flushOlds(entries, olds, l != nil, c.sendOld, func(ck []byte) ([]byte, bool, error) {
		return s.db.Get(locate(ck).raw)
	}); err != nil {
		return err
	}
	// skip reports deletes of entries the store does not hold; expired
	// entries are reported, but neither stored nor logged: their segment
	// may be gone.
	skip := func(i int) bool { return l != nil && entries[i].Value == nil && olds[i] == nil }
	expired := func(i int) bool { return s.expired(locate(entries[i].Key).segTime) }
	b := s.db.NewBatch()
	for i, e := range entries {
		if skip(i) || expired(i) {
			continue
		}
		raw := locate(e.Key).raw
		if e.Value == nil {
			err = b.Delete(raw)
		} else {
			err = b.Set(raw, e.Value)
		}
		if err != nil {
			return fmt.Errorf("write: %w", err)
		}
	}
	if !s.hooked && !s.spec.inMemory {
		if err := s.saveTime(b.Set); err != nil {
			return err
		}
	}
	if err := b.Commit(); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	for i, e := range entries {
		if skip(i) || expired(i) {
			continue
		}
		if err := s.spec.logFlushed(s.task, s.changelog, e); err != nil {
			return err
		}
	}
	if l == nil {
		return nil
	}
	for i, e := range entries {
		if skip(i) {
			continue
		}
		at := locate(e.Key)
		ch := Change[window.Windowed[K], V]{Timestamp: time.UnixMilli(e.Timestamp)}
		if ch.Key.Key, err = ks.Deserialize(s.changelog, at.key); err != nil {
			return fmt.Errorf("deserialize key: %w", err)
		}
		ch.Key.Window = at.window
		if err := ch.decodeValues(vs, s.changelog, e.Value, olds[i], c.sendOld); err != nil {
			return err
		}
		if err := callFlushListener(s.task, l, ch, e.Timestamp); err != nil {
			return err
		}
	}
	return nil
}
