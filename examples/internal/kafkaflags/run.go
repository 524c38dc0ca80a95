package kafkaflags

import (
	"context"
	"fmt"
)

// RunUntil runs app until wait returns, then stops it and waits for Run to
// return: an example runs its app until the outputs it expects are in. If
// Run fails first, wait's context ends. It returns Run's error, wrapped, or
// else wait's.
func RunUntil(ctx context.Context, app interface{ Run(context.Context) error }, wait func(ctx context.Context) error) error {
	appCtx, stopApp := context.WithCancel(ctx)
	defer stopApp()
	waitCtx, stopWaiting := context.WithCancel(ctx)
	defer stopWaiting()
	runErr := make(chan error, 1)
	go func() {
		runErr <- app.Run(appCtx)
		stopWaiting() // Run returns early only on failure
	}()
	waitErr := wait(waitCtx)
	stopApp()
	if err := <-runErr; err != nil {
		return fmt.Errorf("run: %w", err)
	}
	return waitErr
}
