package kv

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/cockroachdb/pebble/v2"
)

// TestCorruptClassification checks which errors make a DB corrupt: Pebble's
// corruption errors, wrapped or not, and panics; not other errors. The first
// corruption sticks: later ones report it.
func TestCorruptClassification(t *testing.T) {
	h := &health{dir: "db"}
	if err := h.classify(nil); err != nil {
		t.Fatalf("classify(nil) = %v", err)
	}
	plain := errors.New("disk on fire")
	if err := h.classify(plain); err != plain || h.check() != nil {
		t.Fatalf("classify(plain) = %v, check %v; want the error itself, no corruption", err, h.check())
	}
	first := h.classify(fmt.Errorf("read block: %w", pebble.ErrCorruption))
	if !errors.Is(first, ErrCorrupt) || !strings.Contains(first.Error(), "read block") || !strings.Contains(first.Error(), `"db"`) {
		t.Fatalf("classify(corruption) = %v; want ErrCorrupt naming the DB and the cause", first)
	}
	if err := h.check(); err != first {
		t.Fatalf("check = %v, want %v", err, first)
	}
	if err := h.recovered("boom"); err != first {
		t.Fatalf("a later panic reports %v, want the first corruption %v", err, first)
	}

	h = &health{dir: "db"}
	if err := h.recovered("boom"); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("recovered = %v; want ErrCorrupt carrying the panic", err)
	}
}

// TestOpenErrorClassification checks that an open refused by the system
// (permissions, exhausted resources) is not corruption, which a wipe would
// not cure, while Pebble's other open errors are.
func TestOpenErrorClassification(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.EACCES, syscall.EMFILE, syscall.ENOMEM} {
		h := &health{dir: "db"}
		err := h.openError(fmt.Errorf("pebble: %w", &os.PathError{Op: "open", Path: "db/MANIFEST-000001", Err: errno}))
		if errors.Is(err, ErrCorrupt) || h.check() != nil || !errors.Is(err, errno) {
			t.Errorf("openError(%v) = %v; want it as is, not ErrCorrupt", errno, err)
		}
	}
	h := &health{dir: "db"}
	if err := h.openError(errors.New("L6: 000020: object size mismatch")); !errors.Is(err, ErrCorrupt) || h.check() == nil {
		t.Errorf("openError(size mismatch) = %v; want ErrCorrupt", err)
	}
}
