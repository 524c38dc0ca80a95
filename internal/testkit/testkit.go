// Package testkit holds what the module's tests and examples share.
package testkit

import (
	"fmt"
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
