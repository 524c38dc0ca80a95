package kafkaflags

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runFunc is an app whose Run is a function.
type runFunc func(context.Context) error

func (f runFunc) Run(ctx context.Context) error { return f(ctx) }

// TestRunUntil: the app runs until wait returns, and is then stopped; an
// app that fails ends wait's context, and its error is returned.
func TestRunUntil(t *testing.T) {
	ctx := context.Background()
	stopped := false
	app := runFunc(func(ctx context.Context) error {
		<-ctx.Done()
		stopped = true
		return nil
	})
	errWait := errors.New("outputs missing")
	if err := RunUntil(ctx, app, func(context.Context) error { return errWait }); !errors.Is(err, errWait) || !stopped {
		t.Fatalf("RunUntil = %v, stopped %v; want wait's error, the app stopped", err, stopped)
	}

	errRun := errors.New("broker gone")
	failing := runFunc(func(context.Context) error { return errRun })
	err := RunUntil(ctx, failing, func(ctx context.Context) error {
		<-ctx.Done() // ends because Run failed
		return ctx.Err()
	})
	if !errors.Is(err, errRun) || err.Error() != "run: broker gone" {
		t.Fatalf("RunUntil with a failing app = %v, want run: broker gone", err)
	}
}

// TestTempDir: an empty directory setting gets a new directory, removed by
// the function returned; a given one is kept, and not removed.
func TestTempDir(t *testing.T) {
	var dir string
	remove, err := TempDir(&dir, "ex")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); err != nil || !strings.Contains(filepath.Base(dir), "ex-") {
		t.Fatalf("TempDir made %q (%v), want a new ex-* directory", dir, err)
	}
	remove()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("%s still there after remove: %v", dir, err)
	}
	given := t.TempDir()
	kept := given
	remove, err = TempDir(&kept, "ex")
	if err != nil || kept != given {
		t.Fatalf("TempDir changed a given directory to %q (%v)", kept, err)
	}
	remove()
	if _, err := os.Stat(given); err != nil {
		t.Fatalf("remove removed the given directory: %v", err)
	}
}
