package query

import (
	"bytes"
	"context"
	"time"

	"github.com/strata-go/strata/internal/engine"
	"github.com/strata-go/strata/internal/iq"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/window"
)

// pageFunc reads one page of one partition's store.
type pageFunc[K, V any] func(s engine.Store, p iq.Page, fn func(enc []byte, key K, value V) error) (iq.PageEnd, error)

// entry is an entry a page read; its encoded key is enc[off:end] of its
// pager's slab.
type entry[K, V any] struct {
	off, end int
	key      K
	value    V
}

// pager reads one partition of a store a page at a time: each page under
// the partition's lock, resuming after the last entry of the one before.
type pager[K, V any] struct {
	h    *handle
	ctx  context.Context
	part int32
	read pageFunc[K, V]
	page iq.Page
	done bool
	buf  []entry[K, V]
	slab []byte
	pos  int
}

// fill reads the next page if the current one is used up and more may
// follow. It reports whether an entry is there.
func (pg *pager[K, V]) fill() (bool, error) {
	for pg.pos == len(pg.buf) {
		if pg.done {
			return false, nil
		}
		clear(pg.buf)
		pg.buf, pg.slab, pg.pos = pg.buf[:0], pg.slab[:0], 0
		err := pg.h.read(pg.ctx, pg.part, func(s engine.Store) error {
			end, err := pg.read(s, pg.page, func(enc []byte, key K, value V) error {
				off := len(pg.slab)
				pg.slab = append(pg.slab, enc...)
				pg.buf = append(pg.buf, entry[K, V]{off: off, end: len(pg.slab), key: key, value: value})
				return nil
			})
			if err != nil {
				return err
			}
			pg.page.After, pg.done = end.Last, end.Done
			return nil
		})
		if err != nil {
			pg.done = true
			return false, err
		}
	}
	return true, nil
}

// enc is the encoded key of the pager's current entry.
func (pg *pager[K, V]) enc() []byte {
	e := &pg.buf[pg.pos]
	return pg.slab[e.off:e.end]
}

// mergeIter merges the pagers of several partitions by encoded key, which
// is the order of each: a key lives in one partition only, so the entries
// of a key (its windows, its sessions) come from one pager, in order.
type mergeIter[K, V any] struct {
	pagers  []*pager[K, V]
	reverse bool
	key     K
	value   V
	err     error
	closed  bool
}

// newMergeIter makes an iterator over the partitions parts of h's store,
// reading each with read, and reads their first pages, so that a
// partition that cannot be read fails now.
func newMergeIter[K, V any](ctx context.Context, h *handle, parts []int32, reverse bool, read pageFunc[K, V]) (*mergeIter[K, V], error) {
	it := &mergeIter[K, V]{reverse: reverse}
	for _, p := range parts {
		pg := &pager[K, V]{h: h, ctx: ctx, part: p, read: read, page: iq.Page{Reverse: reverse, Limit: h.opts.pageSize}}
		if _, err := pg.fill(); err != nil {
			return nil, err
		}
		it.pagers = append(it.pagers, pg)
	}
	return it, nil
}

// Next implements state.Iterator.
func (it *mergeIter[K, V]) Next() bool {
	if it.closed {
		it.err = state.ErrIteratorClosed
		return false
	}
	if it.err != nil {
		return false
	}
	var best *pager[K, V]
	for _, pg := range it.pagers {
		ok, err := pg.fill()
		if err != nil {
			it.err = err
			return false
		}
		if !ok {
			continue
		}
		if best == nil {
			best = pg
			continue
		}
		c := bytes.Compare(pg.enc(), best.enc())
		if c < 0 && !it.reverse || c > 0 && it.reverse {
			best = pg
		}
	}
	if best == nil {
		return false
	}
	e := &best.buf[best.pos]
	it.key, it.value = e.key, e.value
	best.pos++
	return true
}

// Key implements state.Iterator.
func (it *mergeIter[K, V]) Key() K { return it.key }

// Value implements state.Iterator.
func (it *mergeIter[K, V]) Value() V { return it.value }

// Err implements state.Iterator.
func (it *mergeIter[K, V]) Err() error { return it.err }

// Close implements state.Iterator. An iterator holds nothing between pages,
// so closing only ends it.
func (it *mergeIter[K, V]) Close() error {
	if !it.closed {
		it.closed = true
		it.pagers = nil
	}
	return it.err
}

// startIter shows the windows of one key by their start.
type startIter[K, V any] struct {
	*mergeIter[window.Windowed[K], V]
}

// Key implements state.Iterator: the window's start.
func (it startIter[K, V]) Key() time.Time { return it.mergeIter.Key().Window.Start }
