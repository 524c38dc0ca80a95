package strata_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/embedded"
	"github.com/strata-go/strata/topology"
)

// stateLog records the transitions a StateListener is told, and lets a
// test wait for a state.
type stateLog struct {
	mu          sync.Mutex
	transitions []string
	changed     chan struct{}
	// onRunning, if set, is called at every transition to Running.
	onRunning func()
}

func newStateLog() *stateLog { return &stateLog{changed: make(chan struct{}, 1)} }

func (l *stateLog) listener(newState, oldState strata.State) {
	if newState == strata.Running && l.onRunning != nil {
		l.onRunning()
	}
	l.mu.Lock()
	l.transitions = append(l.transitions, oldState.String()+"->"+newState.String())
	l.mu.Unlock()
	select {
	case l.changed <- struct{}{}:
	default:
	}
}

// await waits until app (an App or a View) is in state want, failing t if
// it does not get there in time.
func (l *stateLog) await(t *testing.T, app interface{ State() strata.State }, want strata.State) {
	t.Helper()
	timeout := time.After(testTimeout)
	for app.State() != want {
		select {
		case <-l.changed:
		case <-timeout:
			t.Fatalf("the app is %v, not %v, after %v; transitions: %v", app.State(), want, testTimeout, l.list())
		}
	}
}

func (l *stateLog) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.transitions)
}

// TestStateCleanRun runs an app whose state must first be restored (its
// state directory is new, its changelog holds a first run's counts) and
// checks the transitions the listener sees: created → rebalancing →
// running → pending shutdown → not running, with Running reported only
// once every task was restored.
func TestStateCleanRun(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "in", Partitions: 2}, {Name: "out", Partitions: 2}}})
	ctx := t.Context()
	model := map[string]int64{}
	produceCounting(ctx, t, c, model, 200, 10)
	cfg := testConfig(t, c, "state-clean")
	first, err := strata.New(countTopology(t, nil), cfg)
	if err != nil {
		t.Fatal(err)
	}
	runUntilCounts(t, c, first, model, true)
	if first.State() != strata.NotRunning {
		t.Errorf("after a clean stop the app is %v", first.State())
	}

	log := newStateLog()
	restored := &restoreCounter{}
	var restoredAtRunning []int64
	log.onRunning = func() {
		restored.mu.Lock()
		restoredAtRunning = append(restoredAtRunning, restored.restored)
		restored.mu.Unlock()
	}
	cfg.StateDir = t.TempDir()
	cfg.StateListener = log.listener
	cfg.RestoreListener = restored
	app, err := strata.New(countTopology(t, nil), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if app.State() != strata.Created {
		t.Errorf("a new app is %v", app.State())
	}
	r := start(t, app)
	log.await(t, app, strata.Running)
	r.stopAndWait(t)
	if app.State() != strata.NotRunning {
		t.Errorf("after Run returned the app is %v", app.State())
	}
	got := log.list()
	// Rebalances may come and go (Running <-> Rebalancing); the ends are
	// fixed.
	ok := len(got) >= 4 && got[0] == "CREATED->REBALANCING" && got[1] == "REBALANCING->RUNNING" &&
		got[len(got)-2] == "RUNNING->PENDING_SHUTDOWN" && got[len(got)-1] == "PENDING_SHUTDOWN->NOT_RUNNING"
	for _, tr := range got[2 : len(got)-2] {
		ok = ok && (tr == "RUNNING->REBALANCING" || tr == "REBALANCING->RUNNING")
	}
	if !ok {
		t.Errorf("transitions %v", got)
	}
	if len(restoredAtRunning) == 0 || restoredAtRunning[0] != 200 {
		t.Errorf("records restored when the app first ran: %v; want the changelog's 200", restoredAtRunning)
	}
	if err := app.Run(ctx); !errors.Is(err, strata.ErrAlreadyRunning) || app.State() != strata.NotRunning {
		t.Errorf("a second Run: %v, state %v", err, app.State())
	}
}

// TestStateError checks that a processing failure takes the app through
// PendingError to Error.
func TestStateError(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "in", Partitions: 1}, {Name: "out", Partitions: 1}}})
	log := newStateLog()
	cfg := testConfig(t, c, "state-error")
	cfg.StateListener = log.listener
	app, err := strata.New(upper(t, "in", "out", func(v string) {
		if v == "bad" {
			panic("bad value")
		}
	}), cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := start(t, app)
	log.await(t, app, strata.Running)
	if err := c.Produce(t.Context(), &kgo.Record{Topic: "in", Value: []byte("bad")}); err != nil {
		t.Fatal(err)
	}
	var pe *topology.PanicError
	if err := r.wait(t); !errors.As(err, &pe) {
		t.Fatalf("Run: %v, want the panic", err)
	}
	got := log.list()
	if want := "[CREATED->REBALANCING REBALANCING->RUNNING RUNNING->PENDING_ERROR PENDING_ERROR->ERROR]"; fmt.Sprint(got) != want {
		t.Errorf("transitions %v, want %s", got, want)
	}
	if app.State() != strata.Error {
		t.Errorf("state %v after the failure", app.State())
	}
}

// TestStateStartFailure checks an app that cannot start: its source topic
// is missing.
func TestStateStartFailure(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{})
	log := newStateLog()
	cfg := testConfig(t, c, "state-start")
	cfg.StateListener = log.listener
	app, err := strata.New(upper(t, "missing", "out", nil), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Run(t.Context()); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("Run: %v", err)
	}
	if got, want := fmt.Sprint(log.list()), "[CREATED->REBALANCING REBALANCING->PENDING_ERROR PENDING_ERROR->ERROR]"; got != want {
		t.Errorf("transitions %v, want %s", got, want)
	}
}
