package kv

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// ErrLocked is wrapped by the error OpenPebble and DestroyPebble return when
// the directory's lock is held: the database is open, in this process or
// another.
var ErrLocked = errors.New("kv: pebble directory is locked")

// DefaultMemTableSize is the memtable size OpenPebble uses when
// PebbleOptions.MemTableSize is 0: Pebble's own default. A DB holds at most
// two memtables (one being written, one being flushed), so its memtable
// memory is at most twice this; Pebble allocates the first memtable at
// 256 KiB and doubles up to the size, so a DB written slowly stays small.
const DefaultMemTableSize = 4 << 20

// bloomFilter is the filter of every level's tables: a bloom filter of 10
// bits per key (about 1% false positives), RocksDB's usual setting and the
// one Kafka Streams gives its stores. Pebble consults it in point lookups
// (Get), so that a key a table cannot hold costs no read of its blocks:
// aggregations over many keys look up mostly keys that are not there yet.
// Iterators do not use it.
var bloomFilter = bloom.FilterPolicy(10)

// exactCountLimit is how many keys ApproximateCount counts exactly before it
// extrapolates; see (*pebbleView).ApproximateCount.
const exactCountLimit = 10_000

// minSampleBytes is the least on-disk size of the sampled key range from which
// ApproximateCount extrapolates; below it, it counts exactly.
const minSampleBytes = 64 << 10

// PebbleOptions configures OpenPebble. The zero value is valid.
type PebbleOptions struct {
	// Cache is the block cache, normally one per Strata instance shared by
	// all its DBs (create it with pebble.NewCache; Open takes its own
	// reference, so the creator may Unref it once every DB is open). Nil
	// gives the DB a small private cache (8 MiB, Pebble's default).
	Cache *pebble.Cache
	// MemTableSize is the size of one memtable; 0 means
	// DefaultMemTableSize. A DB uses up to twice this. With one DB per
	// task, derive it from a per-instance budget: budget / (2 × DBs).
	MemTableSize uint64
	// FS is the file system; nil means vfs.Default (the OS). Tests pass
	// vfs.NewMem().
	FS vfs.FS
	// DisableWAL turns Pebble's write-ahead log off. Writes then reach disk
	// only when a memtable is flushed, and Flush becomes a memtable flush
	// (writing a new level-0 file each time) instead of a WAL fsync. The
	// WAL is on by default, unlike Kafka Streams' RocksDB: the changelog
	// topic remains the source of truth either way, but with the WAL a
	// commit-time Flush is a cheap fsync and crash recovery replays the WAL
	// instead of restoring from the changelog (see docs/state-layout.md for
	// the measured costs).
	DisableWAL bool
	// WriteBuffer, when above 0, buffers the writes of all the DB's
	// stores (Set, Delete, DeleteRange, Batch.Commit) in one indexed
	// Pebble batch of about this many bytes, which their reads go
	// through, so that they see every write. The buffer is committed to
	// Pebble, as one atomic write, when it is full, on Flush (before the
	// WAL sync or memtable flush) and on Close. Iterators are then reused
	// between commits instead of created for every Iter. Its size counts
	// memtable space, and is capped at a quarter of MemTableSize. 0, the
	// default, writes every operation through to Pebble; Strata's task
	// databases use DefaultWriteBuffer.
	//
	// A buffered DB, its stores and read-only stores included, must be
	// used by one goroutine at a time. A process crash loses the writes
	// not yet committed, as it can lose those not yet flushed: only Flush
	// makes writes durable either way.
	WriteBuffer int
	// OnClose, if set, is called once the DB is closed, by its first
	// Close.
	OnClose func()
}

// PebbleDB is one Pebble database holding many stores. Each store is a view
// of the keys under a prefix (Store). Without a write buffer
// (PebbleOptions.WriteBuffer), the DB is safe for concurrent use by the
// goroutines of its stores; each store is used by one goroutine at a time,
// and Close must not run concurrently with any store's use. With one, the
// whole DB is used by one goroutine at a time.
type PebbleDB struct {
	db          *pebble.DB
	dir         string
	lock        *pebble.Lock
	walDisabled bool
	closed      atomic.Bool
	buf         *writeBuffer // nil unless PebbleOptions.WriteBuffer > 0
	health      *health
	onClose     func()

	mu    sync.Mutex // guards views and the closed transition
	views map[*pebbleView]struct{}
}

// OpenPebble opens, creating if needed, the Pebble database in dir.
//
// A database is locked while open: opening a directory that is already open,
// in this process or another, fails with an error wrapping ErrLocked that
// names the directory.
//
// A database whose files cannot be trusted fails to open with an error
// wrapping ErrCorrupt: Pebble cannot open it (a MANIFEST or an sstable is
// missing, malformed or of the wrong size), its manifest marker is missing
// while its files remain (Pebble would silently start an empty database
// over them), or an sstable's footer, metaindex or properties block fails
// its checksum. Corruption in other blocks is found when they are read, and
// reported by the stores' operations and Corrupt.
func OpenPebble(dir string, opts PebbleOptions) (*PebbleDB, error) {
	fsys := opts.FS
	if fsys == nil {
		fsys = vfs.Default
	}
	if err := fsys.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("kv: open pebble %q: %w", dir, err)
	}
	lock, err := lockDir(dir, fsys)
	if err != nil {
		return nil, err
	}
	h := &health{dir: dir}
	if err := h.checkMarker(dir, fsys); err != nil {
		_ = lock.Close()
		return nil, err
	}
	memTable := opts.MemTableSize
	if memTable == 0 {
		memTable = DefaultMemTableSize
	}
	po := &pebble.Options{
		Cache:         opts.Cache,
		MemTableSize:  memTable,
		FS:            fsys,
		DisableWAL:    opts.DisableWAL,
		Logger:        quietLogger{},
		EventListener: eventListener(h),
		Lock:          lock,
	}
	for i := range po.Levels {
		po.Levels[i].FilterPolicy = bloomFilter
	}
	db, err := openPebble(dir, po, h)
	if err == nil {
		if err = h.validate(db); err != nil {
			err = errors.Join(err, db.Close())
		}
	}
	if err != nil {
		_ = lock.Close()
		return nil, err
	}
	d := &PebbleDB{
		db:          db,
		dir:         dir,
		lock:        lock,
		walDisabled: opts.DisableWAL,
		health:      h,
		onClose:     opts.OnClose,
		views:       make(map[*pebbleView]struct{}),
	}
	if opts.WriteBuffer > 0 {
		d.buf = newWriteBuffer(db, opts.WriteBuffer, memTable)
	}
	return d, nil
}

// openPebble is pebble.Open with its errors and panics classified (see
// health.openError).
func openPebble(dir string, o *pebble.Options, h *health) (db *pebble.DB, err error) {
	defer func() {
		if p := recover(); p != nil {
			db, err = nil, h.recovered(p)
		}
	}()
	db, err = pebble.Open(dir, o)
	if err != nil {
		return nil, h.openError(err)
	}
	return db, nil
}

// lockDir takes the Pebble lock of dir, classifying a held lock as ErrLocked.
func lockDir(dir string, fsys vfs.FS) (*pebble.Lock, error) {
	lock, err := pebble.LockDirectory(dir, fsys)
	if err == nil {
		return lock, nil
	}
	if isLockConflict(err) {
		return nil, fmt.Errorf("%w: %q is already open: %w", ErrLocked, dir, err)
	}
	return nil, fmt.Errorf("kv: lock pebble %q: %w", dir, err)
}

// isLockConflict reports whether err, from pebble.LockDirectory, means the
// lock is held rather than that the lock file could not be created.
func isLockConflict(err error) bool {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return false // creating the lock file failed
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		// fcntl(F_SETLK) on a lock held by another process; vfs.MemFS
		// mimics it.
		return errno == syscall.EAGAIN || errno == syscall.EACCES
	}
	// vfs.Default's own error for a lock held by this process.
	return strings.Contains(err.Error(), "lock held by current process")
}

// DestroyPebble removes the database directory dir and everything in it. A
// missing directory is not an error. It fails with an error wrapping
// ErrLocked, removing nothing, if the database is open. fsys nil means
// vfs.Default.
func DestroyPebble(dir string, fsys vfs.FS) error {
	if fsys == nil {
		fsys = vfs.Default
	}
	if _, err := fsys.Stat(dir); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("kv: destroy pebble %q: %w", dir, err)
	}
	lock, err := lockDir(dir, fsys)
	if err != nil {
		return err
	}
	// Remove while holding the lock, so that no one opens the DB midway.
	rmErr := fsys.RemoveAll(dir)
	closeErr := lock.Close()
	if rmErr != nil {
		return fmt.Errorf("kv: destroy pebble %q: %w", dir, rmErr)
	}
	if closeErr != nil && !errors.Is(closeErr, os.ErrNotExist) {
		return fmt.Errorf("kv: destroy pebble %q: %w", dir, closeErr)
	}
	return nil
}

// Dir is the directory the DB was opened in.
func (d *PebbleDB) Dir() string { return d.dir }

// Store returns a view of the keys under prefix: its keys are stored as
// prefix+key, iterators return them without the prefix, and iteration and
// DeleteRange never leave the prefix's range. Closing the view does not
// close the DB.
//
// The prefixes of a DB's stores must be prefix-free: no store's prefix may be
// a prefix of another's (else "a" would see the keys "b..." of "ab"). Store
// panics if prefix is, or has as a prefix, the prefix of a store open in
// this DB. The rule must also hold across time, which Store cannot check:
// keys written under a closed store's prefix stay in the DB. Fixed-length
// prefixes (e.g. a 4-byte store id) satisfy it by construction. The empty
// prefix is the whole DB and can only be the DB's one store.
//
// The DB keeps its metadata record (FlushMeta) under a reserved key, which
// starts with a zero byte and is shorter than 8 bytes: Store panics if a
// non-empty prefix would hold it, and only the empty prefix's store sees it.
//
// After the DB is closed, Store returns a closed store.
func (d *PebbleDB) Store(prefix []byte) Store {
	p := append([]byte{}, prefix...)
	v := &pebbleView{db: d, prefix: p, upper: prefixEnd(p)}
	if overlapsMeta(p) {
		panic(fmt.Sprintf("kv: store prefix %q of %s would hold the DB's reserved metadata key %q", p, d.dir, metaKey))
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed.Load() {
		v.closed.Store(true)
		return v
	}
	for o := range d.views {
		if bytes.HasPrefix(p, o.prefix) || bytes.HasPrefix(o.prefix, p) {
			panic(fmt.Sprintf("kv: store prefix %q overlaps the prefix %q of an open store of %s", p, o.prefix, d.dir))
		}
	}
	d.views[v] = struct{}{}
	return v
}

// Flush makes every write to the DB's stores durable: it commits the write
// buffer, if any, then fsyncs the WAL, or, with DisableWAL, flushes the
// memtables to sstables. It fails, wrapping ErrCorrupt, once the DB has
// found corruption (Corrupt).
func (d *PebbleDB) Flush() (err error) {
	if d.closed.Load() {
		return ErrClosed
	}
	if err := d.health.check(); err != nil {
		return err
	}
	defer func() {
		if p := recover(); p != nil {
			err = d.health.recovered(p)
		}
	}()
	if d.buf != nil {
		if err := d.buf.commit(); err != nil {
			return d.health.classify(err)
		}
	}
	if d.walDisabled {
		return d.health.classify(d.db.Flush())
	}
	return d.health.classify(d.db.LogData(nil, pebble.Sync))
}

// Pebble returns the underlying database, for metrics and maintenance
// (Compact, Metrics). Writes through it bypass the stores' prefixes and the
// write buffer, and reads through it do not see the buffer.
func (d *PebbleDB) Pebble() *pebble.DB { return d.db }

// Close closes the stores still open (joining their ErrIteratorLeak
// errors), commits the write buffer, flushes the memtables if the WAL is
// disabled (otherwise the WAL holds them), and closes the database. Closing
// twice is not an error.
func (d *PebbleDB) Close() error {
	d.mu.Lock()
	if d.closed.Load() {
		d.mu.Unlock()
		return nil
	}
	d.closed.Store(true)
	views := make([]*pebbleView, 0, len(d.views))
	for v := range d.views {
		views = append(views, v)
	}
	d.mu.Unlock()

	var errs []error
	for _, v := range views {
		errs = append(errs, v.Close())
	}
	if d.buf != nil {
		errs = append(errs, d.buf.close())
	}
	if d.walDisabled {
		errs = append(errs, d.db.Flush())
	}
	errs = append(errs, d.closePebble(), d.lock.Close())
	if d.onClose != nil {
		d.onClose()
	}
	return errors.Join(errs...)
}

// closePebble closes the Pebble DB. After a panic in Pebble was recovered
// (health.recovered), its state may be inconsistent enough for Close to
// panic too (a reference the panic left counted, say): that panic is
// recovered as well, and Close reports the DB's corruption.
func (d *PebbleDB) closePebble() (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = errors.Join(d.health.check(), fmt.Errorf("kv: close pebble %q: pebble panicked: %v", d.dir, p))
		}
	}()
	return d.db.Close()
}

func (d *PebbleDB) unregister(v *pebbleView) {
	d.mu.Lock()
	delete(d.views, v)
	d.mu.Unlock()
}

// prefixEnd is the least key greater than every key with prefix p, or nil if
// there is none (p empty or all 0xFF).
func prefixEnd(p []byte) []byte {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] != 0xFF {
			end := append([]byte{}, p[:i+1]...)
			end[i]++
			return end
		}
	}
	return nil
}

// pebbleView is a Store over the keys of a PebbleDB under a prefix.
type pebbleView struct {
	db     *PebbleDB
	prefix []byte
	upper  []byte // prefixEnd(prefix); nil means unbounded
	closed atomic.Bool
	iters  iterRegistry
	// scratch holds the prefixed key of a point operation; Pebble copies
	// keys it keeps, and the view is used by one goroutine at a time.
	scratch []byte
}

// key returns prefix+k in the view's scratch buffer.
func (v *pebbleView) key(k []byte) []byte {
	v.scratch = append(append(v.scratch[:0], v.prefix...), k...)
	return v.scratch
}

// bounds maps view bounds to DB bounds, clamped to the prefix's range. A nil
// lower stays nil only for the empty prefix; a nil upper is nil only when
// the prefix's range is unbounded above.
//
// An empty lower bound becomes nil (they are equivalent: the empty key is the
// least key), which also avoids a crash in Pebble's invariants-mode (race
// build) seek code on a non-nil empty key.
func (v *pebbleView) bounds(lower, upper []byte) (lo, hi []byte) {
	// One allocation for both.
	n := 0
	if len(lower) > 0 || len(v.prefix) > 0 {
		n += len(v.prefix) + len(lower)
	}
	if upper != nil {
		n += len(v.prefix) + len(upper)
	}
	_, lo, hi = v.appendBounds(make([]byte, 0, n), lower, upper)
	return lo, hi
}

// appendBounds is bounds building both bounds in buf, which it returns
// grown. Once buf is large enough, it does not allocate.
func (v *pebbleView) appendBounds(buf, lower, upper []byte) (_, lo, hi []byte) {
	if len(lower) > 0 || len(v.prefix) > 0 {
		buf = append(append(buf, v.prefix...), lower...)
		lo = buf[:len(buf):len(buf)]
	}
	if upper != nil {
		buf = append(append(buf, v.prefix...), upper...)
		hi = buf[len(lo):len(buf):len(buf)]
	} else {
		hi = v.upper
	}
	return buf, lo, hi
}

// check is the start of every operation: ErrClosed, or the DB's
// corruption.
func (v *pebbleView) check() error {
	if v.closed.Load() {
		return ErrClosed
	}
	return v.db.health.check()
}

func (v *pebbleView) Get(key []byte) (out []byte, ok bool, err error) {
	if err := v.check(); err != nil {
		return nil, false, err
	}
	h := v.db.health
	defer func() {
		if p := recover(); p != nil {
			out, ok, err = nil, false, h.recovered(p)
		}
	}()
	if b := v.db.buf; b != nil {
		out, ok, err = b.get(v, key)
	} else {
		out, ok, err = dbGet(v.db.db, v.key(key))
	}
	return out, ok, h.classify(err)
}

func (v *pebbleView) Set(key, value []byte) error {
	if err := v.check(); err != nil {
		return err
	}
	if b := v.db.buf; b != nil {
		if err := b.set(v.key(key), value); err != nil {
			return err
		}
		return v.db.health.classify(b.wrote())
	}
	return v.db.health.classify(v.db.db.Set(v.key(key), value, pebble.NoSync))
}

func (v *pebbleView) Delete(key []byte) error {
	if err := v.check(); err != nil {
		return err
	}
	if b := v.db.buf; b != nil {
		if err := b.del(v.key(key)); err != nil {
			return err
		}
		return v.db.health.classify(b.wrote())
	}
	return v.db.health.classify(v.db.db.Delete(v.key(key), pebble.NoSync))
}

func (v *pebbleView) DeleteRange(start, end []byte) error {
	if err := v.check(); err != nil {
		return err
	}
	lo, hi := v.bounds(start, end)
	if lo == nil {
		lo = []byte{}
	}
	if hi == nil {
		// The range is unbounded above (empty or all-0xFF prefix): end it
		// just after its last key.
		last, ok, err := v.lastKey(lo)
		if err != nil || !ok {
			return v.db.health.classify(err)
		}
		hi = append(last, 0)
	}
	if bytes.Compare(lo, hi) >= 0 {
		return nil
	}
	if b := v.db.buf; b != nil {
		if err := b.delRange(lo, hi); err != nil {
			return err
		}
		return v.db.health.classify(b.wrote())
	}
	return v.db.health.classify(v.db.db.DeleteRange(lo, hi, pebble.NoSync))
}

// newIter returns a Pebble iterator over the DB and its write buffer, for
// a use that ends before the next write.
func (d *PebbleDB) newIter(o *pebble.IterOptions) (*pebble.Iterator, error) {
	if d.buf != nil {
		return d.buf.batch().NewIter(o)
	}
	return d.db.NewIter(o)
}

// lastKey returns the greatest DB key >= lo, if any.
func (v *pebbleView) lastKey(lo []byte) ([]byte, bool, error) {
	if len(lo) == 0 {
		lo = nil
	}
	it, err := v.db.newIter(&pebble.IterOptions{LowerBound: lo})
	if err != nil {
		return nil, false, err
	}
	if !it.Last() {
		return nil, false, it.Close()
	}
	last := append([]byte{}, it.Key()...)
	return last, true, it.Close()
}

func (v *pebbleView) Iter(lower, upper []byte, reverse bool) Iterator {
	if err := v.check(); err != nil {
		return &errIter{err: err}
	}
	it := &pebbleIter{v: v, reverse: reverse, slotIdx: -1}
	if b := v.db.buf; b != nil {
		// The range is empty exactly when the view's is.
		if upper != nil && bytes.Compare(lower, upper) >= 0 {
			it.done = true
		} else if bi, err := b.iter(v, lower, upper); err != nil {
			it.err, it.done = v.db.health.classify(err), true
		} else {
			it.it, it.buf = bi.it, bi
		}
		v.iters.add(it)
		return it
	}
	lo, hi := v.bounds(lower, upper)
	if hi != nil && bytes.Compare(lo, hi) >= 0 {
		it.done = true
	} else {
		pit, err := v.db.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
		if err != nil {
			it.err, it.done = v.db.health.classify(err), true
		} else {
			it.it = pit
		}
	}
	v.iters.add(it)
	return it
}

func (v *pebbleView) NewBatch() Batch {
	if v.closed.Load() {
		return &pebbleBatch{v: v, done: true}
	}
	return &pebbleBatch{v: v, b: v.db.db.NewBatch()}
}

// ApproximateCount counts the view's keys exactly, by scanning, up to
// 10,000 keys. Beyond that it extrapolates from the on-disk size of the
// view's range: count ≈ 10,000 × size(range) / size(range of the first
// 10,000 keys), sizes from pebble's EstimateDiskUsage (sstables only, so
// keys still only in memtables and not-yet-compacted overwrites and
// tombstones skew it). When the sampled range has too little on-disk data
// to extrapolate from (under 64 KiB), it counts exactly.
func (v *pebbleView) ApproximateCount() (int64, error) {
	if err := v.check(); err != nil {
		return 0, err
	}
	n, err := v.approximateCount()
	return n, v.db.health.classify(err)
}

func (v *pebbleView) approximateCount() (int64, error) {
	lo, hi := v.bounds(nil, nil)
	it, err := v.db.newIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return 0, err
	}
	var n int64
	for ok := it.First(); ok; ok = it.Next() {
		n++
		if n == exactCountLimit {
			break
		}
	}
	if !it.Valid() {
		return n, it.Close()
	}
	sampleEnd := append([]byte{}, it.Key()...)
	if lo == nil {
		lo = []byte{}
	}
	last := hi
	if last == nil {
		var ok bool
		if last, ok, err = v.lastKey(lo); err != nil || !ok {
			return n, errors.Join(err, it.Close())
		}
	}
	total, err1 := v.db.db.EstimateDiskUsage(lo, last)
	part, err2 := v.db.db.EstimateDiskUsage(lo, sampleEnd)
	if err := errors.Join(err1, err2); err != nil {
		return n, errors.Join(err, it.Close())
	}
	if part >= minSampleBytes && total > part {
		return int64(float64(n) * float64(total) / float64(part)), it.Close()
	}
	for it.Next() {
		n++
	}
	return n, it.Close()
}

func (v *pebbleView) Flush() error {
	if v.closed.Load() {
		return ErrClosed
	}
	return v.db.Flush()
}

func (v *pebbleView) Close() error {
	if v.closed.Swap(true) {
		return nil
	}
	n := v.iters.closeAll()
	var err error
	if v.db.buf != nil {
		err = v.db.buf.unhook(v)
	}
	v.db.unregister(v)
	return errors.Join(err, leakError(fmt.Sprintf("pebble store %q of %s", v.prefix, v.db.dir), n))
}

// pebbleIter adapts a pebble.Iterator (which reads the point-in-time state of
// the DB at its creation) to Iterator, stripping the view's prefix.
type pebbleIter struct {
	v       *pebbleView
	it      *pebble.Iterator // nil for an empty range or after release
	buf     *bufIter         // it's holder, over a write buffer; else nil
	reverse bool
	started bool
	valid   bool // positioned on a key
	done    bool
	err     error
	state   iterState
	slotIdx int
}

func (it *pebbleIter) slot() *int { return &it.slotIdx }

func (it *pebbleIter) forceClose() {
	_ = it.release(false)
	it.state = iterClosedByStore
}

// release closes the Pebble iterator, or, with reuse set and a write
// buffer, gives it back to the buffer for reuse.
func (it *pebbleIter) release(reuse bool) error {
	it.valid = false
	if it.it == nil {
		return nil
	}
	var err error
	if it.buf != nil {
		err = it.v.db.buf.release(it.buf, reuse && it.err == nil)
		it.buf = nil
	} else {
		err = it.it.Close()
	}
	it.it = nil
	return err
}

func (it *pebbleIter) Next() (ok bool) {
	if it.state != iterOpen || it.done {
		it.valid = false
		return false
	}
	defer func() {
		if p := recover(); p != nil {
			it.err, it.valid, it.done, ok = it.v.db.health.recovered(p), false, true, false
		}
	}()
	switch {
	case !it.started && it.reverse:
		ok = it.it.Last()
	case !it.started:
		ok = it.it.First()
	case it.reverse:
		ok = it.it.Prev()
	default:
		ok = it.it.Next()
	}
	it.started = true
	if !ok {
		it.valid, it.done = false, true
		it.err = it.v.db.health.classify(it.it.Error())
		return false
	}
	it.valid = true
	return true
}

func (it *pebbleIter) Key() []byte {
	if it.state != iterOpen || !it.valid {
		return nil
	}
	return it.it.Key()[len(it.v.prefix):]
}

func (it *pebbleIter) Value() (val []byte) {
	if it.state != iterOpen || !it.valid {
		return nil
	}
	defer func() {
		if p := recover(); p != nil {
			it.err, it.valid, it.done, val = it.v.db.health.recovered(p), false, true, nil
		}
	}()
	val, err := it.it.ValueAndErr()
	if err != nil {
		it.err, it.valid, it.done = it.v.db.health.classify(err), false, true
		return nil
	}
	if len(val) == 0 {
		return emptyValue
	}
	return val
}

func (it *pebbleIter) Err() error {
	if it.err != nil {
		return it.err
	}
	if it.state != iterOpen {
		return ErrClosed
	}
	return nil
}

func (it *pebbleIter) Close() error {
	return closeIter(&it.state, func() error {
		it.v.iters.remove(it)
		err := it.release(true)
		if it.err != nil {
			return it.err
		}
		return err
	})
}

// pebbleBatch is a pebble.Batch whose keys get the view's prefix.
type pebbleBatch struct {
	v    *pebbleView
	b    *pebble.Batch
	done bool // committed, or created on a closed store
}

func (b *pebbleBatch) Set(key, value []byte) error {
	if b.done {
		return ErrClosed
	}
	p := b.v.prefix
	op := b.b.SetDeferred(len(p)+len(key), len(value))
	copy(op.Key[copy(op.Key, p):], key)
	copy(op.Value, value)
	return op.Finish()
}

func (b *pebbleBatch) Delete(key []byte) error {
	if b.done {
		return ErrClosed
	}
	p := b.v.prefix
	op := b.b.DeleteDeferred(len(p) + len(key))
	copy(op.Key[copy(op.Key, p):], key)
	return op.Finish()
}

func (b *pebbleBatch) Len() int {
	if b.b == nil {
		return 0
	}
	return int(b.b.Count())
}

func (b *pebbleBatch) Commit() error {
	if b.done {
		return ErrClosed
	}
	b.done = true
	pb := b.b
	b.b = nil
	if err := b.v.check(); err != nil {
		_ = pb.Close()
		return err
	}
	if buf := b.v.db.buf; buf != nil {
		err := errors.Join(buf.apply(pb), pb.Close())
		if err != nil {
			return err
		}
		return b.v.db.health.classify(buf.wrote())
	}
	err := b.v.db.db.Apply(pb, pebble.NoSync)
	return b.v.db.health.classify(errors.Join(err, pb.Close()))
}
