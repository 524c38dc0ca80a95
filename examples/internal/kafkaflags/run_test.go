package kafkaflags

import (
	"context"
	"errors"
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
