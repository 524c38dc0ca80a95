package kv

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// DefaultWriteBuffer is the write buffer Strata's task databases use (see
// PebbleOptions.WriteBuffer): large enough that one commit through Pebble's
// commit pipeline serves thousands of small writes, small enough to stay a
// fraction of a memtable.
const DefaultWriteBuffer = 1 << 20

// entryOverhead approximates, per entry, what a batch's entries take in a
// memtable beyond their bytes in the batch (a skiplist node: links for up
// to 20 levels, offsets, the sequence number). The buffer counts it so that
// its size bounds the memtable space its commit takes.
const entryOverhead = 200

// maxFreeIters is how many closed iterators a write buffer keeps for reuse.
// Window fetches open one or two at a time.
const maxFreeIters = 4

// writeBuffer collects the writes of all the views of a PebbleDB in one
// indexed Pebble batch, which reads go through, and commits it to the
// database as one atomic write when it is full and on Flush and Close. It
// is not safe for concurrent use: see PebbleOptions.WriteBuffer.
//
// Iterators read the batch and the database (pebble.Batch.NewIter). An
// iterator keeps reading the batch it was created on after that batch is
// committed, so a committed batch is closed only once the last iterator on
// it is closed. Closed iterators on the current batch are kept for reuse:
// SetOptions gives such an iterator new bounds and refreshes its view of the
// batch, and since the database changes only when the buffer commits, it
// then reads exactly what a new iterator would. A commit closes them.
type writeBuffer struct {
	db    *pebble.DB
	limit int
	cur   *bufBatch
	free  []*bufIter
	opts  pebble.IterOptions // scratch for NewIter and SetOptions
	hooks []commitHook
	// index locates the writes of cur for point reads (get).
	index bufIndex
	// point is an iterator over the database, without the batch, for
	// point reads of keys the batch does not hold; nil until the first
	// such read after a commit. It stays valid until the next commit, the
	// only time the database changes.
	point *pebble.Iterator
	// misses tracks whether the database's point reads mostly find
	// their key: up one for a miss, down one for a hit, within
	// [0, 2*missesHalf]. Above missesHalf they go through point.
	misses int
}

// missesHalf is the midpoint of writeBuffer.misses.
const missesHalf = 32

// commitHook is a view's function to run before each commit (OnCommit),
// with the function it writes through.
type commitHook struct {
	v   *pebbleView
	fn  func(set func(key, value []byte) error) error
	set func(key, value []byte) error
}

// CommitHooks is implemented by the stores of Pebble DBs: a store of a DB
// with a write buffer (PebbleOptions.WriteBuffer) can have a function run
// just before each commit of the buffer, to add writes to that commit.
type CommitHooks interface {
	// OnCommit sets fn, replacing any earlier one, to run before each
	// commit of the DB's write buffer and when the store is closed, and
	// reports whether it will: false when the DB has no write buffer (or
	// the store is closed). What fn writes with set, a key and value of
	// the store, goes into that commit; set copies both.
	OnCommit(fn func(set func(key, value []byte) error) error) bool
}

// OnCommit implements CommitHooks.
func (v *pebbleView) OnCommit(fn func(set func(key, value []byte) error) error) bool {
	w := v.db.buf
	if w == nil || v.closed.Load() {
		return false
	}
	for i := range w.hooks {
		if w.hooks[i].v == v {
			w.hooks[i].fn = fn
			return true
		}
	}
	w.hooks = append(w.hooks, commitHook{v: v, fn: fn, set: func(key, value []byte) error {
		return w.set(v.key(key), value)
	}})
	return true
}

// OnCommit of a read-only store sets nothing: it does not write.
func (readOnlyView) OnCommit(func(set func(key, value []byte) error) error) bool { return false }

// unhook runs v's commit hook, if it has one, a last time and removes it.
func (w *writeBuffer) unhook(v *pebbleView) error {
	for i := range w.hooks {
		if h := w.hooks[i]; h.v == v {
			w.hooks = append(w.hooks[:i], w.hooks[i+1:]...)
			return h.fn(h.set)
		}
	}
	return nil
}

// bufBatch is one batch of a write buffer.
type bufBatch struct {
	b *pebble.Batch
	// readers counts the iterators, open or kept for reuse, reading b.
	readers   int
	committed bool
}

// bufIter is a Pebble iterator over a write buffer's batch, reusable while
// that batch is the buffer's current one.
type bufIter struct {
	it *pebble.Iterator
	bb *bufBatch
	// bounds holds two sets of bounds, used in turn: Pebble keeps
	// comparing with the previous bounds until SetOptions replaces them.
	bounds [2][]byte
	turn   int
}

func newWriteBuffer(db *pebble.DB, size int, memTable uint64) *writeBuffer {
	// A batch of half a memtable or more would be committed as a
	// "large batch", which Pebble keeps as a memtable of its own and
	// whose data it releases at once, under the iterators still reading
	// it. A quarter stays clear of that.
	limit := min(uint64(size), memTable/4)
	return &writeBuffer{db: db, limit: int(limit), cur: &bufBatch{b: db.NewIndexedBatch()}, index: newBufIndex()}
}

// batch is the batch that reads go through. Writes go through set, del,
// delRange and apply, which index them.
func (w *writeBuffer) batch() *pebble.Batch { return w.cur.b }

// set writes key (a DB key) to the batch.
func (w *writeBuffer) set(key, value []byte) error {
	off := w.cur.b.Len()
	if err := w.cur.b.Set(key, value, nil); err != nil {
		return err
	}
	w.index.wrote(pebble.InternalKeyKindSet, key, off)
	return nil
}

// del writes a deletion of key (a DB key) to the batch.
func (w *writeBuffer) del(key []byte) error {
	off := w.cur.b.Len()
	if err := w.cur.b.Delete(key, nil); err != nil {
		return err
	}
	w.index.wrote(pebble.InternalKeyKindDelete, key, off)
	return nil
}

// delRange writes a deletion of the DB keys in [lo, hi) to the batch.
func (w *writeBuffer) delRange(lo, hi []byte) error {
	off := w.cur.b.Len()
	if err := w.cur.b.DeleteRange(lo, hi, nil); err != nil {
		return err
	}
	w.index.wrote(pebble.InternalKeyKindRangeDelete, lo, off)
	return nil
}

// apply appends the writes of pb to the batch.
func (w *writeBuffer) apply(pb *pebble.Batch) error {
	from := w.cur.b.Len()
	if err := w.cur.b.Apply(pb, nil); err != nil {
		return err
	}
	w.index.appended(w.cur.b.Repr(), from)
	return nil
}

// wrote commits the buffer if the last write filled it.
func (w *writeBuffer) wrote() error {
	b := w.cur.b
	if b.Len()+int(b.Count())*entryOverhead < w.limit {
		return nil
	}
	return w.commit()
}

// commit applies the buffered writes to the database and starts a new
// batch. Iterators kept for reuse are closed: they read the database as
// it was before the commit.
func (w *writeBuffer) commit() error {
	var errs []error
	for _, h := range w.hooks {
		if err := h.fn(h.set); err != nil {
			errs = append(errs, err)
		}
	}
	old := w.cur
	if old.b.Empty() {
		return errors.Join(errs...)
	}
	for _, p := range w.free {
		errs = append(errs, p.it.Close())
		old.readers--
	}
	clear(w.free)
	w.free = w.free[:0]
	if err := w.db.Apply(old.b, pebble.NoSync); err != nil {
		errs = append(errs, fmt.Errorf("kv: commit write buffer: %w", err))
	}
	old.committed = true
	if old.readers == 0 {
		errs = append(errs, old.b.Close())
	}
	w.cur = &bufBatch{b: w.db.NewIndexedBatch()}
	w.index.reset()
	errs = append(errs, w.closePoint())
	return errors.Join(errs...)
}

// closePoint closes the point-read iterator, if any.
func (w *writeBuffer) closePoint() error {
	if w.point == nil {
		return nil
	}
	err := w.point.Close()
	w.point = nil
	return err
}

// iter returns an iterator over [lo, hi) of the database and the buffer,
// reusing a closed one if it can. The bounds are those of view.bounds, built
// in the iterator's own storage.
func (w *writeBuffer) iter(v *pebbleView, lower, upper []byte) (*bufIter, error) {
	var p *bufIter
	if n := len(w.free); n > 0 {
		p = w.free[n-1]
		w.free[n-1] = nil
		w.free = w.free[:n-1]
	} else {
		p = &bufIter{bb: w.cur}
	}
	var lo, hi []byte
	p.bounds[p.turn], lo, hi = v.appendBounds(p.bounds[p.turn][:0], lower, upper)
	p.turn ^= 1
	w.opts = pebble.IterOptions{LowerBound: lo, UpperBound: hi}
	if p.it != nil {
		p.it.SetOptions(&w.opts)
		return p, nil
	}
	it, err := w.cur.b.NewIter(&w.opts)
	if err != nil {
		return nil, err
	}
	p.it = it
	w.cur.readers++
	return p, nil
}

// get reads key of v: from the batch, if the batch has written the key
// since the last commit, else from the database with Pebble's point lookup
// (which uses bloom filters). When the batch's index cannot tell
// (bufUnknown), it reads through a reused iterator over the batch and the
// database, bounded to the key (a batch's own Get would allocate two
// iterators over the batch each time).
func (w *writeBuffer) get(v *pebbleView, key []byte) ([]byte, bool, error) {
	full := v.key(key)
	if b := w.cur.b; !b.Empty() {
		val, st := w.index.lookup(b.Repr(), full)
		switch st {
		case bufSet:
			return append(make([]byte, 0, len(val)), val...), true, nil
		case bufDeleted:
			return nil, false, nil
		case bufUnknown:
			return w.iterGet(v, key)
		}
	}
	var val []byte
	var ok bool
	var err error
	if w.misses > missesHalf {
		val, ok, err = w.pointGet(full)
	} else {
		val, ok, err = dbGet(w.db, full)
	}
	if ok {
		w.misses = max(w.misses-1, 0)
	} else {
		w.misses = min(w.misses+1, 2*missesHalf)
	}
	return val, ok, err
}

// A key the batch does not hold is read from the database in one of two
// ways, whichever suits the reads of late. Pebble's DB.Get stops at the
// first level that has the key (a memtable, often, for a key written
// lately), and consults the bloom filters of the levels it passes, except
// the last's (IterOptions.UseL6Filters), where most of the data lives: a
// key that is not there costs a read of the last level's index and data
// blocks. When most reads miss, as in an aggregation over many keys, each
// seen for the first time, pointGet consults every level's filter instead,
// and a key that is not there costs no block read.

// pointGet reads key from the database, without the batch, seeking the
// point-read iterator to it by prefix (the whole key, with Pebble's default
// comparer), with every level's bloom filter.
func (w *writeBuffer) pointGet(key []byte) ([]byte, bool, error) {
	if w.point == nil {
		it, err := w.db.NewIter(&pebble.IterOptions{UseL6Filters: true})
		if err != nil {
			return nil, false, err
		}
		w.point = it
	}
	if !w.point.SeekPrefixGE(key) || !bytes.Equal(w.point.Key(), key) {
		return nil, false, w.pointFailed(w.point.Error())
	}
	val, err := w.point.ValueAndErr()
	if err != nil {
		return nil, false, w.pointFailed(err)
	}
	return append(make([]byte, 0, len(val)), val...), true, nil
}

// pointFailed returns err, and if it is not nil drops the point-read
// iterator: an iterator that failed keeps its error, which its Close would
// report again.
func (w *writeBuffer) pointFailed(err error) error {
	if err != nil {
		_ = w.point.Close()
		w.point = nil
	}
	return err
}

// dbGet reads key from db, returning a copy of its value.
func dbGet(db *pebble.DB, key []byte) ([]byte, bool, error) {
	val, closer, err := db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	out := append(make([]byte, 0, len(val)), val...)
	return out, true, closer.Close()
}

// iterGet reads key of v through the buffer and the database with a reused
// iterator bounded to the key.
func (w *writeBuffer) iterGet(v *pebbleView, key []byte) ([]byte, bool, error) {
	v.scratch = append(append(v.scratch[:0], key...), 0)
	p, err := w.iter(v, v.scratch[:len(key)], v.scratch)
	if err != nil {
		return nil, false, err
	}
	var out []byte
	ok := p.it.First()
	if !ok {
		if err := p.it.Error(); err != nil {
			return nil, false, errors.Join(err, w.release(p, false))
		}
	} else {
		val, err := p.it.ValueAndErr()
		if err != nil {
			return nil, false, errors.Join(err, w.release(p, false))
		}
		out = append(make([]byte, 0, len(val)), val...)
	}
	return out, ok, w.release(p, true)
}

// release takes back an iterator its user closed: it is kept for reuse if
// it reads the current batch, else closed. keep false closes it anyway.
func (w *writeBuffer) release(p *bufIter, keep bool) error {
	if keep && p.bb == w.cur && len(w.free) < maxFreeIters {
		w.free = append(w.free, p)
		return nil
	}
	err := p.it.Close()
	p.it = nil
	bb := p.bb
	bb.readers--
	if bb.committed && bb.readers == 0 {
		err = errors.Join(err, bb.b.Close())
	}
	return err
}

// close commits the buffer and releases it. The views' iterators must be
// closed already.
func (w *writeBuffer) close() error {
	err := errors.Join(w.commit(), w.closePoint())
	for _, p := range w.free {
		err = errors.Join(err, p.it.Close())
		w.cur.readers--
	}
	w.free = nil
	return errors.Join(err, w.cur.b.Close())
}
