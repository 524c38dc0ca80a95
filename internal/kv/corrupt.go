package kv

import (
	"errors"
	"fmt"
	"log"
	"os"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// ErrCorrupt is wrapped by the errors of a Pebble database whose files
// cannot be trusted: OpenPebble could not open it (a MANIFEST that is
// missing or malformed, an sstable missing or of the wrong size, the
// manifest marker gone while the database's files remain), or Pebble found
// corruption (a checksum mismatch) while reading it, or panicked. Once a
// DB has reported it, every operation of the DB and its stores returns it
// (see PebbleDB.Corrupt): the way out is to close the DB, destroy it and
// rebuild its data.
var ErrCorrupt = errors.New("kv: corrupt pebble database")

// health records the first corruption a DB reported. It exists before the
// DB does: Pebble's event listener, set up at open, reports to it.
type health struct {
	dir string
	err atomic.Pointer[error]
}

// fail records err, the first time, as the DB's corruption and returns it
// wrapped in ErrCorrupt. It does not log: the DB's owner learns of it from
// the next operation and decides (Strata logs the rebuild it causes).
func (h *health) fail(err error) error {
	wrapped := fmt.Errorf("%w: %q: %w", ErrCorrupt, h.dir, err)
	if h.err.CompareAndSwap(nil, &wrapped) {
		return wrapped
	}
	return *h.err.Load()
}

// check returns the recorded corruption, or nil. It is one atomic load: the
// stores call it on every operation.
func (h *health) check() error {
	if p := h.err.Load(); p != nil {
		return *p
	}
	return nil
}

// classify returns err, or, when err is Pebble's corruption error, the
// DB's corruption wrapping it.
func (h *health) classify(err error) error {
	if err != nil && pebble.IsCorruptionError(err) {
		return h.fail(err)
	}
	return err
}

// recovered turns a panic caught at a call into Pebble into the DB's
// corruption: Pebble panics (and calls Logger.Fatalf, which panics) on
// states it cannot continue from.
func (h *health) recovered(p any) error {
	return h.fail(fmt.Errorf("pebble panicked: %v", p))
}

// eventListener reports Pebble's corruption events to h instead of
// Pebble's default, which calls Logger.Fatalf.
//
// Where a garbled sstable reaches Fatalf: Pebble reports every checksum
// mismatch it reads to EventListener.DataCorruption, whose default calls
// Logger.Fatalf, which must not return, so it ends the process (ours
// panicked). It does so on whatever goroutine read the block: ours, in a
// Get or an iterator, where a panic could be recovered, but also Pebble's
// own, where nothing can catch it: right after open the table-stats
// collector reads every sstable's properties block in the background
// (TestPebbleGarbledSSTable reproduces both), and compactions read data
// blocks. So the listener does not call Fatalf: Pebble then returns the
// corruption as an error to the reader, which is us (the error wraps
// ErrCorrupt) or a background job (which fails and is reported to
// BackgroundError; the table-stats collector retries). Either way the DB
// records the corruption, and its stores return it from their next
// operation, so that the owner learns of it before it trusts the DB again
// (a checkpoint is written only after a successful Flush). OpenPebble also
// reads every sstable's properties itself (validate) so that those blocks
// fail the open rather than a background job.
//
// Logger.Fatalf still panics (Pebble requires that it not return): the
// calls left are Pebble's own invariant checks and failures to write the
// MANIFEST or WAL, after which Pebble's state is undefined. On our
// goroutine, in the calls that read (open, Get, iterators) and in Flush,
// the panic is recovered and becomes ErrCorrupt; on a background goroutine
// it ends the process, as Pebble's default logger would. Blocking or
// ending that goroutine instead would leave the DB's locks and compaction
// state held, hanging every later write and Close.
func eventListener(h *health) *pebble.EventListener {
	return &pebble.EventListener{
		DataCorruption: func(info pebble.DataCorruptionInfo) {
			h.fail(fmt.Errorf("on-disk corruption in %s: %v", info.Path, info.Details))
		},
		BackgroundError: func(err error) {
			if pebble.IsCorruptionError(err) {
				h.fail(err)
				return
			}
			quietLogger{}.Errorf("background error: %v", err)
		},
	}
}

// quietLogger drops Pebble's informational messages ("Found 0 WALs", ...),
// keeps its errors on the standard logger, and panics on fatal ones (see
// eventListener for where they can still come from).
type quietLogger struct{}

func (quietLogger) Infof(string, ...any) {}

func (quietLogger) Errorf(format string, args ...any) {
	log.Printf("pebble: "+format, args...)
}

func (quietLogger) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf("pebble: "+format, args...))
}

// openError classifies an error of pebble.Open: the database's files
// cannot be trusted (ErrCorrupt), unless the error is the system's refusal
// or exhaustion (permissions, open files, memory), which a wipe would not
// cure.
func (h *health) openError(err error) error {
	for _, errno := range []syscall.Errno{syscall.EACCES, syscall.EPERM, syscall.EMFILE, syscall.ENFILE, syscall.ENOMEM, syscall.EROFS} {
		if errors.Is(err, errno) {
			return fmt.Errorf("kv: open pebble %q: %w", h.dir, err)
		}
	}
	return h.fail(fmt.Errorf("open: %w", err))
}

// checkMarker fails when dir holds a Pebble database's files but not its
// manifest marker, which names the current MANIFEST. Without it Pebble
// would create a new, empty database over the old files, and replay the
// old write-ahead logs into it: a database missing whatever had been
// flushed, which nothing would tell from the real one.
func (h *health) checkMarker(dir string, fsys vfs.FS) error {
	names, err := fsys.List(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("kv: open pebble %q: %w", dir, err)
	}
	var found string
	for _, name := range names {
		switch {
		case strings.HasPrefix(name, "marker.manifest."):
			return nil
		case strings.HasPrefix(name, "MANIFEST-"), strings.HasSuffix(name, ".sst"), strings.HasSuffix(name, ".log"), strings.HasSuffix(name, ".blob"):
			found = name
		}
	}
	if found != "" {
		return h.fail(fmt.Errorf("the manifest marker is missing, but the database's files remain (%s)", found))
	}
	return nil
}

// validate reads what Pebble's background jobs read first after an open:
// every sstable's footer, metaindex and properties blocks (see
// eventListener), and fails if any is corrupt or a background job already
// found corruption.
// Pebble reads them at open anyway, for its table statistics; reading them
// here, through the same file cache, costs a little time earlier and no
// extra I/O.
func (h *health) validate(db *pebble.DB) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = h.recovered(p)
		}
	}()
	if _, err := db.SSTables(pebble.WithProperties()); err != nil {
		return h.fail(fmt.Errorf("read sstable properties: %w", err))
	}
	return h.check()
}
