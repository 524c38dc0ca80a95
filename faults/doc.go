// Package faults is Strata's fault suite. It holds no code of its own: its
// tests run Strata apps on the embedded broker, inject faults from outside
// (failed produces, failed group requests, broker outages, corrupt state
// directories, panics, signals to child processes) and check the
// read_committed output and the state against a model: exactly under
// exactly-once, nothing lost under at-least-once.
//
// The default run (go test ./faults) covers every scenario in a form short
// enough for CI. Every randomised scenario prints the seed that replays it.
package faults
