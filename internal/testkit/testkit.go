// Package testkit holds what the module's tests and examples share.
package testkit

import (
	"fmt"
	"runtime"
	"testing"
)

// T stands in for the *testing.T that a test passes to testutil.NewDriver,
// so that Example functions can run the driver: it panics where a test
// would fail, and ignores Helper and Cleanup. Only the methods the driver
// calls are implemented; the others panic.
type T struct{ testing.TB }

// Helper does nothing.
func (T) Helper() {}

// Cleanup does nothing: examples end with the process.
func (T) Cleanup(func()) {}

// Fatalf panics with the message.
func (T) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }

// Errorf panics with the message.
func (T) Errorf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }

// Failure runs fn in a goroutine of its own, with a testing.TB whose Fatal
// and Fatalf record their message and end that goroutine, and returns the
// message, or "" when fn returns without failing: for tests of what a
// helper such as testutil.NewDriver reports. The TB's other methods are
// t's.
func Failure(t testing.TB, fn func(tb testing.TB)) string {
	t.Helper()
	f := &failureTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
	return f.msg
}

// failureTB records a Fatalf and ends the goroutine that called it.
type failureTB struct {
	testing.TB
	msg string
}

func (f *failureTB) Helper() {}

func (f *failureTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (f *failureTB) Fatal(args ...any) { f.Fatalf("%s", fmt.Sprint(args...)) }
