package kafkaflags

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Main is an example's main function: it calls run with the program's
// arguments, its standard output and error, and a context that ends on an
// interrupt or SIGTERM, and exits with status 2 if run fails, printing the
// error after the example's name (unless it asked for -h).
func Main(name string, run func(ctx context.Context, args []string, stdout, stderr io.Writer) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, name+":", err)
		}
		os.Exit(2)
	}
}

// TempDir sets *dir, if empty, to a new temporary directory named after the
// example, and returns the function that removes it (which does nothing if
// *dir was set already): the state directory of a run whose broker, and so
// whose state, does not outlive it.
func TempDir(dir *string, name string) (remove func(), err error) {
	if *dir != "" {
		return func() {}, nil
	}
	d, err := os.MkdirTemp("", name+"-")
	if err != nil {
		return nil, err
	}
	*dir = d
	return func() { os.RemoveAll(d) }, nil
}
