// Package faults is Strata's fault suite. It holds no code of its own: its
// tests run Strata apps on the embedded broker, inject faults from outside
// (failed produces, failed group requests, broker outages, corrupt state
// directories, panics, signals to child processes) and check the
// read_committed output and the state against a model: exactly under
// exactly-once, nothing lost under at-least-once.
//
// The scenarios, each under at-least-once and exactly-once:
//
//   - an output record too large to produce, under each production-error
//     policy (produce_test.go);
//   - a rebalance whose SyncGroup or JoinGroup fails or goes unanswered
//     while a transaction is open (group_test.go);
//   - broker outages of 1s, 10s and 60s in the middle of a transaction,
//     and Run cancelled during an outage (outage_test.go);
//   - corrupt state directories (corrupt_test.go);
//   - panics in user code under each processing-error policy
//     (panic_test.go);
//   - the uncaught-error actions: a replaced worker, one that keeps
//     failing, an application stopped through the group (uncaught_test.go);
//   - SIGTERM to a child process running an example, and its restart
//     (sigterm_test.go).
//
// The default run (go test ./faults, part of go test ./...) covers every
// scenario in a form short enough for CI; -faults.long adds a 2-minute
// outage and injects each group fault at more points. Scenarios run in
// parallel (TestMain raises -test.parallel): most of their time is spent
// waiting on a fault. The faults are injected at fixed points of the
// input (the nth record processed), so a scenario replays the same way;
// what varies between runs is only the timing of the clients.
package faults
