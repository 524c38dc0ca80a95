package kv

import (
	"bytes"
	"encoding/binary"

	"github.com/google/btree"
)

// memDegree is the B-tree degree: nodes hold up to 2*memDegree-1 items.
const memDegree = 32

// memIterChunk is how many items a memory iterator copies out of the tree per
// refill. Larger chunks amortise the O(log n) seek; smaller ones waste less
// when an iteration stops early.
const memIterChunk = 64

// memItem is a key and its value. head caches the key's first 8 bytes,
// big-endian and zero-padded: head(a) < head(b) implies a < b, so most
// comparisons are decided without following the key pointers (a cache miss
// each in a large tree).
type memItem struct {
	head       uint64
	key, value []byte
}

func keyHead(k []byte) uint64 {
	if len(k) >= 8 {
		return binary.BigEndian.Uint64(k)
	}
	var h uint64
	for i, c := range k {
		h |= uint64(c) << (56 - 8*i)
	}
	return h
}

// probe is the item to search the tree for key.
func probe(key []byte) memItem { return memItem{head: keyHead(key), key: key} }

func memLess(a, b memItem) bool {
	if a.head != b.head {
		return a.head < b.head
	}
	return bytes.Compare(a.key, b.key) < 0
}

// memStore is the in-memory engine: a B-tree of copied keys and values.
//
// Iterators read the tree they were created on. A write made while an
// iterator of the current tree is open first clones the tree (btree.Clone is
// O(1) and copy-on-write: the store's later writes copy the nodes they touch,
// the iterators' tree is never modified), so iterators see a snapshot, as
// Pebble's do. A write with no iterator open pays nothing for this.
type memStore struct {
	tree *btree.BTreeG[memItem]
	// shared reports that an iterator was created on tree since it was
	// last cloned.
	shared bool
	closed bool
	iters  iterRegistry
}

// NewMemory returns an empty in-memory Store ordered by bytes.Compare.
//
// It has the same semantics as the Pebble stores (both pass kvtest): keys
// and values are copied in and out, an empty value is present, iterators
// see a snapshot taken when they are created, and ApproximateCount is exact.
// Like every Store it is used by one goroutine at a time.
func NewMemory() Store {
	return &memStore{tree: btree.NewG(memDegree, memLess)}
}

// beforeWrite makes the tree private to the store before a write if an open
// iterator may be reading it.
func (s *memStore) beforeWrite() {
	if !s.shared {
		return
	}
	s.shared = false
	if len(s.iters.open) > 0 {
		s.tree = s.tree.Clone()
	}
}

func (s *memStore) Get(key []byte) ([]byte, bool, error) {
	if s.closed {
		return nil, false, ErrClosed
	}
	it, ok := s.tree.Get(probe(key))
	if !ok {
		return nil, false, nil
	}
	return append(make([]byte, 0, len(it.value)), it.value...), true, nil
}

func (s *memStore) Set(key, value []byte) error {
	if s.closed {
		return ErrClosed
	}
	s.beforeWrite()
	s.tree.ReplaceOrInsert(newMemItem(key, value))
	return nil
}

// newMemItem copies key and value into one allocation.
func newMemItem(key, value []byte) memItem {
	buf := make([]byte, len(key)+len(value))
	n := copy(buf, key)
	copy(buf[n:], value)
	return memItem{head: keyHead(key), key: buf[:n:n], value: buf[n:]}
}

func (s *memStore) Delete(key []byte) error {
	if s.closed {
		return ErrClosed
	}
	s.beforeWrite()
	s.tree.Delete(probe(key))
	return nil
}

func (s *memStore) DeleteRange(start, end []byte) error {
	if s.closed {
		return ErrClosed
	}
	if start != nil && end != nil && bytes.Compare(start, end) >= 0 {
		return nil
	}
	s.beforeWrite()
	if start == nil && end == nil {
		s.tree = btree.NewG(memDegree, memLess)
		return nil
	}
	var doomed []memItem
	collect := func(it memItem) bool {
		doomed = append(doomed, it)
		return true
	}
	switch {
	case start == nil:
		s.tree.AscendLessThan(probe(end), collect)
	case end == nil:
		s.tree.AscendGreaterOrEqual(probe(start), collect)
	default:
		s.tree.AscendRange(probe(start), probe(end), collect)
	}
	for _, it := range doomed {
		s.tree.Delete(it)
	}
	return nil
}

func (s *memStore) Iter(lower, upper []byte, reverse bool) Iterator {
	if s.closed {
		return &errIter{err: ErrClosed}
	}
	it := &memIter{
		s:       s,
		tree:    s.tree,
		reverse: reverse,
		slotIdx: -1,
	}
	// Copy the bounds: the caller may reuse them.
	if lower != nil {
		it.lower = append([]byte{}, lower...)
	}
	if upper != nil {
		it.upper = append([]byte{}, upper...)
	}
	if lower != nil && upper != nil && bytes.Compare(lower, upper) >= 0 {
		it.done = true
	}
	s.shared = true
	s.iters.add(it)
	return it
}

func (s *memStore) NewBatch() Batch {
	return &memBatch{s: s, done: s.closed}
}

func (s *memStore) ApproximateCount() (int64, error) {
	if s.closed {
		return 0, ErrClosed
	}
	return int64(s.tree.Len()), nil
}

func (s *memStore) Flush() error {
	if s.closed {
		return ErrClosed
	}
	return nil
}

func (s *memStore) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	s.tree = nil
	return leakError("memory store", s.iters.closeAll())
}

// memIter walks a tree in chunks: each refill copies up to memIterChunk items
// following the last one returned, so the tree's callback-style traversal
// becomes a pull iterator. The tree is never written while the iterator
// holds it (see memStore), so resuming after the last key is consistent.
type memIter struct {
	s            *memStore
	tree         *btree.BTreeG[memItem]
	lower, upper []byte
	reverse      bool

	buf     []memItem // current chunk
	pos     int       // index of the current item in buf
	started bool
	done    bool // no items after buf
	last    []byte

	key, value []byte // copies of the current item, reused
	state      iterState
	err        error
	slotIdx    int
}

func (it *memIter) slot() *int { return &it.slotIdx }

func (it *memIter) forceClose() {
	it.release()
	it.state = iterClosedByStore
}

func (it *memIter) release() {
	it.tree, it.buf, it.key, it.value = nil, nil, nil, nil
}

func (it *memIter) Next() bool {
	if it.state != iterOpen {
		return false
	}
	if it.pos+1 < len(it.buf) {
		it.pos++
	} else {
		if it.done {
			it.buf, it.pos = it.buf[:0], 0
			it.key, it.value = it.key[:0], it.value[:0]
			return false
		}
		it.refill()
		if len(it.buf) == 0 {
			it.key, it.value = it.key[:0], it.value[:0]
			return false
		}
		it.pos = 0
	}
	cur := it.buf[it.pos]
	// Copy into buffers owned by the iterator and reused on Next, so that
	// a caller holding Key or Value past Next sees them change, as with
	// Pebble, and cannot modify the tree through them.
	it.key = append(it.key[:0], cur.key...)
	it.value = append(it.value[:0], cur.value...)
	return true
}

// refill loads the next chunk into buf and sets done when the range is
// exhausted.
func (it *memIter) refill() {
	it.buf = it.buf[:0]
	first := !it.started
	it.started = true
	var resume []byte
	if !first {
		resume = it.last
	}
	visit := func(m memItem) bool {
		if resume != nil && bytes.Equal(m.key, resume) {
			return true // the last item of the previous chunk
		}
		if it.reverse {
			if it.lower != nil && bytes.Compare(m.key, it.lower) < 0 {
				it.done = true
				return false
			}
		} else if it.upper != nil && bytes.Compare(m.key, it.upper) >= 0 {
			it.done = true
			return false
		}
		if it.reverse && first && it.upper != nil && bytes.Compare(m.key, it.upper) >= 0 {
			return true // DescendLessOrEqual includes upper itself
		}
		it.buf = append(it.buf, m)
		return len(it.buf) < memIterChunk
	}
	complete := true // set to false by a stop for a full chunk
	wrapped := func(m memItem) bool {
		more := visit(m)
		if !more && !it.done {
			complete = false
		}
		return more
	}
	switch {
	case !it.reverse && !first:
		it.tree.AscendGreaterOrEqual(probe(resume), wrapped)
	case !it.reverse && it.lower != nil:
		it.tree.AscendGreaterOrEqual(probe(it.lower), wrapped)
	case !it.reverse:
		it.tree.Ascend(wrapped)
	case !first:
		it.tree.DescendLessOrEqual(probe(resume), wrapped)
	case it.upper != nil:
		it.tree.DescendLessOrEqual(probe(it.upper), wrapped)
	default:
		it.tree.Descend(wrapped)
	}
	if complete {
		it.done = true
	}
	if n := len(it.buf); n > 0 {
		it.last = it.buf[n-1].key // tree keys are immutable
	}
}

func (it *memIter) Key() []byte {
	if it.state != iterOpen || len(it.buf) == 0 {
		return nil
	}
	if it.key == nil {
		return emptyValue // the empty key
	}
	return it.key
}

func (it *memIter) Value() []byte {
	if it.state != iterOpen || len(it.buf) == 0 {
		return nil
	}
	if len(it.value) == 0 {
		return emptyValue
	}
	return it.value
}

func (it *memIter) Err() error {
	if it.err != nil {
		return it.err
	}
	if it.state != iterOpen {
		return ErrClosed
	}
	return nil
}

func (it *memIter) Close() error {
	return closeIter(&it.state, func() error {
		it.s.iters.remove(it)
		it.release()
		return it.err
	})
}

type memOp struct {
	item memItem
	del  bool
}

// memBatch buffers copies of its writes and applies them in order on Commit.
type memBatch struct {
	s    *memStore
	ops  []memOp
	done bool // committed, or created on a closed store
}

func (b *memBatch) Set(key, value []byte) error {
	if b.done {
		return ErrClosed
	}
	b.ops = append(b.ops, memOp{item: newMemItem(key, value)})
	return nil
}

func (b *memBatch) Delete(key []byte) error {
	if b.done {
		return ErrClosed
	}
	b.ops = append(b.ops, memOp{item: probe(append([]byte{}, key...)), del: true})
	return nil
}

func (b *memBatch) Len() int { return len(b.ops) }

func (b *memBatch) Commit() error {
	if b.done {
		return ErrClosed
	}
	b.done = true
	ops := b.ops
	b.ops = nil
	if b.s.closed {
		return ErrClosed
	}
	b.s.beforeWrite()
	for _, op := range ops {
		if op.del {
			b.s.tree.Delete(op.item)
		} else {
			b.s.tree.ReplaceOrInsert(op.item)
		}
	}
	return nil
}
