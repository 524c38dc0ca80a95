package strata

import (
	"context"
	"errors"
	"testing"

	"github.com/strata-go/strata/internal/engine"
)

// TestTaskDirs: a task's directory has one holder at a time; lock waits for
// the holder to unlock it, or for its context to end.
func TestTaskDirs(t *testing.T) {
	d := taskDirs{held: map[engine.TaskID]chan struct{}{}}
	id, other := tid(0, 1), tid(0, 2)
	if err := d.lock(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	if d.tryLock(id) {
		t.Fatal("tryLock took a held directory")
	}
	if !d.tryLock(other) {
		t.Fatal("tryLock could not take a free directory")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := d.lock(ctx, id); !errors.Is(err, context.Canceled) {
		t.Fatalf("lock of a held directory with a cancelled context: %v", err)
	}
	locked := make(chan error)
	go func() { locked <- d.lock(context.Background(), id) }()
	d.unlock(id)
	if err := <-locked; err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	if d.tryLock(id) {
		t.Fatal("the waiter did not take the directory")
	}
}
